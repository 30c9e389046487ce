"""What starts work: the daily schedule and the new-log-files sensor request the ingest of
exactly the days they concern (one single-run backfill per range of days); from there
Dagster's declarative automation carries the days down the graph, asset by asset, and the
UI shows on each asset why it ran (its automation condition's evaluation)."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from iptables_assets import settings
from iptables_assets.defs import partitions
from iptables_assets.defs.jobs import ingest_job
from iptables_assets.defs.resources import LogSource, OutputFolder
from iptables_assets.ingest.files import inventory, watching

A = dg.AutomationCondition

# Dagster's documented tags of a single-run backfill of a range of partitions.
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
TRIGGER_TAG = "iptables_assets/trigger"  # what asked for the run: the schedule, the sensor or the CLI
CLI_TRIGGER = "iptables-assets run"

# The inventory and the country table: built as soon as the output folder lacks them (a fresh
# folder: at the daemon's first look), so that a backfill of the per-day assets alone finds them;
# never retried after a failed run (the failure shows instead).
WHEN_MISSING = (A.missing() & ~A.in_progress() & ~A.execution_failed()).with_label("when missing")
# A daily asset: any day whose inputs changed (eager, without its "today only" window, so a
# backfill of old days flows down too), once its inputs exist and none is being written.
AFTER_INPUTS_DAILY = A.eager().without(A.in_latest_time_window()).with_label("after its day's inputs")
# A whole-history asset: after any of its inputs changed (any day of a daily one), once every
# input exists for every day of the logs and none is being written: never from no data, and not
# over a failed day (the failure shows on that day instead).
AFTER_INPUTS = (
    A.any_deps_updated().since_last_handled()
    & ~A.any_deps_missing()
    & ~A.any_deps_in_progress()
    & ~A.in_progress()
).with_label("after its inputs")
# The top-256 frames: after their day's counts changed and then the whole-history port list was
# written again (so a day is drawn with the list that includes it; a new list alone redraws
# nothing: the GIF's check says which frames are stale).
_COUNTS_UPDATED = A.any_deps_updated().ignore(dg.AssetSelection.assets("port_totals"))
_PORT_LIST_UPDATED = A.any_deps_updated().allow(dg.AssetSelection.assets("port_totals"))
AFTER_COUNTS_THEN_PORT_LIST = (
    _COUNTS_UPDATED.since_last_handled()
    & _PORT_LIST_UPDATED.since(_COUNTS_UPDATED)
    & ~A.any_deps_missing()
    & ~A.any_deps_in_progress()
    & ~A.in_progress()
).with_label("after its day's counts, then the port list")


# A film's GIF: after any of its frames changed (the port list it also reads only checks them).
AFTER_FRAMES = AFTER_INPUTS.replace(
    "any_deps_updated", A.any_deps_updated().ignore(dg.AssetSelection.assets("port_totals"))
).with_label("after its frames")


def range_tags(first: date | str, last: date | str) -> dict[str, str]:
    """Tags that make a run of a partitioned job one single-run backfill of first..last."""
    return {RANGE_START_TAG: str(first), RANGE_END_TAG: str(last)}


def automation_sensor() -> dg.AutomationConditionSensorDefinition:
    """Evaluates every asset's automation condition every 30 s (on by default); what one
    evaluation asks for goes out as one backfill (dependency order, single-run ranges)."""
    return dg.AutomationConditionSensorDefinition(
        "journal_automation", target=dg.AssetSelection.all(), default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        # What one evaluation asks for goes out as one backfill: run in dependency order, a range
        # of days of a single-run asset as one run.
        emit_backfills=True,
        description="Carries new days from the ingest down to the journal: each asset runs when its inputs "
                    "changed (see its automation condition).",
    )


def daily_schedule(config: settings.Settings) -> dg.ScheduleDefinition:
    """Yesterday's logs every day at the schedule time, in the schedule's time zone."""

    @dg.schedule(
        name="daily_journal_schedule", job=ingest_job, cron_schedule=config.schedule_cron(),
        execution_timezone=config.schedule_zone(), default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Every day at {config.schedule_time} ({config.schedule_zone()}; IPTABLES_ASSETS_SCHEDULE_TIME "
                    "and _TZ): inventory the logs and ingest yesterday, when the logs reach it (a live host); "
                    "automation does the rest (daily aggregates, whole history, figures, frames, GIFs, journal).",
    )
    def daily_journal_schedule(context: dg.ScheduleEvaluationContext, log_source: LogSource):
        zone = ZoneInfo(config.timezone)
        yesterday = context.scheduled_execution_time.astimezone(zone).date() - timedelta(days=1)
        if yesterday.isoformat() not in partitions.known_days(context.instance):
            since = datetime.combine(yesterday, time(), zone)
            logged = watching.days_of_files_written_since(log_source.discover(), since, log_source.parse_config())
            if not logged or max(logged) < yesterday:
                return dg.SkipReason(f"no log written since {yesterday} holds a line of {yesterday} or later: "
                                     "not a live host's logs, nothing to ingest (the new_log_files sensor "
                                     "ingests logs that are added)")
            partitions.add_days(context.instance, logged | {yesterday}, log_source.first_day())
        return dg.RunRequest(run_key=f"daily:{yesterday.isoformat()}",
                             tags={**range_tags(yesterday, yesterday), TRIGGER_TAG: "daily_journal_schedule"})

    return daily_journal_schedule


@dg.sensor(
    name="new_log_files",
    job=ingest_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches the log folder (size, mtime and SHA-256 of each file in the cursor) and ingests exactly "
                "the days the new content touches (one single-run backfill per range of consecutive days). Its "
                "first look lists the days every file holds as the daily partitions and starts nothing; rotated "
                "or renamed copies of known content start nothing.",
)
def new_log_files(context: dg.SensorEvaluationContext, log_source: LogSource, output_folder: OutputFolder):
    previous = json.loads(context.cursor) if context.cursor else None
    try:
        files, config, start = log_source.discover(), log_source.parse_config(), log_source.first_day()
    except settings.ConfigError as error:
        return dg.SkipReason(str(error))
    # a new file is dated as the inventory dates it (its neighbours, lines shared with a dated file; a
    # copy brings no day); the inventory's cache spares the unchanged files a scan
    dated = lambda: inventory.build_inventory(  # noqa: E731 - built only when a new file needs it
        files, config, inventory.read_cache(output_folder.base_path, context.log.warning))
    state, days, changed = watching.look(files, previous or {}, config, dated)
    days = {d for d in days if start is None or d >= start}
    cursor = json.dumps(state, sort_keys=True)
    known = partitions.known_days(context.instance)
    adding = partitions.add_request(known, days, start)
    if previous is None:
        listed = f"; the logs hold {min(days)}..{max(days)}, listed as the daily partitions" if days else ""
        return dg.SensorResult(skip_reason=f"first look: recorded {len(state)} log files{listed}; "
                                           "watching them for new content",
                               cursor=cursor, dynamic_partitions_requests=adding)
    if not days:
        return dg.SensorResult(skip_reason="no new log content", cursor=cursor)
    digest = hashlib.sha256(json.dumps({c: state[c] for c in changed}, sort_keys=True).encode()).hexdigest()[:16]
    context.log.info(f"new content in {changed}: days {min(days)}..{max(days)}")
    order = known + [request for add in adding for request in add.partition_keys]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"logs:{first}..{last}:{digest}",
                                    tags={**range_tags(first, last), TRIGGER_TAG: "new_log_files"})
                      for first, last in partitions.key_ranges(order, days)],
        cursor=cursor, dynamic_partitions_requests=adding,
    )
