"""The daily run: `iptables-assets run --from D --to D` on an existing output redraws D's frame from
the stored static parts, brings the GIFs up to date from the last ones, and publishes exactly what
the full run published."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from iptables_assets.sample import generate_logs
from published import published

pytestmark = pytest.mark.slow


def test_a_one_day_run_in_process_publishes_the_full_runs_bytes(tmp_path):
    days = 9
    generate_logs(tmp_path / "logs", days=days, seed=17, start=date(2025, 9, 1), events_per_day=200)
    cli = [str(Path(sys.executable).parent / "iptables-assets"), "run", "--logs", str(tmp_path / "logs"),
           "--out", str(tmp_path / "out")]
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    full = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=900)
    assert full.returncode == 0, full.stderr[-3000:]
    before = published(tmp_path / "out")
    last = f"2025-09-{days:02d}"
    frame = tmp_path / "out" / "journal" / "frames" / "drops_map" / f"{last}.png"
    frame.unlink()  # the increment must draw it again, in this process
    again = subprocess.run([*cli, "--from", last, "--to", last], env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"materialising {last}..{last}" in again.stdout
    assert published(tmp_path / "out") == before
    static = sorted(p.name.rsplit("-", 1)[0] for p in (tmp_path / "out" / "_cache" / "static").glob("*.npz"))
    labels = [name for name in static if name.startswith("labels")]  # the tiles' and the frames' (other sizes)
    assert labels.count("labels1024") == 2 and len(labels) == 3
    assert [name for name in static if name not in labels] == ["countries-110m", "drops_map", "top_ports",
                                                               "well_known_ports"]
    records = sorted(p.name for p in (tmp_path / "out" / "_cache" / "gifs").glob("*.json"))
    assert records == ["drops_map.json", "top_ports.json", "well_known_ports.json"]
