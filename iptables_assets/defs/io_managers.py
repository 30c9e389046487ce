"""Parquet IO manager on a UPath base (local folder by default; object storage with fsspec)."""

from __future__ import annotations

from typing import Any

import dagster as dg
import polars as pl
from upath import UPath

from ..atomic import write_atomic


class PolarsParquetIOManager(dg.UPathIOManager):
    """Stores polars DataFrames as `<base>/<asset key>/<partition>.parquet`, written atomically.

    A run that materialises several partitions at once (single-run backfills) returns a dict
    {partition key: DataFrame}; each partition is written to its own file.
    """

    extension: str = ".parquet"

    def dump_to_path(self, context: dg.OutputContext, obj: pl.DataFrame, path: UPath) -> None:
        write_atomic(path, lambda handle: obj.write_parquet(handle, compression="zstd", statistics=True))

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pl.DataFrame:
        with path.open("rb") as handle:
            return pl.read_parquet(handle)

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
