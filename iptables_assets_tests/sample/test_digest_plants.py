"""Issue 25: the generator plants what the daily digest must find (`sample/digest_plants.py`), and
the digest, run on the package's own parse, geotagging and daily tables of the generated logs,
finds exactly that: every expected plant on its day with its count and baseline, no near miss,
and no planted subject on a quiet day. A rule moved just past the near misses finds them, so the
comparison can fail."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import polars as pl
import pytest

from iptables_assets.analysis import aggregates as agg
from iptables_assets.analysis.digest import ALL, DigestRule, History, digest
from iptables_assets.enrich.geo import GeoLookup, geotag
from iptables_assets.ingest.records.firewall.parsing import parse_paths
from iptables_assets.sample import generate_logs, simulate
from iptables_assets.sample.digest_plants import RULE

PLANTED = ("port_surge", "new_port", "country_surge", "new_scanner", "returning_scanner")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """35 days of 300 events with the plants: the truth and the digest's inputs, from the logs."""
    out = tmp_path_factory.mktemp("digest_plants")
    truth = generate_logs(out, days=35, seed=11, start=dt.date(2026, 1, 5), events_per_day=300, digest_plants=True)
    with GeoLookup() as lookup:
        events = geotag(parse_paths([out]).records, lookup)
    counted = agg.counted(events, agg.TrafficFilter())
    summary = agg.source_summary(counted)
    history = History(
        days=[dt.date.fromisoformat(d) for d in truth["days"]],
        port_counts=agg.port_counts(counted), country_counts=agg.country_counts(counted),
        source_summary=summary, port_scans=agg.daily_port_scans(summary, agg.DEFAULT_SCAN_THRESHOLD),
        sshd_kinds=pl.DataFrame(schema={"day": pl.Date, "host": pl.String, "kind": pl.String, "events": pl.Int64}),
    )
    return truth, history


def _digests(history: History, rule: DigestRule) -> pl.DataFrame:
    return pl.concat([digest(day, history, rule) for day in history.days]).filter(pl.col("scope") == ALL)


def _found(digests: pl.DataFrame, subjects: list[str]) -> set[tuple[str, str, str]]:
    """(day, finding, subject) of the digest's planted kinds naming a planted subject."""
    mine = digests.filter(pl.col("subject").is_in(subjects) & pl.col("finding").is_in(PLANTED))
    return {(str(d), f, s) for d, f, s in mine.select("day", "finding", "subject").iter_rows()}


def test_the_rule_restated_by_the_generator_is_the_digests():
    assert RULE == {k: v for k, v in dataclasses.asdict(DigestRule()).items() if k in RULE}


def test_the_digest_finds_exactly_the_plants(planted):
    truth, history = planted
    plants, subjects = truth["digest"]["plants"], truth["digest"]["subjects"]
    digests = _digests(history, DigestRule())
    expected = {(p["day"], p["finding"], p["subject"]) for p in plants if p["expected"]}
    assert _found(digests, subjects) == expected  # near misses and quiet days included: nothing else
    for p in plants:
        if p["expected"]:
            day = dt.date.fromisoformat(p["day"])
            row = digests.filter((pl.col("day") == day) & (pl.col("finding") == p["finding"])
                                 & (pl.col("subject") == p["subject"])).row(0, named=True)
            assert (row["events"], row["baseline_median"], row["baseline_mad"]) == (
                p["events"], p.get("baseline_median"), p.get("baseline_mad")), p


def test_quiet_days_name_no_planted_subject(planted):
    truth, history = planted
    quiet = {dt.date.fromisoformat(d) for d in truth["digest"]["quiet_days"]}
    assert len(quiet) == 35 - len({p["day"] for p in truth["digest"]["plants"]})
    digests = _digests(history, DigestRule())
    named = digests.filter(pl.col("day").is_in(quiet) & pl.col("subject").is_in(truth["digest"]["subjects"]))
    assert named.height == 0, named


def test_the_planted_counts_are_the_stored_counts(planted):
    """Near misses included: each plant's count (and baseline) is what the daily tables hold."""
    truth, history = planted
    ports = history.port_counts.with_columns(
        (pl.col("dst_port").cast(pl.String) + "/" + pl.col("proto")).alias("subject"))
    countries = history.country_counts.with_columns(
        (pl.col("country_code") + " (" + pl.col("country_name") + ")").alias("subject"))
    scans = history.port_scans.rename({"src_ip": "subject", "distinct_ports": "events"})
    tables = {"port_surge": ports, "new_port": ports, "country_surge": countries, "new_scanner": scans,
              "returning_scanner": scans}
    for p in truth["digest"]["plants"]:
        table = tables[p["finding"]]
        day = dt.date.fromisoformat(p["day"])
        today = table.filter((pl.col("day") == day) & (pl.col("subject") == p["subject"]))["events"].sum()
        assert today == p["events"], p
        if "gap_days" in p:
            earlier = table.filter((pl.col("day") < day) & (pl.col("subject") == p["subject"]))["day"].max()
            assert (day - earlier).days == p["gap_days"], p


@pytest.mark.parametrize("moved, finding, which", [
    ({"ratio": 2.4}, "port_surge", lambda p: p["events"] >= RULE["min_events"]),  # the twin: 2.5 times
    ({"min_events": 45}, "port_surge", lambda p: p["events"] < RULE["min_events"]),  # the quiet port: 45
    ({"new_port_min": 9}, "new_port", lambda p: p["events"] == 9),
    ({"return_gap_days": 6}, "returning_scanner", lambda p: True),
    ({"spread": 2.0}, "country_surge", lambda p: True),
])
def test_a_rule_moved_past_a_near_miss_finds_it(planted, moved, finding, which):
    """The comparison is sharp: each near miss is found as soon as the rule gives way where it misses."""
    truth, history = planted
    [miss] = [p for p in truth["digest"]["plants"] if not p["expected"] and p["finding"] == finding and which(p)]
    found = _found(_digests(history, dataclasses.replace(DigestRule(), **moved)), truth["digest"]["subjects"])
    assert (miss["day"], finding, miss["subject"]) in found, miss


def test_plants_are_off_by_default_and_leave_the_rest_unchanged():
    plain = simulate(30, seed=2, events_per_day=100)
    with_plants = simulate(30, seed=2, events_per_day=100, digest_plants=True)
    assert plain.digest is None and with_plants.digest is not None
    assert with_plants.events[:len(plain.events)] == plain.events
    assert all(e.origin == "digest" or e.origin.startswith("digest_") for e in with_plants.events[len(plain.events):])
    with pytest.raises(ValueError, match="30 days or more"):
        simulate(29, seed=2, events_per_day=100, digest_plants=True)


def test_cli_generate_digest_plants(tmp_path, capsys):
    from iptables_assets import cli

    args = ["generate", "--out", str(tmp_path), "--events-per-day", "50", "--digest-plants"]
    assert cli.main([*args, "--days", "29"]) == 2
    assert "--days 30 or more" in capsys.readouterr().err
    assert cli.main([*args, "--days", "30", "--hosts", "2"]) == 2
    assert cli.main([*args, "--days", "30"]) == 0
    truth = json.loads((tmp_path / "ground_truth.json").read_text())
    assert truth["params"]["digest_plants"] is True and len(truth["digest"]["plants"]) == 12
