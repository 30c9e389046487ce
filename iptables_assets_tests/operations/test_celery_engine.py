"""Issue 15, on a distributed engine: a multi-day, multi-host backfill run with every step on two
Celery workers (Redis broker on 127.0.0.1, the PostgreSQL instance profile, the asset data in a
folder every worker sees), its days fanned out as one run per day (`--fan-out day`, as many at
once as workers answer), publishes exactly what the single-process run publishes, byte for byte.

The broker and workers are started and stopped by `scripts/celery_workers.sh`, as an operator
would; every wait is bounded (a lost Celery result makes a run wait for ever). Skipped locally
without `redis-server`, dagster-celery or PostgreSQL (`DAGSTER_PG_*`); CI (`CI` set) fails instead.
"""

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from iptables_assets.defs.run_health import PID_TAG
from iptables_assets.defs.run.fan_out import DRIVER_PID_TAG
from iptables_assets.sample import generate_fleet
from published import finished_run, published

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "celery_workers.sh"
PROFILE = ROOT / "deploy" / "production" / "dagster.yaml"
PG_ENV = ("DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_HOST", "DAGSTER_PG_DB", "DAGSTER_PG_PORT")
RUN_TIMEOUT = 420  # seconds, per `iptables-assets run`; a hung run is killed, never waited for

MISSING = [
    *(["redis-server (apt-get install redis-server)"] if not shutil.which("redis-server") else []),
    *(["dagster-celery (pip install '.[celery]')"] if importlib.util.find_spec("dagster_celery") is None else []),
    *[name for name in PG_ENV if not os.environ.get(name)],
]
if MISSING and os.environ.get("CI"):
    pytest.fail(f"CI must run the Celery test: {', '.join(MISSING)} missing (see .ci/run)", pytrace=False)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(MISSING), reason=f"no Celery deployment possible here: {', '.join(MISSING)} missing"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def celery_env(tmp_path):
    """The environment of the driver and of both workers: the PostgreSQL instance, the project
    importable from this tree, the broker and backend of a Redis on a free port; the broker and
    workers running (stopped afterwards, whatever happened)."""
    home = tmp_path / "dagster_home_pg"
    home.mkdir()
    shutil.copy(PROFILE, home / "dagster.yaml")
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        "PYTHON": sys.executable,
        "REDIS_PORT": str(port),
        "IPTABLES_ASSETS_EXECUTOR": "celery",
        "DAGSTER_CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0",
        "DAGSTER_CELERY_BACKEND_URL": f"redis://127.0.0.1:{port}/1",
    }
    services = tmp_path / "celery"
    try:
        subprocess.run(["bash", str(SCRIPT), "start", str(services)], env=env, check=True, timeout=180)
        yield env
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(services)], env=env, timeout=120)
        for name in ("w1", "w2", "redis"):
            assert not (services / f"{name}.pid").exists(), f"{name} was not stopped"


def _run(logs: Path, out: Path, env: dict, *extra: str) -> tuple[bytes, int]:
    """`iptables-assets run` in its own process, killed after RUN_TIMEOUT seconds: its output
    and its pid (the runs it starts carry it as a tag)."""
    process = subprocess.Popen([sys.executable, "-W", "ignore", "-m", "iptables_assets.cli", "run", "--logs", str(logs),
                                "--out", str(out), *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return finished_run(process, RUN_TIMEOUT), process.pid


def _driver_runs(instance: dg.DagsterInstance, driver_pid: int) -> list[dg.DagsterRun]:
    """The runs the driver started: its own, and the per-day runs its fan-out started in
    processes of their own."""
    return [*instance.get_runs(filters=dg.RunsFilter(tags={PID_TAG: str(driver_pid)})),
            *instance.get_runs(filters=dg.RunsFilter(tags={DRIVER_PID_TAG: str(driver_pid)}))]


def _steps_by_worker(instance: dg.DagsterInstance, runs: list[dg.DagsterRun]) -> tuple[dict[str, set[str]], list[str]]:
    """For each run: the Celery worker that took each step (from the executor's "Executing
    steps … in celery worker" events) and the steps that started in the process that ran the
    run (the driver, or a per-day run's process), which should only hand them over."""
    assert {run.job_name for run in runs} == {"inventory_job", "daily_job", "history_job", "frames_job",
                                              "publish_job"}, [run.job_name for run in runs]
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    submitters = {int(run.tags[PID_TAG]) for run in runs}
    by_worker: dict[str, set[str]] = {}
    in_driver, started = [], set()
    for run in runs:
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type_value == "ENGINE_EVENT" and "in celery worker" in (event.message or ""):
                worker = event.engine_event_data.metadata["Celery worker"].value
                by_worker.setdefault(worker, set()).add(f"{run.run_id}:{event.step_key}")
            elif event.event_type_value == "STEP_START":
                started.add(f"{run.run_id}:{event.step_key}")
                if event.pid in submitters:
                    in_driver.append(event.step_key)
    on_workers = set().union(*by_worker.values()) if by_worker else set()
    assert started and started <= on_workers, f"steps not handed to a worker: {sorted(started - on_workers)}"
    return by_worker, in_driver


def test_a_backfill_on_two_celery_workers_publishes_the_same_bytes(tmp_path, celery_env):
    logs = tmp_path / "logs"
    truth = generate_fleet(logs, 3, days=3, seed=15, events_per_day=60, workers=1)
    assert len(truth["days"]) == 3 and len(truth["per_host"]) == 3

    single_env = {key: value for key, value in os.environ.items()
                  if key not in ("IPTABLES_ASSETS_EXECUTOR", "DAGSTER_CELERY_BROKER_URL", "DAGSTER_CELERY_BACKEND_URL")}
    single_env |= {"DAGSTER_HOME": str(tmp_path / "dagster_home_single"), "PYTHONPATH": celery_env["PYTHONPATH"]}
    single, _ = _run(logs, tmp_path / "single", single_env)
    assert b"steps run on the Celery workers" not in single
    celery, driver_pid = _run(logs, tmp_path / "celery", celery_env, "--fan-out", "day")
    assert b"steps run on the Celery workers" in celery
    assert b"one run of daily_job per day, 2 at once" in celery  # one per worker that answers

    expected, got = published(tmp_path / "single"), published(tmp_path / "celery")
    assert sum(name.endswith(".png") for name in expected) >= 9 and any(name.endswith(".gif") for name in expected)
    assert sorted(got) == sorted(expected)
    assert [name for name in expected if got[name] != expected[name]] == []

    with dg.DagsterInstance.from_config(celery_env["DAGSTER_HOME"]) as instance:
        runs = _driver_runs(instance, driver_pid)
        by_worker, in_driver = _steps_by_worker(instance, runs)
    assert sorted(run.tags.get("dagster/partition") for run in runs if run.job_name == "daily_job") == truth["days"]
    assert in_driver == []
    assert sorted(name.split("@")[0] for name in by_worker) == ["w1", "w2"], by_worker
