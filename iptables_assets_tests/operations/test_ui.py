"""The UI end to end: `dagster dev` on 127.0.0.1, a partition materialised through the webserver's
GraphQL API, then the asset graph pages rendered by headless Chromium (DOM checked, screenshot).

Every wait polls for a state (the webserver answering GraphQL with the code location loaded, a run
reaching a terminal status, the page's DOM holding the expected nodes) under a generous deadline,
so the test holds on a loaded machine (`make test` runs it beside the other tests); a
failure says what was awaited, the last state seen and the tail of the `dagster dev` log."""

import os
import shutil
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from dagster_dev import LOCATION, REPO, DagsterDev, run_job, running, tail
from iptables_assets.defs.automation import CLI_TRIGGER, TRIGGER_TAG
from iptables_assets.sample import generate_logs

SCREENSHOT_SCRIPT = REPO / "scripts" / "ui_screenshot.py"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PAGE_DEADLINE = 300  # one page rendered in Chromium with the expected nodes

if CHROMIUM is None and os.environ.get("CI"):
    pytest.fail("CI must run the UI test: no chromium on PATH (see .ci/run)", pytrace=False)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH")]


@pytest.fixture
def webserver(tmp_path):
    logs, out = tmp_path / "logs", tmp_path / "out"
    truth = generate_logs(logs, days=3, seed=4, start=date(2026, 1, 3), events_per_day=200)
    with running(tmp_path, logs, out, truth) as server:
        yield server


def _render(server: DagsterDev, url: str, png: Path, expect: list[str], size: tuple[int, int] = (1600, 1000)) -> str:
    """Open `url` in headless Chromium (scripts/ui_screenshot.py) until its DOM holds every text
    in `expect`, save a screenshot; return the DOM. The script (own process group) and its
    Chromium never outlive this call."""
    dom = png.with_suffix(".html")
    command = [sys.executable, str(SCREENSHOT_SCRIPT), url, str(png), "--dom", str(dom),
               "--timeout", str(PAGE_DEADLINE), "--width", str(size[0]), "--height", str(size[1]),
               *(arg for text in expect for arg in ("--expect", text))]
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
                    f"--- its stderr ---\n{tail(stderr, 40)}")
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if process.returncode != 0:
        server.fail(f"ui_screenshot.py exited {process.returncode} for {url} (waiting for {expect} in the DOM)\n"
                    f"--- its stderr ---\n{tail(stderr, 40)}\n--- its stdout ---\n{tail(stdout, 10)}")
    return dom.read_text()


def test_partition_launched_through_graphql_and_asset_graph_rendered(webserver, tmp_path):
    from dagster_graphql import DagsterGraphQLClient

    server = webserver
    client = DagsterGraphQLClient("127.0.0.1", port_number=server.port)
    quiet = {TRIGGER_TAG: CLI_TRIGGER}  # this test drives the stages itself
    day = server.truth["days"][1]
    run_job(server, client, "inventory_job", quiet)
    run_job(server, client, "daily_job", {**quiet, "dagster/partition": day})
    assert (server.out / "firewall_events" / f"{day}.parquet").exists()

    groups = ["ingest", "enrich", "analysis", "publish"]
    lineage = _render(server, f"{server.base}/asset-groups", tmp_path / "lineage.png", groups)
    for group in groups:
        assert group in lineage, f"group {group} not rendered on the global lineage page"
    group_page = f"{server.base}/locations/{LOCATION}/asset-groups/ingest"
    names = ["log_file_inventory", "firewall_events", "firewall_rejects", "sshd_events"]
    screenshot = tmp_path / "asset_graph.png"
    # The group's graph with its downstream assets (the digest, the source pages …) is wide: the UI
    # renders only the nodes in view, so the window holds it all.
    graph = _render(server, group_page, screenshot, names, size=(2600, 1600))
    for name in names:
        assert name in graph, f"{name} not rendered on {group_page}"
    assert screenshot.stat().st_size > 20_000, f"{screenshot} is {screenshot.stat().st_size} bytes"
