"""Peak memory and time of a whole backfill through the real command, for several window lengths.

Generates logs (once per setting, cached under benchmarks/_work/backfill/) with
`iptables-assets generate --days N --events-per-day E`, then runs `iptables-assets run` on them
in a fresh process with a fresh output folder and instance, and reports wall time, the stage
times the run prints, and the peak RSS of the whole process tree (`os.wait4`: the run and the
step processes it waited for). Memory should be flat in the window length.

    .venv/bin/python benchmarks/backfill_benchmark.py --days 30,120 --events-per-day 25000
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from harness import CLI, REPO, WORK as WORK_ROOT, cold_figures, machine_info, measure

WORK = WORK_ROOT / "backfill"
TARGET_PEAK_RSS_BYTES = 2e9


def logs_for(days: int, per_day: int, seed: int):
    """Generated logs of `days` days (made once, then reused)."""
    folder = WORK / f"logs-{days}d-{per_day}e-s{seed}"
    if not (folder / "ground_truth.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        run = measure([str(CLI), "generate", "--out", str(folder), "--days", str(days), "--seed", str(seed),
                       "--events-per-day", str(per_day)], stdout=subprocess.DEVNULL)
        if not run.ok:
            sys.exit(f"generating {folder} failed")
    return folder


def backfill(days: int, per_day: int, seed: int) -> dict:
    """One `iptables-assets run` over the whole window, measured."""
    return {"days": days, **measured_run(logs_for(days, per_day, seed), f"{days}d")}


def measured_run(logs: Path, name: str, env: dict | None = None, args: Sequence[str] = (),
                 out: Path | None = None) -> dict:
    """`iptables-assets run` on `logs` into a fresh output folder and instance (named `name`), or
    into the existing output `out` of an earlier run (and its instance), measured: ok, wall time,
    peak RSS of the process tree, events, the stage times it prints."""
    if out is None:
        out, home = WORK / f"out-{name}", WORK / f"home-{name}"
        for folder in (out, home):
            shutil.rmtree(folder, ignore_errors=True)
        home.mkdir(parents=True)
        shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    else:
        home = WORK / f"home-{out.name.removeprefix('out-')}"
    log = WORK / f"run-{name}.log"
    env = {**cold_figures(os.environ), "DAGSTER_HOME": str(home), **(env or {})}
    with open(log, "w") as handle:
        run = measure([str(CLI), "run", "--logs", str(logs), "--out", str(out), *args], stdout=handle, stderr=handle,
                      env=env)
    text = log.read_text()
    stages = re.search(r"stage seconds: (\{.*\})", text)
    events = re.search(r"\] events: (\d+)", text)
    return {"ok": run.ok and "success: True" in text, "wall_s": run.wall_s,
            "peak_rss": run.maxrss_bytes, "events": int(events.group(1)) if events else 0,
            "stages": ast.literal_eval(stages.group(1)) if stages else {}, "log": str(log), "out": str(out)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", default="30,120", help="comma-separated window lengths")
    parser.add_argument("--events-per-day", type=int, default=25_000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    print("\n".join(machine_info("dagster")))
    rows = [backfill(int(d), args.events_per_day, args.seed) for d in args.days.split(",")]
    print("\n| days | events | wall | peak RSS (process tree) | stages (s) |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['days']} | {r['events']:,} | {r['wall_s']:.1f} s | {r['peak_rss'] / 1e6:,.0f} MB "
              f"| {r['stages']} |" + ("" if r["ok"] else f" FAILED, see {r['log']}"))
    worst = max(r["peak_rss"] for r in rows)
    flat = worst / max(1, min(r["peak_rss"] for r in rows))
    print(f"\npeak RSS < {TARGET_PEAK_RSS_BYTES / 1e9:.0f} GB: {'PASS' if worst < TARGET_PEAK_RSS_BYTES else 'MISS'}"
          f" ({worst / 1e6:,.0f} MB); largest/smallest window: {flat:.2f}x")
    return 0 if all(r["ok"] for r in rows) and worst < TARGET_PEAK_RSS_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
