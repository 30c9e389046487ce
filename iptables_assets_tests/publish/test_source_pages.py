"""Issue 25, a page per notable source: every scanner and the top sources get one, in a bounded
number; pages are named by number and, when redacting, titled by pseudonym with no address in any
file name, path or text; hostile text stays escaped; the journal links every cell naming a source
with a page to it."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from iptables_assets.publish import source_pages
from iptables_assets.publish.journal import SOURCE_COLUMNS
from iptables_assets.publish.redaction import address_spans

pytestmark = pytest.mark.xdist_group("journal_run")


def _scans(rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"src_ip": pl.String, "distinct_ports": pl.Int64}, orient="row")


def test_scanners_come_first_then_the_top_sources_then_sshd_within_the_bound():
    drops = pl.DataFrame({"src_ip": ["10.0.0.1", "10.0.0.2", "10.0.0.3", "192.0.2.1"], "packets": [50, 900, 70, 10]})
    daily = _scans([("192.0.2.1", 80), ("198.51.100.4", 3000), ("192.0.2.1", 60)])
    longterm = _scans([("203.0.113.9", 120), ("192.0.2.1", 90)])
    sshd = pl.DataFrame({"src_ip": ["10.0.0.9", "10.0.0.2"], "sshd_events": [40, 10]})
    chosen = source_pages.choose(drops, daily, longterm, sshd, limit=6)
    assert chosen.rows() == [
        (1, "198.51.100.4", ["per-day scanner"]), (2, "192.0.2.1", ["per-day scanner", "long-term scanner",
                                                                    "top by drops"]),
        (3, "203.0.113.9", ["long-term scanner"]), (4, "10.0.0.2", ["top by drops", "top sshd source"]),
        (5, "10.0.0.3", ["top by drops"]), (6, "10.0.0.1", ["top by drops"])]
    assert source_pages.choose(drops, daily, longterm, sshd, limit=2)["src_ip"].to_list() == ["198.51.100.4",
                                                                                              "192.0.2.1"]
    assert source_pages.choose(drops, daily, longterm, sshd, limit=0).height == 0


def _view(address: str, host: str) -> source_pages.SourceView:
    days = pl.DataFrame({
        "day": [date(2026, 1, 2), date(2026, 1, 5)], "host": [host, host], "src_ip": [address] * 2,
        "packets": [30, 12], "dst_ports": [[22, 23, 8080], [22]], "country_code": ["NL", "NL"],
        "country_name": ["Netherlands", "Netherlands"],
        "first_seen": [datetime(2026, 1, 2, 3, tzinfo=timezone.utc), datetime(2026, 1, 5, tzinfo=timezone.utc)],
        "last_seen": [datetime(2026, 1, 2, 4, tzinfo=timezone.utc), datetime(2026, 1, 5, 1, tzinfo=timezone.utc)],
    })
    empty = pl.DataFrame(schema={"day": pl.Date, "distinct_ports": pl.Int64})
    return source_pages.SourceView(1, address, ["top by drops"], days, empty, empty,
                                   pl.DataFrame({"kind": ["invalid_user"], "events": [4]}),
                                   asn=(64500, "<script>alert(1)</script> Hosting"),
                                   history=(date(2026, 1, 1), date(2026, 1, 7)), hosts=[host])


def _site(redact: bool, host: str) -> source_pages.PageSite:
    return source_pages.PageSite("gw.example.org", redact, ("gw.example.org", host), "disclaimer", ("credit",),
                                 datetime(2026, 1, 8, tzinfo=timezone.utc))


def test_a_redacted_page_names_no_address_and_hostile_text_stays_escaped():
    host = 'web"><img src=x onerror=alert(2)>'
    view = _view("2001:db8::77", host)
    chosen = pl.DataFrame({"rank": [1], "src_ip": ["2001:db8::77"], "reasons": [["top by drops"]]})
    site = _site(True, host)
    page = source_pages.render(view, site, source_pages.redactor_for(site, chosen))
    assert "2001:db8::77" not in page and not address_spans(re.sub(r"<[^>]*>", " ", page).replace("::", ""))
    assert "<h1>[IP-1]</h1>" in page and "<title>[HOST-1]: [IP-1]</title>" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "onerror" not in page and "<dd>[HOST-2]</dd>" in page  # the host name is a pseudonym
    plain = source_pages.render(view, _site(False, host), source_pages.redactor_for(_site(False, host), chosen))
    assert "<img" not in plain and "web&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in plain
    assert source_pages.page_file(1) == "sources/001.html"
    shown = source_pages.render(view, _site(False, "web01"), source_pages.redactor_for(_site(False, "web01"), chosen))
    assert "<h1>2001:db8::77</h1>" in shown and "Netherlands (NL)" in shown and "AS64500" in shown
    assert '<title>22: 2 days</title>' in shown and '<title>8080: 1 day</title>' not in shown  # 8080 is off the tile
    assert "<td>8080</td><td>1</td>" in shown


def test_every_scanner_has_a_page_and_the_journal_links_it(journal_run):
    out, truth, _said = journal_run
    pages = pl.read_parquet(out / "source_page_list.parquet")
    scanners = set(pl.read_parquet(out / "exports" / "port_scans.parquet")["src_ip"]) | set(
        pl.read_parquet(out / "exports" / "longterm_port_scans.parquet")["src_ip"])
    assert scanners and scanners <= set(pages["src_ip"])
    assert pages.height <= 100 and pages["page_number"].to_list() == list(range(1, pages.height + 1))
    journal = out / "journal"
    assert sorted(p.name for p in (journal / "sources").iterdir()) == [Path(f).name for f in pages["source_page"]]
    page = (journal / "index.html").read_text()
    by_address = dict(zip(pages["src_ip"], pages["source_page"]))
    for address in scanners:
        assert f'<a href="{by_address[address]}">{address}</a>' in page
    # no cell of a source column names a source with a page without linking it
    for table in re.findall(r"<table>.*?</table>", page, flags=re.S):
        columns = re.findall(r"<th[^>]*>([^<]*)</th>", table)
        for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)[1:]:
            cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
            for column, text in zip(columns, cells):
                if column in SOURCE_COLUMNS and text in by_address:
                    pytest.fail(f"{text} in column {column} is not linked")
