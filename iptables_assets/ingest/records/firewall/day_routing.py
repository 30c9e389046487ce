"""One log file -> Parquet pieces of its records and rejects in one folder per day, read once.

A file's years are known only at its end (RFC 3164 has none: they count back from the last
line), so each chunk's rows are first written without their times (`_raw/`: records as Parquet
in their final columns, rejects as Arrow IPC), and only a slim timeline of every line stays in
memory. At the end of the file the timeline is resolved. A chunk whose records all fall on one
day is moved as it is to `<day>/`, its times beside it (`.times.arrow`); other chunks, and
rejects, are read back, given their times and written as one piece per day. Pieces are named
`<file>-<chunk>` so that a day's pieces sort in reading order, as `parse_files` concatenates
them. `day_merge` then deduplicates one day (or part of one) at a time.

Pieces are Arrow IPC files with LZ4 (`write_piece`): they are read back once, by this process,
so Parquet's encoding (several times the CPU of IPC's near-copy, in writing and in reading)
bought nothing but a smaller scratch file; LZ4 keeps them ~10x smaller than uncompressed IPC.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import polars as pl

from iptables_assets.ingest.files import journal_files
from iptables_assets.ingest.lines import syslog
from iptables_assets.ingest.records.firewall.classify import classify_chunk
from iptables_assets.ingest.records.firewall.file_parse import (
    as_bad_timestamps, in_threads, reject_times, with_reject_times,
)
from iptables_assets.ingest.files.logfiles import LogFile, iter_line_chunks
from iptables_assets.ingest.records.firewall.merging import with_columns_of
from iptables_assets.ingest.parse_config import ParseConfig
from iptables_assets.ingest.records.firewall.parse_types import RECORD_COLUMNS, REJECT_COLUMNS, FileCounts

DEDUP_COLUMNS = ("msg_hash", "weight")  # kept beside the public columns until deduplication
_KINDS = {"ignored": 0, "record": 1}  # timeline codes; every other kind is a reject (2)
_REJECT_KEEP = ("line_number", "host", "program", "kind", "raw_line", "msg_hash", "weight")


def spill_file(file: LogFile, anchor: datetime, config: ParseConfig, folder: Path, tag: str) -> FileCounts:
    """Read one file (chunks classified on `config.threads` threads) and leave its rows as
    pieces under `folder/<day>/`, named from `tag` (its place in reading order)."""
    raw = folder / "_raw" / tag
    raw.mkdir(parents=True, exist_ok=True)
    damage: list[str] = []
    chunks = enumerate(iter_line_chunks(file.path, file.compression, config.chunk_bytes, damage, config.window))
    parts = list(in_threads(chunks, lambda item: _classify_to_disk(item, config, raw, file.relative),
                            config.threads))
    times = _resolve([p.pop("timeline") for p in parts], anchor, config.tz)
    counts = _route_file(file, times, parts, config, folder, tag)
    shutil.rmtree(raw)
    counts.damage = damage[0] if damage else None
    journal = journal_files.facts(file.path, file.compression)
    counts.hosts, counts.covers = journal.hosts, journal.covers
    return counts


def _classify_to_disk(item: tuple[int, tuple[int, bytes]], config: ParseConfig, raw: Path, relative: str) -> dict:
    """Classify one chunk; write its records (final columns, no times yet) and rejects to `raw`;
    keep its timeline."""
    index, (first_line, chunk) = item
    rows = classify_chunk(chunk, first_line, config)
    kind = pl.col("kind")
    records = rows.filter(kind == "record").drop("kind", "raw_line", "md", "ts").with_columns(
        pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("timestamp"), pl.lit(relative).alias("source_file"))
    part = {"index": index, "records": raw / f"{index:06d}.records.arrow", "rejects": raw / f"{index:06d}.rejects.arrow"}
    write_piece(with_columns_of(records, RECORD_COLUMNS, config.tz, DEDUP_COLUMNS), part["records"])
    write_piece(rows.filter((kind != "record") & (kind != "ignored")).select(_REJECT_KEEP), part["rejects"])
    # md fits 32 bits; the cast also copies it out of the scanner's arrays, which it would keep alive
    part["timeline"] = rows.select(pl.col("md").cast(pl.Int32), "ts",
                                   kind.replace_strict(_KINDS, default=2, return_dtype=pl.Int8).alias("kind"))
    return part


def _resolve(timeline: list[pl.DataFrame], anchor: datetime, tz: str) -> pl.DataFrame:
    """Every line's time (`ts`, UTC; null where its date does not exist) and kind code."""
    if not timeline:
        return pl.DataFrame(schema={"md": pl.Int64, "ts": pl.Datetime("us", "UTC"), "kind": pl.Int8})
    return syslog.resolve_timestamps(pl.concat(timeline).with_columns(pl.col("md").cast(pl.Int64)), anchor, tz)


def _route_file(file: LogFile, times: pl.DataFrame, parts: list[dict], config: ParseConfig, folder: Path,
                tag: str) -> FileCounts:
    """Give every chunk's rows their times and write them to their days; bad dates last."""
    stamps, fill = times["ts"], reject_times(times, file)
    routed = list(in_threads(iter(parts), lambda p: _route_part(p, stamps, fill, file, config, folder, tag),
                             config.threads))
    bad = [b for _, _, b in routed if b.height]
    reject_lines = int((times["kind"] == 2).sum())
    if bad:
        bad_rejects = as_bad_timestamps(file, pl.concat(bad, how="diagonal_relaxed"), config)
        _write_days(_finish_rejects(bad_rejects, fill, file, config.tz), folder, f"{tag}-z.rejects")
        reject_lines += sum(b.height for b in bad)
    dated = stamps.drop_nulls()
    return FileCounts(
        file=file,
        lines=times.height,
        ignored=int((times["kind"] == 0).sum()),
        record_lines=sum(n for n, _, _ in routed),
        reject_lines=reject_lines,
        record_weight=sum(w for _, w, _ in routed),
        first=dated.min() if dated.len() else None,
        last=dated.max() if dated.len() else None,
    )


def _route_part(part: dict, stamps: pl.Series, fill: pl.Series, file: LogFile, config: ParseConfig,
                folder: Path, tag: str) -> tuple[int, int, pl.DataFrame]:
    """One chunk's rows to their days: (record lines, their events, records with a bad date)."""
    name = f"{tag}-c{part['index']:06d}"
    _write_days(_finish_rejects(pl.read_ipc(part["rejects"]), fill, file, config.tz), folder, f"{name}.rejects")
    lines = pl.read_ipc(part["records"], columns=["line_number", "weight"])
    times = stamps.gather(lines["line_number"] - 1).dt.convert_time_zone(config.tz).alias("timestamp")
    days = times.dt.date()
    if lines.height and not times.null_count() and days.min() == days.max():  # the usual chunk: moved as it is
        target = folder / days[0].isoformat()
        target.mkdir(exist_ok=True)
        write_piece(times.to_frame(), target / f"{name}.records.times.arrow")
        os.replace(part["records"], target / f"{name}.records.arrow")
        return lines.height, int(lines["weight"].sum() or 0), pl.DataFrame()
    records = pl.read_ipc(part["records"]).with_columns(times)
    bad = records.filter(pl.col("timestamp").is_null())
    records = records.filter(pl.col("timestamp").is_not_null())
    _write_days(records, folder, f"{name}.records")
    return records.height, int(records["weight"].sum() or 0), bad


def _finish_rejects(rejects: pl.DataFrame, fill: pl.Series, file: LogFile, tz: str) -> pl.DataFrame:
    rejects = with_reject_times(rejects, fill).with_columns(pl.lit(file.relative).alias("source_file"))
    return with_columns_of(rejects, REJECT_COLUMNS, tz, DEDUP_COLUMNS)


def _write_days(rows: pl.DataFrame, folder: Path, name: str) -> None:
    """Rows as `folder/<day>/<name>.arrow`, one piece per day they fall on (in the logs' zone)."""
    if rows.height == 0:
        return
    days = rows["timestamp"].dt.date()
    first, last = days.min(), days.max()
    if first == last:
        pieces = {(first,): rows}
    else:
        pieces = rows.with_columns(days.alias("__day")).partition_by("__day", as_dict=True, include_key=False)
    for (day,), piece in pieces.items():
        target = folder / day.isoformat()
        target.mkdir(exist_ok=True)
        write_piece(piece, target / f"{name}.arrow")


def write_piece(rows: pl.DataFrame, path: Path) -> None:
    """One spill piece (Arrow IPC, LZ4; see the module doc)."""
    rows.write_ipc(path, compression="lz4", compat_level=pl.CompatLevel.newest())
