"""Tests of the synthetic /var/log generator and of its ground truth (no parser involved)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from iptables_assets.sample import (
    HOST_V4,
    NetfilterEvent,
    generate_logs,
    render_kernel_body,
    render_netfilter,
    simulate,
)

# 16 days across New Year, small enough to be quick; slow scanners span 12 and 14 days.
SMALL = dict(days=16, seed=7, start=dt.date(2025, 12, 24), events_per_day=150)
HEADER = re.compile(rb"^(?P<mon>[A-Z][a-z]{2}) (?P<day>[ \d]\d) (?P<hms>\d\d:\d\d:\d\d) "
                    rb"(?P<host>\S+) (?P<tag>[^:\[\s]+)(?:\[\d+\])?: ")
REPEAT = re.compile(rb" kernel: message repeated (\d+) times: \[ ")
UPTIME = re.compile(rb" kernel: \[ *(\d+)\.(\d{6})\] ")
KERNEL_FAMILIES = ("messages", "kern.log")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("varlog")
    return out, generate_logs(out, **SMALL)


def read_lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def log_files(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.name != "ground_truth.json")


def family(out: Path, name: str) -> list[Path]:
    return [p for p in log_files(out) if p.name == name or p.name.startswith((name + ".", name + "-"))]


def is_candidate(line: bytes) -> bool:
    """Naive recount of what the truth calls a netfilter candidate."""
    return b"IN=" in line


# ---------------------------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------------------------
def snapshot(out: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(out.iterdir())}


def test_same_seed_gives_identical_bytes_and_mtimes(tmp_path):
    a = generate_logs(tmp_path / "a", **SMALL)
    b = generate_logs(tmp_path / "b", **SMALL)
    assert a == b
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")


def test_different_seed_differs(tmp_path):
    generate_logs(tmp_path / "a", **SMALL)
    generate_logs(tmp_path / "b", **{**SMALL, "seed": SMALL["seed"] + 1})
    a, b = snapshot(tmp_path / "a"), snapshot(tmp_path / "b")
    assert a.keys() == b.keys()  # same rotation layout
    assert all(a[name][0] != b[name][0] for name in a)


def test_returned_truth_is_the_written_json(small):
    out, truth = small
    assert json.loads((out / "ground_truth.json").read_text()) == truth


# ---------------------------------------------------------------------------------------------
# truth self-consistency
# ---------------------------------------------------------------------------------------------
def test_truth_keys_and_dense_days(small):
    _, truth = small
    assert list(truth) == ["params", "tz", "host", "days", "records_per_day", "input_drops_per_day",
                           "input_drops_per_port", "input_drops_per_source", "actions", "rejects", "rejects_per_day", "ignored_lines_per_file",
                           "lines_per_file", "scanners", "repeated_lines", "repeated_events", "files",
                           "sshd_per_kind", "sshd_per_day", "sshd_per_source"]
    days = [(SMALL["start"] + dt.timedelta(days=i)).isoformat() for i in range(SMALL["days"])]
    assert truth["days"] == days
    for key in ("records_per_day", "input_drops_per_day", "rejects_per_day", "sshd_per_day"):
        assert list(truth[key]) == days
    assert truth["params"] == {**SMALL, "start": SMALL["start"].isoformat(), "host": "gw01", "tz": "UTC"}
    assert set(truth["actions"]) == {"drop", "audit", "accept"}
    assert set(truth["rejects"]) == {"missing_address", "bad_address", "untrusted_program"}
    assert all(v > 0 for v in truth["rejects"].values())
    assert sum(truth["input_drops_per_source"].values()) == sum(truth["input_drops_per_day"].values())


def test_truth_counts_are_consistent(small):
    _, truth = small
    records = sum(truth["records_per_day"].values())
    inputs = sum(truth["input_drops_per_day"].values())
    assert sum(truth["input_drops_per_port"].values()) <= inputs <= records
    assert all(truth["input_drops_per_day"][d] <= truth["records_per_day"][d] for d in truth["days"])
    assert sum(truth["actions"].values()) == records
    for reason, total in truth["rejects"].items():
        assert sum(day[reason] for day in truth["rejects_per_day"].values()) == total
    assert truth["repeated_events"] >= 2 * truth["repeated_lines"] > 0
    assert all(1 <= int(p) <= 65535 for p in truth["input_drops_per_port"])


def test_scanners_match_their_definitions(small):
    _, truth = small
    by_kind = defaultdict(list)
    for s in truth["scanners"]:
        by_kind[s["kind"]].append(s)
    assert sorted(s["distinct_ports"] for s in by_kind["fast"]) == [51, 120, 800]
    assert [s["distinct_ports"] for s in by_kind["big"]] == [3500]
    assert [s["distinct_ports"] for s in by_kind["near_threshold"]] == [50, 50]
    for s in by_kind["fast"] + by_kind["big"] + by_kind["near_threshold"]:
        assert len(s["days"]) == 1 and s["max_ports_per_day"] == s["distinct_ports"]
        assert s["packets"] >= s["distinct_ports"]
    assert len(by_kind["slow"]) == 2
    for s in by_kind["slow"]:
        assert len(s["days"]) >= 10
        assert 8 <= s["max_ports_per_day"] <= 50 < s["distinct_ports"]
    assert len({s["ip"] for s in truth["scanners"]}) == len(truth["scanners"])


def test_big_scan_is_on_new_years_eve(small):
    _, truth = small
    (big,) = [s for s in truth["scanners"] if s["kind"] == "big"]
    assert big["days"] == ["2025-12-31"]


def test_background_sources_stay_under_the_scan_threshold():
    sim = simulate(**SMALL)
    scanners = {ip for ip, _ in sim.scanners}
    per_day, total = defaultdict(set), defaultdict(set)
    scanner_sources = set()
    for ev in sim.events:
        if ev.src in scanners:
            scanner_sources.add(ev.src)
            assert ev.origin != "background"
            continue
        assert ev.origin == "background"
        if ev.has_port:
            per_day[ev.src, sim.day_of(ev.t_us)].add(ev.dport)
            total[ev.src].add(ev.dport)
    assert scanner_sources == scanners
    assert max(len(p) for p in per_day.values()) <= 20
    assert max(len(p) for p in total.values()) <= 40


# ---------------------------------------------------------------------------------------------
# the files themselves
# ---------------------------------------------------------------------------------------------
def test_rotation_layout(small):
    out, truth = small
    names = {p.name for p in log_files(out)}
    assert {"messages", "messages.1", "kern.log", "secure", "secure.1"} <= names
    assert set(truth["lines_per_file"]) == names
    for name in names:
        numeric = re.fullmatch(r"(messages|secure)\.(\d+)(\.gz)?", name)
        if numeric:
            assert bool(numeric[3]) == (int(numeric[2]) >= 2), name
        dated = re.fullmatch(r"kern\.log-(\d{8})\.gz", name)
        if dated:  # dateext: the rotation day, i.e. the day after the file's last line
            last = dt.datetime.fromisoformat(truth["files"][name]["last"]).date()
            assert dt.datetime.strptime(dated[1], "%Y%m%d").date() == last + dt.timedelta(days=1)
    assert not any(n.startswith("kern.log.") for n in names)
    messages_cuts = {truth["files"][n]["first"][:10] for n in names if n.startswith("messages")}
    kern_cuts = {truth["files"][n]["first"][:10] for n in names if n.startswith("kern.log")}
    assert messages_cuts != kern_cuts  # the families rotate on different boundaries


def test_gz_files_are_readable_with_fixed_header_mtime(small):
    out, _ = small
    for path in out.glob("*.gz"):
        raw = path.read_bytes()
        assert raw[:3] == b"\x1f\x8b\x08" and not raw[3] & 0x08  # no embedded file name
        assert int.from_bytes(raw[4:8], "little") == int(path.stat().st_mtime)
        with gzip.open(path) as fh:
            assert fh.read()


def test_mtime_is_a_few_seconds_after_the_last_line(small):
    out, truth = small
    for name, span in truth["files"].items():
        last = dt.datetime.fromisoformat(span["last"]).timestamp()
        assert 1 <= (out / name).stat().st_mtime - last <= 5, name


def test_lines_and_ignored_counts_match_the_files(small):
    out, truth = small
    for path in log_files(out):
        lines = read_lines(path)
        assert truth["lines_per_file"][path.name] == len(lines)
        ignored = [x for x in lines if not is_candidate(x)]
        assert truth["ignored_lines_per_file"][path.name] == len(ignored), path.name
        assert not any(m in x for x in ignored for m in (b"OUT=", b"SRC=", b"DST=", b"PROTO="))


@pytest.mark.parametrize("days, events_per_day", [(1, 5), (2, 40), (9, 300)])
def test_tiny_ranges_still_work(tmp_path, days, events_per_day):
    truth = generate_logs(tmp_path, days=days, seed=5, events_per_day=events_per_day)
    assert len(truth["days"]) == days and len(truth["scanners"]) == 8
    assert all(n > 0 for n in truth["records_per_day"].values())
    assert {"messages", "kern.log", "secure"} <= set(truth["lines_per_file"])


def test_lines_are_chronological_with_headers(small):
    out, truth = small
    for path in log_files(out):
        stamps, uptimes = [], []
        for line in read_lines(path):
            m = HEADER.match(line)
            if m is None:
                assert b"IN=" not in line  # garbage only
                continue
            assert m["host"] == b"gw01"
            stamps.append(line[:15])
            if up := UPTIME.search(line):
                uptimes.append((int(up[1]), int(up[2])))
        assert uptimes == sorted(uptimes) and len(set(uptimes)) == len(uptimes)
        year = int(truth["files"][path.name]["first"][:4])
        times, prev = [], None
        for s in stamps:  # infer the year forward from the file's first line
            t = dt.datetime.strptime(f"{year} {s.decode()}", "%Y %b %d %H:%M:%S")
            if prev and t < prev - dt.timedelta(days=180):
                year += 1
                t = t.replace(year=year)
            times.append(prev := t)
        assert times == sorted(times)
        assert times[0].isoformat() == truth["files"][path.name]["first"][:19]
        assert times[-1].isoformat() == truth["files"][path.name]["last"][:19]


def test_kern_log_has_exactly_the_kernel_lines_of_messages(small):
    out, _ = small
    messages = Counter(x for p in family(out, "messages") for x in read_lines(p) if b" gw01 kernel: " in x)
    kern = Counter(x for p in family(out, "kern.log") for x in read_lines(p) if HEADER.match(x))
    assert messages == kern
    assert max(kern.values()) == 1  # every kernel line is unique, so dedup by line is exact


def test_text_recount_agrees_with_truth(small):
    out, truth = small
    weighted = 0
    for path in family(out, "kern.log"):  # kern.log holds every kernel event exactly once
        for line in read_lines(path):
            if is_candidate(line):
                m = REPEAT.search(line)
                weighted += int(m[1]) if m else 1
    rejects = truth["rejects"]
    assert weighted == sum(truth["records_per_day"].values()) + rejects["missing_address"] + rejects["bad_address"]
    forged = [x for p in family(out, "secure") for x in read_lines(p) if is_candidate(x)]
    assert len(forged) == rejects["untrusted_program"]
    assert all(b" sshd[" in x for x in forged)
    repeats = sum(1 for p in family(out, "messages") for x in read_lines(p) if REPEAT.search(x))
    assert repeats == truth["repeated_lines"]


def test_planted_defects_are_present(small):
    out, _ = small
    kern = [x for p in family(out, "kern.log") for x in read_lines(p)]
    assert any(b"INCOMPLETE [" in x for x in kern)
    assert any(b" PROTO=2 " in x for x in kern)
    assert any(re.search(rb"SRC=(999|256)\.|SRC=\d+\.300\.", x) for x in kern)
    assert any(b"IN=eth0" in x and b"SRC=" not in x for x in kern)  # truncated before SRC
    assert any(b"TYPE=3 CODE=3 [SRC=" in x for x in kern)
    assert any(b"HOPLIMIT=" in x for x in kern)
    assert any(b"[UFW AUDIT] " in x for x in kern) and any(b"[UFW ALLOW] " in x for x in kern)
    assert any(b" IN= OUT=eth0 SRC=" in x for x in kern)
    garbage = [x for p in log_files(out) for x in read_lines(p) if not HEADER.match(x)]
    assert garbage and any(b"\x00" in x for x in garbage)
    assert any(_not_utf8(x) for x in garbage)


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_new_year_is_crossed(small):
    out, truth = small
    assert truth["records_per_day"]["2025-12-31"] > 0 and truth["records_per_day"]["2026-01-01"] > 0
    crossing = [n for n, span in truth["files"].items() if span["first"][:4] == "2025" and span["last"][:4] == "2026"]
    assert crossing  # at least one file holds both years, with no year in its headers
    lines = [x for p in family(out, "messages") for x in read_lines(p)]
    assert any(x.startswith(b"Dec 31 23:59:") and b"IN=" in x for x in lines)
    assert any(x.startswith(b"Jan  1 00:00:") and b"IN=" in x for x in lines)


def test_other_timezone_with_dst_change(tmp_path):
    truth = generate_logs(tmp_path, days=4, seed=3, start=dt.date(2026, 3, 27), events_per_day=100, tz="Europe/Berlin")
    offsets = {span["first"][-6:] for span in truth["files"].values()} | {span["last"][-6:] for span in truth["files"].values()}
    assert offsets == {"+01:00", "+02:00"}
    assert all(truth["records_per_day"][d] > 0 for d in truth["days"])


# ---------------------------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------------------------
def test_render_matches_the_kernel_field_order():
    tcp = NetfilterEvent(0, "IPTables-Dropped: ", "1.2.3.4", HOST_V4, "TCP", sport=5555, dport=22, length=44, ttl=50,
                         ip_id=54321, df=False, window=1024)
    assert render_netfilter(tcp) == (
        "IPTables-Dropped: IN=eth0 OUT= MAC=52:54:00:8a:3c:1e:fe:ff:ff:ff:ff:ff:08:00 SRC=1.2.3.4 DST=10.0.0.1 "
        "LEN=44 TOS=0x00 PREC=0x00 TTL=50 ID=54321 PROTO=TCP SPT=5555 DPT=22 WINDOW=1024 RES=0x00 SYN URGP=0 ")
    assert render_kernel_body(tcp, -12_345_678_901) == "kernel: [12345.678901] " + render_netfilter(tcp)
    tcp.count = 3
    assert render_kernel_body(tcp, 0) == "kernel: message repeated 3 times: [ " + render_netfilter(tcp) + "]"
    inner = NetfilterEvent(0, "", HOST_V4, "5.6.7.8", "UDP", sport=40000, dport=53, length=60, ttl=60, ip_id=7, df=False)
    icmp = NetfilterEvent(0, "[UFW BLOCK] ", "9.9.9.9", HOST_V4, "ICMP", length=88, ttl=240, ip_id=1, df=False,
                          icmp=(3, 3), inner=inner)
    assert render_netfilter(icmp).endswith(
        "SRC=9.9.9.9 DST=10.0.0.1 LEN=88 TOS=0x00 PREC=0x00 TTL=240 ID=1 PROTO=ICMP TYPE=3 CODE=3 "
        "[SRC=10.0.0.1 DST=5.6.7.8 LEN=60 TOS=0x00 PREC=0x00 TTL=60 ID=7 PROTO=UDP SPT=40000 DPT=53 LEN=40 ] ")
    out = NetfilterEvent(0, "IPTables-Dropped: ", HOST_V4, "5.6.7.8", "TCP", in_if="", out_if="eth0", mac="",
                         sport=1, dport=2, flags="URG PSH FIN", tos=0x28)
    assert " IN= OUT=eth0 SRC=10.0.0.1 " in render_netfilter(out)
    assert "TOS=0x08 PREC=0x20" in render_netfilter(out) and " RES=0x00 URG PSH FIN URGP=0 " in render_netfilter(out)


# ---------------------------------------------------------------------------------------------
# default scale
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_default_sixty_days(tmp_path):
    truth = generate_logs(tmp_path, days=60, seed=1)
    assert truth["days"][0] == "2025-12-01" and truth["days"][-1] == "2026-01-29"
    sim_sources = Counter()
    for path in family(tmp_path, "kern.log"):
        for line in read_lines(path):
            if m := re.search(rb" SRC=(\d+\.\d+\.\d+\.\d+) DST=10\.0\.0\.1 ", line):
                sim_sources[m[1]] += 1
    assert 1500 <= len(sim_sources) <= 10_000
    assert len({ip.split(b".")[0] for ip in sim_sources}) >= 40
    counts = sorted(sim_sources.values(), reverse=True)
    assert counts[0] > 50 * counts[len(counts) // 2]  # heavy-tailed
    top = sorted(truth["input_drops_per_port"], key=truth["input_drops_per_port"].get, reverse=True)[:5]
    assert "22" in top
