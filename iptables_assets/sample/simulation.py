"""What happens over the simulated weeks: every event and line, drawn in one fixed order from one seed."""

from __future__ import annotations

import datetime as dt
from typing import Sequence

from iptables_assets.sample.background import background_day, ipv6_day, make_sources
from iptables_assets.sample.digest_plants import plant_digest
from iptables_assets.sample.events import Simulation
from iptables_assets.sample.fleet_visits import Visit, add_visits
from iptables_assets.sample.planted import (
    plant_defects,
    plant_garbage,
    plant_icmp_errors,
    plant_new_year,
    plant_repeats,
    plant_scanners,
)
from iptables_assets.sample.rendering import render_kernel_body
from iptables_assets.sample.rotation import FAMILIES, rotation_days
from iptables_assets.sample.sshd_sessions import plant_forged, plant_scanners_at_sshd, sshd_day
from iptables_assets.sample.system_noise import messages_noise_day, rsyslog_hups
from iptables_assets.sample.world import KERNEL_FAMILIES, World

DEFAULT_START = dt.date(2025, 12, 1)


def simulate(days: int, seed: int, start: dt.date | None = None, events_per_day: int = 2000,
             host: str = "gw01", tz: str = "UTC", visits: Sequence[Visit] = (),
             digest_plants: bool = False) -> Simulation:
    """Draw every event and line (no I/O). ``generate_logs`` = simulate + write + truth.

    ``visits``: a fleet's shared attackers knocking on this host (``fleet_visits``), drawn after
    everything else so that a host without visits is exactly today's single host.
    ``digest_plants``: what the daily digest must find (``digest_plants``, 30 days or more), drawn
    last of all, so the rest is byte for byte the run without them."""
    if days < 1:
        raise ValueError("days must be >= 1")
    start = start or DEFAULT_START
    params = {"days": days, "seed": seed, "start": start.isoformat(), "events_per_day": events_per_day,
              "host": host, "tz": tz, **({"digest_plants": True} if digest_plants else {})}
    world = World(days, seed, start, events_per_day, tz)
    all_rotation_days = {i for fam in FAMILIES for i in rotation_days(fam, world.dates)}
    return _draw(world, params, all_rotation_days, visits, digest_plants)


def _draw(world: World, params: dict, all_rotation_days: set[int], visits: Sequence[Visit],
          digest_plants: bool = False) -> Simulation:
    """Day-by-day traffic first, then the planted things; changing this order changes every byte."""
    sources = make_sources(world)
    clients = [world.new_ip() for _ in range(12)]
    egress = [world.new_ip() for _ in range(5)]
    for day in range(len(world.dates)):
        background_day(world, day, sources, clients, egress)
        ipv6_day(world, day)
        messages_noise_day(world, day)
        sshd_day(world, day, sources, clients)
    plant_scanners(world)
    plant_scanners_at_sshd(world)
    plant_icmp_errors(world)
    plant_defects(world, sources)
    plant_repeats(world)
    plant_new_year(world)
    plant_forged(world)
    plant_garbage(world)
    rsyslog_hups(world, all_rotation_days)
    add_visits(world, visits)
    digest = plant_digest(world) if digest_plants else None
    return _assemble(world, params, digest)


def _assemble(world: World, params: dict, digest: dict | None = None) -> Simulation:
    """Every event becomes a kernel line in both kernel families; all lines in time order."""
    for ev in world.events:
        world.add_line(ev.t_us, KERNEL_FAMILIES, render_kernel_body(ev, world.boot_us), candidate=True)
    world.lines.sort(key=lambda line: line.t_us)
    return Simulation(params, world.tz, world.dates, world.bounds, world.boot_us, world.events, world.lines,
                      world.scanners, digest)
