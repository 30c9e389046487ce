"""Internet background noise, day by day: returning sources with port profiles, our own traffic, IPv6."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from iptables_assets.sample.events import NetfilterEvent
from iptables_assets.sample.host import ALLOW, AUDIT, BLOCK, DROP, HOST_V4, HOST_V6, LAN_NET, MAC_LAN, MAC_WAN6
from iptables_assets.sample.internet import (
    MAX_BG_PORTS_PER_DAY,
    OCTET_CUM,
    POPULAR_CUM,
    POPULAR_KEYS,
    PROFILE_CUM,
    PROFILE_SIZES,
    PUBLIC_OCTETS,
    path_ttl,
)
from iptables_assets.sample.world import World


@dataclass(slots=True)
class Source:
    """A background sender: active from day ``first`` to ``last``, always probing its own few ports."""

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


def make_sources(world: World) -> list[Source]:
    """Heavy-tailed lifetimes, volumes and port counts, as the senders in real drop logs have."""
    rng, days = world.rng, len(world.dates)
    n = max(60, days * world.events_per_day // 40)
    sources = []
    for _ in range(n):
        span = min(days, int(rng.paretovariate(0.8)))
        first = rng.between(-span + 1, days - 1)
        size, weight = rng.weighted(PROFILE_SIZES, PROFILE_CUM), min(rng.paretovariate(1.1), 400.0)
        tail = 0.25 if weight < 10 else 0.0  # the heaviest talkers go for well-known services
        sources.append(Source(world.new_ip(PUBLIC_OCTETS, OCTET_CUM), weight, max(0, first),
                              min(days - 1, first + span - 1), _port_profile(world, size, tail)))
    return sources


def _port_profile(world: World, size: int, tail: float) -> list[tuple[str, int]]:
    """``size`` distinct destination ports: the popular head, or with probability ``tail`` any port."""
    rng, profile = world.rng, {}
    while len(profile) < size:
        if rng.random() >= tail:
            proto, port = rng.weighted(POPULAR_KEYS, POPULAR_CUM)
        else:
            proto, port = ("TCP" if rng.random() < 0.85 else "UDP"), rng.between(1, 65535)
        profile.setdefault(port, proto)
    return [(proto, port) for port, proto in profile.items()]


def background_day(world: World, day: int, sources: list[Source], clients: list[str], egress: list[str]) -> None:
    """One day's mix: mostly drops from the active sources, some audits, accepts, outbound and forwarded drops."""
    rng = world.rng
    active = [s for s in sources if s.first <= day <= s.last] or [sources[day % len(sources)]]
    cum = list(itertools.accumulate(s.weight for s in active))
    n = world.events_per_day + rng.between(-world.events_per_day // 10, world.events_per_day // 10)
    for src in rng.choices(active, cum_weights=cum, k=n):
        r, t = rng.random(), world.time_in(day)
        if r < 0.015:
            world.add(_outbound(world, t, egress))
        elif r < 0.02:
            world.add(_forwarded(world, t))
        elif r < 0.04:
            world.add(world.inbound(t, ALLOW, rng.pick(clients), "TCP", rng.pick((22, 443, 80)), flags="SYN"))
        elif r < 0.07:
            world.add(_echo(world, t, src.ip) if rng.random() < 0.05 else _from_profile(world, t, AUDIT, src, day))
        else:
            prefix = DROP if rng.random() < 0.85 else BLOCK
            world.add(_echo(world, t, src.ip, prefix) if rng.random() < 0.03
                      else _from_profile(world, t, prefix, src, day))


def _from_profile(world: World, t: int, prefix: str, src: Source, day: int) -> NetfilterEvent:
    """A packet to one of the ports ``src`` probes that day."""
    proto, port = world.rng.pick(src.ports_on(day))
    return world.inbound(t, prefix, src.ip, proto, port)


def _echo(world: World, t: int, src: str, prefix: str = DROP) -> NetfilterEvent:
    """A ping, so ICMP records with ID and SEQ but no ports are in the mix."""
    rng = world.rng
    return NetfilterEvent(t, prefix, src, HOST_V4, "ICMP", length=rng.pick((28, 60, 84)), ttl=path_ttl(src),
                          ip_id=rng.below(65536), df=rng.random() < 0.5, icmp=(8, 0, rng.below(65536), rng.between(0, 20)))


def _outbound(world: World, t: int, egress: list[str]) -> NetfilterEvent:
    """OUTPUT drop: no input device, hence no MAC; the source is us."""
    rng = world.rng
    proto, port = rng.pick((("TCP", 25), ("TCP", 6667), ("TCP", 4444), ("UDP", 53), ("UDP", 123), ("TCP", 3333)))
    return NetfilterEvent(t, rng.pick((DROP, BLOCK)), HOST_V4, rng.pick(egress), proto, in_if="", out_if="eth0", mac="",
                          sport=rng.between(32768, 60999), dport=port, length=60 if proto == "TCP" else 72, ttl=64,
                          ip_id=rng.below(65536), window=64240)


def _forwarded(world: World, t: int) -> NetfilterEvent:
    """FORWARD drop from the LAN: both devices set, so it is not an input drop."""
    rng = world.rng
    proto, port = rng.pick((("TCP", 25), ("TCP", 445), ("UDP", 137), ("UDP", 1900)))
    return NetfilterEvent(t, DROP, f"{LAN_NET}{rng.between(20, 60)}", world.new_ip(), proto, in_if="eth1", out_if="eth0",
                          mac=MAC_LAN, sport=rng.between(1024, 65535), dport=port, length=52 if proto == "TCP" else 78,
                          ttl=127, ip_id=rng.below(65536), window=64240)


def ipv6_day(world: World, day: int) -> None:
    """A few IPv6 drops a day, so the parser meets HOPLIMIT/FLOWLBL headers and uncompressed addresses."""
    rng = world.rng
    for _ in range(max(1, world.events_per_day // 1000)):
        src, t = world.new_ip6(), world.time_in(day)
        if rng.random() < 0.25:
            ev = NetfilterEvent(t, DROP, src, HOST_V6, "ICMPv6", mac=MAC_WAN6, length=104, ttl=path_ttl(src),
                                icmp=(128, 0, rng.below(65536), rng.between(1, 9)), v6=True)
        else:
            proto, port = rng.weighted(POPULAR_KEYS, POPULAR_CUM)
            ev = world.inbound(t, rng.pick((DROP, BLOCK)), src, proto, port, dst=HOST_V6, mac=MAC_WAN6, v6=True,
                               length=80 if proto == "TCP" else 68, tos=0)
        world.add(ev)
