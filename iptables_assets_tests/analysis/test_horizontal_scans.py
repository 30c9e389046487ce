"""Horizontal scans (one source, one port, many hosts) found from parsed fleet logs equal the
generator's ground truth exactly: planted sweeps, shared mass scanners, near misses left out."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from iptables_assets.analysis import fleet
from iptables_assets.analysis.aggregates import TrafficFilter
from iptables_assets.ingest.files.logfiles import discover
from iptables_assets.ingest.records.firewall.parsing import ParseConfig, parse_files
from iptables_assets.sample import generate_fleet

TZ = "Europe/Berlin"


@pytest.fixture(scope="module")
def probes_and_truth(tmp_path_factory):
    out = tmp_path_factory.mktemp("fleet")
    truth = generate_fleet(out, hosts=7, days=8, seed=4, start=dt.date(2026, 3, 25), events_per_day=60, tz=TZ,
                           workers=1)
    events = parse_files(discover(out), ParseConfig(tz=TZ)).records
    counted = events.filter(TrafficFilter().expr()).with_columns(pl.col("timestamp").dt.date().alias("day"))
    return fleet.host_probes(counted), truth


def _rows(frame: pl.DataFrame, columns: list[str]) -> list[dict]:
    return [{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in row.items()}
            for row in frame.select(columns).to_dicts()]


def test_daily_horizontal_scans_equal_the_truth(probes_and_truth):
    probes, truth = probes_and_truth
    found = fleet.horizontal_scans(probes, truth["fleet_scan_hosts"])
    assert _rows(found, ["day", "src_ip", "dst_port", "hosts"]) == truth["horizontal_scans"]
    assert (found["hosts_reached"] == found["hosts"].list.len()).all()
    planted = {p["src_ip"] for p in truth["planted"] if p["kind"].startswith("horizontal")}
    near = {p["src_ip"] for p in truth["planted"] if p["kind"].startswith("near_miss")}
    assert planted and planted <= set(found["src_ip"]) and not near & set(found["src_ip"])


def test_longterm_horizontal_scans_equal_the_truth(probes_and_truth):
    probes, truth = probes_and_truth
    found = fleet.longterm_horizontal_scans(probes, truth["fleet_longterm_hosts"], truth["fleet_scan_hosts"])
    expected = sorted(truth["longterm_horizontal_scans"], key=lambda r: (-len(r["hosts"]), r["src_ip"], r["dst_port"]))
    assert _rows(found, ["src_ip", "dst_port", "hosts", "first_day", "last_day"]) == expected
    slow = {p["src_ip"] for p in truth["planted"] if p["kind"] == "slow_horizontal"}
    assert slow and set(found.filter("slow")["src_ip"]) >= slow


def test_one_host_has_no_horizontal_scans():
    probes = pl.DataFrame({"day": [dt.date(2026, 1, 1)] * 3, "src_ip": ["192.0.2.1"] * 3, "dst_port": [22, 23, 445],
                           "host": ["gw01"] * 3, "events": [5, 1, 2]})
    assert fleet.horizontal_scans(probes, 0).height == 3  # more than 0 hosts: each pair, one host
    assert fleet.horizontal_scans(probes).height == fleet.longterm_horizontal_scans(probes).height == 0


def test_too_few_hosts_give_the_same_empty_tables_as_a_search_that_finds_nothing():
    one = pl.DataFrame({"day": [dt.date(2026, 1, 1)] * 2, "src_ip": ["192.0.2.1"] * 2, "dst_port": [22, 23],
                        "host": ["gw01"] * 2, "events": [5, 1]})
    two = one.with_columns(pl.Series("host", ["gw01", "gw02"]))  # two hosts, but no pair reaches both
    for search in (fleet.horizontal_scans, fleet.longterm_horizontal_scans):
        skipped, searched = search(one, 1), search(two, 1)
        assert skipped.height == searched.height == 0
        assert skipped.schema == searched.schema


def test_thresholds_are_more_than_not_at_least():
    hosts = [f"h{i}" for i in range(4)]
    probes = pl.DataFrame({"day": [dt.date(2026, 1, 1)] * 4, "src_ip": ["192.0.2.1"] * 4, "dst_port": [22] * 4,
                           "host": hosts, "events": [1] * 4})
    assert fleet.horizontal_scans(probes, 4).height == 0
    assert fleet.horizontal_scans(probes, 3)["hosts"].to_list() == [hosts]
    assert fleet.longterm_horizontal_scans(probes, 3, 3)["slow"].to_list() == [False]
