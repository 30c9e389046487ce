"""Scratch Parquet files a step writes one day at a time, so a backfill of many days holds
about one day in memory; the IO manager then stores each as asset data and removes it.

A spill lives under `<output>/_spill/<run id>/`; the folders of runs that died are removed
by the next step that spills.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from iptables_assets import atomic, storage

SPILL_FOLDER = "_spill"


@dataclass(frozen=True)
class Spilled:
    """A frame waiting in a scratch file to be stored as asset data."""

    path: Path
    stored_form: bool = False  # the file holds the bytes of stored asset data (`storage.parquet_bytes`)

    def scan(self) -> pl.LazyFrame:
        return pl.scan_parquet(self.path)

    def read(self) -> pl.DataFrame:
        return pl.read_parquet(self.path)

    def discard(self) -> None:
        """Remove the file, and its scratch folders once they are empty."""
        self.path.unlink(missing_ok=True)
        try:
            os.removedirs(self.path.parent)  # stops at the first folder that is not empty
        except OSError:
            pass


def root(out_dir: str | Path) -> Path:
    """Where scratch folders live: beside the asset data, or in the temp folder when the data
    is on object storage."""
    if "://" in str(out_dir):
        return Path(tempfile.gettempdir()) / "iptables_assets" / SPILL_FOLDER
    return Path(out_dir) / SPILL_FOLDER


def folder(out_dir: str | Path, run_id: str) -> Path:
    """This run's scratch folder (created)."""
    path = root(out_dir) / run_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def spill(frame: pl.DataFrame, where: Path, name: str) -> Spilled:
    """Write `frame` to `where/name.parquet` as stored asset data will hold it, so that storing
    it is a copy (decoding and encoding it again cost ~2.5 ms a table and day)."""
    path = where / f"{name}.parquet"
    with atomic.naming(path):  # a full disk's error names this file, as every other write's does
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(storage.parquet_bytes(frame))
    return Spilled(path, stored_form=True)


def remove_others(out_dir: str | Path, live_run_ids: set[str]) -> list[str]:
    """Remove the scratch folders of runs that are not live (killed runs leave them behind)."""
    scratch = root(out_dir)
    removed = []
    for entry in sorted(scratch.iterdir()) if scratch.is_dir() else []:
        if entry.name not in live_run_ids:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed
