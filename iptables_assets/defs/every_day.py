"""How a whole-history asset reads a daily table: every stored day (`EVERY_DAY`), concatenated,
with the days present and those missing inside their span (`history`)."""

from datetime import date

import dagster as dg
import polars as pl

from iptables_assets.days import days_between
from iptables_assets.defs.table_checks import empty

EVERY_DAY = dg.AssetIn(metadata={"allow_missing_partitions": True})  # a whole history reads the days there are


def history(asset: str, days: dict, columns: list[str] | None = None) -> tuple[pl.DataFrame, list[date], list[date]]:
    """Every stored day of a daily table as one frame (only `columns` if given; typed and empty
    without days), the days present, and the days missing inside the window they span
    (reported, never silently skipped)."""
    present = sorted(date.fromisoformat(key) for key in days)
    if not present:
        frame = empty(asset)
        return (frame.select(columns) if columns else frame), [], []
    frames = [days[d.isoformat()] for d in present]
    if isinstance(frames[0], pl.LazyFrame):
        frames = [f.select(columns).collect() if columns else f.collect() for f in frames]
    stored_days = set(present)
    missing = [d for d in days_between(present[0], present[-1]) if d not in stored_days]
    return pl.concat(frames, how="vertical_relaxed"), present, missing
