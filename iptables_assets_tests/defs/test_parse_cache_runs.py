"""The parse cache in runs: a host added to a fleet re-reads only its own logs, later runs link
the files parsed before, and the stored days are the bytes a run without a cache stores."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl

import graph
from graph import asset
from iptables_assets.ingest import parse_cache
from iptables_assets.sample import generate_logs

log_file_inventory = asset("log_file_inventory")
firewall = asset("firewall_events")
START = date(2026, 2, 1)
DAYS = 9


def _run(logs: Path, out: Path, first: date, last: date) -> dict:
    """Inventory, then one run for the days; the firewall step's metadata."""
    resources = graph.resources(str(logs), str(out))
    assert graph.materialize([log_file_inventory], resources=resources).success
    tags = {"dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat()}
    result = graph.materialize([log_file_inventory, firewall], selection=[firewall], resources=resources, tags=tags)
    assert result.success
    (materialization, *_) = [e for e in result.get_asset_materialization_events()
                             if e.asset_key == dg.AssetKey("firewall_events")]
    return {k: v.value for k, v in materialization.materialization.metadata.items()}


def _stored(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes()
            for name in ("firewall_events", "firewall_rejects") for p in sorted((out / name).glob("*.parquet"))}


def test_adding_a_host_reads_only_its_files(tmp_path):
    logs = tmp_path / "logs"
    generate_logs(logs / "remote" / "web01", days=DAYS, seed=1, start=START, events_per_day=150, host="web01")
    first, last = START, START + timedelta(days=DAYS - 1)
    out = tmp_path / "out"
    before = _run(logs, out, first, last)
    old_files = sorted(p.relative_to(logs).as_posix() for p in (logs / "remote" / "web01").glob("[!g]*"))
    assert before["files_from_parse_cache"] == 0

    generate_logs(logs / "remote" / "web02", days=DAYS, seed=2, start=START, events_per_day=150, host="web02")
    after = _run(logs, out, first, last)
    # every file of web01 came from the cache: none of them was read again
    assert after["files_from_parse_cache"] == len(old_files) > 0
    events = pl.read_parquet(out / "firewall_events" / f"{START + timedelta(days=3)}.parquet")
    assert sorted(events["host"].unique()) == ["web01", "web02"]

    fresh = tmp_path / "fresh"
    _run(logs, fresh, first, last)
    assert _stored(out) == _stored(fresh)


def test_the_inventory_prunes_entries_of_files_gone_or_changed(tmp_path):
    logs = tmp_path / "logs"
    generate_logs(logs, days=3, seed=4, start=START, events_per_day=100)
    out = tmp_path / "out"
    _run(logs, out, START, START + timedelta(days=2))
    cache = parse_cache.folder_for(out)
    entries = {p.name for p in cache.iterdir()}
    assert len(entries) == len([p for p in logs.iterdir() if p.name != "ground_truth.json"])
    (logs / "kern.log").unlink()
    resources = graph.resources(str(logs), str(out))
    assert graph.materialize([log_file_inventory], resources=resources).success
    assert len({p.name for p in cache.iterdir()}) == len(entries) - 1
    assert {p.name for p in cache.iterdir()} < entries
