"""The parse benchmarks' input: a deterministic week of a web server's syslog, plain and gzip.

~90 % kernel netfilter lines (iptables LOG `IPTables-Dropped:` TCP/UDP/ICMP, some IPv6, some
`[UFW BLOCK]`), ~10 % other daemons' noise, written once per line count with a fixed seed
(`prepare`) and reused while its manifest matches; `gzip -6` copy beside it. Used by
parse_benchmark.py and side_by_side.py. See benchmarks/README.md.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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


def warm_cache(*paths: Path) -> None:
    """Read the inputs once so every timed run (parser and baseline alike) sees a warm page cache."""
    for p in paths:
        with open(p, "rb") as handle:
            while handle.read(16 << 20):
                pass
