"""The state every part of the simulation draws on: seeded random draws, the clock, used addresses, output."""

from __future__ import annotations

import bisect
import datetime as dt
import random
from zoneinfo import ZoneInfo

from iptables_assets.sample.events import US, Line, NetfilterEvent
from iptables_assets.sample.host import HOST_V4, ROUTER_V4
from iptables_assets.sample.internet import (
    ACK_LENGTHS,
    FLAG_CUM,
    FLAG_KEYS,
    PUBLIC_OCTETS,
    PUBLIC_V6_PREFIXES,
    SYN_LENGTHS,
    TCP_WINDOWS,
    TOS_BYTES,
    UDP_LENGTHS,
    path_ttl,
)
from iptables_assets.sample.rendering import render_uptime

KERNEL_FAMILIES = ("messages", "kern.log")  # every kernel line goes to both, byte for byte


class Rng(random.Random):
    """``random.Random`` plus cheap one-``random()`` draws for the hot paths."""

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def between(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def pick(self, seq):
        return seq[int(self.random() * len(seq))]

    def weighted(self, keys, cum):
        return keys[bisect.bisect_right(cum, self.random() * cum[-1])]


class World:
    """What has been drawn so far; every part draws from ``rng`` in a fixed order, so a seed gives one world."""

    def __init__(self, days: int, seed: int, start: dt.date, events_per_day: int, tz: str):
        self.rng = Rng(seed)
        self.ssh_rng = Rng(f"{seed}:sshd")  # sshd sessions draw apart: firewall events do not depend on them
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

    def unique(self, t_us: int) -> int:
        """Reserve a distinct microsecond so uptimes increase strictly and lines never tie."""
        while t_us in self.used_t:
            t_us += 1
        self.used_t.add(t_us)
        return t_us

    def time_in(self, day: int, lo: float = 0.0, hi: float = 1.0, rng: Rng | None = None) -> int:
        """A free instant in the ``lo``..``hi`` fraction of local day ``day`` (whatever its length in DST)."""
        a, b = self.bounds[day], self.bounds[day + 1]
        return self.unique(a + int((b - a) * lo) + (rng or self.rng).below(max(1, int((b - a) * (hi - lo)))))

    def new_ip(self, octets: tuple[int, ...] = PUBLIC_OCTETS, cum: tuple[int, ...] | None = None) -> str:
        """A public IPv4 address no one has used yet, so every planted actor is told apart in the truth."""
        rng = self.rng
        while True:
            first = rng.weighted(octets, cum) if cum else rng.pick(octets)
            ip = f"{first}.{rng.between(0, 255)}.{rng.between(0, 255)}.{rng.between(1, 254)}"
            if ip not in self.used_ips:
                self.used_ips.add(ip)
                return ip

    def new_ip6(self) -> str:
        """A public IPv6 source, uncompressed as the kernel prints it."""
        groups = [f"{self.rng.below(0x10000):04x}" for _ in range(6)]
        ip = f"{self.rng.pick(PUBLIC_V6_PREFIXES)}:" + ":".join(groups)
        self.used_ips.add(ip)
        return ip

    def add_line(self, t_us: int, families: tuple[str, ...], body: str, **kw) -> None:
        """Queue a line for the files; netfilter events become lines only at assembly."""
        self.lines.append(Line(t_us, families, body, **kw))

    def kernel_noise(self, t_us: int, text: str) -> None:
        """A non-netfilter kernel line, stamped with the uptime like the netfilter ones."""
        self.add_line(t_us, KERNEL_FAMILIES, f"kernel: {render_uptime(t_us - self.boot_us)} {text}")

    def inbound(self, t_us: int, prefix: str, src: str, proto: str, dport: int | None, **overrides) -> NetfilterEvent:
        """An INPUT packet from ``src`` to us with realistic header values (``overrides`` win).

        Hot path: the independent header fields are slices of one 64-bit draw.
        """
        rng = self.rng
        bits = rng.getrandbits(64)  # sport:16 | ip id:16 | ttl:4 | . | tos:8 | df:4 | length:4
        lengths = UDP_LENGTHS
        flags, window = "", 0
        if proto == "TCP":
            flags, window = rng.weighted(FLAG_KEYS, FLAG_CUM), rng.pick(TCP_WINDOWS)
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
        """Keep an event for the truth (and, at assembly, the kernel families); return it for chaining."""
        self.events.append(ev)
        return ev


def _midnight_us(d: dt.date, tz: ZoneInfo) -> int:
    """Local midnight as UTC epoch µs: days are calendar days in ``tz``, 23 or 25 hours across DST."""
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=tz).timestamp()) * US
