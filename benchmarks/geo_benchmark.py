"""Geo-tagging throughput: 1 M events from ~50,000 distinct sources, bundled GeoIP database.

    .venv/bin/python benchmarks/geo_benchmark.py [--events 1000000] [--sources 50000] [--runs 5]
        [--asn-db PATH|synthetic]

Prints events/s (median of runs, in-process, after one warm-up), wall time, peak RSS, and a
same-run baseline: the time to join the events to a precomputed per-address table (the floor
any per-distinct-address tagger pays). Target from the geo issue: >= 2,000,000 events/s.

Then lookups/s (median of runs) on the distinct public sources, in geotag's order, for geoip2's
per-address Reader.country() against maxminddb (per address, and geotag's network-reuse loop),
after checking that all give the same answers; with --asn-db the same for AS lookups.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Callable

import geoip2.database
import geoip2.errors
import maxminddb
import polars as pl

from harness import WORK as WORK_ROOT, own_peak_rss_bytes, timed
from iptables_assets.enrich.geo import (
    BUNDLED_COUNTRY_DB, GeoLookup, _asn_of, _country_of, _named, classify, geotag,
)

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


def public_sources(events: pl.DataFrame) -> tuple[list[str], list[int | None]]:
    """The distinct public sources and their IPv4 values, in the order geotag looks them up."""
    frame = classify(events["src_ip"].unique())
    public = frame.filter(pl.col("address_class") == "public").sort("ipv4", nulls_last=True)
    return public["address"].to_list(), public["ipv4"].to_list()


def geoip2_each(method: Callable, answer: Callable, addresses: list[str]) -> list:
    """One geoip2 lookup (model object) per address, as GeoLookup.country/asn do."""
    results = []
    for address in addresses:
        try:
            results.append(answer(method(address)))
        except geoip2.errors.AddressNotFoundError:
            results.append((None, None))
    return results


def geoip2_reuse(reader: geoip2.database.Reader, addresses: list[str], ipv4: list[int | None]) -> list:
    """geoip2 with geotag's trick: skip addresses inside the network of the previous answer."""
    results, end, answer = [], -1, (None, None)
    for address, value in zip(addresses, ipv4):
        if value is None or value > end:
            try:
                model = reader.country(address)
                answer, network = _named(model), model.traits.network
            except geoip2.errors.AddressNotFoundError as error:
                answer, network = (None, None), error.network
            if value is not None:
                end = int(network.broadcast_address)
        results.append(answer)
    return results


def compare(label: str, candidates: dict[str, Callable], n: int, runs: int) -> None:
    """Print lookups/s of each candidate; stop if any answers differently from the first."""
    print(f"\n{label}: {n:,} distinct public sources, median of {runs} runs")
    reference = None
    for name, function in candidates.items():
        median, result, times = timed(function, runs)
        reference = result if reference is None else reference
        if result != reference:
            raise SystemExit(f"{name} answers differently from {next(iter(candidates))}")
        print(f"  {name:<48} {n / median:>12,.0f} lookups/s   runs s: {[round(t, 3) for t in times]}")
    print("  (all candidates gave identical answers)")


def compare_country(events: pl.DataFrame, runs: int) -> None:
    """geoip2 against maxminddb on the bundled country database, same addresses, same order."""
    addresses, ipv4 = public_sources(events)
    with geoip2.database.Reader(str(BUNDLED_COUNTRY_DB)) as reader, \
            maxminddb.open_database(str(BUNDLED_COUNTRY_DB)) as records, GeoLookup() as lookup:
        compare("country lookups", {
            "geoip2 Reader.country() per address": lambda: geoip2_each(reader.country, _named, addresses),
            "maxminddb Reader.get() per address": lambda: [_country_of(records.get(a)) for a in addresses],
            "geoip2 Reader.country() + network reuse": lambda: geoip2_reuse(reader, addresses, ipv4),
            "maxminddb + network reuse (geotag's path)": lambda: lookup._countries(addresses, ipv4),
        }, len(addresses), runs)


def compare_asn(events: pl.DataFrame, path: str, runs: int) -> None:
    """geoip2 against maxminddb on an ASN database (geotag looks AS numbers up per address)."""
    addresses, _ = public_sources(events)
    asn = lambda model: (model.autonomous_system_number, model.autonomous_system_organization)  # noqa: E731
    with geoip2.database.Reader(path) as reader, maxminddb.open_database(path) as records:
        print(f"\nASN database: {reader.metadata().database_type} ({path})")
        compare("AS lookups", {
            "geoip2 Reader.asn() per address": lambda: geoip2_each(reader.asn, asn, addresses),
            "maxminddb Reader.get() per address (geotag's path)": lambda: [_asn_of(records.get(a)) for a in addresses],
        }, len(addresses), runs)


def synthetic_asn_db(path: Path) -> str:
    """A GeoLite2-ASN-typed database of 60,000 random IPv4 networks (needs the test extra's
    mmdb-writer); written once."""
    if not path.is_file():
        from mmdb_writer import MMDBWriter
        from netaddr import IPNetwork, IPSet

        rng = random.Random(5)
        by_asn: dict[int, list[str]] = {}
        for i in range(60_000):
            prefix = rng.choice([16, 18, 20, 22, 24])
            first = f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.0"
            network = IPNetwork(f"{first}/{prefix}").cidr
            by_asn.setdefault(1000 + i % 5000, []).append(str(network))
        writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-ASN",
                            description={"en": "synthetic"})
        for number, networks in by_asn.items():
            writer.insert_network(IPSet(networks), {"autonomous_system_number": number,
                                                    "autonomous_system_organization": f"Example AS {number}"})
        path.parent.mkdir(parents=True, exist_ok=True)
        writer.to_db_file(str(path))
    return str(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sources", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--asn-db", help="an ASN .mmdb to compare AS lookups on, or 'synthetic'")
    args = parser.parse_args()

    events = make_events(args.events, args.sources)
    distinct = events["src_ip"].n_unique()
    with GeoLookup() as lookup:
        geotag(events.head(1000), lookup)  # warm-up
        median, tagged, times = timed(lambda: geotag(events, lookup), args.runs)
        table = lookup.table(events["src_ip"].unique().to_list())
        info = lookup.country_info
    join, _, _ = timed(lambda: events.join(table, left_on="src_ip", right_on="address", how="left",
                                           maintain_order="left"), args.runs)
    rate = args.events / median
    located = tagged.filter(pl.col("country_code").is_not_null()).height
    print(f"database: {info.database_type} built {info.build_date} ({info.path})")
    print(f"events: {args.events:,}  distinct sources: {distinct:,}  located: {located / args.events:.1%}")
    print(f"geotag wall s (median of {args.runs}): {median:.3f}   runs: {[round(t, 3) for t in times]}")
    print(f"events/s: {rate:,.0f}   target >= {TARGET:,}: {'PASS' if rate >= TARGET else 'MISS'}")
    print(f"baseline (join to a precomputed address table) s: {join:.3f}")
    print(f"peak RSS: {own_peak_rss_bytes() / 2 ** 20:.0f} MB")
    compare_country(events, args.runs)
    if args.asn_db:
        work = WORK_ROOT / "geo_benchmark" / "synthetic-asn.mmdb"
        compare_asn(events, synthetic_asn_db(work) if args.asn_db == "synthetic" else args.asn_db, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
