"""Issue 15, per-day fan-out: `iptables-assets run --fan-out day` runs the per-day stage as one
run of `daily_job` per day (two at once, each in a process of its own) and publishes exactly
what the default single-run backfill publishes; the instance holds one run per day, tagged
with its partition as Dagster tags a one-partition run; the parse cache spares the later days
the files an earlier day read; bad settings stop the command before a log is read."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import Future
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest

from iptables_assets import cli, progress, settings
from iptables_assets.defs.run import summary as run_summary
from iptables_assets.defs.run.fan_out import DRIVER_PID_TAG, DayRun, _as_the_instance_says, _outcome, _run_in_pool
from iptables_assets.defs.automation import RANGE_END_TAG, RANGE_START_TAG
from iptables_assets.defs.run_health import PID_TAG
from iptables_assets.sample import generate_fleet
from published import finished_run, published

ROOT = Path(__file__).resolve().parents[2]
DAYS = ["2026-03-01", "2026-03-02", "2026-03-03"]
HOSTS = 2
FILES_PER_HOST = 3  # messages, kern.log, secure: three days hold no rotation
RUN_TIMEOUT = 420  # seconds, per `iptables-assets run`; a hung run is killed, never waited for
PARTITION_TAG = "dagster/partition"  # what Dagster tags a one-partition run with


@pytest.fixture(scope="module")
def both_runs(tmp_path_factory):
    """The same generated fleet through `iptables-assets run` and `run --fan-out day --parallel 2`,
    side by side in two processes (each with its own instance): their folders, homes, outputs, pids."""
    root = tmp_path_factory.mktemp("fan_out")
    generate_fleet(root / "logs", HOSTS, days=len(DAYS), seed=15, start=date.fromisoformat(DAYS[0]),
                   events_per_day=60, workers=1)
    modes = {"single": [], "fanned": ["--fan-out", "day", "--parallel", "2"]}
    started = {mode: _start(root / "logs", root / mode, extra) for mode, extra in modes.items()}
    return {mode: _finish(process) | {"out": root / mode, "home": root / mode / "home"}
            for mode, process in started.items()}


def _start(logs: Path, out: Path, extra: list[str]) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("IPTABLES_ASSETS_EXECUTOR", "IPTABLES_ASSETS_FAN_OUT", "DAGSTER_CELERY_"))}
    env |= {"DAGSTER_HOME": str(out / "home"), "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    return subprocess.Popen([sys.executable, "-W", "ignore", "-m", "iptables_assets.cli", "run", "--logs", str(logs),
                             "--out", str(out), *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _finish(process: subprocess.Popen) -> dict:
    """The run's output and pid, once it ended well (killed after RUN_TIMEOUT seconds)."""
    return {"output": finished_run(process, RUN_TIMEOUT).decode(), "pid": process.pid}


def _per_day_data(out: Path) -> dict[str, bytes]:
    """Every per-day asset's file of every day (events, rejects, sshd events, daily tables)."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.glob("*/20*.parquet"))}


def _summary_number(output: str, key: str) -> int:
    return int(re.search(rf"\] {key}: (\d+)$", output, re.MULTILINE).group(1))


def _daily_runs(home: Path) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return instance.get_runs(filters=dg.RunsFilter(job_name="daily_job"))


def _step_pids(home: Path, run_id: str) -> set[int]:
    """The processes the run's steps started in."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return {entry.dagster_event.pid for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)}


@pytest.mark.slow
def test_fanned_out_days_publish_the_same_bytes(both_runs):
    single, fanned = both_runs["single"], both_runs["fanned"]
    expected, got = published(single["out"]), published(fanned["out"])
    assert sum(name.endswith(".png") for name in expected) >= 9 and any(name.endswith(".csv") for name in expected)
    assert sorted(got) == sorted(expected)
    assert [name for name in expected if got[name] != expected[name]] == []
    days_data = _per_day_data(single["out"])
    assert len(days_data) >= 11 * len(DAYS) and _per_day_data(fanned["out"]) == days_data
    for key in ("events", "rejects", "sshd events", "per-day scans"):
        assert _summary_number(fanned["output"], key) == _summary_number(single["output"], key) > 0, key


@pytest.mark.slow
def test_the_instance_holds_one_run_per_day_each_in_its_own_process(both_runs):
    (single_run,) = _daily_runs(both_runs["single"]["home"])
    assert (single_run.tags[RANGE_START_TAG], single_run.tags[RANGE_END_TAG]) == (DAYS[0], DAYS[-1])
    assert PARTITION_TAG not in single_run.tags

    fanned = both_runs["fanned"]
    runs = _daily_runs(fanned["home"])
    assert sorted(run.tags.get(PARTITION_TAG) for run in runs) == DAYS
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    assert not any(RANGE_START_TAG in run.tags for run in runs)
    driver = str(fanned["pid"])
    assert {run.tags[DRIVER_PID_TAG] for run in runs} == {driver}
    for run in runs:  # every step of a day's run in the pool process that ran it, not in the driver
        assert run.tags[PID_TAG] != driver
        assert _step_pids(fanned["home"], run.run_id) == {int(run.tags[PID_TAG])}
    assert "one run of daily_job per day, 2 at once" in fanned["output"]
    assert re.search(r"per-day runs: 3/3 days \(100%\)", fanned["output"])
    assert "per-day assets done: 3 runs, one per day (ok)" in fanned["output"]


@pytest.mark.slow
def test_later_days_take_the_files_an_earlier_day_read_from_the_parse_cache(both_runs):
    files = HOSTS * FILES_PER_HOST
    single, fanned = both_runs["single"]["output"], both_runs["fanned"]["output"]
    assert _summary_number(single, "log files parsed") == files
    assert _summary_number(single, "log files from the parse cache") == 0
    parsed, linked = (_summary_number(fanned, key) for key in ("log files parsed", "log files from the parse cache"))
    # Each day's run needs every file. The two first days start together and may each read a
    # file; the third starts after one of them ended and links them all.
    assert parsed + linked == files * len(DAYS)
    assert files <= parsed <= 2 * files and linked >= files


@pytest.mark.parametrize("arguments, environ, named", [
    (["--fan-out", "day", "--parallel", "0"], {}, "--parallel 0 is not a number of per-day runs at once"),
    (["--parallel", "2"], {}, "--parallel 2 needs --fan-out day"),
    ([], {settings.ENV_FAN_OUT: "week"}, "IPTABLES_ASSETS_FAN_OUT='week' is not a fan-out mode"),
])
def test_bad_fan_out_settings_stop_before_reading_logs(tmp_path, monkeypatch, capsys, silenced_afterwards, arguments,
                                                      environ, named):
    out = _prepared(tmp_path, monkeypatch, environ)
    assert cli.main(["run", "--logs", str(tmp_path / "logs"), "--out", str(out), *arguments]) == 2
    assert f"configuration error: {named}" in capsys.readouterr().err
    assert not (out / "_cache").exists()


def test_an_unknown_fan_out_on_the_command_line_is_refused(tmp_path, monkeypatch, capsys):
    out = _prepared(tmp_path, monkeypatch, {})
    with pytest.raises(SystemExit) as stopped:
        cli.main(["run", "--logs", str(tmp_path / "logs"), "--out", str(out), "--fan-out", "week"])
    assert stopped.value.code == 2
    assert "argument --fan-out: invalid choice: 'week'" in capsys.readouterr().err
    assert not (out / "_cache").exists()


@pytest.fixture
def silenced_afterwards():
    """`run` in this process shows progress on the test's stdout, which pytest closes after the
    test: later tests of this process must not write there."""
    yield
    progress.show_on(None)


def _prepared(tmp_path: Path, monkeypatch, environ: dict[str, str]) -> Path:
    """A log folder, an instance and the environment for an in-process `run`; its output folder."""
    generate_fleet(tmp_path / "logs", 2, days=1, seed=3, events_per_day=10, workers=1)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(cli.PLANNED_EVENTS_AS_SUBSETS, "1")
    for name in (settings.ENV_EXECUTOR, settings.ENV_FAN_OUT):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return tmp_path / "out"


def test_a_failed_day_fails_the_run_and_is_named_with_its_run_id(capsys):
    died = Future()
    died.set_exception(RuntimeError("the process running it died"))
    daily = [DayRun("2026-03-01", "run-one", True), DayRun("2026-03-02", "run-two", False),
             _outcome(date(2026, 3, 3), died)]
    totals = dict.fromkeys(run_summary.PER_DAY_TOTALS, 0)
    done = SimpleNamespace(success=True, asset_materializations_for_node=lambda node: [])
    runs = {"inventory": [done], "per-day assets": daily, "whole history and figures": [done],
            "animation frames": [done], "GIFs and journal": [done]}
    summary = run_summary.summarise(totals, runs, (date(2026, 3, 1), date(2026, 3, 3)), Path("out"), {}, 1.0)
    assert summary["success"] is False and summary["per-day runs"] == 3
    assert summary["failed per-day runs"] == [
        "2026-03-02 (run run-two)", "2026-03-03 (no run: RuntimeError: the process running it died)"]
    run_summary.say_per_day_done(daily, "day")
    said = capsys.readouterr().out
    assert "per-day assets done: 3 runs, one per day (FAILED)" in said
    assert "FAILED: 2026-03-02 (run run-two)" in said


def test_a_day_whose_process_could_not_tell_is_looked_up_by_its_tags(tmp_path):
    """A broken pool loses what its processes would have said: the run a day got is found by
    the day's tags (and its outcome read), a day that got none stays without a run id."""
    @dg.asset
    def one_day() -> int:
        return 1

    identities = {date(2026, 3, day): {DRIVER_PID_TAG: "4242", "iptables_assets_test/day": str(day)} for day in (2, 3)}
    lost = "a process of the pool died (killed? out of memory?)"
    told = {day: DayRun(day.isoformat(), None, False, lost) for day in identities}
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        ran = dg.materialize([one_day], instance=instance, tags=identities[date(2026, 3, 2)])
        found = _as_the_instance_says(instance, told, identities)
    assert found[date(2026, 3, 2)] == DayRun("2026-03-02", ran.run_id, True, lost)
    assert found[date(2026, 3, 3)] == told[date(2026, 3, 3)]


def test_what_a_days_process_raises_comes_back_by_name_not_as_a_dead_pool(tmp_path, monkeypatch):
    """An error of Dagster's that does not pickle (a run config its executor refuses) is said by
    name through the pool, instead of breaking it as if the process had died."""
    out = _prepared(tmp_path, monkeypatch, {})
    (tmp_path / "home").mkdir()
    config = settings.Settings.from_environment(log_dir=str(tmp_path / "logs"), out_dir=str(out))
    bad = {"execution": {"config": {"no_such_executor_option": {}}}}
    with progress.track("per-day runs", 1, "days") as shown:
        told = _run_in_pool(config, {date(2026, 3, 1): {}}, bad, 1, shown)
    (day,) = told.values()
    assert day.run_id is None and day.success is False
    assert "DagsterInvalidConfigError" in day.failure() and "died" not in day.failure()
