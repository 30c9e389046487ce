"""The Dagster UI path as a new user takes it (issue 21): a fresh output folder and DAGSTER_HOME,
`dagster dev` started as `make ui` starts it, then the exact GraphQL request the UI sends for
"Materialize all" over all offered partitions (or, the other route of docs/operations.md, a backfill of
`daily_job` with automation doing the rest); wait until the backfill and automation settle, then:
the offered partitions are the logs' days, no run failed, each asset ran the expected number of
times, and the exports, figures, frames and GIFs equal those of `iptables-assets run` on the same
logs (the journal page but the line saying when it was made)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from filelock import FileLock

from dagster_dev import LOCATION, DagsterDev, running
from iptables_assets.days import days_between
from iptables_assets.sample import generate_logs
from published import finished_run, published

pytestmark = pytest.mark.slow

SETTLE_DEADLINE = 1500  # the backfill and what automation does after it
AUTOMATION = "journal_automation"  # the automation condition sensor (defs/automation.py)
FIRST = date(2019, 3, 10)  # logs of another year: the partitions must follow them
DAYS = 4

ASSET_NODES = """
{ assetNodes { assetKey { path } dependencyKeys { path }
               partitionDefinition { name } partitionKeysByDimension { partitionKeys } } }
"""
LAUNCH = """
mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
    __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
    ... on UnauthorizedError { message } ... on PartitionSetNotFoundError { message } } }
"""
BACKFILLS = """
{ partitionBackfillsOrError(limit: 100) { ... on PartitionBackfills { results { id status } } } }
"""
RUNS = """
{ runsOrError { ... on Runs { results { runId status jobName endTime tags { key value } } } } }
"""
TICKS = """
query($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) { __typename
    ... on Sensor { sensorState { ticks(limit: 5) { status timestamp } } } } }
"""
MATERIALIZATIONS = """
query($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) { ... on AssetNode {
    assetMaterializations(limit: 10000) { runId partition } } } }
"""
WHEN_MISSING = frozenset({"log_file_inventory", "country_reference"})  # built by automation on a fresh folder
LIVE_RUN = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}
LIVE_BACKFILL = {"REQUESTED", "CANCELING"}


def _nodes(server: DagsterDev) -> list[dict]:
    return server.graphql(ASSET_NODES)["assetNodes"]


def offered_days(server: DagsterDev) -> list[str]:
    """The partitions the UI offers for the per-day assets."""
    (node,) = [n for n in _nodes(server) if n["assetKey"]["path"] == ["firewall_events"]]
    return node["partitionKeysByDimension"][0]["partitionKeys"] if node["partitionKeysByDimension"] else []


def materialize_all_request(nodes: list[dict], keys: list[str]) -> dict:
    """The backfill parameters the UI's "Materialize all" sends with every partition chosen (its
    LaunchAssetChoosePartitionsDialog): anchored on the partitioned assets none of the selected
    assets feeds, when there are such; otherwise "pureAll", every partition of every asset."""
    selection = [n["assetKey"] for n in nodes]
    chosen = {tuple(n["assetKey"]["path"]) for n in nodes}
    roots = [n for n in nodes if n["partitionDefinition"]
             and not any(tuple(d["path"]) in chosen for d in n["dependencyKeys"])]
    if roots:
        return {"tags": [], "assetSelection": selection, "partitionNames": keys, "fromFailure": False}
    return {"tags": [], "assetSelection": selection, "allPartitions": True}


def launch(server: DagsterDev, params: dict) -> str:
    answer = server.graphql(LAUNCH, {"params": params})["launchPartitionBackfill"]
    if answer["__typename"] != "LaunchBackfillSuccess":
        server.fail(f"the backfill was refused: {answer}")
    return answer["backfillId"]


def settle(server: DagsterDev) -> list[dict]:
    """Wait until nothing is in progress and the automation sensor, evaluating after the last run
    ended, asked for nothing: from then on nothing would run until the logs change. The runs."""
    selector = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "sensorName": AUTOMATION}

    def settled():
        runs = server.graphql(RUNS)["runsOrError"]["results"]
        backfills = server.graphql(BACKFILLS)["partitionBackfillsOrError"]["results"]
        busy = [r["runId"][:8] for r in runs if r["status"] in LIVE_RUN] + \
               [b["id"] for b in backfills if b["status"] in LIVE_BACKFILL]
        if busy:
            return False, f"in progress: {busy}; {len(runs)} runs"
        last_end = max((r["endTime"] or 0 for r in runs), default=0)
        sensor = server.graphql(TICKS, {"selector": selector})["sensorOrError"]
        ticks = [t for t in sensor["sensorState"]["ticks"] if t["timestamp"] > last_end]
        latest = max(ticks, key=lambda t: t["timestamp"], default=None)
        state = f"{len(runs)} runs; automation's latest tick after the last run: {latest}"
        return latest is not None and latest["status"] == "SKIPPED", state

    server.wait_until("the backfill and automation to settle", settled, SETTLE_DEADLINE, interval=5)
    return server.graphql(RUNS)["runsOrError"]["results"]


def materializations(server: DagsterDev, nodes: list[dict]) -> dict[str, list[tuple[str, str | None]]]:
    """(run id, partition) of every materialisation, by asset."""
    found = {}
    for node in nodes:
        path = node["assetKey"]["path"]
        answer = server.graphql(MATERIALIZATIONS, {"path": path})["assetNodeOrError"]
        found[path[-1]] = [(m["runId"], m["partition"]) for m in answer["assetMaterializations"]]
    return found


@pytest.fixture(scope="module")
def logs_and_command_line(session_folder) -> tuple[Path, dict[str, bytes]]:
    """The logs, and what `iptables-assets run` publishes from them: made once per session (the
    two tests run side by side, each on its own worker: conftest.py), by the first test to ask
    (the other waits on the lock), and read back by both."""
    folder = session_folder / "ui_backfill"
    with FileLock(session_folder / "ui_backfill.lock"):
        if not (folder / "done").exists():
            shutil.rmtree(folder, ignore_errors=True)
            generate_logs(folder / "logs", days=DAYS, seed=3, start=FIRST, events_per_day=300)
            env = {**os.environ, "DAGSTER_HOME": str(folder / "home"),
                   "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1"}
            process = subprocess.Popen([sys.executable, "-m", "iptables_assets.cli", "run", "--logs",
                                        str(folder / "logs"), "--out", str(folder / "out")], env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            finished_run(process, 900)
            (folder / "done").touch()
    return folder / "logs", published(folder / "out")


@pytest.fixture(scope="module")
def logs(logs_and_command_line) -> Path:
    return logs_and_command_line[0]


@pytest.fixture(scope="module")
def command_line(logs_and_command_line) -> dict[str, bytes]:
    return logs_and_command_line[1]


def _wait_for_days(server: DagsterDev, days: list[str]) -> None:
    """A fresh folder: the new-logs sensor's first look lists the logs' days (seconds after start)."""
    server.wait_until("the logs' days to be offered as partitions",
                      lambda: (offered_days(server) == days, f"offered {offered_days(server)}"), 300)


def _assert_no_failure(server: DagsterDev, runs: list[dict]) -> None:
    failed = [r for r in runs if r["status"] != "SUCCESS"]
    if failed:
        server.fail(f"runs that did not succeed: {failed}")


def _wait_for_the_fresh_folders_tables(server: DagsterDev) -> None:
    """A fresh folder: automation builds the inventory and the country table at its first ticks."""
    server.wait_until("automation to build the inventory and the country table",
                      lambda: _materialised(server, sorted(WHEN_MISSING)), 300)


def _assert_each_materialised_once(server: DagsterDev, nodes: list[dict], days: list[str],
                                   twice: frozenset[str] = frozenset()) -> None:
    """Every partition of every asset materialised exactly once (those in `twice` twice)."""
    for asset, found in materializations(server, nodes).items():
        partitioned = any(n["partitionDefinition"] for n in nodes if n["assetKey"]["path"][-1] == asset)
        expected = Counter((days if partitioned else [None]) * (2 if asset in twice else 1))
        assert Counter(p for _run, p in found) == expected, f"{asset}: {found}"


def _same_bytes(server: DagsterDev, expected: dict[str, bytes]) -> None:
    made = published(server.out)
    differ = sorted(p for p in set(made) | set(expected) if made.get(p) != expected.get(p))
    assert not differ, f"published files that differ from `iptables-assets run`'s: {differ[:20]}"


def test_materialize_all_on_a_fresh_folder(logs, command_line, tmp_path):
    days = [d.isoformat() for d in days_between(FIRST, date.fromordinal(FIRST.toordinal() + DAYS - 1))]
    with running(tmp_path, logs, tmp_path / "out") as server:
        _wait_for_days(server, days)
        _wait_for_the_fresh_folders_tables(server)
        nodes = _nodes(server)
        launch(server, materialize_all_request(nodes, offered_days(server)))
        runs = settle(server)
        _assert_no_failure(server, runs)
        assert offered_days(server) == days
        # Materialize all builds the inventory and country table again, as asked; all else once
        _assert_each_materialised_once(server, nodes, days, twice=WHEN_MISSING)
        _same_bytes(server, command_line)


JOB_ASSETS = """
{ assetNodes { assetKey { path } jobNames } }
"""


def daily_job_request(server: DagsterDev, keys: list[str]) -> dict:
    """The backfill parameters the UI sends from daily_job's page (Materialize all, every partition)."""
    assets = [n["assetKey"] for n in server.graphql(JOB_ASSETS)["assetNodes"] if "daily_job" in n["jobNames"]]
    return {"tags": [], "assetSelection": assets, "partitionNames": keys, "fromFailure": False,
            "selector": {"partitionSetName": "daily_job_partition_set",
                         "repositorySelector": {"repositoryLocationName": LOCATION, "repositoryName": "__repository__"}}}


def _materialised(server: DagsterDev, names: list[str]):
    nodes = [n for n in _nodes(server) if n["assetKey"]["path"][-1] in names]
    made = materializations(server, nodes)
    return all(made.values()), {name: len(found) for name, found in made.items()}


def test_daily_job_backfill_then_automation(logs, command_line, tmp_path):
    """The other route of docs/operations.md (The Dagster UI): on a fresh folder automation builds
    the inventory and the country table; a backfill of daily_job over every day, then automation
    carries the days to the journal: each asset once, after the backfill."""
    days = [d.isoformat() for d in days_between(FIRST, date.fromordinal(FIRST.toordinal() + DAYS - 1))]
    with running(tmp_path, logs, tmp_path / "out") as server:
        _wait_for_days(server, days)
        _wait_for_the_fresh_folders_tables(server)
        launch(server, daily_job_request(server, offered_days(server)))
        runs = settle(server)
        _assert_no_failure(server, runs)
        _assert_each_materialised_once(server, _nodes(server), days)
        _same_bytes(server, command_line)
