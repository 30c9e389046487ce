"""The project's Dagster definitions for tests: built from settings as `dagster dev` builds them."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from iptables_assets.defs.definitions import build_assets, build_definitions
from iptables_assets.settings import Settings

# Partitions wide enough for every test's logs (generated ones start in 2019 at the earliest).
TEST_START = "2018-01-01"


def definitions(logs: Path | str, out: Path | str, **overrides) -> dg.Definitions:
    """The definitions for these folders, the environment's settings and `overrides`."""
    overrides.setdefault("start_date", TEST_START)
    return build_definitions(Settings.from_environment(log_dir=str(logs), out_dir=str(out), **overrides))


def resources(logs: Path | str, out: Path | str, **overrides) -> dict:
    """The resources (and IO manager) of those definitions."""
    return definitions(logs, out, **overrides).resources


def asset(name: str, logs: Path | str = "logs", out: Path | str = "out") -> dg.AssetsDefinition:
    """The assets definition that makes asset `name` (a multi-asset for its outputs), unbound:
    `dg.materialize` gets the resources."""
    config = Settings.from_environment(log_dir=str(logs), out_dir=str(out), start_date=TEST_START)
    (found,) = [a for a in build_assets(config) if dg.AssetKey(name) in a.keys]
    return found


def partitions(logs: Path | str = "logs", out: Path | str = "out") -> dg.PartitionsDefinition:
    """The daily partitions of the test definitions."""
    return asset("firewall_events", logs, out).partitions_def
