"""Who attacks the fleet as a whole: a pool of shared mass scanners and the planted horizontal scans.

Everything here is drawn from one ``Rng(f"{seed}:fleet")`` before any host is simulated, so the plan
does not depend on how much each host drew; each host then turns its share into events
(``fleet_visits``). Addresses come from networks no host uses for anything else, so a planted
source's hosts are exactly the planted ones (the truth is still counted from every event).

Planted kinds (T = FLEET_SCAN_HOSTS, L = FLEET_LONGTERM_HOSTS, "hosts" = hosts whose counted INPUT
drops from the source reach the port):

* ``horizontal``: one port, more than T hosts on one day; ``horizontal_multiport``: the same hosts on
  three ports; ``horizontal_ipv6``: an IPv6 source (truth in compressed form), one repeat line.
* ``near_miss``: exactly T hosts on one day (with repeat lines: N events are still one host).
* ``near_miss_uncounted``: T hosts drop it, one or two more log it only as ``[UFW AUDIT]`` or
  ``INCOMPLETE`` (no port): still T.
* ``near_miss_midnight``: T hosts just before local midnight, one more just after: T, then 1.
* ``slow_horizontal``: one or two new hosts a day (at most T a day) until more than L in total.
* ``longterm_near_miss``: exactly L hosts over the whole window, one new host a day.

What does not fit the fleet (too few hosts or days) is listed in ``skipped`` with the reason.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from iptables_assets.sample.host import AUDIT, BLOCK, DROP
from iptables_assets.sample.internet import POPULAR_CUM, POPULAR_KEYS
from iptables_assets.sample.fleet_visits import Visit
from iptables_assets.sample.world import Rng
from iptables_assets.settings import FLEET_LONGTERM_HOSTS, FLEET_SCAN_HOSTS

# First octets no single host draws from (internet.PUBLIC_OCTETS / SCANNER_OCTETS), nor IPv6 prefixes.
FLEET_OCTETS = (64, 66, 68, 74, 98, 138, 141, 184, 198, 209, 216)
FLEET_V6_PREFIXES = ("2602:ffc5", "2a10:cc42", "2001:0470")


@dataclass
class FleetPlan:
    """Per host (in name order) the visits it gets; what was planted and what could not be."""

    visits: list[list[Visit]]
    planted: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    shared_sources: list[dict] = field(default_factory=list)


class _Planner:
    """The fleet's random draws and the visits they give, host by host."""

    def __init__(self, names: list[str], day_names: list[str], seed: int):
        self.rng, self.names, self.day_names = Rng(f"{seed}:fleet"), names, day_names
        self.days = len(day_names)
        self.plan = FleetPlan([[] for _ in names])
        self.used: set[str] = set()

    def new_ip(self, v6: bool = False) -> str:
        """A fresh fleet address; IPv6 uncompressed with zero groups, so its compressed form differs."""
        rng = self.rng
        while True:
            if v6:
                ip = (f"{rng.pick(FLEET_V6_PREFIXES)}:{rng.below(0x10000):04x}:0000:0000:0000:"
                      f"{rng.below(0x100):04x}:{rng.between(1, 0xFFFF):04x}")
            else:
                ip = f"{rng.pick(FLEET_OCTETS)}.{rng.between(0, 255)}.{rng.between(0, 255)}.{rng.between(1, 254)}"
            if ip not in self.used:
                self.used.add(ip)
                return ip

    def visit(self, host: int, **kw) -> None:
        self.plan.visits[host].append(Visit(**kw))

    def planted(self, kind: str, ip: str, ports: list[int], per_day: dict[int, list[int]], **extra) -> None:
        """Record a planted source for the truth: its counted hosts per day, by name."""
        self.plan.planted.append({
            "kind": kind, "src_ip": str(ipaddress.ip_address(ip)), "dst_ports": sorted(ports),
            "hosts_per_day": {self.day_names[d]: sorted(self.names[h] for h in hs) for d, hs in sorted(per_day.items())},
            **extra})

    def skip(self, kind: str, reason: str) -> None:
        self.plan.skipped.append({"kind": kind, "reason": reason})


def plan_fleet(names: list[str], day_names: list[str], seed: int) -> FleetPlan:
    """The shared pool first, then the planted kinds in a fixed order (changing it changes every host).
    ``day_names``: the window's local days (ISO), for the truth."""
    p = _Planner(names, day_names, seed)
    _shared_pool(p)
    _daily_scans(p)
    _near_misses(p)
    _slow_sweeps(p)
    return p.plan


def _shared_pool(p: _Planner) -> None:
    """Mass scanners: a few ports each, on some days sweeping everyone, on others part of the fleet."""
    rng, n = p.rng, len(p.names)
    for _ in range(4 + n):
        ip, ports = p.new_ip(v6=rng.random() < 0.15), {}
        while len(ports) < rng.between(1, 3):
            proto, port = rng.weighted(POPULAR_KEYS, POPULAR_CUM)
            ports.setdefault(port, proto)
        active, sport = rng.uniform(0.1, 0.5), rng.between(40000, 65000)
        p.plan.shared_sources.append({"src_ip": str(ipaddress.ip_address(ip)), "dst_ports": sorted(ports)})
        for day in range(p.days):
            if rng.random() >= active:
                continue
            reach = n if rng.random() < 0.25 else rng.between(1, n)
            for host in sorted(rng.sample(range(n), reach)):
                for port, proto in ports.items():
                    r = rng.random()
                    prefix = AUDIT if r < 0.05 else BLOCK if r < 0.2 else DROP
                    p.visit(host, day=day, src=ip, proto=proto, dport=port, kind="shared", prefix=prefix,
                            packets=rng.between(1, 2), sport=sport,
                            repeat=rng.between(2, 5) if rng.random() < 0.05 else 0)


def _sweep(p: _Planner, kind: str, ip: str, day: int, hosts: list[int], ports: list[int], **kw) -> None:
    """One source, the same ports, the given hosts, in a burst of a tenth of the day."""
    rng = p.rng
    lo, sport = kw.pop("lo", rng.uniform(0.0, 0.85)), rng.between(40000, 65000)
    hi = kw.pop("hi", lo + 0.1)
    for host in hosts:
        for port in ports:
            p.visit(host, day=day, src=ip, proto="TCP", dport=port, kind=kind, packets=rng.between(1, 3),
                    sport=sport, lo=lo, hi=hi, **kw)


def _daily_scans(p: _Planner) -> None:
    """Sources reaching more than T hosts on one port (or three) on one day."""
    rng, n = p.rng, len(p.names)
    kinds = ("horizontal", "horizontal_multiport", "horizontal_ipv6")
    if n <= FLEET_SCAN_HOSTS:
        for kind in kinds:
            p.skip(kind, f"needs more than {FLEET_SCAN_HOSTS} hosts, the fleet has {n}")
        return
    for kind in kinds:
        ip, day = p.new_ip(v6=kind == "horizontal_ipv6"), rng.below(p.days)
        hosts = sorted(rng.sample(range(n), rng.between(FLEET_SCAN_HOSTS + 1, n)))
        ports = rng.sample(range(1, 65536), 3 if kind == "horizontal_multiport" else 1)
        _sweep(p, kind, ip, day, hosts, ports)
        if kind == "horizontal_ipv6":  # and a repeat line on one host: still that one host
            p.visit(hosts[0], day=day, src=ip, proto="TCP", dport=ports[0], kind=kind, repeat=rng.between(2, 5),
                    hi=0.9)
        p.planted(kind, ip, ports, {day: hosts})


def _near_misses(p: _Planner) -> None:
    """Exactly T hosts on a day, however it is dressed up: never a horizontal scan."""
    rng, n, t = p.rng, len(p.names), FLEET_SCAN_HOSTS
    if n < t:
        p.skip("near_miss", f"needs {t} hosts, the fleet has {n}")
    else:
        ip, day, port = p.new_ip(), rng.below(p.days), rng.between(1, 65535)
        hosts = sorted(rng.sample(range(n), t))
        _sweep(p, "near_miss", ip, day, hosts, [port], repeat=rng.between(2, 4))
        p.planted("near_miss", ip, [port], {day: hosts})
    if n <= t:
        p.skip("near_miss_uncounted", f"needs more than {t} hosts, the fleet has {n}")
        p.skip("near_miss_midnight", f"needs more than {t} hosts, the fleet has {n}")
        return
    ip, day, port = p.new_ip(), rng.below(p.days), rng.between(1, 65535)
    picked = rng.sample(range(n), min(n, t + 2))
    counted, others = sorted(picked[:t]), sorted(picked[t:])
    _sweep(p, "near_miss_uncounted", ip, day, counted, [port], lo=0.4, hi=0.5)
    for k, host in enumerate(others):  # the same source and port, logged but not a counted drop
        extra = {"prefix": AUDIT} if k % 2 == 0 else {"defect": "incomplete"}
        _sweep(p, "near_miss_uncounted", ip, day, [host], [port], lo=0.4, hi=0.5, **extra)
    p.planted("near_miss_uncounted", ip, [port], {day: counted}, uncounted_hosts=[p.names[h] for h in others])
    if p.days < 2:
        p.skip("near_miss_midnight", "needs two days")
        return
    ip, day, port = p.new_ip(), rng.below(p.days - 1), rng.between(1, 65535)
    hosts = rng.sample(range(n), t + 1)
    _sweep(p, "near_miss_midnight", ip, day, sorted(hosts[:t]), [port], lo=0.9995, hi=0.99999)
    _sweep(p, "near_miss_midnight", ip, day + 1, [hosts[t]], [port], lo=0.0, hi=0.0005)
    p.planted("near_miss_midnight", ip, [port], {day: hosts[:t], day + 1: hosts[t:]})


def _slow_sweeps(p: _Planner) -> None:
    """One port, one or two new hosts a day: more than L hosts in all (and one at exactly L)."""
    rng, n, lt = p.rng, len(p.names), FLEET_LONGTERM_HOSTS
    most = min(2, FLEET_SCAN_HOSTS)  # new hosts a day
    for kind, need, extra in (("slow_horizontal", lt + 1, rng.between(0, 2)), ("longterm_near_miss", lt, 0)):
        total = min(n, need + extra)
        span = -(-total // most)  # days it takes at most new hosts a day
        if n < need or p.days < span:
            p.skip(kind, f"needs {need} hosts and {-(-need // most)} days, the fleet has {n} hosts and {p.days} days")
            continue
        ip, port = p.new_ip(), rng.between(1, 65535)
        order, per_day = rng.sample(range(n), total), {}
        day = rng.between(0, p.days - span)
        while order:
            left = p.days - day  # days left, this one included: never fewer than the hosts need
            k = 1 if kind == "longterm_near_miss" else rng.between(1, most)
            new = [order.pop() for _ in range(min(len(order), max(k, len(order) - most * (left - 1))))]
            seen = sorted({h for hs in per_day.values() for h in hs})
            again = rng.sample(seen, min(len(seen), rng.between(0, FLEET_SCAN_HOSTS - len(new))))
            per_day[day] = sorted(new + again)
            _sweep(p, kind, ip, day, per_day[day], [port])
            day += 2 if rng.random() < 0.5 and len(order) <= most * (left - 2) else 1
        p.planted(kind, ip, [port], per_day)
