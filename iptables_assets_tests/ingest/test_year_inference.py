"""Year inference of RFC 3164 timestamps across rotated files that overlap, fresh mtimes,
New Year crossings and leap days: every inferred timestamp equals the truth and a line
written to two overlapping files counts once."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iptables_assets.ingest.files.logfiles import discover
from iptables_assets.ingest.records.firewall.parsing import ParseConfig, parse_files

UTC = timezone.utc
NF = ("[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=185.220.101.4 "
      "DST=203.0.113.10 LEN=44 TOS=0x00 PREC=0x00 TTL=243 ID={id} PROTO=TCP SPT=41234 DPT=23 "
      "WINDOW=1024 RES=0x00 SYN URGP=0")


def _line(moment: datetime, event_id: int) -> str:
    return f"{moment:%b} {moment.day:2d} {moment:%H:%M:%S} web1 kernel: {NF.format(id=event_id)}"


@st.composite
def rotation_schedules(draw):
    """A log family: consecutive files (oldest first) of up to 120 days each, each newer file
    starting up to 30 days before the older one ends (overlap) or up to 20 days after (gap);
    the lines of an overlap are written to both files. Mtimes are either the moment of the
    file's last line (plus up to two days) or a fresh copy's (months to years later)."""
    start = draw(st.datetimes(datetime(2015, 1, 1), datetime(2030, 1, 1))).replace(tzinfo=UTC, microsecond=0)
    if draw(st.booleans()):  # aim at a leap day
        leap = draw(st.sampled_from([2016, 2020, 2024, 2028]))
        start = datetime(leap, 2, 29, 12, tzinfo=UTC) - timedelta(days=draw(st.integers(0, 60)))
    spans, cursor = [], start
    for _ in range(draw(st.integers(1, 4))):
        length = timedelta(days=draw(st.integers(1, 120)), seconds=draw(st.integers(0, 86399)))
        spans.append((cursor, cursor + length))
        step = timedelta(days=draw(st.integers(-30, 20)), seconds=draw(st.integers(0, 86399)))
        cursor = max(cursor + timedelta(seconds=1), cursor + length + step)
    events = sorted({start + timedelta(seconds=draw(st.integers(0, int((spans[-1][1] - start).total_seconds()))))
                     for _ in range(draw(st.integers(2, 40)))} | {s for s, _ in spans} | {e for _, e in spans})
    if draw(st.booleans()):  # make sure a Feb 29 line is there when the window has one
        events = sorted(set(events) | {m.replace(hour=1) for m in events if (m.month, m.day) == (2, 29)})
    mtimes = []
    for i, (_, end) in enumerate(spans):
        newest = i == len(spans) - 1
        fresh = draw(st.booleans())
        # The live file's mtime is all there is to date it: a fresh copy of it stays within the year.
        delay = timedelta(days=draw(st.integers(30, 300 if newest else 2000))) if fresh else \
            timedelta(seconds=draw(st.integers(0, 2 * 86400)))
        mtimes.append(end + delay)
    return spans, events, mtimes


def _write_family(folder: Path, spans, events, mtimes) -> dict[int, datetime]:
    """Write messages.N (oldest) .. messages (newest); returns {event id: true time}."""
    written = [m for m in events if any(first <= m <= last for first, last in spans)]
    truth = {i: moment for i, moment in enumerate(written)}
    count = len(spans)
    for position, ((first, last), mtime) in enumerate(zip(spans, mtimes)):
        name = "messages" if position == count - 1 else f"messages.{count - 1 - position}"
        lines = [_line(m, i) for i, m in truth.items() if first <= m <= last]
        path = folder / name
        path.write_text("".join(f"{line}\n" for line in lines))
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return truth


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=rotation_schedules())
def test_every_inferred_timestamp_is_the_truth(tmp_path_factory, schedule):
    folder = tmp_path_factory.mktemp("rotation")
    spans, events, mtimes = schedule
    truth = _write_family(folder, spans, events, mtimes)
    result = parse_files(discover(folder), ParseConfig(threads=1))
    assert result.rejects.height == 0, result.rejects.to_dicts()
    # A line in two overlapping files is one event.
    assert result.records.height == len(truth)
    got = {row["ip_id"]: row["timestamp"] for row in result.records.select("ip_id", "timestamp").to_dicts()}
    assert got == truth


def test_delayed_copytruncate_overlap_keeps_the_year(tmp_path):
    """messages.1 ends a week after messages starts (a delayed copytruncate): same year, and
    the week in both files counts once."""
    days = [datetime(2019, 3, 1, tzinfo=UTC) + timedelta(days=d, hours=5) for d in range(40)]
    older, newer = days[:30], days[23:]
    for name, span, mtime in (("messages.1", older, older[-1]), ("messages", newer, newer[-1])):
        path = tmp_path / name
        path.write_text("".join(_line(m, days.index(m)) + "\n" for m in span))
        os.utime(path, (mtime.timestamp(),) * 2)
    result = parse_files(discover(tmp_path), ParseConfig(threads=1))
    assert result.records["timestamp"].to_list() == days
    assert result.duplicates_removed == 7


def test_fresh_mtime_copy_of_an_old_rotation(tmp_path):
    """A rotated file copied years later (fresh mtime) is dated by the newer rotation."""
    older = [datetime(2018, 12, 20, tzinfo=UTC) + timedelta(days=d) for d in range(10)]  # to Dec 29
    newer = [datetime(2018, 12, 27, tzinfo=UTC) + timedelta(days=d) for d in range(14)]  # to Jan 9
    moments = sorted(set(older) | set(newer))
    for name, span, mtime in (("messages.1", older, datetime(2026, 11, 1, tzinfo=UTC)),
                              ("messages", newer, newer[-1])):
        path = tmp_path / name
        path.write_text("".join(_line(m, moments.index(m)) + "\n" for m in span))
        os.utime(path, (mtime.timestamp(),) * 2)
    result = parse_files(discover(tmp_path), ParseConfig(threads=1))
    assert result.records["timestamp"].to_list() == moments


def test_feb_29_with_a_fresh_mtime_resolves_to_the_leap_year(tmp_path):
    moments = [datetime(2024, 2, 28, 23, tzinfo=UTC), datetime(2024, 2, 29, 12, tzinfo=UTC),
               datetime(2024, 3, 2, 8, tzinfo=UTC)]
    path = tmp_path / "messages"
    path.write_text("".join(_line(m, i) + "\n" for i, m in enumerate(moments)))
    fresh = datetime(2025, 6, 1, tzinfo=UTC).timestamp()  # copied in 2025 (a common year)
    os.utime(path, (fresh, fresh))
    result = parse_files(discover(tmp_path), ParseConfig(threads=1))
    assert result.rejects.height == 0
    assert result.records["timestamp"].to_list() == moments
