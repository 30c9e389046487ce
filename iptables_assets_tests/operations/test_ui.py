"""The UI end to end: `dagster dev` on 127.0.0.1, a partition materialised through the webserver's
GraphQL API, then the asset graph pages rendered by headless Chromium (DOM checked, screenshot).

Every wait polls for a state (the webserver answering GraphQL with the code location loaded, a run
reaching a terminal status, the page's DOM holding the expected nodes) under a generous deadline,
so the test holds on a loaded machine (`make test` runs it beside the other tests, `-n 2`); a
failure says what was awaited, the last state seen and the tail of the `dagster dev` log."""

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
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from iptables_assets.defs.automation import CLI_TRIGGER, TRIGGER_TAG
from iptables_assets.sample import generate_logs

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT_SCRIPT = REPO / "scripts" / "ui_screenshot.py"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LOCATION = "iptables_assets"
# Deadlines (s): generous, as they only bound a wait that returns as soon as the state is reached.
SERVER_DEADLINE = 420  # `dagster dev` up: webserver answering, code location loaded
RUN_DEADLINE = 900  # one run from submission to a terminal status
PAGE_DEADLINE = 300  # one page rendered in Chromium with the expected nodes

if CHROMIUM is None and os.environ.get("CI"):
    pytest.fail("CI must run the UI test: no chromium on PATH (see .ci/run)", pytrace=False)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ANSI = re.compile(r"\x1b\[[0-9;]*m")
ROUTINE = ("Checking for new runs for sensor", "Sensor function returned an empty result")


def _tail(text: str, lines: int = 60) -> str:
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
        return f"\n--- dagster dev ({state}) log, last lines of {self.log} ---\n{_tail(log)}"

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


@pytest.fixture
def webserver(tmp_path):
    logs, out, home = tmp_path / "logs", tmp_path / "out", tmp_path / "dagster_home"
    truth = generate_logs(logs, days=3, seed=4, start=date(2026, 1, 3), events_per_day=200)
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "IPTABLES_ASSETS_LOG_DIR": str(logs),
           "IPTABLES_ASSETS_OUT_DIR": str(out)}
    dagster = Path(sys.executable).parent / "dagster"
    for attempt in range(3):  # a free port can be taken between the probe and the bind: retry then
        port = _free_port()
        log = tmp_path / f"dagster_dev.{attempt}.log"
        # From inside DAGSTER_HOME, as `make ui` does: no "dagster.yaml in the current folder" warning.
        with open(log, "wb") as log_file:
            process = subprocess.Popen(
                [*DEFAULT_SIGINT, str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port),
                 "-w", str(REPO / "workspace.yaml")],
                cwd=home, env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        server = DagsterDev(process, port, log, truth, out)
        try:
            if not _wait_for_server(server):
                continue
            yield server
            return
        finally:
            _stop_group(process)
    pytest.fail("dagster dev could not bind a port in 3 attempts" + server.diagnostics(), pytrace=False)


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


def _run(server: DagsterDev, client, job: str, tags: dict) -> None:
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


def _render(server: DagsterDev, url: str, png: Path, expect: list[str]) -> str:
    """Open `url` in headless Chromium (scripts/ui_screenshot.py) until its DOM holds every text
    in `expect`, save a screenshot; return the DOM. The script (own process group) and its
    Chromium never outlive this call."""
    dom = png.with_suffix(".html")
    command = [sys.executable, str(SCREENSHOT_SCRIPT), url, str(png), "--dom", str(dom),
               "--timeout", str(PAGE_DEADLINE), *(arg for text in expect for arg in ("--expect", text))]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=PAGE_DEADLINE + 120)
    except subprocess.TimeoutExpired:
        process.terminate()  # the script stops its Chromium on SIGTERM
        try:
            stdout, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        server.fail(f"ui_screenshot.py did not finish within {PAGE_DEADLINE + 120} s for {url}\n"
                    f"--- its stderr ---\n{_tail(stderr, 40)}")
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if process.returncode != 0:
        server.fail(f"ui_screenshot.py exited {process.returncode} for {url} (waiting for {expect} in the DOM)\n"
                    f"--- its stderr ---\n{_tail(stderr, 40)}\n--- its stdout ---\n{_tail(stdout, 10)}")
    return dom.read_text()


def test_partition_launched_through_graphql_and_asset_graph_rendered(webserver, tmp_path):
    from dagster_graphql import DagsterGraphQLClient

    server = webserver
    client = DagsterGraphQLClient("127.0.0.1", port_number=server.port)
    quiet = {TRIGGER_TAG: CLI_TRIGGER}  # this test drives the stages itself
    day = server.truth["days"][1]
    _run(server, client, "inventory_job", quiet)
    _run(server, client, "daily_job", {**quiet, "dagster/partition": day})
    assert (server.out / "firewall_events" / f"{day}.parquet").exists()

    groups = ["ingest", "enrich", "analysis", "publish"]
    lineage = _render(server, f"{server.base}/asset-groups", tmp_path / "lineage.png", groups)
    for group in groups:
        assert group in lineage, f"group {group} not rendered on the global lineage page"
    group_page = f"{server.base}/locations/{LOCATION}/asset-groups/ingest"
    names = ["log_file_inventory", "firewall_events", "firewall_rejects", "sshd_events"]
    screenshot = tmp_path / "asset_graph.png"
    graph = _render(server, group_page, screenshot, names)
    for name in names:
        assert name in graph, f"{name} not rendered on {group_page}"
    assert screenshot.stat().st_size > 20_000, f"{screenshot} is {screenshot.stat().st_size} bytes"
