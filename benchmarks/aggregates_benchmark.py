"""A year of history: daily aggregates, whole-history assets, and one incremental day.

    .venv/bin/python benchmarks/aggregates_benchmark.py [--events-per-day 28000] [--runs 3]

Synthesises 365 days of `geotagged_events` partitions (>= 10 M events; the parsing and geo
stages have their own benchmarks), then times, each step in a fresh process through Dagster's
`materialize` and the project's Parquet IO manager: (1) `daily_aggregates` for all 365 days in
one single-run backfill, (2) the whole-history assets, (3) one new day: its daily aggregates
plus the whole-history refresh. Prints wall time, peak RSS and the targets of the aggregates
issue (history < 30 s, incremental day < 20 s, peak RSS < 2 GB), and a same-run baseline:
reading the year's geo-tagged events once with `pl.scan_parquet`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

WORK = Path(__file__).parent / "_work" / "history"
FIRST_DAY = date(2025, 11, 1)  # the default first partition
DAYS = 365
NEW_DAY = FIRST_DAY + timedelta(days=DAYS)
COUNTRIES = ["CN", "US", "IN", "KR", "BR", "RU", "VN", "TW", "DE", "NL", "FR", "GB", "ID", "JP", "IR", "TR",
             "UA", "SG", "HK", "TH", "AR", "MX", "CO", "PL", "RO", "BG", "IT", "ES", "CA", "AU", "ZA", "EG",
             "PK", "BD", "PH", "MY", "SE", "NO", "FI", "CZ", "SK", "HU", "GR", "PT", "IL", "SA", "AE", "KZ",
             "BY", "LT", "LV", "EE", "CL", "PE", "VE", "EC", "NG", "KE", "MA", None]
PORTS = [22, 23, 445, 80, 443, 3389, 8080, 25, 5900, 1433, 3306, 137, 53, 123, 5060]
TARGETS = {"history": 30.0, "incremental": 20.0}
RSS_TARGET_MB = 2000


def synthesise_day(day: date, n: int, sources: np.ndarray, weights: np.ndarray, rng) -> pl.DataFrame:
    """One day of geo-tagged INPUT drops with heavy-tailed sources and skewed ports."""
    src = rng.choice(len(sources), size=n, p=weights)
    common = rng.random(n) < 0.6
    ports = np.where(common, rng.choice(PORTS, size=n), rng.integers(1, 65536, size=n))
    seconds = np.sort(rng.integers(0, 86400, size=n))
    country = [COUNTRIES[i] for i in (src % len(COUNTRIES)).tolist()]
    start = np.datetime64(day.isoformat(), "us")
    return pl.DataFrame({
        "timestamp": pl.Series(start + seconds * 1_000_000).dt.replace_time_zone("UTC"),
        "action": "drop", "in_iface": "eth0", "out_iface": "",
        "src_ip": pl.Series(sources, dtype=pl.String).gather(src), "dst_ip": "203.0.113.10",
        "proto": np.where(rng.random(n) < 0.85, "TCP", "UDP"),
        "dst_port": pl.Series(ports, dtype=pl.Int32),
        "tcp_flags": "SYN",
        "country_code": pl.Series(country, dtype=pl.String),
        "country_name": pl.Series(country, dtype=pl.String),
    }).with_columns(pl.when(pl.col("proto") == "UDP").then(None).otherwise(pl.col("tcp_flags")).alias("tcp_flags"))


def make(events_per_day: int) -> None:
    folder = WORK / "out" / "geotagged_events"
    marker = WORK / f"made-{events_per_day}"
    if marker.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    sources = [f"{rng.integers(1, 224)}.{rng.integers(0, 256)}.{rng.integers(0, 256)}.{rng.integers(1, 255)}"
               for _ in range(50_000)]
    weights = 1 / np.arange(1, len(sources) + 1) ** 0.8
    weights /= weights.sum()
    for i in range(DAYS + 1):
        day = FIRST_DAY + timedelta(days=i)
        synthesise_day(day, events_per_day, sources, weights, rng).write_parquet(folder / f"{day}.parquet")
    (folder / f"{NEW_DAY}.parquet").rename(WORK / "new_day.parquet")
    marker.touch()


def _defs():
    from iptables_assets.defs.definitions import build_definitions

    return build_definitions(log_dir=str(WORK), out_dir=str(WORK / "out"))


def step(name: str) -> None:
    """One measured step, run in this (fresh) process."""
    import dagster as dg
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from iptables_assets.defs.assets import aggregates, geo
    from iptables_assets.defs.definitions import HISTORY_ASSETS

    defs = _defs()
    resources = defs.resources
    everything = list(defs.assets)  # unselected upstream assets are read through the IO manager
    daily = history = everything
    if name == "reference":
        dg.materialize([geo.country_reference], resources=resources)
    elif name == "daily":
        tags = {ASSET_PARTITION_RANGE_START_TAG: str(FIRST_DAY),
                ASSET_PARTITION_RANGE_END_TAG: str(FIRST_DAY + timedelta(days=DAYS - 1))}
        dg.materialize(daily, selection=[aggregates.daily_aggregates], resources=resources, tags=tags)
    elif name == "history":
        dg.materialize(history, selection=HISTORY_ASSETS, resources=resources)
    elif name == "incremental":
        target = WORK / "out" / "geotagged_events" / f"{NEW_DAY}.parquet"
        target.write_bytes((WORK / "new_day.parquet").read_bytes())
        dg.materialize(daily, selection=[aggregates.daily_aggregates], resources=resources, partition_key=str(NEW_DAY))
        dg.materialize(history, selection=HISTORY_ASSETS, resources=resources)
        target.unlink()
        for asset in ("daily_country_counts", "daily_port_counts", "daily_source_summary", "daily_port_scans"):
            (WORK / "out" / asset / f"{NEW_DAY}.parquet").unlink(missing_ok=True)


def measure(name: str) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of `step(name)` in a child process."""
    log = WORK / f"{name}.log"
    started = time.perf_counter()
    with log.open("wb") as sink:
        child = subprocess.Popen([sys.executable, __file__, "--step", name], stdout=sink, stderr=sink,
                                 env={**os.environ, "DAGSTER_HOME": str(WORK / "home")})
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"step {name} failed:\n{log.read_text()[-3000:]}")
    return wall, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-per-day", type=int, default=28_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        step(args.step)
        return 0
    (WORK / "home").mkdir(parents=True, exist_ok=True)
    (WORK / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    t = time.perf_counter()
    make(args.events_per_day)
    print(f"input: {DAYS} days x {args.events_per_day:,} = {DAYS * args.events_per_day:,} events "
          f"({time.perf_counter() - t:.0f} s to synthesise or reuse)")
    t = time.perf_counter()
    rows = pl.scan_parquet(str(WORK / "out" / "geotagged_events" / "*.parquet")).select(pl.len()).collect().item()
    print(f"baseline: scan_parquet of the year's events ({rows:,} rows): {time.perf_counter() - t:.2f} s")
    measure("reference")
    wall, rss = measure("daily")
    print(f"daily aggregates, {DAYS} days in one run: {wall:.1f} s, {rows / wall:,.0f} events/s, peak RSS {rss:,.0f} MB")
    results = {"history": [], "incremental": []}
    for _ in range(args.runs):
        for name in results:
            results[name].append(measure(name))
    worst_rss = rss
    for name, runs in results.items():
        median = statistics.median(w for w, _ in runs)
        peak = max(r for _, r in runs)
        worst_rss = max(worst_rss, peak)
        verdict = "PASS" if median < TARGETS[name] else "MISS"
        print(f"{name}: median {median:.1f} s of {[round(w, 1) for w, _ in runs]}, peak RSS {peak:,.0f} MB "
              f"(target < {TARGETS[name]:.0f} s: {verdict})")
    print(f"peak RSS over all steps: {worst_rss:,.0f} MB (target < {RSS_TARGET_MB} MB: "
          f"{'PASS' if worst_rss < RSS_TARGET_MB else 'MISS'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
