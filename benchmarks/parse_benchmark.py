"""Throughput / memory benchmark of `iptables-assets parse` on a ~1 M line syslog file.

Generates (once, deterministically, netfilter_sample.py) a realistic server syslog — ~90 % kernel
netfilter lines (iptables LOG `IPTables-Dropped:` TCP/UDP/ICMP, some IPv6, some `[UFW BLOCK]`),
~10 % other daemons' noise — plus a `gzip -6` copy, then times `iptables-assets parse FILE --format parquet
-o OUT.parquet` in a fresh subprocess per run (wall time and the child's peak RSS via
`os.wait4`), next to same-run baselines `wc -l FILE` and `zcat FILE.gz | wc -l`.

    .venv/bin/python benchmarks/parse_benchmark.py --runs 3
    .venv/bin/python benchmarks/parse_benchmark.py --runs 0 --profile   # profile only

See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import (
    CLI, WORK as WORK_ROOT, Run, load, machine_info, measure, median, print_profile, source_fingerprint,
    warn_if_changed,
)
from netfilter_sample import Dataset, prepare, warm_cache

# Targets from the issues (14, parts 0 and 2). Marginal lines/s leave out the fixed cost (the
# median parse of a 10-line file: interpreter, imports, the compiled scanner's cache).
TARGET_FIXED_S = 0.8
TARGET_PLAIN_MARGINAL_LINES_PER_S = 1_000_000
TARGET_GZIP_RATIO = 0.70
TARGET_PEAK_RSS_BYTES = 1.0e9


@dataclass
class Result:
    label: str
    path: Path
    parser: list[Run] = field(default_factory=list)
    baseline: list[Run] = field(default_factory=list)
    baseline_cmd: str = ""
    records: int | None = None


# --------------------------------------------------------------------------- measurement


def run_parser(path: Path, out: Path, log: Path) -> Run:
    """One `iptables-assets parse` in a fresh process: wall time and the child's exact peak RSS."""
    out.unlink(missing_ok=True)
    cmd = [str(CLI), "parse", str(path), "--format", "parquet", "-o", str(out)]
    with open(log, "wb") as err:
        run = measure(cmd, stdout=subprocess.DEVNULL, stderr=err)
    if not run.ok or not out.exists():
        run.ok = False
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        run.note = f"exit {run.exit_code}: " + " | ".join(tail)
    return run


def run_baseline(shell_cmd: str, expected_lines: int, count: Path) -> Run:
    """One `wc -l` style baseline in a fresh shell; its line count (written to `count`) must match."""
    with open(count, "wb") as handle:
        run = measure(["sh", "-c", shell_cmd], stdout=handle, stderr=subprocess.DEVNULL)
    try:
        counted = int(count.read_bytes().split()[0])
    except (IndexError, ValueError):
        counted = -1
    if not run.ok or counted != expected_lines:
        run.ok = False
        run.note = f"exit {run.exit_code}, counted {counted} lines"
    return run


def parquet_rows(path: Path) -> int | None:
    if not path.exists():
        return None
    import polars as pl

    return pl.scan_parquet(path).select(pl.len()).collect().item()


def fixed_cost(workdir: Path, data: Dataset, runs: int) -> float:
    """Median wall time of parsing the first 10 lines of the input: what every run pays anyway."""
    small = workdir / "10-lines" / "syslog"
    small.parent.mkdir(parents=True, exist_ok=True)
    with open(data.plain, "rb") as handle:
        small.write_bytes(b"".join(handle.readline() for _ in range(10)))
    stamp = data.plain.stat().st_mtime
    os.utime(small, (stamp, stamp))
    times = [run_parser(small, small.with_suffix(".parquet"), small.with_suffix(".log")).wall_s for _ in range(runs)]
    print(f"fixed cost (10 lines): {', '.join(f'{t:.2f}' for t in times)} s", flush=True)
    return median(times)


# --------------------------------------------------------------------------- report


def report(data: Dataset, results: list[Result], runs: int, fixed: float) -> bool:
    width = 140
    print()
    print("=" * width)
    print(f"iptables-assets parse benchmark — {data.lines:,} lines "
          f"({data.netfilter_lines:,} netfilter, {data.lines - data.netfilter_lines:,} other), "
          f"{runs} fresh-process runs each, medians")
    print("-" * width)
    header = (f"{'input':<6} {'size MB':>8} {'parse s':>8} {'lines/s':>11} {'marginal':>11} {'peak RSS MB':>12} "
              f"{'baseline':<22} {'base s':>7} {'base lines/s':>13} {'parse/base':>10} {'records':>10}")
    print(header)
    all_ok = True
    verdicts: list[str] = []
    for r in results:
        good = [x for x in r.parser if x.ok]
        base = [x for x in r.baseline if x.ok]
        size = r.path.stat().st_size / 1e6
        if not good:
            print(f"{r.label:<6} {size:>8.0f}  parser FAILED: {r.parser[0].note if r.parser else 'no runs'}")
            verdicts.append(f"{r.label}: MISS (parser failed)")
            all_ok = False
            continue
        t = median(x.wall_s for x in good)
        lps = data.lines / t
        rss = max(x.maxrss_bytes for x in good)
        bt = median(x.wall_s for x in base)
        blps = data.lines / bt if base else float("nan")
        ratio = lps / blps if base else float("nan")
        rec = f"{r.records:,}" if r.records is not None else "?"
        marginal = data.lines / (t - fixed) if t > fixed else float("nan")
        print(f"{r.label:<6} {size:>8.0f} {t:>8.2f} {lps:>11,.0f} {marginal:>11,.0f} {rss / 1e6:>12,.0f} "
              f"{r.baseline_cmd:<22} {bt:>7.3f} {blps:>13,.0f} {ratio:>10.3f} {rec:>10}")
        r._summary = (t, marginal, rss, ratio)  # type: ignore[attr-defined]
    print("-" * width)
    print("per run (parser wall s / CPU s user+sys / peak RSS MB | baseline wall s); CPU s is less "
          "sensitive than wall time to other load on the machine:")
    for r in results:
        p = ", ".join(f"{x.wall_s:.2f}" + ("" if x.ok else " FAILED") for x in r.parser)
        cpu = ", ".join(f"{x.cpu_s:.2f}" for x in r.parser)
        b = ", ".join(f"{x.wall_s:.3f}" + ("" if x.ok else " FAILED") for x in r.baseline)
        rss = ", ".join(f"{x.maxrss_bytes / 1e6:.0f}" for x in r.parser)
        print(f"  {r.label:<6} wall [{p}]  CPU [{cpu}]  RSS [{rss}]  |  baseline [{b}]")
        for x in r.parser + r.baseline:
            if not x.ok:
                print(f"    ! {x.note}")
    print("-" * width)
    print("targets:")

    def mark(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    ok = fixed < TARGET_FIXED_S
    all_ok &= ok
    print(f"  [{mark(ok)}] fixed cost (a 10-line file) < {TARGET_FIXED_S} s: {fixed:.2f} s")
    by_label = {r.label: r for r in results}
    plain = by_label.get("plain")
    gz = by_label.get("gzip")
    if plain is not None and hasattr(plain, "_summary"):
        _, marginal, _, _ = plain._summary
        ok = marginal >= TARGET_PLAIN_MARGINAL_LINES_PER_S
        all_ok &= ok
        print(f"  [{mark(ok)}] plain text >= {TARGET_PLAIN_MARGINAL_LINES_PER_S:,} lines/s past the fixed cost: "
              f"{marginal:,.0f} lines/s ({marginal / TARGET_PLAIN_MARGINAL_LINES_PER_S:.0%} of target)")
    if gz is not None and hasattr(gz, "_summary"):
        _, _, _, ratio = gz._summary
        ok = ratio >= TARGET_GZIP_RATIO
        all_ok &= ok
        print(f"  [{mark(ok)}] gzip >= {TARGET_GZIP_RATIO:.0%} of the `zcat | wc -l` baseline: {ratio:.1%}")
    rss_all = [x.maxrss_bytes for r in results for x in r.parser if x.ok]
    if rss_all:
        ok = max(rss_all) < TARGET_PEAK_RSS_BYTES
        all_ok &= ok
        print(f"  [{mark(ok)}] peak RSS < {TARGET_PEAK_RSS_BYTES / 1e9:.1f} GB (max over all runs): "
              f"{max(rss_all) / 1e6:,.0f} MB")
    for v in verdicts:
        print(f"  [MISS] {v}")
        all_ok = False
    print("-" * width)
    print("sanity:")
    print(f"  expected records (generated netfilter lines): {data.netfilter_lines:,}")
    for r in results:
        status = "OK" if r.records == data.netfilter_lines else "MISMATCH"
        print(f"  {r.label}: parquet rows = {r.records if r.records is not None else '?':,} [{status}]")
    return all_ok


# --------------------------------------------------------------------------- profile


def profile(path: Path, out: Path, top: int) -> None:
    """Run the parse once in this process under cProfile; print the top cumulative entries."""
    from iptables_assets.cli import main as cli_main

    out.unlink(missing_ok=True)
    argv = ["parse", str(path), "--format", "parquet", "-o", str(out)]
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    code = cli_main(argv)
    profiler.disable()
    elapsed = time.perf_counter() - t0
    print()
    print_profile(profiler, top, f"`iptables-assets {' '.join(argv)}` in-process: exit {code}, {elapsed:.2f} s")


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000, help="lines in the generated syslog file")
    ap.add_argument("--runs", type=int, default=3, help="fresh-process runs per input (0: skip timing)")
    ap.add_argument("--workdir", type=Path, default=WORK_ROOT,
                    help="where inputs/outputs go (git-ignored)")
    ap.add_argument("--inputs", default="plain,gzip", help="comma-separated subset of plain,gzip")
    ap.add_argument("--profile", action="store_true",
                    help="also run the parse once in-process under cProfile and print the top entries")
    ap.add_argument("--profile-input", choices=["plain", "gzip"], default="plain")
    ap.add_argument("--profile-top", type=int, default=25)
    ap.add_argument("--smoke", action="store_true",
                    help="a tiny run that checks the script works: missed targets do not set the exit status "
                         "(a failed parse or a wrong record count still does)")
    args = ap.parse_args(argv)

    if not CLI.exists():
        print(f"console script not found: {CLI} (is the project installed in this venv?)", file=sys.stderr)
        return 2
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    for line in machine_info(executable=True):
        print(line)
    data = prepare(workdir, args.lines)
    inputs = [x.strip() for x in args.inputs.split(",") if x.strip()]

    ok, broken = True, False
    if args.runs > 0:
        warm_cache(data.plain, data.gz)
        source_before = source_fingerprint()
        print(f"load average before: {load()}; iptables_assets source {source_before}")
        fixed = fixed_cost(workdir, data, args.runs)
        results = []
        for label in inputs:
            if label == "plain":
                r = Result("plain", data.plain, baseline_cmd="wc -l FILE")
                shell = f"wc -l < '{data.plain}'"
            elif label == "gzip":
                r = Result("gzip", data.gz, baseline_cmd="zcat FILE.gz | wc -l")
                shell = f"zcat '{data.gz}' | wc -l"
            else:
                ap.error(f"unknown input {label!r}")
            out = workdir / f"out-{label}.parquet"
            log = workdir / f"stderr-{label}.log"
            count = workdir / f"baseline-{label}.out"
            # Interleave parser and baseline runs so background load hits both alike.
            for i in range(args.runs):
                run = run_parser(r.path, out, log)
                r.parser.append(run)
                r.baseline.append(run_baseline(shell, data.lines, count))
                status = f"{run.wall_s:.2f} s (CPU {run.cpu_s:.2f} s), peak RSS {run.maxrss_bytes / 1e6:.0f} MB" if run.ok else run.note
                print(f"  {label} run {i + 1}/{args.runs}: parse {status}; "
                      f"baseline {r.baseline[-1].wall_s:.3f} s", flush=True)
            r.records = parquet_rows(out)
            results.append(r)
        source_after = source_fingerprint()
        print(f"load average after: {load()}; iptables_assets source {source_after}")
        ok = report(data, results, args.runs, fixed)
        broken = any(not x.ok for r in results for x in r.parser) or any(
            r.records != data.netfilter_lines for r in results)
        warn_if_changed(source_before, source_after)

    if args.profile:
        path = data.plain if args.profile_input == "plain" else data.gz
        profile(path, workdir / f"out-profile-{args.profile_input}.parquet", args.profile_top)
    return 0 if (ok or args.smoke) and not broken else 1


if __name__ == "__main__":
    sys.exit(main())
