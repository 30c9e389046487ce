"""A year of history: the daily aggregates, the whole-history assets and one incremental day.

Synthesises (once, with a fixed seed) 365 days of `geotagged_events` partitions as Parquet files
with the real schema (~28,000 events/day, >= 10 M events; parsing and geo-tagging have their own
benchmarks), then runs the project's Dagster definitions (`build_definitions` with its IO manager
and output folder, an ephemeral instance), each measured step in a fresh subprocess of this script:

1. `daily`: the `daily_aggregates` multi-asset for all 365 days in one single-run backfill;
2. `history`: `history_job` (the whole-history assets), repeated `--runs` times;
3. `incremental`: day 366 appears: `daily_aggregates` for that one partition, then the
   whole-history assets, repeated `--runs` times (the new day's outputs are removed before each);
4. `figures`: every static figure of the year (the figures issue's target: < 60 s), repeated
   `--runs` times, with each asset's own time;
5. `animation` (once): the three films' frames for all 365 days in one single-run backfill, in
   process (median seconds per frame of each film, from the frames' own timing), then the three
   GIFs and the journal (the animations issue's targets: a day's three frames < 3 s together,
   assembling 365 frames < 30 s, a year of map frames < 20 MB).

Steps 2 and 3 run the whole-history aggregates (`HISTORY_ASSETS`), not the figures, so their
figures stay comparable with the aggregates issue's targets.

Prints wall time and CPU time of each child process, its peak RSS (`os.wait4`), events/s of the
daily step, medians, PASS/MISS against the targets of the aggregates issue (whole history
< 30 s, incremental day < 20 s, peak RSS < 2 GB), sanity checks (planted scanners found, event
totals), and same-run baselines: a `pl.scan_parquet` row count of the year's geo-tagged files,
a read of all their columns, and a read of the columns the aggregates use.

    .venv/bin/python benchmarks/history_benchmark.py                     # everything (~2-4 min)
    .venv/bin/python benchmarks/history_benchmark.py --steps history,incremental
    .venv/bin/python benchmarks/history_benchmark.py --profile history   # cProfile of one step

The input is history_sample.py's, the steps history_steps.py's. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from harness import (
    CLI, REPO, WORK as WORK_ROOT, Run, load, machine_info, measure, median, package_dir, source_fingerprint,
    warn_if_changed,
)
from history_sample import DAYS, EVENTS_PER_DAY, FIRST_DAY, prepare
from history_steps import DAILY_ASSETS, USED_COLUMNS, Layout, child, child_env, clean_outputs, du, reset_new_day

# Targets from the aggregates issue (issue 4).
TARGET_HISTORY_S = 30.0
TARGET_INCREMENTAL_S = 20.0
TARGET_PEAK_RSS_BYTES = 2e9
TARGET_FIGURES_S = 60.0  # the figures issue (issue 5)
TARGET_DAY_FRAMES_S = 3.0  # the animations issue (issue 6): a day's three frames
TARGET_GIF_S = 30.0  # assembling one film of 365 frames
TARGET_MAP_GIF_BYTES = 20e6


# --------------------------------------------------------------------------- parent


def child_argv(step: str, layout: Layout, args) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--step", step, "--workdir", str(layout.root),
            "--first-day", layout.first_day.isoformat(), "--days", str(layout.days),
            "--events-per-day", str(layout.events_per_day), "--daily-chunk-days", str(args.daily_chunk_days),
            "--instance", args.instance]


def run_child(step: str, layout: Layout, args, log: Path) -> Run:
    """`python THIS --step STEP` in a fresh process; wall time around it, its rusage from wait4."""
    with log.open("w") as handle:
        run = measure(child_argv(step, layout, args), stdout=handle, stderr=subprocess.STDOUT,
                      env=child_env(layout), cwd=REPO)
    text = log.read_text()
    lines = [x for x in text.splitlines() if x.startswith("RESULT ")]
    run.ok = run.ok and bool(lines)
    if lines:
        run.result = json.loads(lines[-1][len("RESULT "):])
    if not run.ok:
        run.note = f"exit {run.exit_code}; last output:\n" + "\n".join(text.splitlines()[-25:])
    return run


def describe(run: Run) -> str:
    if not run.ok:
        return f"FAILED ({run.note})"
    r = run.result
    parts = [f"{run.wall_s:6.2f} s wall", f"CPU {run.cpu_s:6.2f} s", f"peak RSS {run.maxrss_bytes / 1e6:6,.0f} MB"]
    if "startup_s" in r:
        parts.append(f"start-up+defs {r['startup_s']:.2f} s")
    if "daily_s" in r:
        parts.append(f"jobs {r['work_s']:.2f} s (daily {r['daily_s']:.2f} + history {r['history_s']:.2f})")
    elif "work_s" in r:
        parts.append(f"{'job' if 'startup_s' in r else 'read'} {r['work_s']:.2f} s")
    return ", ".join(parts)


def sanity(layout: Layout, manifest: dict, after: str) -> list[str]:
    """Checks of the outputs against what was generated (planted scanners, event totals)."""
    import polars as pl

    lines = []

    def check(ok: bool, text: str) -> None:
        lines.append(f"  [{'OK' if ok else 'MISMATCH'}] {text}")

    if after == "daily":
        for name in DAILY_ASSETS:
            n = len(list((layout.out / name).glob("*.parquet")))
            check(n == layout.days, f"{name}: {n} partition files (expected {layout.days})")
        total = pl.scan_parquet(str(layout.out / "daily_country_counts" / "*.parquet")).select(pl.col("events").sum()).collect().item()
        check(total == manifest["events"], f"sum of daily_country_counts = {total:,} (generated {manifest['events']:,})")
        rows = pl.scan_parquet(str(layout.out / "daily_source_summary" / "*.parquet")).select(pl.len()).collect().item()
        lines.append(f"  daily_source_summary rows over the year: {rows:,}")
        return lines
    exports = layout.out / "exports"
    expected_events = manifest["events"] + (manifest["new_day_events"] if after == "incremental" else 0)
    totals = pl.read_parquet(exports / "country_totals.parquet")
    check(int(totals["events"].sum()) == expected_events, f"country_totals sum = {int(totals['events'].sum()):,} (expected {expected_events:,})")
    scans = pl.read_parquet(exports / "port_scans.parquet")
    for s in manifest["fast_scanners"]:
        hit = scans.filter((pl.col("src_ip") == s["src_ip"]) & (pl.col("day") == date.fromisoformat(s["day"])))
        got = hit["distinct_ports"].to_list()
        check(got == [s["ports"]], f"one-day scanner {s['src_ip']} on {s['day']}: {got} ports (planted {s['ports']}, {s['kind']})")
    longterm = pl.read_parquet(exports / "longterm_port_scans.parquet")
    for s in manifest["slow_scanners"]:
        hit = longterm.filter(pl.col("src_ip") == s["src_ip"])
        got = hit.select("distinct_ports", "days_active", "slow").rows()
        want = [(s["ports"], s["days"], True)] if s["ports"] > 50 else []  # the default threshold
        check(got == want, f"slow scanner {s['src_ip']}: (ports, days, slow) = {got} "
              f"(planted {s['ports']} over {s['days']} days)")
    lines.append(f"  whole history: {scans.height:,} per-day scans, {longterm.height:,} long-term scanners "
                 f"({int(longterm['slow'].sum())} slow), {totals.height} countries")
    return lines


def report(layout: Layout, manifest: dict, runs: dict[str, list[Run]], baselines: dict[str, list[Run]], args) -> bool:
    width = 110
    print("\n" + "=" * width)
    print(f"history benchmark: {layout.days} days {layout.first_day}..{layout.new_day - timedelta(days=1)}, "
          f"{manifest['events']:,} geo-tagged events ({manifest['distinct_sources']:,} distinct sources), "
          f"new day {layout.new_day} with {manifest['new_day_events']:,} events")
    chunking = (f"{-(-layout.days // args.daily_chunk_days)} single-run ranges of {args.daily_chunk_days} days"
                if args.daily_chunk_days else "one single-run backfill of all days")
    print(f"Dagster instance: {args.instance}; daily step: {chunking}")
    print("-" * width)
    ok_all = True

    def mark(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    print(f"{'step':<13} {'runs':>4} {'wall s':>8} {'job s':>8} {'CPU s':>8} {'peak RSS MB':>12}  notes")
    summary = {}
    for step in ("daily", "history", "incremental", "figures", "animation"):
        good = [r for r in runs.get(step, []) if r.ok]
        if not runs.get(step):
            continue
        if not good:
            print(f"{step:<13} FAILED")
            ok_all = False
            continue
        wall = median([r.wall_s for r in good])
        job = median([r.result["work_s"] for r in good])
        cpu = median([r.cpu_s for r in good])
        rss = max(r.maxrss_bytes for r in good)
        note = ""
        if step == "daily":
            note = f"{manifest['events'] / wall:,.0f} events/s (wall), {manifest['events'] / job:,.0f} events/s (job)"
        if step == "incremental":
            note = (f"daily part {median([r.result['daily_s'] for r in good]):.2f} s + "
                    f"history part {median([r.result['history_s'] for r in good]):.2f} s")
        if step == "animation":
            r = good[0].result
            fps = r.get("frames_per_second", {})
            note = (f"frames job {r['frames_s']:.1f} s: "
                    + ", ".join(f"{k} {v * 1000:.1f} ms/frame" + (f" ({fps[k]} frames/s)" if k in fps else "")
                                for k, v in r["per_frame_s"].items())
                    + "; GIFs: " + ", ".join(f"{k} {v:.1f} s" for k, v in r["step_s"].items() if k != "journal_report")
                    + "; sizes: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in r["gif_bytes"].items()))
        if step == "figures":
            slowest = sorted(good[0].result["step_s"], key=lambda k: -median([r.result["step_s"][k] for r in good]))
            note = ", ".join(f"{k} {median([r.result['step_s'][k] for r in good]):.1f}" for k in slowest[:4])
        summary[step] = (wall, job, rss)
        print(f"{step:<13} {len(good):>4} {wall:>8.2f} {job:>8.2f} {cpu:>8.2f} {rss / 1e6:>12,.0f}  {note}")
    print("(median wall time of the fresh child process = Python start-up + imports + definitions + job(s); "
          "job s = execute_in_process only; peak RSS = max over runs)")
    for name, group in baselines.items():
        good = [r for r in group if r.ok]
        if good:
            print(f"baseline {name}: median {median([r.result['work_s'] for r in good]):.3f} s in-process "
                  f"({median([r.wall_s for r in good]):.2f} s with process start), peak RSS "
                  f"{max(r.maxrss_bytes for r in good) / 1e6:,.0f} MB, {good[0].result['rows']:,} rows")
    print("-" * width)
    print("per run:")
    for step, group in runs.items():
        for i, r in enumerate(group, 1):
            print(f"  {step} {i}: {describe(r)}")
    print("-" * width)
    print("targets (wall time of the fresh process; the job-only time is in brackets):")
    if "history" in summary:
        wall, job, _ = summary["history"]
        ok = wall < TARGET_HISTORY_S
        ok_all &= ok
        print(f"  [{mark(ok)}] whole-history assets < {TARGET_HISTORY_S:.0f} s: {wall:.2f} s ({job:.2f} s)")
    if "incremental" in summary:
        wall, job, _ = summary["incremental"]
        ok = wall < TARGET_INCREMENTAL_S
        ok_all &= ok
        print(f"  [{mark(ok)}] incremental day (aggregates + history refresh) < {TARGET_INCREMENTAL_S:.0f} s: "
              f"{wall:.2f} s ({job:.2f} s)")
    if "figures" in summary:
        wall, job, _ = summary["figures"]
        ok = wall < TARGET_FIGURES_S
        ok_all &= ok
        print(f"  [{mark(ok)}] every figure and the journal < {TARGET_FIGURES_S:.0f} s: {wall:.2f} s ({job:.2f} s)")
    if "animation" in summary:
        r = [x for x in runs["animation"] if x.ok][0].result
        day = sum(r["per_frame_s"].values())
        ok = day < TARGET_DAY_FRAMES_S
        ok_all &= ok
        print(f"  [{mark(ok)}] a day's three frames < {TARGET_DAY_FRAMES_S:.0f} s: {day:.2f} s (medians per frame)")
        for name, seconds in r["step_s"].items():
            if name.endswith("_animation"):
                ok = seconds < TARGET_GIF_S
                ok_all &= ok
                print(f"  [{mark(ok)}] {name}: {layout.days} frames assembled < {TARGET_GIF_S:.0f} s: {seconds:.2f} s")
        size = r["gif_bytes"].get("drops_map", float("inf"))
        ok = size < TARGET_MAP_GIF_BYTES
        ok_all &= ok
        print(f"  [{mark(ok)}] a year of map frames < {TARGET_MAP_GIF_BYTES / 1e6:.0f} MB: {size / 1e6:.1f} MB")
    for step, (_, _, rss) in summary.items():
        ok = rss < TARGET_PEAK_RSS_BYTES
        ok_all &= ok
        print(f"  [{mark(ok)}] peak RSS < {TARGET_PEAK_RSS_BYTES / 1e9:.0f} GB, {step}: {rss / 1e6:,.0f} MB")
    return ok_all


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=WORK_ROOT / "history_benchmark",
                    help="generated data and outputs (git-ignored)")
    ap.add_argument("--first-day", type=date.fromisoformat, default=FIRST_DAY)
    ap.add_argument("--days", type=int, default=DAYS, help="days of history (the incremental day is the next)")
    ap.add_argument("--events-per-day", type=int, default=EVENTS_PER_DAY)
    ap.add_argument("--runs", type=int, default=3, help="repetitions of the history and incremental steps")
    ap.add_argument("--steps", default="daily,history,incremental,figures,animation",
                    help="subset of daily,history,incremental,figures,animation (without daily, the daily outputs of an "
                         "earlier invocation are reused)")
    ap.add_argument("--profile", choices=["daily", "history", "incremental", "figures", "animation"],
                    help="only run this step once under cProfile (in a fresh process) and print the hot spots")
    ap.add_argument("--profile-top", type=int, default=30)
    ap.add_argument("--daily-chunk-days", type=int, default=0,
                    help="split the daily backfill into single-run ranges of this many days, run one after "
                         "the other in the same process (default 0: one run of all days, as the issue asks)")
    ap.add_argument("--instance", choices=["ephemeral", "sqlite"], default="ephemeral",
                    help="Dagster instance of the runs: in-memory, or a fresh SQLite DAGSTER_HOME under the work "
                         "folder shared by the steps of one invocation (what `iptables-assets run` uses)")
    ap.add_argument("--smoke", action="store_true",
                    help="a tiny run that checks the script works: missed targets do not set the exit status "
                         "(a failed step or a sanity mismatch still does)")
    ap.add_argument("--step", help=argparse.SUPPRESS)  # internal: run one step in this process
    ap.add_argument("--cprofile", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    layout = Layout(args.workdir.resolve(), args.first_day, args.days, args.events_per_day)

    if args.step:
        return child(args.step, layout, args.cprofile, args.daily_chunk_days, args.instance)

    if layout.new_day > date.today():
        ap.error(f"day {layout.days + 1} ({layout.new_day}) is after today: no such partition yet; "
                 f"use an earlier --first-day")
    if not CLI.exists():
        ap.error(f"console script not found: {CLI} (is the project installed in this venv?)")
    t_begin = time.perf_counter()
    home = layout.root / "dagster_home"
    shutil.rmtree(home, ignore_errors=True)  # a fresh instance per invocation (used by --instance sqlite)
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    for line in machine_info("dagster"):
        print(line)
    manifest = prepare(layout)
    files, size = len(layout.year_files()), sum(p.stat().st_size for p in layout.year_files())
    print(f"input: {files} geotagged_events files, {size / 1e6:,.0f} MB on disk (zstd Parquet, 50 columns); "
          f"day {layout.days + 1}: {layout.new_day_source.stat().st_size / 1e6:.1f} MB", flush=True)
    if not (layout.out / "log_file_inventory.parquet").exists():
        setup = run_child("setup", layout, args, layout.data / "setup.log")
        if not setup.ok:
            print(f"setup (country_reference) failed: {setup.note}")
            return 2
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]

    if args.profile:
        if args.profile in ("daily", "history"):
            clean_outputs(layout) if args.profile == "daily" else (layout.geo / f"{layout.new_day}.parquet").unlink(missing_ok=True)
        else:
            reset_new_day(layout)
        argv_child = [*child_argv(args.profile, layout, args), "--cprofile", str(args.profile_top)]
        return subprocess.run(argv_child, env=child_env(layout), cwd=REPO).returncode

    runs: dict[str, list[Run]] = {}
    baselines: dict[str, list[Run]] = {}
    checks: list[str] = []
    fingerprint = source_fingerprint()
    print(f"load average before: {load()}; iptables_assets source {fingerprint} ({package_dir()})", flush=True)
    if "daily" in steps:
        clean_outputs(layout)
    else:
        (layout.geo / f"{layout.new_day}.parquet").unlink(missing_ok=True)
        missing = [a for a in DAILY_ASSETS if len(list((layout.out / a).glob("*.parquet"))) < layout.days]
        if missing:
            ap.error(f"no daily outputs of an earlier run for {missing}: include the daily step")
        for name in DAILY_ASSETS:
            (layout.out / name / f"{layout.new_day}.parquet").unlink(missing_ok=True)

    # Baselines (page cache warmed by the first read).
    for name, step in (("pl.scan_parquet(year).select(pl.len()) [Parquet metadata only]", "baseline-count"),
                       ("pl.scan_parquet(year).collect() [all 50 columns]", "baseline-read"),
                       (f"pl.scan_parquet(year).select({len(USED_COLUMNS)} used columns).collect()", "baseline-columns")):
        group = baselines.setdefault(name, [])
        for i in range(2 if step == "baseline-read" else 3 if step == "baseline-count" else 1):
            r = run_child(step, layout, args, layout.data / f"{step}.log")
            if step == "baseline-read" and i == 0:
                continue  # the first full read warms the page cache
            group.append(r)
            print(f"baseline {step}: {describe(r)}", flush=True)

    def measured(step: str, i: int, n: int) -> Run:
        r = run_child(step, layout, args, layout.data / f"{step}-{i}.log")
        runs.setdefault(step, []).append(r)
        print(f"{step} {i}/{n}: {describe(r)}  (load {load()})", flush=True)
        return r

    if "daily" in steps:
        if measured("daily", 1, 1).ok:
            checks += ["after the daily step:", *sanity(layout, manifest, "daily")]
            files, size = du(layout.out, "daily_*/*.parquet")
            checks.append(f"  daily outputs: {files} files, {size / 1e6:,.1f} MB")
    if "history" in steps:
        for i in range(1, args.runs + 1):
            measured("history", i, args.runs)
        if runs["history"][-1].ok:
            checks += ["after the history step:", *sanity(layout, manifest, "history")]
            files, size = du(layout.out / "exports")
            checks.append(f"  exports: {files} files, {size / 1e6:,.1f} MB")
    if "incremental" in steps:
        for i in range(1, args.runs + 1):
            reset_new_day(layout)
            measured("incremental", i, args.runs)
        if runs["incremental"][-1].ok:
            checks += ["after the incremental step:", *sanity(layout, manifest, "incremental")]
    if "figures" in steps or "animation" in steps:  # the animation step needs the figures
        for i in range(1, args.runs + 1 if "figures" in steps else 2):
            measured("figures", i, args.runs)
        if runs["figures"][-1].ok:
            files, size = du(layout.out / "journal")
            checks.append(f"after the figures step: journal folder {files} files, {size / 1e6:,.1f} MB")
    if "animation" in steps:
        if measured("animation", 1, 1).ok:
            files, size = du(layout.out / "journal")
            checks.append(f"after the animation step: journal folder {files} files, {size / 1e6:,.1f} MB")

    ok = report(layout, manifest, runs, baselines, args) or args.smoke
    print("-" * 110)
    print("sanity:")
    for line in checks:
        print(line)
    ok &= not any("[MISMATCH]" in line for line in checks)
    ok &= all(r.ok for step_runs in runs.values() for r in step_runs)
    print(f"load average after: {load()}; total benchmark time {time.perf_counter() - t_begin:.0f} s")
    warn_if_changed(fingerprint)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
