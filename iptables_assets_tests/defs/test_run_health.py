"""A run whose process was killed (kill -9, the OOM killer) is marked failed at the next CLI
start or by the `dead_run_workers` sensor, so the run queue keeps launching."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from iptables_assets.defs.run_health import PID_TAG, dead_run_workers, mark_dead_runs_failed, this_process_tags
from iptables_assets.sample import generate_logs

UNFINISHED = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def _runs(home: Path, statuses) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return list(instance.get_runs(filters=dg.RunsFilter(statuses=statuses)))


def _wait_for_started_run(home: Path, process: subprocess.Popen, deadline: float) -> dg.DagsterRun:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the run ended (exit {process.returncode}) before a run could be killed mid-way")
        if (home / "dagster.yaml").exists() and (home / "storage").exists():
            started = _runs(home, [dg.DagsterRunStatus.STARTED])
            if started:
                return started[0]
        time.sleep(0.2)
    pytest.fail("no run reached STARTED within the deadline")


@pytest.mark.slow
def test_killed_cli_run_is_marked_failed_by_the_next_start(tmp_path):
    """Also: logs from 2019 need no setting (the partitions start at the logs' first day)."""
    generate_logs(tmp_path / "logs", days=3, seed=3, start=date(2019, 3, 20), events_per_day=200)
    home = tmp_path / "home"
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    cli = [str(Path(sys.executable).parent / "iptables-assets"), "run", "--logs", str(tmp_path / "logs"),
           "--out", str(tmp_path / "out")]
    process = subprocess.Popen(cli, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        run = _wait_for_started_run(home, process, time.monotonic() + 300)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert run.tags[PID_TAG] == str(process.pid)
    # Killed: nothing marked the run finished, so it would hold a slot of the run queue forever.
    assert [r.run_id for r in _runs(home, UNFINISHED)] == [run.run_id]

    again = subprocess.run([*cli, "--from", "2019-03-21", "--to", "2019-03-21"], env=env, capture_output=True,
                           text=True, timeout=900)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "days 2019-03-20..2019-03-22 in the logs; materialising 2019-03-21..2019-03-21" in again.stdout
    assert f"marked failed, its process is gone: run {run.run_id}" in again.stdout
    assert f"process {process.pid} exited" in again.stdout
    assert _runs(home, UNFINISHED) == []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE


def _started_run(instance: dg.DagsterInstance, tags: dict) -> dg.DagsterRun:
    @dg.op
    def noop():
        return None

    @dg.job
    def some_job():
        noop()

    run = instance.create_run_for_job(some_job, tags=tags)
    instance.handle_run_event(run.run_id, dg.DagsterEvent(
        event_type_value=dg.DagsterEventType.RUN_START.value, job_name=run.job_name, message="started"))
    return instance.get_run_by_id(run.run_id)


def test_sensor_marks_runs_of_dead_processes_and_leaves_live_ones(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        alive = _started_run(instance, this_process_tags())
        gone = _started_run(instance, {**this_process_tags(), PID_TAG: str(dead.pid)})
        elsewhere = _started_run(instance, {**this_process_tags(), PID_TAG: str(dead.pid),
                                            "iptables_assets/host": "another-host"})
        reused = _started_run(instance, {**this_process_tags(), "iptables_assets/process_start": "1.0"})
        result = dead_run_workers(dg.build_sensor_context(instance=instance))
        assert "marked 2 dead run(s) failed" in str(result.skip_message)
        status = {run.run_id: instance.get_run_by_id(run.run_id).status for run in (alive, gone, elsewhere, reused)}
        assert status == {
            alive.run_id: dg.DagsterRunStatus.STARTED,
            gone.run_id: dg.DagsterRunStatus.FAILURE,
            elsewhere.run_id: dg.DagsterRunStatus.STARTED,  # only its own host can tell
            reused.run_id: dg.DagsterRunStatus.FAILURE,  # the pid is ours, the process is not the run's
        }
        assert mark_dead_runs_failed(instance) == []  # nothing left to mark
