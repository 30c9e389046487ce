"""Geo-tagging throughput: 1 M events from ~50,000 distinct sources, bundled GeoIP database.

    .venv/bin/python benchmarks/geo_benchmark.py [--events 1000000] [--sources 50000] [--runs 5]

Prints events/s (median of runs, in-process, after one warm-up), wall time, peak RSS, and a
same-run baseline: the time to join the events to a precomputed per-address table (the floor
any per-distinct-address tagger pays). Target from the geo issue: >= 2,000,000 events/s.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time

import polars as pl

from iptables_assets.enrich.geo import GeoLookup, geotag

TARGET = 2_000_000


def make_events(n_events: int, n_sources: int, seed: int = 7) -> pl.DataFrame:
    """Public-looking IPv4 sources (a few IPv6), heavy-tailed activity, like real drop logs."""
    rng = random.Random(seed)
    sources = []
    while len(sources) < n_sources:
        if rng.random() < 0.03:
            sources.append(f"2a0{rng.randint(1, 9)}:{rng.randint(0, 0xffff):x}::{rng.randint(1, 0xffff):x}")
        else:
            first = rng.choice([1, 5, 14, 23, 27, 31, 36, 41, 45, 58, 61, 77, 80, 91, 103, 109, 118, 122, 150, 176, 185, 193, 212])
            sources.append(f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}")
    weights = [1 / (i + 1) ** 0.8 for i in range(n_sources)]
    picks = rng.choices(range(n_sources), weights=weights, k=n_events)
    return pl.DataFrame({"src_ip": [sources[i] for i in picks], "dst_port": [rng.randint(1, 65535) for _ in picks]})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sources", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    events = make_events(args.events, args.sources)
    distinct = events["src_ip"].n_unique()
    with GeoLookup() as lookup:
        geotag(events.head(1000), lookup)  # warm-up
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            tagged = geotag(events, lookup)
            times.append(time.perf_counter() - started)
        table = lookup.table(events["src_ip"].unique().to_list())
        info = lookup.country_info
    baseline = []
    for _ in range(args.runs):
        started = time.perf_counter()
        events.join(table, left_on="src_ip", right_on="address", how="left", maintain_order="left")
        baseline.append(time.perf_counter() - started)
    median = statistics.median(times)
    rate = args.events / median
    located = tagged.filter(pl.col("country_code").is_not_null()).height
    print(f"database: {info.database_type} built {info.build_date} ({info.path})")
    print(f"events: {args.events:,}  distinct sources: {distinct:,}  located: {located / args.events:.1%}")
    print(f"geotag wall s (median of {args.runs}): {median:.3f}   runs: {[round(t, 3) for t in times]}")
    print(f"events/s: {rate:,.0f}   target >= {TARGET:,}: {'PASS' if rate >= TARGET else 'MISS'}")
    print(f"baseline (join to a precomputed address table) s: {statistics.median(baseline):.3f}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
