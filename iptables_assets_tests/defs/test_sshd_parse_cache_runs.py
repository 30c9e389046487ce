"""The sshd step reads through the parse cache: after a run, a day run (as `run --fan-out day`
starts one per day) or a re-run links every sshd file instead of reading it again, the
inventory keeps those entries, and the stored days are the bytes of a run without a cache."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import dagster as dg

import graph
from graph import asset
from iptables_assets.ingest.records import sshd
from iptables_assets.sample import generate_logs

log_file_inventory = asset("log_file_inventory")
sshd_events = asset("sshd_events")
START = date(2026, 2, 1)
DAYS = 6


def _run(logs: Path, out: Path, first: date, last: date) -> dict:
    """Inventory, then one sshd run for the days; the sshd step's metadata."""
    resources = graph.resources(str(logs), str(out))
    assert graph.materialize([log_file_inventory], resources=resources).success
    tags = {"dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat()}
    result = graph.materialize([log_file_inventory, sshd_events], selection=[sshd_events], resources=resources,
                               tags=tags)
    assert result.success
    (materialization, *_) = [e for e in result.get_asset_materialization_events()
                             if e.asset_key == dg.AssetKey("sshd_events")]
    return {k: v.value for k, v in materialization.materialization.metadata.items()}


def test_day_runs_after_a_run_read_no_sshd_file_again(tmp_path, monkeypatch):
    logs = tmp_path / "logs"
    generate_logs(logs, days=DAYS, seed=7, start=START, events_per_day=150)
    reads: list[str] = []
    real = sshd._read_file

    def counting(file, *args):
        reads.append(file.relative)
        return real(file, *args)

    monkeypatch.setattr(sshd, "_read_file", counting)
    out = tmp_path / "out"
    first = _run(logs, out, START, START + timedelta(days=DAYS - 1))
    assert first["files_from_parse_cache"] == 0 and reads
    read_once = len(reads)
    for day in (START + timedelta(days=2), START + timedelta(days=3)):
        again = _run(logs, out, day, day)
        assert again["files_from_parse_cache"] > 0
        assert again["lines_read"] == first["lines_read"]
    assert len(reads) == read_once  # every sshd file came from the cache

    fresh = tmp_path / "fresh"
    _run(logs, fresh, START, START + timedelta(days=DAYS - 1))
    stored = {p.name: p.read_bytes() for p in sorted((out / "sshd_events").glob("*.parquet"))}
    assert stored == {p.name: p.read_bytes() for p in sorted((fresh / "sshd_events").glob("*.parquet"))}
