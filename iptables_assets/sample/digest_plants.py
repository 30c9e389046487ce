"""What the daily digest (`analysis/digest.py`) must find, planted with its truth, and the near
misses it must not find (``generate_logs(..., digest_plants=True)``, runs of 30 days or more).

Drawn after everything else, so the rest of the logs are byte for byte those without plants.
The planted subjects are kept apart from the background: the ports are ones no other event of the
run reaches, the countries ones no other source of the run is in (by the bundled DB-IP database),
so a subject's daily count is exactly what is planted here, and the truth records it with the
baseline (median and MAD of the trailing window) that the digest must compute. On fixed days
(index from the first day, the window then full or nearly so):

* day 8: a scanner's first scan (``new_scanner``); day 29: it is back after 21 days (``returning_scanner``);
* day 12: another scanner's first scan (``new_scanner``); day 18: back after 6 days, one short of the
  return gap (near miss: no finding);
* day 14: a port dropped for the first time, 25 times (``new_port``), and one with 9 drops (near
  miss, one under ``new_port_min``); day 20: the latter 15 times (near miss: dropped before);
* day 27: a port with a steady baseline of 6-12 drops a day takes ten times its median
  (``port_surge``); its twin (20-30 a day) 2.5 times (near miss on the ratio); a quiet UDP port
  (0-3 a day) 45 drops (near miss on the minimum count);
* day 28: a country with 8-14 drops a day takes ten times its median (``country_surge``); one that
  swings between 8-14 and 55-65 drops every other day goes over three times its median but stays
  under four spreads (near miss on the spread).

Truth (``ground_truth.json``, key ``digest``): the rule restated, every plant (day, finding,
subject as the digest names it, expected, events, baseline median and MAD or the gap), the planted
subjects and the quiet days, on which none of them may be named at all. The generator checks its
own plants against the rule restated here and raises if one would not come out as planted.
"""

from __future__ import annotations

import bisect
import ipaddress
import math
import statistics
from collections import Counter, defaultdict

from iptables_assets.sample.host import DROP
from iptables_assets.sample.internet import POPULAR_CUM, POPULAR_KEYS
from iptables_assets.sample.planted import _scan_packet, _scanner_ip
from iptables_assets.sample.world import World

MIN_DAYS = 30
# The digest's default rule (analysis.digest.DigestRule), restated so the generator stays apart from the analysis.
RULE = {"window_days": 28, "min_history_days": 7, "min_events": 50, "ratio": 3.0, "spread": 4.0, "new_port_min": 10,
        "return_gap_days": 7}
SCAN_FIRST, SCAN_RETURN = 8, 29  # back after 21 days
NEAR_FIRST, NEAR_RETURN = 12, 18  # back after 6: one day short
NEW_PORT_DAY, SEEN_AGAIN_DAY = 14, 20
PORT_DAY, COUNTRY_DAY = 27, 28
# Services the background never asks for (MQTT, Winbox, BACnet, Ethereum RPC, ...): the first ones no event reaches.
PORT_CANDIDATES = (("TCP", 1883), ("TCP", 8291), ("UDP", 47808), ("TCP", 8545), ("TCP", 5038), ("TCP", 9530),
                   ("TCP", 17000), ("TCP", 20000), ("TCP", 10001), ("TCP", 8728), ("TCP", 4567), ("TCP", 7777),
                   ("TCP", 9999), ("TCP", 6666), ("TCP", 8181), ("TCP", 2222), ("UDP", 5683), ("UDP", 2152))
PORT_ROLES = ("spike", "twin", "quiet", "new", "new_near")
# Blocks of small countries in the bundled DB-IP database, outside the background's first octets.
COUNTRY_BLOCKS = (("MC", "82.113.0.0/19"), ("FO", "81.18.224.0/20"), ("GL", "88.83.0.0/19"),
                  ("SM", "109.233.80.0/21"), ("AD", "91.187.64.0/19"), ("LI", "82.117.16.0/20"),
                  ("BT", "119.2.96.0/19"), ("BN", "119.160.128.0/18"))


def plant_digest(world: World) -> dict:
    """Draw the plants (the run must have MIN_DAYS days or more) and return their truth."""
    days = len(world.dates)
    if days < MIN_DAYS:
        raise ValueError(f"digest plants need {MIN_DAYS} days or more (the 28-day window), not {days}")
    plants: list[dict] = []
    scanners = _plant_scanners(world, plants)
    series = _plant_ports(world, plants, _free_ports(world))
    series.update(_plant_countries(world, plants, _free_countries(world)))
    _check(world, series)
    subjects = [*scanners, *series]
    planted_days = {p["day"] for p in plants}
    iso = [d.isoformat() for d in world.dates]
    for plant in plants:
        plant["day"] = iso[plant["day"]]
    plants.sort(key=lambda p: (p["day"], p["finding"], p["subject"]))
    return {"rule": RULE, "plants": plants, "subjects": subjects,
            "quiet_days": [iso[i] for i in range(days) if i not in planted_days]}


def _plant_scanners(world: World, plants: list[dict]) -> list[str]:
    """Two per-day scanners, each scanning on two days: back after 21 days, and after 6."""
    out = []
    for kind, first, back, expected in (("digest_returning", SCAN_FIRST, SCAN_RETURN, True),
                                        ("digest_back_too_soon", NEAR_FIRST, NEAR_RETURN, False)):
        ip, sport = _scanner_ip(world, kind), world.rng.between(40000, 65000)
        for day in (first, back):
            ports = world.rng.sample(range(1, 65536), world.rng.between(60, 90))
            lo = world.rng.uniform(0.0, 0.8)
            for port in ports:
                _scan_packet(world, world.time_in(day, lo, lo + 0.1), ip, port, sport, kind)
            plants.append({"day": day, "finding": "new_scanner" if day == first else "returning_scanner",
                           "subject": ip, "expected": expected if day == back else True, "events": len(ports),
                           **({"gap_days": back - first} if day == back else {})})
        out.append(ip)
    return out


def _free_ports(world: World) -> dict[str, tuple[str, int]]:
    """A port for each role that no event of the run reaches (in any protocol)."""
    used = {ev.dport for ev in world.events if ev.dport is not None}
    free = [key for key in PORT_CANDIDATES if key[1] not in used]
    quiet = next(key for key in free if key[0] == "UDP")
    tcp = [key for key in free if key[0] == "TCP"]
    return {"spike": tcp[0], "twin": tcp[1], "quiet": quiet, "new": tcp[2], "new_near": tcp[3]}


def _plant_ports(world: World, plants: list[dict], ports: dict[str, tuple[str, int]]) -> dict[str, tuple]:
    """Daily drops of each planted port from a pool of sources; its daily counts by name (`_check`)."""
    rng, days = world.rng, len(world.dates)
    pool = [world.new_ip() for _ in range(24)]
    counts: dict[str, list[int]] = {role: [0] * days for role in ports}
    for day in range(days):
        counts["spike"][day] = rng.between(6, 12)
        counts["twin"][day] = rng.between(20, 30)
        counts["quiet"][day] = rng.between(0, 3)
        if day > NEW_PORT_DAY:
            counts["new"][day] = rng.between(1, 4) if rng.random() < 0.5 else 0
    window = _window(world, PORT_DAY)
    counts["spike"][PORT_DAY] = math.ceil(10 * _median(counts["spike"], window))
    counts["twin"][PORT_DAY] = math.floor(2.5 * _median(counts["twin"], window))
    counts["quiet"][PORT_DAY] = RULE["min_events"] - 5
    counts["new"][NEW_PORT_DAY] = 25
    counts["new_near"][NEW_PORT_DAY] = RULE["new_port_min"] - 1
    counts["new_near"][SEEN_AGAIN_DAY] = 15
    for role, (proto, port) in ports.items():
        for day, n in enumerate(counts[role]):
            for _ in range(n):
                world.add(world.inbound(world.time_in(day), DROP, rng.pick(pool), proto, port, origin="digest"))
    names = {role: f"{port}/{proto}" for role, (proto, port) in ports.items()}
    for role, expected in (("spike", True), ("twin", False), ("quiet", False)):
        plants.append(_surge_plant("port_surge", names[role], counts[role], PORT_DAY, window, expected))
    plants.append({"day": NEW_PORT_DAY, "finding": "new_port", "subject": names["new"], "expected": True,
                   "events": 25})
    for day in (NEW_PORT_DAY, SEEN_AGAIN_DAY):
        plants.append({"day": day, "finding": "new_port", "subject": names["new_near"], "expected": False,
                       "events": counts["new_near"][day]})
    return {names[role]: (counts[role], PORT_DAY if role in ("spike", "twin", "quiet") else None, role == "spike")
            for role in PORT_ROLES}


def _free_countries(world: World) -> list[tuple[str, str, str]]:
    """(code, name, block) of the candidate countries no source of the run is in, by the bundled database."""
    import maxminddb

    from iptables_assets.enrich.geo import BUNDLED_COUNTRY_DB

    seen = set()
    with maxminddb.open_database(str(BUNDLED_COUNTRY_DB)) as db:
        for src in {ev.src for ev in world.events}:
            try:
                record = db.get(ipaddress.ip_address(src))
            except ValueError:
                continue
            seen.add(((record or {}).get("country") or {}).get("iso_code"))
        free = []
        for code, block in COUNTRY_BLOCKS:
            record = db.get(ipaddress.ip_network(block).network_address) or {}
            country = record.get("country") or {}
            if code not in seen and country.get("iso_code") == code:
                free.append((code, country["names"]["en"], block))
    if len(free) < 2:
        raise RuntimeError("digest plants: fewer than two candidate countries are free of background traffic")
    return free


def _plant_countries(world: World, plants: list[dict], free: list[tuple[str, str, str]]) -> dict[str, tuple]:
    """A steady country that surges, and a swinging one that stays under four spreads."""
    rng, days = world.rng, len(world.dates)
    window = _window(world, COUNTRY_DAY)
    out = {}
    for (code, name, block), kind in zip(free, ("steady", "swinging")):
        net = ipaddress.ip_network(block)
        pool = []
        while len(pool) < 8:
            ip = str(net.network_address + rng.between(1, net.num_addresses - 2))
            if ip not in world.used_ips:
                world.used_ips.add(ip)
                pool.append(ip)
        if kind == "steady":
            counts = [rng.between(8, 14) for _ in range(days)]
            counts[COUNTRY_DAY] = math.ceil(10 * _median(counts, window))
        else:  # awake on even days
            counts = [rng.between(55, 65) if day % 2 == 0 else rng.between(8, 14) for day in range(days)]
            median, noise = _median(counts, window), _noise(counts, window)
            ratio_line = max(RULE["min_events"], math.ceil(RULE["ratio"] * median))
            spread_line = math.floor(median + RULE["spread"] * noise) + 1
            counts[COUNTRY_DAY] = (ratio_line + spread_line) // 2
        for day, n in enumerate(counts):
            for _ in range(n):
                proto, port = rng.weighted(POPULAR_KEYS, POPULAR_CUM)
                world.add(world.inbound(world.time_in(day), DROP, rng.pick(pool), proto, port, origin="digest"))
        subject = f"{code} ({name})"
        plants.append(_surge_plant("country_surge", subject, counts, COUNTRY_DAY, window, kind == "steady"))
        out[subject] = (counts, COUNTRY_DAY, kind == "steady")
    return out


def _surge_plant(finding: str, subject: str, counts: list[int], day: int, window: list[int], expected: bool) -> dict:
    return {"day": day, "finding": finding, "subject": subject, "expected": expected, "events": counts[day],
            "baseline_median": _median(counts, window), "baseline_mad": _mad(counts, window)}


def _window(world: World, day: int) -> list[int]:
    """The run's days in the window before ``day`` (indices)."""
    return [d for d in range(len(world.dates)) if day - RULE["window_days"] <= d < day]


def _median(counts: list[int], window: list[int]) -> float:
    return float(statistics.median(counts[d] for d in window))


def _mad(counts: list[int], window: list[int]) -> float:
    median = _median(counts, window)
    return float(statistics.median(abs(counts[d] - median) for d in window))


def _noise(counts: list[int], window: list[int]) -> float:
    return max(1.4826 * _mad(counts, window), math.sqrt(_median(counts, window) + 1))


def _surges(counts: list[int], day: int, window: list[int]) -> bool:
    median, c = _median(counts, window), counts[day]
    return (c >= RULE["min_events"] and c >= RULE["ratio"] * median
            and c - median > RULE["spread"] * _noise(counts, window))


def _check(world: World, series: dict[str, tuple[list[int], int | None, bool]]) -> None:
    """Every planted subject comes out as planted under the restated rule on every day (surging on
    its plant day if it is to, never otherwise), and the ports have no traffic but the planted."""
    days = len(world.dates)
    per_port: dict[str, Counter] = defaultdict(Counter)
    for ev in world.events:
        if ev.is_input_drop and ev.has_port:
            per_port[f"{ev.dport}/{ev.proto}"][bisect.bisect_right(world.bounds, ev.t_us) - 1] += ev.count
    for subject, (counts, surge_day, expected) in series.items():
        if "/" in subject and [per_port[subject][d] for d in range(days)] != counts:
            raise AssertionError(f"digest plants: {subject} has traffic that was not planted")
        for day in range(days):
            window = _window(world, day)
            if len(window) >= RULE["min_history_days"] and _surges(counts, day, window) != (
                    expected and day == surge_day):
                raise AssertionError(f"digest plants: {subject} on day {day} does not come out as planted")
