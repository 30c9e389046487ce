"""The Dagster code location: assets, checks, resources, jobs, the schedule and the sensors."""

from __future__ import annotations

import dagster as dg

from iptables_assets import settings
from iptables_assets.defs.assets import aggregates, animation, figures, geo, ingestion, journal, sshd
from iptables_assets.defs.io_managers import ParquetIOManagerResource
from iptables_assets.defs.resources import Analysis, GeoIP, LogSource, OutputFolder, Publication
from iptables_assets.enrich import countries

# Maps draw from the bundled Natural Earth shapes; cartopy must never try to download.
countries.use_bundled_natural_earth()

from iptables_assets.defs.jobs import (
    DAILY_JOB,
    FRAMES_JOB,
    HISTORY_ASSETS,
    HISTORY_JOB,
    INVENTORY_JOB,
    PUBLISH_JOB,
    PUBLISHED_ASSETS,
    daily_job,
    frames_job,
    history_job,
    inventory_job,
    publish_job,
)
from iptables_assets.defs.run_health import dead_run_workers  # noqa: E402
from iptables_assets.defs.schedules import daily_journal_schedule  # noqa: E402
from iptables_assets.defs.sensors import CHAIN_SENSORS, new_log_files  # noqa: E402


def build_definitions(log_dir: str | None = None, out_dir: str | None = None) -> dg.Definitions:
    """Definitions with the log and output folders given, or taken from the environment."""
    out = out_dir or settings.out_dir()
    return dg.Definitions(
        assets=[
            ingestion.log_file_inventory,
            ingestion.parsed_firewall_logs,
            geo.geotagged_events,
            geo.country_reference,
            aggregates.daily_aggregates,
            *sshd.SSHD_DAILY_ASSETS,
            *HISTORY_ASSETS,
            *sshd.SSHD_HISTORY_ASSETS,
            *figures.FIGURE_ASSETS,
            *animation.FRAME_ASSETS,
            *animation.GIF_ASSETS,
            journal.journal_report,
        ],
        jobs=[inventory_job, daily_job, history_job, frames_job, publish_job],
        schedules=[daily_journal_schedule],
        sensors=[new_log_files, *CHAIN_SENSORS, dead_run_workers],
        resources={
            "log_source": LogSource(log_dir=log_dir or settings.log_dir()),
            "output_folder": OutputFolder(base_path=out),
            "io_manager": ParquetIOManagerResource(base_path=out),
            "geoip": GeoIP(),
            "analysis": Analysis(),
            "publication": Publication(),
        },
    )


defs = build_definitions()


def frames_job_from_environment() -> dg.JobDefinition:
    """The frames job of the definitions built from the environment: what
    `dagster.reconstructable` needs to run it in several processes from `iptables-assets run`."""
    return build_definitions().resolve_job_def(FRAMES_JOB)
