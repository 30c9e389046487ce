"""Run tags that carry the days a chain of runs works on, from trigger to journal."""

from datetime import date

import dagster as dg

# Dagster's documented tags of a single-run backfill of a range of partitions.
ASSET_PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
ASSET_PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"

DAYS_TAG = "iptables_assets/days"  # "YYYY-MM-DD..YYYY-MM-DD"
TRIGGER_TAG = "iptables_assets/trigger"  # what started the chain: schedule, sensor, or a run's id
CLI_TRIGGER = "iptables-assets run"  # runs the whole chain itself: the chain sensors leave its runs alone


def days_tags(first: date, last: date, trigger: str) -> dict[str, str]:
    return {DAYS_TAG: f"{first.isoformat()}..{last.isoformat()}", TRIGGER_TAG: trigger}


def range_tags(first: date, last: date) -> dict[str, str]:
    """Tags that make a run of a partitioned job one single-run backfill of first..last."""
    return {ASSET_PARTITION_RANGE_START_TAG: first.isoformat(), ASSET_PARTITION_RANGE_END_TAG: last.isoformat()}


def days_of_run(run: dg.DagsterRun) -> tuple[date, date] | None:
    """The days a finished run worked on: the chain's tag, else its partition range or key."""
    tags = run.tags
    if DAYS_TAG in tags:
        first, _, last = tags[DAYS_TAG].partition("..")
        return date.fromisoformat(first), date.fromisoformat(last or first)
    if ASSET_PARTITION_RANGE_START_TAG in tags:
        return (date.fromisoformat(tags[ASSET_PARTITION_RANGE_START_TAG]),
                date.fromisoformat(tags[ASSET_PARTITION_RANGE_END_TAG]))
    if "dagster/partition" in tags:
        day = date.fromisoformat(tags["dagster/partition"])
        return day, day
    return None
