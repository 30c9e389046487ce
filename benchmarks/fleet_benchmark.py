"""How the cost of a fleet grows with its hosts and days: time per stage and peak RSS of the real
`iptables-assets run` over generated fleets (`generate --hosts N --days D`, a remote-logging
layout), the same events per host and day, each in a fresh output folder and instance, in one
process or (`--celery`) with every step on two Celery workers. Cost should grow linearly with
hosts × days; the table and a straight-line fit per stage say how it grows.

    .venv/bin/python benchmarks/fleet_benchmark.py --hosts 1,5,10,20 --days 30 --events-per-day 2000
    .venv/bin/python benchmarks/fleet_benchmark.py --hosts 1,5,10,20 --days 30 --events-per-day 2000 --celery
    .venv/bin/python benchmarks/fleet_benchmark.py --hosts 5 --days 15,30,60 --events-per-day 2000

One row per (hosts, days), measured one after the other; before each, the script waits (at most
`--load-wait` seconds) until the 1-minute load average is below `--max-load`, and records the
load before and after. A run is killed after `--timeout` seconds.

`--celery` (fleet_celery.py): for each row a fresh PostgreSQL database and instance
(`deploy/production/dagster.yaml`), Redis on a free port and the two workers of
`scripts/celery_workers.sh` on 127.0.0.1, started before the timing (their start-up is printed,
not counted), stopped after it, whatever happened; `iptables-assets run --executor celery`. Peak
RSS: the driver's process tree (`os.wait4`) and each worker's largest process (`VmHWM`). Needs
root (the database is made with `su postgres -c createdb`), redis-server and dagster-celery.
`--run-args` passes more options to `iptables-assets run`, `--label` names the variant.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys

from fleet_celery import WORK, CeleryWorkers, bounded_run, wait_for_load
from harness import CLI, load, machine_info, measure, source_fingerprint, warn_if_changed

FLEETS = WORK
# Column titles of the stages `iptables-assets run` prints ("stage seconds: {...}").
STAGES = {"inventory": "inventory", "per-day assets": "per-day", "whole history and figures": "history+figures",
          "animation frames": "frames", "GIFs and journal": "GIFs+journal"}


def fleet_logs(hosts: int, days: int, per_day: int, seed: int):
    """Generated logs of a fleet (made once, then reused)."""
    folder = FLEETS / f"logs-{hosts}h-{days}d-{per_day}e-s{seed}"
    if not (folder / "ground_truth.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        run = measure(["timeout", "-s", "KILL", "3600", str(CLI), "generate", "--out", str(folder), "--days",
                       str(days), "--seed", str(seed), "--events-per-day", str(per_day), "--hosts", str(hosts)],
                      stdout=subprocess.DEVNULL)
        if not run.ok:
            sys.exit(f"generating {folder} failed")
    return folder


def measure_fleet(hosts: int, days: int, args: argparse.Namespace) -> dict:
    """One row: the fleet's logs (generated first), a wait for a quiet machine, the measured run."""
    logs = fleet_logs(hosts, days, args.events_per_day, args.seed)
    name = f"{hosts}h-{days}d" + ("-celery" if args.celery else "")
    extra = shlex.split(args.run_args)
    row = {"hosts": hosts, "days": days}
    if args.celery:
        with CeleryWorkers(name) as workers:
            row["load_before"] = wait_for_load(args.max_load, args.load_wait)
            row |= bounded_run(logs, name, timeout=args.timeout, env=workers.env, home=workers.home,
                               args=["--executor", "celery", *extra])
            row["load_after"] = load()
        row |= {"workers": workers.worker_peaks(), "tasks": workers.tasks(), "start_s": workers.start_s}
    else:
        row["load_before"] = wait_for_load(args.max_load, args.load_wait)
        row |= bounded_run(logs, name, timeout=args.timeout, args=extra)
        row["load_after"] = load()
    print(f"{hosts} hosts × {days} days: {'ok' if row['ok'] else 'FAILED ' + row['note']}, "
          f"{row['wall_s']:.1f} s, {row['stages']}, driver {row['peak_rss'] / 1e6:,.0f} MB"
          + (f", workers {mb(row['workers'])} (steps {row['tasks']}; started in {row['start_s']:.1f} s)"
             if args.celery else "")
          + f", load {row['load_before']} → {row['load_after']}; log {row['log']}", flush=True)
    return row


def mb(peaks: dict[str, int]) -> str:
    return " / ".join(f"{b / 1e6:,.0f}" for b in peaks.values()) + " MB"


def fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least-squares line y = a + b·x: a, b and the largest |residual| relative to its y."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    a = my - b * mx
    worst = max((abs(y - a - b * x) / y if y else 0.0) for x, y in zip(xs, ys))
    return a, b, worst


def print_table(rows: list[dict], args: argparse.Namespace) -> None:
    celery = args.celery
    base = rows[0]
    print(f"\n{args.label}, {args.events_per_day:,} events a day per host\n")
    heads = ["hosts", "days", "events", *STAGES.values(), "wall", "µs/event", "wall per host-day ÷ first row's",
             "peak RSS" + (" driver / w1 / w2" if celery else ""), *(["steps w1 / w2"] if celery else []),
             "load before → after (1 min)"]
    print("| " + " | ".join(heads) + " |\n|" + "---|" * len(heads))
    for r in rows:
        per_event = r["wall_s"] / max(r["events"], 1) * 1e6
        growth = (r["wall_s"] / (r["hosts"] * r["days"])) / (base["wall_s"] / (base["hosts"] * base["days"]))
        stages = [f"{r['stages'][k]:.1f}" if k in r["stages"] else "–" for k in STAGES]
        rss = f"{r['peak_rss'] / 1e6:,.0f} MB"
        if celery:
            rss = f"{r['peak_rss'] / 1e6:,.0f} / {mb(r['workers'])}"
        cells = [str(r["hosts"]), str(r["days"]), f"{r['events']:,}", *stages, f"{r['wall_s']:.1f}",
                 f"{per_event:.1f}", f"{growth:.2f}", rss,
                 *([" / ".join(str(n) for n in r["tasks"].values())] if celery else []),
                 f"{r['load_before'].split()[0]} → {r['load_after'].split()[0]}"]
        print("| " + " | ".join(cells) + " |" + ("" if r["ok"] else f" FAILED {r['note']}, see {r['log']}"))
    print("\n(seconds; peak RSS of the driver's process tree" + (", and each worker's largest process (VmHWM)"
                                                                  if celery else "") + ")")
    good = [r for r in rows if r["ok"]]
    if len({r["hosts"] * r["days"] for r in good}) < 2:
        return
    xs = [r["hosts"] * r["days"] for r in good]
    print("\nstraight line per stage over host-days (fixed s + ms per host-day; worst |residual| / value):")
    for key, title in [*STAGES.items(), ("wall", "wall")]:
        ys = [r["wall_s"] if key == "wall" else r["stages"].get(key, 0.0) for r in good]
        a, b, worst = fit(xs, ys)
        print(f"  {title}: {a:.1f} s + {b * 1000:.0f} ms per host-day (worst residual {worst:.0%})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", default="1,5,10,20", help="comma-separated fleet sizes")
    parser.add_argument("--days", default="30", help="comma-separated numbers of days")
    parser.add_argument("--events-per-day", type=int, default=2000, help="per host")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--celery", action="store_true", help="every step on two Celery workers (fleet_celery.py)")
    parser.add_argument("--run-args", default="", help="extra options for `iptables-assets run`")
    parser.add_argument("--label", default=None, help="the variant's name in the table")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before a run is killed")
    parser.add_argument("--max-load", type=float, default=2.5, help="wait until the 1-minute load is below")
    parser.add_argument("--load-wait", type=float, default=600, help="at most this many seconds")
    args = parser.parse_args(argv)
    args.label = args.label or ("two Celery workers (PostgreSQL instance)" if args.celery
                                else "single process (SQLite instance)")
    print("\n".join(machine_info("dagster", *(["dagster_celery"] if args.celery else []))))
    fingerprint = source_fingerprint()
    rows = [measure_fleet(int(h), int(d), args) for d in args.days.split(",") for h in args.hosts.split(",")]
    warn_if_changed(fingerprint)
    print_table(rows, args)
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
