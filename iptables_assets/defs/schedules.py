"""The daily schedule: yesterday's logs through the whole graph, at a configurable time."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from iptables_assets import settings
from iptables_assets.defs.automation_tags import days_tags
from iptables_assets.defs.jobs import inventory_job

SCHEDULE_NAME = "daily_journal_schedule"


@dg.schedule(
    name=SCHEDULE_NAME,
    job=inventory_job,
    cron_schedule=settings.schedule_cron(),
    execution_timezone=settings.schedule_timezone(),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at IPTABLES_ASSETS_SCHEDULE_TIME (default 02:15, in IPTABLES_ASSETS_SCHEDULE_TZ): "
                "inventory the logs, then (through the chain sensors) yesterday's partition of every per-day "
                "asset, the whole-history assets and figures, yesterday's frames, the GIFs and the journal.",
)
def daily_journal_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    scheduled = context.scheduled_execution_time
    yesterday = scheduled.astimezone(ZoneInfo(settings.timezone_name())).date() - timedelta(days=1)
    return dg.RunRequest(run_key=f"daily:{yesterday.isoformat()}", tags=days_tags(yesterday, yesterday, SCHEDULE_NAME))
