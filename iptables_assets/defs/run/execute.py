"""Where a job of `iptables-assets run` executes: in this process (the default executor), or with
every step on the Celery workers through a job each worker rebuilds from the same settings."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from iptables_assets import settings
from iptables_assets.atomic import write_bytes_atomic

# Dagster's console logger at WARNING: progress lines come from the driver, details are in the UI.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# A run whose warnings the driver says itself, in its own words (the inventory's).
SILENT = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def instance() -> dg.DagsterInstance:
    """The persistent instance of $DAGSTER_HOME (created with SQLite storage if new)."""
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        write_bytes_atomic(config, b"python_logs:\n  python_log_level: INFO\ntelemetry:\n  enabled: false\n")
    return dg.DagsterInstance.get()


def run_job(defs: dg.Definitions, instance: dg.DagsterInstance, config: settings.Settings, name: str, tags: dict,
            run_config: dict):
    """One job's run: in this process by default; on the Celery workers through a
    reconstructable job (`execute_in_process` would ignore the job's executor)."""
    if config.executor == "default":
        return defs.resolve_job_def(name).execute_in_process(instance=instance, tags=tags, run_config=run_config,
                                                             raise_on_error=False)
    return execute_reconstructable(instance, config, name, tags, run_config)


def execute_reconstructable(instance: dg.DagsterInstance, config: settings.Settings, name: str, tags: dict,
                            run_config: dict):
    """`dg.execute_job` of the job `name` rebuilt from the settings in every process that runs a
    step (`definitions.settings_job`); the result (its events) stays readable after the run."""
    job = dg.build_reconstructable_job("iptables_assets.defs.definitions", "settings_job",
                                       reconstructable_kwargs={"job_name": name, **config.carried()})
    with dg.execute_job(job, instance=instance, tags=tags, run_config=run_config, raise_on_error=False) as result:
        return result
