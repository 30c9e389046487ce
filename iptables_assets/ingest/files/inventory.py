"""File inventory: every log file with size, mtime, compression, hash, the time span it holds,
what dates its year and whether it is a copy of another (`dating`)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import polars as pl
from upath import UPath

from iptables_assets import storage, tables
from iptables_assets.ingest.files import dating
from iptables_assets.ingest.lines.timeline import scan_file
from iptables_assets.ingest.files.logfiles import LogFile
from iptables_assets.ingest.parse_config import ParseConfig
from iptables_assets.ingest.lines.syslog import read_newest_first

INVENTORY_SCHEMA = dict(tables.schema("log_file_inventory"))  # declared in `tables`
_CACHE_KEY = ["path", "size", "mtime", "year_anchor"]


def build_inventory(
    files: Sequence[LogFile], config: ParseConfig, cache: pl.DataFrame | None = None
) -> pl.DataFrame:
    """One row per file. Files whose path, size, mtime and year anchor match a row of `cache`
    (a previous inventory) are not read again."""
    known, redated = {}, {}
    # A cache from before a column existed (e.g. `damage`) cannot say what that column holds.
    if cache is not None and cache.height and set(INVENTORY_SCHEMA) <= set(cache.columns):
        for row in cache.iter_rows(named=True):
            known[tuple(row[k] for k in _CACHE_KEY)] = row
            if (row["year_evidence"] or "").startswith(dating.SHARED):  # its anchor is not the one computed
                redated[(row["path"], row["size"], row["mtime"])] = row
    newer: dict[str, str | None] = {}
    rows = list(read_newest_first(files, lambda f, anchor: _described(f, anchor, known, redated, newer, config),
                                  lambda row: row["first_timestamp"]))
    frame = pl.DataFrame(rows, schema=INVENTORY_SCHEMA) if rows else pl.DataFrame(schema=INVENTORY_SCHEMA)
    by_path = {f.relative: f for f in files}
    frame = dating.redate(frame, by_path, config, lambda f, anchor: _describe(f, anchor, {}, config, None))
    return dating.mark_copies(frame).sort("relative")


def _described(f: LogFile, anchor: datetime, known: dict, redated: dict, newer: dict, config: ParseConfig) -> dict:
    """`_describe`, knowing the newer rotation of the file's family read just before it."""
    row = redated.get((str(f.path), f.size, f.mtime)) or _describe(f, anchor, known, config, newer.get(f.family))
    newer[f.family] = f.relative
    return {**row, "relative": f.relative, "family": f.family}


def _describe(f: LogFile, anchor: datetime, known: dict, config: ParseConfig, newer: str | None) -> dict:
    cached = known.get((str(f.path), f.size, f.mtime, anchor.astimezone(timezone.utc)))
    if cached is not None:
        return {**cached, "relative": f.relative, "family": f.family}
    scan = scan_file(f, anchor, config)
    return {
        "path": str(f.path),
        "relative": f.relative,
        "family": f.family,
        "rotation_index": f.rotation_index,
        "rotation_date": f.rotation_date,
        "size": f.size,
        "mtime": f.mtime,
        "compression": f.compression,
        "sha256": scan.sha256,
        "lines": scan.lines,
        "year_anchor": anchor,
        "first_timestamp": scan.first,
        "last_timestamp": scan.last,
        "damage": scan.damage,
        "year_evidence": dating.evidence(f, scan.year_less, newer, scan.last),
        "copy_of": None,
    }


def log_file_from_row(row: dict) -> LogFile:
    """The LogFile an inventory row describes."""
    return LogFile(
        path=Path(row["path"]),
        relative=row["relative"],
        size=row["size"],
        mtime=row["mtime"],
        compression=row["compression"],
        family=row["family"],
        rotation_index=row["rotation_index"],
        rotation_date=row["rotation_date"],
    )


def files_for_days(inventory: pl.DataFrame, first_day: date, last_day: date, tz: str) -> pl.DataFrame:
    """Inventory rows of files that can hold events of days first_day..last_day (in `tz`).

    Files without any readable timestamp are taken when their mtime falls in the window, so
    that their rejects are still reported.
    """
    first = pl.col("first_timestamp").dt.convert_time_zone(tz).dt.date()
    last = pl.col("last_timestamp").dt.convert_time_zone(tz).dt.date()
    mtime_day = pl.from_epoch(pl.col("mtime"), time_unit="s").dt.replace_time_zone("UTC").dt.convert_time_zone(tz).dt.date()
    dated = pl.col("first_timestamp").is_not_null() & (first <= last_day) & (last >= first_day)
    undated = pl.col("first_timestamp").is_null() & mtime_day.is_between(first_day, last_day)
    return inventory.filter((dated | undated) & _not_a_copy(inventory))


def _not_a_copy(inventory: pl.DataFrame) -> pl.Expr:
    """The rows whose content is read (a copy's content is another file's; an older cache has no copies)."""
    return pl.col("copy_of").is_null() if "copy_of" in inventory.columns else pl.lit(True)


def damaged_files(inventory: pl.DataFrame) -> dict[str, str]:
    """{relative path: what happened} of the inventory's damaged files."""
    return {r: d for r, d in inventory.select("relative", "damage").iter_rows() if d}


def days_covered(inventory: pl.DataFrame, tz: str) -> tuple[date, date] | None:
    """First and last calendar day (in `tz`) of any timestamp in the inventory (copies aside: their
    content is another file's)."""
    dated = inventory.filter(pl.col("first_timestamp").is_not_null() & _not_a_copy(inventory))
    if dated.height == 0:
        return None
    first = dated["first_timestamp"].dt.convert_time_zone(tz).dt.date().min()
    last = dated["last_timestamp"].dt.convert_time_zone(tz).dt.date().max()
    return first, last


# The previous inventory, kept beside the asset data so unchanged files are not scanned again.
CACHE_PARTS = ("_cache", "log_file_inventory.parquet")


def cache_path(out_dir: str | Path) -> UPath:
    """Where the inventory cache of an output folder (local or object storage) lives."""
    return UPath(str(out_dir)).joinpath(*CACHE_PARTS)


def read_cache(out_dir: str | Path, warn: Callable[[str], None]) -> pl.DataFrame | None:
    """The cached inventory, only if it reads back exactly as written: a damaged (or
    unverifiable) cache is just a lost shortcut, discarded with a warning and rebuilt."""
    try:
        return storage.read_parquet(cache_path(out_dir), unverified_ok=False)
    except FileNotFoundError:
        return None
    except storage.DamagedData as error:
        warn(f"inventory cache discarded, every log file is scanned again: {error}")
        return None


def refresh(files: Sequence[LogFile], config: ParseConfig, out_dir: str | Path,
            warn: Callable[[str], None]) -> pl.DataFrame:
    """The inventory of `files`, scanning only files the cache does not know, and the cache
    replaced by it (atomically, with its checksum)."""
    table = build_inventory(files, config, read_cache(out_dir, warn))
    storage.write_parquet(cache_path(out_dir), table)
    return table


def first_day(out_dir: str | Path, tz: str) -> date | None:
    """First day (in `tz`) of the logs an output folder's inventory knows, if it has one."""
    cached = read_cache(out_dir, lambda _message: None)
    span = days_covered(cached, tz) if cached is not None and "first_timestamp" in cached.columns else None
    return span[0] if span else None
