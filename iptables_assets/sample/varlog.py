"""``generate_logs``: the whole synthetic ``/var/log`` folder (simulate, render, rotate) plus its ground truth."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import os
from pathlib import Path

from iptables_assets.sample.events import US
from iptables_assets.sample.ground_truth import build_truth
from iptables_assets.sample.rendering import render_lines
from iptables_assets.sample.rotation import FAMILIES, FileInfo, write_family
from iptables_assets.sample.simulation import simulate
from iptables_assets.sample.world import Rng


def generate_logs(out_dir: str | Path, days: int, seed: int, start: dt.date | None = None,
                  events_per_day: int = 2000, host: str = "gw01", tz: str = "UTC") -> dict:
    """Write a synthetic /var/log-like directory and its ground truth; return the truth dict."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with _gc_paused():
        sim = simulate(days, seed, start, events_per_day, host, tz)
        rendered = render_lines(sim, host)
    rng = Rng(f"{seed}:files")  # mtimes: independent of how much the simulation drew
    files: dict[str, FileInfo] = {}
    for family in FAMILIES:
        files.update(write_family(out, family, rendered, sim, rng))
    truth = build_truth(sim, files)
    truth_path = out / "ground_truth.json"
    truth_path.write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    os.utime(truth_path, (sim.bounds[-1] // US,) * 2)
    return truth


@contextlib.contextmanager
def _gc_paused():
    """Hundreds of thousands of acyclic objects: cyclic GC passes would only cost time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
