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
from iptables_assets.days import days_between
from iptables_assets.defs import partitions
from iptables_assets.defs.automation import RANGE_END_TAG, RANGE_START_TAG, daily_schedule, new_log_files
from iptables_assets.defs.resources import LogSource, OutputFolder
from iptables_assets.ingest.files import watching
from iptables_assets.ingest.files.logfiles import discover
from iptables_assets.ingest.records.firewall.parsing import ParseConfig
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


def test_days_to_add_fill_the_span_and_key_ranges_follow_partition_order():
    known = ["2026-01-03", "2026-01-04"]
    found = {date(2026, 1, 7), date(2025, 12, 31)}
    assert partitions.days_to_add(known, found) == ["2025-12-31", "2026-01-01", "2026-01-02", "2026-01-05",
                                                    "2026-01-06", "2026-01-07"]
    # the start date setting narrows (nothing before it), it never adds a day the logs lack
    assert partitions.days_to_add(known, found, start=date(2026, 1, 2)) == ["2026-01-02", "2026-01-05",
                                                                           "2026-01-06", "2026-01-07"]
    assert partitions.days_to_add([], []) == []
    # found may be only the ends of the logs' span: the start date cuts the span, not the ends
    assert partitions.days_to_add([], [date(2026, 1, 1), date(2026, 1, 4)], start=date(2026, 1, 3)) == [
        "2026-01-03", "2026-01-04"]
    assert partitions.days_to_add([], [date(2026, 1, 1)], start=date(2026, 1, 3)) == []
    # older days added after newer ones: a range never spans the break in the partition order
    order = ["2026-01-03", "2026-01-04", "2026-01-01", "2026-01-02"]
    wanted = {date(2026, 1, d) for d in (1, 2, 3, 4)}
    assert partitions.key_ranges(order, wanted) == [("2026-01-03", "2026-01-02")]
    assert partitions.key_ranges(order, {date(2026, 1, d) for d in (2, 3)}) == [
        ("2026-01-03", "2026-01-03"), ("2026-01-02", "2026-01-02")]
    assert partitions.key_ranges(order, {date(2026, 1, 9)}) == []


def _tick(definition, build_context, **kwargs):
    """A schedule's or sensor's tick, its context (and the resources it built) closed after: a
    context left to the garbage collector leaves a dead Dagster instance as the current one."""
    with build_context(**kwargs) as context:
        return definition.evaluate_tick(context)


def _look(resources, instance, cursor):
    """The new-logs sensor called directly (its SensorResult), its context closed after."""
    with dg.build_sensor_context(cursor=cursor, resources=resources, instance=instance) as context:
        return new_log_files(context)


def test_sensor_lists_the_logs_days_then_requests_runs_for_new_days(logs):
    resources = {"log_source": LogSource(log_dir=str(logs), timezone="UTC"),
                 "output_folder": OutputFolder(base_path=str(logs.parent / "out"))}
    with dg.DagsterInstance.ephemeral() as instance:
        with dg.build_sensor_context(resources=resources, instance=instance) as first:
            result = new_log_files(first)
        assert not result.run_requests and "first look" in result.skip_reason.skip_message
        (added,) = result.dynamic_partitions_requests
        assert added.partition_keys == [f"2026-01-0{d}" for d in range(2, 7)]  # the span, the 4th included
        instance.add_dynamic_partitions(partitions.LOG_DAYS, added.partition_keys)
        cursor = result.cursor
        assert set(json.loads(cursor)) == {"messages", "messages.1.gz"}

        december = "".join(_line(d).replace("Jan", "Dec") for d in (27, 28))
        (logs / "messages.2.gz").write_bytes(gzip.compress(december.encode()))
        os.utime(logs / "messages.2.gz", (MTIME - 10 * 86400, MTIME - 10 * 86400))
        with open(logs / "messages", "a") as handle:
            handle.write(_line(9))
        os.utime(logs / "messages", (MTIME + 60, MTIME + 60))
        result = _look(resources, instance, cursor)
        (added,) = result.dynamic_partitions_requests
        assert added.partition_keys == ["2025-12-27", "2025-12-28", "2025-12-29", "2025-12-30", "2025-12-31",
                                        "2026-01-01", "2026-01-07", "2026-01-08", "2026-01-09"]
        spans = sorted(f"{r.tags[RANGE_START_TAG]}..{r.tags[RANGE_END_TAG]}" for r in result.run_requests)
        assert spans == ["2025-12-27..2025-12-28", "2026-01-09..2026-01-09"]  # one single-run backfill per range
        assert {r.job_name for r in result.run_requests} == {None}  # the sensor's own job: ingest_job
        again = _look(resources, instance, cursor)
        assert sorted(r.run_key for r in again.run_requests) == sorted(r.run_key for r in result.run_requests)


def test_schedule_skips_logs_that_do_not_reach_yesterday(logs):
    config = Settings.from_environment(log_dir=str(logs), out_dir="out", schedule_time="03:40",
                                       timezone="Europe/Berlin")
    schedule = daily_schedule(config)
    assert schedule.cron_schedule == "40 3 * * *" and schedule.execution_timezone == "Europe/Berlin"
    with dg.instance_for_test() as instance:
        result = _tick(schedule, dg.build_schedule_context, instance=instance, resources=graph.resources(logs, "out"),
                       scheduled_execution_time=datetime(2026, 12, 2, 2, 40, tzinfo=timezone.utc))
        assert not result.run_requests and "nothing to ingest" in result.skip_message
        assert partitions.known_days(instance) == []  # no day of 2026-12 invented


def _ingest(defs, instance, first: str, last: str) -> None:
    """What the sensor's request does: one run of the ingest job for first..last."""
    partitions.add_days(instance, [date.fromisoformat(first), date.fromisoformat(last)])
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
    defs = graph.definitions(logs, tmp_path / "out", start_date="2026-01-05")  # the days 5 and 6
    # In memory: Dagster's automation tester reads the dynamic partitions again for each condition it
    # stores in the cursor (on a SQLite instance, a connection each: 3× this test's time).
    with dg.DagsterInstance.ephemeral() as instance:
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        # before logs are ingested, only what a fresh output folder lacks: the inventory, the country table
        assert {k.to_user_string() for k in defs.resolve_all_asset_keys() if first.get_num_requested(k)} == {
            "log_file_inventory", "country_reference"}
        assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
        assert dg.materialize(assets, selection=["log_file_inventory", "country_reference"],
                              resources=defs.resources, instance=instance).success
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


def test_whole_history_waits_for_every_day_of_the_logs(logs, tmp_path):
    """A day of the logs not ingested (its run failed, or not run yet): the ingested day flows
    down its daily assets, but no whole-history table, figure, film or journal is built over the
    hole; they are built once the last day is in."""
    defs = graph.definitions(logs, tmp_path / "out", start_date="2026-01-05")  # the days 5 and 6
    with dg.DagsterInstance.ephemeral() as instance:
        assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
        assert dg.materialize(assets, selection=["log_file_inventory", "country_reference"],
                              resources=defs.resources, instance=instance).success
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        _ingest(defs, instance, "2026-01-05", "2026-01-05")
        rounds, cursor = _drive(defs, instance, first.cursor)
        asked = {asset: parts for one in rounds for asset, parts in one.items()}
        assert asked and all(parts == {"2026-01-05"} for parts in asked.values()), asked
        assert not (tmp_path / "out" / "journal" / "index.html").exists()

        _ingest(defs, instance, "2026-01-06", "2026-01-06")
        rounds, _cursor = _drive(defs, instance, cursor)
        asked = {asset: parts for one in rounds for asset, parts in one.items()}
        assert asked["journal_report"] == asked["country_totals"] == {None}
        assert (tmp_path / "out" / "journal" / "index.html").exists()


def test_every_asset_says_why_it_runs():
    """Each asset below the ingest carries a labelled automation condition (what the UI shows)."""
    defs = graph.definitions("logs", "out")
    labels = {key.to_user_string(): (node.automation_condition.get_label() if node.automation_condition else None)
              for key, node in ((k, defs.resolve_asset_graph().get(k)) for k in defs.resolve_all_asset_keys())}
    assert {k for k, label in labels.items() if label is None} == {"firewall_events", "firewall_rejects", "sshd_events"}
    assert labels["log_file_inventory"] == labels["country_reference"] == "when missing"
    assert labels["daily_country_counts"] == "after its day's inputs"
    assert labels["journal_report"] == "after its inputs"
    assert labels["top_ports_frames"] == "after its day's counts, then the port list"


def test_schedule_and_sensor_carry_a_live_host_forward_a_day(logs, tmp_path):
    """A live host: its logs grow by a day. The schedule's request for a fixed tick, executed
    against the instance, ingests yesterday (added as a partition) and automation carries it to
    the journal; the next day the new-logs sensor does the same for the day its log grew by."""
    defs = graph.definitions(logs, tmp_path / "out")
    schedule, resources = defs.resolve_schedule_def("daily_journal_schedule"), defs.resources
    # Persistent: a schedule's context needs an instance reference (the ephemeral one has none).
    with dg.instance_for_test() as instance:
        before = dg.evaluate_automation_conditions(defs=defs, instance=instance)  # the daemon's first tick
        _ingest(defs, instance, "2026-01-02", "2026-01-06")
        _rounds, cursor = _drive(defs, instance, before.cursor)
        with open(logs / "messages", "a") as handle:
            handle.write(_line(7))
        jan8 = datetime(2026, 1, 8, 2, 15, tzinfo=timezone.utc)
        os.utime(logs / "messages", (jan8.timestamp() - 3600,) * 2)
        tick = _tick(schedule, dg.build_schedule_context, instance=instance, resources=resources,
                     scheduled_execution_time=jan8)
        (request,) = tick.run_requests
        assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == ("2026-01-07", "2026-01-07")
        assert request.run_key == "daily:2026-01-07"
        assert partitions.known_days(instance)[-1] == "2026-01-07"
        _ingest(defs, instance, "2026-01-07", "2026-01-07")
        rounds, cursor = _drive(defs, instance, cursor)
        asked = {asset: parts for one in rounds for asset, parts in one.items()}
        assert asked["geotagged_events"] == asked["drops_map_frames"] == {"2026-01-07"}
        assert asked["journal_report"] == {None}

        sensor = defs.resolve_sensor_def("new_log_files")
        first = _tick(sensor, dg.build_sensor_context, instance=instance, resources=resources)
        with open(logs / "messages", "a") as handle:
            handle.write(_line(8))
        os.utime(logs / "messages", (jan8.timestamp() + 86400,) * 2)
        grown = _tick(sensor, dg.build_sensor_context, instance=instance, resources=resources, cursor=first.cursor)
        (added,) = grown.dynamic_partitions_requests
        assert list(added.partition_keys) == ["2026-01-08"]
        (request,) = grown.run_requests
        assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == ("2026-01-08", "2026-01-08")
        _ingest(defs, instance, "2026-01-08", "2026-01-08")
        rounds, _cursor = _drive(defs, instance, cursor)
        asked = {asset: parts for one in rounds for asset, parts in one.items()}
        assert asked["geotagged_events"] == {"2026-01-08"} and asked["journal_report"] == {None}
        report = (tmp_path / "out" / "journal" / "index.html").read_text()
        assert "2026-01-08" in report
