"""Daily aggregates, whole-history summaries and the two scan detectors."""

import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

from iptables_assets.analysis import aggregates as agg

DAY = date(2026, 1, 5)
pytestmark = pytest.mark.xdist_group("journal_run")


def events(rows: list[dict]) -> pl.DataFrame:
    """Geo-tagged events with defaults for the columns the aggregates read."""
    base = {
        "timestamp": datetime(2026, 1, 5, 12, tzinfo=timezone.utc), "host": "gw", "action": "drop",
        "in_iface": "eth0", "out_iface": "", "src_ip": "1.1.1.1", "dst_ip": "10.0.0.1",
        "proto": "TCP", "dst_port": 22, "tcp_flags": "SYN", "country_code": "AU", "country_name": "Australia",
    }
    schema = {"timestamp": pl.Datetime("us", "UTC"), "dst_port": pl.Int32}
    return pl.DataFrame([{**base, **r} for r in rows], schema_overrides=schema)


def scanner(src: str, ports: range, day: date = DAY, flags: str = "SYN", proto: str = "TCP") -> list[dict]:
    when = datetime(day.year, day.month, day.day, 3, tzinfo=timezone.utc)
    return [{"src_ip": src, "dst_port": p, "tcp_flags": flags, "proto": proto, "timestamp": when + timedelta(seconds=i)}
            for i, p in enumerate(ports)]


def test_traffic_filter_defaults_to_input_drops_and_rejects():
    frame = events([
        {}, {"action": "reject"}, {"action": "accept"}, {"action": "audit"},
        {"in_iface": "", "out_iface": "eth0"}, {"in_iface": "eth1", "out_iface": "eth0"},
    ])
    assert agg.counted(frame, agg.TrafficFilter()).height == 2
    assert agg.counted(frame, agg.TrafficFilter(direction="output")).height == 1
    assert agg.counted(frame, agg.TrafficFilter(direction="forward")).height == 1
    assert agg.counted(frame, agg.TrafficFilter(actions=("accept", "audit"), direction="any")).height == 2
    with pytest.raises(ValueError, match="direction 'sideways'"):
        agg.TrafficFilter(direction="sideways")


def test_unknown_countries_are_kept_and_counted():
    frame = agg.counted(events([{}, {"country_code": None, "country_name": None}]), agg.TrafficFilter())
    counts = dict(agg.country_counts(frame).select("country_code", "events").iter_rows())
    assert counts == {"AU": 1, agg.UNKNOWN: 1}


def test_daily_scans_rule_is_more_than_threshold():
    rows = scanner("6.6.6.6", range(1000, 1051)) + scanner("5.5.5.5", range(1000, 1050))
    rows += scanner("7.7.7.7", range(1, 61), flags="") + scanner("8.8.8.8", range(1, 80), proto="UDP", flags=None)
    summary = agg.source_summary(agg.counted(events(rows), agg.TrafficFilter()))
    scans = agg.daily_port_scans(summary, threshold=50)
    found = {r["src_ip"]: r for r in scans.iter_rows(named=True)}
    assert set(found) == {"6.6.6.6", "7.7.7.7", "8.8.8.8"}  # 5.5.5.5 has exactly 50
    assert (found["6.6.6.6"]["distinct_ports"], found["6.6.6.6"]["lowest_port"], found["6.6.6.6"]["highest_port"]) == (51, 1000, 1050)
    assert found["6.6.6.6"]["scan_type"] == "SYN"
    assert found["7.7.7.7"]["scan_type"] == "NULL"
    assert found["8.8.8.8"]["scan_type"] == "UDP"


def test_slow_scanner_found_only_by_the_longterm_detector():
    days = [DAY + timedelta(days=i) for i in range(6)]
    rows = [r for i, d in enumerate(days) for r in scanner("9.9.9.9", range(100 + 10 * i, 110 + 10 * i), day=d)]
    frame = agg.counted(events(rows), agg.TrafficFilter())
    summaries = pl.concat([agg.source_summary(frame.filter(pl.col("day") == d)) for d in days])
    assert agg.daily_port_scans(summaries, 50).height == 0
    longterm = agg.longterm_port_scans(summaries, 50)
    row = longterm.row(0, named=True)
    assert (row["src_ip"], row["distinct_ports"], row["days_active"], row["slow"]) == ("9.9.9.9", 60, 6, True)
    assert (row["first_day"], row["last_day"]) == (days[0], days[-1])


def test_top_lists_break_ties_deterministically():
    rows = [{"country_code": c, "country_name": c, "dst_port": p} for c, p in
            [("BB", 80), ("AA", 81), ("CC", 80), ("CC", 81), ("CC", 82)]] + [{"country_code": None, "dst_port": 9}] * 9
    frame = agg.counted(events(rows), agg.TrafficFilter())
    reference = pl.DataFrame({"iso_a2": ["AA"], "iso_a3": ["AAA"], "name": ["A"], "continent": ["X"], "lat": [1.0], "lon": [2.0]})
    totals = agg.country_totals(agg.country_counts(frame), reference)
    ranked = totals.filter(pl.col("rank").is_not_null()).select("country_code", "rank").rows()
    assert ranked == [("CC", 1), ("AA", 2), ("BB", 3)]  # the unknown 9 events are never ranked
    assert totals.filter(pl.col("country_code") == agg.UNKNOWN)["top20"].to_list() == [False]
    assert totals.filter(pl.col("country_code") == "AA")["iso_a3"].to_list() == ["AAA"]
    ports = agg.port_totals(agg.port_counts(frame))
    assert ports.select("dst_port", "rank").rows()[:4] == [(9, 1), (80, 2), (81, 3), (82, 4)]


def test_top_country_series_is_dense():
    rows = [{"country_code": "AA", "timestamp": datetime(2026, 1, 5, tzinfo=timezone.utc)},
            {"country_code": "AA", "timestamp": datetime(2026, 1, 7, tzinfo=timezone.utc)}]
    frame = agg.counted(events(rows), agg.TrafficFilter())
    counts = agg.country_counts(frame)
    reference = pl.DataFrame(schema={"iso_a2": pl.String, "iso_a3": pl.String, "name": pl.String,
                                     "continent": pl.String, "lat": pl.Float64, "lon": pl.Float64})
    totals = agg.country_totals(counts, reference)
    days = [date(2026, 1, 5) + timedelta(days=i) for i in range(3)]
    series = agg.top_country_series(counts, totals, days)
    assert series["events"].to_list() == [1, 0, 1]


def test_planted_scanners_are_found_by_the_right_detector(journal_run):
    out, truth, _stdout = journal_run
    daily = pl.read_parquet(out / "exports" / "port_scans.parquet")
    longterm = pl.read_parquet(out / "exports" / "longterm_port_scans.parquet")
    daily_found = dict(daily.select("src_ip", "distinct_ports").iter_rows())
    longterm_found = dict(longterm.select("src_ip", "distinct_ports").iter_rows())
    for planted in truth["scanners"]:
        ip, kind = planted["ip"], planted["kind"]
        if kind in ("fast", "big"):
            assert daily_found.get(ip) == planted["distinct_ports"], planted
            assert longterm_found.get(ip) == planted["distinct_ports"], planted
        elif kind == "slow":
            assert ip not in daily_found and longterm_found.get(ip) == planted["distinct_ports"], planted
        else:  # exactly 50 ports: the rule is "more than 50"
            assert ip not in daily_found and ip not in longterm_found, planted
    # background sources never cross the threshold, so the detectors find exactly the planted ones
    assert set(daily_found) == {s["ip"] for s in truth["scanners"] if s["kind"] in ("fast", "big")}
    summary = pl.read_parquet(out / "exports" / "scan_summary.parquet")
    totals = dict(summary.filter(pl.col("country_code") == "all").select("detector", "scanning_addresses").iter_rows())
    assert totals == {"daily": len(daily_found), "longterm": len(longterm_found)}


def test_port_and_country_totals_match_ground_truth(journal_run):
    out, truth, _stdout = journal_run
    ports = pl.read_parquet(out / "exports" / "port_totals.parquet")
    assert dict(ports.select(pl.col("dst_port").cast(pl.String), "events").iter_rows()) == truth["input_drops_per_port"]
    expected_top = sorted(truth["input_drops_per_port"].items(), key=lambda kv: (-kv[1], int(kv[0])))[:256]
    assert ports.filter(pl.col("top256")).select(pl.col("dst_port").cast(pl.String), "events").rows() == expected_top
    countries = pl.read_parquet(out / "exports" / "country_totals.parquet")
    assert countries["events"].sum() == sum(truth["input_drops_per_day"].values())
    assert countries.filter(pl.col("top20")).height == min(20, countries.filter(pl.col("country_code") != "??").height)
    csv = (out / "exports" / "country_totals.csv").read_text().splitlines()
    assert csv[0].startswith("country_code,country_name,events,rank,top20")
    assert len(csv) == countries.height + 1


def test_psad_nmap_capture_is_one_scanner(tmp_path):
    """Independent check on real data: psad's syn_scan_1000_1500 capture is one source over ~500 ports."""
    corpus = Path(os.environ.get("IPTABLES_ASSETS_CORPUS", Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"))
    capture = corpus / "mrash__psad" / "test" / "scans" / "iptables" / "syn_scan_1000_1500"
    if not capture.exists():
        pytest.skip(f"no psad capture at {capture}")
    from iptables_assets.ingest.records.firewall.parsing import parse_paths

    records = parse_paths([capture]).records.with_columns(
        pl.lit("ZZ").alias("country_code"), pl.lit("test").alias("country_name"))
    summary = agg.source_summary(agg.counted(records, agg.TrafficFilter()))
    scans = agg.daily_port_scans(summary, 50)
    assert scans["src_ip"].to_list() == ["192.168.10.55"]
    assert 450 <= scans["distinct_ports"][0] <= 501
    assert scans["scan_type"][0] == "SYN"


def test_a_single_hosts_summary_line_is_its_view_of_every_daily_table(journal_run):
    """One host: `fleet_pages` takes the whole history's tables as the host's view instead of
    recomputing them; the line equals the one computed from the host's rows of every daily table."""
    from iptables_assets.analysis import per_host
    from iptables_assets.tables import empty

    out, truth, _stdout = journal_run
    summary = pl.read_parquet(out / "exports" / "host_summary.parquet")
    daily = {name: pl.concat([pl.read_parquet(p) for p in sorted((out / name).glob("*.parquet"))],
                             how="vertical_relaxed") for name in per_host.HOST_DAILY_TABLES}
    (host,) = set(daily["daily_traffic_breakdown"]["host"])
    sshd = pl.concat([pl.read_parquet(p) for p in sorted((out / "sshd_events").glob("*.parquet"))],
                     how="vertical_relaxed") if list((out / "sshd_events").glob("*.parquet")) else empty("sshd_events")
    days = sorted(set(daily["daily_traffic_breakdown"]["day"]))
    view = per_host.host_history(daily, sshd, pl.read_parquet(out / "country_reference.parquet"),
                                 [days[0] + timedelta(days=i) for i in range((days[-1] - days[0]).days + 1)], 50, 3000)
    assert summary.to_dicts() == [per_host.host_line(host, None, view)]
    assert summary["events"][0] == pl.read_parquet(out / "exports" / "country_totals.parquet")["events"].sum() > 0
