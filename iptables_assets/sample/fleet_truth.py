"""The fleet's ground truth: counted from every host's simulated events (never from text, never from
the plan alone: a shared scanner's accidental sweep is a horizontal scan as much as a planted one).

What counts is what the single-host truth counts as an input drop with a port, and what the vertical
scan detector counts: an event that is not a reject, whose action is drop (or reject) with no ``OUT=``
device, and which has a destination port (not ICMP, not ``INCOMPLETE``, not cut before its ports).
Its source is written as the parser writes it (IPv6 compressed), its day is the local calendar day in
the logs' time zone, and an rsyslog ``message repeated N times`` line is N events of the same host,
so it never adds a host. The port number alone is the port (TCP 53 and UDP 53 are one port), as in
the vertical detector.

* ``horizontal_scans``: every (day, src_ip, dst_port) whose counted drops reach more than
  FLEET_SCAN_HOSTS distinct hosts, with the sorted host names; sorted by day, src_ip, dst_port.
* ``longterm_horizontal_scans``: every (src_ip, dst_port) whose counted drops reach more than
  FLEET_LONGTERM_HOSTS distinct hosts over the whole window, with the sorted host names and the first
  and last day it reached any of them; sorted by src_ip, dst_port. Daily scans that big are in it too.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections import Counter, defaultdict

from iptables_assets.sample.events import Simulation
from iptables_assets.sample.fleet_plan import FleetPlan
from iptables_assets.settings import FLEET_LONGTERM_HOSTS, FLEET_SCAN_HOSTS

Key = tuple[int, str, int]  # (day index, source as the parser writes it, destination port)


def counted_keys(sim: Simulation) -> set[Key]:
    """The distinct (day, source, port) of one host's counted INPUT drops (see the module doc)."""
    keys: set[Key] = set()
    canonical: dict[str, str] = {}
    bounds = sim.bounds
    for ev in sim.events:
        if ev.reject_reason or not ev.is_input_drop or not ev.has_port:
            continue
        src = ev.src
        if ":" in src:  # the kernel prints IPv6 uncompressed, the parser writes it compressed
            src = canonical.get(src) or canonical.setdefault(src, str(ipaddress.ip_address(src)))
        keys.add((bisect.bisect_right(bounds, ev.t_us) - 1, src, ev.dport))
    return keys


def build_fleet_truth(params: dict, names: list[str], seeds: list[int], host_truths: list[dict],
                      host_keys: list[set[Key]], plan: FleetPlan) -> dict:
    """Fleet totals (sums of the host truths), the horizontal scans, what was planted, each host's truth."""
    days = host_truths[0]["days"]
    scans, longterm = _horizontal(names, days, host_keys)
    return {
        "params": params,
        "tz": params["tz"],
        "days": days,
        "fleet_scan_hosts": FLEET_SCAN_HOSTS,
        "fleet_longterm_hosts": FLEET_LONGTERM_HOSTS,
        "hosts": {name: {"dir": f"remote/{name}", "seed": seed} for name, seed in zip(names, seeds)},
        "records_per_day": {d: sum(t["records_per_day"][d] for t in host_truths) for d in days},
        "input_drops_per_day": {d: sum(t["input_drops_per_day"][d] for t in host_truths) for d in days},
        "input_drops_per_host_per_day": {n: t["input_drops_per_day"] for n, t in zip(names, host_truths)},
        "horizontal_scans": scans,
        "longterm_horizontal_scans": longterm,
        "planted": plan.planted,
        "skipped": plan.skipped,
        "shared_sources": plan.shared_sources,
        "per_host": dict(zip(names, host_truths)),
    }


def _horizontal(names: list[str], days: list[str], host_keys: list[set[Key]]) -> tuple[list[dict], list[dict]]:
    """Both detectors' exact answers. Only a (source, port) seen on more than min(T, L) hosts can be
    either, so the per-day host sets are built for those few pairs only."""
    on_hosts: Counter = Counter()
    for keys in host_keys:
        on_hosts.update({(src, port) for _, src, port in keys})
    wide = {pair for pair, n in on_hosts.items() if n > min(FLEET_SCAN_HOSTS, FLEET_LONGTERM_HOSTS)}
    per_day: dict[Key, set[int]] = defaultdict(set)
    for host, keys in enumerate(host_keys):
        for day, src, port in keys:
            if (src, port) in wide:
                per_day[day, src, port].add(host)
    scans = [{"day": days[d], "src_ip": src, "dst_port": port, "hosts": [names[h] for h in sorted(hs)]}
             for (d, src, port), hs in sorted(per_day.items()) if len(hs) > FLEET_SCAN_HOSTS]
    union: dict[tuple[str, int], set[int]] = defaultdict(set)
    span: dict[tuple[str, int], list[int]] = {}
    for (d, src, port), hs in per_day.items():
        union[src, port] |= hs
        lo_hi = span.setdefault((src, port), [d, d])
        lo_hi[0], lo_hi[1] = min(lo_hi[0], d), max(lo_hi[1], d)
    longterm = [{"src_ip": src, "dst_port": port, "hosts": [names[h] for h in sorted(hs)],
                 "first_day": days[span[src, port][0]], "last_day": days[span[src, port][1]]}
                for (src, port), hs in sorted(union.items()) if len(hs) > FLEET_LONGTERM_HOSTS]
    return scans, longterm
