"""The Dagster code location: assets, checks, resources and jobs."""

from __future__ import annotations

import dagster as dg

from .. import countries, settings
from .assets import aggregates, animation, figures, geo, ingestion, journal, sshd
from .io_managers import ParquetIOManagerResource
from .resources import Analysis, GeoIP, LogSource, OutputFolder, Publication

# Maps draw from the bundled Natural Earth shapes; cartopy must never try to download.
countries.use_bundled_natural_earth()

INVENTORY_JOB = "inventory_job"
DAILY_JOB = "daily_job"

# Whole-history assets that do not depend on a day: refreshed before the daily ones.
inventory_job = dg.define_asset_job(
    INVENTORY_JOB, selection=[ingestion.log_file_inventory, geo.country_reference]
)
daily_job = dg.define_asset_job(
    DAILY_JOB,
    selection=dg.AssetSelection.assets(
        ingestion.parsed_firewall_logs, geo.geotagged_events, aggregates.daily_aggregates, *sshd.SSHD_DAILY_ASSETS
    ),
)
HISTORY_ASSETS = [
    aggregates.country_totals,
    aggregates.top_country_daily_series,
    aggregates.port_totals,
    aggregates.port_scans,
    aggregates.longterm_port_scans,
    aggregates.scan_summary,
]
HISTORY_JOB = "history_job"
history_job = dg.define_asset_job(
    HISTORY_JOB, selection=[*HISTORY_ASSETS, *sshd.SSHD_HISTORY_ASSETS, *figures.FIGURE_ASSETS]
)

# Animation frames of the days just aggregated (daily partitions, after the whole-history port list).
FRAMES_JOB = "frames_job"
# The three films' frames are independent steps: the multiprocess executor draws them in parallel.
frames_job = dg.define_asset_job(FRAMES_JOB, selection=animation.FRAME_ASSETS, executor_def=dg.multiprocess_executor)

# The films and the journal page, once every figure and frame exists.
PUBLISH_JOB = "publish_job"
publish_job = dg.define_asset_job(PUBLISH_JOB, selection=[*animation.GIF_ASSETS, journal.journal_report])
PUBLISHED_ASSETS = [*figures.FIGURE_ASSETS, *animation.GIF_ASSETS, journal.journal_report]


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
