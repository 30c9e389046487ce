"""Deterministic synthetic ``/var/log`` directory with an independent ground truth.

``generate_logs`` writes what a small Red Hat/Debian gateway would have in ``/var/log``
after some weeks of internet background noise:

* ``messages`` family (weekly, numeric rotation ``messages``, ``messages.1``, ``messages.2.gz`` ...):
  kernel lines (netfilter and other) plus other daemons (systemd, CRON, dhclient, chronyd, rsyslogd);
* ``kern.log`` family (every 10 days, dateext rotation ``kern.log-YYYYMMDD.gz``): exactly the
  same kernel lines, byte for byte, so every kernel event is written twice;
* ``secure`` family (weekly, numeric): sshd lines, a few of them forged to look like netfilter.

Nothing here imports the parser: the truth is computed from the simulated events themselves.
Everything is drawn from one ``random.Random(seed)``; the same arguments give identical bytes
(gzip headers and file mtimes are derived from the log contents, never from the clock).

Format notes for the parser: headers are ``Mmm dd HH:MM:SS host tag[pid]: `` in ``tz`` wall-clock
time (day space-padded, no year). Kernel lines are ``kernel: [%5d.%06d] <prefix>IN=...`` and end
with a space, as nf_log writes them; IPv6 addresses are uncompressed (``%pI6``). A repeat line is
``kernel: message repeated N times: [ <prefix>IN=... ]`` (no uptime inside) and stands for N
events; the identical message was logged once normally just before it. Malformed kernel lines
(truncated after ``DST=``, truncated inside ``MAC=``, ``SRC=999.x.y.z``, ``INCOMPLETE [n bytes]``,
``PROTO=2``) sit among the others in both kernel families; header-less garbage lines (a NUL run and
non-UTF-8 bytes) are in ``messages`` and ``kern.log``; forged sshd lines only in ``secure``.

Truth keys (``ground_truth.json``): params, tz, host, days, records_per_day, input_drops_per_day,
input_drops_per_port, input_drops_per_source, actions, rejects, rejects_per_day, ignored_lines_per_file, lines_per_file,
scanners, repeated_lines, repeated_events, files, sshd_per_kind, sshd_per_day, sshd_per_source. Run ``python -m iptables_assets.sample.generate DIR``.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import datetime as dt
import gc
import gzip
import ipaddress
import itertools
import json
import os
import random
import time
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

__all__ = ["generate_logs", "simulate", "render_netfilter", "render_kernel_body", "NetfilterEvent", "Simulation", "FAMILIES"]

DEFAULT_START = dt.date(2025, 12, 1)
US = 1_000_000
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# ---------------------------------------------------------------------------------------------
# The simulated host
# ---------------------------------------------------------------------------------------------
HOST_V4 = "10.0.0.1"  # eth0 address (cloud VM behind 1:1 NAT)
HOST_V6 = "2a03:b0c0:0003:00d0:0000:0000:0d4e:5001"  # printed the way %pI6 prints: uncompressed
ROUTER_V4 = "10.0.0.254"
LAN_NET = "192.168.10."
MAC_WAN = "52:54:00:8a:3c:1e:fe:ff:ff:ff:ff:ff:08:00"  # dst (us) : src (upstream) : ethertype
MAC_WAN6 = "52:54:00:8a:3c:1e:fe:ff:ff:ff:ff:ff:86:dd"
MAC_LAN = "52:54:00:8a:3c:1f:3c:7c:3f:1d:a0:42:08:00"
MAC_MCAST = "01:00:5e:00:00:01:fe:ff:ff:ff:ff:ff:08:00"

# Log prefix -> action. The prefix is written verbatim in front of "IN=".
DROP, BLOCK, AUDIT, ALLOW = "IPTables-Dropped: ", "[UFW BLOCK] ", "[UFW AUDIT] ", "[UFW ALLOW] "
ACTIONS = {DROP: "drop", BLOCK: "drop", AUDIT: "audit", ALLOW: "accept"}
REJECT_REASONS = ("missing_address", "bad_address", "untrusted_program")

# Limits the planted data respects (the parser's scan rule is "more than 50 distinct ports").
SCAN_THRESHOLD = 50
MAX_BG_PORTS_PER_DAY = 20
MAX_BG_PORTS_TOTAL = 40

# 42 real-world, publicly routed first octets (none holds private, CGN, test-net or multicast space).
PUBLIC_OCTETS = (
    1, 5, 14, 27, 31, 36, 37, 45, 46, 49, 58, 59, 61, 77, 80, 85, 89, 94, 103, 104, 112,
    118, 121, 122, 123, 125, 162, 167, 177, 180, 183, 185, 189, 190, 193, 200, 201, 211, 212, 218, 220, 222,
)
# Heavier weights for the networks that dominate real drop logs.
_OCTET_CUM = tuple(itertools.accumulate(3 if o in (45, 61, 89, 103, 112, 162, 167, 185, 193, 218, 222) else 1
                                         for o in PUBLIC_OCTETS))
SCANNER_OCTETS = (45, 71, 87, 92, 147, 152, 154, 170, 176, 178, 179, 194, 204, 205, 206)
PUBLIC_V6_PREFIXES = ("2a01:04f8", "240e:0390", "2001:41d0", "2a02:4780", "2604:a880", "2400:8902", "2a0e:97c0")

# (proto, port): weight — the skewed head of destination ports; the tail is uniform 1-65535.
POPULAR_PORTS = {
    ("TCP", 22): 30, ("TCP", 23): 20, ("TCP", 445): 14, ("TCP", 80): 10, ("TCP", 443): 7,
    ("TCP", 3389): 10, ("TCP", 8080): 6, ("TCP", 25): 4, ("TCP", 5900): 3, ("TCP", 1433): 4,
    ("TCP", 3306): 4, ("TCP", 21): 3, ("TCP", 2323): 3, ("TCP", 8443): 2, ("TCP", 6379): 3,
    ("TCP", 5432): 2, ("TCP", 81): 2, ("TCP", 8088): 2, ("TCP", 7547): 2, ("TCP", 5555): 2,
    ("TCP", 37215): 2, ("TCP", 52869): 1, ("TCP", 9200): 1, ("TCP", 27017): 1, ("TCP", 139): 2,
    ("TCP", 135): 2, ("TCP", 110): 1, ("TCP", 143): 1, ("TCP", 993): 1, ("TCP", 587): 1,
    ("TCP", 1723): 1, ("TCP", 8000): 2, ("TCP", 8888): 1, ("TCP", 60001): 1, ("TCP", 9000): 1,
    ("TCP", 10000): 1, ("TCP", 2375): 1, ("TCP", 6443): 1, ("TCP", 5985): 1, ("TCP", 4444): 1,
    ("UDP", 53): 3, ("UDP", 123): 3, ("UDP", 161): 2, ("UDP", 1900): 2, ("UDP", 5060): 3,
    ("UDP", 137): 2, ("UDP", 19): 1, ("UDP", 389): 1, ("UDP", 11211): 1, ("UDP", 500): 1, ("UDP", 3478): 1,
}
_POPULAR_KEYS = tuple(POPULAR_PORTS)
_POPULAR_CUM = tuple(itertools.accumulate(POPULAR_PORTS.values()))

# TCP flag sets in the kernel's print order (CWR ECE URG ACK PSH RST SYN FIN); "" is a NULL scan.
TCP_FLAGS = {"SYN": 88, "ACK": 2, "FIN": 1, "ACK FIN": 2, "ACK RST": 2, "ACK SYN": 1, "RST": 1,
             "ACK PSH": 1, "": 1, "URG PSH FIN": 1}
_FLAG_KEYS, _FLAG_CUM = tuple(TCP_FLAGS), tuple(itertools.accumulate(TCP_FLAGS.values()))
TCP_WINDOWS = (1024, 65535, 29200, 14600, 64240, 8192, 5840)
SYN_LENGTHS, ACK_LENGTHS = (40, 44, 52, 60), (40, 52)
UDP_LENGTHS = tuple(28 + n for n in (0, 8, 20, 48, 62, 100, 372))
BASE_TTLS = (64, 128, 255)
TOS_BYTES = (0x00,) * 30 + (0x20, 0x28, 0x08, 0xB8)
PROFILE_SIZES = tuple(range(1, MAX_BG_PORTS_TOTAL + 1))
_PROFILE_CUM = tuple(itertools.accumulate(k ** -1.8 for k in PROFILE_SIZES))


class _Rng(random.Random):
    """``random.Random`` plus cheap one-``random()`` draws for the hot paths."""

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def between(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def pick(self, seq):
        return seq[int(self.random() * len(seq))]

    def weighted(self, keys, cum):
        return keys[bisect.bisect_right(cum, self.random() * cum[-1])]


# ---------------------------------------------------------------------------------------------
# Events and lines
# ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class NetfilterEvent:
    """One netfilter log message as nf_log_syslog would print it, or a planted defect of one.

    ``count`` > 1 makes it an rsyslog ``message repeated N times: [ ... ]`` line worth N events.
    ``defect`` is one of None, "truncated_after_address" (record without L4 fields),
    "missing_address" (cut before SRC=; reject), "bad_address" (SRC not an address; reject),
    "incomplete" (``PROTO=TCP INCOMPLETE [n bytes]``; record without ports).
    """

    t_us: int
    prefix: str
    src: str
    dst: str
    proto: str  # "TCP", "UDP", "ICMP", "ICMPv6" or a bare protocol number such as "2"
    in_if: str = "eth0"
    out_if: str = ""
    mac: str = MAC_WAN
    sport: int | None = None
    dport: int | None = None
    length: int = 60
    ttl: int = 50
    ip_id: int = 0
    tos: int = 0
    df: bool = True
    flags: str = "SYN"
    window: int = 1024
    icmp: tuple[int, ...] = ()  # (type, code) or (type, code, id, seq)
    inner: NetfilterEvent | None = None  # quoted header of an ICMP error
    v6: bool = False
    defect: str | None = None
    defect_arg: int = 0  # cut offset for truncations, byte count for INCOMPLETE
    count: int = 1
    origin: str = "background"  # or the scanner kind

    @property
    def action(self) -> str:
        return ACTIONS[self.prefix]

    @property
    def is_input_drop(self) -> bool:
        return self.action in ("drop", "reject") and self.out_if == ""

    @property
    def reject_reason(self) -> str | None:
        return self.defect if self.defect in ("missing_address", "bad_address") else None

    @property
    def has_port(self) -> bool:
        return self.dport is not None and self.defect is None


@dataclass(slots=True)
class Line:
    """One line to write: ``body`` follows the RFC 3164 header unless ``raw`` (garbage)."""

    t_us: int
    families: tuple[str, ...]
    body: str
    candidate: bool = False  # netfilter candidate (record or reject), i.e. not "ignored"
    reject: str | None = None  # reject reason of a non-kernel candidate (forged lines)
    raw: bool = False
    sshd: tuple[str, str | None] | None = None  # (event kind, source address) of an sshd line


def render_netfilter(ev: NetfilterEvent) -> str:
    """The kernel message (after ``kernel: [uptime] ``) exactly as nf_log_syslog formats it.

    Field order: prefix, ``IN= OUT= ``, ``MAC=`` (only with an input device), the IP header,
    then the transport header; every field is followed by one space, so the text ends in a space.
    """
    text = f"{ev.prefix}IN={ev.in_if} OUT={ev.out_if} " + (f"MAC={ev.mac} " if ev.mac else "") + _render_ip(ev)
    if ev.defect == "truncated_after_address":  # cut somewhere between the DST value and SPT=
        lo = text.index(" LEN=", text.index(" DST="))
        return text[: lo + ev.defect_arg % (text.index(" SPT=") - lo)]
    if ev.defect == "missing_address":  # cut inside the MAC value, before SRC=
        lo = text.index("MAC=") + 4
        return text[: lo + ev.defect_arg % (text.index("SRC=") - lo)]
    return text


def _render_ip(p: NetfilterEvent) -> str:
    if p.v6:
        head = f"SRC={p.src} DST={p.dst} LEN={p.length} TC={p.tos} HOPLIMIT={p.ttl} FLOWLBL=0 "
    else:
        head = (f"SRC={p.src} DST={p.dst} LEN={p.length} TOS=0x{p.tos & 0x1E:02X} PREC=0x{p.tos & 0xE0:02X} "
                f"TTL={p.ttl} ID={p.ip_id} " + ("DF " if p.df else ""))
    return head + _render_transport(p)


def _render_transport(p: NetfilterEvent) -> str:
    if p.defect == "incomplete":
        return f"PROTO={p.proto} INCOMPLETE [{p.defect_arg} bytes] "
    if p.proto == "TCP":
        flags = f"{p.flags} " if p.flags else ""
        return f"PROTO=TCP SPT={p.sport} DPT={p.dport} WINDOW={p.window} RES=0x00 {flags}URGP=0 "
    if p.proto == "UDP":
        return f"PROTO=UDP SPT={p.sport} DPT={p.dport} LEN={p.length - (40 if p.v6 else 20)} "
    if p.proto in ("ICMP", "ICMPv6"):
        text = f"PROTO={p.proto} TYPE={p.icmp[0]} CODE={p.icmp[1]} "
        if len(p.icmp) == 4:
            text += f"ID={p.icmp[2]} SEQ={p.icmp[3]} "
        if p.inner is not None:
            text += f"[{_render_ip(p.inner)}] "
        return text
    return f"PROTO={p.proto} "


def path_ttl(src: str) -> int:
    """A stable TTL per source (initial TTL of its OS minus its hop count), like real traffic."""
    h = zlib.crc32(src.encode())
    return BASE_TTLS[h % 3] - 4 - (h >> 8) % 24


def render_kernel_body(ev: NetfilterEvent, boot_us: int) -> str:
    """Everything after the header: ``kernel: [uptime] msg`` or the rsyslog repeat form."""
    msg = render_netfilter(ev)
    if ev.count > 1:  # rsyslog: "message repeated %d times: [%s]" around the msg, which starts with a space
        return f"kernel: message repeated {ev.count} times: [ {msg}]"
    return f"kernel: {_uptime(ev.t_us - boot_us)} {msg}"


def _uptime(us: int) -> str:
    return f"[{us // US:5d}.{us % US:06d}]"


# ---------------------------------------------------------------------------------------------
# Simulation
# ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Source:
    ip: str
    weight: float
    first: int
    last: int
    ports: list[tuple[str, int]]

    def ports_on(self, day: int) -> list[tuple[str, int]]:
        """At most MAX_BG_PORTS_PER_DAY of the profile, a day-dependent window of it."""
        if len(self.ports) <= MAX_BG_PORTS_PER_DAY:
            return self.ports
        k = (day * 7) % len(self.ports)
        return (self.ports[k:] + self.ports[:k])[:MAX_BG_PORTS_PER_DAY]


@dataclass
class Simulation:
    """Everything that was simulated: events for the truth, lines for the files."""

    params: dict
    tz: ZoneInfo
    dates: list[dt.date]
    bounds: list[int]  # local midnights as UTC epoch µs, len(dates) + 1
    boot_us: int
    events: list[NetfilterEvent]
    lines: list[Line]  # every line to write (kernel netfilter lines included), sorted by time
    scanners: list[tuple[str, str]]  # (ip, kind)

    iso_days: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.iso_days = [d.isoformat() for d in self.dates]

    def day_of(self, t_us: int) -> str:
        """The calendar day (in ``tz``) of an instant."""
        return self.iso_days[bisect.bisect_right(self.bounds, t_us) - 1]


class _Builder:
    """Draws the whole simulation from one ``random.Random``; call order is fixed."""

    KERNEL = ("messages", "kern.log")

    def __init__(self, days: int, seed: int, start: dt.date, events_per_day: int, tz: str):
        self.rng = _Rng(seed)
        self.ssh_rng = _Rng(f"{seed}:sshd")  # sshd sessions draw apart: firewall events do not depend on them
        self.tz = ZoneInfo(tz)
        self.events_per_day = events_per_day
        self.dates = [start + dt.timedelta(days=i) for i in range(days)]
        self.bounds = [_midnight_us(start + dt.timedelta(days=i), self.tz) for i in range(days + 1)]
        self.boot_us = self.bounds[0] - self.rng.between(3 * 86_400, 40 * 86_400) * US - self.rng.below(US)
        self.used_t: set[int] = set()
        self.used_ips: set[str] = {HOST_V4, ROUTER_V4}
        self.events: list[NetfilterEvent] = []
        self.lines: list[Line] = []
        self.scanners: list[tuple[str, str]] = []

    # -- primitives ---------------------------------------------------------------------------
    def unique(self, t_us: int) -> int:
        """Reserve a distinct microsecond so uptimes increase strictly and lines never tie."""
        while t_us in self.used_t:
            t_us += 1
        self.used_t.add(t_us)
        return t_us

    def time_in(self, day: int, lo: float = 0.0, hi: float = 1.0, rng: "_Rng | None" = None) -> int:
        a, b = self.bounds[day], self.bounds[day + 1]
        return self.unique(a + int((b - a) * lo) + (rng or self.rng).below(max(1, int((b - a) * (hi - lo)))))

    def new_ip(self, octets: tuple[int, ...] = PUBLIC_OCTETS, cum: tuple[int, ...] | None = None) -> str:
        rng = self.rng
        while True:
            first = rng.weighted(octets, cum) if cum else rng.pick(octets)
            ip = f"{first}.{rng.between(0, 255)}.{rng.between(0, 255)}.{rng.between(1, 254)}"
            if ip not in self.used_ips:
                self.used_ips.add(ip)
                return ip

    def new_ip6(self) -> str:
        groups = [f"{self.rng.below(0x10000):04x}" for _ in range(6)]
        ip = f"{self.rng.pick(PUBLIC_V6_PREFIXES)}:" + ":".join(groups)
        self.used_ips.add(ip)
        return ip

    def add_line(self, t_us: int, families: tuple[str, ...], body: str, **kw) -> None:
        self.lines.append(Line(t_us, families, body, **kw))

    def kernel_noise(self, t_us: int, text: str) -> None:
        self.add_line(t_us, self.KERNEL, f"kernel: {_uptime(t_us - self.boot_us)} {text}")

    # -- packets --------------------------------------------------------------------------------
    def inbound(self, t_us: int, prefix: str, src: str, proto: str, dport: int | None, **overrides) -> NetfilterEvent:
        """An INPUT packet from ``src`` to us with realistic header values (``overrides`` win).

        Hot path: the independent header fields are slices of one 64-bit draw.
        """
        rng = self.rng
        bits = rng.getrandbits(64)  # sport:16 | ip id:16 | ttl:4 | . | tos:8 | df:4 | length:4
        lengths = UDP_LENGTHS
        flags, window = "", 0
        if proto == "TCP":
            flags, window = rng.weighted(_FLAG_KEYS, _FLAG_CUM), rng.pick(TCP_WINDOWS)
            lengths = SYN_LENGTHS if "SYN" in flags else ACK_LENGTHS
        ev = NetfilterEvent(
            t_us, prefix, src, HOST_V4, proto, sport=1024 + (bits & 0xFFFF) % 64512, dport=dport,
            ip_id=bits >> 16 & 0xFFFF, ttl=path_ttl(src) - ((bits >> 32 & 0xF) == 0),
            tos=TOS_BYTES[(bits >> 48 & 0xFF) % len(TOS_BYTES)], df=(bits >> 56 & 0xF) < 10,
            length=lengths[(bits >> 60) % len(lengths)], flags=flags, window=window)
        for name, value in overrides.items():
            setattr(ev, name, value)
        return ev

    def add(self, ev: NetfilterEvent) -> NetfilterEvent:
        self.events.append(ev)
        return ev

    # -- background ---------------------------------------------------------------------------
    def make_sources(self) -> list[_Source]:
        rng, days = self.rng, len(self.dates)
        n = max(60, days * self.events_per_day // 40)
        sources = []
        for _ in range(n):
            span = min(days, int(rng.paretovariate(0.8)))
            first = rng.between(-span + 1, days - 1)
            size, weight = rng.weighted(PROFILE_SIZES, _PROFILE_CUM), min(rng.paretovariate(1.1), 400.0)
            tail = 0.25 if weight < 10 else 0.0  # the heaviest talkers go for well-known services
            sources.append(_Source(self.new_ip(PUBLIC_OCTETS, _OCTET_CUM), weight, max(0, first),
                                   min(days - 1, first + span - 1), self.port_profile(size, tail)))
        return sources

    def port_profile(self, size: int, tail: float) -> list[tuple[str, int]]:
        """``size`` distinct destination ports: the popular head, or with probability ``tail`` any port."""
        rng, profile = self.rng, {}
        while len(profile) < size:
            if rng.random() >= tail:
                proto, port = rng.weighted(_POPULAR_KEYS, _POPULAR_CUM)
            else:
                proto, port = ("TCP" if rng.random() < 0.85 else "UDP"), rng.between(1, 65535)
            profile.setdefault(port, proto)
        return [(proto, port) for port, proto in profile.items()]

    def background_day(self, day: int, sources: list[_Source], clients: list[str], egress: list[str]) -> None:
        rng = self.rng
        active = [s for s in sources if s.first <= day <= s.last] or [sources[day % len(sources)]]
        cum = list(itertools.accumulate(s.weight for s in active))
        n = self.events_per_day + rng.between(-self.events_per_day // 10, self.events_per_day // 10)
        for src in rng.choices(active, cum_weights=cum, k=n):
            r, t = rng.random(), self.time_in(day)
            if r < 0.015:
                self.add(self.outbound(t, egress))
            elif r < 0.02:
                self.add(self.forwarded(t))
            elif r < 0.04:
                self.add(self.inbound(t, ALLOW, rng.pick(clients), "TCP", rng.pick((22, 443, 80)), flags="SYN"))
            elif r < 0.07:
                self.add(self.echo(t, src.ip) if rng.random() < 0.05 else self.from_profile(t, AUDIT, src, day))
            else:
                prefix = DROP if rng.random() < 0.85 else BLOCK
                self.add(self.echo(t, src.ip, prefix) if rng.random() < 0.03 else self.from_profile(t, prefix, src, day))

    def from_profile(self, t: int, prefix: str, src: _Source, day: int) -> NetfilterEvent:
        proto, port = self.rng.pick(src.ports_on(day))
        return self.inbound(t, prefix, src.ip, proto, port)

    def echo(self, t: int, src: str, prefix: str = DROP) -> NetfilterEvent:
        rng = self.rng
        return NetfilterEvent(t, prefix, src, HOST_V4, "ICMP", length=rng.pick((28, 60, 84)), ttl=path_ttl(src),
                              ip_id=rng.below(65536), df=rng.random() < 0.5, icmp=(8, 0, rng.below(65536), rng.between(0, 20)))

    def outbound(self, t: int, egress: list[str]) -> NetfilterEvent:
        """OUTPUT drop: no input device, hence no MAC; the source is us."""
        rng = self.rng
        proto, port = rng.pick((("TCP", 25), ("TCP", 6667), ("TCP", 4444), ("UDP", 53), ("UDP", 123), ("TCP", 3333)))
        return NetfilterEvent(t, rng.pick((DROP, BLOCK)), HOST_V4, rng.pick(egress), proto, in_if="", out_if="eth0", mac="",
                              sport=rng.between(32768, 60999), dport=port, length=60 if proto == "TCP" else 72, ttl=64,
                              ip_id=rng.below(65536), window=64240)

    def forwarded(self, t: int) -> NetfilterEvent:
        rng = self.rng
        proto, port = rng.pick((("TCP", 25), ("TCP", 445), ("UDP", 137), ("UDP", 1900)))
        return NetfilterEvent(t, DROP, f"{LAN_NET}{rng.between(20, 60)}", self.new_ip(), proto, in_if="eth1", out_if="eth0",
                              mac=MAC_LAN, sport=rng.between(1024, 65535), dport=port, length=52 if proto == "TCP" else 78,
                              ttl=127, ip_id=rng.below(65536), window=64240)

    def ipv6_day(self, day: int) -> None:
        rng = self.rng
        for _ in range(max(1, self.events_per_day // 1000)):
            src, t = self.new_ip6(), self.time_in(day)
            if rng.random() < 0.25:
                ev = NetfilterEvent(t, DROP, src, HOST_V6, "ICMPv6", mac=MAC_WAN6, length=104, ttl=path_ttl(src),
                                    icmp=(128, 0, rng.below(65536), rng.between(1, 9)), v6=True)
            else:
                proto, port = rng.weighted(_POPULAR_KEYS, _POPULAR_CUM)
                ev = self.inbound(t, rng.pick((DROP, BLOCK)), src, proto, port, dst=HOST_V6, mac=MAC_WAN6, v6=True,
                                  length=80 if proto == "TCP" else 68, tos=0)
            self.add(ev)

    # -- planted things -------------------------------------------------------------------------
    def plant_scanners(self) -> None:
        rng, days = self.rng, len(self.dates)
        nye = [i for i, d in enumerate(self.dates) if (d.month, d.day) == (12, 31)]
        free = [i for i in range(days) if i not in nye[:1]]
        rng.shuffle(free)

        def pick() -> int:  # a day no other one-day scanner uses, while there are such days
            return free.pop() if free else rng.below(days)

        for kind, ports, per_port in (("fast", 51, 3), ("fast", 120, 3), ("fast", 800, 2)):
            self.one_day_scan(kind, pick(), ports, per_port, 0.05)
        # the big one on New Year's Eve when the range has it, ending just before midnight
        self.one_day_scan("big", nye[0] if nye else pick(), 3500, 1, 0.12, end=0.9999)
        for _ in range(2):
            self.one_day_scan("near_threshold", pick(), SCAN_THRESHOLD, 2, 0.3)
        for span in (12, 14):
            self.slow_scan(min(days, span))

    def scanner_ip(self, kind: str) -> str:
        ip = self.new_ip(SCANNER_OCTETS)
        self.scanners.append((ip, kind))
        return ip

    def scan_packet(self, t: int, ip: str, dport: int, sport: int, kind: str) -> NetfilterEvent:
        """zmap-like SYN: fixed source port, no DF, IP ID 54321, TTL 255 minus the hops."""
        return self.add(NetfilterEvent(t, DROP, ip, HOST_V4, "TCP", sport=sport, dport=dport, length=44,
                                       ttl=255 - 4 - zlib.crc32(ip.encode()) % 16, ip_id=54321, df=False, window=65535,
                                       origin=kind))

    def one_day_scan(self, kind: str, day: int, n_ports: int, max_per_port: int, duration: float,
                     end: float | None = None) -> None:
        """``n_ports`` distinct random ports in a ``duration`` (fraction of the day) burst."""
        rng = self.rng
        ip, sport = self.scanner_ip(kind), rng.between(40000, 65000)
        lo = (end - duration) if end is not None else rng.uniform(0.0, 1.0 - duration)
        ports = rng.sample(range(1, 65536), n_ports)
        for port in ports:
            for _ in range(rng.between(1, max_per_port) if rng.random() < 0.5 else 1):
                self.scan_packet(self.time_in(day, lo, lo + duration), ip, port, sport, kind)

    def slow_scan(self, span: int) -> None:
        rng, days = self.rng, len(self.dates)
        ip, sport = self.scanner_ip("slow"), rng.between(40000, 65000)
        first = rng.between(0, days - span)
        pool = rng.sample(range(1, 65536), 12 * span)
        seen: list[int] = []
        for day in range(first, first + span):
            new = [pool.pop() for _ in range(rng.between(8, 12))]
            for port in new + rng.sample(seen, min(len(seen), rng.between(0, 3))):
                for _ in range(rng.between(1, 2)):
                    self.scan_packet(self.time_in(day), ip, port, sport, "slow")
            seen += new

    def plant_icmp_errors(self) -> None:
        """Port-unreachables quoting our own UDP packet: the bracketed inner header has other addresses."""
        rng = self.rng
        for _ in range(max(1, len(self.dates) // 4)):
            inner = NetfilterEvent(0, DROP, HOST_V4, self.new_ip(), "UDP", sport=rng.between(32768, 60999),
                                   dport=rng.pick((53, 123, 33434 + rng.below(30))), length=rng.pick((40, 60, 72)),
                                   ttl=rng.between(1, 60), ip_id=rng.below(65536), df=False)
            self.add(NetfilterEvent(self.time_in(rng.below(len(self.dates))), DROP, self.new_ip(), HOST_V4, "ICMP",
                                    length=28 + inner.length, ttl=rng.between(40, 250), ip_id=rng.below(65536), df=False,
                                    icmp=(3, 3), inner=inner))

    def plant_defects(self, sources: list[_Source]) -> None:
        """A few malformed kernel lines per week (they go to both kernel families like any other)."""
        rng, days = self.rng, len(self.dates)
        per_week = {"truncated_after_address": 2, "missing_address": 2, "bad_address": 1, "incomplete": 2, "igmp": 2}
        for kind, rate in per_week.items():
            for _ in range(max(1, round(days * rate / 7))):
                t, src = self.time_in(rng.below(days)), rng.pick(sources).ip
                if kind == "igmp":  # IGMP query from the upstream router: a bare protocol number
                    ev = NetfilterEvent(t, DROP, ROUTER_V4, "224.0.0.1", "2", mac=MAC_MCAST, length=32, tos=0xC0, ttl=1, ip_id=0)
                elif kind == "incomplete":
                    ev = self.inbound(t, DROP, src, "TCP", None, sport=None, defect="incomplete",
                                      defect_arg=rng.pick((8, 12, 16, 65)))
                else:
                    ev = self.inbound(t, DROP, src, "TCP", rng.pick((22, 23, 445)), defect=kind, defect_arg=rng.below(1000))
                    if kind == "bad_address":
                        octets = (rng.between(1, 250) for _ in range(3))
                        ev.src = rng.pick(("999.{}.{}.{}", "256.{}.{}.{}", "{}.300.{}.{}")).format(*octets)
                self.add(ev)

    def plant_repeats(self) -> None:
        """rsyslog repeat reduction: an identical message N more times → one line worth N events."""
        rng = self.rng
        originals = [e for e in self.events if e.origin == "background" and e.is_input_drop and e.has_port and not e.v6]
        for _ in range(max(1, round(len(self.dates) / 5))):
            orig = rng.pick(originals)
            t = self.unique(orig.t_us + rng.between(2, 40) * US + rng.below(US))
            rep = NetfilterEvent(**{f: getattr(orig, f) for f in NetfilterEvent.__slots__})
            rep.t_us, rep.count = t, rng.between(2, 6)
            self.add(rep)

    def plant_new_year(self) -> None:
        """Packets a second either side of every local New Year's midnight in range."""
        for i, d in enumerate(self.dates[:-1]):
            if (d.month, d.day) == (12, 31):
                ip = self.new_ip()
                for t in (self.bounds[i + 1] - self.rng.between(1, 999_999), self.bounds[i + 1] + self.rng.below(999_999)):
                    self.add(self.inbound(self.unique(t), DROP, ip, "TCP", 23, flags="SYN"))

    # -- non-firewall lines ---------------------------------------------------------------------
    def messages_noise_day(self, day: int) -> None:
        rng = self.rng
        for hour in range(24):
            self.add_line(self.time_in(day, (hour + 17 / 60) / 24, (hour + 17.02 / 60) / 24), ("messages",),
                          f"CRON[{rng.between(2000, 60000)}]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)")
        for _ in range(rng.between(6, 14)):
            self.add_line(self.time_in(day), ("messages",), rng.pick(SYSTEMD_NOISE)(rng))
        for hour in (rng.between(0, 5), rng.between(6, 11), rng.between(12, 17), rng.between(18, 23)):
            t, xid = self.time_in(day, hour / 24, (hour + 0.9) / 24), rng.below(1 << 32)
            for k, text in enumerate(DHCLIENT_NOISE):
                text = text.format(xid=xid, n=rng.between(1500, 2100))
                self.add_line(self.unique(t + k * 1200), ("messages",), f"dhclient[812]: {text}")
        for _ in range(rng.between(0, 3)):
            text = rng.pick(CHRONY_NOISE).format(rng.pick(NTP_SERVERS), rng.pick(NTP_SERVERS))
            self.add_line(self.time_in(day), ("messages",), text)
        for _ in range(rng.between(0, 3)):
            t = self.time_in(day)
            self.kernel_noise(t, rng.pick(KERNEL_NOISE).format(n=rng.between(2, 9), epoch=t // US, ms=t // 1000 % 1000,
                                                               serial=rng.between(100, 9999)))
        t = self.unique(self.bounds[day] + rng.between(100_000, 900_000))
        for k, text in enumerate(LOGROTATE_NOISE):
            self.add_line(self.unique(t + k * 300_000), ("messages",), text)

    def rsyslog_hups(self, rotation_days: set[int]) -> None:
        for day in sorted(rotation_days):
            pid = 800 + day % 7
            self.add_line(self.unique(self.bounds[day] + 150_000), ("messages",),
                          f'rsyslogd[{pid}]: [origin software="rsyslogd" swVersion="8.2302.0" x-pid="{pid}" '
                          f'x-info="https://www.rsyslog.com"] rsyslogd was HUPed')

    def sshd_day(self, day: int, sources: list[_Source], clients: list[str]) -> None:
        rng = self.ssh_rng
        for _ in range(max(4, self.events_per_day // 25)):
            t, pid = self.time_in(day, rng=rng), rng.between(1000, 65000)
            draw = rng.random()
            if draw < 0.05:
                ip = rng.pick(clients)
            elif draw < 0.12:  # IPv6 clients
                ip = f"{rng.pick(PUBLIC_V6_PREFIXES)}:" + ":".join(f"{rng.below(0x10000):x}" for _ in range(6))
            else:
                ip = rng.pick(sources).ip
            for k, (kind, text) in enumerate(_ssh_session(rng, ip)):
                self.add_line(self.unique(t + k * rng.between(100_000, 3 * US)), ("secure",), f"sshd[{pid}]: {text}",
                              sshd=(kind, ip if kind != "other" else None))

    def plant_scanners_at_sshd(self) -> None:
        """Every other planted scanner also tries ssh passwords (the sshd x scanner join)."""
        rng = self.ssh_rng
        for ip, _kind in self.scanners[::2]:
            day, pid, port = rng.below(len(self.dates)), rng.between(1000, 65000), rng.between(1024, 65535)
            t = self.time_in(day, rng=rng)
            lines = [("failed_password", f"Failed password for root from {ip} port {port} ssh2"),
                     ("connection_closed", f"Connection closed by authenticating user root {ip} port {port} [preauth]")]
            for k, (kind, text) in enumerate(lines):
                self.add_line(self.unique(t + k * 900_000), ("secure",), f"sshd[{pid}]: {text}", sshd=(kind, ip))

    def plant_forged(self) -> None:
        """Attacker-chosen sshd user names that look like netfilter logs: rejects, never records."""
        rng = self.rng
        for i in range(max(1, len(self.dates) // 20)):
            ip, port, pid = self.new_ip(), rng.between(1024, 65535), rng.between(1000, 65000)
            claimed = ip if i % 2 == 0 else self.new_ip()
            user = (("IPTables-Dropped: " if i % 3 == 1 else "") +
                    f"IN=eth0 OUT= SRC={claimed} DST={HOST_V4} PROTO=TCP "
                    f"SPT={rng.between(1, 65535)} DPT={rng.pick((22, 23, 3389))}")
            t = self.time_in(rng.below(len(self.dates)))
            for k, (kind, text) in enumerate((
                    ("invalid_user", f"Invalid user {user} from {ip} port {port}"),
                    ("connection_closed", f"Connection closed by invalid user {user} {ip} port {port} [preauth]"))):
                self.add_line(self.unique(t + k * 700_000), ("secure",), f"sshd[{pid}]: {text}",
                              candidate=True, reject="untrusted_program", sshd=(kind, ip))

    def plant_garbage(self) -> None:
        """Crash debris: a run of NUL bytes and non-UTF-8 junk, no header, no netfilter text."""
        rng = self.rng
        junk = [c for c in range(0x20, 0x7F) if c != ord("=")] + list(range(0x80, 0x100))
        for families, body in ((("messages",), "\x00" * rng.between(200, 600)),
                               (("messages",), None), (("kern.log",), None)):
            if body is None:
                raw = bytes([0xFF]) + bytes(rng.pick(junk) for _ in range(rng.between(40, 120)))
                body = raw.decode("utf-8", "surrogateescape")
            self.add_line(self.time_in(rng.below(len(self.dates))), families, body, raw=True)

    # -- assembly -------------------------------------------------------------------------------
    def build(self, params: dict, rotation_days: set[int]) -> Simulation:
        sources = self.make_sources()
        clients = [self.new_ip() for _ in range(12)]
        egress = [self.new_ip() for _ in range(5)]
        for day in range(len(self.dates)):
            self.background_day(day, sources, clients, egress)
            self.ipv6_day(day)
            self.messages_noise_day(day)
            self.sshd_day(day, sources, clients)
        self.plant_scanners()
        self.plant_scanners_at_sshd()
        self.plant_icmp_errors()
        self.plant_defects(sources)
        self.plant_repeats()
        self.plant_new_year()
        self.plant_forged()
        self.plant_garbage()
        self.rsyslog_hups(rotation_days)
        for ev in self.events:
            self.add_line(ev.t_us, self.KERNEL, render_kernel_body(ev, self.boot_us), candidate=True)
        self.lines.sort(key=lambda line: line.t_us)
        return Simulation(params, self.tz, self.dates, self.bounds, self.boot_us, self.events, self.lines, self.scanners)


_SSH_KINDS = ("root", "invalid", "accepted", "badproto", "reverse", "noid", "closed", "reset", "negotiate",
              "disconnect", "odd_user", "noise")
_SSH_CUM = tuple(itertools.accumulate((26, 26, 3, 5, 8, 8, 10, 3, 3, 4, 2, 2)))
# User names attackers try that are hard to parse: spaces, quotes, a fake "from ... port" suffix.
ODD_USERS = ("john smith", "o'brien", 'x" onmouseover="alert(1)', "<script>alert(1)</script>",
             "admin from 192.0.2.1 port 22")


def _ssh_session(rng: _Rng, ip: str) -> list[tuple[str, str]]:
    """One client's sshd lines as (event kind, message); kinds as the sshd stage names them."""
    port = rng.between(1024, 65535)
    user = rng.pick(INVALID_USERS)
    kind = rng.weighted(_SSH_KINDS, _SSH_CUM)
    if kind == "root":
        return [("failed_password", f"Failed password for root from {ip} port {port} ssh2")] * rng.between(1, 3) + [
            ("connection_closed", f"Connection closed by authenticating user root {ip} port {port} [preauth]")]
    if kind in ("invalid", "odd_user"):
        user = rng.pick(ODD_USERS) if kind == "odd_user" else user
        return [("invalid_user", f"Invalid user {user} from {ip} port {port}"),
                ("failed_password", f"Failed password for invalid user {user} from {ip} port {port} ssh2"),
                ("connection_closed", f"Connection closed by invalid user {user} {ip} port {port} [preauth]")]
    if kind == "accepted":
        who = rng.pick(("alice", "bob", "deploy"))
        return [("accepted", f"Accepted publickey for {who} from {ip} port {port} ssh2: ED25519 "
                             f"SHA256:{rng.getrandbits(128):032x}"),
                ("other", f"pam_unix(sshd:session): session opened for user {who}(uid=1000) by (uid=0)")]
    if kind == "badproto":
        return [("bad_protocol_version", f"Bad protocol version identification 'GET / HTTP/1.1' from {ip} port {port}")]
    if kind == "reverse":
        name = "-".join(reversed(ip.replace(":", ".").split("."))) + ".dyn.example.net"
        return [("break_in_attempt", f"reverse mapping checking getaddrinfo for {name} [{ip}] failed"
                                     " - POSSIBLE BREAK-IN ATTEMPT!"),
                ("connection_closed", f"Connection closed by {ip} port {port} [preauth]")]
    if kind == "noid":
        return [("no_identification", f"Did not receive identification string from {ip} port {port}")]
    if kind == "reset":
        return [("connection_reset", f"Connection reset by {ip} port {port} [preauth]")]
    if kind == "negotiate":
        return [("unable_to_negotiate", f"Unable to negotiate with {ip} port {port}: no matching key exchange "
                                        "method found. Their offer: diffie-hellman-group1-sha1 [preauth]")]
    if kind == "disconnect":
        return [("disconnect", f"Received disconnect from {ip} port {port}:11: Bye Bye [preauth]"),
                ("disconnect", f"Disconnected from authenticating user root {ip} port {port} [preauth]")]
    if kind == "noise":
        return [("other", "error: kex_exchange_identification: Connection closed by remote host")]
    return [("connection_closed", f"Connection closed by {ip} port {port} [preauth]")]


INVALID_USERS = ("admin", "test", "oracle", "ubuntu", "user", "postgres", "git", "ftpuser", "pi", "guest", "support", "hadoop")
NTP_SERVERS = ("162.159.200.123", "185.232.69.65", "94.16.122.152", "193.182.111.12")
CHRONY_NOISE = ("chronyd[650]: Selected source {} (2.pool.ntp.org)", "chronyd[650]: Source {} replaced with {} (2.pool.ntp.org)",
                "chronyd[650]: Can't synchronise: no selectable sources")
DHCLIENT_NOISE = ("DHCPREQUEST for 10.0.0.1 on eth0 to 10.0.0.254 port 67 (xid=0x{xid:08x})",
                  "DHCPACK of 10.0.0.1 from 10.0.0.254 (xid=0x{xid:08x})",
                  "bound to 10.0.0.1 -- renewal in {n} seconds.")
LOGROTATE_NOISE = ("systemd[1]: Starting logrotate.service - Rotate log files...",
                   "systemd[1]: logrotate.service: Deactivated successfully.",
                   "systemd[1]: Finished logrotate.service - Rotate log files.")
KERNEL_NOISE = (
    "usb 1-1: new high-speed USB device number {n} using xhci_hcd",
    "EXT4-fs (sda1): mounted filesystem with ordered data mode. Quota mode: none.",
    "nf_conntrack: nf_conntrack: table full, dropping packet",
    "TCP: request_sock_TCP: Possible SYN flooding on port 22. Sending cookies.  Check SNMP counters.",
    "e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: None",
    "perf: interrupt took too long (25{n}1 > 2500), lowering kernel.perf_event_max_sample_rate to 79500",
    'audit: type=1400 audit({epoch}.{ms:03d}:{serial}): apparmor="ALLOWED" operation="open" profile="/usr/sbin/chronyd" '
    'name="/etc/chrony/chrony.conf" pid=650 comm="chronyd" requested_mask="r" denied_mask="r" fsuid=0 ouid=0',
    "device eth0 entered promiscuous mode",
    "IPv6: ADDRCONF(NETDEV_CHANGE): eth0: link becomes ready",
)
SYSTEMD_NOISE: tuple[Callable[[_Rng], str], ...] = (
    lambda r: (lambda n: f"systemd[1]: Started session-{n}.scope - Session {n} of User alice.")(r.between(100, 9999)),
    lambda r: "systemd[1]: Starting dnf-makecache.service - dnf makecache...",
    lambda r: "systemd[1]: dnf-makecache.service: Deactivated successfully.",
    lambda r: "systemd[1]: Starting sysstat-collect.service - system activity accounting tool...",
    lambda r: "systemd[1]: sysstat-collect.service: Deactivated successfully.",
    lambda r: f"systemd[1]: Started cron-{r.between(1, 4)}.timer - Cron job helper.",
    lambda r: "systemd[1]: Starting apt-daily.service - Daily apt download activities...",
    lambda r: f"systemd-logind[702]: New session {r.between(100, 9999)} of user alice.",
)


def _midnight_us(d: dt.date, tz: ZoneInfo) -> int:
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=tz).timestamp()) * US


# ---------------------------------------------------------------------------------------------
# Rotated families
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Family:
    """A logrotate'd file family: rotated at local midnight on the days ``rotates`` says."""

    name: str
    style: str  # "numeric": name, name.1, name.2.gz ...; "dateext": name, name-YYYYMMDD.gz ...
    rotates: Callable[[dt.date], bool]


FAMILIES = (
    Family("messages", "numeric", lambda d: d.weekday() == 6),  # weekly, Sundays
    Family("kern.log", "dateext", lambda d: d.toordinal() % 10 == 0),  # every 10 days
    Family("secure", "numeric", lambda d: d.weekday() == 6),
)


@dataclass
class FileInfo:
    lines: int
    ignored: int
    first: str | None
    last: str | None


def _rotation_days(family: Family, dates: list[dt.date]) -> list[int]:
    return [i for i, d in enumerate(dates) if i > 0 and family.rotates(d)]


def rotated_names(family: Family, cut_dates: list[dt.date]) -> list[str]:
    """File names oldest first; the last one is the live file."""
    n = len(cut_dates)
    if family.style == "numeric":
        older = [f"{family.name}.{k}" + (".gz" if k >= 2 else "") for k in range(n, 0, -1)]
    else:
        older = [f"{family.name}-{d:%Y%m%d}.gz" for d in cut_dates]
    return older + [family.name]


def write_family(out_dir: Path, family: Family, rendered: list[tuple[Line, str]], sim: Simulation,
                 rng: _Rng) -> dict[str, FileInfo]:
    """Split the family's lines at its rotation instants and write each period as one file."""
    days = _rotation_days(family, sim.dates)
    names = rotated_names(family, [sim.dates[i] for i in days])
    cuts = [sim.bounds[i] for i in days]
    mine = [item for item in rendered if family.name in item[0].families]
    times = [line.t_us for line, _ in mine]
    edges = [0] + [bisect.bisect_left(times, cut) for cut in cuts] + [len(mine)]
    periods = [mine[a:b] for a, b in zip(edges, edges[1:])]
    infos = {}
    for k, (name, period) in enumerate(zip(names, periods)):
        default_mtime = (cuts[k] if k < len(cuts) else sim.bounds[-1]) // US
        infos[name] = _write_file(out_dir / name, period, sim, rng, default_mtime)
    return infos


def _write_file(path: Path, period: list[tuple[Line, str]], sim: Simulation, rng: _Rng,
                default_mtime: int) -> FileInfo:
    stamped = [line.t_us for line, _ in period if not line.raw]
    mtime = stamped[-1] // US + rng.between(1, 5) if stamped else default_mtime
    data = "".join(text + "\n" for _, text in period).encode("utf-8", "surrogateescape")
    with open(path, "wb") as raw:
        if path.suffix == ".gz":
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=mtime, compresslevel=1) as gz:
                gz.write(data)
        else:
            raw.write(data)
    os.utime(path, (mtime, mtime))
    iso = lambda t: dt.datetime.fromtimestamp(t // US, sim.tz).isoformat()  # noqa: E731
    return FileInfo(len(period), sum(1 for line, _ in period if not line.candidate),
                    iso(stamped[0]) if stamped else None, iso(stamped[-1]) if stamped else None)


def render_lines(sim: Simulation, host: str) -> list[tuple[Line, str]]:
    """Prefix every non-raw line with its RFC 3164 header (``Mmm dd HH:MM:SS host ``)."""
    minutes: dict[int, str] = {}  # UTC offsets only change on whole minutes
    out = []
    for line in sim.lines:
        if line.raw:
            out.append((line, line.body))
            continue
        minute, sec = divmod(line.t_us // US, 60)
        head = minutes.get(minute)
        if head is None:
            t = dt.datetime.fromtimestamp(minute * 60, sim.tz)
            head = minutes[minute] = f"{MONTHS[t.month - 1]} {t.day:2d} {t.hour:02d}:{t.minute:02d}:"
        out.append((line, f"{head}{sec:02d} {host} {line.body}"))
    return out


# ---------------------------------------------------------------------------------------------
# Ground truth
# ---------------------------------------------------------------------------------------------
def build_truth(sim: Simulation, files: dict[str, FileInfo]) -> dict:
    """Counts from the simulated events (never from the written text)."""
    iso_days = [d.isoformat() for d in sim.dates]
    records, input_drops, ports, actions = Counter(), Counter(), Counter(), Counter()
    sources: Counter = Counter()
    rejects_per_day: dict[str, Counter] = defaultdict(Counter)
    for ev in sim.events:
        day = sim.day_of(ev.t_us)
        if ev.reject_reason:
            rejects_per_day[day][ev.reject_reason] += 1
            continue
        records[day] += ev.count
        actions[ev.action] += ev.count
        if ev.is_input_drop:
            input_drops[day] += ev.count
            sources[ev.src] += ev.count
            if ev.has_port:
                ports[ev.dport] += ev.count
    sshd_per_day: dict[str, Counter] = defaultdict(Counter)
    sshd_sources: Counter = Counter()
    for line in sim.lines:
        if line.reject:
            rejects_per_day[sim.day_of(line.t_us)][line.reject] += 1
        if line.sshd:
            sshd_per_day[sim.day_of(line.t_us)][line.sshd[0]] += 1
            if line.sshd[1]:
                sshd_sources[str(ipaddress.ip_address(line.sshd[1]))] += 1  # as the parser writes it
    rejects = Counter()
    for c in rejects_per_day.values():
        rejects.update(c)
    repeats = [ev.count for ev in sim.events if ev.count > 1]
    names = sorted(files)
    return {
        "params": sim.params,
        "tz": sim.params["tz"],
        "host": sim.params["host"],
        "days": iso_days,
        "records_per_day": {d: records[d] for d in iso_days},
        "input_drops_per_day": {d: input_drops[d] for d in iso_days},
        "input_drops_per_port": {str(p): ports[p] for p in sorted(ports)},
        "input_drops_per_source": {ip: sources[ip] for ip in sorted(sources)},
        "actions": {a: actions[a] for a in ("drop", "audit", "accept")},
        "rejects": {r: rejects[r] for r in REJECT_REASONS},
        "rejects_per_day": {d: {r: rejects_per_day[d][r] for r in REJECT_REASONS} for d in iso_days},
        "ignored_lines_per_file": {n: files[n].ignored for n in names},
        "lines_per_file": {n: files[n].lines for n in names},
        "scanners": _scanners_truth(sim),
        "repeated_lines": len(repeats),
        "repeated_events": sum(repeats),
        "files": {n: {"first": files[n].first, "last": files[n].last} for n in names},
        "sshd_per_kind": dict(sorted(sum(sshd_per_day.values(), Counter()).items())),
        "sshd_per_day": {d: dict(sorted(sshd_per_day[d].items())) for d in iso_days},
        "sshd_per_source": dict(sorted(sshd_sources.items())),
    }


def _scanners_truth(sim: Simulation) -> list[dict]:
    ports_by_day: dict[str, dict[str, set[int]]] = {ip: defaultdict(set) for ip, _ in sim.scanners}
    packets: Counter = Counter()
    for ev in sim.events:
        if ev.src in ports_by_day:
            ports_by_day[ev.src][sim.day_of(ev.t_us)].add(ev.dport)
            packets[ev.src] += ev.count
    return [{
        "ip": ip,
        "kind": kind,
        "days": sorted(ports_by_day[ip]),
        "distinct_ports": len(set().union(*ports_by_day[ip].values())),
        "max_ports_per_day": max(len(p) for p in ports_by_day[ip].values()),
        "packets": packets[ip],
    } for ip, kind in sim.scanners]


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------
def simulate(days: int, seed: int, start: dt.date | None = None, events_per_day: int = 2000,
             host: str = "gw01", tz: str = "UTC") -> Simulation:
    """Draw every event and line (no I/O). ``generate_logs`` = simulate + write + truth."""
    if days < 1:
        raise ValueError("days must be >= 1")
    start = start or DEFAULT_START
    params = {"days": days, "seed": seed, "start": start.isoformat(), "events_per_day": events_per_day,
              "host": host, "tz": tz}
    builder = _Builder(days, seed, start, events_per_day, tz)
    rotation_days = {i for fam in FAMILIES for i in _rotation_days(fam, builder.dates)}
    return builder.build(params, rotation_days)


def generate_logs(out_dir: str | Path, days: int, seed: int, start: dt.date | None = None,
                  events_per_day: int = 2000, host: str = "gw01", tz: str = "UTC") -> dict:
    """Write a synthetic /var/log-like directory and its ground truth; return the truth dict."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with _gc_paused():
        sim = simulate(days, seed, start, events_per_day, host, tz)
        rendered = render_lines(sim, host)
    rng = _Rng(f"{seed}:files")  # mtimes: independent of how much the simulation drew
    files: dict[str, FileInfo] = {}
    for family in FAMILIES:
        files.update(write_family(out, family, rendered, sim, rng))
    truth = build_truth(sim, files)
    truth_path = out / "ground_truth.json"
    truth_path.write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    os.utime(truth_path, (sim.bounds[-1] // US,) * 2)
    return truth


@contextlib.contextmanager
def _gc_paused():
    """Hundreds of thousands of acyclic objects: cyclic GC passes would only cost time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--events-per-day", type=int, default=2000)
    parser.add_argument("--host", default="gw01")
    parser.add_argument("--tz", default="UTC")
    a = parser.parse_args(argv)
    t0 = time.perf_counter()
    truth = generate_logs(a.out_dir, a.days, a.seed, a.start, a.events_per_day, a.host, a.tz)
    print(f"{sum(truth['lines_per_file'].values())} lines in {len(truth['lines_per_file'])} files, "
          f"{sum(truth['records_per_day'].values())} records, {time.perf_counter() - t0:.2f}s")


if __name__ == "__main__":
    main()
