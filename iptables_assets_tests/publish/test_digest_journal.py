"""Issue 25, the daily digest through the whole run: a digest per stored day (the first days saying
there is not enough history), each finding true to the rule on the stored daily tables, the
partition's metadata in the UI, the journal opening with "Today" and every day under "Day by day",
the export; addresses redacted when asked."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from iptables_assets.analysis.digest import ALL, DigestRule
from iptables_assets.publish.digest_section import digest_sections
from iptables_assets.publish.journal import Section
from iptables_assets.publish.redaction import Redactor

pytestmark = pytest.mark.xdist_group("journal_run")
RULE = DigestRule()


def _stored(out: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(sorted((out / name).glob("*.parquet")))


def test_every_day_has_its_digest_and_the_first_days_wait_for_history(journal_run):
    out, truth, _said = journal_run
    digests = _stored(out, "daily_digest")
    days = sorted(date.fromisoformat(d) for d in truth["days"])
    assert sorted(date.fromisoformat(p.stem) for p in (out / "daily_digest").glob("*.parquet")) == days
    waiting = digests.filter(pl.col("finding") == "not_enough_history").sort("day")
    assert waiting["day"].to_list() == days[:RULE.min_history_days]
    assert waiting["history_days"].to_list() == list(range(RULE.min_history_days))
    assert waiting["note"][0] == "0 earlier days in the last 28, 7 needed: not enough history yet, nothing is flagged"
    assert digests.filter(pl.col("day") > days[RULE.min_history_days - 1])["finding"].is_in(
        ["not_enough_history"]).sum() == 0


def _counts(out: Path) -> pl.DataFrame:
    ports = _stored(out, "daily_port_counts")
    return ports.group_by("day", "proto", "dst_port").agg(pl.col("events").sum())


def _rule_holds(counts: pl.DataFrame, day: date, proto: str, port: int | None, days: list[date]) -> bool:
    """The surge rule recomputed here, with plain Python, from the stored counts."""
    window = [d for d in days if day - timedelta(days=RULE.window_days) <= d < day]
    mine = counts.filter((pl.col("proto") == proto) & (pl.col("dst_port").eq_missing(port)))
    per_day = dict(zip(mine["day"].to_list(), mine["events"].to_list()))
    values = sorted(per_day.get(d, 0) for d in window)
    median = (values[(len(values) - 1) // 2] + values[len(values) // 2]) / 2
    deviations = sorted(abs(v - median) for v in values)
    mad = (deviations[(len(deviations) - 1) // 2] + deviations[len(deviations) // 2]) / 2
    today = per_day.get(day, 0)
    noise = max(1.4826 * mad, math.sqrt(median + 1))
    return today >= RULE.min_events and today >= RULE.ratio * median and today - median > RULE.spread * noise


def test_port_surges_are_exactly_the_ports_the_rule_picks_on_the_stored_counts(journal_run):
    out, truth, _said = journal_run
    counts, digests = _counts(out), _stored(out, "daily_digest")
    days = sorted(date.fromisoformat(d) for d in truth["days"])
    earlier: set = set()
    for day in days:
        today = counts.filter(pl.col("day") == day)
        if day > days[RULE.min_history_days - 1]:
            expected = set()
            for proto, port, events in today.select("proto", "dst_port", "events").iter_rows():
                first = (proto, port) not in earlier and port is not None
                if not (first and events >= RULE.new_port_min) and _rule_holds(counts, day, proto, port, days):
                    expected.add(f"{port}/{proto}" if port is not None else proto)
            found = digests.filter((pl.col("day") == day) & (pl.col("finding") == "port_surge")
                                   & (pl.col("scope") == ALL))["subject"].to_list()
            assert set(found) == expected, day
        earlier |= set(today.select("proto", "dst_port").iter_rows())


def test_each_partition_shows_its_findings_in_the_ui(journal_run, monkeypatch):
    out, truth, _said = journal_run
    digests = _stored(out, "daily_digest")
    monkeypatch.setenv("DAGSTER_HOME", str(out.parent / "home"))  # the run's instance
    with dg.DagsterInstance.get() as instance:
        events = instance.fetch_materializations(dg.AssetKey("daily_digest"), limit=1000).records
    by_day = {e.partition_key: e.asset_materialization.metadata for e in events}
    assert sorted(by_day) == sorted(truth["days"])
    for key, meta in by_day.items():
        rows = digests.filter((pl.col("day") == date.fromisoformat(key)) & (pl.col("finding") != "not_enough_history"))
        assert meta["findings"].value == rows.height
        text = meta["digest"].value
        assert all(subject in text for subject in rows["subject"].to_list())
        assert (text == "Nothing stands out.") == (digests.filter(pl.col("day") == date.fromisoformat(key)).height == 0)


def test_the_journal_opens_with_today_and_keeps_every_day(journal_run):
    out, truth, _said = journal_run
    page = (out / "journal" / "index.html").read_text()
    newest = max(truth["days"])
    assert page.index('<section id="today">') < page.index('<section id="period">')
    today = page[page.index('<section id="today">'):page.index('<section id="period">')]
    assert f"<p>{newest}: " in today
    digests = _stored(out, "daily_digest")
    flagged = sorted({str(d) for d in digests.filter(pl.col("finding") != "not_enough_history")["day"].to_list()})
    by_day = page[page.index('<section id="digest">'):]
    by_day = by_day[:by_day.index("</section>")]
    assert [d for d in flagged if f"<caption>{d}</caption>" in by_day] == flagged
    quiet = sorted(set(truth["days"]) - {str(d) for d in digests["day"].to_list()})
    assert quiet and all(f"<td>{d}</td><td>Nothing stands out against the days before.</td>" in by_day
                         for d in quiet)
    exported = pl.read_csv(out / "exports" / "daily_digest.csv")
    assert exported.height == digests.height


def test_redacted_digest_names_no_address():
    findings = pl.DataFrame({
        "day": [date(2026, 1, 29)] * 3, "scope": [ALL] * 3,
        "finding": ["new_top_source", "returning_scanner", "port_surge"],
        "subject": ["203.0.113.77", "2001:db8::5", "5555/tcp"], "events": [300, 120, 900],
        "baseline_median": [None, None, 12.0], "baseline_mad": [None, None, 3.0], "history_days": [28] * 3,
        "note": ["300 drops, #1 today, not seen in the 28 days before",
                 "scanned 120 ports: back after 9 days (last scan 2026-01-20)",
                 "900 drops; median of the 28 days before 12 (MAD 3)"],
    })
    today, days = digest_sections(findings, [date(2026, 1, 28), date(2026, 1, 29)], RULE, Redactor(True))
    cells = [c for section in (today, days) for t in section.tables for row in t.rows for c in row]
    assert "203.0.113.77" not in " ".join(cells) and "2001:db8::5" not in " ".join(cells)
    assert "[IP-1]" in cells and "[IP-2]" in cells and "5555/tcp" in cells
    assert today.paragraphs == ["2026-01-29: 1 port far above its baseline, 1 returning scanner, "
                                "1 new source among the top."]
    assert isinstance(days, Section) and [t.title for t in days.tables] == ["Every day, newest first", "2026-01-29"]
    assert days.tables[0].rows == [["2026-01-29", "1 port far above its baseline, 1 returning scanner, 1 new source "
                                                  "among the top."],
                                   ["2026-01-28", "Nothing stands out against the days before."]]
