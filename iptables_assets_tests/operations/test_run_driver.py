"""Issue 24, the run driver (`defs/run/`): the logs are inventoried once a run, by the inventory
asset, and the run prints that asset's warnings in its own words; a run that stops names the
stage; the stages' lines come in their order."""

from __future__ import annotations

import gzip
import os
import re
from datetime import date, datetime, timezone

import pytest

from iptables_assets.defs.run import driver
from iptables_assets.ingest.files import inventory
from iptables_assets.sample import generate_logs


@pytest.fixture(scope="module")
def logs_with_a_damaged_file(tmp_path_factory):
    """Three days of generated logs and a cut gzip copy of another host's log beside them."""
    logs = tmp_path_factory.mktemp("driver") / "logs"
    generate_logs(logs, days=3, seed=5, start=date(2025, 3, 1), events_per_day=60)
    lines = b"".join(b"Mar  2 10:%02d:00 other kernel: [UFW BLOCK] IN=eth0 OUT= SRC=192.0.2.%d DST=198.51.100.9 "
                     b"PROTO=TCP SPT=40000 DPT=%d\n" % (i % 60, i % 250 + 1, 1000 + i) for i in range(3000))
    packed = gzip.compress(lines)
    (logs / "other").mkdir()
    cut = logs / "other" / "kern.log.2.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    moment = datetime(2025, 3, 3, tzinfo=timezone.utc).timestamp()  # rotated then: its lines are of 2025
    os.utime(cut, (moment, moment))
    return logs


def test_the_logs_are_inventoried_once_and_its_warnings_said_once(logs_with_a_damaged_file, tmp_path, monkeypatch,
                                                                     capsys):
    refreshed = []
    real = inventory.refresh
    monkeypatch.setattr(inventory, "refresh", lambda *a, **k: refreshed.append(1) or real(*a, **k))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    summary = driver.run_everything(logs_with_a_damaged_file, tmp_path / "out", None, None)
    said = capsys.readouterr().out
    assert summary["success"] and summary["days"] == 3
    assert len(refreshed) == 1
    damaged = "other/kern.log.2.gz"  # relative to --logs
    assert list(summary["damaged files"]) == [damaged]
    warnings = [line for line in said.splitlines() if "warning: damaged log file" in line]
    assert len(warnings) == 1 and warnings[0].split("] ", 1)[1].startswith(f"warning: damaged log file {damaged}: ")
    stages = [re.sub(r"^\[[0-9:]+\] ", "", line) for line in said.splitlines()]
    order = ["inventory of", "days 2025-03-01..2025-03-03 in the logs; materialising 2025-03-01..2025-03-03",
             "per-day assets done (ok)", "whole-history assets and figures",
             "whole-history assets done (ok); animation frames of 2025-03-01..2025-03-03",
             "frames done (ok); GIFs and journal", "success: True"]
    positions = [next(i for i, line in enumerate(stages) if line.startswith(start)) for start in order]
    assert positions == sorted(positions)
    assert summary["stage seconds"].keys() == {"inventory", "per-day assets", "whole history and figures",
                                               "animation frames", "GIFs and journal"}


def test_a_stage_that_fails_stops_the_run_naming_it(logs_with_a_damaged_file, tmp_path, monkeypatch, capsys):
    """The inventory asset cannot write its output: the run stops at the inventory, in one line."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "log_file_inventory.parquet").mkdir()  # a folder where the stored table must go
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    summary = driver.run_everything(logs_with_a_damaged_file, out, None, None)
    captured = capsys.readouterr()
    assert summary["success"] is False and summary["stopped at"] == "inventory"
    stopped = captured.err.strip().splitlines()[-1]  # after Dagster's own one-line error
    assert stopped.startswith("iptables-assets: stopped: inventory failed: ")
    assert stopped.endswith("log_file_inventory.parquet': Is a directory (run "
                            f"{summary['failed runs']}; its event log has the details)")
    assert "per-day assets" not in captured.out
