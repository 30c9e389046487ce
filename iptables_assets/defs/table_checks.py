"""What Dagster shows and checks of the declared tables (`iptables_assets.tables`): the columns of
every stored asset in the UI, and a blocking schema check evaluated in the step that writes it."""

from __future__ import annotations

import dagster as dg
import polars as pl

from iptables_assets import tables
from iptables_assets.publish.catalog import FIGURE_ASSETS, FILMS
from iptables_assets.spill import Spilled

SCHEMA_CHECK = "matches_declared_schema"

# Assets stored under another table's declaration: every figure and film lists its files.
_STORED_AS = {**{name: "figure_list" for name in FIGURE_ASSETS},
              **{f"{film}_animation": "figure_list" for film in FILMS},
              **{f"{film}_frames": "film_frames" for film in FILMS}}


def table_of(asset: str) -> str | None:
    """The declared table an asset is stored as (None: the asset stores no table)."""
    name = _STORED_AS.get(asset, asset)
    return name if name in tables.TABLES else None


def column_schema(table: str, tz: str = "UTC") -> dg.TableSchema:
    """The table's columns, types and meanings, as the UI shows them."""
    return dg.TableSchema(columns=[
        dg.TableColumn(name, str(dtype), description=tables.FIELDS[name].description)
        for name, dtype in tables.schema(table, tz, optional=True).items()
    ])


def definition_metadata(asset: str) -> dict:
    """Metadata of the asset's definition: its columns, shown before it is ever materialised."""
    table = table_of(asset)
    return {"dagster/column_schema": column_schema(table)} if table else {}


def schema_check(asset: str) -> dg.AssetCheckSpec:
    """The blocking check that the asset's stored frames have the declared columns and types."""
    return dg.AssetCheckSpec(
        SCHEMA_CHECK, asset=asset, blocking=True,
        description=f"Columns and types are those declared for table {table_of(asset)} (iptables_assets.tables); "
                    "no key repeats.",
    )


def schema_result(asset: str, frames, tz: str | None = None) -> dg.AssetCheckResult:
    """The schema check of one frame or of {day: frame}: every problem, with the days it is on."""
    by_part = frames if isinstance(frames, dict) else {"": frames}
    found: dict[str, list[str]] = {}
    for part, frame in by_part.items():
        for problem in tables.problems(table_of(asset), _checkable(asset, frame), tz):
            found.setdefault(problem, []).append(str(part))
    return dg.AssetCheckResult(
        check_name=SCHEMA_CHECK,
        asset_key=dg.AssetKey(asset),
        passed=not found,
        description="; ".join(f"{p} ({', '.join(d[:3])})" if d != [""] else p for p, d in found.items()) or None,
        metadata={"problems": dg.MetadataValue.json({p: d[:20] for p, d in found.items()})},
    )


def _checkable(asset: str, frame):
    """A spilled frame as far as its check needs it: its columns alone when no key can repeat."""
    if not isinstance(frame, Spilled):
        return frame
    return frame.read() if tables.TABLES[table_of(asset)].key else pl.DataFrame(schema=frame.scan().collect_schema())


def stored(asset: str, value, metadata: dict, tz: str | None = None, checks=()):
    """The asset's value (one frame, or {day: frame} of a range) with its schema check and `checks`."""
    return dg.MaterializeResult(asset_key=asset, value=value, metadata=metadata,
                                check_results=[schema_result(asset, value, tz), *checks])


def empty(asset: str, tz: str = "UTC") -> pl.DataFrame:
    """The asset's table without rows."""
    return tables.empty(table_of(asset), tz)
