"""Log files -> firewall records, rejects and counts; the code both the CLI and the assets use.

Every line read ends up as exactly one of: part of a record (a firewall event), an ignored
non-firewall line (counted per file), or a reject with a reason and the raw line.

This is the public entry: callers import from here. The work is done by `classify` (a chunk of
lines -> record / reject / ignored rows), `file_parse` (one file, years resolved), `merging`
(deduplication across files, final columns) and `parse_types` (settings, results, schemas).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Sequence

import polars as pl

from iptables_assets import progress
from iptables_assets.ingest import syslog
from iptables_assets.ingest.classify import header_time
from iptables_assets.ingest.file_parse import FileScan, parse_file, scan_chunks, scan_file
from iptables_assets.ingest.logfiles import LogFile, discover
from iptables_assets.ingest.merging import combine, deduplicate
from iptables_assets.ingest.parse_types import (
    DEFAULT_TRUSTED_PROGRAMS,
    RECORD_COLUMNS,
    REJECT_COLUMNS,
    REJECT_REASONS,
    FileParse,
    ParseConfig,
    ParseResult,
    record_schema,
    reject_schema,
)
from iptables_assets.ingest.syslog import journal_json_chunk

# Re-exported: every public name this module has held stays importable from it.
__all__ = [
    "DEFAULT_TRUSTED_PROGRAMS", "RECORD_COLUMNS", "REJECT_COLUMNS", "REJECT_REASONS", "FileParse",
    "FileScan", "ParseConfig", "ParseResult", "combine", "deduplicate", "header_time",
    "journal_json_chunk", "parse_file", "parse_files", "parse_paths", "record_schema",
    "reject_schema", "scan_chunks", "scan_file", "split_by_day",
]


def parse_paths(paths: Sequence[Path | str], config: ParseConfig = ParseConfig(), **kw) -> ParseResult:
    """Parse files and/or directories (found recursively with the default name patterns)."""
    files: list[LogFile] = []
    for p in paths:
        files.extend(discover(p, **kw))
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
