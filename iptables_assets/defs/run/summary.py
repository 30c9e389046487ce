"""The run's account: each day's counts after the per-day stage, the stage that stopped a run
and why, and the summary of a run that went through (totals read from the instance: fanned-out
runs ran in other processes)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl

from iptables_assets.days import days_between
from iptables_assets.defs.run.fan_out import DayRun
from iptables_assets.defs.run.say import say
from iptables_assets.defs.run_health import first_failure
from iptables_assets.storage import DamagedData, row_count

# What the summary adds up over the per-day runs: (asset, metadata key) of their materialisations.
PER_DAY_TOTALS = (("firewall_events", "dagster/row_count"), ("firewall_rejects", "dagster/row_count"),
                  ("sshd_events", "dagster/row_count"), ("firewall_events", "files_parsed"),
                  ("firewall_events", "files_from_parse_cache"))


def stopped(instance: dg.DagsterInstance, stage: str, run_ids: list[str | None], seconds: dict) -> dict:
    """A stage failed: what stopped it in one line (its first step failure's innermost cause, e.g.
    `cannot write '<path>': No space left on device`), and no later stage is started. What the
    earlier stages stored stays as it is; a run after the cause is fixed goes on from there."""
    cause = next((found for run_id in run_ids if run_id and (found := first_failure(instance, run_id))), None)
    failed = ", ".join(run_id for run_id in run_ids if run_id) or "none started"
    line = f"stopped: {stage} failed: {cause or 'see the failed runs'} (run {failed}; its event log has the details)"
    say(line)
    print(f"iptables-assets: {line}", file=sys.stderr)
    return {"success": False, "stopped at": stage, "failure": cause, "failed runs": failed, "stage seconds": seconds}


def say_per_day_done(daily: list[DayRun], fan_out: str) -> None:
    """The per-day stage's outcome, each failed run named with its run id."""
    ok = "ok" if all(run.success for run in daily) else "FAILED"
    say(f"per-day assets done ({ok})" if fan_out == "none"
        else f"per-day assets done: {len(daily)} runs, one per day ({ok})")
    for run in daily:
        if not run.success:
            say(f"  FAILED: {run.failure()}")


def per_day_lines(out_dir: Path, first_day: date, last_day: date) -> list[str]:
    """Events, rejects, per-day scans and sshd events of each day (of each week past a month)."""
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
    label = ""
    if len(days) > 31:
        table = table.group_by_dynamic("day", every="1w").agg(pl.exclude("day").sum())
        label = "week of "
    return [f"  {label}{r['day']}: {r['events']:,} events, {r['rejects']:,} rejects, {r['scans']:,} per-day scans, "
            f"{r['sshd']:,} sshd events" for r in table.iter_rows(named=True)]


def per_day_totals(instance: dg.DagsterInstance, daily: list[DayRun]) -> dict[tuple[str, str], int]:
    """Rows written and log files parsed or linked from the parse cache by the per-day runs,
    summed over the runs. Every partition's materialisation in a run carries the run's totals:
    one is read per run."""
    totals = dict.fromkeys(PER_DAY_TOTALS, 0)
    for run in daily:
        metadata = _metadata_by_asset(instance, run.run_id) if run.run_id else {}
        for asset, key in PER_DAY_TOTALS:
            value = metadata.get(asset, {}).get(key)
            totals[asset, key] += value.value if value is not None else 0
    return totals


def _metadata_by_asset(instance: dg.DagsterInstance, run_id: str) -> dict[str, dict]:
    """The metadata of each asset's first materialisation in the run, by asset name."""
    found = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        found.setdefault(entry.asset_materialization.asset_key.path[-1], entry.asset_materialization.metadata)
    return found


def summarise(totals: dict[tuple[str, str], int], runs: dict[str, list], window: tuple[date, date], out_dir: Path,
              problems: dict[str, dict], seconds: float) -> dict:
    """The summary of a run that went through every stage; `runs`: each stage's runs by its title."""
    (history,), (publish,) = runs["whole history and figures"], runs["GIFs and journal"]
    daily = runs["per-day assets"]
    scans = {m.asset_key.path[-1]: m.metadata for m in history.asset_materializations_for_node("scan_summary")}
    scan_meta = scans.get("scan_summary", {})
    journal = [m.metadata["path"].value for m in publish.asset_materializations_for_node("journal_report")]
    failed = [run.failure() for run in daily if not run.success]
    return {
        "success": all(run.success for stage in runs.values() for run in stage),
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
