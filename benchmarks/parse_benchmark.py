"""Throughput / memory benchmark of `iptables-assets parse` on a ~1 M line syslog file.

Generates (once, deterministically) a realistic server syslog — ~90 % kernel netfilter lines
(iptables LOG `IPTables-Dropped:` TCP/UDP/ICMP, some IPv6, some `[UFW BLOCK]`), ~10 % other
daemons' noise — plus a `gzip -6` copy, then times `iptables-assets parse FILE --format parquet
-o OUT.parquet` in a fresh subprocess per run (wall time and the child's peak RSS via
`os.wait4`), next to same-run baselines `wc -l FILE` and `zcat FILE.gz | wc -l`.

    .venv/bin/python benchmarks/parse_benchmark.py --runs 3
    .venv/bin/python benchmarks/parse_benchmark.py --runs 0 --profile   # profile only

See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness import (
    CLI, REPO, Run, load, machine_info, measure, median, print_profile, source_fingerprint, warn_if_changed,
)

# Targets from the issues (14, parts 0 and 2). Marginal lines/s leave out the fixed cost (the
# median parse of a 10-line file: interpreter, imports, the compiled scanner's cache).
TARGET_FIXED_S = 0.8
TARGET_PLAIN_MARGINAL_LINES_PER_S = 1_000_000
TARGET_GZIP_RATIO = 0.70
TARGET_PEAK_RSS_BYTES = 1.0e9

GENERATOR_VERSION = 1  # bump when the generated content changes, so old files are not reused
SEED = 20_240_601
HOST = "web01"
SERVER_V4 = ("203.0.113.10", "203.0.113.11")
SERVER_V6 = "2001:db8:4f8:1c1c::2"
MACS = (
    "52:54:00:12:34:56:00:26:cb:1a:2f:80:08:00",
    "52:54:00:12:34:56:00:26:cb:1a:2f:81:08:00",
)
MAC_V6 = "52:54:00:12:34:56:00:26:cb:1a:2f:80:86:dd"
# A week of logs; files get a fixed mtime just after it so the year inference is reproducible.
START_EPOCH = 1_760_918_400  # 2025-10-20 00:00:00 UTC
SPAN_S = 7 * 86400
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Line kinds and their shares (sum 1): ~90 % netfilter, ~10 % noise.
KINDS = (
    ("tcp_syn", 0.545),      # IPTables-Dropped TCP SYN (scanners)
    ("tcp_other", 0.040),    # IPTables-Dropped TCP with DF / ACK / RST / options
    ("udp", 0.130),          # IPTables-Dropped UDP (second LEN=)
    ("icmp", 0.045),         # IPTables-Dropped ICMP echo
    ("ufw", 0.110),          # [UFW BLOCK] TCP/UDP
    ("v6", 0.030),           # IPv6 TCP / ICMPv6
    ("noise", 0.100),        # sshd, CRON, systemd, postfix, non-netfilter kernel messages
)
NETFILTER_KINDS = {"tcp_syn", "tcp_other", "udp", "icmp", "ufw", "v6"}

TCP_PORTS = (22, 23, 80, 443, 3389, 8080, 445, 1433, 3306, 5900, 6379, 8443, 2222, 21, 25,
             110, 143, 5432, 8888, 9200, 27017, 5060, 81, 8000, 8081, 7547, 2323, 9000)
UDP_PORTS = (53, 123, 161, 1900, 5060, 11211, 137, 500, 4500, 19, 389, 3702, 5353, 1194, 51820)
TTLS = (241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 50, 51, 52, 53, 54, 55, 56, 57, 58,
        111, 112, 113, 114, 115, 116, 117, 118)
WINDOWS = (1024, 1024, 1024, 65535, 29200, 14600, 64240, 42340)


@dataclass
class Dataset:
    plain: Path
    gz: Path
    lines: int
    netfilter_lines: int
    kinds: dict[str, int]


@dataclass
class Result:
    label: str
    path: Path
    parser: list[Run] = field(default_factory=list)
    baseline: list[Run] = field(default_factory=list)
    baseline_cmd: str = ""
    records: int | None = None


# --------------------------------------------------------------------------- generation


def _ipv4_pool(rng: np.random.Generator, n: int) -> list[str]:
    """`n` distinct-ish public-looking IPv4 addresses (first octet avoids 0/10/127/224+)."""
    first = rng.choice([o for o in range(1, 224) if o not in (10, 127, 172, 192, 100)], n)
    rest = rng.integers(0, 256, (n, 3))
    rest[:, 2] = np.clip(rest[:, 2], 1, 254)
    return [f"{a}.{b}.{c}.{d}" for a, (b, c, d) in zip(first.tolist(), rest.tolist())]


def _ipv6_pool(rng: np.random.Generator, n: int) -> list[str]:
    words = rng.integers(0, 0x10000, (n, 5)).tolist()
    prefixes = ("2a01:4f8", "2001:470", "2604:a880", "2a03:b0c0", "2400:6180")
    return [f"{prefixes[i % len(prefixes)]}:{w[0]:x}:{w[1]:x}::{w[2]:x}:{w[3]:x}" for i, w in enumerate(words)]


def _zipf_index(rng: np.random.Generator, pool: int, size: int, a: float = 1.1) -> np.ndarray:
    """Indices into a pool with a heavy head (a few noisy scanners) and a long tail."""
    return (rng.zipf(a, size) - 1) % pool


def generate(path: Path, n_lines: int, seed: int = SEED) -> dict[str, int]:
    """Write `n_lines` syslog lines to `path`; returns counts per kind."""
    rng = np.random.default_rng(seed)
    src4 = _ipv4_pool(rng, 30_000)
    src6 = _ipv6_pool(rng, 2_000)
    names = [k for k, _ in KINDS]
    shares = np.array([p for _, p in KINDS])
    kinds = rng.choice(len(names), n_lines, p=shares / shares.sum())
    offsets = np.sort(rng.integers(0, SPAN_S * 1_000_000, n_lines))  # microseconds, file order
    boot_us = 3 * 86400 * 1_000_000 + 123_456_789  # uptime at START_EPOCH

    # All random columns up front (tolist() gives plain ints: fast formatting in the loop).
    cols = {
        "src": _zipf_index(rng, len(src4), n_lines).tolist(),
        "src6": _zipf_index(rng, len(src6), n_lines).tolist(),
        "dst": rng.integers(0, len(SERVER_V4), n_lines).tolist(),
        "mac": rng.integers(0, len(MACS), n_lines).tolist(),
        "ttl": rng.integers(0, len(TTLS), n_lines).tolist(),
        "ipid": rng.integers(0, 65536, n_lines).tolist(),
        "spt": rng.integers(1024, 65536, n_lines).tolist(),
        "tport": rng.integers(0, len(TCP_PORTS), n_lines).tolist(),
        "uport": rng.integers(0, len(UDP_PORTS), n_lines).tolist(),
        "rport": rng.integers(1, 65536, n_lines).tolist(),
        "random_port": (rng.random(n_lines) < 0.35).tolist(),
        "win": rng.integers(0, len(WINDOWS), n_lines).tolist(),
        "sub": rng.integers(0, 8, n_lines).tolist(),
        "ulen": rng.integers(8, 120, n_lines).tolist(),
        "pid": rng.integers(1000, 60000, n_lines).tolist(),
    }
    counts = {name: 0 for name in names}
    day_prefix = []
    for d in range(SPAN_S // 86400 + 1):
        t = time.gmtime(START_EPOCH + d * 86400)
        day_prefix.append(f"{MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} ")

    noise_templates = (
        "sshd[{pid}]: Invalid user admin from {ip} port {spt}",
        "sshd[{pid}]: Connection closed by invalid user root {ip} port {spt} [preauth]",
        "sshd[{pid}]: Received disconnect from {ip} port {spt}:11: Bye Bye [preauth]",
        "sshd[{pid}]: Disconnected from authenticating user root {ip} port {spt} [preauth]",
        "CRON[{pid}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
        "systemd[1]: Started session-{spt}.scope - Session {spt} of User root.",
        "postfix/smtpd[{pid}]: connect from unknown[{ip}]",
        "kernel: [{up}] TCP: request_sock_TCP: Possible SYN flooding on port 443. Sending cookies.  Check SNMP counters.",
    )

    out = open(path, "w", encoding="ascii", newline="\n")
    block: list[str] = []
    write = block.append
    for i, (k, off) in enumerate(zip(kinds.tolist(), offsets.tolist())):
        if len(block) >= 100_000:
            out.write("\n".join(block) + "\n")
            block.clear()
        kind = names[k]
        counts[kind] += 1
        secs = off // 1_000_000
        day, rem = divmod(secs, 86400)
        head = f"{day_prefix[day]}{rem // 3600:02d}:{rem % 3600 // 60:02d}:{rem % 60:02d} {HOST} "
        up_us = boot_us + off
        up = f"{up_us // 1_000_000:5d}.{up_us % 1_000_000:06d}"
        sub = cols["sub"][i]
        if kind == "noise":
            tmpl = noise_templates[sub]
            write(head + tmpl.format(pid=cols["pid"][i], ip=src4[cols["src"][i]], spt=cols["spt"][i], up=up))
            continue
        ttl = TTLS[cols["ttl"][i]]
        ipid = cols["ipid"][i]
        spt = cols["spt"][i]
        if kind == "v6":
            src = src6[cols["src6"][i]]
            if sub < 6:
                dpt = cols["rport"][i] if cols["random_port"][i] else TCP_PORTS[cols["tport"][i]]
                l4 = (f"PROTO=TCP SPT={spt} DPT={dpt} WINDOW={WINDOWS[cols['win'][i]]} RES=0x00 SYN URGP=0")
                plen = 80
            else:
                l4 = f"PROTO=ICMPv6 TYPE=128 CODE=0 ID={ipid} SEQ={sub}"
                plen = 104
            write(f"{head}kernel: [{up}] IPTables-Dropped: IN=eth0 OUT= MAC={MAC_V6} SRC={src} "
                  f"DST={SERVER_V6} LEN={plen} TC=0 HOPLIMIT={ttl} FLOWLBL={ipid * 7 % 1048576} {l4}")
            continue
        src = src4[cols["src"][i]]
        dst = SERVER_V4[cols["dst"][i]]
        mac = MACS[cols["mac"][i]]
        prefix = "IPTables-Dropped: "
        if kind == "ufw":
            prefix = "[UFW BLOCK] "
            kind = "udp" if sub < 2 else "tcp_syn"
        if kind == "tcp_syn":
            dpt = cols["rport"][i] if cols["random_port"][i] else TCP_PORTS[cols["tport"][i]]
            win = WINDOWS[cols["win"][i]]
            length = 44 if win == 1024 else 40 if sub < 5 else 60
            write(f"{head}kernel: [{up}] {prefix}IN=eth0 OUT= MAC={mac} SRC={src} DST={dst} LEN={length} "
                  f"TOS=0x00 PREC=0x00 TTL={ttl} ID={ipid} PROTO=TCP SPT={spt} DPT={dpt} "
                  f"WINDOW={win} RES=0x00 SYN URGP=0")
        elif kind == "tcp_other":
            dpt = TCP_PORTS[cols["tport"][i]]
            flags = ("ACK RST", "ACK FIN", "ACK PSH", "RST", "ACK", "ACK PSH FIN", "SYN", "ACK")[sub]
            write(f"{head}kernel: [{up}] {prefix}IN=eth0 OUT= MAC={mac} SRC={src} DST={dst} LEN=52 "
                  f"TOS=0x00 PREC=0x00 TTL={ttl} ID={ipid} DF PROTO=TCP SPT={spt} DPT={dpt} "
                  f"WINDOW={WINDOWS[cols['win'][i]]} RES=0x00 {flags} URGP=0")
        elif kind == "udp":
            dpt = cols["rport"][i] if cols["random_port"][i] else UDP_PORTS[cols["uport"][i]]
            ulen = cols["ulen"][i]
            write(f"{head}kernel: [{up}] {prefix}IN=eth0 OUT= MAC={mac} SRC={src} DST={dst} LEN={ulen + 20} "
                  f"TOS=0x00 PREC=0x00 TTL={ttl} ID={ipid} PROTO=UDP SPT={spt} DPT={dpt} LEN={ulen}")
        else:  # icmp
            length = 84 if sub < 5 else 28
            write(f"{head}kernel: [{up}] {prefix}IN=eth0 OUT= MAC={mac} SRC={src} DST={dst} LEN={length} "
                  f"TOS=0x00 PREC=0x00 TTL={ttl} ID={ipid} PROTO=ICMP TYPE=8 CODE=0 ID={spt} SEQ={sub + 1}")
    if block:
        out.write("\n".join(block) + "\n")
    out.close()
    return counts


def prepare(workdir: Path, n_lines: int) -> Dataset:
    """Generate the plain and gzip inputs, or reuse them if present with the same line count."""
    folder = workdir / f"{n_lines}-lines"
    plain, gz, meta_path = folder / "syslog", folder / "syslog.gz", folder / "meta.json"
    meta = None
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:
            meta = None
    fresh = (
        meta is not None and meta.get("lines") == n_lines and meta.get("seed") == SEED
        and meta.get("version") == GENERATOR_VERSION and plain.exists() and gz.exists()
        and plain.stat().st_size == meta.get("plain_bytes") and gz.stat().st_size == meta.get("gz_bytes")
    )
    if fresh:
        print(f"reusing {plain} ({n_lines:,} lines) and {gz.name}")
    else:
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        counts = generate(plain, n_lines)
        t1 = time.perf_counter()
        if shutil.which("gzip"):
            with open(gz, "wb") as handle:
                subprocess.run(["gzip", "-6", "-c", str(plain)], stdout=handle, check=True)
        else:  # same level, Python's zlib
            with open(plain, "rb") as src, gzip.open(gz, "wb", compresslevel=6) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        t2 = time.perf_counter()
        meta = {
            "lines": n_lines, "seed": SEED, "version": GENERATOR_VERSION, "kinds": counts,
            "netfilter_lines": sum(v for k, v in counts.items() if k in NETFILTER_KINDS),
            "plain_bytes": plain.stat().st_size, "gz_bytes": gz.stat().st_size,
        }
        meta_path.write_text(json.dumps(meta, indent=2))
        print(f"generated {plain} ({n_lines:,} lines, {meta['plain_bytes'] / 1e6:.0f} MB) in {t1 - t0:.1f} s, "
              f"gzip -6 copy ({meta['gz_bytes'] / 1e6:.0f} MB) in {t2 - t1:.1f} s")
    # Fixed mtime just after the last line: the parser's year anchor does not depend on today.
    stamp = START_EPOCH + SPAN_S + 3600
    for p in (plain, gz):
        os.utime(p, (stamp, stamp))
    return Dataset(plain, gz, n_lines, meta["netfilter_lines"], meta["kinds"])


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


def warm_cache(*paths: Path) -> None:
    """Read the inputs once so every timed run (parser and baseline alike) sees a warm page cache."""
    for p in paths:
        with open(p, "rb") as handle:
            while handle.read(16 << 20):
                pass


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
    ap.add_argument("--workdir", type=Path, default=REPO / "benchmarks" / "_work",
                    help="where inputs/outputs go (git-ignored)")
    ap.add_argument("--inputs", default="plain,gzip", help="comma-separated subset of plain,gzip")
    ap.add_argument("--profile", action="store_true",
                    help="also run the parse once in-process under cProfile and print the top entries")
    ap.add_argument("--profile-input", choices=["plain", "gzip"], default="plain")
    ap.add_argument("--profile-top", type=int, default=25)
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

    ok = True
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
        warn_if_changed(source_before, source_after)

    if args.profile:
        path = data.plain if args.profile_input == "plain" else data.gz
        profile(path, workdir / f"out-profile-{args.profile_input}.parquet", args.profile_top)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
