"""One log file read whole into firewall records and rejects (`parse_file`), RFC 3164 years
resolved from the file's anchor (`lines.timeline`)."""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Callable, Iterator, TypeVar

import polars as pl

from iptables_assets.ingest.files import journal_files
from iptables_assets.ingest.files.logfiles import LogFile, iter_line_chunks
from iptables_assets.ingest.lines import syslog
from iptables_assets.ingest.lines.timeline import with_line_times
from iptables_assets.ingest.records.firewall.classify import classify_chunk
from iptables_assets.ingest.parse_config import ParseConfig
from iptables_assets.ingest.records.firewall.parse_types import FileParse

T = TypeVar("T")
R = TypeVar("R")


def parse_file(file: LogFile, anchor: datetime, config: ParseConfig = ParseConfig()) -> FileParse:
    """Parse one file completely (chunk by chunk), resolving RFC 3164 years from `anchor`.

    Records and rejects are set aside per chunk; only a slim timeline of every line (number,
    RFC 3164 month/day/time, dated timestamp) is kept whole, for year inference.
    """
    timeline, records, rejects = [], [], []
    ignored = 0
    damage: list[str] = []
    chunks = iter_line_chunks(file.path, file.compression, config.chunk_bytes, damage, config.window)
    for rows in in_threads(chunks, lambda item: classify_chunk(item[1], item[0], config), config.threads):
        timeline.append(rows.select("line_number", "md", "ts"))
        kind = pl.col("kind")
        records.append(rows.filter(kind == "record").drop("kind", "raw_line", "md", "ts"))
        rejects.append(rows.filter((kind != "record") & (kind != "ignored")).drop("md", "ts"))
        ignored += int((rows["kind"] == "ignored").sum())
    if not timeline:
        empty = classify_chunk(b"", 1, config)
        timeline, records, rejects = [empty.select("line_number", "md", "ts")], [empty], [empty]
    times = syslog.resolve_timestamps(pl.concat(timeline), anchor, config.tz)
    parsed = _assemble(file, times, pl.concat(records, how="vertical_relaxed"),
                       pl.concat(rejects, how="vertical_relaxed"), ignored, config)
    parsed.damage = damage[0] if damage else None
    journal = journal_files.facts(file.path, file.compression)
    parsed.hosts, parsed.covers = journal.hosts, journal.covers
    return parsed


def in_threads(items: Iterator[T], work: Callable[[T], R], threads: int) -> Iterator[R]:
    """work(item) for each item, in order, with up to `threads` items in flight (the scanner
    and polars release the GIL, so chunks are classified on several cores)."""
    if threads <= 1:
        yield from map(work, items)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(work, item))
            if len(pending) >= threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _assemble(file: LogFile, times: pl.DataFrame, records: pl.DataFrame, rejects: pl.DataFrame,
              ignored: int, config: ParseConfig) -> FileParse:
    """One file's records and rejects with resolved timestamps."""
    stamps = times["ts"]
    records, bad = with_line_times(records, stamps)
    if bad.height:
        rejects = pl.concat([rejects, as_bad_timestamps(file, bad, config)], how="diagonal_relaxed")
    rejects = with_reject_times(rejects, reject_times(times, file))
    stamps = stamps.drop_nulls()
    records = records.with_columns(pl.lit(file.relative).alias("source_file"))
    rejects = rejects.with_columns(pl.lit(file.relative).alias("source_file"))
    return FileParse(
        file=file,
        records=records,
        rejects=rejects,
        lines=times.height,
        ignored=ignored,
        record_lines=records.height,
        first=stamps.min() if stamps.len() else None,
        last=stamps.max() if stamps.len() else None,
    )


def as_bad_timestamps(file: LogFile, bad: pl.DataFrame, config: ParseConfig) -> pl.DataFrame:
    """Records whose date does not exist, as rejects with their raw lines (read again: rare)."""
    return bad.with_columns(pl.lit("bad_timestamp").alias("kind"), _raw_lines(file, bad["line_number"], config)
                            ).drop("timestamp")


def reject_times(times: pl.DataFrame, file: LogFile) -> pl.Series:
    """The time of each line for a reject: its own, else that of the line before it (after it at
    the start of a file), else the file's mtime."""
    fallback = pl.lit(file.mtime_datetime).dt.convert_time_zone("UTC")
    stamps = pl.col("ts")
    return times.select(pl.coalesce(stamps, stamps.forward_fill().backward_fill(), fallback)).to_series()


def with_reject_times(rejects: pl.DataFrame, times: pl.Series) -> pl.DataFrame:
    """Rejects with their line's time (`reject_times`), reason, and weight 1."""
    return rejects.with_columns(
        times.gather(rejects["line_number"] - 1).alias("timestamp"),
        pl.col("kind").alias("reason"),
        # A reject is one raw line, even a "message repeated N times" one.
        pl.lit(1, dtype=pl.Int64).alias("weight"),
    ).drop("kind")


def _raw_lines(file: LogFile, line_numbers: pl.Series, config: ParseConfig) -> pl.Series:
    """Read some lines of a file again (rare: only for records found bad after year inference)."""
    wanted = set(line_numbers.to_list())
    found: dict[int, str] = {}
    for first_line, chunk in iter_line_chunks(file.path, file.compression, config.chunk_bytes, [], config.window):
        for offset, line in enumerate(chunk.split(b"\n")):
            if first_line + offset in wanted:
                found[first_line + offset] = line.rstrip(b"\r").decode("utf-8", "replace")
    return pl.Series("raw_line", [found.get(n) for n in line_numbers.to_list()], dtype=pl.String)
