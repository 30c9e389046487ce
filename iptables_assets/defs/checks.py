"""Asset checks on the parsed stages, evaluated inside the run that writes the data
(a single-run backfill writes many partitions; the checks cover each of them)."""

from datetime import date

import dagster as dg
import polars as pl

EVENTS_IN_PARTITION = dg.AssetCheckSpec(
    "events_fall_in_their_partition",
    asset="firewall_events",
    description="Every event's calendar day (in the logs' time zone) is its partition's day.",
)
EVENTS_COMPLETE = dg.AssetCheckSpec(
    "events_have_addresses_and_action",
    asset="firewall_events",
    description="Source and destination addresses and the action are set on every event.",
)
REJECT_RATE = dg.AssetCheckSpec(
    "reject_rate_below_threshold",
    asset="firewall_rejects",
    description="Rejected netfilter lines are at most Analysis.reject_rate_warn (default 1 %) of the run's netfilter lines (warn).",
)
LOG_FILES_INTACT = dg.AssetCheckSpec(
    "log_files_intact",
    asset="firewall_events",
    description="Every compressed log file read for the partition decompressed to its end; a truncated or "
    "corrupt one was read as far as it goes and is named here (warn).",
)
ingestion_check_specs = [EVENTS_IN_PARTITION, EVENTS_COMPLETE, REJECT_RATE, LOG_FILES_INTACT]

LOG_FILES_READABLE = dg.AssetCheckSpec(
    "log_files_readable",
    asset="log_file_inventory",
    description="Every folder and matching file under the log folder could be read; those that could not "
    "are named with the reason, and the rest is read (warn).",
)
inventory_check_specs = [LOG_FILES_READABLE]


def check_partition_days(events: dict[date, pl.DataFrame]) -> dg.AssetCheckResult:
    misplaced = {
        str(day): n
        for day, frame in events.items()
        if (n := frame.filter(pl.col("timestamp").dt.date() != day).height)
    }
    return dg.AssetCheckResult(
        check_name=EVENTS_IN_PARTITION.name,
        asset_key=EVENTS_IN_PARTITION.asset_key,
        passed=not misplaced,
        metadata={"misplaced_events": dg.MetadataValue.json(misplaced)},
    )


def check_complete(events: dict[date, pl.DataFrame]) -> dg.AssetCheckResult:
    missing = sum(
        frame.select(pl.any_horizontal(pl.col("src_ip", "dst_ip", "action").is_null()).sum()).item()
        for frame in events.values()
    )
    return dg.AssetCheckResult(
        check_name=EVENTS_COMPLETE.name,
        asset_key=EVENTS_COMPLETE.asset_key,
        passed=missing == 0,
        metadata={"rows_missing_fields": int(missing)},
    )


def check_reject_rate(events: int, rejects: int, threshold: float) -> dg.AssetCheckResult:
    rate = rejects / (events + rejects) if events + rejects else 0.0
    return dg.AssetCheckResult(
        check_name=REJECT_RATE.name,
        asset_key=REJECT_RATE.asset_key,
        passed=rate <= threshold,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"reject_rate": rate, "threshold": threshold, "rejects": rejects, "events": events},
    )


def check_log_files_intact(damaged: dict[str, str]) -> dg.AssetCheckResult:
    """Warn, naming each damaged file ({file: what happened}): its lines after the damage are lost."""
    return _file_problems(LOG_FILES_INTACT, "damaged_files", "damaged log files", damaged)


def check_log_files_readable(unreadable: dict[str, str]) -> dg.AssetCheckResult:
    """Warn, naming each folder or file that could not be read ({path: OS reason})."""
    return _file_problems(LOG_FILES_READABLE, "unreadable_paths", "unreadable paths", unreadable)


def _file_problems(spec: dg.AssetCheckSpec, key: str, what: str, problems: dict[str, str]) -> dg.AssetCheckResult:
    """A warning check that passes without problems and otherwise names every path and reason."""
    return dg.AssetCheckResult(
        check_name=spec.name,
        asset_key=spec.asset_key,
        passed=not problems,
        severity=dg.AssetCheckSeverity.WARN,
        description=_naming(what, problems),
        metadata={key: dg.MetadataValue.json(problems)},
    )


def _naming(what: str, problems: dict[str, str]) -> str | None:
    """One line naming every problem, for the check's description in the UI."""
    if not problems:
        return None
    return f"{len(problems)} {what}: " + "; ".join(f"{path}: {reason}" for path, reason in problems.items())
