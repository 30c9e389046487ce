"""What fleet_benchmark.py needs to measure a run on two Celery workers, and a bounded run.

`bounded_run` is `iptables-assets run` into a fresh output folder and instance, killed (its whole
process group) after `timeout` seconds; `os.wait4` gives the peak RSS of its process tree.
`CeleryWorkers` is one measurement's deployment on 127.0.0.1: a fresh PostgreSQL database
(`createdb` as the `postgres` user, owned by `dagster`, dropped afterwards: runs never share
an instance and the `dagster` database other work uses is never touched), an instance with the
production profile (`deploy/production/dagster.yaml`), Redis on a free port and the two workers of
`scripts/celery_workers.sh`, stopped at the end whatever happened. While it runs, a thread reads
`VmHWM` (the peak resident set) from `/proc/<pid>/status` of each worker's processes once a
second, last just before they are stopped: each worker's peak is its largest process's.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

from harness import CLI, REPO, WORK as WORK_ROOT, load

WORK = WORK_ROOT / "fleet"
SCRIPT = REPO / "scripts" / "celery_workers.sh"
PROFILE = REPO / "deploy" / "production" / "dagster.yaml"
PG = {"DAGSTER_PG_USERNAME": "dagster", "DAGSTER_PG_PASSWORD": "dagster", "DAGSTER_PG_HOST": "127.0.0.1",
      "DAGSTER_PG_PORT": "5432"}
WORKERS = ("w1", "w2")


def wait_for_load(below: float, at_most: float) -> str:
    """Wait (at most `at_most` seconds) until the 1-minute load average is below `below`; the load then."""
    deadline = time.monotonic() + at_most
    while os.getloadavg()[0] >= below and time.monotonic() < deadline:
        time.sleep(10)
    if os.getloadavg()[0] >= below:
        print(f"load still ≥ {below} after {at_most:.0f} s: measuring anyway ({load()})", flush=True)
    return load()


def bounded_run(logs: Path, name: str, *, timeout: float, env: dict | None = None, args: Sequence[str] = (),
                profile: Path = REPO / "dagster.yaml", home: Path | None = None) -> dict:
    """`iptables-assets run` on `logs` into fresh folders `out-NAME` (and `home-NAME` unless `home`
    is given), measured: ok, wall, peak RSS of the process tree, events, stage seconds."""
    out, log = WORK / f"out-{name}", WORK / f"run-{name}.log"
    shutil.rmtree(out, ignore_errors=True)
    if home is None:
        home = WORK / f"home-{name}"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        shutil.copy(profile, home / "dagster.yaml")
    argv = [str(CLI), "run", "--logs", str(logs), "--out", str(out), *args]
    killed = threading.Event()

    def kill(pid: int) -> None:
        killed.set()
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    with open(log, "w") as handle:
        proc = subprocess.Popen(argv, stdout=handle, stderr=handle, start_new_session=True,
                                env={**os.environ, "DAGSTER_HOME": str(home), **(env or {})})
        timer = threading.Timer(timeout, kill, (proc.pid,))
        timer.start()
        started = time.perf_counter()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text()
    stages = re.search(r"stage seconds: (\{.*\})", text)
    events = re.search(r"\] events: (\d+)", text)
    return {"ok": proc.returncode == 0 and "success: True" in text and not killed.is_set(),
            "note": f"killed after {timeout:.0f} s" if killed.is_set() else "",
            "wall_s": wall, "peak_rss": usage.ru_maxrss * 1024, "events": int(events.group(1)) if events else 0,
            "stages": ast.literal_eval(stages.group(1)) if stages else {}, "log": str(log), "out": str(out)}


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        ppid = int(text[text.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(stat.parent.name))
    return children


def _vm_hwm(pid: int) -> int:
    """Peak resident set of a process in bytes (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postgres(command: str) -> None:
    """A PostgreSQL client command as the `postgres` user (root is needed, as for ci_postgres.sh)."""
    subprocess.run(["su", "postgres", "-c", command], check=True, timeout=120, stdout=subprocess.DEVNULL)


class CeleryWorkers:
    """Context manager: a fresh database, instance, Redis and two workers for one measurement."""

    def __init__(self, name: str):
        self.name, self.database = name, f"fleet_bench_{re.sub(r'[^a-z0-9]', '_', name)}_{os.getpid()}"
        self.dir, self.home = WORK / f"celery-{name}", WORK / f"home-{name}"
        port = _free_port()
        self.env = {**os.environ, **PG, "DAGSTER_PG_DB": self.database, "DAGSTER_HOME": str(self.home),
                    "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
                    "PYTHON": sys.executable, "REDIS_PORT": str(port), "IPTABLES_ASSETS_EXECUTOR": "celery",
                    "DAGSTER_CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0",
                    "DAGSTER_CELERY_BACKEND_URL": f"redis://127.0.0.1:{port}/1"}
        self.peaks: dict[int, int] = {}  # pid -> largest VmHWM seen
        self.owner: dict[int, str] = {}  # pid -> worker
        self.start_s = 0.0
        self._done = threading.Event()

    def __enter__(self) -> "CeleryWorkers":
        for folder in (self.dir, self.home):
            shutil.rmtree(folder, ignore_errors=True)
        self.home.mkdir(parents=True)
        shutil.copy(PROFILE, self.home / "dagster.yaml")
        _postgres(f"dropdb --if-exists --force {self.database} && createdb -O dagster {self.database}")
        started = time.perf_counter()
        try:
            subprocess.run(["bash", str(SCRIPT), "start", str(self.dir)], env=self.env, check=True, timeout=240,
                           stdout=subprocess.DEVNULL)
        except BaseException:
            self._stop()
            raise
        self.start_s = time.perf_counter() - started
        self._sampler = threading.Thread(target=self._sample_until_done, daemon=True)
        self._sampler.start()
        return self

    def _sample(self) -> None:
        children = _children()
        for worker in WORKERS:
            try:
                stack = [int((self.dir / f"{worker}.pid").read_text())]
            except (OSError, ValueError):
                continue
            while stack:
                pid = stack.pop()
                self.owner[pid] = worker
                self.peaks[pid] = max(self.peaks.get(pid, 0), _vm_hwm(pid))
                stack.extend(children.get(pid, ()))

    def _sample_until_done(self) -> None:
        while not self._done.wait(1.0):
            self._sample()

    def worker_peaks(self) -> dict[str, int]:
        """Each worker's peak RSS: the largest VmHWM of its processes (the pool process runs the steps)."""
        return {w: max((b for p, b in self.peaks.items() if self.owner[p] == w), default=0) for w in WORKERS}

    def tasks(self) -> dict[str, int]:
        """Steps each worker ran (its log's "succeeded" lines)."""
        counts = {}
        for worker in WORKERS:
            try:
                counts[worker] = (self.dir / f"{worker}.log").read_text().count("] succeeded in ")
            except OSError:
                counts[worker] = 0
        return counts

    def _stop(self) -> None:
        try:
            subprocess.run(["bash", str(SCRIPT), "stop", str(self.dir)], env=self.env, timeout=120,
                           stdout=subprocess.DEVNULL)
        finally:
            _postgres(f"dropdb --if-exists --force {self.database}")

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._sampler.join(timeout=10)
        self._sample()  # the last reading, just before the workers stop
        self._stop()

