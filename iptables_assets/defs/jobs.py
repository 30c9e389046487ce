"""Asset jobs: the stages a run can cover (a job cannot mix daily-partitioned and
unpartitioned assets, so the graph runs as a chain of five jobs)."""

import dagster as dg

from iptables_assets.defs.assets import aggregates, animation, figures, geo, ingestion, journal, sshd

INVENTORY_JOB = "inventory_job"
DAILY_JOB = "daily_job"

# The file list and the country table: refreshed before the daily assets.
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
