"""Files' rows -> one set of records and one of rejects: each event counted once across
files (rotated copies, `messages` + `kern.log`), final columns, sorted."""

from __future__ import annotations

from typing import Sequence

import polars as pl

from iptables_assets.ingest.files.journal_coverage import JournalCoverage, coverage_of, without_covered
from iptables_assets.ingest.parse_config import ParseConfig
from iptables_assets.ingest.records.firewall.parse_types import (
    RECORD_COLUMNS,
    REJECT_COLUMNS,
    FileParse,
    ParseResult,
    record_schema,
    reject_schema,
)


def combine(parsed: Sequence[FileParse], config: ParseConfig) -> ParseResult:
    """Deduplicate records and rejects across files (and text logs against the journal,
    `journal_coverage`) and give them their final columns."""
    coverage = coverage_of(parsed)
    order = {fp.file.relative: i for i, fp in enumerate(sorted(parsed, key=lambda fp: fp.file.relative))}
    records = [fp.records for fp in parsed if fp.records.height]
    rejects = [fp.rejects for fp in parsed if fp.rejects.height]
    weights = sum(int(fp.records["weight"].sum() or 0) for fp in parsed if fp.records.height)
    repeated_extra = weights - sum(fp.records.height for fp in parsed)
    for fp in parsed:  # the combined frame below is all that is kept of the records
        fp.records = fp.records.clear()
    rec, rec_removed = deduplicate(_concat(records), order, coverage)
    del records
    rej, rej_removed = deduplicate(_concat(rejects), order, coverage)
    tz = config.tz
    rec = finish(rec, RECORD_COLUMNS, tz)
    rej = finish(rej, REJECT_COLUMNS, tz)
    return ParseResult(
        records=rec,
        rejects=rej,
        files=list(parsed),
        duplicates_removed=rec_removed,
        reject_duplicates_removed=rej_removed,
        repeated_extra=repeated_extra,
    )


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame | None:
    return pl.concat(frames, how="diagonal_relaxed") if frames else None


def deduplicate(rows: pl.DataFrame | None, file_order: dict[str, int],
                coverage: JournalCoverage | None = None) -> tuple[pl.DataFrame | None, int]:
    """Count each event once: a message seen k times in one file and j times in another is
    max(k, j) events (weights: `message repeated N times` counts N), and text-log lines of a
    moment a journal covers not at all (`journal_coverage`). Returns rows expanded to one per
    event, and the number of events removed as duplicates."""
    if rows is None:
        return None, 0
    rows, covered = without_covered(rows, coverage)
    key = ["timestamp", "__msg_hash"]  # the hash covers host, program and message
    rows = rows.with_columns(
        pl.col("source_file").replace_strict(file_order, return_dtype=pl.Int64).alias("__file"),
    ).with_row_index("__row")
    # Lines without a readable header (no message hash) cannot be matched across files: keep each.
    rows = rows.with_columns(
        pl.coalesce(pl.col("msg_hash"), -1 - pl.col("__row").cast(pl.Int64)).alias("__msg_hash")
    )
    per_file = rows.group_by(key + ["__file"]).agg(
        pl.col("weight").sum().alias("__n"), pl.col("__row").min().alias("__first")
    )
    if rows["__file"].n_unique() == 1:  # one file: its counts are the events' (no second pass)
        per_event = per_file
    else:
        per_event = per_file.sort("__file").group_by(key, maintain_order=True).agg(
            pl.col("__n").max().alias("__n"), pl.col("__first").first().alias("__first")
        )
    total = int(rows["weight"].sum())
    kept = int(per_event["__n"].sum())
    if per_event.height == rows.height and total == rows.height:
        return rows.drop("__msg_hash", "__file", "__row"), covered
    # One row index per event: the first occurrence, repeated for its count, then one gather.
    indices = per_event.select(pl.col("__first").repeat_by(pl.col("__n")).explode().sort())["__first"]
    return rows.drop("__msg_hash", "__file", "__row")[indices], total - kept + covered


def finish(rows: pl.DataFrame | None, columns: Sequence[str], tz: str) -> pl.DataFrame:
    """Final schema: the public columns in order, timestamps in the logs' time zone, sorted."""
    if rows is None or rows.height == 0:
        return pl.DataFrame(schema=_schema(columns, tz))
    return sort_rows(with_columns_of(rows, columns, tz))


def _schema(columns: Sequence[str], tz: str) -> dict[str, pl.DataType]:
    return record_schema(tz) if columns is RECORD_COLUMNS else reject_schema(tz)


def with_columns_of(rows: pl.DataFrame, columns: Sequence[str], tz: str, extra: Sequence[str] = ()) -> pl.DataFrame:
    """The public `columns` in order with their declared types (absent ones null), timestamps in
    the logs' time zone, then the `extra` columns as they are (spill files keep what dedup needs)."""
    schema = _schema(columns, tz)
    present = set(rows.columns)
    return rows.select(
        *(pl.col(c).cast(schema[c]) if c in present else pl.lit(None, dtype=schema[c]).alias(c) for c in columns),
        *extra,
    ).with_columns(pl.col("timestamp").dt.convert_time_zone(tz))


def sort_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows in their published order: by time, then file and line."""
    order = ["timestamp", "source_file", "line_number"]
    if rows.select(_in_order(order)).item():  # usual for one file: skip a full copy
        return rows
    return rows.sort(order, maintain_order=True)


def _in_order(columns: Sequence[str]) -> pl.Expr:
    """True if rows are already sorted by `columns` (lexicographically, ascending)."""
    later = pl.lit(False)
    for c in reversed(columns):
        step = pl.col(c).shift(-1)
        later = (step > pl.col(c)) | ((step == pl.col(c)) & later)
        later = later.fill_null(True)
    return later.all()
