"""``generate_logs``: the whole synthetic ``/var/log`` folder (simulate, render, rotate) plus its ground truth."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import os
from pathlib import Path
from typing import Sequence

from iptables_assets.sample.events import US, Simulation
from iptables_assets.sample.fleet_visits import Visit
from iptables_assets.sample.ground_truth import build_truth
from iptables_assets.sample.journal import write_journal
from iptables_assets.sample.rendering import render_lines
from iptables_assets.sample.rotation import FAMILIES, FileInfo, write_family
from iptables_assets.sample.simulation import simulate
from iptables_assets.sample.world import Rng


SOURCES = ("text", "journal", "both")  # what the host keeps: rsyslog's text files, the journal, or both


def generate_logs(out_dir: str | Path, days: int, seed: int, start: dt.date | None = None,
                  events_per_day: int = 2000, host: str = "gw01", tz: str = "UTC", sources: str = "text",
                  journal_from: dt.date | None = None, digest_plants: bool = False) -> dict:
    """Write a synthetic /var/log-like directory and its ground truth; return the truth dict.
    With a journal (`sources`), `journal_from` is its first day (default: the logs' first).
    `digest_plants`: plant what the daily digest must find, truth under `digest` (30 days or more)."""
    return generate_host(out_dir, days, seed, start, events_per_day, host, tz, sources=sources,
                         journal_from=journal_from, digest_plants=digest_plants)[0]


def generate_host(out_dir: str | Path, days: int, seed: int, start: dt.date | None, events_per_day: int,
                  host: str, tz: str, visits: Sequence[Visit] = (), sources: str = "text",
                  journal_from: dt.date | None = None, digest_plants: bool = False) -> tuple[dict, Simulation]:
    """``generate_logs`` that also takes a fleet's visits and hands back the simulation (the fleet's
    truth is counted from its events, like the host's). `sources` (SOURCES) says whether the
    host keeps text files, a journal (`journal.write_journal`) or both; the events are the same."""
    if sources not in SOURCES:
        raise ValueError(f"sources {sources!r}: use one of {', '.join(SOURCES)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with _gc_paused():
        sim = simulate(days, seed, start, events_per_day, host, tz, visits, digest_plants)
        rendered = render_lines(sim, host)
    rng = Rng(f"{seed}:files")  # mtimes: independent of how much the simulation drew
    files: dict[str, FileInfo] = {}
    for family in FAMILIES if sources != "journal" else ():
        files.update(write_family(out, family, rendered, sim, rng))
    if sources != "text":
        since = sim.bounds[sim.dates.index(journal_from)] if journal_from in sim.dates else 0
        write_journal(out, sim, host, since)
    truth = build_truth(sim, files)
    write_json(out / "ground_truth.json", truth, sim.bounds[-1] // US)
    return truth, sim


def write_json(path: Path, data: dict, mtime: int) -> None:
    """A truth file, its mtime the end of the window (never the clock), so the bytes and stamps repeat."""
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.utime(path, (mtime, mtime))


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
