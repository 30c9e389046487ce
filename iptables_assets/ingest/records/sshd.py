"""sshd records: sshd lines from `secure` (Red Hat), `auth.log` (Debian/Ubuntu) and journals.

Every line whose syslog program is sshd (or OpenSSH 9.8+'s `sshd-session` / `sshd-auth`)
becomes one event with a kind, the source address and port, and the user name where the line
has one; lines of no known kind are kept as `other` (counted, never lost). User names and
other attacker-chosen text are data only: the address and port are taken from the end of the
line, where sshd writes them, so a user name like "x from 1.2.3.4 port 22" cannot move them.

Headers, year inference and journald JSON are read exactly as for firewall lines (through
`lines.timeline`); the same line in several files (rotated copies, `messages` + `secure`) counts
once. `parse_sshd_days` reads each file once into day pieces, through the parse cache when given
one (`ingest.parse_cache`: a file read by an earlier run is linked, not read again). What the
events mean (notable lines, counts, sources) is `analysis.sshd`'s.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import polars as pl

from iptables_assets import tables
from iptables_assets.days import moments_of
from iptables_assets.ingest.files import journal_files
from iptables_assets.ingest.files.journal_coverage import JournalCoverage, coverage_of
from iptables_assets.ingest.files.logfiles import LogFile, iter_line_chunks
from iptables_assets.ingest.lines import syslog
from iptables_assets.ingest.lines.timeline import scanned_lines, with_line_times
from iptables_assets.ingest.parse_cache import ParseCache, entry_key, facts_from_json, facts_to_json
from iptables_assets.ingest.parse_config import ParseConfig
from iptables_assets.ingest.records.firewall.merging import deduplicate
from iptables_assets.tables.catalog import SSHD_EVENT


SSHD_PROGRAMS = ("sshd", "sshd-session", "sshd-auth")  # OpenSSH 9.8+ logs as sshd-session / sshd-auth
SSHD_FAMILIES = ("secure", "auth.log", "journal")  # file name stems the sshd stage reads
CHUNK_BYTES = 8 << 20

_FROM = r" from (?P<ip>[0-9A-Fa-f.:]+)(?: port (?P<port>\d+))?"
_BY = r"(?:(?:invalid|authenticating) user (?P<user>.*) )?(?P<ip>[0-9A-Fa-f.:]+) port (?P<port>\d+)"
_TAIL = r"(?: ssh2)?(?:: .*)?(?: \[preauth\])?$"

# (kind, pattern) in order of precedence; patterns are anchored at both ends so that the
# address and port are sshd's own, at the end of the line.
EVENT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("failed_password", rf"^Failed (?P<method>password|publickey|keyboard-interactive/pam|none|hostbased) for "
                        rf"(?:invalid user )?(?P<user>.*){_FROM}{_TAIL}"),
    ("invalid_user", rf"^Invalid user (?P<user>.*){_FROM}{_TAIL}"),
    ("accepted", rf"^Accepted (?P<method>password|publickey|keyboard-interactive/pam|hostbased|gssapi-with-mic) "
                 rf"for (?P<user>.*){_FROM}{_TAIL}"),
    ("bad_protocol_version", rf"^Bad protocol version identification '(?P<detail>.*)'{_FROM}$"),
    ("break_in_attempt", r"^(?:reverse mapping checking getaddrinfo for (?P<detail>\S*) \[(?P<ip>[0-9A-Fa-f.:]+)\]"
                         r"|Address (?P<ip2>[0-9A-Fa-f.:]+) maps to (?P<detail2>\S*),).*POSSIBLE BREAK-IN ATTEMPT!$"),
    ("connection_closed", rf"^Connection closed by {_BY}{_TAIL}"),
    ("connection_reset", rf"^Connection reset by {_BY}{_TAIL}"),
    ("no_identification", rf"^Did not receive identification string{_FROM}$"),
    ("unable_to_negotiate", r"^Unable to negotiate with (?P<ip>[0-9A-Fa-f.:]+) port (?P<port>\d+): (?P<detail>.*?)"
                            r"(?: \[preauth\])?$"),
    ("disconnect", rf"^(?:Received disconnect from|Disconnected from) {_BY}(?::.*)?(?: \[preauth\])?$"),
    ("disconnect", r"^Disconnected from (?:invalid |authenticating )?user (?P<user>.*) (?P<ip>[0-9A-Fa-f.:]+) "
                   r"port (?P<port>\d+)(?: \[preauth\])?$"),
)
KINDS = tuple(dict.fromkeys(kind for kind, _ in EVENT_PATTERNS)) + ("other",)

# An sshd line's columns (sshd_events without the geo columns added later), as declared in `tables`.
EVENT_SCHEMA = {c: t for c, t in tables.schema("sshd_events").items() if c in SSHD_EVENT}


@dataclass
class SshdParse:
    """The sshd events of some files (deduplicated), lines read and duplicates removed."""

    events: pl.DataFrame
    lines_read: int
    duplicates_removed: int
    damaged_files: dict[str, str] = field(default_factory=dict)  # file -> why reading stopped early

    def counts_by_kind(self) -> dict[str, int]:
        return dict(self.events.group_by("kind").len().sort("kind").iter_rows())


def is_sshd_family(family: str) -> bool:
    """Whether a log family can hold sshd lines: its stem, or a systemd journal (every program's)."""
    name = family.rsplit("/", 1)[-1]
    return any(name.startswith(stem) for stem in SSHD_FAMILIES) or name.endswith(".journal")


def parse_sshd_files(files: Sequence[LogFile], tz: str, anchors: dict[str, datetime] | None = None) -> SshdParse:
    """sshd events of `files` (newest rotation first within a family, for year inference)."""
    read = list(syslog.read_newest_first(files, lambda f, anchor: _read_file(f, anchor, tz),
                                         lambda result: result.first, anchors))
    rows = pl.concat([r.rows for r in read], how="vertical_relaxed") if read else None
    events, removed = _events(rows, {f.relative: i for i, f in enumerate(files)}, tz, coverage_of(read))
    return SshdParse(events, sum(r.lines for r in read), removed, {r.file.relative: r.damage for r in read if r.damage})


@dataclass
class SshdDays:
    """The sshd lines of some files, read once and left per day under `folder`; `days()` gives
    each day's events (deduplicated, classified) one day at a time."""

    folder: Path
    tz: str
    file_order: dict[str, int]
    lines_read: int = 0
    duplicates_removed: int = 0
    damaged_files: dict[str, str] = field(default_factory=dict)
    coverage: JournalCoverage | None = None  # of the journal files read (`journal_coverage`)

    def days(self, days: Iterable[date]) -> Iterator[tuple[date, pl.DataFrame]]:
        """Each of `days` with its events, exactly as `parse_sshd_files` gives that day's."""
        for day in days:
            pieces = sorted((self.folder / day.isoformat()).glob("*.parquet"))
            rows = pl.concat([pl.read_parquet(p) for p in pieces], how="vertical_relaxed") if pieces else None
            events, removed = _events(rows, self.file_order, self.tz, self.coverage)
            self.duplicates_removed += removed
            yield day, events


def parse_sshd_days(files: Sequence[LogFile], tz: str, anchors: dict[str, datetime] | None,
                    folder: Path, days: Sequence[date] = (), cache: ParseCache | None = None) -> SshdDays:
    """Read every file once (as `parse_sshd_files`) and leave its sshd lines in
    `folder/<day>/<reading order>.parquet` (`spill_sshd_file`), so that a long window is held one
    day at a time; journal files only from the first to the last of `days`, if given. A file
    `cache` holds (read by an earlier run) is linked, not read again."""
    window = moments_of(min(days), max(days), tz) if days else None
    parsed = SshdDays(folder, tz, {f.relative: i for i, f in enumerate(files)})
    read: list[SshdFileFacts] = []

    def spill(file: LogFile, anchor: datetime) -> SshdFileFacts:
        tag = f"{len(read):05d}"
        if cache is None:
            return spill_sshd_file(file, anchor, tz, window, folder, tag)
        key = entry_key(file, anchor, ParseConfig(tz=tz, window=window), records="sshd")
        held = cache.pieces(key, folder, tag, lambda where, name: facts_to_json(
            spill_sshd_file(file, anchor, tz, window, where, name)))
        if held.linked:
            cache.linked.append(file.relative)
        return SshdFileFacts(file=file, **facts_from_json(held.facts))

    for facts in syslog.read_newest_first(files, spill, lambda facts: facts.first, anchors):
        read.append(facts)
        if facts.damage:
            parsed.damaged_files[facts.file.relative] = facts.damage
        parsed.lines_read += facts.lines
    parsed.coverage = coverage_of(read)
    return parsed


@dataclass(frozen=True)
class SshdFileFacts:
    """What reading one file found, besides its lines: its line count and time span, what damage
    stopped the reading early, and a journal file's hosts and covered stretch (for
    `journal_coverage`); what the parse cache keeps beside a file's pieces."""

    file: LogFile
    lines: int
    first: datetime | None
    last: datetime | None
    damage: str | None
    hosts: tuple[str, ...] = ()
    covers: tuple[datetime, datetime] | None = None


def spill_sshd_file(file: LogFile, anchor: datetime, tz: str, window: journal_files.Window | None, folder: Path,
                    tag: str) -> SshdFileFacts:
    """Read one file's sshd lines (`_read_file`) into `folder/<day>/<tag>.parquet`, one piece per
    day (in the logs' zone) they fall on."""
    result = _read_file(file, anchor, tz, window)
    rows = result.rows
    local_days = rows["timestamp"].dt.convert_time_zone(tz).dt.date().alias("__day")
    for (day,), piece in rows.with_columns(local_days).partition_by("__day", as_dict=True,
                                                                    include_key=False).items():
        (folder / day.isoformat()).mkdir(parents=True, exist_ok=True)
        piece.write_parquet(folder / day.isoformat() / f"{tag}.parquet", compression="lz4")
    return SshdFileFacts(file, result.lines, result.first, result.last, result.damage, result.hosts, result.covers)


def _events(rows: pl.DataFrame | None, file_order: dict[str, int], tz: str,
            coverage: JournalCoverage | None) -> tuple[pl.DataFrame, int]:
    """Lines read (in reading order) -> deduplicated, classified events in time order."""
    rows, removed = deduplicate(rows, file_order, coverage) if rows is not None and rows.height else (rows, 0)
    events = classify(rows.drop("msg_hash", "weight")) if rows is not None and rows.height else _empty()
    events = events.with_columns(pl.col("timestamp").dt.convert_time_zone(tz))
    return events.sort("timestamp", "source_file", "line_number"), removed


@dataclass
class SshdFile:
    """One file's sshd lines (resolved times), its line count and time span, what damage stopped
    the reading early, and a journal file's hosts and covered stretch (for `journal_coverage`)."""

    file: LogFile
    rows: pl.DataFrame
    lines: int
    first: datetime | None
    last: datetime | None
    damage: str | None
    hosts: tuple[str, ...] = ()
    covers: tuple[datetime, datetime] | None = None


def _read_file(file: LogFile, anchor: datetime, tz: str, window: journal_files.Window | None = None) -> SshdFile:
    """One file's sshd lines (a damaged compressed file is read as far as it goes; a journal
    file only in `window`, if given)."""
    timeline, rows, damage = [], [], []
    chunks = iter_line_chunks(file.path, file.compression, CHUNK_BYTES, damage, window)
    for scanned in scanned_lines(chunks, tz, ("host", "tag", "message")):
        timeline.append(scanned.select("line_number", "md", "ts"))
        rows.append(scanned.filter(pl.col("tag").is_in(list(SSHD_PROGRAMS)).fill_null(False))
                    .select("line_number", "host", pl.col("tag").alias("program"), "message"))
    journal = journal_files.facts(file.path, file.compression)
    if not timeline:
        return SshdFile(file, _raw_schema(), 0, None, None, damage[0] if damage else None, journal.hosts,
                        journal.covers)
    times = syslog.resolve_timestamps(pl.concat(timeline), anchor, tz)
    stamps = times["ts"]
    found, _undated = with_line_times(pl.concat(rows), stamps)  # a date that does not exist: not an event
    found = found.with_columns(pl.lit(file.relative).alias("source_file"))
    found = syslog.unwrap_repeated(found).with_columns(
        pl.concat_str("host", "program", "message", separator="\x00").hash().reinterpret(signed=True).alias("msg_hash")
    )
    dated = stamps.drop_nulls()
    return SshdFile(file, found, times.height, dated.min() if dated.len() else None,
                    dated.max() if dated.len() else None, damage[0] if damage else None, journal.hosts,
                    journal.covers)


def classify(rows: pl.DataFrame) -> pl.DataFrame:
    """Kind, source address and port, user, method and detail of each sshd message."""
    kind = pl.lit("other")
    fields = {name: pl.lit(None, dtype=pl.String) for name in ("ip", "port", "user", "method", "detail")}
    for index, (name, pattern) in reversed(list(enumerate(EVENT_PATTERNS))):
        groups = pl.col("message").str.extract_groups(pattern)
        matched = pl.col("message").str.contains(pattern)
        kind = pl.when(matched).then(pl.lit(name)).otherwise(kind)
        for part in fields:
            value = _group(groups, pattern, part)
            if value is not None:
                fields[part] = pl.when(matched).then(value).otherwise(fields[part])
    rows = rows.with_columns(kind.alias("kind"), *(expr.alias(f"__{name}") for name, expr in fields.items()))
    addresses = rows["__ip"].unique().drop_nulls()
    canonical = {a: _canonical(a) for a in addresses.to_list()}
    return rows.with_columns(
        pl.col("__ip").replace_strict(canonical, default=None, return_dtype=pl.String).alias("src_ip"),
        pl.col("__port").cast(pl.Int32, strict=False).alias("src_port"),
        pl.col("__user").alias("user"),
        pl.col("__method").alias("method"),
        pl.col("__detail").alias("detail"),
    ).select(list(EVENT_SCHEMA)).cast(EVENT_SCHEMA)


def _group(groups: pl.Expr, pattern: str, field: str) -> pl.Expr | None:
    """The named group `field` of a pattern (or its alternative `field`2), if it has one."""
    names = [n for n in (field, f"{field}2") if f"(?P<{n}>" in pattern]
    if not names:
        return None
    return pl.coalesce(*(groups.struct.field(n) for n in names))


def _canonical(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _raw_schema() -> pl.DataFrame:
    return pl.DataFrame(schema={
        "line_number": pl.Int64, "host": pl.String, "program": pl.String, "message": pl.String,
        "timestamp": pl.Datetime("us", "UTC"), "source_file": pl.String, "weight": pl.Int64, "msg_hash": pl.Int64,
    })


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=EVENT_SCHEMA)
