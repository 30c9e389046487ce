"""Spilled pieces -> each day's records and rejects, deduplicated and sorted exactly as
`merging.combine` does for all files at once, one bounded batch at a time.

Duplicates share their timestamp (the dedup key is time + message hash), so they fall on the
same day, and in the same batch when a big day is cut at timestamps: deduplicating day by day,
batch by batch, counts exactly what deduplicating everything together counts.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable, Iterator, Sequence

import polars as pl

from iptables_assets.ingest.files.journal_coverage import JournalCoverage, coverage_of
from iptables_assets.ingest.records.firewall.merging import deduplicate, finish
from iptables_assets.ingest.parse_config import ParseConfig
from iptables_assets.ingest.records.firewall.parse_types import RECORD_COLUMNS, REJECT_COLUMNS, ParseCounts

# What counting a day that is not kept needs: the dedup key, weights and the reasons.
_COUNTED = ("timestamp", "source_file", "host", "msg_hash", "weight")


@dataclass
class DayBatch:
    """Records and rejects of one day, or of one time range of it (final columns, sorted)."""

    day: date
    records: pl.DataFrame
    rejects: pl.DataFrame


def merge_days(folder: Path, counts: ParseCounts, config: ParseConfig,
               keep: Callable[[date], bool] | None = None) -> Iterator[DayBatch]:
    """Every day's batches in time order, the days `keep` refuses only counted (not yielded);
    `counts` gets the totals. Each day's pieces are deleted once it is done."""
    order = {f.file.relative: i for i, f in enumerate(sorted(counts.files, key=lambda f: f.file.relative))}
    coverage = coverage_of(counts.files)
    for folder_of_day in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("_")):
        day = date.fromisoformat(folder_of_day.name)
        wanted = keep is None or keep(day)
        records = sorted(folder_of_day.glob("*.records.arrow"))
        rejects = sorted(folder_of_day.glob("*.rejects.arrow"))
        spans = _spans((records, rejects), config.batch_rows)
        for low, high in _ranges(spans, config.batch_rows):
            rec = _merge(_within(records, spans, low, high), low, high, order, coverage, counts, wanted, RECORD_COLUMNS,
                         config.tz)
            rej = _merge(_within(rejects, spans, low, high), low, high, order, coverage, counts, wanted, REJECT_COLUMNS,
                         config.tz)
            if wanted:
                yield DayBatch(day, rec, rej)
        shutil.rmtree(folder_of_day)


def _spans(kinds: Sequence[Sequence[Path]], batch_rows: int) -> dict[str, tuple[int, int, pl.Series]] | None:
    """Each piece's time span (microseconds) when the day holds more than `batch_rows` rows,
    records and rejects together (None: the day is merged whole), and where to cut it."""
    paths = [p for group in kinds for p in group]
    if sum(pl.scan_ipc(group).select(pl.len()).collect().item() for group in kinds if group) <= batch_rows:
        return None
    pieces = [_read(p, ["timestamp"])["timestamp"].dt.epoch("us") for p in paths]
    return {str(p): (piece.min(), piece.max(), piece) for p, piece in zip(paths, pieces)}


def _ranges(spans: dict | None, batch_rows: int) -> list[tuple[int | None, int | None]]:
    """Time ranges [low, high) (microseconds, None: open) of at most about `batch_rows` rows
    each, never cutting between rows of the same timestamp."""
    if spans is None:
        return [(None, None)]
    stamps = pl.concat([s for _, _, s in spans.values()]).sort()
    cuts = sorted({c for c in stamps.gather(range(batch_rows, stamps.len(), batch_rows)).to_list() if c > stamps[0]})
    bounds = [None, *cuts, None]
    return list(zip(bounds[:-1], bounds[1:]))


def _within(paths: Sequence[Path], spans: dict | None, low: int | None, high: int | None) -> list[Path]:
    """The pieces that can hold rows of [low, high) (all of them when the day is not cut)."""
    if spans is None:
        return list(paths)
    return [p for p in paths if (low is None or spans[str(p)][1] >= low) and (high is None or spans[str(p)][0] < high)]


def _merge(paths: Sequence[Path], low: int | None, high: int | None, order: dict[str, int],
           coverage: JournalCoverage, counts: ParseCounts, wanted: bool, columns: Sequence[str],
           tz: str) -> pl.DataFrame | None:
    """The deduplicated rows of one range (None when only counted), counted into `counts`."""
    is_records = columns is RECORD_COLUMNS
    narrow = _COUNTED if is_records else (*_COUNTED, "reason")
    rows, removed = deduplicate(_load(paths, low, high, None if wanted else narrow), order, coverage)
    height = 0 if rows is None else rows.height
    if is_records:
        counts.duplicates_removed += removed
        counts.record_count += height
    else:
        counts.reject_duplicates_removed += removed
        counts.reject_count += height
        counts.reasons.update(Counter(dict(rows["reason"].value_counts().iter_rows())) if height else {})
    return finish(rows, columns, tz) if wanted else None


def _load(paths: Sequence[Path], low: int | None, high: int | None, columns: Sequence[str] | None) -> pl.DataFrame | None:
    """The pieces' rows in reading order (files, then chunks, then lines), within [low, high)."""
    stamp = pl.col("timestamp").dt.epoch("us")
    frames = []
    for path in paths:
        frame = _read(path, columns)
        if low is not None:
            frame = frame.filter(stamp >= low)
        if high is not None:
            frame = frame.filter(stamp < high)
        frames.append(frame)
    rows = pl.concat(frames) if frames else None
    return rows if rows is not None and rows.height else None


def _read(path: Path, columns: Sequence[str] | None) -> pl.DataFrame:
    """One piece; a chunk moved as it was gets its times from the file beside it."""
    times = path.with_name(path.name.removesuffix(".arrow") + ".times.arrow")
    frame = pl.read_ipc(path, columns=columns)
    return frame.with_columns(pl.read_ipc(times).to_series()) if times.exists() else frame
