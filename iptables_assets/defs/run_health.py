"""Runs whose process died (SIGKILL, the OOM killer, a reboot) are marked failed, so that the
run queue, which counts every unfinished run against its limit, keeps launching.

Dagster's own run monitoring can only ask run launchers that report worker health, and the
default launcher does not; a run executed in the `iptables-assets run` process is not known
to any launcher at all. So each run records which process works on it: the CLI tags its runs
with its host, pid and process start time; the default launcher's run worker logs its pid in
the run's first engine event ("Started process for run (pid: N)"). A run whose process is
gone, or whose pid now belongs to a process started after the run, is dead.
"""

from __future__ import annotations

import os
import re
import socket

import dagster as dg
import psutil

HOST_TAG = "iptables_assets/host"
PID_TAG = "iptables_assets/pid"
PROCESS_START_TAG = "iptables_assets/process_start"
_UNFINISHED = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
_WORKER_PID = re.compile(r"Started process for run \(pid: (\d+)\)")
# A run worker starts a moment after its run is created; a process newer than this is a reused pid.
_START_SLACK_SECONDS = 120.0


def this_process_tags() -> dict[str, str]:
    """Tags that tell a later look which process runs a run started here."""
    return {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(os.getpid()),
        PROCESS_START_TAG: f"{psutil.Process().create_time():.3f}",
    }


def mark_dead_runs_failed(instance: dg.DagsterInstance) -> list[str]:
    """Mark every unfinished run of this host whose process is gone as failed; returns one
    line per run marked, saying which run and which process."""
    marked = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=_UNFINISHED)):
        run = record.dagster_run
        reason = _why_dead(instance, run, record.start_time or record.create_timestamp.timestamp())
        if reason:
            instance.report_run_failed(run, message=f"run worker is gone ({reason}); marked failed so the queue moves on")
            marked.append(f"run {run.run_id} of {run.job_name}: {reason}")
    return marked


def _why_dead(instance: dg.DagsterInstance, run: dg.DagsterRun, started: float) -> str | None:
    """Why the run's process is known to be dead, or None (alive, or not ours to judge)."""
    tags = run.tags
    if tags.get(HOST_TAG, socket.gethostname()) != socket.gethostname():
        return None  # another machine's process: only that machine can tell
    if PID_TAG in tags:
        pid, born = int(tags[PID_TAG]), float(tags.get(PROCESS_START_TAG, "nan"))
        return _process_gone(pid, lambda created: abs(created - born) > 1.0)
    pid = _launched_worker_pid(instance, run.run_id)
    if pid is None:
        return None
    return _process_gone(pid, lambda created: created > started + _START_SLACK_SECONDS)


def _process_gone(pid: int, reused) -> str | None:
    """'process N exited' / 'pid N now belongs to another process', or None while it runs."""
    try:
        process = psutil.Process(pid)
        created, status = process.create_time(), process.status()
    except psutil.NoSuchProcess:
        return f"process {pid} exited"
    except psutil.Error:
        return None
    if status == psutil.STATUS_ZOMBIE:
        return f"process {pid} exited"
    if reused(created):
        return f"pid {pid} now belongs to another process"
    return None


def _launched_worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid a run worker started by Dagster's default launcher logged, if any."""
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        found = _WORKER_PID.search(entry.user_message or "")
        if found:
            return int(found.group(1))
    return None


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks runs whose process died (killed, out of memory) as failed, so the run queue "
                "keeps launching. Runs of other hosts are left to them.",
)
def dead_run_workers(context: dg.SensorEvaluationContext):
    marked = mark_dead_runs_failed(context.instance)
    for line in marked:
        context.log.warning(line)
    return dg.SkipReason(f"marked {len(marked)} dead run(s) failed" if marked else "every unfinished run has a live process")


# Errors that say what failed in their own words (a write that names its file, a step's own Failure).
_TELLING = ("CannotWrite", "Failure")


def first_failure(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """What stopped a run, in one line: the cause of its first failed step (the error that says
    it in its own words, else the innermost), else of the run itself."""
    for of_type in (dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE):
        for record in instance.all_logs(run_id, of_type=of_type):
            event = record.dagster_event
            error = getattr(event.event_specific_data, "error", None) if event else None
            if error is not None:
                return _in_one_line(error)
            if record.message:
                return record.message.splitlines()[0]
    return None


def _in_one_line(error) -> str:
    """A SerializableErrorInfo chain in one line: the first error of a telling kind, else the innermost."""
    chain = [error]
    while chain[-1].cause is not None:
        chain.append(chain[-1].cause)
    chosen = next((e for e in chain if e.cls_name in _TELLING), chain[-1])
    text = (chosen.message or chosen.cls_name or "").strip().splitlines()
    first = text[0] if text else chosen.cls_name or "unknown error"
    kind, said, rest = first.partition(": ")  # `module.Class: what it says`
    return rest if said and " " not in kind else first
