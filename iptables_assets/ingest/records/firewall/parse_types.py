"""What a parse takes and gives: its settings, per-file and combined results, the public
record/reject columns and their types, and why a netfilter-looking line can be rejected."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl

from iptables_assets import tables
from iptables_assets.ingest.files.logfiles import LogFile
from iptables_assets.tables import TABLES


# Reasons a netfilter-looking line is rejected instead of becoming a record.
REJECT_REASONS = {
    "no_header": "no syslog timestamp/host/program header could be read",
    "untrusted_program": "netfilter-looking text in a line from a program that is not trusted",
    "missing_interface": "no IN= field (the kernel always writes it)",
    "missing_address": "no SRC= or DST= address (line truncated before them?)",
    "bad_address": "SRC= or DST= is not an IPv4/IPv6 address",
    "bad_timestamp": "the header's date does not exist (e.g. Feb 30, or a skipped DST hour)",
    "implausible_repeat_count": "a `message repeated N times` wrapper with N of 0 or above syslog.MAX_REPEAT",
}

# The columns of firewall_events and firewall_rejects, as `iptables_assets.tables` declares them.
RECORD_COLUMNS: tuple[str, ...] = TABLES["firewall_events"].columns
REJECT_COLUMNS: tuple[str, ...] = TABLES["firewall_rejects"].columns


@dataclass
class FileParse:
    """What one file held: candidate rows (records and rejects, not yet deduplicated)."""

    file: LogFile
    records: pl.DataFrame
    rejects: pl.DataFrame
    lines: int
    ignored: int
    record_lines: int
    first: datetime | None
    last: datetime | None
    damage: str | None = None  # why reading stopped early (truncated/corrupt compressed file)
    hosts: tuple[str, ...] = ()  # a journal file's hosts and the stretch it covers (`journal_coverage`)
    covers: tuple[datetime, datetime] | None = None

    @property
    def reject_lines(self) -> int:
        return self.rejects.height


@dataclass
class FileCounts:
    """What one file held once its rows went to spill files: counts and time span, no rows."""

    file: LogFile
    lines: int
    ignored: int
    record_lines: int
    reject_lines: int
    record_weight: int  # events its record lines stand for (`message repeated N times` counts N)
    first: datetime | None
    last: datetime | None
    damage: str | None = None
    hosts: tuple[str, ...] = ()  # a journal file's hosts and the stretch it covers (`journal_coverage`)
    covers: tuple[datetime, datetime] | None = None


class Totals:
    """Sums over the files read and the summary, shared by in-memory and streamed results."""

    files: list
    duplicates_removed: int
    reject_duplicates_removed: int
    repeated_extra: int

    @property
    def lines_read(self) -> int:
        return sum(f.lines for f in self.files)

    @property
    def ignored(self) -> int:
        return sum(f.ignored for f in self.files)

    @property
    def record_lines(self) -> int:
        return sum(f.record_lines for f in self.files)

    @property
    def reject_lines(self) -> int:
        return sum(f.reject_lines for f in self.files)

    @property
    def damaged_files(self) -> dict[str, str]:
        """{file: why reading stopped early} of the damaged compressed files read."""
        return {f.file.relative: f.damage for f in self.files if f.damage}

    def summary(self) -> dict:
        return {
            "files": len(self.files),
            "lines_read": self.lines_read,
            "record_lines": self.record_lines,
            "records": self.record_count,
            "ignored_lines": self.ignored,
            "reject_lines": self.reject_lines,
            "rejects": self.reject_count,
            "rejects_by_reason": self.rejects_by_reason(),
            "duplicates_removed": self.duplicates_removed,
            "reject_duplicates_removed": self.reject_duplicates_removed,
            "repeated_message_extra_events": self.repeated_extra,
            "damaged_files": self.damaged_files,
        }


@dataclass
class ParseResult(Totals):
    """Records and rejects of a set of files after cross-file deduplication, with counts."""

    records: pl.DataFrame
    rejects: pl.DataFrame
    files: list[FileParse]
    duplicates_removed: int
    reject_duplicates_removed: int
    repeated_extra: int

    @property
    def record_count(self) -> int:
        return self.records.height

    @property
    def reject_count(self) -> int:
        return self.rejects.height

    def rejects_by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(self.rejects["reason"].to_list()).items()))


@dataclass
class ParseCounts(Totals):
    """The counts of a streamed parse (rows went to files): what `ParseResult.summary` reports."""

    files: list[FileCounts]
    record_count: int = 0
    reject_count: int = 0
    duplicates_removed: int = 0
    reject_duplicates_removed: int = 0
    repeated_extra: int = 0
    reasons: Counter = field(default_factory=Counter)

    def rejects_by_reason(self) -> dict[str, int]:
        return dict(sorted((k, v) for k, v in self.reasons.items() if v))


@dataclass
class DayParse(ParseCounts):
    """`parse_days`: each requested day's events and rejects as Parquet files, and the counts."""

    events: dict[date, Path] = field(default_factory=dict)  # folder/<day>/events.parquet
    rejects: dict[date, Path] = field(default_factory=dict)  # folder/<day>/rejects.parquet
    events_per_day: dict[date, int] = field(default_factory=dict)
    rejects_per_day: dict[date, int] = field(default_factory=dict)


def record_schema(tz: str) -> dict[str, pl.DataType]:
    """Column types of `firewall_events` (also the JSON keys of `iptables-assets parse`)."""
    return dict(tables.schema("firewall_events", tz))


def reject_schema(tz: str) -> dict[str, pl.DataType]:
    """Column types of `firewall_rejects`."""
    return dict(tables.schema("firewall_rejects", tz))
