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

A pool process that dies (killed, out of memory) breaks the pool, and the pool's other
processes cannot be stopped (Dagster's run holds on to SIGTERM) but finish what they took: so
once the pool is done, each day whose process could not say how its run went is looked up in
the instance by its tags (its run failed if its process is gone), and the days that got no run
go to a fresh pool.

Days that share a log file share its parsing through the parse cache (`ingest/parse_cache.py`):
the first run to need a file reads it, later runs link its pieces. Runs that start together
each read the files they share (whoever finishes first leaves its entry), so N runs at once
read a shared file up to N times.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from datetime import date

import dagster as dg

from iptables_assets import progress, settings
from iptables_assets.defs.jobs import DAILY_JOB
from iptables_assets.defs.run.execute import execute_reconstructable
from iptables_assets.defs.run_health import mark_dead_runs_failed, this_process_tags

# The `iptables-assets run` process that started a per-day run in a process of its own (the
# run's own process tags, which say whether it is alive, name the pool process).
DRIVER_PID_TAG = "iptables_assets/driver_pid"


@dataclasses.dataclass(frozen=True)
class DayRun:
    """What became of one run of the per-day stage: the days it covers ("2026-05-01", or
    "2026-05-01..2026-05-07" for the single-run backfill), its run id (None if it never
    started), whether it succeeded and, when its process did not say, why not."""

    days: str
    run_id: str | None
    success: bool
    error: str = ""

    def failure(self) -> str:
        """The failed run in a line: its days, its run id and what stopped it, when known."""
        if self.run_id is None:
            return f"{self.days} (no run: {self.error})"
        return f"{self.days} (run {self.run_id}" + (f"; {self.error})" if self.error else ")")


def run_days(instance, config: settings.Settings, identities: dict[date, dict[str, str]],
             other_tags: dict[str, str], run_config: dict, parallel: int) -> list[DayRun]:
    """One run of the per-day job for each day of `identities`, tagged with the day's tags
    (which find its run again) and `other_tags`, at most `parallel` at once; the days done shown
    as they end. A pool process that dies (killed, out of memory) breaks the pool: what became
    of each day is then read from the instance, and the days no run was started for go to a
    fresh pool, as long as each pool starts some. Returns the runs by day."""
    done: dict[date, DayRun] = {}
    waiting = sorted(identities)
    with progress.track("per-day runs", len(identities), "days") as shown:
        while waiting:
            told = _run_in_pool(config, {day: {**other_tags, **identities[day]} for day in waiting}, run_config,
                                parallel, shown)
            found = _as_the_instance_says(instance, told, identities)
            started = {day: run for day, run in found.items() if run.run_id}
            shown.update(sum(1 for day in started if told[day].run_id is None))
            # A pool that started no run gives up the days left: another would fail them alike.
            done |= started if started else found
            waiting = [day for day in waiting if day not in done]
    return [done[day] for day in sorted(done)]


def _run_in_pool(config: settings.Settings, day_tags: dict[date, dict[str, str]], run_config: dict, parallel: int,
                 shown: progress.Progress) -> dict[date, DayRun]:
    """The days' runs in a pool of fresh ('spawn') processes; each day as its process told it,
    or failed with no run id when its process could not tell (the pool broke, the instance
    could not be reached...). Ctrl-C starts no further day."""
    carried = config.carried()
    told = {}
    with ProcessPoolExecutor(min(parallel, len(day_tags)), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(run_one_day, carried, day.isoformat(), tags, run_config): day
                   for day, tags in day_tags.items()}
        try:
            for future in as_completed(futures):
                day = futures[future]
                told[day] = _outcome(day, future)
                shown.update(1 if told[day].run_id else 0)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return told


def _outcome(day: date, future: Future) -> DayRun:
    """The day's run as its process told it, or a failed one saying why it could not."""
    try:
        return future.result()
    except BrokenProcessPool:
        return DayRun(day.isoformat(), None, False, "a process of the pool died (killed? out of memory?)")
    except Exception as error:  # what the pool process raised before or after the run
        return DayRun(day.isoformat(), None, False, f"{type(error).__name__}: {error}")


def _as_the_instance_says(instance, told: dict[date, DayRun], identities: dict[date, dict[str, str]]
                          ) -> dict[date, DayRun]:
    """The days whose process could not tell, as the instance says: the run found by the
    day's tags, which another process of a broken pool may have finished, or which is marked
    failed now if its process is gone; no run id if none was started."""
    if all(run.run_id for run in told.values()):
        return told
    mark_dead_runs_failed(instance)
    found = {}
    for day, run in told.items():
        started = [] if run.run_id else instance.get_runs(filters=dg.RunsFilter(tags=identities[day]), limit=1)
        found[day] = run if not started else dataclasses.replace(run, run_id=started[0].run_id,
                                                                  success=started[0].is_success)
    return found


def run_one_day(carried: dict, day: str, tags: dict[str, str], run_config: dict) -> DayRun:
    """In a pool process, on its main thread: the day's run of the per-day job, rebuilt from
    the settings the driver carried, on the instance of $DAGSTER_HOME. Tagged with this
    process (run_health's tags), so that a run whose process dies is found dead and failed."""
    try:
        with dg.DagsterInstance.get() as instance:
            result = execute_reconstructable(instance, settings.Settings(**carried), DAILY_JOB,
                                             {**tags, **this_process_tags()}, run_config)
    except Exception as error:  # sent back as text: an exception that does not pickle would break the pool
        raise RuntimeError(f"{type(error).__name__}: {error}") from None
    return DayRun(day, result.run_id, result.success)
