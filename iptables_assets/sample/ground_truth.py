"""The independent truth the tests compare the parser against: counted from simulated events, not from text."""

from __future__ import annotations

import ipaddress
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from iptables_assets.sample.events import Simulation
from iptables_assets.sample.rotation import FileInfo

REJECT_REASONS = ("missing_address", "bad_address", "untrusted_program")


@dataclass
class _Tally:
    """Running counts; every event is worth its ``count`` (an rsyslog repeat line stands for N)."""

    records: Counter = field(default_factory=Counter)
    input_drops: Counter = field(default_factory=Counter)
    ports: Counter = field(default_factory=Counter)
    actions: Counter = field(default_factory=Counter)
    sources: Counter = field(default_factory=Counter)
    rejects_per_day: defaultdict = field(default_factory=lambda: defaultdict(Counter))
    sshd_per_day: defaultdict = field(default_factory=lambda: defaultdict(Counter))
    sshd_sources: Counter = field(default_factory=Counter)


def build_truth(sim: Simulation, files: dict[str, FileInfo]) -> dict:
    """Counts from the simulated events (never from the written text)."""
    tally = _Tally()
    _count_events(sim, tally)
    _count_lines(sim, tally)
    rejects = Counter()
    for c in tally.rejects_per_day.values():
        rejects.update(c)
    repeats = [ev.count for ev in sim.events if ev.count > 1]
    names = sorted(files)
    iso_days = [d.isoformat() for d in sim.dates]
    return {
        "params": sim.params,
        "tz": sim.params["tz"],
        "host": sim.params["host"],
        "days": iso_days,
        "records_per_day": {d: tally.records[d] for d in iso_days},
        "input_drops_per_day": {d: tally.input_drops[d] for d in iso_days},
        "input_drops_per_port": {str(p): tally.ports[p] for p in sorted(tally.ports)},
        "input_drops_per_source": {ip: tally.sources[ip] for ip in sorted(tally.sources)},
        "actions": {a: tally.actions[a] for a in ("drop", "audit", "accept")},
        "rejects": {r: rejects[r] for r in REJECT_REASONS},
        "rejects_per_day": {d: {r: tally.rejects_per_day[d][r] for r in REJECT_REASONS} for d in iso_days},
        "ignored_lines_per_file": {n: files[n].ignored for n in names},
        "lines_per_file": {n: files[n].lines for n in names},
        "scanners": _scanners_truth(sim),
        "repeated_lines": len(repeats),
        "repeated_events": sum(repeats),
        "files": {n: {"first": files[n].first, "last": files[n].last} for n in names},
        "sshd_per_kind": dict(sorted(sum(tally.sshd_per_day.values(), Counter()).items())),
        "sshd_per_day": {d: dict(sorted(tally.sshd_per_day[d].items())) for d in iso_days},
        "sshd_per_source": dict(sorted(tally.sshd_sources.items())),
        **({"digest": sim.digest} if sim.digest is not None else {}),
    }


def _count_events(sim: Simulation, tally: _Tally) -> None:
    """Records, input drops (per day, port and source), actions, and the rejected kernel lines."""
    for ev in sim.events:
        day = sim.day_of(ev.t_us)
        if ev.reject_reason:
            tally.rejects_per_day[day][ev.reject_reason] += 1
            continue
        tally.records[day] += ev.count
        tally.actions[ev.action] += ev.count
        if ev.is_input_drop:
            tally.input_drops[day] += ev.count
            tally.sources[ev.src] += ev.count
            if ev.has_port:
                tally.ports[ev.dport] += ev.count


def _count_lines(sim: Simulation, tally: _Tally) -> None:
    """What only the lines know: forged (rejected) non-kernel lines and the sshd events."""
    for line in sim.lines:
        if line.reject:
            tally.rejects_per_day[sim.day_of(line.t_us)][line.reject] += 1
        if line.sshd:
            tally.sshd_per_day[sim.day_of(line.t_us)][line.sshd[0]] += 1
            if line.sshd[1]:
                tally.sshd_sources[str(ipaddress.ip_address(line.sshd[1]))] += 1  # as the parser writes it


def _scanners_truth(sim: Simulation) -> list[dict]:
    """Per planted scanner: its days, distinct ports (in all and on its busiest day) and packets."""
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
