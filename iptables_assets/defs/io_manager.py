"""The only reader and writer of asset data: Parquet files on a UPath base (a local folder, or
`s3://…`/`gs://…` with fsspec), `<base>/<asset>.parquet` or `<base>/<asset>/<day>.parquet`,
each with a SHA-256 sidecar checked before a byte is used (see `storage`).

An input is loaded as what its parameter is annotated with: `pl.DataFrame` (the default),
`pl.LazyFrame` (scanned, for reading a long history a day at a time) or `pd.DataFrame` (for
analysts who write their own assets in pandas); a range of daily partitions as
`dict[str, <one of those>]` keyed by day.
"""

from __future__ import annotations

import io
import typing
from typing import Any

import dagster as dg
import pandas as pd
import polars as pl
from upath import UPath

from iptables_assets import storage
from iptables_assets.defs import table_checks
from iptables_assets.spill import Spilled

LOADERS = {pl.DataFrame, pl.LazyFrame, pd.DataFrame}


class TableIOManager(dg.UPathIOManager):
    """Stores frames as Parquet, written atomically with a checksum, and says their columns.

    A run that materialises several partitions at once (single-run backfills) returns a dict
    {partition key: DataFrame}; each partition is written to its own file.
    """

    extension: str = ".parquet"

    def __init__(self, base_path: UPath, timezone: str):
        super().__init__(base_path=base_path)
        self.timezone = timezone

    def dump_to_path(self, context: dg.OutputContext, obj, path: UPath) -> None:
        """Store a polars or pandas frame, or a frame a step spilled to scratch (then removed; one
        spilled as stored data is copied, not decoded and encoded again)."""
        if isinstance(obj, Spilled) and obj.stored_form:
            storage.write_verified_bytes(path, obj.path.read_bytes())
        else:
            frame = obj.read() if isinstance(obj, Spilled) else pl.from_pandas(obj) if isinstance(obj, pd.DataFrame) else obj
            storage.write_parquet(path, frame)
        if isinstance(obj, Spilled):
            obj.discard()

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if obj is None:  # an asset that only writes files (frames): nothing to store
            return None
        table = table_checks.table_of(context.asset_key.to_user_string())
        if table:
            context.add_output_metadata({"dagster/column_schema": table_checks.column_schema(table, self.timezone)})
        if not (context.has_asset_partitions and isinstance(obj, dict)):
            return super().handle_output(context, obj)
        paths = self._get_paths_for_partitions(context)
        missing = set(paths) - set(obj)
        if missing:
            raise dg.Failure(f"output for {context.asset_key.to_user_string()} lacks partitions {sorted(missing)}")
        for key, path in paths.items():
            self.make_directory(path.parent)
            self.dump_to_path(context=context, obj=obj[key], path=path)
        context.add_output_metadata({"path": dg.MetadataValue.path(str(next(iter(paths.values())).parent))})

    def load_from_path(self, context: dg.InputContext, path: UPath):
        """The stored frame as the input asks for it, verified first: damage fails the step
        naming what to re-materialise (a missing file stays FileNotFoundError)."""
        kind = _loaded_as(context)
        try:
            if kind is pl.DataFrame:
                return storage.read_parquet(path, warn=context.log.warning)
            data = storage.verified_bytes(path, warn=context.log.warning)
        except storage.DamagedData as error:
            raise damaged(error, context.asset_key.to_user_string(), _partition_of(context, path)) from error
        if kind is pd.DataFrame:
            return pd.read_parquet(io.BytesIO(data))
        return pl.scan_parquet(str(path))  # verified above; scanned when the step collects it

    def load_partitions(self, context: dg.InputContext):
        """The input's partitions as {day: frame} (one listing of the folder: days never
        materialised are left out when the input allows it, else named in the error), or one
        frame when a partitioned step asks for its one day and is not annotated with a dict."""
        paths = self._get_paths_for_partitions(context)
        allowed = (context.definition_metadata or {}).get("allow_missing_partitions", False)
        folder = next(iter(paths.values())).parent
        stored = {p.name for p in folder.iterdir()} if folder.exists() else set()
        absent = sorted(key for key, path in paths.items() if path.name not in stored)
        if absent and not allowed:
            raise FileNotFoundError(f"{context.asset_key.to_user_string()} has no partition "
                                    f"{', '.join(absent[:5])}{' …' if len(absent) > 5 else ''}: materialise it first")
        frames = {key: self.load_from_path(context, path) for key, path in paths.items() if key not in absent}
        if len(paths) == 1 and context.has_partition_key and not _wants_dict(context):
            return next(iter(frames.values()))
        return frames


def _wants_dict(context: dg.InputContext) -> bool:
    typing_type = context.dagster_type.typing_type
    return typing.get_origin(typing_type) is dict


def _loaded_as(context: dg.InputContext) -> type:
    """pl.DataFrame, pl.LazyFrame or pd.DataFrame, from the input's annotation."""
    typing_type = context.dagster_type.typing_type
    if typing.get_origin(typing_type) is dict:
        typing_type = typing.get_args(typing_type)[1]
    return typing_type if typing_type in LOADERS else pl.DataFrame


class TableIOManagerFactory(dg.ConfigurableIOManagerFactory):
    """Where asset values live: a local folder, or `s3://…`/`gs://…` with the fsspec extra."""

    base_path: str
    timezone: str = "UTC"

    def create_io_manager(self, context) -> TableIOManager:
        return TableIOManager(base_path=UPath(self.base_path), timezone=self.timezone)


def _partition_of(context: dg.InputContext, path: UPath) -> str | None:
    """The partition a file holds: its stem in the `<asset>/<partition>.parquet` layout."""
    return path.stem if context.has_asset_partitions else None


def damaged(error: storage.DamagedData, asset: str, partition: str | None) -> dg.Failure:
    """A failure naming the damaged file, the asset and the partition to re-materialise."""
    what = f"{asset} partition {partition}" if partition else asset
    return dg.Failure(
        description=(
            f"stored data of {what} is damaged ({error.path}: {error.reason}); "
            f"re-materialise {'that partition' if partition else 'that asset'}"
        ),
        metadata={
            "path": dg.MetadataValue.path(str(error.path)),
            "asset": asset,
            "partition": partition or "",
            "reason": error.reason,
        },
    )

