"""history_benchmark.py's input: a year of `geotagged_events` partitions, synthesised with a fixed seed.

~28,000 INPUT drops a day from ~50,000 heavy-tailed sources with activity windows of a day to a
year, ~60 skewed countries, ports skewed to a few favourites plus a long tail, mostly TCP SYN;
planted one-day scans and slow scanners whose ports the benchmark checks are found exactly.
Written straight as Parquet with the real schema (read from a tiny `iptables-assets generate` +
`run`); day 366 is kept aside for the incremental step. See benchmarks/README.md.

The header values are the product's generator's (`iptables_assets.sample`): the gateway's prefix,
action and MAC (`sample.host`), the public first octets, TTLs per source (`path_ttl`), TCP windows,
packet lengths and UDP ports (`sample.internet`); the volume, the sources' activity and the planted
scanners are this file's (a year of partitions without writing and parsing 10 M log lines).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from harness import CLI
from history_steps import Layout, child_env

from iptables_assets.sample.host import ACTIONS, DROP, MAC_WAN
from iptables_assets.sample.internet import (
    POPULAR_KEYS, PUBLIC_OCTETS, SYN_LENGTHS, TCP_WINDOWS, UDP_LENGTHS, path_ttl,
)

GENERATOR_VERSION = 2  # bump when the generated content changes, so old files are not reused
SEED = 20_251_101
FIRST_DAY = date(2025, 11, 1)  # the project's default first partition
DAYS = 365
EVENTS_PER_DAY = 28_000
N_SOURCES = 50_000

# ~60 source countries, most active first (weights fall off as a power of the rank).
COUNTRIES = (
    ("CN", "China"), ("US", "United States"), ("RU", "Russia"), ("IN", "India"), ("BR", "Brazil"),
    ("KR", "South Korea"), ("VN", "Vietnam"), ("DE", "Germany"), ("NL", "Netherlands"), ("TW", "Taiwan"),
    ("GB", "United Kingdom"), ("FR", "France"), ("ID", "Indonesia"), ("SG", "Singapore"), ("HK", "Hong Kong"),
    ("IR", "Iran"), ("JP", "Japan"), ("TR", "Turkey"), ("UA", "Ukraine"), ("TH", "Thailand"),
    ("BG", "Bulgaria"), ("RO", "Romania"), ("PL", "Poland"), ("CA", "Canada"), ("MX", "Mexico"),
    ("AR", "Argentina"), ("CO", "Colombia"), ("IT", "Italy"), ("ES", "Spain"), ("PK", "Pakistan"),
    ("BD", "Bangladesh"), ("PH", "Philippines"), ("MY", "Malaysia"), ("EG", "Egypt"), ("ZA", "South Africa"),
    ("AU", "Australia"), ("SE", "Sweden"), ("SC", "Seychelles"), ("LT", "Lithuania"), ("CZ", "Czechia"),
    ("HU", "Hungary"), ("GR", "Greece"), ("PT", "Portugal"), ("IL", "Israel"), ("SA", "Saudi Arabia"),
    ("AE", "United Arab Emirates"), ("KZ", "Kazakhstan"), ("BY", "Belarus"), ("CL", "Chile"), ("PE", "Peru"),
    ("VE", "Venezuela"), ("EC", "Ecuador"), ("NG", "Nigeria"), ("KE", "Kenya"), ("MA", "Morocco"),
    ("MD", "Moldova"), ("PA", "Panama"), ("BZ", "Belize"), ("FI", "Finland"), ("NO", "Norway"),
)
# Destination ports of drop logs: a few favourites, then a long tail of well-known services.
TOP_PORTS = ((22, 0.22), (23, 0.17), (445, 0.12), (80, 0.09), (443, 0.07), (3389, 0.07))
TAIL_PORTS = (8080, 25, 5900, 1433, 3306, 21, 8443, 2222, 6379, 5432, 8888, 9200, 27017, 81, 8000, 8081,
              7547, 2323, 9000, 110, 143, 993, 995, 135, 139, 1723, 5555, 8728, 37215, 52869, 60001,
              49152, 9100, 11211, 2375, 5985, 10000, 8001, 8090, 4443, 3000, 7001, 9090, 1080, 3128)
UDP_PORTS = tuple(port for proto, port in POPULAR_KEYS if proto == "UDP")  # the sample's UDP favourites
FIRST_OCTETS = PUBLIC_OCTETS
TCP_FLAGS = (("SYN", 0.955), ("ACK RST", 0.02), ("ACK FIN", 0.012), ("RST", 0.008), ("ACK", 0.005))
SCAN_FLAGS = {"SYN": "SYN", "FIN": "FIN", "NULL": "", "XMAS": "URG PSH FIN"}
SERVER = ("203.0.113.10", "203.0.113.11", "203.0.113.12")
MAC = MAC_WAN

# Planted scanners (addresses outside the background pool). Days are fractions of the year.
# One-day ("nmap -T insane"-like): (address, country, day fraction, distinct ports, kind).
FAST_SCANNERS = (
    ("198.51.100.7", "CN", 0.05, 1_000, "SYN"),
    ("198.51.100.8", "RU", 0.20, 1_500, "FIN"),
    ("198.51.100.9", "US", 0.33, 2_500, "NULL"),
    ("198.51.100.10", "NL", 0.50, 4_000, "XMAS"),
    ("198.51.100.11", "KR", 0.66, 10_000, "SYN"),
    ("198.51.100.12", "BR", 0.80, 65_535, "SYN"),
    ("198.51.100.13", "DE", 0.90, 120, "UDP"),
)
# Slow ("nmap -T paranoid"-like, under the daily threshold every day):
# (address, country, first day fraction, days, new ports per day).
SLOW_SCANNERS = (
    ("192.0.2.21", "CN", 0.10, 120, 25),
    ("192.0.2.22", "IR", 0.30, 200, 10),
    ("192.0.2.23", "VN", 0.55, 60, 40),
    ("192.0.2.24", "US", 0.02, 300, 3),
)


# --------------------------------------------------------------------------- schema


def real_schema(layout: Layout):
    """The schema of a real `geotagged_events` partition: a tiny generated log run through
    `iptables-assets generate` + `iptables-assets run` (kept under the work folder)."""
    import polars as pl

    geo = layout.sample / "sample_out" / "geotagged_events"
    files = sorted(geo.glob("*.parquet")) if geo.exists() else []
    if not files:
        print("reading the real geotagged_events schema from a tiny sample run ...", flush=True)
        shutil.rmtree(layout.sample, ignore_errors=True)
        layout.sample.mkdir(parents=True)
        env = child_env(layout)
        env["DAGSTER_HOME"] = str(layout.sample / "home")
        Path(env["DAGSTER_HOME"]).mkdir()
        (Path(env["DAGSTER_HOME"]) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        for argv in (
            ["generate", "--out", str(layout.sample / "logs"), "--days", "2", "--events-per-day", "500"],
            ["run", "--logs", str(layout.sample / "logs"), "--out", str(layout.sample / "sample_out")],
        ):
            done = subprocess.run([str(CLI), *argv], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"`iptables-assets {' '.join(argv)}` failed:\n{done.stdout}\n{done.stderr}")
        files = sorted(geo.glob("*.parquet"))
    return pl.read_parquet(files[0]).schema


# --------------------------------------------------------------------------- data


@dataclass
class Sources:
    ips: list[str]
    weight: object  # np.ndarray, heavy-tailed activity
    start: object  # first active day index
    end: object  # last active day index + 1
    country: object  # index into COUNTRIES, -1 = unknown
    profile: object  # 0 focused on one port, 1 wide (random ports), 2 UDP
    port: object  # preferred destination port of focused sources
    ttl: object  # the TTL its packets arrive with (`sample.internet.path_ttl`)


def _ipv4(rng, n: int, exclude: set[str]) -> list[str]:
    import numpy as np

    seen: set[str] = set(exclude)
    out: list[str] = []
    while len(out) < n:
        first = rng.choice(np.array(FIRST_OCTETS), size=2 * n)
        rest = rng.integers(0, 256, size=(2 * n, 2))
        last = rng.integers(1, 255, size=2 * n)
        for a, (b, c), d in zip(first.tolist(), rest.tolist(), last.tolist()):
            ip = f"{a}.{b}.{c}.{d}"
            if ip not in seen:
                seen.add(ip)
                out.append(ip)
                if len(out) == n:
                    break
    return out


def make_sources(days: int) -> Sources:
    """~50,000 background sources: heavy-tailed activity (Pareto weights), activity windows from
    one day to the whole year, a skewed country mix, most sources knocking on one favourite port."""
    import numpy as np

    rng = np.random.default_rng([SEED, 1])
    n = N_SOURCES
    planted = {s[0] for s in FAST_SCANNERS} | {s[0] for s in SLOW_SCANNERS}
    ips = _ipv4(rng, n, planted)
    weight = np.minimum(rng.pareto(1.2, size=n) + 1.0, 3_000.0)
    kind = rng.choice(4, size=n, p=[0.35, 0.35, 0.25, 0.05])  # one day, days, weeks, all year
    duration = np.select(
        [kind == 0, kind == 1, kind == 2],
        [np.ones(n, dtype=np.int64), rng.geometric(0.3, size=n), rng.geometric(0.03, size=n)],
        default=days + 100,
    )
    start = np.where(kind == 3, -50, rng.integers(-40, days + 1, size=n))
    end = start + duration
    ranks = np.arange(1, len(COUNTRIES) + 1)
    cp = 1.0 / ranks ** 1.1
    country = rng.choice(len(COUNTRIES), size=n, p=cp / cp.sum())
    country = np.where(rng.random(n) < 0.006, -1, country)  # not located by the GeoIP database
    profile = rng.choice(3, size=n, p=[0.93, 0.05, 0.02])
    top_p = np.array([p for _, p in TOP_PORTS])
    favourites = np.array([p for p, _ in TOP_PORTS] + list(TAIL_PORTS))
    tail_p = (1.0 - top_p.sum()) * (1 / np.arange(1, len(TAIL_PORTS) + 1)) / (1 / np.arange(1, len(TAIL_PORTS) + 1)).sum()
    port = rng.choice(favourites, size=n, p=np.concatenate([top_p, tail_p]))
    return Sources(ips, weight, start, end, country, profile, port, np.array([path_ttl(ip) for ip in ips]))


def day_volumes(days: int, per_day: int):
    """Events per day: weekly rhythm and noise around `per_day`, summing to days x per_day."""
    import numpy as np

    rng = np.random.default_rng([SEED, 2])
    d = np.arange(days + 1)
    shape = (1 + 0.12 * np.sin(2 * np.pi * d / 7)) * rng.lognormal(0.0, 0.18, size=days + 1)
    year = shape[:days] / shape[:days].sum() * days * per_day
    n = np.floor(year).astype(np.int64)
    n[: days * per_day - n.sum()] += 1
    return [int(x) for x in n] + [int(round(shape[days] / shape[:days].mean() * per_day))]


def synthesise_day(index: int, day: date, n: int, sources: Sources, days: int, schema):
    """One day of geo-tagged INPUT drops (the real schema): background traffic plus the planted
    scanners active that day, sorted by time."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng([SEED, 3, index])
    active = np.flatnonzero((sources.start <= index) & (index < sources.end))
    p = sources.weight[active] / sources.weight[active].sum()
    src = active[rng.choice(len(active), size=n, p=p)]
    profile = sources.profile[src]

    top = np.array([p for p, _ in TOP_PORTS] + list(TAIL_PORTS))
    top_p = np.array([w for _, w in TOP_PORTS] + [0.2 / len(TAIL_PORTS)] * len(TAIL_PORTS))
    common = rng.choice(top, size=n, p=top_p / top_p.sum())
    anywhere = rng.integers(1, 65536, size=n)
    udp = rng.choice(np.array(UDP_PORTS), size=n)
    v = rng.random(n)
    port = np.select(
        [profile == 0, profile == 1],
        [np.where(v < 0.88, sources.port[src], np.where(v < 0.97, common, anywhere)),
         np.where(v < 0.4, common, anywhere)],
        default=udp,
    )
    proto = np.where(rng.random(n) < 0.02, 2, np.where(profile == 2, 1, 0))  # 0 TCP, 1 UDP, 2 ICMP
    flag_names = [f for f, _ in TCP_FLAGS]
    flags = rng.choice(len(TCP_FLAGS), size=n, p=[w for _, w in TCP_FLAGS]).astype(np.int64)
    seconds = rng.integers(0, 86_400, size=n)
    ips = sources.ips
    country = sources.country[src]

    # Planted scanners: extra addresses appended to the address pool.
    extra_ips: list[str] = []
    parts = []
    for ip, cc, frac, n_ports, kind in FAST_SCANNERS:
        if int(frac * days) != index:
            continue
        rs = np.random.default_rng([SEED, 4, len(extra_ips), index])
        ports = (rs.permutation(65_535)[:n_ports] + 1)
        t0 = int(rs.integers(0, 86_400 - 1_800))
        parts.append((len(extra_ips), cc, ports, t0 + np.sort(rs.integers(0, 1_800, size=n_ports)),
                      1 if kind == "UDP" else 0, kind))
        extra_ips.append(ip)
    for ip, cc, frac, n_days, per_day in SLOW_SCANNERS:
        k = index - int(frac * days)
        if not 0 <= k < n_days or index >= days:
            continue
        rs = np.random.default_rng([SEED, 5, len(extra_ips), index])
        ports = 1 + (np.arange(k * per_day, (k + 1) * per_day) * 7) % 65_535  # a slow sweep, 7 apart
        parts.append((len(extra_ips), cc, ports, np.sort(rs.integers(0, 86_400, size=per_day)), 0, "SYN"))
        extra_ips.append(ip)
    code_index = {c: i for i, (c, _) in enumerate(COUNTRIES)}
    if parts:
        flag_names = flag_names + list(SCAN_FLAGS.values())
        for slot, cc, ports, secs, proto_k, kind in parts:
            m = len(ports)
            src = np.concatenate([src, np.full(m, len(ips) + slot)])
            port = np.concatenate([port, ports])
            proto = np.concatenate([proto, np.full(m, proto_k)])
            kind_flag = len(TCP_FLAGS) + list(SCAN_FLAGS).index(kind if kind in SCAN_FLAGS else "SYN")
            flags = np.concatenate([flags, np.full(m, kind_flag)])
            seconds = np.concatenate([seconds, secs])
            country = np.concatenate([country, np.full(m, code_index[cc])])
        ips = ips + extra_ips
    ttls = np.concatenate([sources.ttl, np.array([path_ttl(ip) for ip in extra_ips], dtype=sources.ttl.dtype)])
    order = np.argsort(seconds, kind="stable")
    src, port, proto, flags, seconds, country = (a[order] for a in (src, port, proto, flags, seconds, country))
    m = len(src)

    midnight = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()) * 1_000_000
    codes = pl.Series([c for c, _ in COUNTRIES] + [None], dtype=pl.String)
    names = pl.Series([nm for _, nm in COUNTRIES] + [None], dtype=pl.String)
    cidx = np.where(country < 0, len(COUNTRIES), country)
    length = np.select([proto == 0, proto == 1],
                       [rng.choice(SYN_LENGTHS, size=m), rng.choice(UDP_LENGTHS, size=m)], 84)
    frame = pl.DataFrame({
        "timestamp": pl.Series(midnight + seconds * 1_000_000, dtype=pl.Int64),
        "src_ip": pl.Series(ips, dtype=pl.String).gather(src),
        "dst_ip": pl.Series(SERVER, dtype=pl.String).gather(rng.choice(3, size=m, p=[0.9, 0.07, 0.03])),
        "proto": pl.Series(["TCP", "UDP", "ICMP"], dtype=pl.String).gather(proto),
        "length": length,
        "ttl": ttls[src],
        "ip_id": rng.integers(0, 65_536, size=m),
        "ip_flags": pl.Series(["", "DF"], dtype=pl.String).gather((rng.random(m) < 0.08).astype(np.int64)),
        "src_port": rng.integers(1_024, 65_536, size=m),
        "dst_port": port,
        "tcp_flags": pl.Series(flag_names, dtype=pl.String).gather(flags),
        "tcp_window": rng.choice(TCP_WINDOWS, size=m),
        "udp_length": length - 20,
        "icmp_id": rng.integers(0, 65_536, size=m),
        "icmp_seq": rng.integers(0, 20, size=m),
        "line_number": np.arange(1, m + 1),
        "country_code": codes.gather(cidx),
        "country_name": names.gather(cidx),
    })
    tcp, udp_, icmp = (pl.col("proto") == "TCP"), (pl.col("proto") == "UDP"), (pl.col("proto") == "ICMP")
    constants = {
        "host": "gw01", "program": "kernel", "prefix": DROP.strip(), "action": ACTIONS[DROP],
        "in_iface": "eth0", "out_iface": "", "mac": MAC, "ip_version": 4, "tos": 0, "prec": 0,
        "source_file": "kern.log", "address_class": "public",
    }
    masked = {
        "src_port": ~icmp, "dst_port": ~icmp, "tcp_flags": tcp, "tcp_window": tcp, "udp_length": udp_,
        "icmp_id": icmp, "icmp_seq": icmp,
    }
    columns = []
    for name, dtype in schema.items():
        if name == "timestamp":
            expr = pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        elif name in ("tcp_res", "tcp_urgp"):
            expr = pl.when(tcp).then(pl.lit(0))
        elif name == "icmp_type":
            expr = pl.when(icmp).then(pl.lit(8))
        elif name == "icmp_code":
            expr = pl.when(icmp).then(pl.lit(0))
        elif name in masked:
            expr = pl.when(masked[name]).then(pl.col(name))
        elif name in constants:
            expr = pl.lit(constants[name])
        elif name in frame.columns:
            expr = pl.col(name)
        else:
            expr = pl.lit(None)
        columns.append(expr.cast(dtype).alias(name))
    out = frame.select(columns)
    assert out.schema == schema, (out.schema, schema)
    return out


def write_parquet(frame, path: Path) -> None:
    """As the project's IO manager writes: zstd, statistics, atomic replace."""
    tmp = path.with_name(f".{path.name}.tmp")
    frame.write_parquet(tmp, compression="zstd", statistics=True)
    os.replace(tmp, path)


def prepare(layout: Layout) -> dict:
    """Generate (or reuse) the year of geo-tagged partitions and day 366's file."""
    import polars as pl

    schema = real_schema(layout)
    key = {
        "generator": GENERATOR_VERSION, "seed": SEED, "first_day": layout.first_day.isoformat(),
        "days": layout.days, "events_per_day": layout.events_per_day, "sources": N_SOURCES,
        "schema": [f"{k}:{v}" for k, v in schema.items()],
    }
    if layout.manifest.exists():
        manifest = json.loads(layout.manifest.read_text())
        if manifest.get("key") == key and all(p.exists() for p in layout.year_files()) and layout.new_day_source.exists():
            print(f"reusing {layout.days} generated days in {layout.geo} ({manifest['events']:,} events)", flush=True)
            return manifest
    print(f"generating {layout.days} days x ~{layout.events_per_day:,} events of geotagged_events "
          f"(+ day {layout.days + 1}) in {layout.geo} ...", flush=True)
    t0 = time.perf_counter()
    shutil.rmtree(layout.data, ignore_errors=True)
    layout.geo.mkdir(parents=True)
    layout.new_day_source.parent.mkdir(parents=True)
    layout.logs.mkdir(parents=True)
    sources = make_sources(layout.days)
    volumes = day_volumes(layout.days, layout.events_per_day)
    events = 0
    for i in range(layout.days + 1):
        day = layout.first_day + timedelta(days=i)
        frame = synthesise_day(i, day, volumes[i], sources, layout.days, schema)
        if i < layout.days:
            events += frame.height
            write_parquet(frame, layout.geo / f"{day}.parquet")
        else:
            new_day_events = frame.height
            write_parquet(frame, layout.new_day_source)
        if (i + 1) % 50 == 0:
            print(f"  {i + 1} days, {time.perf_counter() - t0:.0f} s", flush=True)
    year = pl.scan_parquet([str(p) for p in layout.year_files()])
    distinct = year.select(pl.col("src_ip").n_unique()).collect().item()
    manifest = {
        "key": key, "events": events, "new_day_events": new_day_events, "distinct_sources": distinct,
        "seconds": round(time.perf_counter() - t0, 1),
        "fast_scanners": [
            {"src_ip": ip, "day": str(layout.first_day + timedelta(days=int(f * layout.days))), "ports": n, "kind": k}
            for ip, _, f, n, k in FAST_SCANNERS
        ],
        "slow_scanners": [  # (a short --days history cuts their windows)
            {"src_ip": ip, "days": n, "ports": n * k}
            for ip, _, f, d, k in SLOW_SCANNERS
            for n in [max(0, min(d, layout.days - int(f * layout.days)))]
        ],
    }
    layout.manifest.write_text(json.dumps(manifest, indent=1))
    print(f"generated {events:,} events ({distinct:,} distinct sources) in {manifest['seconds']} s", flush=True)
    return manifest
