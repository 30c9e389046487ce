"""Sensors: new or changed log files start a chain of runs for exactly the days they touch,
and each finished stage of a chain (or of a backfill from the UI) starts the next one."""

import hashlib
import json

import dagster as dg

from iptables_assets import settings
from iptables_assets.days import contiguous_ranges
from iptables_assets.defs.automation_tags import CLI_TRIGGER, TRIGGER_TAG, days_of_run, days_tags, range_tags
from iptables_assets.defs.jobs import daily_job, frames_job, history_job, inventory_job, publish_job
from iptables_assets.defs.resources import LogSource
from iptables_assets.ingest import watching

NEW_LOG_FILES = "new_log_files"


@dg.sensor(
    name=NEW_LOG_FILES,
    job=inventory_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches the log folder (size, mtime and SHA-256 of each file in the cursor) and starts "
                "a chain of runs for exactly the days the new content touches (one per run of consecutive "
                "days). Rotated or renamed copies of known content start nothing; its first look only "
                "records what is there.",
)
def new_log_files(context: dg.SensorEvaluationContext, log_source: LogSource):
    previous = json.loads(context.cursor) if context.cursor else None
    try:
        files, config = log_source.discover(), log_source.parse_config()
    except settings.ConfigError as error:
        return dg.SkipReason(str(error))
    state, days, changed = watching.look(files, previous or {}, config)
    context.update_cursor(json.dumps(state, sort_keys=True))
    if previous is None:
        return dg.SkipReason(f"first look: recorded {len(state)} log files; watching them for new content")
    if not days:
        return dg.SkipReason("no new log content")
    digest = hashlib.sha256(json.dumps({c: state[c] for c in changed}, sort_keys=True).encode()).hexdigest()[:16]
    context.log.info(f"new content in {changed}: days {sorted(days)[0]}..{sorted(days)[-1]}")
    return [
        dg.RunRequest(run_key=f"logs:{first}..{last}:{digest}", tags=days_tags(first, last, NEW_LOG_FILES))
        for first, last in contiguous_ranges(days)
    ]


def _continue(after, then, partitioned: bool):
    """A sensor that starts `then` for the same days when a run of `after` succeeds."""

    @dg.run_status_sensor(
        name=f"{then.name}_after_{after.name}",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[after],
        request_job=then,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"When {after.name} succeeds, run {then.name} for the same days.",
    )
    def continue_chain(context: dg.RunStatusSensorContext):
        run = context.dagster_run
        if run.tags.get(TRIGGER_TAG) == CLI_TRIGGER:
            return dg.SkipReason("`iptables-assets run` runs the whole chain itself")
        span = days_of_run(run)
        if span is None:
            return dg.SkipReason(f"run {run.run_id} carries no days: nothing to continue")
        first, last = span
        tags = days_tags(first, last, run.tags.get(TRIGGER_TAG, run.run_id))
        if partitioned:
            tags.update(range_tags(first, last))
        return dg.RunRequest(run_key=f"{then.name}:{run.run_id}", tags=tags)

    return continue_chain


# inventory -> per-day assets -> whole history and figures -> frames -> GIFs and journal
CHAIN_SENSORS = [
    _continue(inventory_job, daily_job, partitioned=True),
    _continue(daily_job, history_job, partitioned=False),
    _continue(history_job, frames_job, partitioned=True),
    _continue(frames_job, publish_job, partitioned=False),
]
