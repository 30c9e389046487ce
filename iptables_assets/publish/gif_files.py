"""A film's GIF brought up to date by re-encoding only the frames that changed.

Pillow writes an animated GIF as a header with the first frame, then one block per later frame
(graphic control extension, image descriptor, LZW data), each encoded against the frame before it
alone (the changed box, unchanged pixels transparent), then a trailer. So when a daily run adds
or redraws the last days, the GIF of the new frames is the old file up to the last unchanged
frame's block, then the blocks Pillow writes for the changed frames when it encodes them after
that unchanged frame, then the trailer: the same bytes as encoding every frame again
(`test_gif_files.py` checks this against the full encoding), for the cost of the changed frames.

What the stored GIF holds is recorded beside it (`<cache>/<name>.json`: the GIF's SHA-256 and each
frame's); a GIF that no longer matches its record, a record that does not parse, or a change in
the first frame means a full encoding.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Sequence

from iptables_assets.atomic import write_bytes_atomic
from iptables_assets.publish import animation
from iptables_assets.storage import digest

FORMAT = 1
_log = logging.getLogger(__name__)


def frame_blocks(gif: bytes) -> list[tuple[int, int]]:
    """(start, end) byte offsets of each frame's block (its extensions and image) in a GIF; the
    first starts after the header, the application extensions before it belong to the header."""
    if gif[:6] not in (b"GIF87a", b"GIF89a") or len(gif) < 13:
        raise ValueError("not a GIF")
    position = 13 + (3 << ((gif[10] & 7) + 1) if gif[10] & 0x80 else 0)
    blocks, start = [], None
    while True:
        if position >= len(gif):
            raise ValueError("GIF ends without a trailer")
        kind = gif[position]
        if kind == 0x3B:
            return blocks
        if kind == 0x21:
            if gif[position + 1] == 0xF9 and start is None:
                start = position
            position = _after_sub_blocks(gif, position + 2)
        elif kind == 0x2C:
            start = position if start is None else start
            flags = gif[position + 9]
            position += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            position = _after_sub_blocks(gif, position + 1)  # after the LZW code size
            blocks.append((start, position))
            start = None
        else:
            raise ValueError(f"unknown GIF block 0x{kind:02x} at byte {position}")


def _after_sub_blocks(gif: bytes, position: int) -> int:
    while True:
        if position >= len(gif):
            raise ValueError("GIF cut inside a block")
        size = gif[position]
        position += 1 + size
        if size == 0:
            return position


def updated_gif(frames: Sequence[bytes], previous: bytes | None, record: dict | None) -> tuple[bytes, int, dict]:
    """The GIF of `frames` (PNG bytes in order), how many of them were encoded, and its record: from
    the previous GIF and its `record` when its first frames are unchanged, else all of them."""
    digests = [digest(frame) for frame in frames]
    gif, encoded = _updated(frames, digests, previous, record)
    return gif, encoded, _record(gif, digests)


def _updated(frames: Sequence[bytes], digests: list[str], previous: bytes | None, record: dict | None
             ) -> tuple[bytes, int]:
    kept, old_blocks = _unchanged_prefix(digests, previous, record)
    if kept == len(frames) == len(old_blocks):
        return previous, 0  # nothing changed
    if kept == 0 or kept == len(frames):  # (fewer frames than before: rare, encoded again)
        return animation.assemble_gif(frames), len(frames)
    tail = animation.assemble_gif(frames[kept - 1:])
    new_blocks = frame_blocks(tail)
    if len(new_blocks) != len(frames) - kept + 1:  # Pillow merged identical frames: encode them all
        return animation.assemble_gif(frames), len(frames)
    head = previous[: old_blocks[kept - 1][1]]
    return head + tail[new_blocks[1][0]: new_blocks[-1][1]] + b";", len(frames) - kept + 1


def _unchanged_prefix(digests: list[str], previous: bytes | None, record: dict | None
                      ) -> tuple[int, list[tuple[int, int]]]:
    """How many leading frames the previous GIF holds as they are now (0: encode everything), and
    its frame blocks."""
    if previous is None or not record or record.get("format") != FORMAT or record.get("gif") != digest(previous):
        return 0, []
    stored = record.get("frames") or []
    if len(stored) < 2:  # Pillow writes a one-frame GIF otherwise than the first frame of a film
        return 0, []
    try:
        blocks = frame_blocks(previous)
    except ValueError:
        return 0, []
    if len(blocks) != len(stored):
        return 0, []
    kept = 0
    for old, new in zip(stored, digests):
        if old != new:
            break
        kept += 1
    return kept, blocks


def record_of(gif: bytes, frames: Sequence[bytes]) -> dict:
    """What `updated_gif` needs to know about a written GIF next time."""
    return _record(gif, [digest(frame) for frame in frames])


def _record(gif: bytes, digests: list[str]) -> dict:
    return {"format": FORMAT, "gif": digest(gif), "frames": digests}


def read_record(path: Path) -> dict | None:
    """A GIF's record, None when absent or unreadable (then the GIF is encoded in full)."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        _log.warning(f"GIF record {path} unusable ({error}); the GIF is encoded in full")
        return None


def write_record(path: Path, record: dict) -> None:
    """Store the record (a cache: failing to write it costs a full encoding next time)."""
    try:
        write_bytes_atomic(path, json.dumps(record).encode())
    except OSError as error:
        _log.warning(f"GIF record not stored at {path} ({error})")
