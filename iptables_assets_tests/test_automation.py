"""The schedule, the new-log-files sensor (and the watching core under it) and the run chain."""

import gzip
import json
import os
import shutil
from datetime import date, datetime, timezone

import dagster as dg
import pytest

from iptables_assets.days import contiguous_ranges
from iptables_assets.defs.automation_tags import CLI_TRIGGER, DAYS_TAG, TRIGGER_TAG
from iptables_assets.defs.definitions import build_definitions
from iptables_assets.defs.resources import LogSource
from iptables_assets.defs.schedules import daily_journal_schedule
from iptables_assets.defs.sensors import CHAIN_SENSORS, new_log_files
from iptables_assets.ingest import watching
from iptables_assets.ingest.logfiles import discover
from iptables_assets.ingest.parsing import ParseConfig

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
    spans = sorted(r.tags[DAYS_TAG] for r in requests)
    assert spans == ["2025-12-27..2025-12-28", "2026-01-09..2026-01-09"]  # one run per range of days
    again = new_log_files(dg.build_sensor_context(cursor=cursor, resources=resources))
    assert sorted(r.run_key for r in again) == sorted(r.run_key for r in requests)  # repeats are idempotent


def test_schedule_asks_for_yesterday():
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 1, 2, 2, 15, tzinfo=timezone.utc))
    request = daily_journal_schedule(context)
    assert request.tags[DAYS_TAG] == "2026-01-01..2026-01-01"
    assert request.run_key == "daily:2026-01-01"


def _finished_run(logs, out, tags):
    defs = build_definitions(log_dir=str(logs), out_dir=str(out))
    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def("inventory_job").execute_in_process(instance=instance, tags=tags)
    assert result.success
    return dg.build_run_status_sensor_context(
        sensor_name=CHAIN_SENSORS[0].name,
        dagster_event=result.get_run_success_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    )


def test_chain_continues_with_the_same_days(logs, tmp_path):
    context = _finished_run(logs, tmp_path / "out", {DAYS_TAG: "2026-01-05..2026-01-06", TRIGGER_TAG: "test"})
    request = CHAIN_SENSORS[0](context)
    assert request.tags["dagster/asset_partition_range_start"] == "2026-01-05"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-01-06"
    assert request.tags[DAYS_TAG] == "2026-01-05..2026-01-06" and request.tags[TRIGGER_TAG] == "test"
    assert request.run_key == f"daily_job:{context.dagster_run.run_id}"
    assert [s.name for s in CHAIN_SENSORS] == [
        "daily_job_after_inventory_job", "history_job_after_daily_job", "frames_job_after_history_job",
        "publish_job_after_frames_job",
    ]


def test_chain_leaves_cli_runs_and_untagged_runs_alone(logs, tmp_path):
    cli = _finished_run(logs, tmp_path / "a", {DAYS_TAG: "2026-01-05..2026-01-05", TRIGGER_TAG: CLI_TRIGGER})
    assert isinstance(CHAIN_SENSORS[0](cli), dg.SkipReason)
    manual = _finished_run(logs, tmp_path / "b", {})
    assert isinstance(CHAIN_SENSORS[0](manual), dg.SkipReason)
