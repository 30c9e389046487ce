"""The Dagster code location, built from the one `Settings` object: assets of every stage,
checks, resources, jobs, the schedule and the sensors."""

from __future__ import annotations

import dagster as dg

from iptables_assets.defs import analysis, automation, console, digest, enrich, ingest, publish, resources
from iptables_assets.defs.engine import executor_for
from iptables_assets.defs.io_manager import TableIOManagerFactory
from iptables_assets.defs.jobs import build_jobs
from iptables_assets.defs.partitions import daily_partitions
from iptables_assets.defs.run_health import dead_run_workers
from iptables_assets.enrich import countries
from iptables_assets.settings import Settings


def build_assets(config: Settings) -> list[dg.AssetsDefinition]:
    """Every asset of every stage; the per-day ones on the logs' days."""
    daily = daily_partitions
    return [*ingest.build(daily, config), *enrich.build(daily), *analysis.build(daily), *digest.build(daily),
            *publish.build(daily)]


def build_definitions(config: Settings) -> dg.Definitions:
    """Everything Dagster shows and runs, for these settings. With the Celery executor chosen,
    every job and every materialisation launched from the UI or `dagster asset materialize`
    runs its steps on the workers; otherwise a run's steps run in its own process, one after the
    other (a process per step would pay the interpreter and imports, ~2-3 s, for steps that mostly
    take a fraction of a second), except the frames job's three films, drawn in parallel."""
    countries.use_bundled_natural_earth()  # maps draw from the bundled shapes; cartopy never downloads
    executor = executor_for(config)
    return dg.Definitions(
        assets=build_assets(config),
        jobs=build_jobs(executor),
        executor=executor or dg.in_process_executor,
        loggers={"console": console.console},
        schedules=[automation.daily_schedule(config)],
        sensors=[automation.new_log_files, automation.automation_sensor(), dead_run_workers],
        resources={
            **resources.from_settings(config),
            "io_manager": TableIOManagerFactory(base_path=config.out_dir, timezone=config.timezone),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location `dagster dev` loads: settings from the environment, read now."""
    return build_definitions(Settings.from_environment())


def settings_job(job_name: str, **settings) -> dg.JobDefinition:
    """The job `job_name` for these settings: what `dg.build_reconstructable_job` rebuilds in
    each step process (the frames job's processes, a Celery worker) from the settings the run
    carries, so every process sees the same folders, partitions and executor."""
    return build_definitions(Settings(**settings)).resolve_job_def(job_name)
