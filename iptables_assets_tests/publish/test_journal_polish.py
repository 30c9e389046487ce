"""Journal polish: why counted packets are fewer than firewall events, port numbers printed as
ports, service names per protocol, figure titles without Markdown, long lines cut and wrapped."""

from datetime import date, datetime, timezone

import polars as pl
import pytest

from iptables_assets.analysis import aggregates
from iptables_assets.analysis.aggregates import TrafficFilter
from iptables_assets.publish import figures, journal
from iptables_assets.publish.redaction import Redactor

TS = datetime(2026, 1, 1, 3, 37, 9, tzinfo=timezone.utc)


def _inputs(**overrides) -> journal.JournalInputs:
    values = dict(
        site_name="example.org",
        direction="input",
        inventory=pl.DataFrame({"family": ["messages"], "lines": [10], "first_timestamp": [TS], "last_timestamp": [TS]}),
        country_totals=pl.DataFrame({
            "country_code": ["NL"], "country_name": ["Netherlands"], "events": [5], "rank": [1], "top20": [True],
        }),
        port_totals=pl.DataFrame({"dst_port": [22], "events": [5], "protocols": [["TCP"]], "rank": [1], "top256": [True]}),
        port_scans=pl.DataFrame(schema={"day": pl.Date, "src_ip": pl.String, "country_code": pl.String,
                                        "distinct_ports": pl.Int64, "packets": pl.Int64, "scan_type": pl.String}),
        longterm_scans=pl.DataFrame(),
        scan_threshold=50,
        big_scan_threshold=3000,
        figures=[],
        disclaimer="Geolocation is unreliable.",
        credits=["IP Geolocation by DB-IP."],
        generated=TS,
    )
    values.update(overrides)
    return journal.JournalInputs(**values)


def _events(rows: list[tuple[str, str, str, int]]) -> pl.DataFrame:
    """(action, in_iface, out_iface, how many) as firewall events of one day."""
    flat = [(a, i, o) for a, i, o, n in rows for _ in range(n)]
    return pl.DataFrame({
        "timestamp": [TS] * len(flat),
        "host": ["gw"] * len(flat),
        "action": [a for a, _, _ in flat],
        "in_iface": [i for _, i, _ in flat],
        "out_iface": [o for _, _, o in flat],
    })


EVENTS = _events([
    ("drop", "eth0", "", 4), ("reject", "eth0", "", 1),  # counted: 5
    ("accept", "eth0", "", 3), ("audit", "eth0", "", 2), ("drop", "", "eth0", 1), ("reject", "eth0", "eth1", 1),
])


def test_traffic_breakdown_counts_like_the_traffic_filter():
    breakdown = aggregates.traffic_breakdown(EVENTS, TrafficFilter())
    assert breakdown.columns == ["day", "host", "action", "direction", "counted", "events"]
    assert breakdown.rows() == [
        (date(2026, 1, 1), "gw", "accept", "input", False, 3),
        (date(2026, 1, 1), "gw", "audit", "input", False, 2),
        (date(2026, 1, 1), "gw", "drop", "input", True, 4),
        (date(2026, 1, 1), "gw", "drop", "output", False, 1),
        (date(2026, 1, 1), "gw", "reject", "forward", False, 1),
        (date(2026, 1, 1), "gw", "reject", "input", True, 1),
    ]


def test_journal_says_why_counted_packets_are_fewer_than_events():
    breakdown = aggregates.traffic_breakdown(EVENTS, TrafficFilter())
    page = journal.render(_inputs(traffic=breakdown), Redactor(False))
    assert (
        "<p>The logs hold 12 firewall events; 5 are counted as packets in this journal: the drops and rejects of "
        "the INPUT Table. Not counted: 3 accepts, 2 audit lines ([UFW AUDIT]), 1 outbound drop, "
        "1 forwarded reject.</p>"
    ) in page
    assert "<dt>Counted packets</dt><dd>5 of 12 firewall events (see The logs)</dd>" in page


def test_journal_without_a_breakdown_states_the_count_only():
    page = journal.render(_inputs(), Redactor(False))
    assert "<dt>Counted packets</dt><dd>5</dd>" in page
    assert "firewall events" not in page


def test_counted_explanation_with_other_settings():
    events = _events([("drop", "eth0", "", 1200), ("accept", "", "eth0", 1), ("weird", "eth0", "", 2)])
    breakdown = aggregates.traffic_breakdown(events, TrafficFilter(actions=("drop", "accept"), direction="input"))
    assert journal.counted_explained(breakdown, ("drop", "accept"), "INPUT Table") == (
        "The logs hold 1,203 firewall events; 1,200 are counted as packets in this journal: the drops and accepts "
        "of the INPUT Table. Not counted: 2 weird lines, 1 outbound accept."
    )


PORTS = pl.DataFrame({
    "dst_port": [8080, 123, 53, 137, 1900, 5060, 22, 12345],
    "events": [12345, 900, 800, 700, 600, 500, 400, 1000],
    "protocols": [["TCP"], ["UDP"], ["TCP", "UDP"], ["TCP", "UDP"], ["UDP"], ["UDP"], ["TCP"], ["TCP"]],
    "rank": [1, 3, 4, 5, 6, 7, 8, 2],
    "top256": [True] * 8,
})


def test_ports_print_without_separators_and_counts_with_them():
    page = journal.render(_inputs(port_totals=PORTS), Redactor(False))
    assert '<td class="number">8080</td><td>http-alt</td><td class="number">12,345</td><td>TCP</td>' in page
    assert '<td class="number">12345</td><td></td><td class="number">1,000</td><td>TCP</td>' in page
    assert "8,080" not in page and "12,345</td><td></td>" not in page


@pytest.mark.parametrize("port,protocols,name", [
    (123, ["UDP"], "ntp"), (137, ["UDP"], "netbios-ns"), (53, ["UDP"], "domain"), (161, ["UDP"], "snmp"),
    (1900, ["UDP"], "ssdp"), (5060, ["UDP"], "sip"), (53, ["TCP", "UDP"], "domain"),
    (137, ["TCP", "UDP"], "netbios-ns/udp"), (123, ["TCP"], ""), (22, ["TCP"], "ssh"), (445, None, "microsoft-ds"),
    (123, None, "ntp"), (65000, ["UDP"], ""),
])
def test_service_names_depend_on_the_protocol(port, protocols, name):
    assert figures.services(port, protocols) == name


def test_udp_service_names_in_the_journal():
    page = journal.render(_inputs(port_totals=PORTS), Redactor(False))
    for port, service in ((123, "ntp"), (53, "domain"), (137, "netbios-ns/udp"), (1900, "ssdp"), (5060, "sip")):
        assert f'<td class="number">{port}</td><td>{service}</td>' in page


def test_service_name_per_protocol():
    assert figures.service_name(123, "udp") == "ntp" and figures.service_name(123, "tcp") == ""
    assert figures.service_name(123, "UDP") == "ntp"
    assert figures.port_label(8080) == "Port 8080: http-alt"
    assert figures.port_label(123, "udp") == "Port 123: ntp"


def test_no_backticks_in_figure_titles():
    assert not any("`" in title for title in figures.SCAN_DETECTORS.values())
    summary = pl.DataFrame({"detector": ["daily"], "country_code": ["NL"], "scanning_addresses": [3]})
    site = figures.Site(name="example.org")
    for detector in ("daily", "longterm"):
        title = figures.scanners_map(summary, detector, site)._suptitle.get_text()
        assert "`" not in title and '"nmap -T ' in title


def _notable(message: str) -> pl.DataFrame:
    return pl.DataFrame({
        "timestamp": [TS], "host": ["gw01"], "kind": ["bad_protocol_version"], "src_ip": ["198.51.100.4"],
        "country_code": ["NL"], "detail": ["x"], "message": [message],
    })


def _sshd(notable: pl.DataFrame, redactor: Redactor) -> journal.Section:
    kinds = pl.DataFrame({"kind": ["bad_protocol_version"], "country_code": ["NL"], "events": [1], "addresses": [1]})
    sources = pl.DataFrame(schema={"src_ip": pl.String, "country_code": pl.String, "sshd_events": pl.Int64,
                                   "kinds": pl.List(pl.String), "user_names": pl.Int64,
                                   "first_seen": pl.Datetime("us", "UTC"), "last_seen": pl.Datetime("us", "UTC")})
    return journal.sshd_section(kinds, sources, pl.DataFrame(), notable, redactor)


def test_a_ten_megabyte_sshd_line_is_cut_in_the_journal():
    prefix = "2026-01-01 03:37:09 gw01 sshd: "
    head = "Bad protocol version identification 'from 198.51.100.4:2222 "
    message = head + "A" * (10_485_760 - len(prefix) - len(head))
    assert len(prefix + message) == 10_485_760
    redactor = Redactor(True)
    page = journal.render(_inputs(extra_sections=[_sshd(_notable(message), redactor)]), redactor)
    shown = "2026-01-01 03:37:09 [HOST-1] sshd: Bad protocol version identification &#39;from [IP-1]:2222 "
    visible = 300 - len("2026-01-01 03:37:09 [HOST-1] sshd: Bad protocol version identification 'from [IP-1]:2222 ")
    assert f"<pre>{shown}{'A' * visible} … [cut, 10,485,760 characters]</pre>" in page
    assert len(page) < 20_000


def test_short_sshd_lines_are_whole_and_wrap_between_words():
    message = "Bad protocol version identification 'GET / HTTP/1.1' from 198.51.100.4 port 4444"
    page = journal.render(_inputs(extra_sections=[_sshd(_notable(message), Redactor(False))]), Redactor(False))
    assert f"<pre>2026-01-01 03:37:09 gw01 sshd: {message.replace(chr(39), '&#39;')}</pre>" in page
    assert "pre { white-space: pre-wrap; word-break: normal; overflow-wrap: break-word;" in page
    assert "break-all" not in page and "overflow-wrap: anywhere" not in page


def test_long_table_cells_are_cut():
    name = "<b>" + "N" * 5000
    totals = pl.DataFrame({"country_code": ["NL"], "country_name": [name], "events": [5], "rank": [1], "top20": [True]})
    page = journal.render(_inputs(country_totals=totals), Redactor(False))
    assert "<td>&lt;b&gt;" + "N" * 297 + " … [cut, 5,003 characters]</td>" in page


@pytest.mark.xdist_group("journal_run")
def test_run_explains_counted_packets_and_exports_safe_csv(journal_run):
    import csv
    import html

    out, _truth, _stdout = journal_run
    events = pl.concat([pl.read_parquet(f) for f in sorted((out / "firewall_events").glob("*.parquet"))])
    counted = events.filter(TrafficFilter().expr()).height
    page = html.unescape((out / "journal" / "index.html").read_text())
    assert f"The logs hold {events.height:,} firewall events; {counted:,} are counted as packets" in page
    assert f"Counted packets</dt><dd>{counted:,} of {events.height:,} firewall events" in page
    for path in sorted((out / "exports").glob("*.csv")):
        schema = pl.read_parquet_schema(path.with_suffix(".parquet"))
        texts = [name for name, dtype in schema.items() if dtype == pl.String or isinstance(dtype, pl.List)]
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):  # numbers (a negative longitude) stay numbers
                assert not any(row[c].startswith(("=", "+", "-", "@", "\t", "\r")) for c in texts), (path, row)
