"""The parse benchmarks' input: a deterministic week of a web server's syslog, plain and gzip.

~90 % kernel netfilter lines (iptables LOG `IPTables-Dropped:` TCP/UDP/ICMP, some IPv6, some
`[UFW BLOCK]`), ~10 % other daemons' noise, written once per line count with a fixed seed
(`prepare`) and reused while its manifest matches; `gzip -6` copy beside it. Used by
parse_benchmark.py and side_by_side.py. See benchmarks/README.md.

The lines are the product's generator's (`iptables_assets.sample`): every netfilter line is a
`NetfilterEvent` written by its `render_kernel_body` (nf_log's field order, the prefixes, MACs and
the uncompressed IPv6 of `sample.host`), the noise its daemons' messages (`system_noise`,
`sshd_sessions`); only the mix and the volume are this file's: a week at any line count, the
kinds' shares below, numpy-drawn columns so a million lines take seconds.
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

from iptables_assets.sample.events import US, NetfilterEvent
from iptables_assets.sample.host import BLOCK, DROP, HOST_V6, MAC_WAN, MAC_WAN6
from iptables_assets.sample.internet import PUBLIC_V6_PREFIXES
from iptables_assets.sample.rendering import MONTHS, render_kernel_body, render_uptime
from iptables_assets.sample.sshd_sessions import _ssh_session
from iptables_assets.sample.system_noise import CHRONY_NOISE, DHCLIENT_NOISE, KERNEL_NOISE, SYSTEMD_NOISE, NTP_SERVERS
from iptables_assets.sample.world import Rng

GENERATOR_VERSION = 2  # bump when the generated content changes, so old files are not reused
SEED = 20_240_601
HOST = "web01"
SERVER_V4 = ("203.0.113.10", "203.0.113.11")
# A week of logs; files get a fixed mtime just after it so the year inference is reproducible.
START_EPOCH = 1_760_918_400  # 2025-10-20 00:00:00 UTC
SPAN_S = 7 * 86400

# Line kinds and their shares (sum 1): ~90 % netfilter, ~10 % noise.
KINDS = (
    ("tcp_syn", 0.545),      # IPTables-Dropped TCP SYN (scanners)
    ("tcp_other", 0.040),    # IPTables-Dropped TCP with DF / ACK / RST / options
    ("udp", 0.130),          # IPTables-Dropped UDP (second LEN=)
    ("icmp", 0.045),         # IPTables-Dropped ICMP echo
    ("ufw", 0.110),          # [UFW BLOCK] TCP/UDP
    ("v6", 0.030),           # IPv6 TCP / ICMPv6
    ("noise", 0.100),        # sshd, systemd, dhclient, chronyd, non-netfilter kernel messages
)
NETFILTER_KINDS = {"tcp_syn", "tcp_other", "udp", "icmp", "ufw", "v6"}

TCP_PORTS = (22, 23, 80, 443, 3389, 8080, 445, 1433, 3306, 5900, 6379, 8443, 2222, 21, 25,
             110, 143, 5432, 8888, 9200, 27017, 5060, 81, 8000, 8081, 7547, 2323, 9000)
UDP_PORTS = (53, 123, 161, 1900, 5060, 11211, 137, 500, 4500, 19, 389, 3702, 5353, 1194, 51820)
TTLS = (241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 50, 51, 52, 53, 54, 55, 56, 57, 58,
        111, 112, 113, 114, 115, 116, 117, 118)
WINDOWS = (1024, 1024, 1024, 65535, 29200, 14600, 64240, 42340)
TCP_OTHER_FLAGS = ("ACK RST", "ACK FIN", "ACK PSH", "RST", "ACK", "ACK PSH FIN", "SYN", "ACK")


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
    """Public IPv6 sources as the sample draws them (`World.new_ip6`): uncompressed, as nf_log prints."""
    words = rng.integers(0, 0x10000, (n, 6)).tolist()
    return [f"{PUBLIC_V6_PREFIXES[i % len(PUBLIC_V6_PREFIXES)]}:" + ":".join(f"{x:04x}" for x in w)
            for i, w in enumerate(words)]


def _zipf_index(rng: np.random.Generator, pool: int, size: int, a: float = 1.1) -> np.ndarray:
    """Indices into a pool with a heavy head (a few noisy scanners) and a long tail."""
    return (rng.zipf(a, size) - 1) % pool


def _noise(rng: Rng, sub: int, pid: int, ip: str, up_us: int) -> str:
    """A non-netfilter message (after the header), one of the sample's daemons' by `sub` (0-7)."""
    if sub < 3:  # sshd: the first line of one of the sample's client sessions
        return f"sshd[{pid}]: {_ssh_session(rng, ip)[0][1]}"
    if sub == 3:
        return rng.pick(SYSTEMD_NOISE)(rng)
    if sub == 4:
        return f"dhclient[812]: {rng.pick(DHCLIENT_NOISE).format(xid=rng.below(1 << 32), n=rng.between(1500, 2100))}"
    if sub == 5:
        return rng.pick(CHRONY_NOISE).format(rng.pick(NTP_SERVERS), rng.pick(NTP_SERVERS))
    t = START_EPOCH + up_us // US
    text = rng.pick(KERNEL_NOISE).format(n=rng.between(2, 9), epoch=t, ms=up_us // 1000 % 1000,
                                         serial=rng.between(100, 9999))
    return f"kernel: {render_uptime(up_us)} {text}"


def generate(path: Path, n_lines: int, seed: int = SEED) -> dict[str, int]:
    """Write `n_lines` syslog lines to `path`; returns counts per kind."""
    rng = np.random.default_rng(seed)
    words = Rng(seed)  # the noise messages' own draws
    src4 = _ipv4_pool(rng, 30_000)
    src6 = _ipv6_pool(rng, 2_000)
    names = [k for k, _ in KINDS]
    shares = np.array([p for _, p in KINDS])
    kinds = rng.choice(len(names), n_lines, p=shares / shares.sum())
    offsets = np.sort(rng.integers(0, SPAN_S * 1_000_000, n_lines))  # microseconds, file order
    start_us = START_EPOCH * US
    boot_us = start_us - (3 * 86400 * 1_000_000 + 123_456_789)  # uptime at START_EPOCH: 3 days and a bit

    # All random columns up front (tolist() gives plain ints: fast formatting in the loop).
    cols = {
        "src": _zipf_index(rng, len(src4), n_lines).tolist(),
        "src6": _zipf_index(rng, len(src6), n_lines).tolist(),
        "dst": rng.integers(0, len(SERVER_V4), n_lines).tolist(),
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
        t_us = start_us + off
        sub = cols["sub"][i]
        if kind == "noise":
            write(head + _noise(words, sub, cols["pid"][i], src4[cols["src"][i]], t_us - boot_us))
            continue
        ttl = TTLS[cols["ttl"][i]]
        ipid = cols["ipid"][i]
        spt = cols["spt"][i]
        if kind == "v6":
            src = src6[cols["src6"][i]]
            if sub < 6:
                dpt = cols["rport"][i] if cols["random_port"][i] else TCP_PORTS[cols["tport"][i]]
                ev = NetfilterEvent(t_us, DROP, src, HOST_V6, "TCP", mac=MAC_WAN6, sport=spt, dport=dpt, length=80,
                                    ttl=ttl, window=WINDOWS[cols["win"][i]], v6=True)
            else:
                ev = NetfilterEvent(t_us, DROP, src, HOST_V6, "ICMPv6", mac=MAC_WAN6, length=104, ttl=ttl,
                                    icmp=(128, 0, ipid, sub), v6=True)
            write(head + render_kernel_body(ev, boot_us))
            continue
        src = src4[cols["src"][i]]
        dst = SERVER_V4[cols["dst"][i]]
        prefix = DROP
        if kind == "ufw":
            prefix = BLOCK
            kind = "udp" if sub < 2 else "tcp_syn"
        if kind == "tcp_syn":
            dpt = cols["rport"][i] if cols["random_port"][i] else TCP_PORTS[cols["tport"][i]]
            win = WINDOWS[cols["win"][i]]
            length = 44 if win == 1024 else 40 if sub < 5 else 60
            ev = NetfilterEvent(t_us, prefix, src, dst, "TCP", mac=MAC_WAN, sport=spt, dport=dpt, length=length,
                                ttl=ttl, ip_id=ipid, df=False, flags="SYN", window=win)
        elif kind == "tcp_other":
            dpt, win = TCP_PORTS[cols["tport"][i]], WINDOWS[cols["win"][i]]
            ev = NetfilterEvent(t_us, prefix, src, dst, "TCP", mac=MAC_WAN, sport=spt, dport=dpt, length=52,
                                ttl=ttl, ip_id=ipid, df=True, flags=TCP_OTHER_FLAGS[sub], window=win)
        elif kind == "udp":
            dpt = cols["rport"][i] if cols["random_port"][i] else UDP_PORTS[cols["uport"][i]]
            ev = NetfilterEvent(t_us, prefix, src, dst, "UDP", mac=MAC_WAN, sport=spt, dport=dpt,
                                length=cols["ulen"][i] + 20, ttl=ttl, ip_id=ipid, df=False)
        else:  # icmp echo
            ev = NetfilterEvent(t_us, prefix, src, dst, "ICMP", mac=MAC_WAN, length=84 if sub < 5 else 28, ttl=ttl,
                                ip_id=ipid, df=False, icmp=(8, 0, spt, sub + 1))
        write(head + render_kernel_body(ev, boot_us))
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
