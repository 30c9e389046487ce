"""A fleet's shared attackers as seen by one host: planned visits turned into that host's netfilter events.

The fleet plan (``fleet_plan``) decides who knocks on which host, on which day and port; the host's own
``World`` then draws the instants and header values, so each visit reads like any other line of that
host (its uptime, its microsecond clock, its host name in the header) and the truth of the host counts
it like any other event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from iptables_assets.sample.events import US, NetfilterEvent
from iptables_assets.sample.host import DROP, HOST_V6, MAC_WAN6
from iptables_assets.sample.world import World


@dataclass(frozen=True, slots=True)
class Visit:
    """``packets`` lines from ``src`` to ``dport`` on local day ``day``, between the ``lo`` and ``hi``
    fractions of the day; ``repeat`` > 1 adds an rsyslog ``message repeated N times`` line after the
    last one. ``defect="incomplete"`` logs the packets without ports (``INCOMPLETE [n bytes]``)."""

    day: int
    src: str  # as the kernel prints it: IPv6 uncompressed
    proto: str
    dport: int
    kind: str
    prefix: str = DROP
    packets: int = 1
    sport: int | None = None  # a fixed source port (zmap-like), else one per packet
    repeat: int = 0
    lo: float = 0.0
    hi: float = 1.0
    defect: str | None = None

    @property
    def v6(self) -> bool:
        return ":" in self.src


def add_visits(world: World, visits: Sequence[Visit]) -> None:
    """Every visit's packets as this host's events, in the order given (the plan's order is fixed)."""
    for v in visits:
        last = None
        for _ in range(v.packets):
            last = world.add(_packet(world, v, world.time_in(v.day, v.lo, v.hi)))
        if v.repeat > 1 and last is not None:
            t = last.t_us + world.rng.between(2, 40) * US + world.rng.below(US)
            if t < world.bounds[v.day + 1] - US:  # a repeat stays on its day (and inside the window)
                rep = NetfilterEvent(**{f: getattr(last, f) for f in NetfilterEvent.__slots__})
                rep.t_us, rep.count = world.unique(t), v.repeat
                world.add(rep)


def _packet(world: World, v: Visit, t: int) -> NetfilterEvent:
    """One packet of a visit, its header drawn by the host's world like its background packets."""
    overrides: dict = {"origin": f"fleet:{v.kind}"}
    if v.sport is not None:
        overrides["sport"] = v.sport
    if v.v6:
        overrides.update(dst=HOST_V6, mac=MAC_WAN6, v6=True, length=80 if v.proto == "TCP" else 68, tos=0)
    if v.defect == "incomplete":
        overrides.update(sport=None, defect="incomplete", defect_arg=world.rng.pick((8, 12, 16)))
        return world.inbound(t, v.prefix, v.src, v.proto, None, **overrides)
    return world.inbound(t, v.prefix, v.src, v.proto, v.dport, **overrides)
