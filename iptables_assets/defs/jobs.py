"""Asset jobs: what the schedule and sensor start, and the stages `iptables-assets run` runs."""

import dagster as dg

INVENTORY_JOB, INGEST_JOB, DAILY_JOB = "inventory_job", "ingest_job", "daily_job"
HISTORY_JOB, FRAMES_JOB, PUBLISH_JOB = "history_job", "frames_job", "publish_job"

INGESTED = ("firewall_events", "firewall_rejects", "sshd_events")
DAILY_TABLES = ("daily_country_counts", "daily_port_counts", "daily_country_port_counts", "daily_source_summary",
                "daily_port_scans", "daily_host_probes", "daily_traffic_breakdown")
HISTORY = ("country_totals", "top_country_daily_series", "port_totals", "port_scans", "longterm_port_scans",
           "scan_summary", "horizontal_scans", "longterm_horizontal_scans", "sshd_notable_lines", "sshd_kind_counts",
           "sshd_top_sources", "sshd_scanners", "host_summary", "drops_per_host_day")

# The file list and the country table.
inventory_job = dg.define_asset_job(INVENTORY_JOB, selection=["log_file_inventory", "country_reference"])
# The schedule's and the sensor's: the inventory and country table, then the days asked for
# (automation does the rest).
ingest_job = dg.define_asset_job(INGEST_JOB, selection=["log_file_inventory", "country_reference", *INGESTED])
# Every per-day table of a window, as one single-run backfill.
daily_job = dg.define_asset_job(DAILY_JOB, selection=[*INGESTED, "geotagged_events", *DAILY_TABLES])
# The whole-history tables, the figures and a fleet's host pages.
history_job = dg.define_asset_job(HISTORY_JOB, selection=dg.AssetSelection.assets(*HISTORY)
                                  | dg.AssetSelection.tag("journal", "figure"))


def _frames_job(executor_def: dg.ExecutorDefinition):
    """The films' frames of a window: independent steps, drawn in parallel processes (or on the
    Celery workers)."""
    return dg.define_asset_job(FRAMES_JOB, selection=dg.AssetSelection.tag("journal", "frames"),
                               executor_def=executor_def)


frames_job = _frames_job(dg.multiprocess_executor)
# The films and the journal page, once every figure and frame exists.
publish_job = dg.define_asset_job(PUBLISH_JOB, selection=dg.AssetSelection.tag("journal", "film")
                                  | dg.AssetSelection.assets("journal_report"))

JOBS = [inventory_job, ingest_job, daily_job, history_job, frames_job, publish_job]


def build_jobs(executor_def: dg.ExecutorDefinition | None = None) -> list:
    """The jobs; with `executor_def` (the Celery executor) the frames job uses it too. The
    others have no executor of their own: they take the definitions' executor, which is the
    same one (`build_definitions`), so the schedule and sensors keep their `ingest_job`."""
    if executor_def is None:
        return JOBS
    return [job if job.name != FRAMES_JOB else _frames_job(executor_def) for job in JOBS]
