"""One log file, read whole (`parse_file`: candidate records and rejects) or by its headers
only (`scan_file`: line count and time span), RFC 3164 years resolved from the file's anchor."""

from __future__ import annotations

import dataclasses
import hashlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Iterator, TypeVar

import polars as pl

from iptables_assets.ingest.files import journal_files
from iptables_assets.ingest.lines import scanner, syslog
from iptables_assets.ingest.records.firewall.classify import classify_chunk, header_time
from iptables_assets.ingest.files.logfiles import LogFile, content_hash, iter_line_chunks
from iptables_assets.ingest.records.firewall.parse_types import FileParse, ParseConfig

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
    records, bad = with_record_times(records, stamps)
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


def with_record_times(records: pl.DataFrame, stamps: pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Records with their line's resolved time, and those whose date does not exist (Feb 29 of
    a common year, a skipped DST hour), which become `bad_timestamp` rejects."""
    # Every line has a timeline row, in order from line 1: gather by line number - 1.
    records = records.with_columns(stamps.gather(records["line_number"] - 1).alias("timestamp"))
    if not records["timestamp"].null_count():
        return records, records.clear()
    return records.filter(pl.col("timestamp").is_not_null()), records.filter(pl.col("timestamp").is_null())


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


@dataclass(frozen=True)
class FileScan:
    """Header-only pass over a file: its line count and first/last timestamps (UTC)."""

    lines: int
    first: datetime | None
    last: datetime | None
    damage: str | None = None  # why reading stopped early (truncated/corrupt compressed file)
    sha256: str | None = None  # of the decompressed content (of the stored bytes for a journal)
    year_less: int = 0  # lines with an RFC 3164 header (no year: dated by the anchor)


def scan_file(file: LogFile, anchor: datetime, config: ParseConfig = ParseConfig()) -> FileScan:
    """Read only the syslog headers of a file (cheaper than `parse_file`) to date its content;
    a damaged compressed file is dated from what could be read and the damage is kept, so the
    inventory can name it. A journal file is dated by its header (`scan_journal`)."""
    journal = scan_journal(file) if file.compression == "journal" else None
    if journal is not None:
        return journal
    damage: list[str] = []
    digest = hashlib.sha256()
    chunks = iter_line_chunks(file.path, file.compression, config.chunk_bytes, damage)
    scan = scan_chunks(((first, digest.update(chunk) or chunk) for first, chunk in chunks), anchor, config)
    return dataclasses.replace(scan, damage=damage[0] if damage else None, sha256=digest.hexdigest())


def scan_journal(f: LogFile) -> FileScan | None:
    """A journal file's entries and span from its header, and `--verify`'s finding unless it is
    still being written (no read of its entries: a live journal changes between every look);
    None when journalctl refuses the header (the read then names the file)."""
    head = journal_files.header(f.path)
    if head.entries is None or (head.entries and head.head is None):
        return None
    failure = journal_files.verify_failure(f.path) if head.state != "ONLINE" else None
    return FileScan(head.entries, head.head, head.tail, f"{str(f.path)!r}: journal damaged ({failure})" if failure else None,
                    content_hash(f.path))


def scan_chunks(chunks: Iterable[tuple[int, bytes]], anchor: datetime, config: ParseConfig = ParseConfig()) -> FileScan:
    """Line count and first/last timestamps of (first line number, bytes) chunks of one file."""
    rows = _dated_lines(chunks, anchor, config)
    if rows is None:
        return FileScan(0, None, None)
    stamps, year_less = rows["ts"].drop_nulls(), rows["md"].count()
    if stamps.len() == 0:
        return FileScan(rows.height, None, None, year_less=year_less)
    return FileScan(rows.height, stamps.min(), stamps.max(), year_less=year_less)


def shared_line_times(file: LogFile, anchor: datetime, wanted: pl.Series | None,
                      config: ParseConfig = ParseConfig()) -> pl.DataFrame:
    """(md, key, ts) of the file's RFC 3164 lines: their month-day-time, a hash of the text after
    the time (host, program, message: what identifies a line, with the kernel's uptime stamp)
    and the time resolved from `anchor`; only those whose key is in `wanted`, if given. What
    dates a file by the lines it shares with another (`dating`)."""
    key = pl.concat_str("host", "tag", "message", separator="\x00", ignore_nulls=True).hash().reinterpret(signed=True)
    chunks = iter_line_chunks(file.path, file.compression, config.chunk_bytes, [])
    rows = _dated_lines(chunks, anchor, config, ("host", "tag", "message"), key.alias("key"))
    if rows is None:
        return pl.DataFrame(schema={"md": pl.Int64, "key": pl.Int64, "ts": pl.Datetime("us", "UTC")})
    rows = rows.filter(pl.col("md").is_not_null() & pl.col("ts").is_not_null())
    if wanted is not None:
        rows = rows.filter(pl.col("key").is_in(wanted.implode()))
    return rows.select(pl.col("md").cast(pl.Int64), pl.col("key").cast(pl.Int64), "ts")


def _dated_lines(chunks: Iterable[tuple[int, bytes]], anchor: datetime, config: ParseConfig,
                 text_fields: tuple[str, ...] = (), *columns: pl.Expr) -> pl.DataFrame | None:
    """Every line's RFC 3164 month-day-time (`md`, null for other headers), its time resolved
    from `anchor` (`ts`) and `columns`; None for no lines."""
    pieces = []
    for first_line, chunk in chunks:
        rows = scanner.scan(syslog.journal_json_chunk(chunk)[0], first_line, text_fields=text_fields)
        pieces.append(rows.select(
            pl.when(pl.col("fmt") == scanner.FMT_RFC3164).then(pl.col("md")).alias("md"),
            header_time(config.tz).alias("ts"),
            *columns,
        ))
    return syslog.resolve_timestamps(pl.concat(pieces), anchor, config.tz) if pieces else None
