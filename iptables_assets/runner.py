"""`iptables-assets run`: materialise the graph in one process with Dagster's execution APIs."""

from __future__ import annotations

import os
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from . import inventory, settings
from .defs.automation_tags import CLI_TRIGGER, TRIGGER_TAG


# Dagster's console logger at WARNING: progress lines come from this module, details are in the UI.
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# This command runs the whole chain itself; the tag keeps the chain sensors of a running daemon out.
_CLI = {TRIGGER_TAG: CLI_TRIGGER}


def _say(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def run_everything(log_dir: Path, out_dir: Path, first: date | None, last: date | None) -> dict:
    """Inventory the logs, then materialise every per-day asset for the days they hold."""
    from .defs.definitions import DAILY_JOB, HISTORY_JOB, INVENTORY_JOB, PUBLISH_JOB, build_definitions
    from .defs.partitions import daily_partitions

    instance = _instance()
    defs = build_definitions(log_dir=str(log_dir), out_dir=str(out_dir))
    started = time.perf_counter()

    _say(f"inventory of {log_dir}")
    result = defs.resolve_job_def(INVENTORY_JOB).execute_in_process(instance=instance, run_config=_QUIET, tags=_CLI)
    table = result.output_for_node("log_file_inventory")
    span = inventory.days_covered(table, settings.timezone_name())
    if span is None:
        _say("no timestamped log lines found; nothing to do")
        return {"success": result.success, "days": 0}
    first_day, last_day = _window(span, first, last, daily_partitions)
    _say(f"{table.height} files, days {span[0]}..{span[1]}; materialising {first_day}..{last_day}")

    tags = {
        ASSET_PARTITION_RANGE_START_TAG: first_day.isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: last_day.isoformat(),
        **_CLI,
    }
    daily = defs.resolve_job_def(DAILY_JOB).execute_in_process(instance=instance, tags=tags, run_config=_QUIET)
    _say(f"per-day assets done ({'ok' if daily.success else 'FAILED'})")
    for line in _per_day_lines(out_dir, first_day, last_day):
        _say(line)
    _say("whole-history assets and figures")
    history = defs.resolve_job_def(HISTORY_JOB).execute_in_process(instance=instance, run_config=_QUIET, tags=_CLI)
    _say(f"whole-history assets done ({'ok' if history.success else 'FAILED'}); animation frames of {first_day}..{last_day}")
    frames = _run_in_processes(instance, log_dir, out_dir, tags)
    _say(f"frames done ({'ok' if frames else 'FAILED'}); GIFs and journal")
    publish = defs.resolve_job_def(PUBLISH_JOB).execute_in_process(instance=instance, run_config=_QUIET, tags=_CLI)
    summary = _summarise(daily, history, publish, first_day, last_day, out_dir, time.perf_counter() - started)
    summary["success"] = summary["success"] and frames
    for key, value in summary.items():
        _say(f"{key}: {value}")
    return summary


def _per_day_lines(out_dir: Path, first_day: date, last_day: date) -> list[str]:
    """Events, rejects, per-day scans and sshd events of each day (of each week past a month)."""
    import polars as pl

    columns = {"events": "firewall_events", "rejects": "firewall_rejects", "scans": "daily_port_scans",
               "sshd": "sshd_events"}
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    rows = []
    for day in days:
        counts = {}
        for name, asset in columns.items():
            file = out_dir / asset / f"{day.isoformat()}.parquet"
            counts[name] = pl.scan_parquet(file).select(pl.len()).collect().item() if file.exists() else 0
        rows.append({"day": day, **counts})
    table = pl.DataFrame(rows)
    if len(days) > 31:
        table = table.group_by_dynamic("day", every="1w").agg(pl.exclude("day").sum())
        label = "week of "
    else:
        label = ""
    return [f"  {label}{r['day']}: {r['events']:,} events, {r['rejects']:,} rejects, {r['scans']:,} per-day scans, "
            f"{r['sshd']:,} sshd events" for r in table.iter_rows(named=True)]


def _run_in_processes(instance: dg.DagsterInstance, log_dir: Path, out_dir: Path, tags: dict):
    """The frames job with the multiprocess executor (one process per film, up to the cores)."""
    from .defs import definitions

    os.environ[settings.ENV_LOG_DIR] = str(log_dir)  # the step processes rebuild the definitions
    os.environ[settings.ENV_OUT_DIR] = str(out_dir)
    config = {**_QUIET, "execution": {"config": {"max_concurrent": os.cpu_count() or 1}}}
    job = dg.reconstructable(definitions.frames_job_from_environment)
    with dg.execute_job(job, instance=instance, tags=tags, run_config=config) as result:
        return result.success


def _instance() -> dg.DagsterInstance:
    """The persistent instance of $DAGSTER_HOME (created with SQLite storage if new)."""
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    return dg.DagsterInstance.get()


def _window(span: tuple[date, date], first: date | None, last: date | None, partitions) -> tuple[date, date]:
    """Days to run: the logs' span, narrowed by --from/--to and by the partitions that exist."""
    keys = partitions.get_partition_keys()
    if not keys:
        raise settings.ConfigError("no daily partitions exist yet: is IPTABLES_ASSETS_START_DATE in the future?")
    lo = max(span[0], first or span[0], date.fromisoformat(keys[0]))
    hi = min(span[1], last or span[1], date.fromisoformat(keys[-1]))
    if span[0] < date.fromisoformat(keys[0]):
        _say(f"warning: logs start {span[0]} before the first partition {keys[0]}; "
             f"set {settings.ENV_START_DATE}={span[0]} to include those days")
    if lo > hi:
        raise settings.ConfigError(f"no day to run: logs cover {span[0]}..{span[1]}, requested {first}..{last}")
    return lo, hi


def _summarise(result, history, publish, first_day: date, last_day: date, out_dir: Path, seconds: float) -> dict:
    # A single-run range carries the range's totals on each partition's materialisation.
    counts = {
        m.asset_key.path[-1]: m.metadata["dagster/row_count"].value
        for m in result.asset_materializations_for_node("parsed_firewall_logs")
    }
    scans = {m.asset_key.path[-1]: m.metadata for m in history.asset_materializations_for_node("scan_summary")}
    scan_meta = scans.get("scan_summary", {})
    sshd_events = max(  # each partition of the single run carries the run's total
        (m.metadata["dagster/row_count"].value for m in result.asset_materializations_for_node("sshd_events")), default=0
    )
    journal = [m.metadata["path"].value for m in publish.asset_materializations_for_node("journal_report")]
    return {
        "success": result.success and history.success and publish.success,
        "days": (last_day - first_day).days + 1,
        "events": counts.get("firewall_events", 0),
        "rejects": counts.get("firewall_rejects", 0),
        "per-day scans": scan_meta["daily_scans"].value if "daily_scans" in scan_meta else 0,
        "long-term scanners": scan_meta["longterm_scanners"].value if "longterm_scanners" in scan_meta else 0,
        "sshd events": sshd_events,
        "output": str(out_dir),
        "journal": journal[0] if journal else "not written",
        "seconds": round(seconds, 1),
    }
