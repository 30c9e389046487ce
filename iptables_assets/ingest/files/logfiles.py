"""Log files on disk: discovery, rotation families, content as line chunks (decompressed by
`decompression`) and content hashes."""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
import re
import queue
import stat
import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterator, Sequence

from iptables_assets.ingest.files import decompression, journal_files

DEFAULT_PATTERNS: tuple[str, ...] = (
    "messages*",
    "kern.log*",
    "syslog*",
    "ufw.log*",
    "secure*",
    "auth.log*",
    "journal*.json",
    *journal_files.NAME_PATTERNS,
)

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (journal_files.MAGIC, "journal"),  # not compressed, but read through journalctl
)
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz")
_NUMERIC_ROTATION = re.compile(r"^(?P<base>.+?)\.(?P<n>\d+)$")
_DATE_ROTATION = re.compile(r"^(?P<base>.+?)-(?P<d>\d{8})$")
# An archived or dirty journal, `system@<seqnum id>-<head seqnum>-<head time>.journal[~]`, belongs
# to the family of the live `system.journal`.
_JOURNAL_ARCHIVE = re.compile(r"^(?P<base>[^@]+)@[^@]*\.journal~?$")
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LogFile:
    """One log file found on disk, with what is needed to order and read it."""

    path: Path
    relative: str
    size: int
    mtime: float
    compression: str
    family: str
    rotation_index: int
    rotation_date: date | None

    @property
    def mtime_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.mtime).astimezone()


def detect_compression(path: Path) -> str:
    """Compression of a file by its magic bytes (not its name): gzip, bz2, xz, plain, or journal
    (a systemd journal file, read through `journalctl`)."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return "plain"


def rotation_key(name: str) -> tuple[str, int, date | None]:
    """Split a rotated file name into (family, rotation index, rotation date).

    `messages` -> ("messages", 0, None); `messages.2.gz` -> ("messages", 2, None);
    `kern.log-20190105.gz` -> ("kern.log", 1, 2019-01-05); `system@…-….journal` ->
    ("system.journal", 1, None). Date-style rotations and archived journals get index 1; the
    former are ordered by their date (journal entries carry their own times).
    """
    archived = _JOURNAL_ARCHIVE.match(name)
    if archived:
        return archived["base"] + ".journal", 1, None
    stem = name
    for suffix in _COMPRESSION_SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    numeric = _NUMERIC_ROTATION.match(stem)
    if numeric:
        return numeric["base"], int(numeric["n"]), None
    dated = _DATE_ROTATION.match(stem)
    if dated:
        try:
            when = datetime.strptime(dated["d"], "%Y%m%d").date()
        except ValueError:
            return stem, 0, None
        return dated["base"], 1, when
    return stem, 0, None


def discover(
    root: Path | str, patterns: Sequence[str] = DEFAULT_PATTERNS, unreadable: list[tuple[str, str]] | None = None,
    others: list[Path] | None = None,
) -> list[LogFile]:
    """Every regular file under `root` (recursively) whose name matches one of `patterns`.

    `root` may also be a single file, which is then taken whatever its name (and a root that
    cannot be read raises its OSError). A sub-folder or matching file that cannot be read is
    never skipped in silence: (path, reason) goes to `unreadable`, or to a logged warning. The
    other files and symbolic links under `root` go to `others` (`finding` says what they are).
    """
    root = Path(root)
    if root.is_file():
        return [describe(root, root.parent)]
    if not root.is_dir():
        raise FileNotFoundError(f"log directory {str(root)!r} does not exist")
    problems: list[tuple[str, str]] = []
    found = []
    for path in _matching_files(root, patterns, problems, others if others is not None else []):
        try:
            found.append(describe(path, root))
        except OSError as error:
            problems.append((str(path), error.strerror or str(error)))
    for path, reason in problems if unreadable is None else ():
        _log.warning("cannot read %r: %s", path, reason)
    if unreadable is not None:
        unreadable.extend(problems)
    return found


def _matching_files(root: Path, patterns: Sequence[str], problems: list[tuple[str, str]],
                    others: list[Path]) -> list[Path]:
    """Regular files (not symlinks) under `root` whose names match, sorted; folders that cannot
    be listed go to `problems` (the root itself raises: nothing at all could be read), the
    other files and the symbolic links to `others`."""

    def failed(error: OSError) -> None:
        if error.filename == os.fspath(root):
            raise error
        problems.append((str(error.filename), error.strerror or str(error)))

    paths = []
    for folder, dirs, names in os.walk(root, onerror=failed):
        others.extend(Path(folder, name) for name in dirs if os.path.islink(os.path.join(folder, name)))
        for name in names:
            path = Path(folder, name)
            try:
                mode = path.lstat().st_mode
            except OSError as error:
                problems.append((str(path), error.strerror or str(error)))
                continue
            if stat.S_ISREG(mode) and any(fnmatch.fnmatch(name, pat) for pat in patterns):
                paths.append(path)
            elif stat.S_ISREG(mode) or stat.S_ISLNK(mode):
                others.append(path)
    others.sort()
    return sorted(paths)


def describe(path: Path, base: Path) -> LogFile:
    """Stat one file and classify its compression and rotation."""
    stat = path.stat()
    relative = os.path.relpath(path, base)
    family, index, when = rotation_key(path.name)
    parent = os.path.dirname(relative)
    return LogFile(
        path=path,
        relative=relative,
        size=stat.st_size,
        mtime=stat.st_mtime,
        compression=detect_compression(path),
        family=os.path.join(parent, family),
        rotation_index=index,
        rotation_date=when,
    )


def newest_first(files: Sequence[LogFile]) -> list[LogFile]:
    """Order files of one family from the live file to the oldest rotated copy."""

    def age(f: LogFile) -> tuple:
        dated = -f.rotation_date.toordinal() if f.rotation_date else 0
        return (f.rotation_index > 0, dated, f.rotation_index, f.relative)

    return sorted(files, key=age)


def group_families(files: Sequence[LogFile]) -> dict[str, list[LogFile]]:
    """Files grouped by rotation family, each family ordered newest first."""
    families: dict[str, list[LogFile]] = {}
    for f in files:
        families.setdefault(f.family, []).append(f)
    return {name: newest_first(group) for name, group in sorted(families.items())}


def iter_line_chunks(
    path: Path, compression: str | None = None, chunk_size: int = 32 << 20, damage: list[str] | None = None,
    window: journal_files.Window | None = None,
) -> Iterator[tuple[int, bytes]]:
    """Decompressed content in chunks that end on a line break: (first line number, bytes).

    A truncated or corrupt compressed file raises, unless a `damage` list is given: then every
    byte that can be recovered before the damage is yielded (a final partial line too) and a
    description naming the file is appended to the list.

    A journal file gives its entries as `journalctl -o json` lines, only those of `window` if
    given (other files are read whole).

    Each byte is copied once on its way into a chunk (the pieces up to the last line break are
    joined with the previous chunk's tail); a compressed file is decoded in a thread of its own
    (`_prefetched`), so decoding overlaps with the parsing of the chunks before.
    """
    line_no = 1
    carry = b""
    pieces = decompressed_pieces(path, compression, damage, window)
    if (compression or detect_compression(path)) != "plain":
        pieces = _prefetched(pieces)
    for parts in _blocks(pieces, chunk_size):
        last, cut = len(parts) - 1, -1
        while last >= 0 and (cut := parts[last].rfind(b"\n")) < 0:
            last -= 1
        if last < 0:
            carry = b"".join([carry, *parts])
            continue
        chunk = b"".join([carry, *parts[:last], memoryview(parts[last])[: cut + 1]])
        carry = b"".join([parts[last][cut + 1 :], *parts[last + 1 :]])
        yield line_no, chunk
        line_no += chunk.count(b"\n")
    if carry:
        yield line_no, carry


def _blocks(pieces: Iterator[bytes], size: int) -> Iterator[list[bytes]]:
    """The pieces in groups of about `size` bytes (fewer, larger units of work)."""
    parts: list[bytes] = []
    have = 0
    for part in pieces:
        parts.append(part)
        have += len(part)
        if have >= size:
            yield parts
            parts, have = [], 0
    if parts:
        yield parts


def _prefetched(pieces: Iterator[bytes], depth: int = 2) -> Iterator[bytes]:
    """`pieces`, produced by a thread of their own up to `depth` ahead (the decoders release the
    GIL; a gzip piece decodes to ~7 MiB, so a deeper queue only adds memory); what the producer
    raises (damage, a read error) is raised here, in order."""
    handoff: queue.Queue = queue.Queue(depth)
    stop = threading.Event()

    def send(item: tuple) -> bool:
        while not stop.is_set():  # the consumer may have stopped reading
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def produce() -> None:
        try:
            for piece in pieces:
                if not send((True, piece)):
                    return
            send((False, None))
        except BaseException as error:  # handed to the consumer, which raises it
            send((False, error))
        finally:
            pieces.close()

    producer = threading.Thread(target=produce, name="decompress", daemon=True)
    producer.start()
    try:
        while True:
            more, item = handoff.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        producer.join()


def decompressed_pieces(path: Path, compression: str | None = None, damage: list[str] | None = None,
                        window: journal_files.Window | None = None) -> Iterator[bytes]:
    """The file's decompressed bytes, piece by piece, fed from raw reads so that whatever was
    decoded before a truncation or corruption is kept. The damage then raises DamagedStream
    naming the file and the bytes recovered, or, given a `damage` list, is appended to it.
    A file that cannot be opened raises its OSError (that is not damage)."""
    compression = compression or detect_compression(path)
    if compression == "journal":
        yield from journal_files.json_pieces(path, damage, window)
        return
    produced = 0
    with open(path, "rb") as raw:
        pieces = decompression.plain_pieces(raw) if compression == "plain" else decompression.members(raw, compression)
        try:
            for piece in pieces:
                produced += len(piece)
                yield piece
        except decompression.DAMAGED as error:
            note = f"{str(path)!r}: {compression} data damaged ({error}); {produced:,} bytes recovered before it"
            if damage is None:
                raise decompression.DamagedStream(note) from error
            damage.append(note)


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes as stored (compressed or not)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
