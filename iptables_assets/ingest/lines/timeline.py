"""Every line's time: a header's own (`header_time`), RFC 3164's year resolved per file from
its anchor (`dated_lines`, through `syslog.resolve_timestamps`), and the passes that date a file
by its headers only (`scan_file`: line count and span; `shared_line_times`: what `dating`
compares). Every kind of record (`records/`) reads its lines' times through `scanned_lines`
and `with_line_times`, so a file is dated the same way whatever is read from it."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Iterator

import polars as pl

from iptables_assets.ingest.files import journal_files
from iptables_assets.ingest.files.logfiles import LogFile, content_hash, iter_line_chunks
from iptables_assets.ingest.lines import columns, scanner, syslog
from iptables_assets.ingest.parse_config import ParseConfig


def header_time(tz: str) -> pl.Expr:
    """UTC time of ISO 8601 / Proxmox headers (RFC 3164 gets its year later, per file)."""
    offset = pl.col("offset_s")
    has_offset = offset != -99999
    with_offset = pl.from_epoch(pl.col("local_us") - offset * 1_000_000, time_unit="us").dt.replace_time_zone("UTC")
    local = (
        pl.from_epoch(pl.col("local_us"), time_unit="us")
        .dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    is_dated = pl.col("fmt").is_in([scanner.FMT_ISO, scanner.FMT_PVE])
    return pl.when(is_dated & has_offset).then(with_offset).when(is_dated).then(local)


def with_line_times(rows: pl.DataFrame, stamps: pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows (of lines of a file) with their line's resolved time (`stamps`, every line's, in
    order from line 1), and those whose date does not exist (Feb 29 of a common year, a skipped
    DST hour)."""
    # Every line has a timeline row, in order from line 1: gather by line number - 1.
    rows = rows.with_columns(stamps.gather(rows["line_number"] - 1).alias("timestamp"))
    if not rows["timestamp"].null_count():
        return rows, rows.clear()
    return rows.filter(pl.col("timestamp").is_not_null()), rows.filter(pl.col("timestamp").is_null())


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
    damage = f"{str(f.path)!r}: journal damaged ({failure})" if failure else None
    return FileScan(head.entries, head.head, head.tail, damage, content_hash(f.path))


def scan_chunks(chunks: Iterable[tuple[int, bytes]], anchor: datetime, config: ParseConfig = ParseConfig()) -> FileScan:
    """Line count and first/last timestamps of (first line number, bytes) chunks of one file."""
    rows = dated_lines(chunks, anchor, config)
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
    rows = dated_lines(chunks, anchor, config, ("host", "tag", "message"), key.alias("key"))
    if rows is None:
        return pl.DataFrame(schema={"md": pl.Int64, "key": pl.Int64, "ts": pl.Datetime("us", "UTC")})
    rows = rows.filter(pl.col("md").is_not_null() & pl.col("ts").is_not_null())
    if wanted is not None:
        rows = rows.filter(pl.col("key").is_in(wanted.implode()))
    return rows.select(pl.col("md").cast(pl.Int64), pl.col("key").cast(pl.Int64), "ts")


def dated_lines(chunks: Iterable[tuple[int, bytes]], anchor: datetime, config: ParseConfig,
                text_fields: tuple[str, ...] = (), *columns: pl.Expr) -> pl.DataFrame | None:
    """Every line's RFC 3164 month-day-time (`md`, null for other headers), its time resolved
    from `anchor` (`ts`) and `columns`; None for no lines."""
    pieces = [rows.select("md", "ts", *columns) for rows in scanned_lines(chunks, config.tz, text_fields)]
    return syslog.resolve_timestamps(pl.concat(pieces), anchor, config.tz) if pieces else None


def scanned_lines(chunks: Iterable[tuple[int, bytes]], tz: str, text_fields: tuple[str, ...] = ()
                  ) -> Iterator[pl.DataFrame]:
    """Each chunk's lines scanned (`columns.scan`, journal JSON lines as text first), with `md`
    (the RFC 3164 month-day-time, null for other headers) and `ts` (the header's time: UTC for
    ISO 8601 and Proxmox headers, null for RFC 3164 until `syslog.resolve_timestamps` gives it
    its year)."""
    for first_line, chunk in chunks:
        rows = columns.scan(syslog.journal_json_chunk(chunk)[0], first_line, text_fields=text_fields)
        yield rows.with_columns(
            pl.when(pl.col("fmt") == scanner.FMT_RFC3164).then(pl.col("md")).alias("md"),
            header_time(tz).alias("ts"),
        )
