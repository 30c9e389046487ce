"""Issue 25, the daily digest's rule on small known histories: what stands out is found with its
numbers, the near misses are not, and the first days say there is not enough history yet."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iptables_assets.analysis.digest import ALL, DigestRule, History, digest

START = date(2026, 3, 1)
RULE = DigestRule(min_events=20, top_sources=10)  # window 28, 7 days needed, 20 events, 3x, 4 spreads


def _history(days: int, ports=(), countries=(), sources=(), scans=(), sshd=(), host="fw") -> History:
    """`days` stored days from START; each argument lists (day index, key..., count) rows."""
    d = [START + timedelta(days=i) for i in range(days)]
    frame = lambda rows, columns, schema: pl.DataFrame(  # noqa: E731
        [dict(zip(columns, (d[r[0]], host, *r[1:]))) for r in rows], schema=schema, orient="row")
    return History(
        days=d,
        port_counts=frame(ports, ["day", "host", "proto", "dst_port", "events"],
                          {"day": pl.Date, "host": pl.String, "proto": pl.String, "dst_port": pl.Int32,
                           "events": pl.Int64}),
        country_counts=frame(countries, ["day", "host", "country_code", "country_name", "events"],
                             {"day": pl.Date, "host": pl.String, "country_code": pl.String,
                              "country_name": pl.String, "events": pl.Int64}),
        source_summary=frame(sources, ["day", "host", "src_ip", "country_code", "packets"],
                             {"day": pl.Date, "host": pl.String, "src_ip": pl.String, "country_code": pl.String,
                              "packets": pl.Int64}),
        port_scans=frame(scans, ["day", "host", "src_ip", "country_code", "distinct_ports"],
                         {"day": pl.Date, "host": pl.String, "src_ip": pl.String, "country_code": pl.String,
                          "distinct_ports": pl.Int32}),
        sshd_kinds=frame(sshd, ["day", "host", "kind", "events"],
                         {"day": pl.Date, "host": pl.String, "kind": pl.String, "events": pl.Int64}),
    )


def _steady(days: int, value: int = 10, port: int = 22):
    return [(i, "tcp", port, value) for i in range(days)]


def _found(frame: pl.DataFrame) -> list[tuple]:
    return [(r["finding"], r["subject"], r["events"]) for r in frame.iter_rows(named=True)]


def test_the_first_days_say_there_is_not_enough_history():
    history = _history(7, ports=[*_steady(6), (6, "tcp", 5555, 1000)])
    found = digest(START + timedelta(days=6), history, RULE)
    assert _found(found) == [("not_enough_history", "", 0)]
    assert found["note"][0] == "6 earlier days in the last 28, 7 needed: not enough history yet, nothing is flagged"
    assert found["scope"][0] == ALL and found["history_days"][0] == 6


def test_a_port_far_above_its_median_is_a_surge_and_its_numbers_are_kept():
    ports = [*_steady(29), *[(i, "tcp", 5555, 12) for i in range(28)], (28, "tcp", 5555, 1240)]
    found = digest(START + timedelta(days=28), _history(29, ports=ports), RULE)
    assert _found(found) == [("port_surge", "5555/tcp", 1240)]
    row = found.row(0, named=True)
    assert (row["baseline_median"], row["baseline_mad"], row["history_days"]) == (12.0, 0.0, 28)
    assert row["note"] == "1,240 drops; median of the 28 days before 12 (MAD 0)"


@pytest.mark.parametrize(("today", "flagged"), [
    (19, False),  # under min_events, though 19x its median of 1
    (20, True),
    (29, False),  # median 10, MAD 0: noise sqrt(11) = 3.317, 19 > 4 x 3.317 = 13.27, but under 3x the median
    (30, True),   # 3x the median, and 20 > 13.27
])
def test_near_misses_of_the_surge_rule_are_not_flagged(today, flagged):
    median = 1 if today in (19, 20) else 10
    ports = [*[(i, "tcp", 8080, median) for i in range(28)], (28, "tcp", 8080, today)]
    found = digest(START + timedelta(days=28), _history(29, ports=ports), RULE)
    assert (_found(found) == [("port_surge", "8080/tcp", today)]) is flagged
    assert flagged or found.height == 0


def test_one_outlier_in_the_window_moves_neither_median_nor_mad():
    ports = [*[(i, "tcp", 23, 100) for i in range(28) if i != 5], (5, "tcp", 23, 50_000), (28, "tcp", 23, 130)]
    assert digest(START + timedelta(days=28), _history(29, ports=ports), RULE).height == 0


def test_a_port_dropped_for_the_first_time_is_new_not_a_surge_and_a_single_probe_is_no_news():
    ports = [*_steady(29), (28, "tcp", 31337, 10), (28, "udp", 1900, 9), (3, "tcp", 4444, 1), (28, "tcp", 4444, 40)]
    found = digest(START + timedelta(days=28), _history(29, ports=ports), RULE)
    # 31337/tcp is new (10 >= new_port_min); 1900/udp has 9; 4444/tcp was dropped once before: a surge from 0
    assert _found(found) == [("port_surge", "4444/tcp", 40), ("new_port", "31337/tcp", 10)]
    assert found.filter(pl.col("finding") == "new_port")["note"][0] == "10 drops, never dropped before"


def test_new_and_returning_scanners_and_the_ones_that_never_left():
    scans = [(2, "203.0.113.5", "CN", 80), (20, "203.0.113.5", "CN", 90),  # back after 8 days: returning
             (22, "198.51.100.9", "RU", 70), (28, "198.51.100.9", "RU", 60),  # 6 days: not returning
             (28, "203.0.113.5", "CN", 300), (28, "192.0.2.44", "BR", 1024)]
    found = digest(START + timedelta(days=28), _history(29, ports=_steady(29), scans=scans), RULE)
    assert _found(found) == [("new_scanner", "192.0.2.44", 1024), ("returning_scanner", "203.0.113.5", 300)]
    assert found["note"].to_list() == ["scanned 1,024 ports: its first scan seen",
                                       "scanned 300 ports: back after 8 days (last scan 2026-03-21)"]


def test_a_country_surge_and_sources_new_among_the_top():
    countries = [*[(i, "CN", "China", 800) for i in range(29)], *[(i, "NL", "Netherlands", 40) for i in range(28)],
                 (28, "NL", "Netherlands", 900)]
    sources = [*[(i, f"198.51.100.{k}", "CN", 50 - k) for i in range(29) for k in range(1, 12)],
               (28, "192.0.2.7", "NL", 45), (28, "192.0.2.8", "NL", 3)]  # #5 today (ties by address), one not top
    found = digest(START + timedelta(days=28), _history(29, ports=_steady(29), countries=countries, sources=sources),
                   RULE)
    assert _found(found) == [("country_surge", "NL (Netherlands)", 900), ("new_top_source", "192.0.2.7", 45)]
    assert found["note"][1] == "45 drops, #5 today, not seen in the 28 days before"


def test_an_sshd_surge_by_kind_and_quiet_days_stay_empty():
    sshd = [*[(i, "failed_password", 300) for i in range(29)], *[(i, "invalid_user", 20) for i in range(28)],
            (28, "invalid_user", 400)]
    history = _history(29, ports=_steady(29), sshd=sshd)
    assert _found(digest(START + timedelta(days=28), history, RULE)) == [("sshd_surge", "invalid_user", 400)]
    assert digest(START + timedelta(days=27), history, RULE).height == 0  # a quiet day


def test_a_fleet_has_findings_for_all_hosts_and_for_each_host():
    web1 = _history(29, ports=[*_steady(29), *[(i, "tcp", 80, 30) for i in range(28)], (28, "tcp", 80, 30)],
                    host="web01")
    web2 = _history(29, ports=[*_steady(29), *[(i, "tcp", 80, 30) for i in range(28)], (28, "tcp", 80, 400)],
                    host="web02")
    both = History(days=web1.days, **{name: pl.concat([getattr(web1, name), getattr(web2, name)])
                                      for name in ("port_counts", "country_counts", "source_summary", "port_scans",
                                                   "sshd_kinds")})
    found = digest(START + timedelta(days=28), both, RULE)
    assert [(r["scope"], r["finding"], r["subject"], r["events"]) for r in found.iter_rows(named=True)] == [
        ("all", "port_surge", "80/tcp", 430), ("web02", "port_surge", "80/tcp", 400)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 500), min_size=28, max_size=28), st.integers(0, 5000))
def test_the_table_agrees_with_the_rule_for_any_history(window, today):
    ports = [*[(i, "tcp", 443, n) for i, n in enumerate(window) if n], (28, "tcp", 443, today), *_steady(29, port=22)]
    found = digest(START + timedelta(days=28), _history(29, ports=ports), RULE).filter(pl.col("subject") == "443/tcp")
    ordered = sorted(window)
    median = (ordered[13] + ordered[14]) / 2
    deviations = sorted(abs(n - median) for n in window)
    mad = (deviations[13] + deviations[14]) / 2
    earlier = any(window)
    expected = RULE.is_surge(today, median, mad) if earlier else False
    new = not earlier and today >= RULE.new_port_min
    assert found["finding"].to_list() == (["port_surge"] if expected else ["new_port"] if new else [])


@pytest.mark.parametrize(("today", "flagged"), [(39, False), (40, True)])
def test_a_spread_out_port_needs_more_than_four_of_its_deviations(today, flagged):
    """Window 5, 15, 5, 15 …: median 10, MAD 5, spread 1.4826 x 5 = 7.41; 4 spreads = 29.65 above 10."""
    ports = [*[(i, "tcp", 3389, 5 if i % 2 else 15) for i in range(28)], (28, "tcp", 3389, today)]
    found = digest(START + timedelta(days=28), _history(29, ports=ports), RULE)
    assert found["finding"].to_list() == (["port_surge"] if flagged else [])


def test_a_protocol_without_ports_has_its_own_baseline():
    """ICMP has no destination port (null): its days are matched as any other key's."""
    ports = [*[(i, "ICMP", None, 55) for i in range(29)], *_steady(29)]
    assert digest(START + timedelta(days=28), _history(29, ports=ports), RULE).height == 0
    ports = [*[(i, "ICMP", None, 5) for i in range(28)], (28, "ICMP", None, 400), *_steady(29)]
    assert _found(digest(START + timedelta(days=28), _history(29, ports=ports), RULE)) == [("port_surge", "ICMP", 400)]
