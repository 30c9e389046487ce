"""What a new user waits for in the Dagster UI: "Materialize all" over every partition on a fresh
output folder and DAGSTER_HOME, against `iptables-assets run` on the same logs.

Starts `dagster dev` as `make ui` starts it (the UI tests' helper), waits for the new-logs
sensor's first look to offer the logs' days and for automation to build the inventory and the
country table, then sends the UI's own GraphQL request for Materialize all and times it from
launch to the end of the last run (the backfill's and any automation run after it). Reports the
days offered, the runs, the wall time, the runs' total time and the command line's wall time.

    .venv/bin/python benchmarks/ui_benchmark.py                      # the bundled sample (60 days)
    .venv/bin/python benchmarks/ui_benchmark.py --logs DIR --runs 3
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import CLI, REPO, machine_info, measure, median

sys.path.insert(0, str(REPO / "iptables_assets_tests"))
from dagster_dev import running  # noqa: E402 - the UI tests' `dagster dev`, as `make ui` starts it
from operations.test_ui_backfill import (  # noqa: E402
    RUNS,
    _nodes,
    _wait_for_the_fresh_folders_tables,
    launch,
    materialize_all_request,
    offered_days,
    settle,
)

SAMPLE = REPO / "data" / "sample_logs"


def _sample() -> Path:
    if not (SAMPLE / "ground_truth.json").exists():
        subprocess.run([str(CLI), "generate", "--out", str(SAMPLE)], check=True, stdout=subprocess.DEVNULL)
    return SAMPLE


def through_the_ui(logs: Path, folder: Path) -> dict:
    with running(folder, logs, folder / "out") as server:
        server.wait_until("the logs' days to be offered", lambda: (bool(offered_days(server)), "none yet"), 600)
        _wait_for_the_fresh_folders_tables(server)
        before = {r["runId"] for r in server.graphql(RUNS)["runsOrError"]["results"]}
        started = time.time()
        launch(server, materialize_all_request(_nodes(server), offered_days(server)))
        runs = [r for r in settle(server) if r["runId"] not in before]
        stats = server.graphql(RUN_TIMES)["runsOrError"]["results"]
        ends = {s["runId"]: (s["startTime"], s["endTime"]) for s in stats if s["runId"] in {r["runId"] for r in runs}}
        return {"days": len(offered_days(server)), "runs": len(runs),
                "failed": sum(r["status"] != "SUCCESS" for r in runs),
                "wall": max(end for _start, end in ends.values()) - started,
                "run_seconds": sum(end - start for start, end in ends.values())}


RUN_TIMES = "{ runsOrError { ... on Runs { results { runId startTime endTime } } } }"


def on_the_command_line(logs: Path, folder: Path) -> float:
    env = {**os.environ, "DAGSTER_HOME": str(folder / "home"), "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1"}
    run = measure([str(CLI), "run", "--logs", str(logs), "--out", str(folder / "out")], env=env,
                  stdout=subprocess.DEVNULL)
    if not run.ok:
        sys.exit("iptables-assets run failed")
    return run.wall_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=Path, help="log folder (default: the bundled sample)")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    logs = args.logs or _sample()
    print("\n".join(machine_info("dagster")))
    ui, cli = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            ui.append(through_the_ui(logs, Path(a)))
            cli.append(on_the_command_line(logs, Path(b)))
            print(f"UI: {ui[-1]}; command line: {cli[-1]:.1f} s", flush=True)
    print(f"Materialize all through the UI ({ui[0]['days']} days, {ui[0]['runs']} runs, "
          f"{sum(u['failed'] for u in ui)} failed): median {median(u['wall'] for u in ui):.1f} s wall, "
          f"runs {median(u['run_seconds'] for u in ui):.1f} s; `iptables-assets run`: median {median(cli):.1f} s")


if __name__ == "__main__":
    main()
