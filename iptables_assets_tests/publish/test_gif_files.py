"""A GIF brought up to date from the last one is the full encoding's bytes, whatever changed."""

import logging
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iptables_assets.publish import animation, gif_files
from iptables_assets.publish.catalog import FILMS, Look, render_frame
from iptables_assets.publish.figures import Site

LOOK = Look(site=Site(name="example.org"), truncate_at=1000)
START = date(2026, 3, 1)
COUNTRIES = ("CN", "US", "DE", "BR", "RU", "IN", "FR")


def _frame(day: int, variant: int = 0) -> bytes:
    counts = {code: (day * 37 + i * 11 + variant * 101) % 1500 for i, code in enumerate(COUNTRIES)}
    return render_frame(FILMS["drops_map"], counts, START + timedelta(days=day), LOOK)


FRAMES = [_frame(day) for day in range(8)]
CHANGED = [_frame(day, 1) for day in range(8)]


def _stored(frames):
    gif = animation.assemble_gif(frames)
    return gif, gif_files.record_of(gif, frames)


def test_frame_blocks_cover_every_frame():
    gif = animation.assemble_gif(FRAMES)
    blocks = gif_files.frame_blocks(gif)
    assert len(blocks) == len(FRAMES)
    assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:]))  # nothing between frames
    assert gif[blocks[-1][1]:] == b";"


@settings(max_examples=25, deadline=None)
@given(before=st.integers(1, 8), after=st.integers(1, 8), changed=st.sets(st.integers(0, 7), max_size=3))
def test_an_updated_gif_is_the_full_encoding(before, after, changed):
    previous, record = _stored(FRAMES[:before])
    frames = [CHANGED[i] if i in changed else FRAMES[i] for i in range(after)]
    data, encoded, _record = gif_files.updated_gif(frames, previous, record)
    assert data == animation.assemble_gif(frames)
    unchanged = next((i for i in range(min(before, after)) if i in changed), min(before, after)) if before > 1 else 0
    if unchanged == after == before > 1:
        assert encoded == 0
    elif unchanged in (0, after):
        assert encoded == after
    else:
        assert encoded == after - unchanged + 1


def test_a_new_day_encodes_two_frames():
    previous, record = _stored(FRAMES[:7])
    data, encoded, _record = gif_files.updated_gif(FRAMES, previous, record)
    assert (data, encoded) == (animation.assemble_gif(FRAMES), 2)


@pytest.mark.parametrize("fault", ["gif-edited", "gif-cut", "record-of-another", "no-record", "old-format"])
def test_anything_unexpected_encodes_every_frame(fault):
    previous, record = _stored(FRAMES[:7])
    if fault == "gif-edited":
        previous = previous[:100] + bytes([previous[100] ^ 1]) + previous[101:]
    elif fault == "gif-cut":
        previous = previous[: len(previous) // 2]
    elif fault == "record-of-another":
        record = gif_files.record_of(*_pair(CHANGED[:7]))
    elif fault == "no-record":
        record = None
    else:
        record = {**record, "format": gif_files.FORMAT + 1}
    data, encoded, _record = gif_files.updated_gif(FRAMES, previous, record)
    assert (data, encoded) == (animation.assemble_gif(FRAMES), len(FRAMES))


def _pair(frames):
    return animation.assemble_gif(frames), frames


def test_a_damaged_record_is_named_and_costs_a_full_encoding(tmp_path, caplog):
    path = tmp_path / "drops_map.json"
    path.write_text("{not json")
    with caplog.at_level(logging.WARNING):
        assert gif_files.read_record(path) is None
    assert "GIF record" in caplog.text and "unusable" in caplog.text
    assert gif_files.read_record(tmp_path / "absent.json") is None


def test_not_a_gif_is_refused():
    for data in (b"", b"PNG", b"GIF89a" + b"\0" * 7):
        with pytest.raises(ValueError):
            gif_files.frame_blocks(data)
