"""A host's view of a fleet: made from its rows of the daily tables, it equals the view of that
host's events alone; host page folders are safe path components whatever the host name."""

import re
from datetime import date, datetime, timedelta, timezone

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from iptables_assets.analysis import aggregates as agg
from iptables_assets.analysis import per_host
from iptables_assets.defs.analysis import _aggregate_day
from iptables_assets.tables import empty

DAYS = [date(2026, 3, 1), date(2026, 3, 2)]
REFERENCE = pl.DataFrame({"iso_a2": ["AU", "DE"], "iso_a3": ["AUS", "DEU"], "name": ["Australia", "Germany"],
                          "continent": ["Oceania", "Europe"], "lat": [-25.0, 51.0], "lon": [134.0, 10.0]})


def _events(host: str, day: date, rows: list[tuple[str, int, str]]) -> list[dict]:
    """(source, port, country) drops logged by `host` on `day`, a second apart."""
    start = datetime(day.year, day.month, day.day, 9, tzinfo=timezone.utc)
    return [{"timestamp": start + timedelta(seconds=i), "host": host, "action": "drop", "in_iface": "eth0",
             "out_iface": "", "src_ip": src, "dst_ip": "10.0.0.1", "proto": "TCP", "dst_port": port,
             "tcp_flags": "SYN", "country_code": country, "country_name": {"AU": "Australia", "DE": "Germany"}[country]}
            for i, (src, port, country) in enumerate(rows)]


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema_overrides={"timestamp": pl.Datetime("us", "UTC"), "dst_port": pl.Int32})


# web1: a scanner of 60 ports on day 1 and a slow one (30 + 30 ports); web2: only a few knocks,
# and the slow scanner's 40 other ports (not a long-term scan of either host: each sees <= 60).
SCANNER = [("198.51.100.7", p, "DE") for p in range(1000, 1060)]
SLOW_1, SLOW_2 = [("203.0.113.5", p, "AU") for p in range(1, 31)], [("203.0.113.5", p, "AU") for p in range(31, 61)]
FLEET = {
    ("web1", DAYS[0]): SCANNER + SLOW_1 + [("192.0.2.1", 22, "AU")],
    ("web1", DAYS[1]): SLOW_2 + [("192.0.2.1", 22, "AU")] * 3,
    ("web2", DAYS[0]): [("192.0.2.1", 22, "AU"), ("198.51.100.7", 23, "DE")],
    ("web2", DAYS[1]): [("203.0.113.5", p, "AU") for p in range(100, 140)],
}


def _daily(events_of) -> dict[str, pl.DataFrame]:
    """Every day's daily tables of the events `events_of(day)`, concatenated per table."""
    made = [_aggregate_day(_frame(events_of(day)), agg.TrafficFilter(), 50) for day in DAYS]
    return {name: pl.concat([m[name] for m in made]) for name in per_host.HOST_DAILY_TABLES}


def _rows_of(fleet: dict[str, pl.DataFrame], host: str) -> dict[str, pl.DataFrame]:
    return {name: per_host.split_by_host(frame).get(host, frame.clear()) for name, frame in fleet.items()}


def _view(daily: dict[str, pl.DataFrame]) -> per_host.HostHistory:
    return per_host.host_history(daily, empty("sshd_events", "UTC"), REFERENCE, DAYS, 50, 3000)


def test_a_hosts_view_from_the_fleets_tables_equals_its_events_alone():
    fleet = _daily(lambda day: [e for (h, d), rows in FLEET.items() if d == day for e in _events(h, d, rows)])
    for host in ("web1", "web2"):
        mine = _rows_of(fleet, host)
        alone = _daily(lambda day, host=host: _events(host, day, FLEET[(host, day)]))
        from_fleet, from_own = _view(mine), _view(alone)
        for name, table in from_own.tables.items():
            assert from_fleet.table(name).equals(table), name


def test_scans_are_per_host_and_the_summary_line_counts_exactly():
    fleet = _daily(lambda day: [e for (h, d), rows in FLEET.items() if d == day for e in _events(h, d, rows)])
    web1, web2 = _view(_rows_of(fleet, "web1")), _view(_rows_of(fleet, "web2"))
    assert web1.table("port_scans")["src_ip"].to_list() == ["198.51.100.7"]
    assert sorted(web1.table("longterm_port_scans")["src_ip"]) == ["198.51.100.7", "203.0.113.5"]
    assert web1.table("longterm_port_scans").filter(pl.col("src_ip") == "203.0.113.5")["slow"].to_list() == [True]
    assert web2.table("port_scans").height == 0 and web2.table("longterm_port_scans").height == 0
    line = per_host.host_line("web1", "web1", web1)
    assert line == {"host": "web1", "page": "web1", "events": 124, "days_with_drops": 2, "busiest_day": DAYS[0],
                    "busiest_day_events": 91, "daily_scans": 1, "longterm_scanners": 2, "sshd_events": 0,
                    "top_country": "AU", "top_port": 22}
    per_day = per_host.drops_per_host_day(fleet["daily_country_counts"])
    assert per_day.rows() == [(DAYS[0], "web1", 91), (DAYS[0], "web2", 2), (DAYS[1], "web1", 33),
                              (DAYS[1], "web2", 40)]


def test_fleet_totals_are_the_sum_of_the_hosts():
    fleet = _daily(lambda day: [e for (h, d), rows in FLEET.items() if d == day for e in _events(h, d, rows)])
    totals = agg.country_totals(fleet["daily_country_counts"], REFERENCE)
    assert dict(totals.select("country_code", "events").iter_rows()) == {"DE": 61, "AU": 105}
    assert agg.port_totals(fleet["daily_port_counts"]).filter(pl.col("dst_port") == 22)["events"].to_list() == [6]


def test_page_folders_are_safe_and_distinct():
    hosts = ["web1", "Web1", "../../etc", "a/b", "", ".", "..", None, "a_b", "x" * 300, "mail.example.org"]
    folders = per_host.page_folders(hosts, redact=False)
    assert folders["mail.example.org"] == "mail.example.org" and folders["Web1"] == "Web1"
    assert folders["web1"].startswith("web1-")  # one folder per name even on a case-insensitive disk
    assert folders["a/b"] != folders["a_b"]
    _assert_safe(folders, hosts)
    redacted = per_host.page_folders(["web2", "web1", None], redact=True)
    assert redacted == {"web1": "host-1", "web2": "host-2", None: "host-3"}


def _assert_safe(folders: dict, hosts: list) -> None:
    assert set(folders) == set(hosts)
    names = [f.lower() for f in folders.values()]
    assert len(set(names)) == len(names)
    for name in folders.values():
        assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*", name) and len(name) <= 100, name


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=20)), max_size=12, unique=True))
def test_any_host_names_give_safe_distinct_folders(hosts):
    _assert_safe(per_host.page_folders(hosts, redact=False), hosts)


def test_a_hosts_inventory_is_its_own_folder_or_all_shared_files():
    inventory = pl.DataFrame({"relative": ["remote/web1/messages", "remote/web2/messages.1.gz", "messages"]})
    assert per_host.host_inventory(inventory, "web1")["relative"].to_list() == ["remote/web1/messages"]
    assert per_host.host_inventory(inventory, "gw")["relative"].to_list() == inventory["relative"].to_list()
    assert per_host.host_inventory(inventory, "messages").height == 3  # a file name is not a host folder
