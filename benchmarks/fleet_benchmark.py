"""How the cost of a fleet grows with its hosts: time per stage and peak RSS of the real
`iptables-assets run` over generated fleets of 1, 5, 10 and 20 hosts (`generate --hosts N`,
a remote-logging layout), the same days and events per host, each in a fresh output folder
and instance. Cost should grow linearly with hosts × days; the table says how it grows.

    .venv/bin/python benchmarks/fleet_benchmark.py --hosts 1,5,10,20 --days 30 --events-per-day 2000

`--run-args` passes options to `iptables-assets run` (e.g. the executor, once a deployment
on workers is chosen), `--label` names that variant in the table.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys

from backfill_benchmark import WORK, measured_run
from harness import CLI, load, machine_info, measure

FLEETS = WORK.parent / "fleet"


def fleet_logs(hosts: int, days: int, per_day: int, seed: int):
    """Generated logs of a fleet (made once, then reused)."""
    folder = FLEETS / f"logs-{hosts}h-{days}d-{per_day}e-s{seed}"
    if not (folder / "ground_truth.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        run = measure([str(CLI), "generate", "--out", str(folder), "--days", str(days), "--seed", str(seed),
                       "--events-per-day", str(per_day), "--hosts", str(hosts)], stdout=subprocess.DEVNULL)
        if not run.ok:
            sys.exit(f"generating {folder} failed")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", default="1,5,10,20", help="comma-separated fleet sizes")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--events-per-day", type=int, default=2000, help="per host")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--run-args", default="", help="extra options for `iptables-assets run`")
    parser.add_argument("--label", default="single process")
    args = parser.parse_args(argv)
    print("\n".join(machine_info("dagster")))
    rows = []
    for hosts in (int(h) for h in args.hosts.split(",")):
        logs = fleet_logs(hosts, args.days, args.events_per_day, args.seed)
        result = measured_run(logs, f"fleet-{hosts}h-{args.days}d", args=shlex.split(args.run_args))
        rows.append({"hosts": hosts, "load": load(), **result})
        print(f"{hosts} hosts: {result['wall_s']:.1f} s, {result['peak_rss'] / 1e6:,.0f} MB", flush=True)
    base = rows[0]
    print(f"\n{args.label}, {args.days} days, {args.events_per_day:,} events a day per host\n")
    print("| hosts | events | wall | µs per event | wall ÷ the first row's, per host | peak RSS | stages (s) | load |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        per_event = r["wall_s"] / max(r["events"], 1) * 1e6
        growth = (r["wall_s"] / base["wall_s"]) / (r["hosts"] / base["hosts"])
        print(f"| {r['hosts']} | {r['events']:,} | {r['wall_s']:.1f} s | {per_event:.1f} | {growth:.2f} "
              f"| {r['peak_rss'] / 1e6:,.0f} MB | {r['stages']} | {r['load']} |"
              + ("" if r["ok"] else f" FAILED, see {r['log']}"))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
