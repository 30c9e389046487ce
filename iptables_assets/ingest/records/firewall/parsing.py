"""Log files -> firewall records, rejects and counts; the code both the CLI and the assets use.

Every line read ends up as exactly one of: part of a record (a firewall event), an ignored
non-firewall line (counted per file), or a reject with a reason and the raw line.

This is the public entry: callers import from here. The work is done by `classify` (a chunk of
lines -> record / reject / ignored rows), `file_parse` (one file, years resolved by
`lines.timeline`), `merging` (deduplication across files, final columns) and `parse_types`
(results, schemas; the settings are `ingest.parse_config`'s).

`parse_files` holds every row in memory. `parse_days` (the assets) and `spill_logs` (the CLI)
stream instead: each file is read once into spill files (`spill`), then merged one day, or one
bounded batch of a day, at a time (`day_merge`), with exactly the rows and counts of
`parse_files`.
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import polars as pl

from iptables_assets import progress
from iptables_assets.days import moments_of
from iptables_assets.ingest.files.finding import find_logs
from iptables_assets.ingest.files.logfiles import LogFile
from iptables_assets.ingest.lines import syslog
from iptables_assets.ingest.lines.timeline import FileScan, header_time, scan_chunks, scan_file
from iptables_assets.ingest.parse_cache import ParseCache
from iptables_assets.ingest.parse_config import DEFAULT_TRUSTED_PROGRAMS, ParseConfig
from iptables_assets.ingest.records.firewall.day_merge import DayBatch, merge_days
from iptables_assets.ingest.records.firewall.day_routing import spill_file
from iptables_assets.ingest.records.firewall.file_parse import parse_file
from iptables_assets.ingest.records.firewall.merging import combine, deduplicate
from iptables_assets.ingest.records.firewall.parse_types import (
    RECORD_COLUMNS,
    REJECT_COLUMNS,
    REJECT_REASONS,
    DayParse,
    FileCounts,
    FileParse,
    ParseCounts,
    ParseResult,
    record_schema,
    reject_schema,
)
from iptables_assets.ingest.lines.syslog import journal_json_chunk

# Re-exported: every public name this module has held stays importable from it.
__all__ = [
    "DEFAULT_TRUSTED_PROGRAMS", "RECORD_COLUMNS", "REJECT_COLUMNS", "REJECT_REASONS", "DayBatch", "DayParse",
    "FileCounts", "FileParse", "FileScan", "ParseCache", "ParseConfig", "ParseCounts", "ParseResult", "Spilled", "combine",
    "deduplicate", "header_time", "journal_json_chunk", "parse_days", "parse_file", "parse_files", "parse_paths",
    "record_schema", "reject_schema", "scan_chunks", "scan_file", "spill_logs", "split_by_day",
]


def parse_paths(paths: Sequence[Path | str], config: ParseConfig = ParseConfig(), **kw) -> ParseResult:
    """Parse files and/or directories (found recursively with the default name patterns)."""
    files: list[LogFile] = []
    for p in paths:
        files.extend(find_logs(p, **kw))
    return parse_files(files, config)


def parse_files(
    files: Sequence[LogFile],
    config: ParseConfig = ParseConfig(),
    anchors: dict[str, datetime] | None = None,
) -> ParseResult:
    """Parse files, newest rotation first within each family, then deduplicate across files.

    `anchors` (relative path -> datetime) overrides the year anchor of a file, e.g. from the
    file inventory when only some files of a family are read.
    """
    parsed: list[FileParse] = []
    with progress.track("reading logs", sum(f.size for f in files), "B") as shown:
        for result in syslog.read_newest_first(files, lambda f, anchor: parse_file(f, anchor, config),
                                               lambda result: result.first, anchors):
            parsed.append(result)
            shown.update(result.file.size)
    return combine(parsed, config)


def split_by_day(frame: pl.DataFrame, days: Iterable[date]) -> dict[date, pl.DataFrame]:
    """Rows of each requested day (an empty frame with the same schema for days without rows)."""
    frame = frame.with_columns(pl.col("timestamp").dt.date().alias("__day"))
    groups = {k[0]: g.drop("__day") for k, g in frame.group_by("__day")} if frame.height else {}
    return {d: groups.get(d, frame.clear().drop("__day")) for d in days}


@dataclass
class Spilled:
    """Log files read once into spill files under `folder`; `batches()` merges them."""

    folder: Path
    config: ParseConfig
    files: list[FileCounts]
    counts: ParseCounts = field(init=False)

    def __post_init__(self) -> None:
        self.counts = ParseCounts(files=self.files)
        self.counts.repeated_extra = sum(f.record_weight - f.record_lines for f in self.files)

    def batches(self, keep: Callable[[date], bool] | None = None) -> Iterator[DayBatch]:
        """Each day's records and rejects in time order, in batches of about `config.batch_rows`
        records; days that `keep` refuses are only counted. `counts` is complete at the end."""
        return merge_days(self.folder, self.counts, self.config, keep)


def spill_logs(files: Sequence[LogFile], config: ParseConfig, anchors: dict[str, datetime] | None,
               folder: Path, cache: ParseCache | None = None) -> Spilled:
    """Read every file once (newest rotation first, as `parse_files`) into spill files under
    `folder` (the files `cache` holds are linked, not read); raises the OSError of a file that
    cannot be read."""
    folder = folder.absolute()
    folder.mkdir(parents=True, exist_ok=True)
    counted: list[FileCounts] = []

    def read(file: LogFile, anchor: datetime) -> FileCounts:
        spill = cache.spill if cache is not None else spill_file
        return spill(file, anchor, config, folder, f"{len(counted):05d}")

    with progress.track("reading logs", sum(f.size for f in files), "B") as shown:
        for counts in syslog.read_newest_first(files, read, lambda c: c.first, anchors):
            counted.append(counts)
            shown.update(counts.file.size)
    shutil.rmtree(folder / "_raw", ignore_errors=True)
    return Spilled(folder, config, counted)


def parse_days(files: Sequence[LogFile], config: ParseConfig = ParseConfig(),
               anchors: dict[str, datetime] | None = None, days: Iterable[date] = (),
               folder: Path | str = ".", cache: ParseCache | None = None) -> DayParse:
    """Each of `days`: its events and rejects exactly as `split_by_day(parse_files(...))` gives
    them, as `folder/<day>/events.parquet` and `rejects.parquet`, with the counts of the whole
    parse. Every file is read once (or not at all when `cache` holds it); about one day of rows
    is held in memory at a time."""
    folder, wanted = Path(folder), sorted(set(days))
    if wanted:  # journals are read by time: only the entries of these days
        config = dataclasses.replace(config, window=moments_of(wanted[0], wanted[-1], config.tz))
    try:
        spilled = spill_logs(files, config, anchors, folder / "_spill", cache)
        result = DayParse(files=spilled.files, repeated_extra=spilled.counts.repeated_extra)
        spilled.counts = result
        for day, batches in itertools.groupby(spilled.batches(set(wanted).__contains__), key=lambda b: b.day):
            _write_day(result, folder, day, list(batches), config.tz)
    finally:  # also when a file cannot be read: no spill files are left behind
        shutil.rmtree(folder / "_spill", ignore_errors=True)
    for day in wanted:
        if day not in result.events:
            _write_day(result, folder, day, [], config.tz)
    result.events = dict(sorted(result.events.items()))
    result.rejects = dict(sorted(result.rejects.items()))
    return result


def _write_day(result: DayParse, folder: Path, day: date, batches: list[DayBatch], tz: str) -> None:
    """One day's events and rejects as Parquet files (typed empty files for a day without rows)."""
    target = folder / day.isoformat()
    target.mkdir(parents=True, exist_ok=True)
    events = pl.concat([b.records for b in batches]) if batches else pl.DataFrame(schema=record_schema(tz))
    rejects = pl.concat([b.rejects for b in batches]) if batches else pl.DataFrame(schema=reject_schema(tz))
    result.events[day], result.rejects[day] = target / "events.parquet", target / "rejects.parquet"
    events.write_parquet(result.events[day], compression="zstd")
    rejects.write_parquet(result.rejects[day], compression="zstd")
    result.events_per_day[day], result.rejects_per_day[day] = events.height, rejects.height
