"""The project's Dagster definitions for tests: built from settings as `dagster dev` builds them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

import dagster as dg

from iptables_assets.defs import partitions as log_days
from iptables_assets.defs.definitions import build_assets, build_definitions
from iptables_assets.settings import Settings


def definitions(logs: Path | str, out: Path | str, **overrides) -> dg.Definitions:
    """The definitions for these folders, the environment's settings and `overrides`."""
    return build_definitions(Settings.from_environment(log_dir=str(logs), out_dir=str(out), **overrides))


def resources(logs: Path | str, out: Path | str, **overrides) -> dict:
    """The resources (and IO manager) of those definitions."""
    return definitions(logs, out, **overrides).resources


def asset(name: str, logs: Path | str = "logs", out: Path | str = "out") -> dg.AssetsDefinition:
    """The assets definition that makes asset `name` (a multi-asset for its outputs), unbound:
    `dg.materialize` gets the resources."""
    config = Settings.from_environment(log_dir=str(logs), out_dir=str(out))
    (found,) = [a for a in build_assets(config) if dg.AssetKey(name) in a.keys]
    return found


def partitions(logs: Path | str = "logs", out: Path | str = "out") -> dg.PartitionsDefinition:
    """The daily partitions of the test definitions."""
    return asset("firewall_events", logs, out).partitions_def


def stored_days(out: Path | str) -> list[date]:
    """The days an output folder holds parsed events of (what a run added to its instance)."""
    return sorted(date.fromisoformat(p.stem) for p in (Path(out) / "firewall_events").glob("*.parquet"))


def materialize(assets, *, days: Iterable[date | str] = (), instance: dg.DagsterInstance | None = None,
                **kwargs) -> dg.ExecuteInProcessResult:
    """`dg.materialize` on `instance` (an ephemeral one by default) that knows the daily
    partitions asked for and `days`, as the inventory, the sensor or a run would have added them."""
    if instance is None:
        with dg.DagsterInstance.ephemeral() as ephemeral:  # entered: it is the current instance while it runs
            return materialize(assets, days=days, instance=ephemeral, **kwargs)
    wanted = [date.fromisoformat(str(d)) for d in days]
    tags = kwargs.get("tags") or {}
    for key in (kwargs.get("partition_key"), tags.get("dagster/asset_partition_range_start"),
                tags.get("dagster/asset_partition_range_end")):
        if key:
            wanted.append(date.fromisoformat(key))
    log_days.add_days(instance, wanted)
    return dg.materialize(assets, instance=instance, **kwargs)
