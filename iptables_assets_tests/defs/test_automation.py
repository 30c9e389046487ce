"""The schedule, the new-log-files sensor (and the watching core under it) and the declarative
automation that carries new days down the graph."""

import gzip
import json
import os
import shutil
from datetime import date, datetime, timezone

import dagster as dg
import pytest

import graph
from iptables_assets.days import contiguous_ranges, days_between
from iptables_assets.defs.automation import RANGE_END_TAG, RANGE_START_TAG, daily_schedule, new_log_files
from iptables_assets.defs.resources import LogSource
from iptables_assets.ingest import watching
from iptables_assets.ingest.logfiles import discover
from iptables_assets.ingest.parsing import ParseConfig
from iptables_assets.settings import Settings

MTIME = datetime(2026, 1, 10, 12, tzinfo=timezone.utc).timestamp()
CONFIG = ParseConfig(tz="UTC")


def _line(day: int, text: str = "kernel: IN=eth0 OUT= SRC=203.0.113.5 DST=192.0.2.1 PROTO=TCP SPT=1 DPT=22") -> str:
    return f"Jan {day:2d} 10:00:00 gw01 {text}\n"


def _write(path, lines, mtime=MTIME):
    path.write_text("".join(lines))
    os.utime(path, (mtime, mtime))


@pytest.fixture
def logs(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    _write(folder / "messages", [_line(5), _line(6)])
    rotated = folder / "messages.1.gz"
    rotated.write_bytes(gzip.compress("".join([_line(2), _line(3)]).encode()))
    os.utime(rotated, (MTIME - 5 * 86400, MTIME - 5 * 86400))
    return folder


def test_first_look_sees_everything_then_nothing(logs):
    state, days, changed = watching.look(discover(logs), {}, CONFIG)
    assert sorted(changed) == ["messages", "messages.1.gz"]
    assert days == {date(2026, 1, d) for d in (2, 3, 5, 6)}
    assert watching.look(discover(logs), state, CONFIG)[1:] == (set(), [])


def test_appended_lines_touch_only_their_days(logs):
    state, _days, _changed = watching.look(discover(logs), {}, CONFIG)
    with open(logs / "messages", "a") as handle:
        handle.write(_line(9))
    os.utime(logs / "messages", (MTIME + 60, MTIME + 60))
    _state, days, changed = watching.look(discover(logs), state, CONFIG)
    assert (days, changed) == ({date(2026, 1, 9)}, ["messages"])


def test_rotation_of_known_content_touches_nothing(logs):
    state, _days, _changed = watching.look(discover(logs), {}, CONFIG)
    shutil.move(logs / "messages", logs / "messages.0")
    _write(logs / "messages", [])
    _state, days, changed = watching.look(discover(logs), state, CONFIG)
    assert (days, changed) == (set(), [])


def test_contiguous_ranges():
    days = {date(2026, 1, d) for d in (1, 2, 3, 7, 9, 10)}
    assert contiguous_ranges(days) == [
        (date(2026, 1, 1), date(2026, 1, 3)), (date(2026, 1, 7), date(2026, 1, 7)), (date(2026, 1, 9), date(2026, 1, 10)),
    ]


def test_sensor_records_then_requests_runs_for_new_days(logs):
    resources = {"log_source": LogSource(log_dir=str(logs), timezone="UTC")}
    first = dg.build_sensor_context(resources=resources)
    result = new_log_files(first)
    assert isinstance(result, dg.SkipReason) and "first look" in result.skip_message
    cursor = first.cursor
    assert set(json.loads(cursor)) == {"messages", "messages.1.gz"}

    december = "".join(_line(d).replace("Jan", "Dec") for d in (27, 28))
    (logs / "messages.2.gz").write_bytes(gzip.compress(december.encode()))
    os.utime(logs / "messages.2.gz", (MTIME - 10 * 86400, MTIME - 10 * 86400))
    with open(logs / "messages", "a") as handle:
        handle.write(_line(9))
    os.utime(logs / "messages", (MTIME + 60, MTIME + 60))
    requests = new_log_files(dg.build_sensor_context(cursor=cursor, resources=resources))
    spans = sorted(f"{r.tags[RANGE_START_TAG]}..{r.tags[RANGE_END_TAG]}" for r in requests)
    assert spans == ["2025-12-27..2025-12-28", "2026-01-09..2026-01-09"]  # one single-run backfill per range
    assert {r.job_name for r in requests} == {None}  # the sensor's own job: ingest_job
    again = new_log_files(dg.build_sensor_context(cursor=cursor, resources=resources))
    assert sorted(r.run_key for r in again) == sorted(r.run_key for r in requests)  # repeats are idempotent


def test_schedule_asks_for_yesterday_at_the_configured_time():
    config = Settings.from_environment(log_dir="logs", out_dir="out", schedule_time="03:40",
                                       timezone="Europe/Berlin")
    schedule = daily_schedule(config)
    assert schedule.cron_schedule == "40 3 * * *" and schedule.execution_timezone == "Europe/Berlin"
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 1, 2, 2, 15, tzinfo=timezone.utc))
    request = schedule(context)
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == ("2026-01-01", "2026-01-01")
    assert request.run_key == "daily:2026-01-01"


def _ingest(defs, instance, first: str, last: str) -> None:
    """What the sensor's request does: one run of the ingest job for first..last."""
    run = defs.resolve_job_def("ingest_job").execute_in_process(
        instance=instance, tags={RANGE_START_TAG: first, RANGE_END_TAG: last})
    assert run.success
    days = {e.event_specific_data.materialization.partition for e in run.get_asset_materialization_events()
            if e.asset_key == dg.AssetKey("firewall_events")}
    assert days == {str(d) for d in days_between(date.fromisoformat(first), date.fromisoformat(last))}


def _drive(defs, instance, cursor) -> tuple[list[dict[str, set]], object]:
    """Act as the automation daemon until it asks for nothing: evaluate, then materialise what
    was asked (a range of days as one run); the requests of each round and the last cursor."""
    rounds = []
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    for _ in range(10):
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        cursor = result.cursor
        asked = {k.to_user_string(): result.get_requested_partitions(k) for k in defs.resolve_all_asset_keys()
                 if result.get_num_requested(k)}
        if not asked:
            return rounds, cursor
        rounds.append(asked)
        daily = [k for k, parts in asked.items() if parts != {None}]
        whole = [k for k, parts in asked.items() if parts == {None}]
        if daily:
            days = sorted(set().union(*(asked[k] for k in daily)))
            tags = {RANGE_START_TAG: days[0], RANGE_END_TAG: days[-1]}
            assert dg.materialize(assets, selection=daily, resources=defs.resources, instance=instance,
                                  tags=tags).success
        if whole:
            assert dg.materialize(assets, selection=whole, resources=defs.resources, instance=instance).success
    raise AssertionError(f"automation did not settle: {rounds}")


def _round_of(rounds: list[dict[str, set]], asset: str) -> int:
    (found,) = [i for i, asked in enumerate(rounds) if asset in asked]
    return found


def test_ingested_days_flow_down_by_automation_and_nothing_else_runs(logs, tmp_path):
    """The sensor's request (one run for a range of days) ingests those days; declarative
    automation then carries exactly those days down to the journal, each asset once, in
    dependency order (the top-256 frames after the port list that includes them), and asks
    for nothing more; a day ingested again flows down alone."""
    defs = graph.definitions(logs, tmp_path / "out", start_date="2025-12-20")
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert first.total_requested == 0  # nothing is asked for before logs are ingested
        _ingest(defs, instance, "2026-01-05", "2026-01-06")
        rounds, cursor = _drive(defs, instance, first.cursor)
        asked = {}
        for one in rounds:
            for asset, parts in one.items():
                assert asset not in asked, f"{asset} asked twice: {rounds}"
                asked[asset] = parts
        below = {k.to_user_string() for k in defs.resolve_all_asset_keys()} - {
            "log_file_inventory", "firewall_events", "firewall_rejects", "sshd_events", "country_reference"}
        assert set(asked) == below
        assert asked["geotagged_events"] == asked["top_ports_frames"] == {"2026-01-05", "2026-01-06"}
        assert _round_of(rounds, "top_ports_frames") > _round_of(rounds, "port_totals")
        assert _round_of(rounds, "top_ports_animation") > _round_of(rounds, "top_ports_frames")

        _ingest(defs, instance, "2026-01-06", "2026-01-06")
        rounds, _cursor = _drive(defs, instance, cursor)
        asked = {asset: parts for one in rounds for asset, parts in one.items()}
        assert asked["geotagged_events"] == asked["top_ports_frames"] == {"2026-01-06"}
        assert asked["journal_report"] == asked["country_totals"] == {None}


def test_every_asset_says_why_it_runs():
    """Each asset below the ingest carries a labelled automation condition (what the UI shows)."""
    defs = graph.definitions("logs", "out")
    labels = {key.to_user_string(): (node.automation_condition.get_label() if node.automation_condition else None)
              for key, node in ((k, defs.resolve_asset_graph().get(k)) for k in defs.resolve_all_asset_keys())}
    assert {k for k, label in labels.items() if label is None} == {
        "log_file_inventory", "firewall_events", "firewall_rejects", "sshd_events", "country_reference"}
    assert labels["daily_country_counts"] == "after its day's inputs"
    assert labels["journal_report"] == "after its inputs"
    assert labels["top_ports_frames"] == "after its day's counts, then the port list"
