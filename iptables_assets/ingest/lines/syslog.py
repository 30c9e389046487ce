"""Syslog timestamps: year inference for RFC 3164 headers, journald JSON export lines, and
rsyslog's "message repeated N times" wrapper.

Headers themselves are read by `scanner`. RFC 3164 has no year: `resolve_timestamps` infers it
per file from an anchor (file mtime, rotation order) and the December→January roll-overs
inside the file. `journalctl -o json` lines are rewritten to the ISO text form first.
"""

from __future__ import annotations

import calendar
import json
import re
from datetime import datetime, time, timedelta
from typing import Callable, Iterator, Sequence, TypeVar
from zoneinfo import ZoneInfo

import polars as pl

from iptables_assets.ingest.files.logfiles import LogFile, group_families

R = TypeVar("R")

# An RFC 3164 month/day that goes back by more than this (in seconds of a 32-day-month
# calendar) from one line to the next starts a new year; smaller steps are reordering.
_ROLLOVER_STEP = 183 * 86400
_ANCHOR_SLACK = timedelta(days=1)


# How far an older rotation's last lines may run past the first line of the next newer one
# (delayed copytruncate, two rotation schemes writing the same lines): weeks happen, and a
# quarter still leaves three quarters of a year before a gap could be mistaken for a year.
ROTATION_OVERLAP = timedelta(days=92)


def year_anchor(file: LogFile, newer_first: datetime | None) -> datetime:
    """Latest moment the file's last line can be from: its mtime, the first line of the next
    newer rotation of the same log (plus ROTATION_OVERLAP, since rotated files can overlap),
    or the end of its rotation date, whichever is earliest.

    The mtime is only ever an upper bound (a copy with a fresh mtime loosens it), so the
    newer rotation's first line is what keeps such a copy in the right year.
    """
    bounds = [file.mtime_datetime]
    if newer_first is not None:
        bounds.append(newer_first + ROTATION_OVERLAP)
    if file.rotation_date is not None:
        bounds.append(datetime.combine(file.rotation_date, time(23, 59, 59), tzinfo=ZoneInfo("UTC")))
    return min(bounds)


def read_newest_first(
    files: Sequence[LogFile],
    read: Callable[[LogFile, datetime], R],
    first_of: Callable[[R], datetime | None],
    anchors: dict[str, datetime] | None = None,
) -> Iterator[R]:
    """read(file, year anchor) of every file, newest rotation first within each log family, so
    that each file is anchored on the first timestamp (`first_of` its result) of the next newer
    one. `anchors` (relative path -> anchor) overrides that, e.g. from the file inventory when
    only some files of a family are read."""
    for family in group_families(files).values():
        newer_first: datetime | None = None
        for file in family:
            result = read(file, (anchors or {}).get(file.relative) or year_anchor(file, newer_first))
            yield result
            newer_first = first_of(result) or newer_first


def infer_last_year(md_last: int, anchor: datetime) -> int:
    """Year of a file's last RFC 3164 line: the anchor's year, or the one before if that
    month/day would lie after the anchor (a file read in January ending on Dec 31)."""
    anchor_md = ((anchor.month * 32 + anchor.day) * 86400 + anchor.hour * 3600
                 + anchor.minute * 60 + anchor.second)
    if md_last <= anchor_md + _ANCHOR_SLACK.total_seconds():
        return anchor.year
    return anchor.year - 1


def resolve_timestamps(frame: pl.DataFrame, anchor: datetime, tz: str) -> pl.DataFrame:
    """Fill `ts` (UTC) for RFC 3164 rows of one file, in file order, inferring the year.

    Years count back from the last RFC 3164 line (dated by `anchor`), one year per
    roll-over where the calendar position jumps back by more than half a year.
    """
    rfc = frame.filter(pl.col("md").is_not_null())
    if rfc.height == 0:
        return frame.with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    last_md = rfc["md"][-1]
    last_year = infer_last_year(last_md, anchor.astimezone(ZoneInfo(tz)))
    previous = pl.col("md").shift(1).forward_fill()
    rollovers = (pl.col("md").is_not_null() & (pl.col("md") + _ROLLOVER_STEP < previous)).fill_null(False)
    frame = frame.with_columns(rollovers.cast(pl.Int64).cum_sum().alias("__roll"))
    total = frame["__roll"][-1] if frame.height else 0
    last_year = _leap_day_year(frame, last_year, total)
    year = pl.lit(last_year) - (pl.lit(total) - pl.col("__roll"))
    md = pl.col("md")
    month = md // (32 * 86400)
    day = (md // 86400) % 32
    secs = md % 86400
    valid = (day >= 1) & (day <= _days_in_month(year, month))
    micros = (_days_from_civil(year, month, day) * 86400 + secs) * 1_000_000
    local = (
        pl.from_epoch(pl.when(valid).then(micros), time_unit="us")
        .dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    ts = pl.when(md.is_not_null()).then(local).otherwise(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    return frame.with_columns(ts.alias("ts")).drop("__roll")


_FEB_29 = (2 * 32 + 29) * 86400


def _leap_day_year(frame: pl.DataFrame, last_year: int, total: int) -> int:
    """`last_year`, or the latest earlier one that makes every Feb 29 of the file fall in a
    leap year: a Feb 29 line proves its year, where the anchor only bounds it from above
    (a copy with a fresh mtime, a file read years later)."""
    md = pl.col("md")
    leap_rolls = frame.filter((md >= _FEB_29) & (md < _FEB_29 + 86400))["__roll"].unique().to_list()
    if not leap_rolls:
        return last_year
    for candidate in range(last_year, last_year - 8, -1):
        if all(calendar.isleap(candidate - (total - roll)) for roll in leap_rolls):
            return candidate
    return last_year  # no year fits (Feb 29 in consecutive years): those lines are rejected


def _days_in_month(year: pl.Expr, month: pl.Expr) -> pl.Expr:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    thirty = month.is_in([4, 6, 9, 11])
    return pl.when(month == 2).then(pl.when(leap).then(29).otherwise(28)).when(thirty).then(30).otherwise(31)


def _days_from_civil(year: pl.Expr, month: pl.Expr, day: pl.Expr) -> pl.Expr:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = year - (month <= 2).cast(pl.Int64)
    era = pl.when(y >= 0).then(y).otherwise(y - 399) // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


_EPOCH = datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))


def journal_json_to_text(line: str) -> str | None:
    """One `journalctl -o json` record as an ISO-header text line, or None if it is not one.

    Only records that came through the kernel transport keep the program tag `kernel`;
    anything else that calls itself `kernel` (e.g. `logger -t kernel`) is tagged `forged-kernel`.
    """
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    message = record.get("MESSAGE")
    if isinstance(message, list):
        message = bytes(b & 0xFF for b in message if isinstance(b, int)).decode("utf-8", "replace")
    try:
        micros = int(record["__REALTIME_TIMESTAMP"])
        when = (_EPOCH + timedelta(microseconds=micros)).isoformat()  # exact: no float seconds
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None
    if not isinstance(message, str):
        return None
    host = str(record.get("_HOSTNAME") or "-").replace(" ", "_") or "-"
    tag = str(record.get("SYSLOG_IDENTIFIER") or record.get("_COMM") or "unknown").replace(" ", "_")
    transport = record.get("_TRANSPORT")
    if transport == "kernel":
        tag = "kernel"
    elif tag == "kernel":
        tag = "forged-kernel"
    flat = message.replace("\r", " ").replace("\n", " ")
    # JSON may escape lone surrogates ("\ud800"), which are not UTF-8: write them as "?".
    return f"{when} {host} {tag}: {flat}".encode("utf-8", "replace").decode("utf-8")


def journal_json_chunk(chunk: bytes) -> tuple[bytes, dict[int, bytes]]:
    """Rewrite `journalctl -o json` lines as ISO-header text lines (line count unchanged);
    also returns {line index: original line} for the rewritten lines. (Line by line: ~240,000
    lines/s, as fast as a polars rewrite of whole chunks measured; see journal_files.)"""
    if not chunk.startswith(b"{"):  # journal exports are JSON on every line
        return chunk, {}
    lines = chunk.split(b"\n")
    originals = {}
    for i, line in enumerate(lines):
        if line.startswith(b"{"):
            text = journal_json_to_text(line.decode("utf-8", "replace"))
            if text is not None:
                originals[i] = line
                lines[i] = text.encode("utf-8")
    return b"\n".join(lines), originals


# rsyslog writes N identical messages in a row as one `message repeated N times: [ MSG ]`.
# The one definition of that wrapper: sshd lines are unwrapped by `unwrap_repeated`, firewall
# lines by the compiled scanner (`scanner._unwrap_repeated`, built from these same pieces and
# held to agree with `unwrap_repeated` by test_repeated_messages.py).
REPEATED_HEAD = "message repeated "  # then the count N
REPEATED_TIMES = " times: ["  # then the message, up to the closing bracket at the end of the line
REPEATED_CLOSE = "]"
REPEATED_PATTERN = (  # sshd's reading: one space inside each bracket is dropped, `]` must end the line
    "^" + re.escape(REPEATED_HEAD) + r"(\d+)" + re.escape(REPEATED_TIMES) + " ?(.*?) ?"
    + re.escape(REPEATED_CLOSE) + "$"
)
# The largest repeat count believed (leading zeros aside). rsyslog counts a run of identical
# messages (same text, host, program, pid) and writes the wrapper when a different one arrives;
# netfilter lines differ packet by packet (ID=, SPT=, LEN=), so real runs are short (the generator
# plants 2-6). 100,000 would be 10,000 identical lines a second for 10 s, well beyond that, and it
# caps what one line can expand into (each event is a row): an attacker's count of 10**18 is a
# reject, not 10**18 rows or a crash. A count of 0 stands for no event at all.
# Outside 1..MAX_REPEAT a firewall line is an `implausible_repeat_count` reject, an sshd line one event.
MAX_REPEAT = 100_000


def unwrap_repeated(rows: pl.DataFrame) -> pl.DataFrame:
    """`message` out of its repeat wrapper, with `weight` N (else 1): one line counts as its N events.

    A count outside 1..MAX_REPEAT (0, or a hostile 10**30) is not believed: weight 1, inner message kept."""
    repeated = pl.col("message").str.extract_groups(REPEATED_PATTERN)
    return rows.with_columns(repeated.alias("__r")).with_columns(
        _plausible_count(pl.col("__r").struct.field("1")).fill_null(1).alias("weight"),
        pl.coalesce(pl.col("__r").struct.field("2"), pl.col("message")).alias("message"),
    ).drop("__r")


def _plausible_count(digits: pl.Expr) -> pl.Expr:
    """The count as Int64 if 1 <= N <= MAX_REPEAT, else null; judged on its text, so no count overflows."""
    significant = digits.str.strip_chars_start("0")
    short = significant.str.len_bytes() <= len(str(MAX_REPEAT))
    n = pl.when(short).then(significant.cast(pl.Int64, strict=False))
    return pl.when(n.is_between(1, MAX_REPEAT)).then(n)
