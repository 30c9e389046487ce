"""What a user waits for on the bundled sample: the whole run cold and warm, and a one-day update.

Each command is `iptables-assets run` in a fresh process on the sample's logs (generated once with
`iptables-assets generate`, as `make demo` does, cached under `_work/daily/`), timed from exec to
exit (Python start-up, imports and Dagster's bookkeeping included) with the process tree's peak RSS:

- **fresh clone**: a new output folder and Dagster home, and an empty numba cache
  (`NUMBA_CACHE_DIR` pointed at a new folder: the compiled scanner is built as on a fresh clone);
- **again (warm)**: the same command on that output (the parse cache, stored static parts and the
  compiled scanner all there: what `make demo` costs the second time);
- **the last day again**: `run --from D --to D` on a full output (the schedule re-running a day);
- **a new day**: an output holding every day but the last (made once per run, untimed), then
  `run --from D --to D` (the daily schedule's run the morning after D).

    .venv/bin/python benchmarks/daily_benchmark.py --runs 3

See benchmarks/README.md; `side_by_side.py --parts daily` writes the table in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Sequence

from harness import CLI, WORK as WORK_ROOT, Run, cold_figures, load, machine_info, measure, median

WORK = WORK_ROOT / "daily"
# Issue 23's goals, seconds of wall time.
GOALS = {"fresh clone": 45.0, "again (warm)": 30.0, "the last day again": 10.0, "a new day": 10.0}
CASES = tuple(GOALS)


def sample_logs(work: Path, generate_args: Sequence[str] = ()) -> Path:
    """The bundled sample's logs (`iptables-assets generate` with its defaults, or `generate_args`
    such as `--days 2` for a smaller sample), made once."""
    logs = work / "-".join(["sample-logs", *(a.lstrip("-") for a in generate_args)])
    if not (logs / "ground_truth.json").exists():
        shutil.rmtree(logs, ignore_errors=True)
        if not measure([str(CLI), "generate", "--out", str(logs), *generate_args], stdout=subprocess.DEVNULL).ok:
            sys.exit(f"generating {logs} failed")
    return logs


def sample_size(days: int | None, events_per_day: int | None) -> list[str]:
    """`generate`'s options for a smaller sample than the bundled one (none: the bundled one)."""
    return ([] if days is None else ["--days", str(days)]) + (
        [] if events_per_day is None else ["--events-per-day", str(events_per_day)])


def last_day(logs: Path) -> date:
    """The sample's last day (from its ground truth)."""
    return max(date.fromisoformat(day) for day in json.loads((logs / "ground_truth.json").read_text())["days"])


def _run(logs: Path, out: Path, log: Path, *args: str, env: dict | None = None) -> Run:
    with open(log, "w") as handle:
        run = measure([str(CLI), "run", "--logs", str(logs), "--out", str(out), *args], stdout=handle, stderr=handle,
                      env={**cold_figures(os.environ), "DAGSTER_HOME": str(out / "dagster_home"), **(env or {})})
    run.ok = run.ok and "success: True" in log.read_text()
    return run


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def one_round(logs: Path, day: date, work: Path) -> dict[str, Run]:
    """Each case once, in order (the warm and last-day cases reuse the fresh clone's output)."""
    out, numba = work / "out", _fresh(work / "numba-cache")
    shutil.rmtree(out, ignore_errors=True)
    one_day = ("--from", day.isoformat(), "--to", day.isoformat())
    runs = {"fresh clone": _run(logs, out, work / "fresh.log", env={"NUMBA_CACHE_DIR": str(numba)})}
    runs["again (warm)"] = _run(logs, out, work / "warm.log", env={"NUMBA_CACHE_DIR": str(numba)})
    runs["the last day again"] = _run(logs, out, work / "rerun.log", *one_day, env={"NUMBA_CACHE_DIR": str(numba)})
    before = work / "out-before-last-day"
    if not _run(logs, before, work / "setup.log", "--to", (day - timedelta(days=1)).isoformat(),
                env={"NUMBA_CACHE_DIR": str(numba)}).ok:
        sys.exit(f"setting up the output before {day} failed: see {work / 'setup.log'}")
    runs["a new day"] = _run(logs, before, work / "new-day.log", *one_day, env={"NUMBA_CACHE_DIR": str(numba)})
    return runs


def measure_daily(runs: int, work: Path = WORK, generate_args: Sequence[str] = ()) -> list[dict]:
    """Every case `runs` times: rows of (case, median wall, every wall, peak RSS, goal)."""
    work.mkdir(parents=True, exist_ok=True)
    logs = sample_logs(work, generate_args)
    day = last_day(logs)
    results: dict[str, list[Run]] = {case: [] for case in CASES}
    for number in range(runs):
        for case, run in one_round(logs, day, work).items():
            results[case].append(run)
            print(f"  round {number + 1}: {case}: {run.wall_s:.1f} s{'' if run.ok else ' FAILED'}", flush=True)
    return [{"case": case, "wall_s": median(r.wall_s for r in done if r.ok), "walls": [r.wall_s for r in done],
             "peak_rss": max((r.maxrss_bytes for r in done), default=0), "goal_s": GOALS[case],
             "failed": sum(not r.ok for r in done)} for case, done in results.items()]


def table_lines(rows: list[dict], day: date | None = None) -> list[str]:
    """The markdown table of `measure_daily`'s rows."""
    lines = ["| what the user runs | wall (median) | runs | peak RSS | goal |", "|---|---|---|---|---|"]
    for row in rows:
        verdict = "met" if row["wall_s"] < row["goal_s"] else "**not met**"
        walls = " / ".join(f"{w:.1f}" for w in row["walls"])
        lines.append(f"| {row['case']} | **{row['wall_s']:.1f} s** | {walls} s | {row['peak_rss'] / 1e6:,.0f} MB "
                     f"| < {row['goal_s']:.0f} s: {verdict}" + (f"; {row['failed']} FAILED" if row["failed"] else "")
                     + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--days", type=int, help="a smaller sample: `generate --days N` (default: the bundled one)")
    parser.add_argument("--events-per-day", type=int, help="with --days: `generate --events-per-day N`")
    args = parser.parse_args(argv)
    print("\n".join(machine_info("dagster")) + f"\nload average before: {load()}")
    rows = measure_daily(args.runs, generate_args=sample_size(args.days, args.events_per_day))
    print("\n" + "\n".join(table_lines(rows)) + f"\n\nload average after: {load()}")
    return 0 if not any(row["failed"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
