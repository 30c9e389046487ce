"""The stages of `iptables-assets run`, in order, as data: each names the job of its assets (the
assets tagged with its stage, `defs/stages.py`) and how that job is run: once, per range of days,
or one run per day (the fan-out)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

import dagster as dg

from iptables_assets import settings
from iptables_assets.days import days_between
from iptables_assets.defs import jobs, partitions
from iptables_assets.defs.automation import range_tags
from iptables_assets.defs.publish.films import FRAMES_FOLDER
from iptables_assets.defs.resources import from_settings
from iptables_assets.defs.run import checks
from iptables_assets.defs.run.execute import QUIET, SILENT, run_job
from iptables_assets.defs.run.fan_out import DRIVER_PID_TAG, DayRun, run_days
from iptables_assets.defs.run.logs_found import LogsFound, logs_found, say_found, warnings_of
from iptables_assets.defs.run.say import say
from iptables_assets.defs.run.summary import per_day_lines, say_per_day_done
from iptables_assets.progress import watch_new_files
from iptables_assets.publish.catalog import FILMS


@dataclass
class Run:
    """What the stages of one `iptables-assets run` share: the settings and definitions, the
    instance, the tags of every run it starts, the days asked for, and what the inventory found."""

    config: settings.Settings
    defs: dg.Definitions
    instance: dg.DagsterInstance
    tags: dict[str, str]
    asked: tuple[date | None, date | None]
    runs_at_once: int
    found: LogsFound | None = None
    window: tuple[date, date] | None = None
    ranges: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Stage:
    """A stage: its name in the run's lines and summary, its job, and what runs the job."""

    title: str
    job: str
    execute: Callable[[Run, str], list]


def inventory(run: Run, job: str) -> list:
    """The file list and the country table; then the days to run, from what the inventory found
    (none when the logs hold no timestamped line: the run has nothing more to do)."""
    say(f"inventory of {run.config.log_dir}")
    result = run_job(run.defs, run.instance, run.config, job, run.tags, SILENT)
    if not result.success:
        return [result]
    run.found = logs_found(result)
    say_found(run.found, warnings_of(run.instance, result.run_id))
    span = run.found.span
    if span is not None:
        known = partitions.known_days(run.instance)
        run.window = checks.window(span, *run.asked, known, run.config)
        run.ranges = partitions.key_ranges(known, days_between(*run.window))
        say(f"days {span[0]}..{span[1]} in the logs; materialising {run.window[0]}..{run.window[1]}")
        if run.config.executor == "celery":
            say("steps run on the Celery workers")
    return [result]


def per_day(run: Run, job: str) -> list[DayRun]:
    """The per-day assets of the window: one single-run backfill (each log file read once; one per
    range of partitions when older days were added after newer ones) or, fanned out, one run per
    day tagged with its partition as Dagster tags a one-partition run."""
    if run.config.fan_out == "none":
        results = [(f"{a}..{b}", run_job(run.defs, run.instance, run.config, job, {**range_tags(a, b), **run.tags},
                                         QUIET)) for a, b in run.ranges]
        daily = [DayRun(span, result.run_id, result.success) for span, result in results]
    else:
        daily = _fanned_out(run, job)
    say_per_day_done(daily, run.config.fan_out)
    if all(day.success for day in daily):
        for line in per_day_lines(Path(run.config.out_dir), *run.window):
            say(line)
    return daily


def _fanned_out(run: Run, job: str) -> list[DayRun]:
    """One run of the per-day job per day, `run.runs_at_once` at once, each in a process of its
    own (a day's steps one after the other there; the days are what runs in parallel), or on
    the Celery workers."""
    job_def = run.defs.resolve_job_def(job)
    days = [day for a, b in run.ranges for day in days_between(date.fromisoformat(a), date.fromisoformat(b))]
    identities = {day: {DRIVER_PID_TAG: str(os.getpid()),
                        **job_def.get_tags_for_partition_key(day.isoformat(), selected_asset_keys=None)}
                  for day in sorted(days)}
    say(f"one run of {job} per day, {min(run.runs_at_once, len(identities))} at once, each in a process of its own")
    return run_days(run.instance, run.config, identities, run.tags, QUIET, run.runs_at_once)


def history(run: Run, job: str) -> list:
    """The whole-history tables, the figures and a fleet's host pages."""
    say("whole-history assets and figures")
    result = run_job(run.defs, run.instance, run.config, job, run.tags, QUIET)
    if result.success:
        say(f"whole-history assets done (ok); animation frames of {run.window[0]}..{run.window[1]}")
    return [result]


def frames(run: Run, job: str) -> list:
    """The films' frames of the window, range by range (a range that fails stops the stage): in
    this process with the default executor (a film's static part is stored in the output
    folder, so its frames cost milliseconds, less than a process per film, ~3 s each); on the
    Celery workers otherwise. Progress is read from the frames appearing in the journal folder."""
    made = from_settings(run.config)
    journal = Path(str(made["publication"].journal_folder(made["output_folder"])))
    folders = [journal / FRAMES_FOLDER / name for name in FILMS]
    days = (run.window[1] - run.window[0]).days + 1
    results = []
    with watch_new_files(folders, len(folders) * days, "animation frames", "frames"):
        for a, b in run.ranges:
            results.append(run_job(run.defs, run.instance, run.config, job, {**range_tags(a, b), **run.tags}, QUIET))
            if not results[-1].success:
                break
    if all(result.success for result in results):
        say("frames done (ok); GIFs and journal")
    return results


def publish(run: Run, job: str) -> list:
    """The GIFs and the journal page."""
    return [run_job(run.defs, run.instance, run.config, job, run.tags, QUIET)]


STAGES = (
    Stage("inventory", jobs.INVENTORY_JOB, inventory),
    Stage("per-day assets", jobs.DAILY_JOB, per_day),
    Stage("whole history and figures", jobs.HISTORY_JOB, history),
    Stage("animation frames", jobs.FRAMES_JOB, frames),
    Stage("GIFs and journal", jobs.PUBLISH_JOB, publish),
)
