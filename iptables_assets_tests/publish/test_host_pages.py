"""A host's page and the fleet page's hosts section: host names are data (escaped, redacted on
every page alike), links point at the safe folders, one host has no hosts section."""

import multiprocessing
from datetime import date, datetime, timezone
from types import SimpleNamespace

import polars as pl
import pytest
from upath import UPath

from iptables_assets.analysis import per_host
from iptables_assets.publish import journal
from iptables_assets.publish.catalog import Look
from iptables_assets.publish.figures import Site
from iptables_assets.publish.fleet_section import hosts_section
from iptables_assets.publish.host_pages import PageContext, PageWriters, write_host_page
from iptables_assets.publish.redaction import Redactor
from iptables_assets.tables import empty

HOSTILE = '<script>alert(1)</script>'
DAY = date(2026, 2, 3)


def _summary(hosts: list[str | None], folders: dict) -> pl.DataFrame:
    rows = [{"host": h, "page": folders.get(h), "events": 10 * (i + 1), "days_with_drops": 1, "busiest_day": DAY,
             "busiest_day_events": 10 * (i + 1), "daily_scans": 0, "longterm_scanners": 0, "sshd_events": 0,
             "top_country": "DE", "top_port": 8080} for i, h in enumerate(hosts)]
    return pl.DataFrame(rows, schema=empty("host_summary").schema)


def _render(section: journal.Section) -> str:
    inputs = journal.JournalInputs(
        site_name="fleet", direction="input", inventory=empty("log_file_inventory"),
        country_totals=empty("country_totals"), port_totals=empty("port_totals"), port_scans=empty("port_scans"),
        longterm_scans=empty("longterm_port_scans"), scan_threshold=50, big_scan_threshold=3000, figures=[],
        disclaimer="d", credits=[], generated=datetime(2026, 2, 4, tzinfo=timezone.utc), extra_sections=[section])
    return journal.render(inputs, Redactor(False))


def test_the_hosts_section_links_each_host_escaped():
    hosts = ["web1", HOSTILE, None]
    folders = per_host.page_folders(hosts, redact=False)
    page = _render(hosts_section(_summary(hosts, folders), Redactor(False)))
    assert '<a href="hosts/web1/index.html">web1</a>' in page
    assert f'<a href="hosts/{folders[HOSTILE]}/index.html">&lt;script&gt;alert(1)&lt;/script&gt;</a>' in page
    assert HOSTILE not in page and "(no host name)" in page
    assert ">8080<" in page and ">30<" in page  # a port as it is, counts as counts


def test_redacted_hosts_keep_one_pseudonym_and_folder():
    hosts = ["web1", "web2"]
    folders = per_host.page_folders(hosts, redact=True)
    page = _render(hosts_section(_summary(hosts, folders), Redactor(True, hosts=["fleet", *hosts])))
    assert '<a href="hosts/host-1/index.html">[HOST-2]</a>' in page and "web1" not in page and "web2" not in page


def test_one_host_has_no_hosts_section():
    assert not hosts_section(_summary(["gw"], {}), Redactor(False)).tables


def test_a_redacted_host_page_names_no_host_or_address(tmp_path):
    events = pl.DataFrame({"day": [DAY], "host": ["web2"], "country_code": ["DE"], "country_name": ["Germany"],
                           "events": [5]}, schema=empty("daily_country_counts").schema)
    daily = {name: empty(name) for name in per_host.HOST_DAILY_TABLES} | {"daily_country_counts": events}
    sshd = empty("sshd_events").vstack(pl.DataFrame([{
        "timestamp": datetime(2026, 2, 3, 4, tzinfo=timezone.utc), "host": "web2", "program": "sshd",
        "kind": "break_in_attempt", "src_ip": "203.0.113.9", "detail": "web1.example.org",
        "message": "reverse mapping checking getaddrinfo for web1.example.org [203.0.113.9] failed - POSSIBLE "
                   "BREAK-IN ATTEMPT!", "country_code": "DE", "country_name": "Germany"}],
        schema=empty("sshd_events").schema))
    reference = pl.DataFrame({"iso_a2": ["DE"], "iso_a3": ["DEU"], "name": ["Germany"], "continent": ["Europe"],
                              "lat": [51.0], "lon": [10.0]})
    view = per_host.host_history(daily, sshd, reference, [DAY], 50, 3000)
    context = PageContext(look=Look(site=Site("fleet")), direction="input", actions=("drop", "reject"),
                          scan_threshold=50, big_scan_threshold=3000, disclaimer="d", credits=[],
                          generated=datetime(2026, 2, 4, tzinfo=timezone.utc), fleet_name="fleet", redact=True,
                          hosts=("fleet", "web1", "web2"))
    written = write_host_page(UPath(tmp_path), "web2", view, empty("log_file_inventory"), context)
    page = (tmp_path / "index.html").read_text()
    assert written["figures"] == 16 and "[HOST-3]: Traffic Journal" in page and "[HOST-1]" in page
    assert "web1" not in page and "web2" not in page and "203.0.113.9" not in page and "[IP-1]" in page


def _page_inputs():
    events = pl.DataFrame({"day": [DAY], "host": ["web2"], "country_code": ["DE"], "country_name": ["Germany"],
                           "events": [5]}, schema=empty("daily_country_counts").schema)
    daily = {name: empty(name) for name in per_host.HOST_DAILY_TABLES} | {"daily_country_counts": events}
    reference = pl.DataFrame({"iso_a2": ["DE"], "iso_a3": ["DEU"], "name": ["Germany"], "continent": ["Europe"],
                              "lat": [51.0], "lon": [10.0]})
    view = per_host.host_history(daily, empty("sshd_events"), reference, [DAY], 50, 3000)
    context = PageContext(look=Look(site=Site("fleet")), direction="input", actions=("drop", "reject"),
                          scan_threshold=50, big_scan_threshold=3000, disclaimer="d", credits=[],
                          generated=datetime(2026, 2, 4, tzinfo=timezone.utc), fleet_name="fleet", redact=False,
                          hosts=("fleet", "web2"))
    return view, context


def test_pages_drawn_in_processes_equal_pages_drawn_here(tmp_path):
    view, context = _page_inputs()
    with PageWriters(pages=3, workers=2) as writers:
        assert writers.workers == 2
        for n in range(3):
            writers.write(UPath(tmp_path / f"p{n}"), "web2", view, empty("log_file_inventory"), context)
    write_host_page(UPath(tmp_path / "here"), "web2", view, empty("log_file_inventory"), context)
    here = sorted(p.relative_to(tmp_path / "here") for p in (tmp_path / "here").rglob("*") if p.is_file())
    assert len(here) == 17
    for n in range(3):
        for file in here:
            assert (tmp_path / f"p{n}" / file).read_bytes() == (tmp_path / "here" / file).read_bytes(), file


def test_a_failed_page_fails_the_writers_and_a_daemon_draws_in_turn(tmp_path, monkeypatch):
    view, context = _page_inputs()
    (tmp_path / "taken").write_text("a file where a page folder should go")
    with pytest.raises(OSError):
        with PageWriters(pages=2, workers=2) as writers:
            writers.write(UPath(tmp_path / "taken"), "web2", view, empty("log_file_inventory"), context)
            writers.write(UPath(tmp_path / "fine"), "web2", view, empty("log_file_inventory"), context)
    monkeypatch.setattr(multiprocessing, "current_process", lambda: SimpleNamespace(daemon=True))
    assert PageWriters(pages=5, workers=4).workers == 1  # a Celery worker's task may not start children
