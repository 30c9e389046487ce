"""`dagster dev` as the README starts it, for the UI tests: its own process group on a free port of
127.0.0.1, the webserver's GraphQL API, polling waits that fail saying what was awaited, the last
state seen and the tail of its log, and a stop that leaves no process behind.

Every wait polls for a state under a generous deadline, so the tests hold on a loaded machine
(`make test` runs them beside the other tests)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LOCATION = "iptables_assets"
# Deadlines (s): generous, as they only bound a wait that returns as soon as the state is reached.
SERVER_DEADLINE = 420  # `dagster dev` up: webserver answering, code location loaded
RUN_DEADLINE = 900  # one run from submission to a terminal status


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ANSI = re.compile(r"\x1b\[[0-9;]*m")
ROUTINE = ("Checking for new runs for sensor", "Sensor function returned an empty result")


def tail(text: str, lines: int = 60) -> str:
    """The last lines of a log, without colour codes and the sensors' routine chatter."""
    kept = [ANSI.sub("", line) for line in text.splitlines() if not any(r in line for r in ROUTINE)]
    return "\n".join(kept[-lines:])


@dataclass
class DagsterDev:
    """A running `dagster dev` (its own process group) and what the test needs to talk about it."""

    process: subprocess.Popen
    port: int
    log: Path
    truth: dict
    out: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
        request = urllib.request.Request(f"{self.base}/graphql",
                                         data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.load(response)
        if answer.get("errors"):
            raise RuntimeError(f"GraphQL errors: {answer['errors']}")
        return answer["data"]

    def diagnostics(self) -> str:
        state = "running" if self.process.poll() is None else f"exited with status {self.process.returncode}"
        try:
            log = self.log.read_text(errors="replace")
        except OSError as error:
            log = f"(unreadable: {error})"
        return f"\n--- dagster dev ({state}) log, last lines of {self.log} ---\n{tail(log)}"

    def fail(self, message: str) -> None:
        pytest.fail(message + self.diagnostics(), pytrace=False)

    def wait_until(self, what: str, probe, seconds: float, interval: float = 2.0):
        """Poll probe() -> (done, state) until done; on timeout (or `dagster dev` gone) fail saying
        what was awaited and the last state seen. A probe raising counts as not done (the server
        may be busy); its error is the state."""
        deadline = time.monotonic() + seconds
        last = "nothing yet"
        while True:
            try:
                done, last = probe()
            except Exception as error:  # noqa: BLE001 - transient while the server starts or is loaded
                done, last = False, f"{type(error).__name__}: {error}"
            if done:
                return last
            if self.process.poll() is not None:
                self.fail(f"dagster dev exited while waiting for {what}; last state seen: {last}")
            if time.monotonic() >= deadline:
                self.fail(f"timed out after {seconds:.0f} s waiting for {what}; last state seen: {last}")
            time.sleep(interval)


LOCATION_STATUS = """
{ workspaceOrError { __typename
    ... on Workspace { locationEntries { name loadStatus
        locationOrLoadError { __typename ... on PythonError { message } } } }
    ... on PythonError { message } } }
"""


def _location_loaded(server: DagsterDev):
    data = server.graphql(LOCATION_STATUS, timeout=30)["workspaceOrError"]
    entries = {e["name"]: e for e in data.get("locationEntries", [])}
    entry = entries.get(LOCATION)
    if entry is None:
        return False, f"workspace {data}"
    loaded = entry["locationOrLoadError"] or {}
    if entry["loadStatus"] == "LOADED" and loaded.get("__typename") == "PythonError":
        server.fail(f"code location {LOCATION} failed to load: {loaded.get('message')}")
    return entry["loadStatus"] == "LOADED" and loaded.get("__typename") == "RepositoryLocation", str(entry)


def _stop_group(process: subprocess.Popen, graceful: float = 60) -> None:
    """End `dagster dev` and everything it started (webserver, daemon, code servers, run
    workers: all in its process group): SIGINT to dagster dev (it shuts its services down),
    then SIGTERM and finally SIGKILL to whatever is left in the group."""
    pgid = process.pid  # start_new_session: the group is the leader's pid

    def group_alive() -> bool:
        try:
            os.killpg(pgid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # Ctrl-C: dagster dev stops its services and exits
        try:
            process.wait(timeout=graceful)
        except subprocess.TimeoutExpired:
            pass
    for sig, seconds in ((signal.SIGTERM, 20), (signal.SIGKILL, 20)):
        if not group_alive():
            break
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + seconds
        while group_alive() and time.monotonic() < deadline:
            time.sleep(0.5)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


# exec the command with SIGINT handled by default: a pytest started in the background of a script
# inherits SIGINT ignored, and dagster dev (which maps SIGTERM to SIGINT's handler) would then
# ignore both and only stop to SIGKILL, without shutting its services down.
DEFAULT_SIGINT = [sys.executable, "-c", "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                  "os.execv(sys.argv[1], sys.argv[1:])"]


def _wait_for_server(server: DagsterDev) -> bool:
    """Webserver answering, then the code location loaded. False if the port was taken."""
    def answering():
        if server.process.poll() is not None and "address already in use" in server.log.read_text(errors="replace"):
            return True, "port taken"
        with urllib.request.urlopen(f"{server.base}/server_info", timeout=10) as response:
            return response.status == 200, f"/server_info HTTP {response.status}"

    if server.wait_until(f"the webserver to answer on {server.base}/server_info", answering,
                         SERVER_DEADLINE) == "port taken":
        return False
    server.wait_until(f"code location {LOCATION} to be loaded (GraphQL workspaceOrError)",
                      lambda: _location_loaded(server), SERVER_DEADLINE)
    return True


RUN_STATUS = """
query($runId: ID!) { runOrError(runId: $runId) { __typename ... on Run { status }
                                                 ... on PythonError { message } } }
"""
RUN_EVENTS = """
query($runId: ID!) { logsForRun(runId: $runId, limit: 2000) { __typename
    ... on EventConnection { events { __typename
        ... on MessageEvent { message level stepKey }
        ... on ErrorEvent { error { message } } } }
    ... on PythonError { message } } }
"""
DAEMONS = """
{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required lastHeartbeatTime } } } }
"""
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


def _run_events(server: DagsterDev, run_id: str) -> str:
    try:
        logs = server.graphql(RUN_EVENTS, {"runId": run_id})["logsForRun"]
    except Exception as error:  # noqa: BLE001 - diagnostics only
        return f"(run events unavailable: {error})"
    lines = []
    for event in logs.get("events", []):
        text = (event.get("error") or {}).get("message") or event.get("message") or ""
        if event.get("level") in ("ERROR", "CRITICAL") or event.get("error") or event is logs["events"][-1]:
            lines.append(f"{event['__typename']} {event.get('stepKey') or ''}: {text.strip()[:2000]}")
    return "\n".join(lines[-20:]) or str(logs)[:2000]


def _daemons(server: DagsterDev) -> str:
    try:
        statuses = server.graphql(DAEMONS)["instance"]["daemonHealth"]["allDaemonStatuses"]
        return ", ".join(f"{s['daemonType']}={'healthy' if s['healthy'] else 'UNHEALTHY'}"
                         for s in statuses if s["required"])
    except Exception as error:  # noqa: BLE001 - diagnostics only
        return f"(daemon health unavailable: {error})"


def run_job(server: DagsterDev, client, job: str, tags: dict) -> None:
    """Submit `job` through the GraphQL client, then poll its status to a terminal one."""
    try:
        run_id = client.submit_job_execution(job, repository_location_name=LOCATION, tags=tags)
    except Exception as error:  # noqa: BLE001
        server.fail(f"submitting {job} through GraphQL failed: {type(error).__name__}: {error}")

    def finished():
        status = server.graphql(RUN_STATUS, {"runId": run_id}, timeout=30)["runOrError"]
        return status.get("status") in TERMINAL, status.get("status") or str(status)

    try:
        status = server.wait_until(f"{job} run {run_id} to reach a terminal status", finished, RUN_DEADLINE)
    except pytest.fail.Exception as failure:  # add what the daemons and the run say
        raise pytest.fail.Exception(f"{failure.msg}\n--- daemons: {_daemons(server)}\n--- run events:\n"
                                    f"{_run_events(server, run_id)}", pytrace=False) from None
    if status != "SUCCESS":
        server.fail(f"{job} run {run_id} ended {status}; its errors:\n{_run_events(server, run_id)}")


@contextmanager
def running(folder: Path, logs: Path, out: Path, truth: dict | None = None):
    """`dagster dev` started as `make ui` starts it (from inside a fresh DAGSTER_HOME holding the
    repo's dagster.yaml, on these folders), up and its code location loaded; stopped afterwards."""
    home = folder / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "IPTABLES_ASSETS_LOG_DIR": str(logs),
           "IPTABLES_ASSETS_OUT_DIR": str(out), "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "0"}
    dagster = Path(sys.executable).parent / "dagster"
    for attempt in range(3):  # a free port can be taken between the probe and the bind: retry then
        port = _free_port()
        log = folder / f"dagster_dev.{attempt}.log"
        # From inside DAGSTER_HOME, as `make ui` does: no "dagster.yaml in the current folder" warning.
        with open(log, "wb") as log_file:
            process = subprocess.Popen(
                [*DEFAULT_SIGINT, str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port),
                 "-w", str(REPO / "workspace.yaml")],
                cwd=home, env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        server = DagsterDev(process, port, log, truth or {}, out)
        try:
            if not _wait_for_server(server):
                continue
            yield server
            return
        finally:
            _stop_group(process)
    pytest.fail("dagster dev could not bind a port in 3 attempts" + server.diagnostics(), pytrace=False)
