"""Which log files have new content since the last look, and which days that content touches.

The state kept between looks is, per file: size, mtime (ns), SHA-256 of the content as stored
and of its first 4 KiB (or all of a shorter file). A file whose size and mtime are unchanged is not read; one whose
content hash was already known (a rotated or renamed copy, a touched file) brings nothing new;
a plain file that only grew (same first 4 KiB) brings the lines after its old end; anything
else brings its whole content. The days are those of the new lines' timestamps.

A journal file is looked at through its header instead (no hash of a file journald rewrites in
place): its file ID and last entry's time. The entries after the last time seen of the same file
ID (under its old name too: journald renames the live file when it archives it) are new; the days
are those from that time to its new last entry.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import date, datetime, timedelta
from typing import Callable, Sequence
from zoneinfo import ZoneInfo

import polars as pl

from iptables_assets.days import days_between
from iptables_assets.ingest.files import journal_files
from iptables_assets.ingest.files.logfiles import LogFile, content_hash
from iptables_assets.ingest.lines.timeline import FileScan, scan_chunks, scan_file
from iptables_assets.ingest.parse_config import ParseConfig
from iptables_assets.ingest.lines.syslog import year_anchor

HEAD_BYTES = 4096


def _head(path, length: int = HEAD_BYTES) -> str:
    """SHA-256 of the first `length` bytes (all of a shorter file)."""
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read(length)).hexdigest()


def look(files: Sequence[LogFile], previous: dict[str, dict], config: ParseConfig,
         dated: Callable[[], pl.DataFrame] | None = None) -> tuple[dict, set[date], list[str]]:
    """(state now, days touched by new content, relative paths of files with new content).

    `dated()` gives the inventory of `files` (built when first needed): a new file is then
    dated as the run will date it (its rotation neighbours, the lines it shares with a dated
    file: `dating`), and a copy of a known file's content brings no day at all."""
    inventory = functools.cache(dated) if dated is not None else None
    known = {state.get("sha256") for state in previous.values()} - {None}
    journals = {state["file_id"]: state for state in previous.values() if state.get("file_id")}
    state, days, changed = {}, set(), []
    for file in files:
        stat = file.path.stat()
        old = previous.get(file.relative)
        if old and old["size"] == stat.st_size and old["mtime_ns"] == stat.st_mtime_ns:
            state[file.relative] = old
            continue
        journal = _journal_look(file, stat, journals, config.tz) if file.compression == "journal" else None
        if journal is not None:
            state[file.relative], new_days = journal
            if new_days:
                days |= new_days
                changed.append(file.relative)
            continue
        digest = content_hash(file.path)
        state[file.relative] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest,
                                "head": _head(file.path)}
        if digest in known:
            continue
        new_days = _days_of_new_content(file, old, state[file.relative], config, inventory)
        if new_days:
            days |= new_days
            changed.append(file.relative)
    return state, days, changed


def _journal_look(file: LogFile, stat, journals: dict[str, dict], tz: str) -> tuple[dict, set[date]] | None:
    """A journal file's state (size, mtime, file ID, last entry) and the days of its entries
    after those seen before of the same file ID; None when its header cannot be read."""
    head = journal_files.header(file.path)
    if head.file_id is None or (head.entries and head.tail is None):
        return None
    now = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "file_id": head.file_id,
           "tail": head.tail.isoformat() if head.tail else None}
    seen = journals.get(head.file_id)
    if seen and seen["tail"]:  # appended to: from its first entry after the last one seen
        after = datetime.fromisoformat(seen["tail"]) + timedelta(microseconds=1)
        since = journal_files.first_entry_from(file.path, after) if head.tail and head.tail >= after else None
    else:
        since = head.head
    if head.tail is None or since is None:
        return now, set()
    return now, set(days_between(_local_day(since, tz), _local_day(head.tail, tz)))


def days_of_files_written_since(files: Sequence[LogFile], since: datetime, config: ParseConfig) -> set[date]:
    """The days the lines of the files modified since `since` cover: what a live host's current
    logs hold (the daily schedule's look, without the sensor's state)."""
    days: set[date] = set()
    for file in files:
        if file.mtime < since.timestamp():
            continue
        span = scan_file(file, year_anchor(file, None), config)
        if span.first is not None:
            days |= set(days_between(_local_day(span.first, config.tz), _local_day(span.last, config.tz)))
    return days


def _days_of_new_content(file: LogFile, old: dict | None, now: dict, config: ParseConfig,
                         inventory: Callable[[], pl.DataFrame] | None) -> set[date]:
    anchor = year_anchor(file, None)
    # Grown in place: the bytes the old head hash covered (its first min(4 KiB, old size)) are unchanged.
    appended = (old is not None and file.compression == "plain" and now["size"] > old["size"]
                and _head(file.path, min(HEAD_BYTES, old["size"])) == old.get("head"))
    if appended:
        with open(file.path, "rb") as handle:
            handle.seek(old["size"])
            tail = handle.read()
        span = scan_chunks([(1, tail)], anchor, config)
    elif inventory is not None and (row := _row(inventory(), file.relative)) is not None:
        if row["copy_of"] is not None or row["first_timestamp"] is None:
            return set()  # the inventory has just scanned it: its span is there
        span = FileScan(row["lines"], row["first_timestamp"], row["last_timestamp"])
    else:
        span = scan_file(file, anchor, config)
    if span.first is None:
        return set()
    return set(days_between(_local_day(span.first, config.tz), _local_day(span.last, config.tz)))


def _row(inventory: pl.DataFrame, relative: str) -> dict | None:
    rows = inventory.filter(pl.col("relative") == relative).rows(named=True)
    return rows[0] if rows else None


def _local_day(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()
