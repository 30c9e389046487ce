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

See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from harness import (
    CLI, REPO, Run, load, machine_info, measure, median, own_peak_rss_bytes, package_dir, print_profile,
    source_fingerprint, warn_if_changed,
)

# Targets from the aggregates issue (issue 4).
TARGET_HISTORY_S = 30.0
TARGET_INCREMENTAL_S = 20.0
TARGET_PEAK_RSS_BYTES = 2e9
TARGET_FIGURES_S = 60.0  # the figures issue (issue 5)
TARGET_DAY_FRAMES_S = 3.0  # the animations issue (issue 6): a day's three frames
TARGET_GIF_S = 30.0  # assembling one film of 365 frames
TARGET_MAP_GIF_BYTES = 20e6

GENERATOR_VERSION = 1  # bump when the generated content changes, so old files are not reused
SEED = 20_251_101
FIRST_DAY = date(2025, 11, 1)  # the project's default first partition
DAYS = 365
EVENTS_PER_DAY = 28_000
N_SOURCES = 50_000

DAILY_ASSETS = ("daily_country_counts", "daily_port_counts", "daily_country_port_counts", "daily_source_summary",
                "daily_port_scans")
HISTORY_FILES = ("country_totals", "top_country_daily_series", "port_totals", "port_scans",
                 "longterm_port_scans", "scan_summary")
BENCH_DAILY_JOB = "bench_daily_aggregates"
BENCH_SETUP_JOB = "bench_country_reference"
BENCH_HISTORY_JOB = "bench_history"
BENCH_FIGURES_JOB = "bench_figures"
BENCH_FRAMES_JOB = "bench_frames"
BENCH_FILMS_JOB = "bench_films"
# The columns of geotagged_events that the daily aggregates use.
USED_COLUMNS = ("timestamp", "action", "in_iface", "out_iface", "src_ip", "dst_ip", "proto", "dst_port",
                "tcp_flags", "country_code", "country_name")
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

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
UDP_PORTS = (53, 123, 161, 1900, 5060, 11211, 137, 500, 4500, 19, 389, 3702, 5353, 1194, 51820)
FIRST_OCTETS = (1, 2, 5, 14, 23, 27, 31, 36, 37, 41, 42, 45, 46, 58, 59, 61, 62, 77, 78, 80, 85, 88, 89,
                91, 92, 94, 103, 106, 109, 110, 111, 112, 113, 115, 116, 117, 118, 119, 121, 122, 123,
                124, 125, 139, 141, 150, 154, 159, 162, 164, 167, 176, 178, 179, 180, 181, 182, 183,
                185, 186, 187, 188, 189, 190, 191, 193, 194, 195, 196, 197, 200, 201, 202, 210, 211,
                212, 213, 217, 218, 219, 220, 221, 222, 223)
TCP_FLAGS = (("SYN", 0.955), ("ACK RST", 0.02), ("ACK FIN", 0.012), ("RST", 0.008), ("ACK", 0.005))
SCAN_FLAGS = {"SYN": "SYN", "FIN": "FIN", "NULL": "", "XMAS": "URG PSH FIN"}
SERVER = ("203.0.113.10", "203.0.113.11", "203.0.113.12")
MAC = "52:54:00:8a:3c:1e:fe:ff:ff:ff:ff:ff:08:00"

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


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Layout:
    root: Path
    first_day: date
    days: int
    events_per_day: int

    @property
    def data(self) -> Path:  # everything for one (first day, days, events/day)
        return self.root / f"{self.first_day}_{self.days}d_{self.events_per_day}"

    @property
    def out(self) -> Path:
        return self.data / "out"

    @property
    def logs(self) -> Path:  # an empty log folder: the selected jobs never read logs
        return self.data / "logs"

    @property
    def geo(self) -> Path:
        return self.out / "geotagged_events"

    @property
    def new_day(self) -> date:
        return self.first_day + timedelta(days=self.days)

    @property
    def new_day_source(self) -> Path:  # day 366's geo-tagged file, copied in by the incremental step
        return self.data / "new_day" / f"{self.new_day}.parquet"

    @property
    def manifest(self) -> Path:
        return self.data / "manifest.json"

    @property
    def sample(self) -> Path:
        return self.root / "schema_sample"

    def year_files(self) -> list[Path]:
        return [self.geo / f"{self.first_day + timedelta(days=i)}.parquet" for i in range(self.days)]


def child_env(layout: Layout) -> dict[str, str]:
    """Environment of every child: partitions from the first generated day, UTC, no telemetry."""
    env = dict(os.environ)
    env.update({
        "IPTABLES_ASSETS_START_DATE": layout.first_day.isoformat(),
        "IPTABLES_ASSETS_TZ": "UTC",
        "IPTABLES_ASSETS_LOG_DIR": str(layout.logs),
        "IPTABLES_ASSETS_OUT_DIR": str(layout.out),
        "DAGSTER_HOME": str(layout.root / "dagster_home"),
        "PYTHONWARNINGS": "ignore",
    })
    return env


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
    return Sources(ips, weight, start, end, country, profile, port)


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
    order = np.argsort(seconds, kind="stable")
    src, port, proto, flags, seconds, country = (a[order] for a in (src, port, proto, flags, seconds, country))
    m = len(src)

    midnight = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()) * 1_000_000
    codes = pl.Series([c for c, _ in COUNTRIES] + [None], dtype=pl.String)
    names = pl.Series([nm for _, nm in COUNTRIES] + [None], dtype=pl.String)
    cidx = np.where(country < 0, len(COUNTRIES), country)
    length = np.select([proto == 0, proto == 1], [rng.choice([40, 44, 60], size=m), 28 + rng.integers(0, 400, size=m)], 84)
    frame = pl.DataFrame({
        "timestamp": pl.Series(midnight + seconds * 1_000_000, dtype=pl.Int64),
        "src_ip": pl.Series(ips, dtype=pl.String).gather(src),
        "dst_ip": pl.Series(SERVER, dtype=pl.String).gather(rng.choice(3, size=m, p=[0.9, 0.07, 0.03])),
        "proto": pl.Series(["TCP", "UDP", "ICMP"], dtype=pl.String).gather(proto),
        "length": length,
        "ttl": rng.choice([241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 50, 51, 52, 53, 54, 111, 112, 113, 114, 115], size=m),
        "ip_id": rng.integers(0, 65_536, size=m),
        "ip_flags": pl.Series(["", "DF"], dtype=pl.String).gather((rng.random(m) < 0.08).astype(np.int64)),
        "src_port": rng.integers(1_024, 65_536, size=m),
        "dst_port": port,
        "tcp_flags": pl.Series(flag_names, dtype=pl.String).gather(flags),
        "tcp_window": rng.choice([1024, 1024, 65535, 29200, 14600, 64240, 42340], size=m),
        "udp_length": length - 20,
        "icmp_id": rng.integers(0, 65_536, size=m),
        "icmp_seq": rng.integers(0, 20, size=m),
        "line_number": np.arange(1, m + 1),
        "country_code": codes.gather(cidx),
        "country_name": names.gather(cidx),
    })
    tcp, udp_, icmp = (pl.col("proto") == "TCP"), (pl.col("proto") == "UDP"), (pl.col("proto") == "ICMP")
    constants = {
        "host": "gw01", "program": "kernel", "prefix": "IPTables-Dropped:", "action": "drop",
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


def clean_outputs(layout: Layout) -> None:
    """Back to 'only geotagged_events exists' for the year: no daily aggregates, no history
    assets, no exports, no day 366."""
    for name in DAILY_ASSETS:
        shutil.rmtree(layout.out / name, ignore_errors=True)
    for name in HISTORY_FILES:
        (layout.out / f"{name}.parquet").unlink(missing_ok=True)
    shutil.rmtree(layout.out / "exports", ignore_errors=True)
    (layout.geo / f"{layout.new_day}.parquet").unlink(missing_ok=True)


def reset_new_day(layout: Layout) -> None:
    """State before an incremental run: the year is aggregated, day 366's events just arrived."""
    for name in DAILY_ASSETS:
        (layout.out / name / f"{layout.new_day}.parquet").unlink(missing_ok=True)
    shutil.copyfile(layout.new_day_source, layout.geo / f"{layout.new_day}.parquet")


def du(path: Path, pattern: str = "**/*") -> tuple[int, int]:
    files = [p for p in path.glob(pattern) if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


# --------------------------------------------------------------------------- child steps


def _definitions(layout: Layout):
    import dagster as dg

    from iptables_assets.defs.definitions import build_definitions
    from iptables_assets.defs.jobs import DAILY_TABLES, HISTORY
    from iptables_assets.settings import Settings

    defs = build_definitions(Settings.from_environment(log_dir=str(layout.logs), out_dir=str(layout.out)))
    extra = dg.Definitions(jobs=[
        dg.define_asset_job(BENCH_DAILY_JOB, selection=dg.AssetSelection.assets(*DAILY_TABLES)),
        dg.define_asset_job(BENCH_SETUP_JOB, selection=dg.AssetSelection.assets("country_reference", "log_file_inventory")),
        dg.define_asset_job(BENCH_HISTORY_JOB, selection=dg.AssetSelection.assets(*HISTORY[:6])),
        dg.define_asset_job(BENCH_FIGURES_JOB, selection=dg.AssetSelection.tag("journal", "figure")),
        dg.define_asset_job(BENCH_FRAMES_JOB, selection=dg.AssetSelection.tag("journal", "frames"),
                            executor_def=dg.in_process_executor),
        # the GIFs (the journal also needs the sshd tables, which this benchmark does not make)
        dg.define_asset_job(BENCH_FILMS_JOB, selection=dg.AssetSelection.tag("journal", "film")),
    ])
    return dg.Definitions.merge(defs, extra)


def child(step: str, layout: Layout, cprofile_top: int = 0, chunk_days: int = 0, instance_kind: str = "ephemeral") -> int:
    """One measured step, in this (fresh) process; prints `RESULT {json}` last."""
    t_start = time.perf_counter()
    result: dict = {"step": step}
    if step.startswith("baseline"):
        import polars as pl

        glob = str(layout.geo / "*.parquet")
        t0 = time.perf_counter()
        if step == "baseline-count":
            result["rows"] = pl.scan_parquet(glob).select(pl.len()).collect().item()
        elif step == "baseline-columns":
            result["rows"] = pl.scan_parquet(glob).select(USED_COLUMNS).collect().height
        else:
            result["rows"] = pl.scan_parquet(glob).collect().height
        result["work_s"] = time.perf_counter() - t0
    else:
        import dagster as dg

        from iptables_assets.defs.automation import RANGE_END_TAG as ASSET_PARTITION_RANGE_END_TAG
        from iptables_assets.defs.automation import RANGE_START_TAG as ASSET_PARTITION_RANGE_START_TAG

        defs = _definitions(layout)
        for name in (BENCH_DAILY_JOB, BENCH_SETUP_JOB, BENCH_HISTORY_JOB, BENCH_FIGURES_JOB, BENCH_FRAMES_JOB,
                     BENCH_FILMS_JOB):
            defs.resolve_job_def(name)  # build the asset graph before the clock starts
        instance = dg.DagsterInstance.get() if instance_kind == "sqlite" else dg.DagsterInstance.ephemeral()
        result["startup_s"] = time.perf_counter() - t_start

        def run(job: str, **kwargs) -> float:
            t0 = time.perf_counter()
            outcome = defs.resolve_job_def(job).execute_in_process(instance=instance, run_config=QUIET, **kwargs)
            if not outcome.success:
                raise SystemExit(f"{job} failed")
            elapsed = time.perf_counter() - t0
            result["step_s"] = {
                s.step_key: round(s.end_time - s.start_time, 2)
                for s in instance.get_run_step_stats(outcome.run_id) if s.end_time and s.start_time
            }
            return elapsed

        profiler = cProfile.Profile() if cprofile_top else None
        if profiler:
            profiler.enable()
        if step == "setup":
            result["work_s"] = run(BENCH_SETUP_JOB)
        elif step == "daily":
            # One single-run backfill of every day (or, with --daily-chunk-days, several in a row).
            chunk = chunk_days or layout.days
            result["work_s"] = 0.0
            for offset in range(0, layout.days, chunk):
                first = layout.first_day + timedelta(days=offset)
                last = layout.first_day + timedelta(days=min(offset + chunk, layout.days) - 1)
                result["work_s"] += run(BENCH_DAILY_JOB, tags={
                    ASSET_PARTITION_RANGE_START_TAG: first.isoformat(),
                    ASSET_PARTITION_RANGE_END_TAG: last.isoformat(),
                })
            result["runs"] = -(-layout.days // chunk)
        elif step == "history":
            result["work_s"] = run(BENCH_HISTORY_JOB)
        elif step == "figures":
            result["work_s"] = run(BENCH_FIGURES_JOB)
        elif step == "animation":
            result["frames_s"] = run(BENCH_FRAMES_JOB, tags={
                ASSET_PARTITION_RANGE_START_TAG: layout.first_day.isoformat(),
                ASSET_PARTITION_RANGE_END_TAG: (layout.new_day - timedelta(days=1)).isoformat(),
            })
            result["frame_steps_s"] = result["step_s"]
            frames_metadata = {
                key.path[-1]: instance.get_latest_materialization_event(key).asset_materialization.metadata
                for key in (dg.AssetKey(f"{n}_frames") for n in ("drops_map", "well_known_ports", "top_ports"))
            }
            result["per_frame_s"] = {k: m["median_seconds_per_frame"].value for k, m in frames_metadata.items()}
            result["frames_per_second"] = {k: m["frames_per_second"].value for k, m in frames_metadata.items()
                                           if "frames_per_second" in m}
            result["films_s"] = run(BENCH_FILMS_JOB)
            result["gif_bytes"] = {p.stem: p.stat().st_size for p in (layout.out / "journal" / "animations").glob("*.gif")}
            result["work_s"] = result["frames_s"] + result["films_s"]
        elif step == "incremental":
            result["daily_s"] = run(BENCH_DAILY_JOB, partition_key=layout.new_day.isoformat())
            result["history_s"] = run(BENCH_HISTORY_JOB)
            result["work_s"] = result["daily_s"] + result["history_s"]
        else:
            raise SystemExit(f"unknown step {step!r}")
        if profiler:
            profiler.disable()
            print_profile(profiler, cprofile_top, f"step {step}: {result['work_s']:.2f} s in the job(s)")
    result["self_maxrss_bytes"] = own_peak_rss_bytes()
    result["total_s"] = time.perf_counter() - t_start
    print("RESULT " + json.dumps(result), flush=True)
    return 0


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
    ap.add_argument("--workdir", type=Path, default=REPO / "benchmarks" / "_work" / "history_benchmark",
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

    ok = report(layout, manifest, runs, baselines, args)
    print("-" * 110)
    print("sanity:")
    for line in checks:
        print(line)
    ok &= not any("[MISMATCH]" in line for line in checks)
    print(f"load average after: {load()}; total benchmark time {time.perf_counter() - t_begin:.0f} s")
    warn_if_changed(fingerprint)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
