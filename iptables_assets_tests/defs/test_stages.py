"""Issue 24, stage membership declared once: every asset names its stage (a tag), the jobs of
`iptables-assets run` select their assets by it, so together they build every asset exactly once;
the run's stages are data, in the order of the stage names."""

from __future__ import annotations

from collections import Counter

import dagster as dg
import pytest

import graph
from iptables_assets.defs import jobs
from iptables_assets.defs.run.stages import STAGES
from iptables_assets.tables import TABLES


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return graph.definitions("logs", "out")


def _stage_of(defs: dg.Definitions) -> dict[str, str | None]:
    graph_ = defs.resolve_asset_graph()
    return {key.path[-1]: graph_.get(key).tags.get(jobs.STAGE_TAG) for key in graph_.get_all_asset_keys()}


def test_every_asset_names_one_of_the_stages(defs):
    stages = _stage_of(defs)
    assert {name: stage for name, stage in stages.items() if stage not in jobs.STAGES} == {}
    assert set(stages.values()) == set(jobs.STAGES)  # and every stage has assets


def test_the_runs_jobs_build_every_asset_exactly_once(defs):
    built = Counter()
    for stage in STAGES:
        job = defs.resolve_job_def(stage.job)
        built.update(key.path[-1] for key in job.asset_layer.selected_asset_keys)
    everything = set(_stage_of(defs))
    assert set(built) == everything
    assert {name: n for name, n in built.items() if n != 1} == {}


def test_the_run_goes_through_the_stages_in_their_order():
    assert [stage.job for stage in STAGES] == [jobs.STAGE_JOBS[name] for name in jobs.STAGES]


def test_each_job_holds_its_stage_alone(defs):
    stages = _stage_of(defs)
    for stage, job_name in jobs.STAGE_JOBS.items():
        selected = {key.path[-1] for key in defs.resolve_job_def(job_name).asset_layer.selected_asset_keys}
        assert selected == {name for name, s in stages.items() if s == stage}, job_name


def test_the_schedules_job_is_the_inventory_and_what_reads_the_logs(defs):
    selected = {key.path[-1] for key in defs.resolve_job_def(jobs.INGEST_JOB).asset_layer.selected_asset_keys}
    assert selected == {"log_file_inventory", "country_reference", "firewall_events", "firewall_rejects", "sshd_events"}


def test_per_day_tables_are_the_daily_partitioned_assets(defs):
    """The catalog's `per_day` (what figures read as every stored day) is what Dagster partitions."""
    graph_ = defs.resolve_asset_graph()
    partitioned = {key.path[-1] for key in graph_.get_all_asset_keys() if graph_.get(key).partitions_def}
    assert {name for name, table in TABLES.items() if table.per_day} == partitioned - {
        name for name in partitioned if name.endswith("_frames")}


def test_a_stage_that_does_not_exist_is_refused():
    with pytest.raises(ValueError, match="'weekly' is not a stage; use one of inventory, daily, history"):
        jobs.in_stage("weekly")
