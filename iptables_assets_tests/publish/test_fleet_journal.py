"""A fleet through `iptables-assets run`: the horizontal scans exported and on the journal page
exactly as the generator planted them; redaction hides the hosts and sources; one host's page
has no fleet section."""

from __future__ import annotations

import os
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


@pytest.fixture(scope="module")
def fleet_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet_run")
    truth = generate_fleet(root / "logs", hosts=5, days=4, seed=8, start=date(2026, 5, 1), events_per_day=80,
                           workers=1)
    env = {**os.environ, "DAGSTER_HOME": str(root / "home")}
    cli = Path(sys.executable).parent / "iptables-assets"
    done = subprocess.run([str(cli), "run", "--logs", str(root / "logs"), "--out", str(root / "out")],
                          capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root / "out", truth


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
