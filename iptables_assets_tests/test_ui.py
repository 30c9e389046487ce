"""The UI end to end: `dagster dev` on 127.0.0.1, a partition materialised through the webserver's
GraphQL API, then the asset graph page rendered by headless Chromium (DOM dump and screenshot)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import pytest

from iptables_assets.defs.automation_tags import CLI_TRIGGER, TRIGGER_TAG
from iptables_assets.generate import generate_logs

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]

if CHROMIUM is None and os.environ.get("CI"):
    pytest.fail("CI must run the UI test: no chromium on PATH (see .ci/run)", pytrace=False)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {seconds} s")


@pytest.fixture
def webserver(tmp_path):
    logs, out, home = tmp_path / "logs", tmp_path / "out", tmp_path / "dagster_home"
    truth = generate_logs(logs, days=3, seed=4, start=date(2026, 1, 3), events_per_day=200)
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "IPTABLES_ASSETS_LOG_DIR": str(logs),
           "IPTABLES_ASSETS_OUT_DIR": str(out)}
    dagster = Path(sys.executable).parent / "dagster"
    process = subprocess.Popen(
        [str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
        cwd=REPO, env=env, stdout=open(tmp_path / "dagster_dev.log", "wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/server_info", 180)
        yield port, truth, out
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _run(client, job: str, tags: dict, seconds: float = 300) -> None:
    import dagster as dg

    run_id = client.submit_job_execution(job, repository_location_name="iptables_assets", tags=tags)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id)
        if status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
            assert status == dg.DagsterRunStatus.SUCCESS, f"{job} run {run_id} ended {status}"
            return
        time.sleep(2)
    raise TimeoutError(f"{job} run {run_id} did not finish within {seconds} s")


def test_partition_launched_through_graphql_and_asset_graph_rendered(webserver, tmp_path):
    from dagster_graphql import DagsterGraphQLClient

    port, truth, out = webserver
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    quiet = {TRIGGER_TAG: CLI_TRIGGER}  # this test drives the stages itself: the chain sensors stay out
    day = truth["days"][1]
    _run(client, "inventory_job", quiet)
    _run(client, "daily_job", {**quiet, "dagster/partition": day})
    assert (out / "firewall_events" / f"{day}.parquet").exists()

    base = f"http://127.0.0.1:{port}"
    lineage = _dom(f"{base}/asset-groups", tmp_path)
    for group in ("ingestion", "geo", "daily_aggregates", "history", "sshd", "figures", "animation", "journal"):
        assert group in lineage, f"group {group} not rendered on the global lineage page"
    group_page = f"{base}/locations/iptables_assets/asset-groups/ingestion"
    graph = _dom(group_page, tmp_path)
    for name in ("log_file_inventory", "firewall_events", "firewall_rejects", "geotagged_events", "sshd_events"):
        assert name in graph, f"{name} not rendered on {group_page}"
    screenshot = tmp_path / "asset_graph.png"
    subprocess.run([sys.executable, str(REPO / "scripts" / "ui_screenshot.py"), group_page, str(screenshot)],
                   check=True, capture_output=True, timeout=180)
    assert screenshot.stat().st_size > 20_000


def _dom(url: str, tmp_path: Path) -> str:
    """The page's DOM after its scripts ran (headless Chromium, a fresh profile)."""
    profile = "--user-data-dir=" + str(tmp_path / "chromium-profile")
    return subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, profile, "--virtual-time-budget=30000", "--dump-dom", url],
        capture_output=True, text=True, timeout=180,
    ).stdout
