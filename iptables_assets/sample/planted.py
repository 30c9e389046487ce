"""What the parser and the tests must find: scanners, ICMP errors, malformed lines, repeats, New Year, debris."""

from __future__ import annotations

import zlib

from iptables_assets.sample.background import Source
from iptables_assets.sample.events import US, NetfilterEvent
from iptables_assets.sample.host import DROP, HOST_V4, MAC_MCAST, ROUTER_V4
from iptables_assets.sample.internet import SCAN_THRESHOLD, SCANNER_OCTETS
from iptables_assets.sample.world import World


def plant_scanners(world: World) -> None:
    """Fast, big, near-threshold and slow scanners, each on days of its own where the range allows."""
    rng, days = world.rng, len(world.dates)
    nye = [i for i, d in enumerate(world.dates) if (d.month, d.day) == (12, 31)]
    free = [i for i in range(days) if i not in nye[:1]]
    rng.shuffle(free)

    def pick() -> int:  # a day no other one-day scanner uses, while there are such days
        return free.pop() if free else rng.below(days)

    for kind, ports, per_port in (("fast", 51, 3), ("fast", 120, 3), ("fast", 800, 2)):
        _one_day_scan(world, kind, pick(), ports, per_port, 0.05)
    # the big one on New Year's Eve when the range has it, ending just before midnight
    _one_day_scan(world, "big", nye[0] if nye else pick(), 3500, 1, 0.12, end=0.9999)
    for _ in range(2):
        _one_day_scan(world, "near_threshold", pick(), SCAN_THRESHOLD, 2, 0.3)
    for span in (12, 14):
        _slow_scan(world, min(days, span))


def _scanner_ip(world: World, kind: str) -> str:
    """A fresh address from scanner-hosting networks, listed with its kind for the truth."""
    ip = world.new_ip(SCANNER_OCTETS)
    world.scanners.append((ip, kind))
    return ip


def _scan_packet(world: World, t: int, ip: str, dport: int, sport: int, kind: str) -> NetfilterEvent:
    """zmap-like SYN: fixed source port, no DF, IP ID 54321, TTL 255 minus the hops."""
    return world.add(NetfilterEvent(t, DROP, ip, HOST_V4, "TCP", sport=sport, dport=dport, length=44,
                                    ttl=255 - 4 - zlib.crc32(ip.encode()) % 16, ip_id=54321, df=False, window=65535,
                                    origin=kind))


def _one_day_scan(world: World, kind: str, day: int, n_ports: int, max_per_port: int, duration: float,
                  end: float | None = None) -> None:
    """``n_ports`` distinct random ports in a ``duration`` (fraction of the day) burst."""
    rng = world.rng
    ip, sport = _scanner_ip(world, kind), rng.between(40000, 65000)
    lo = (end - duration) if end is not None else rng.uniform(0.0, 1.0 - duration)
    ports = rng.sample(range(1, 65536), n_ports)
    for port in ports:
        for _ in range(rng.between(1, max_per_port) if rng.random() < 0.5 else 1):
            _scan_packet(world, world.time_in(day, lo, lo + duration), ip, port, sport, kind)


def _slow_scan(world: World, span: int) -> None:
    """Few new ports a day over ``span`` days: under the threshold every day, well over it in total."""
    rng, days = world.rng, len(world.dates)
    ip, sport = _scanner_ip(world, "slow"), rng.between(40000, 65000)
    first = rng.between(0, days - span)
    pool = rng.sample(range(1, 65536), 12 * span)
    seen: list[int] = []
    for day in range(first, first + span):
        new = [pool.pop() for _ in range(rng.between(8, 12))]
        for port in new + rng.sample(seen, min(len(seen), rng.between(0, 3))):
            for _ in range(rng.between(1, 2)):
                _scan_packet(world, world.time_in(day), ip, port, sport, "slow")
        seen += new


def plant_icmp_errors(world: World) -> None:
    """Port-unreachables quoting our own UDP packet: the bracketed inner header has other addresses."""
    rng = world.rng
    for _ in range(max(1, len(world.dates) // 4)):
        inner = NetfilterEvent(0, DROP, HOST_V4, world.new_ip(), "UDP", sport=rng.between(32768, 60999),
                               dport=rng.pick((53, 123, 33434 + rng.below(30))), length=rng.pick((40, 60, 72)),
                               ttl=rng.between(1, 60), ip_id=rng.below(65536), df=False)
        world.add(NetfilterEvent(world.time_in(rng.below(len(world.dates))), DROP, world.new_ip(), HOST_V4, "ICMP",
                                 length=28 + inner.length, ttl=rng.between(40, 250), ip_id=rng.below(65536), df=False,
                                 icmp=(3, 3), inner=inner))


def plant_defects(world: World, sources: list[Source]) -> None:
    """A few malformed kernel lines per week (they go to both kernel families like any other)."""
    rng, days = world.rng, len(world.dates)
    per_week = {"truncated_after_address": 2, "missing_address": 2, "bad_address": 1, "incomplete": 2, "igmp": 2}
    for kind, rate in per_week.items():
        for _ in range(max(1, round(days * rate / 7))):
            t, src = world.time_in(rng.below(days)), rng.pick(sources).ip
            if kind == "igmp":  # IGMP query from the upstream router: a bare protocol number
                ev = NetfilterEvent(t, DROP, ROUTER_V4, "224.0.0.1", "2", mac=MAC_MCAST, length=32, tos=0xC0, ttl=1, ip_id=0)
            elif kind == "incomplete":
                ev = world.inbound(t, DROP, src, "TCP", None, sport=None, defect="incomplete",
                                   defect_arg=rng.pick((8, 12, 16, 65)))
            else:
                ev = world.inbound(t, DROP, src, "TCP", rng.pick((22, 23, 445)), defect=kind, defect_arg=rng.below(1000))
                if kind == "bad_address":
                    octets = (rng.between(1, 250) for _ in range(3))
                    ev.src = rng.pick(("999.{}.{}.{}", "256.{}.{}.{}", "{}.300.{}.{}")).format(*octets)
            world.add(ev)


def plant_repeats(world: World) -> None:
    """rsyslog repeat reduction: an identical message N more times → one line worth N events."""
    rng = world.rng
    originals = [e for e in world.events if e.origin == "background" and e.is_input_drop and e.has_port and not e.v6]
    for _ in range(max(1, round(len(world.dates) / 5))):
        orig = rng.pick(originals)
        t = world.unique(orig.t_us + rng.between(2, 40) * US + rng.below(US))
        rep = NetfilterEvent(**{f: getattr(orig, f) for f in NetfilterEvent.__slots__})
        rep.t_us, rep.count = t, rng.between(2, 6)
        world.add(rep)


def plant_new_year(world: World) -> None:
    """Packets a second either side of every local New Year's midnight in range."""
    for i, d in enumerate(world.dates[:-1]):
        if (d.month, d.day) == (12, 31):
            ip = world.new_ip()
            for t in (world.bounds[i + 1] - world.rng.between(1, 999_999), world.bounds[i + 1] + world.rng.below(999_999)):
                world.add(world.inbound(world.unique(t), DROP, ip, "TCP", 23, flags="SYN"))


def plant_garbage(world: World) -> None:
    """Crash debris: a run of NUL bytes and non-UTF-8 junk, no header, no netfilter text."""
    rng = world.rng
    junk = [c for c in range(0x20, 0x7F) if c != ord("=")] + list(range(0x80, 0x100))
    for families, body in ((("messages",), "\x00" * rng.between(200, 600)),
                           (("messages",), None), (("kern.log",), None)):
        if body is None:
            raw = bytes([0xFF]) + bytes(rng.pick(junk) for _ in range(rng.between(40, 120)))
            body = raw.decode("utf-8", "surrogateescape")
        world.add_line(world.time_in(rng.below(len(world.dates))), families, body, raw=True)
