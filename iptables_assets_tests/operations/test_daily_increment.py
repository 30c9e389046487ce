"""The daily run: `iptables-assets run --from D --to D` on an existing output redraws D's frame from
the stored static parts, brings the GIFs up to date from the last ones, and publishes exactly what
the full run published."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from iptables_assets.settings import SETTINGS
from published import published

pytestmark = pytest.mark.slow


def test_a_one_day_run_in_process_publishes_the_full_runs_bytes(journal_run, tmp_path):
    """On a copy of the suite's shared full run (45 days, its output folder and Dagster home)."""
    shared, truth, _output = journal_run
    shutil.copytree(shared, tmp_path / "out", symlinks=True)
    shutil.copytree(shared.parent / "home", tmp_path / "home", symlinks=True)
    cli = [str(Path(sys.executable).parent / "iptables-assets"), "run", "--logs", str(shared.parent / "logs"),
           "--out", str(tmp_path / "out")]
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    env.pop(SETTINGS["figure_cache"].variable)  # the default place, <out>/_cache/static (as journal_run), checked below
    before = published(tmp_path / "out")
    last = truth["days"][-1]
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
