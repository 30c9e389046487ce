"""`iptables-assets run`: materialise the graph with Dagster's execution APIs, in this process
(the default) or with every step on Celery workers (`--executor celery`); the per-day stage as
one single-run backfill (the default) or one run per day (`--fan-out day`, `fan_out.py`)."""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

from iptables_assets import progress, settings
from iptables_assets.atomic import write_bytes_atomic
from iptables_assets.days import days_between
from iptables_assets.fan_out import DRIVER_PID_TAG, DayRun, run_days
from iptables_assets.ingest.files import dating, finding, inventory
from iptables_assets.ingest.files.finding import find_logs

# Dagster's console logger at WARNING: progress lines come from this module, details are in the UI.
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# The inventory job's warnings (damaged, unreadable files) were already said by `_inventory`.
_SILENT = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def _say(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


class _Stages:
    """Wall time of each stage, for the final summary."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def timed(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - started, 1)


def run_everything(log_dir: Path, out_dir: Path, first: date | None, last: date | None,
                   executor: str | None = None, fan_out: str | None = None, parallel: int | None = None) -> dict:
    """Inventory the logs, then materialise every per-day asset for the days they hold.
    `executor` overrides IPTABLES_ASSETS_EXECUTOR ("default" or "celery"), `fan_out`
    IPTABLES_ASSETS_FAN_OUT ("none" or "day"); `parallel`: per-day runs at once (fan-out only)."""
    started, stages = time.perf_counter(), _Stages()
    progress.show_on(sys.stdout)
    overrides = {name: value for name, value in (("executor", executor), ("fan_out", fan_out)) if value}
    config = settings.Settings.from_environment(log_dir=str(log_dir), out_dir=str(out_dir), **overrides)
    _check_parallel(config, parallel)
    _check_settings(config)
    runs_at_once = _runs_at_once(config, parallel)
    with stages.timed("inventory"):
        span, problems = _inventory(config)
    if span is None:
        passed = sum(len(paths) for paths in problems["passed over"].values())
        _say(f"no timestamped log lines found in {config.log_dir} ({passed} other files, listed above, and "
             f"{len(problems['unreadable paths'])} it cannot read); nothing to do")
        return {"success": True, "days": 0, **{what: found for what, found in problems.items() if found}}

    import dagster as dg  # after the inventory: a run without logs to read needs no Dagster

    from iptables_assets.defs import partitions
    from iptables_assets.defs.automation import CLI_TRIGGER, TRIGGER_TAG
    from iptables_assets.defs.definitions import build_definitions
    from iptables_assets.defs.jobs import HISTORY_JOB, INVENTORY_JOB, PUBLISH_JOB
    from iptables_assets.defs.run_health import mark_dead_runs_failed, this_process_tags

    instance = _instance(dg)
    for line in mark_dead_runs_failed(instance):
        _say(f"marked failed, its process is gone: {line}")
    cli = {TRIGGER_TAG: CLI_TRIGGER, **this_process_tags()}
    defs = build_definitions(config)
    start = settings.parse_date(config.start_date, settings.ENV_START_DATE) if config.start_date else None
    partitions.add_days(instance, span, start)
    first_day, last_day = _window(span, first, last, partitions.known_days(instance), config)
    ranges = partitions.key_ranges(partitions.known_days(instance), days_between(first_day, last_day))
    _say(f"days {span[0]}..{span[1]} in the logs; materialising {first_day}..{last_day}")
    if config.executor == "celery":
        _say("steps run on the Celery workers")
    with stages.timed("inventory"):
        inventory_run = _run_job(dg, defs, instance, config, INVENTORY_JOB, cli, _SILENT)

    if not inventory_run.success:
        return _stopped(instance, "inventory", [inventory_run.run_id], stages)

    with stages.timed("per-day assets"):
        daily = _per_day_stage(dg, defs, instance, config, ranges, cli, runs_at_once)
    _say_per_day_done(daily, config.fan_out)
    if not all(run.success for run in daily):
        return _stopped(instance, "per-day assets", [run.run_id for run in daily if not run.success], stages)
    for line in _per_day_lines(out_dir, first_day, last_day):
        _say(line)
    _say("whole-history assets and figures")
    with stages.timed("whole history and figures"):
        history = _run_job(dg, defs, instance, config, HISTORY_JOB, cli, _QUIET)
    if not history.success:
        return _stopped(instance, "whole history and figures", [history.run_id], stages)
    _say(f"whole-history assets done (ok); animation frames of {first_day}..{last_day}")
    with stages.timed("animation frames"):
        frames = _run_frames(dg, defs, instance, config, ranges, cli, (last_day - first_day).days + 1)
    if failed := [run.run_id for run in frames if not run.success]:
        return _stopped(instance, "animation frames", failed, stages)
    _say("frames done (ok); GIFs and journal")
    with stages.timed("GIFs and journal"):
        publish = _run_job(dg, defs, instance, config, PUBLISH_JOB, cli, _QUIET)
    if not publish.success:
        return _stopped(instance, "GIFs and journal", [publish.run_id], stages)
    summary = _summarise(_per_day_totals(dg, instance, daily), inventory_run, daily, history, publish,
                         (first_day, last_day), out_dir, problems, time.perf_counter() - started)
    summary["stage seconds"] = stages.seconds
    for key, value in summary.items():
        _say(f"{key}: {value}")
    return summary


def _stopped(instance, stage: str, run_ids: list[str | None], stages: _Stages) -> dict:
    """A stage failed: what stopped it in one line (its first step failure's innermost cause, e.g.
    `cannot write '<path>': No space left on device`), and no later stage is started. What the
    earlier stages stored stays as it is; a run after the cause is fixed goes on from there."""
    from iptables_assets.defs.run_health import first_failure

    cause = next((found for run_id in run_ids if run_id and (found := first_failure(instance, run_id))), None)
    failed = ", ".join(run_id for run_id in run_ids if run_id) or "none started"
    line = f"stopped: {stage} failed: {cause or 'see the failed runs'} (run {failed}; its event log has the details)"
    _say(line)
    print(f"iptables-assets: {line}", file=sys.stderr)
    return {"success": False, "stopped at": stage, "failure": cause, "failed runs": failed,
            "stage seconds": stages.seconds}


def _check_settings(config: settings.Settings) -> None:
    """Settings that would fail a later stage fail now, before any log is read."""
    from iptables_assets.defs.resources import from_settings

    made = from_settings(config)
    made["analysis"].checked()
    made["publication"].checked()
    made["geoip"].lookup().close()
    if config.executor == "celery":
        _check_celery(config)


def _check_parallel(config: settings.Settings, parallel: int | None) -> None:
    """--parallel is a number of per-day runs at once: 1 or more, and only with the fan-out."""
    if parallel is None:
        return
    if config.fan_out == "none":
        raise settings.ConfigError(f"--parallel {parallel} needs --fan-out day ({settings.ENV_FAN_OUT}=day): "
                                   "without it the per-day stage is one run")
    if parallel < 1:
        raise settings.ConfigError(f"--parallel {parallel} is not a number of per-day runs at once; use 1 or more")


def _runs_at_once(config: settings.Settings, parallel: int | None) -> int:
    """Per-day runs at once: --parallel, else one per Celery worker that answers (each run
    keeps one busy), else one per core (each run works in its own process)."""
    if config.fan_out == "none":
        return 1
    if parallel is not None:
        return parallel
    if config.executor != "celery":
        return os.cpu_count() or 1
    from iptables_assets.defs.engine import celery_workers

    found = celery_workers(os.environ[settings.ENV_CELERY_BROKER], os.environ[settings.ENV_CELERY_BACKEND],
                           timeout=1.0, every=True)
    _say(f"{len(found)} Celery worker(s) answer ({', '.join(found)}): as many per-day runs at once")
    return max(1, len(found))


def _check_celery(config: settings.Settings) -> None:
    """dagster-celery installed and a worker listening: a run submitted to a broker no worker
    reads would wait for ever."""
    from iptables_assets.defs.engine import celery_workers, executor_for

    executor_for(config)
    broker, backend = os.environ[settings.ENV_CELERY_BROKER], os.environ[settings.ENV_CELERY_BACKEND]
    found = celery_workers(broker, backend)
    if not found:
        raise settings.ConfigError(f"{settings.ENV_EXECUTOR}=celery but no Celery worker answers on "
                                   f"{settings.ENV_CELERY_BROKER}: start them with this environment "
                                   "(scripts/celery_workers.sh start DIR)")
    _say(f"Celery worker {found[0]} answers")


def _inventory(config: settings.Settings) -> tuple[tuple[date, date] | None, dict[str, dict[str, str]]]:
    """Scan the logs (files the cached inventory knows are not read again) and return the days
    they cover and the damaged and unreadable files, each named here once (the run goes on
    with what can be read); the cache it leaves is where the daily partitions take their first day."""
    from iptables_assets.ingest.records.firewall.parsing import ParseConfig

    parse_config = ParseConfig(tz=config.timezone)
    _say(f"inventory of {config.log_dir}")
    unreadable, passed_over = [], []
    table = inventory.refresh(find_logs(Path(config.log_dir), unreadable=unreadable, passed_over=passed_over),
                              parse_config, config.out_dir, lambda message: _say(f"warning: {message}"))
    copies = [(f"{copy} (= {kept})", finding.COPY) for copy, kept in dating.copies(table).items()]
    problems = {"damaged files": inventory.damaged_files(table), "unreadable paths": dict(unreadable),
                "passed over": finding.by_kind(passed_over + copies),
                "dated only by a far mtime": dating.dated_only_by_a_far_mtime(table)}
    for path, reason in problems["unreadable paths"].items():
        _say(f"warning: cannot read {path}: {reason}")
    for path, reason in problems["damaged files"].items():
        _say(f"warning: damaged log file {path}: {reason}")
    for path, why in problems["dated only by a far mtime"].items():
        _say(f"warning: {path} is dated by its {why}, and shares no line with a dated file: its year may be too late")
    span = inventory.days_covered(table, parse_config.tz)
    _say(f"{table.height} log files" + (f", days {span[0]}..{span[1]}" if span else ""))
    for why, paths in problems["passed over"].items():
        _say(f"not read, {why}: {_some(paths)}")
    return span, problems


def _some(paths: list[str], shown: int = 8) -> str:
    """Up to `shown` paths, then how many more."""
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more


def _per_day_lines(out_dir: Path, first_day: date, last_day: date) -> list[str]:
    """Events, rejects, per-day scans and sshd events of each day (of each week past a month)."""
    import polars as pl

    from iptables_assets.storage import DamagedData, row_count

    columns = {"events": "firewall_events", "rejects": "firewall_rejects", "scans": "daily_port_scans",
               "sshd": "sshd_events"}
    days = days_between(first_day, last_day)
    rows = []
    for day in days:
        counts = {}
        for name, asset in columns.items():
            try:
                counts[name] = row_count(out_dir / asset / f"{day.isoformat()}.parquet")
            except (FileNotFoundError, DamagedData):
                counts[name] = 0
        rows.append({"day": day, **counts})
    table = pl.DataFrame(rows)
    if len(days) > 31:
        table = table.group_by_dynamic("day", every="1w").agg(pl.exclude("day").sum())
        label = "week of "
    else:
        label = ""
    return [f"  {label}{r['day']}: {r['events']:,} events, {r['rejects']:,} rejects, {r['scans']:,} per-day scans, "
            f"{r['sshd']:,} sshd events" for r in table.iter_rows(named=True)]


def _per_day_stage(dg, defs, instance, config: settings.Settings, ranges: list[tuple[str, str]], cli: dict,
                   runs_at_once: int) -> list[DayRun]:
    """The per-day assets of the window: one single-run backfill (each log file read once; one per
    range of partitions when older days were added after newer ones) or, fanned out, one run per
    day tagged with its partition as Dagster tags a one-partition run."""
    from iptables_assets.defs.automation import range_tags
    from iptables_assets.defs.jobs import DAILY_JOB

    if config.fan_out == "none":
        results = [(f"{a}..{b}", _run_job(dg, defs, instance, config, DAILY_JOB, {**range_tags(a, b), **cli}, _QUIET))
                   for a, b in ranges]
        return [DayRun(span, result.run_id, result.success) for span, result in results]
    job = defs.resolve_job_def(DAILY_JOB)
    days = [day for a, b in ranges for day in days_between(date.fromisoformat(a), date.fromisoformat(b))]
    identities = {day: {DRIVER_PID_TAG: str(os.getpid()),
                        **job.get_tags_for_partition_key(day.isoformat(), selected_asset_keys=None)}
                  for day in sorted(days)}
    _say(f"one run of {DAILY_JOB} per day, {min(runs_at_once, len(identities))} at once, each in a process of its own")
    # A day's steps run one after the other in its process (the definitions' executor; the days
    # are what runs in parallel), or on the Celery workers.
    return run_days(instance, config, identities, cli, _QUIET, runs_at_once)


def _say_per_day_done(daily: list[DayRun], fan_out: str) -> None:
    """The per-day stage's outcome, each failed run named with its run id."""
    ok = "ok" if all(run.success for run in daily) else "FAILED"
    _say(f"per-day assets done ({ok})" if fan_out == "none" else f"per-day assets done: {len(daily)} runs, one per day ({ok})")
    for run in daily:
        if not run.success:
            _say(f"  FAILED: {run.failure()}")


def _run_job(dg, defs, instance, config: settings.Settings, name: str, tags: dict, run_config: dict):
    """One job's run: in this process by default; on the Celery workers through a
    reconstructable job (`execute_in_process` would ignore the job's executor), which each
    worker rebuilds from the same settings (`definitions.settings_job`)."""
    if config.executor == "default":
        return defs.resolve_job_def(name).execute_in_process(instance=instance, tags=tags, run_config=run_config,
                                                             raise_on_error=False)
    return execute_reconstructable(dg, instance, config, name, tags, run_config)


def execute_reconstructable(dg, instance, config: settings.Settings, name: str, tags: dict, run_config: dict):
    """`dg.execute_job` of the job `name` rebuilt from the settings in every process that runs a
    step; the result (its events) stays readable after the run."""
    job = dg.build_reconstructable_job("iptables_assets.defs.definitions", "settings_job",
                                       reconstructable_kwargs={"job_name": name, **dataclasses.asdict(config)})
    with dg.execute_job(job, instance=instance, tags=tags, run_config=run_config, raise_on_error=False) as result:
        return result


def _run_frames(dg, defs, instance, config: settings.Settings, ranges: list[tuple[str, str]], cli: dict,
                days: int) -> list:
    """The frames job: in this process with the default executor (a film's static part is stored
    in the output folder, so its frames cost milliseconds, less than the interpreter and imports of
    a process per film, ~3 s each: the sample's 180 frames 13.1 s -> 4.5 s); on the Celery workers
    otherwise, each step process rebuilding the definitions from the same settings. Progress is
    read from the frames appearing in the journal folder."""
    from iptables_assets.defs.automation import range_tags
    from iptables_assets.defs.jobs import FRAMES_JOB
    from iptables_assets.defs.publish.films import FRAMES_FOLDER
    from iptables_assets.defs.resources import from_settings
    from iptables_assets.publish.catalog import FILMS

    made = from_settings(config)
    journal = Path(str(made["publication"].journal_folder(made["output_folder"])))
    folders = [journal / FRAMES_FOLDER / name for name in FILMS]
    results = []
    with _watch_new_files(folders, len(folders) * days, "animation frames", "frames"):
        for a, b in ranges:  # a range that fails stops the stage
            tags = {**range_tags(a, b), **cli}
            results.append(_run_job(dg, defs, instance, config, FRAMES_JOB, tags, _QUIET))
            if not results[-1].success:
                break
    return results


@contextmanager
def _watch_new_files(folders: list[Path], total: int, label: str, unit: str):
    """Progress of a job's work read from the files written into `folders` since now (the job runs
    in this process or on Celery workers; either way its progress is what appears there)."""
    since, stop = time.time(), threading.Event()

    def count() -> int:
        return sum(1 for folder in folders if folder.is_dir() for f in os.scandir(folder)
                   if f.name.endswith(".png") and f.stat().st_mtime >= since)

    def watch():
        with progress.track(label, total, unit) as shown:
            while not stop.wait(1.0):
                shown.update(min(total, count()) - shown.done)
            shown.update(min(total, count()) - shown.done)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def _instance(dg):
    """The persistent instance of $DAGSTER_HOME (created with SQLite storage if new)."""
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        write_bytes_atomic(config, b"python_logs:\n  python_log_level: INFO\ntelemetry:\n  enabled: false\n")
    return dg.DagsterInstance.get()


def _window(span: tuple[date, date], first: date | None, last: date | None, keys: list[str],
            config: settings.Settings) -> tuple[date, date]:
    """Days to run: the logs' span, narrowed by --from/--to and by the start date setting."""
    if not keys:
        raise settings.ConfigError(f"no day of the logs ({span[0]}..{span[1]}) is on or after "
                                   f"{settings.ENV_START_DATE}={config.start_date}: unset it or set an earlier date")
    starts = min(date.fromisoformat(k) for k in keys)
    lo = max(span[0], first or span[0], starts)
    hi = min(span[1], last or span[1])
    if span[0] < starts:
        _say(f"warning: logs start {span[0]}, before {settings.ENV_START_DATE}={config.start_date}; "
             f"unset it (or set it to {span[0]}) to include those days")
    if lo > hi:
        asked = _asked(first, last)
        raise settings.ConfigError(f"no day to run: the logs cover {span[0]}..{span[1]} and {asked}")
    return lo, hi


def _asked(first: date | None, last: date | None) -> str:
    """--from/--to in words."""
    if first and last:
        return f"--from {first} --to {last} asked for {first}..{last}"
    if first:
        return f"--from {first} asked for days from {first}"
    if last:
        return f"--to {last} asked for days up to {last}"
    return "every day was asked for"


# What the summary adds up over the per-day runs: (asset, metadata key) of their materialisations.
_PER_DAY_TOTALS = (("firewall_events", "dagster/row_count"), ("firewall_rejects", "dagster/row_count"),
                   ("sshd_events", "dagster/row_count"), ("firewall_events", "files_parsed"),
                   ("firewall_events", "files_from_parse_cache"))


def _per_day_totals(dg, instance, daily: list[DayRun]) -> dict[tuple[str, str], int]:
    """Rows written and log files parsed or linked from the parse cache by the per-day runs,
    summed over the runs (read from the instance: the fanned-out runs ran in other processes).
    Every partition's materialisation in a run carries the run's totals: one is read per run."""
    totals = dict.fromkeys(_PER_DAY_TOTALS, 0)
    for run in daily:
        metadata = _metadata_by_asset(dg, instance, run.run_id) if run.run_id else {}
        for asset, key in _PER_DAY_TOTALS:
            value = metadata.get(asset, {}).get(key)
            totals[asset, key] += value.value if value is not None else 0
    return totals


def _metadata_by_asset(dg, instance, run_id: str) -> dict[str, dict]:
    """The metadata of each asset's first materialisation in the run, by asset name."""
    found = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        found.setdefault(entry.asset_materialization.asset_key.path[-1], entry.asset_materialization.metadata)
    return found


def _summarise(totals: dict[tuple[str, str], int], inventory_run, daily: list[DayRun], history, publish,
               window: tuple[date, date], out_dir: Path, problems: dict[str, dict[str, str]], seconds: float) -> dict:
    scans = {m.asset_key.path[-1]: m.metadata for m in history.asset_materializations_for_node("scan_summary")}
    scan_meta = scans.get("scan_summary", {})
    journal = [m.metadata["path"].value for m in publish.asset_materializations_for_node("journal_report")]
    failed = [run.failure() for run in daily if not run.success]
    return {
        "success": inventory_run.success and not failed and history.success and publish.success,
        "days": (window[1] - window[0]).days + 1,
        "per-day runs": len(daily),
        **({"failed per-day runs": failed} if failed else {}),
        "events": totals["firewall_events", "dagster/row_count"],
        "rejects": totals["firewall_rejects", "dagster/row_count"],
        "per-day scans": scan_meta["daily_scans"].value if "daily_scans" in scan_meta else 0,
        "long-term scanners": scan_meta["longterm_scanners"].value if "longterm_scanners" in scan_meta else 0,
        "sshd events": totals["sshd_events", "dagster/row_count"],
        "log files parsed": totals["firewall_events", "files_parsed"],
        "log files from the parse cache": totals["firewall_events", "files_from_parse_cache"],
        **{what: sorted(paths) for what, paths in problems.items() if paths and what != "passed over"},
        **({"passed over": {why: len(paths) for why, paths in problems["passed over"].items()}}
           if problems.get("passed over") else {}),
        "output": str(out_dir),
        "journal": journal[0] if journal else "not written",
        "seconds": round(seconds, 1),
    }
