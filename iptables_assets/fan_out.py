"""`iptables-assets run --fan-out day`: the per-day stage as one run of `daily_job` per day,
at most N at once, each run in a process of its own.

Dagster's `execute_job` installs signal handlers, so it must be called from a main thread:
threads cannot run the days side by side, processes can. The pool's processes are started
with 'spawn' (fresh interpreters that inherit no lock or thread of the driver, which has
loaded Dagster already) and each serves several days, so Dagster and the definitions are
imported once per process, not once per day. Each rebuilds the job from the settings
(`definitions.settings_job`, as every step process and Celery worker does) and runs it on the
same persistent instance ($DAGSTER_HOME): in its own process with the default executor, or
sending its steps to the Celery workers with the Celery executor.

Days that share a log file share its parsing through the parse cache (`ingest/parse_cache.py`):
the first run to need a file reads it, later runs link its pieces. Runs that start together
each read the files they share (whoever finishes first leaves its entry), so N runs at once
read a shared file up to N times.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from datetime import date

from iptables_assets import progress, settings

# The `iptables-assets run` process that started a per-day run in a process of its own (the
# run's own process tags, which say whether it is alive, name the pool process).
DRIVER_PID_TAG = "iptables_assets/driver_pid"


@dataclasses.dataclass(frozen=True)
class DayRun:
    """What became of one run of the per-day stage: the days it covers ("2026-05-01", or
    "2026-05-01..2026-05-07" for the single-run backfill), its run id (None if it never
    started; `error` says why) and whether it succeeded."""

    days: str
    run_id: str | None
    success: bool
    error: str = ""

    def failure(self) -> str:
        """The failed run in a line: its days and its run id, or why it never ran."""
        return f"{self.days} (run {self.run_id})" if self.run_id else f"{self.days} (no run: {self.error})"


def run_days(config: settings.Settings, day_tags: dict[date, dict[str, str]], run_config: dict,
             parallel: int) -> list[DayRun]:
    """One run of the per-day job for each day of `day_tags`, with that day's tags, at most
    `parallel` at once; the days done shown as they end. Returns the runs by day."""
    context = multiprocessing.get_context("spawn")
    carried = dataclasses.asdict(config)
    finished = []
    with ProcessPoolExecutor(min(parallel, len(day_tags)), mp_context=context) as pool, \
            progress.track("per-day runs", len(day_tags), "days") as shown:
        futures = {pool.submit(run_one_day, carried, day.isoformat(), tags, run_config): day
                   for day, tags in day_tags.items()}
        for future in as_completed(futures):
            finished.append(_outcome(futures[future], future))
            shown.update()
    return sorted(finished, key=lambda run: run.days)


def _outcome(day: date, future: Future) -> DayRun:
    """The day's run, or a failed one saying why it never ran (its process died, the
    instance could not be reached...)."""
    try:
        return future.result()
    except Exception as error:  # BrokenProcessPool, or what the pool process raised
        return DayRun(day.isoformat(), None, False, f"{type(error).__name__}: {error}")


def run_one_day(carried: dict, day: str, tags: dict[str, str], run_config: dict) -> DayRun:
    """In a pool process, on its main thread: the day's run of the per-day job, rebuilt from
    the settings the driver carried, on the instance of $DAGSTER_HOME. Tagged with this
    process (run_health's tags), so that a run whose process dies is found dead and failed."""
    import dagster as dg

    from iptables_assets.defs.jobs import DAILY_JOB
    from iptables_assets.defs.run_health import this_process_tags
    from iptables_assets.runner import execute_reconstructable

    with dg.DagsterInstance.get() as instance:
        result = execute_reconstructable(dg, instance, settings.Settings(**carried), DAILY_JOB,
                                         {**tags, **this_process_tags()}, run_config)
    return DayRun(day, result.run_id, result.success)
