"""Parquet IO manager on a UPath base (local folder by default; object storage with fsspec)."""

from __future__ import annotations

from typing import Any

import dagster as dg
import polars as pl
from upath import UPath

from iptables_assets import storage


class PolarsParquetIOManager(dg.UPathIOManager):
    """Stores polars DataFrames as `<base>/<asset key>/<partition>.parquet`, written atomically
    with a SHA-256 sidecar that is checked before a file is read (see `storage`).

    A run that materialises several partitions at once (single-run backfills) returns a dict
    {partition key: DataFrame}; each partition is written to its own file.
    """

    extension: str = ".parquet"

    def dump_to_path(self, context: dg.OutputContext, obj: pl.DataFrame, path: UPath) -> None:
        storage.write_parquet(path, obj, compression="zstd", statistics=True)

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pl.DataFrame:
        """The stored frame, verified first: damage fails the step naming what to re-materialise
        (a missing file stays FileNotFoundError, which Dagster reports as a missing partition)."""
        try:
            return storage.read_parquet(path, warn=context.log.warning)
        except storage.DamagedData as error:
            raise damaged(error, context.asset_key.to_user_string(), _partition_of(context, path)) from error

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
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


class ParquetIOManagerResource(dg.ConfigurableIOManagerFactory):
    """Where asset values live: a local folder, or `s3://…`/`gs://…` with the fsspec extra."""

    base_path: str

    def create_io_manager(self, context) -> PolarsParquetIOManager:
        return PolarsParquetIOManager(base_path=UPath(self.base_path))


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
