"""Values of daily-partitioned assets in runs that cover one day or a range of days."""

from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl

from iptables_assets import spill


def days_of(context: dg.AssetExecutionContext) -> list[date]:
    """The calendar days of the run's partition key(s)."""
    return [date.fromisoformat(k) for k in context.partition_keys]


def by_day(context: dg.AssetExecutionContext, value) -> dict[date, pl.DataFrame]:
    """An upstream daily input as {day: frame}, whether one partition or several were loaded."""
    if isinstance(value, dict):
        return {date.fromisoformat(k): v for k, v in sorted(value.items())}
    return {days_of(context)[0]: value}


def output(frames: dict[date, pl.DataFrame]):
    """What to return for the run's partitions: a frame for one day, {key: frame} for a range."""
    if len(frames) == 1:
        return next(iter(frames.values()))
    return {d.isoformat(): frame for d, frame in frames.items()}


_LIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
         dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def scratch(context: dg.AssetExecutionContext, out_dir: str) -> Path:
    """This run's scratch folder for spilled days; those of runs no longer live are removed."""
    live = {run.run_id for run in context.instance.get_runs(dg.RunsFilter(statuses=_LIVE))}
    spill.remove_others(out_dir, live | {context.run.run_id})
    return spill.folder(out_dir, context.run.run_id)
