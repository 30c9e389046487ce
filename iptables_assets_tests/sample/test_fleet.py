"""Tests of the fleet generator (``generate --hosts N``): layout, planted horizontal scans, and a fleet
truth that equals a recount from the written text by a reader that shares no code with the generator."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import ipaddress
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from iptables_assets import cli
from iptables_assets.sample import generate_fleet, host_names
from iptables_assets.settings import FLEET_LONGTERM_HOSTS, FLEET_SCAN_HOSTS

# 7 hosts (enough for every planted kind), 8 days across the Berlin spring DST change: local days.
SMALL = dict(hosts=7, days=8, seed=4, start=dt.date(2026, 3, 25), events_per_day=60, tz="Europe/Berlin")
MONTHS = {m.encode(): i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                                                "Oct", "Nov", "Dec"), 1)}
KERNEL = re.compile(rb"^(?P<mon>[A-Z][a-z]{2}) (?P<day>[ \d]\d) \d\d:\d\d:\d\d (?P<host>\S+) kernel: (?P<msg>.*)$")
HEADER = re.compile(rb"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d (\S+) ")
REPEAT = re.compile(rb"^message repeated \d+ times: \[ (?P<msg>.*)\]$")
UPTIME = re.compile(rb"^\[ *\d+\.\d{6}\] ")
DROP_PREFIXES = (b"IPTables-Dropped: ", b"[UFW BLOCK] ")  # the generator's drop rules; AUDIT/ALLOW are not drops
DAILY = ("horizontal", "horizontal_multiport", "horizontal_ipv6")
NEAR = ("near_miss", "near_miss_uncounted", "near_miss_midnight")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    out = tmp_path_factory.mktemp("fleet")
    return out, generate_fleet(out, workers=1, **SMALL)


def read_lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).splitlines()


def recount(out: Path, days: list[str]) -> dict[tuple[str, str, int], set[str]]:
    """(local day, source, port) -> hosts, from the kern.log family of every host folder (it holds
    each kernel line once): counted = a drop prefix, ``OUT=`` empty, a valid SRC, a DPT outside the
    quoted header of an ICMP error; a repeat line is read inside its brackets."""
    by_month_day = {(int(d[5:7]), int(d[8:10])): d for d in days}
    found = defaultdict(set)
    for path in sorted(out.glob("remote/*/kern.log*")):
        for line in read_lines(path):
            m = KERNEL.match(line)
            if m is None:
                continue
            msg = m["msg"]
            if rep := REPEAT.match(msg):
                msg = rep["msg"]
            msg = UPTIME.sub(b"", msg)
            prefix = next((x for x in DROP_PREFIXES if msg.startswith(x)), None)
            if prefix is None or not re.match(rb"IN=\S* OUT= ", msg[len(prefix):]):
                continue
            outer = msg[len(prefix):].split(b" [", 1)[0]  # not the quoted header of an ICMP error
            src, dpt = re.search(rb" SRC=(\S+)", outer), re.search(rb" DPT=(\d+) ", outer)
            if src is None or dpt is None:
                continue
            try:
                ip = str(ipaddress.ip_address(src[1].decode()))
            except ValueError:
                continue  # SRC=999.x.y.z: a reject
            day = by_month_day[MONTHS[m["mon"]], int(m["day"])]
            found[day, ip, int(dpt[1])].add(m["host"].decode())
    return found


def scans_from(found: dict) -> tuple[list[dict], list[dict]]:
    daily = [{"day": d, "src_ip": s, "dst_port": p, "hosts": sorted(h)}
             for (d, s, p), h in found.items() if len(h) > FLEET_SCAN_HOSTS]
    union, span = defaultdict(set), defaultdict(list)
    for (d, s, p), h in found.items():
        union[s, p] |= h
        span[s, p].append(d)
    longterm = [{"src_ip": s, "dst_port": p, "hosts": sorted(h), "first_day": min(span[s, p]),
                 "last_day": max(span[s, p])} for (s, p), h in union.items() if len(h) > FLEET_LONGTERM_HOSTS]
    key = lambda x: (x.get("day", ""), x["src_ip"], x["dst_port"])  # noqa: E731
    return sorted(daily, key=key), sorted(longterm, key=key)


def planted(truth: dict, kind: str) -> list[dict]:
    return [p for p in truth["planted"] if p["kind"] == kind]


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))
            if p.is_file()}


# ---------------------------------------------------------------------------------------------
def test_host_names_sort_as_text():
    assert host_names(5) == ["web1", "web2", "web3", "web4", "web5"]
    assert host_names(20)[:2] == ["web01", "web02"] and host_names(20)[-1] == "web20"
    assert host_names(100)[0] == "web001" and host_names(100) == sorted(host_names(100))


def test_layout_and_host_names_in_every_header(fleet):
    out, truth = fleet
    names = host_names(SMALL["hosts"])
    assert sorted(p.name for p in (out / "remote").iterdir()) == names == list(truth["hosts"])
    assert sorted(p.name for p in out.iterdir()) == ["ground_truth.json", "remote"]
    assert len({h["seed"] for h in truth["hosts"].values()}) == len(names)
    for name in names:
        folder = out / "remote" / name
        assert {"messages", "kern.log", "secure", "ground_truth.json"} <= {p.name for p in folder.iterdir()}
        assert json.loads((folder / "ground_truth.json").read_text()) == truth["per_host"][name]
        assert truth["per_host"][name]["host"] == name
        for path in folder.iterdir():
            if path.name != "ground_truth.json":
                heads = [HEADER.match(x) for x in read_lines(path)]
                assert {m[1] for m in heads if m} == {name.encode()}, path
    assert json.loads((out / "ground_truth.json").read_text()) == truth


def test_fleet_totals_are_the_sums_of_the_host_truths(fleet):
    _, truth = fleet
    hosts = truth["per_host"].values()
    for day in truth["days"]:
        assert truth["input_drops_per_day"][day] == sum(t["input_drops_per_day"][day] for t in hosts) > 0
        assert truth["records_per_day"][day] == sum(t["records_per_day"][day] for t in hosts)
    assert truth["input_drops_per_host_per_day"] == {n: t["input_drops_per_day"] for n, t in truth["per_host"].items()}
    assert truth["fleet_scan_hosts"] == FLEET_SCAN_HOSTS == 3 and truth["fleet_longterm_hosts"] == FLEET_LONGTERM_HOSTS == 5


def test_truth_equals_an_independent_recount_of_the_text(fleet):
    out, truth = fleet
    daily, longterm = scans_from(recount(out, truth["days"]))
    assert truth["horizontal_scans"] == daily
    assert truth["longterm_horizontal_scans"] == longterm


def test_planted_daily_scans_are_found_with_their_hosts(fleet):
    _, truth = fleet
    assert truth["skipped"] == []
    found = {(s["day"], s["src_ip"], s["dst_port"]): s["hosts"] for s in truth["horizontal_scans"]}
    for kind in DAILY:
        (plant,) = planted(truth, kind)
        ((day, hosts),) = plant["hosts_per_day"].items()
        assert len(hosts) > FLEET_SCAN_HOSTS
        assert len(plant["dst_ports"]) == (3 if kind == "horizontal_multiport" else 1)
        for port in plant["dst_ports"]:
            assert found[day, plant["src_ip"], port] == hosts
    (v6,) = planted(truth, "horizontal_ipv6")
    assert "::" in v6["src_ip"]  # compressed, as the parser writes it; the logs hold it uncompressed


def test_near_misses_are_not_reported(fleet):
    out, truth = fleet
    reported = {s["src_ip"] for s in truth["horizontal_scans"]}
    text = recount(out, truth["days"])
    for kind in NEAR:
        (plant,) = planted(truth, kind)
        assert plant["src_ip"] not in reported
        assert max(len(h) for h in plant["hosts_per_day"].values()) == FLEET_SCAN_HOSTS
        for day, hosts in plant["hosts_per_day"].items():  # and the text agrees, host for host
            assert sorted(text[day, plant["src_ip"], plant["dst_ports"][0]]) == hosts
    (uncounted,) = planted(truth, "near_miss_uncounted")
    assert uncounted["uncounted_hosts"] and not set(uncounted["uncounted_hosts"]) & {
        h for hs in uncounted["hosts_per_day"].values() for h in hs}
    (midnight,) = planted(truth, "near_miss_midnight")
    first, second = sorted(midnight["hosts_per_day"])
    assert dt.date.fromisoformat(second) - dt.date.fromisoformat(first) == dt.timedelta(days=1)


def test_slow_sweep_is_a_longterm_scan_and_its_near_miss_is_not(fleet):
    _, truth = fleet
    longterm = {(s["src_ip"], s["dst_port"]): s for s in truth["longterm_horizontal_scans"]}
    (slow,) = planted(truth, "slow_horizontal")
    days = sorted(slow["hosts_per_day"])
    hosts = sorted({h for hs in slow["hosts_per_day"].values() for h in hs})
    assert len(days) >= 3 and all(len(h) <= FLEET_SCAN_HOSTS for h in slow["hosts_per_day"].values())
    assert longterm[slow["src_ip"], slow["dst_ports"][0]] == {
        "src_ip": slow["src_ip"], "dst_port": slow["dst_ports"][0], "hosts": hosts,
        "first_day": days[0], "last_day": days[-1]}
    assert len(hosts) > FLEET_LONGTERM_HOSTS
    assert slow["src_ip"] not in {s["src_ip"] for s in truth["horizontal_scans"]}
    (near,) = planted(truth, "longterm_near_miss")
    assert len({h for hs in near["hosts_per_day"].values() for h in hs}) == FLEET_LONGTERM_HOSTS
    assert near["src_ip"] not in {s for s, _ in longterm}


def test_shared_pool_sweeps_count_too(fleet):
    _, truth = fleet
    planted_ips = {p["src_ip"] for p in truth["planted"]}
    pool = {s["src_ip"] for s in truth["shared_sources"]}
    accidental = {s["src_ip"] for s in truth["horizontal_scans"]} - planted_ips
    assert accidental and accidental <= pool  # only the shared pool reaches several hosts by chance
    assert any(":" in ip for ip in pool) or len(pool) >= 10


def test_same_seed_same_bytes_whatever_the_workers(tmp_path, fleet):
    out, _ = fleet
    generate_fleet(tmp_path / "b", workers=2, **SMALL)
    assert snapshot(out) == snapshot(tmp_path / "b")


def test_different_seed_differs(tmp_path):
    a = generate_fleet(tmp_path / "a", hosts=4, days=3, seed=1, events_per_day=30, workers=1)
    b = generate_fleet(tmp_path / "b", hosts=4, days=3, seed=2, events_per_day=30, workers=1)
    assert a["per_host"]["web1"]["input_drops_per_source"] != b["per_host"]["web1"]["input_drops_per_source"]


@pytest.mark.parametrize("hosts, days, skipped", [
    (2, 3, {*DAILY, "near_miss", "near_miss_uncounted", "near_miss_midnight", "slow_horizontal", "longterm_near_miss"}),
    (4, 2, {"slow_horizontal", "longterm_near_miss"}),
    (6, 1, {"near_miss_midnight", "slow_horizontal", "longterm_near_miss"}),
])
def test_small_fleets_plant_what_fits_and_say_so(tmp_path, hosts, days, skipped):
    truth = generate_fleet(tmp_path, hosts=hosts, days=days, seed=9, events_per_day=30, workers=1)
    assert {s["kind"] for s in truth["skipped"]} == skipped and all(s["reason"] for s in truth["skipped"])
    assert not skipped & {p["kind"] for p in truth["planted"]}
    daily, longterm = scans_from(recount(tmp_path, truth["days"]))
    assert (truth["horizontal_scans"], truth["longterm_horizontal_scans"]) == (daily, longterm)


def test_cli_generate_hosts_writes_a_fleet(tmp_path, capsys):
    assert cli.main(["generate", "--out", str(tmp_path), "--days", "2", "--events-per-day", "20", "--hosts", "3"]) == 0
    assert "3 hosts" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "remote").iterdir()) == ["web1", "web2", "web3"]
    assert json.loads((tmp_path / "ground_truth.json").read_text())["params"]["hosts"] == 3
    assert cli.main(["generate", "--out", str(tmp_path / "x"), "--hosts", "0"]) == 2


# sha256 and mtime of every file `iptables-assets generate` wrote before fleets existed (commit a3c9f3d).
PINNED = {
    "ground_truth.json": ("9aa405fad329041cd5998cf7b55a83c95f532c038f539757338056614cec6b12", 1767571200),
    "kern.log": ("d4cd744d66383bc39a6b1a6ab62570ccb86361dbb3bf113e76b1c5071836bc87", 1767570578),
    "kern.log-20260104.gz": ("100fcc637f11b74e77c42db32fbefd8e5bfa8cd119c0d6646addf43f382c8d8e", 1767484260),
    "messages": ("de2ea89dc9f79a903debe0fdcc70e988888b286d16977254ef9b5e96f15dc9c9", 1767570576),
    "messages.1": ("150f4e400d83d13005870d0f228c1f869ee4fd0d9e16b0db36683082357c5ca3", 1767484260),
    "messages.2.gz": ("3d411456d64c1c528bbd19ec099b8e93827807ea873549553e7584d71e94c7a6", 1766879525),
    "secure": ("e5daa3a52a053ae01387ef60c868ac2f3bbd836f28b0c57dc1800a44304a8e5d", 1767546120),
    "secure.1": ("6f09acad69d2694f9ee33a5f839dbe1328a6fb3283de7a096d55f31a10d094b1", 1767464860),
    "secure.2.gz": ("c65c5d122e4517bd19b84bca51fe93f00c47d5fd67b725763cf8d291e80971f3", 1766868533),
}


@pytest.mark.parametrize("hosts", [[], ["--hosts", "1"]])
def test_one_host_output_is_unchanged(tmp_path, hosts):
    args = ["generate", "--out", str(tmp_path), "--days", "9", "--seed", "11", "--start", "2025-12-27",
            "--events-per-day", "80", *hosts]
    assert cli.main(args) == 0
    got = {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), int(p.stat().st_mtime)) for p in tmp_path.iterdir()}
    assert got == PINNED
