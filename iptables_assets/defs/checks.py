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
ingestion_check_specs = [EVENTS_IN_PARTITION, EVENTS_COMPLETE, REJECT_RATE]


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


HISTORY_COMPLETE = dg.AssetCheckSpec(
    "no_missing_days",
    asset="country_totals",
    description="Every day between the first and the last materialised day has its daily aggregates (warn).",
)


def check_missing_days(missing: list) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=HISTORY_COMPLETE.name,
        asset_key=HISTORY_COMPLETE.asset_key,
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"missing_days": dg.MetadataValue.json([str(d) for d in missing])},
    )
