"""Asset checks, evaluated inside the run that writes the data
(a single-run backfill writes many partitions; the checks cover each of them)."""

from datetime import date

import dagster as dg

def _spec(name: str, asset: str, description: str) -> dg.AssetCheckSpec:
    """A check of `asset` (every check but the schema checks, see table_checks)."""
    return dg.AssetCheckSpec(name, asset=asset, description=description)


EVENTS_IN_PARTITION = _spec("events_fall_in_their_partition", "firewall_events",
                           "Every event's calendar day (in the logs' time zone) is its partition's day.")
EVENTS_COMPLETE = _spec("events_have_addresses_and_action", "firewall_events",
                       "Source and destination addresses and the action are set on every event.")
REJECT_RATE = _spec("reject_rate_below_threshold", "firewall_rejects",
                   "Rejected netfilter lines are at most Analysis.reject_rate_warn (default 1 %) of the run's "
                   "netfilter lines (warn).")
LOG_FILES_INTACT = _spec("log_files_intact", "firewall_events",
                        "Every compressed log file read for the partition decompressed to its end; a truncated or "
                        "corrupt one was read as far as it goes and is named here (warn).")
LOG_FILES_READABLE = _spec("log_files_readable", "log_file_inventory",
                          "Every folder and matching file under the log folder could be read; those that could "
                          "not are named with the reason, and the rest is read (warn).")
COUNTS_CONSISTENT = _spec("counts_consistent_with_events", "daily_country_counts",
                         "Per-country counts of a day (unknown included) add up to the day's counted events; "
                         "none negative.")
HISTORY_COMPLETE = _spec("no_missing_days", "country_totals",
                        "Every day between the first and the last materialised day has its daily aggregates "
                        "(warn).")
ingestion_check_specs = [EVENTS_IN_PARTITION, EVENTS_COMPLETE, REJECT_RATE, LOG_FILES_INTACT]
inventory_check_specs = [LOG_FILES_READABLE]


def check_partition_days(misplaced: dict[date, int]) -> dg.AssetCheckResult:
    """Pass when no day holds an event of another day ({day: events outside it})."""
    wrong = {str(day): n for day, n in misplaced.items() if n}
    return dg.AssetCheckResult(
        check_name=EVENTS_IN_PARTITION.name,
        asset_key=EVENTS_IN_PARTITION.asset_key,
        passed=not wrong,
        metadata={"misplaced_events": dg.MetadataValue.json(wrong)},
    )


def check_complete(missing: int) -> dg.AssetCheckResult:
    """Pass when every event has both addresses and an action (`missing`: events without)."""
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
