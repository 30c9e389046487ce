"""The HTML journal and redaction: hostile strings escaped, every figure present, pseudonyms stable."""

import html
import re
from datetime import date, datetime, timezone
from html.parser import HTMLParser

import dagster as dg
import polars as pl
import pytest

from iptables_assets.publish import journal
from iptables_assets.publish.redaction import Redactor

pytestmark = pytest.mark.xdist_group("journal_run")

HOSTILE_SITE = '<script>alert("site")</script>'
HOSTILE_HOST = 'gw"01\' onload="alert(1)'
HOSTILE_TEXT = "<script>alert('x')</script>Hong Kong"


class _Collector(HTMLParser):
    """Tags, image sources and text of a page, as a browser's parser sees them."""

    def __init__(self):
        super().__init__()
        self.tags, self.images, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs))

    def handle_data(self, data):
        self.text.append(data)


def _parse(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    return collector


def _inputs(**overrides) -> journal.JournalInputs:
    ts = datetime(2026, 1, 1, tzinfo=timezone.utc)
    values = dict(
        site_name="example.org",
        direction="input",
        inventory=pl.DataFrame({
            "family": [f"remote/{HOSTILE_HOST}/messages", "kern.log"],
            "lines": [10, 20],
            "first_timestamp": [ts, ts],
            "last_timestamp": [ts, ts],
        }),
        country_totals=pl.DataFrame({
            "country_code": ["HK", "??"], "country_name": [HOSTILE_TEXT, "Unknown"], "events": [7, 3],
            "rank": [1, None], "top20": [True, False],
        }),
        port_totals=pl.DataFrame({"dst_port": [22], "events": [7], "protocols": [["TCP"]], "rank": [1], "top256": [True]}),
        port_scans=pl.DataFrame({
            "day": [date(2026, 1, 1), date(2026, 1, 2)], "src_ip": ["203.0.113.9", "2001:db8::7"],
            "country_code": ["HK", "??"], "distinct_ports": [4000, 60], "packets": [4000, 60],
            "scan_type": ["SYN", "SYN"],
        }),
        longterm_scans=pl.DataFrame({
            "src_ip": ["203.0.113.9"], "country_code": ["HK"], "distinct_ports": [4000], "days_active": [1],
            "first_day": [date(2026, 1, 1)], "last_day": [date(2026, 1, 1)], "slow": [False],
        }),
        scan_threshold=50,
        big_scan_threshold=3000,
        figures=[
            journal.JournalFigure("countries", "figures/drops_map.png", "drops_map", "Drops per country."),
            journal.JournalFigure("ports", "figures/top_ports.png", "top_ports", 'Ports "quoted" <b>'),
        ],
        disclaimer="Geolocation is unreliable.",
        credits=["IP Geolocation by DB-IP.", "Natural Earth."],
        generated=ts,
    )
    values.update(overrides)
    return journal.JournalInputs(**values)


def test_hostile_strings_render_as_text():
    page = journal.render(_inputs(site_name=HOSTILE_SITE), Redactor(False))
    parsed = _parse(page)
    assert "script" not in parsed.tags
    text = "".join(parsed.text)
    assert HOSTILE_SITE in text and HOSTILE_TEXT in text and HOSTILE_HOST in text
    assert "&lt;script&gt;alert(" in page
    assert 'onload="alert(1)' not in page  # the quote-laden host name cannot open an attribute
    assert [img["src"] for img in parsed.images] == ["figures/drops_map.png", "figures/top_ports.png"]
    assert parsed.images[1]["alt"] == "top_ports"


def test_page_reads_in_order_with_tables_and_credits():
    page = journal.render(_inputs(), Redactor(False))
    headings = re.findall(r"<h2>([^<]+)</h2>", page)
    assert headings == ["Contents", "The logs", "Dropped packets by country", "Destination ports", "Port scans",
                        "About the data"]
    assert "Dates of the biggest one-day scans (over 3,000 ports): 2026-01-01." in page
    assert "203.0.113.9" in page and "2001:db8::7" in page
    assert "IP Geolocation by DB-IP." in page and "Geolocation is unreliable." in page
    assert "<script" not in page.lower()  # no JavaScript needed to read it


def test_redaction_replaces_addresses_and_host_names_everywhere():
    redactor = Redactor(True, hosts=["example.org"])
    page = journal.render(_inputs(), redactor)
    assert "203.0.113.9" not in page and "2001:db8::7" not in page and "example.org" not in page
    assert HOSTILE_HOST not in html.unescape(page)  # directories of log files are not published
    assert "[IP-1]" in page and "[IP-2]" in page and "[HOST-1]" in page
    # the same address keeps its pseudonym in both scan tables
    assert page.count("[IP-1]") == 2


def test_redactor_pseudonyms_are_stable_and_cover_free_text():
    redactor = Redactor(True, hosts=["gw01"])
    assert redactor.address("198.51.100.4") == "[IP-1]"
    assert redactor.address("2001:DB8::1") == "[IP-2]"
    assert redactor.address("2001:db8:0::1") == "[IP-2]"  # same address, other spelling
    assert redactor.address("198.51.100.4") == "[IP-1]"
    line = "gw01 sshd[1]: Failed password for root from 198.51.100.4 port 22, then ::ffff:10.0.0.1. Bye gw01.lan"
    assert redactor.text(line) == (
        "[HOST-1] sshd[1]: Failed password for root from [IP-1] port 22, then [IP-3]. Bye [HOST-1].lan"
    )
    assert redactor.text("at 12:34:56 on 1.2.3") == "at 12:34:56 on 1.2.3"  # not addresses
    frame = pl.DataFrame({"src_ip": ["10.1.1.1", "198.51.100.4", "10.1.1.1"], "host": ["a", "GW01", "a"]})
    redacted = redactor.frame(frame, addresses=["src_ip"], hosts=["host"])
    assert redacted.rows() == [("[IP-4]", "[HOST-2]"), ("[IP-1]", "[HOST-1]"), ("[IP-4]", "[HOST-2]")]
    assert Redactor(False).text(line) == line


def test_unknown_figure_section_is_refused():
    figure = journal.JournalFigure("nowhere", "figures/x.png", "x", "x")
    with pytest.raises(ValueError, match="unknown journal section 'nowhere'"):
        journal.render(_inputs(figures=[figure]), Redactor(False))


# --- the journal of a real run -----------------------------------------------------------------


def test_run_publishes_the_journal_with_every_figure(journal_run):
    out, truth, stdout = journal_run
    folder = out / "journal"
    page = (folder / "index.html").read_text()
    images = [img["src"] for img in _parse(page).images]
    expected = {
        "drops_map", "top_countries", "top_countries_timeline", "well_known_ports", "well_known_ports_truncated",
        "top_ports_chart", "top_ports", "top_ports_truncated", "port_22_map", "port_23_map", "port_445_map",
        "daily_scanners_map", "longterm_scanners_map",
    }
    films = {f"animations/{name}.gif" for name in ("drops_map", "well_known_ports", "top_ports")}
    assert sorted(images) == sorted({f"figures/{name}.png" for name in expected} | films)
    for src in images:
        assert (folder / src).stat().st_size > 20_000, src
    for planted in truth["scanners"]:
        if planted["kind"] in ("fast", "big", "slow"):
            assert planted["ip"] in page
    assert f"journal: {folder / 'index.html'}" in stdout


def test_materialised_figures_carry_small_previews(journal_run, tmp_path):
    """Re-materialise the port figures and the journal with redaction on, into another folder."""
    import graph
    from iptables_assets.defs.resources import Publication

    out, truth, _stdout = journal_run
    defs = graph.definitions(out, out)
    resources = {**defs.resources, "publication": Publication(redact=True, folder=str(tmp_path), site_name="gw01.example.org")}
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    selection = ["port_figures", "journal_report"]
    result = graph.materialize(assets, selection=selection, resources=resources, days=graph.stored_days(out))
    assert result.success
    (materialisation,) = result.asset_materializations_for_node("port_figures")
    previews = {k: v.value for k, v in materialisation.metadata.items() if k.startswith("preview_")}
    assert len(previews) == 5
    assert all(v.startswith("![") and len(v) < 60_000 for v in previews.values())
    page = (tmp_path / "index.html").read_text()
    assert "gw01" not in page and "[HOST-1]" in page and "[HOST-2]" in page  # site, then the logging host
    for planted in truth["scanners"]:
        assert planted["ip"] not in page
    sshd_sources = list(truth["sshd_per_source"])
    assert sshd_sources and not any(ip in page for ip in sshd_sources)
    assert "dyn.example.net" not in page  # reverse-DNS names of break-in lines are host names too
    assert "POSSIBLE BREAK-IN ATTEMPT!" in page
    assert (tmp_path / "figures" / "top_ports.png").exists()
