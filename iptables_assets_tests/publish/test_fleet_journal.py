"""A fleet through `iptables-assets run`: the horizontal scans exported and on the journal page
exactly as the generator planted them; per-host counts equal the truth; every host has its page,
linked from the fleet page and equal to the journal of that host's logs alone; redaction hides
the hosts and sources; one host's page has no fleet section."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from iptables_assets.publish import journal
from iptables_assets.publish.fleet_section import horizontal_scans_section
from iptables_assets.publish.redaction import Redactor
from iptables_assets.sample import generate_fleet

pytestmark = pytest.mark.xdist_group("journal_run")


GENERATED = re.compile(r"<p>Made by iptables_assets on [^<]*</p>")
# A link to a source's page: numbered over the fleet's sources on a host page, over its own alone.
SOURCE_LINK = re.compile(r'<a href="(?:\.\./\.\./)?sources/\d+\.html">([^<]*)</a>')


def _run(logs: Path, out: Path, home: Path, **env: str) -> None:
    cli = Path(sys.executable).parent / "iptables-assets"
    done = subprocess.run([str(cli), "run", "--logs", str(logs), "--out", str(out)], capture_output=True, text=True,
                          env={**os.environ, "DAGSTER_HOME": str(home), **env}, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def fleet_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet_run")
    truth = generate_fleet(root / "logs", hosts=5, days=4, seed=8, start=date(2026, 5, 1), events_per_day=80,
                           workers=1)
    _run(root / "logs", root / "out", root / "home")
    return root / "out", truth


def test_drops_per_host_and_day_equal_the_truth(fleet_run):
    out, truth = fleet_run
    per_day = pl.read_parquet(out / "exports" / "drops_per_host_day.parquet")
    assert {(r["host"], r["day"].isoformat()): r["events"] for r in per_day.iter_rows(named=True)} == {
        (host, day): n for host, days in truth["input_drops_per_host_per_day"].items() for day, n in days.items()}
    summary = pl.read_parquet(out / "exports" / "host_summary.parquet").sort("host")
    assert summary["host"].to_list() == summary["page"].to_list() == sorted(truth["hosts"])
    assert summary["events"].to_list() == [sum(truth["input_drops_per_host_per_day"][h].values())
                                           for h in sorted(truth["hosts"])]
    scans = pl.read_parquet(out / "exports" / "port_scans.parquet")
    assert summary["daily_scans"].to_list() == [scans.filter(pl.col("host") == h).height for h in sorted(truth["hosts"])]


def test_the_fleet_page_links_every_host_page(fleet_run):
    out, truth = fleet_run
    page = (out / "journal" / "index.html").read_text()
    assert journal.SECTIONS["hosts"] in page and 'src="figures/drops_per_host_day.png"' in page
    assert (out / "journal" / "figures" / "drops_per_host_day.png").stat().st_size > 10_000
    for host in truth["hosts"]:
        assert f'<a href="hosts/{host}/index.html">{host}</a>' in page
        mine = (out / "journal" / "hosts" / host / "index.html").read_text()
        assert '<a href="../../index.html">Fleet: example.org</a>' in mine
        counted = sum(truth["input_drops_per_host_per_day"][host].values())
        assert f"<dt>Counted packets</dt><dd>{counted:,} of " in mine
        linked = re.findall(r'src="([^"]+)"', mine)
        assert len(linked) == 16 and all((out / "journal" / "hosts" / host / f).stat().st_size for f in linked)
        # the host's own digest opens its page (4 days: not enough history yet)
        assert ('<section id="today">\n<h2>Today</h2>\n<p>2026-05-04: 3 earlier days in the last 28, 7 needed: '
                'not enough history yet, nothing is flagged.</p>') in mine


@pytest.fixture(scope="module")
def alone_run(tmp_path_factory, fleet_run):
    """The journal of web2's logs alone, with its name as the site name."""
    root = tmp_path_factory.mktemp("alone_run")
    logs = fleet_run[0].parent / "logs" / "remote" / "web2"
    _run(logs, root / "out", root / "home", IPTABLES_ASSETS_SITE_NAME="web2")
    return root / "out" / "journal"


def test_a_host_page_is_the_journal_of_its_logs_alone(fleet_run, alone_run):
    host_page = fleet_run[0] / "journal" / "hosts" / "web2"
    mine = SOURCE_LINK.sub(r"\1", GENERATED.sub("", (host_page / "index.html").read_text()))
    mine = mine.replace('<p><a href="../../index.html">Fleet: example.org</a></p>\n', "").replace("remote/web2/", "")
    assert mine == SOURCE_LINK.sub(r"\1", GENERATED.sub("", (alone_run / "index.html").read_text()))
    assert '<a href="../../sources/' in (host_page / "index.html").read_text()  # linked to the fleet's pages
    for file in re.findall(r'src="([^"]+)"', mine):
        assert (host_page / file).read_bytes() == (alone_run / file).read_bytes(), file


def test_exports_equal_the_planted_truth(fleet_run):
    out, truth = fleet_run
    daily = pl.read_parquet(out / "exports" / "horizontal_scans.parquet")
    rows = [{"day": r["day"].isoformat(), "src_ip": r["src_ip"], "dst_port": r["dst_port"], "hosts": r["hosts"]}
            for r in daily.iter_rows(named=True)]
    assert rows == truth["horizontal_scans"] and rows
    longterm = pl.read_parquet(out / "exports" / "longterm_horizontal_scans.parquet")
    assert sorted((r["src_ip"], r["dst_port"], r["hosts"]) for r in longterm.iter_rows(named=True)) == sorted(
        (r["src_ip"], r["dst_port"], r["hosts"]) for r in truth["longterm_horizontal_scans"])
    csv = pl.read_csv(out / "exports" / "horizontal_scans.csv")
    assert csv["hosts"].to_list() == [" ".join(r["hosts"]) for r in rows]


def test_the_page_lists_sources_that_probe_many_hosts(fleet_run):
    out, truth = fleet_run
    page = (out / "journal" / "index.html").read_text()
    assert journal.SECTIONS["fleet"] in page
    planted = [p for p in truth["planted"] if p["kind"].startswith("horizontal")]
    assert planted and all(p["src_ip"] in page for p in planted)


def test_one_host_page_has_no_fleet_section(journal_run):
    out, _truth, _stdout = journal_run
    assert journal.SECTIONS["fleet"] not in (out / "journal" / "index.html").read_text()


def test_redaction_hides_hosts_and_sources():
    day = date(2026, 5, 1)
    daily = pl.DataFrame({"day": [day], "src_ip": ["203.0.113.9"], "dst_port": [22], "hosts_reached": [4],
                          "hosts": [["web1", "web2", "web3", "web4"]], "events": [9]})
    longterm = pl.DataFrame({"src_ip": ["203.0.113.9"], "dst_port": [22], "hosts_reached": [4],
                             "hosts": [["web1", "web2", "web3", "web4"]], "first_day": [day], "last_day": [day],
                             "days_active": [1], "events": [9], "max_hosts_in_a_day": [4], "slow": [False]})
    section = horizontal_scans_section(daily, longterm, 3, 3, Redactor(True))
    cells = " ".join(c for t in section.tables for row in t.rows for c in row)
    assert "web" not in cells and "203.0.113.9" not in cells and "[HOST-4]" in cells
    plain = horizontal_scans_section(daily, longterm, 3, 3, Redactor(False))
    assert "web1 web2 web3 web4" in " ".join(c for t in plain.tables for row in t.rows for c in row)
    assert not horizontal_scans_section(daily.clear(), longterm.clear(), 3, 5, Redactor(False)).tables
