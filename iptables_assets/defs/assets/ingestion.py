"""Raw log files -> file inventory -> parsed firewall events and rejects, per day."""


from collections import Counter
from datetime import date

import dagster as dg
import polars as pl

from iptables_assets import settings
from iptables_assets.defs import checks, partitioned
from iptables_assets.defs.assets.metadata import markdown_table
from iptables_assets.defs.partitions import daily_partitions
from iptables_assets.defs.resources import Analysis, LogSource, OutputFolder
from iptables_assets.ingest import inventory as inv
from iptables_assets.ingest.parsing import ParseResult, parse_files, split_by_day

GROUP = "ingestion"
# A log file can be in the middle of a rotation or a write (logrotate compressing it, a copy
# landing): reading it again a little later is the plausible cure.
READ_RETRIES = dg.RetryPolicy(max_retries=2, delay=settings.read_retry_seconds(), backoff=dg.Backoff.EXPONENTIAL)


def unreadable(error: OSError) -> dg.Failure:
    """A failure that names the file that could not be read (retried by READ_RETRIES)."""
    return dg.Failure(
        description=f"cannot read log file {error.filename!r}: {error.strerror or error}",
        metadata={"file": dg.MetadataValue.path(str(error.filename))} if error.filename else None,
    )


@dg.asset(
    group_name=GROUP, kinds={"polars", "parquet"}, retry_policy=READ_RETRIES, check_specs=checks.inventory_check_specs
)
def log_file_inventory(context: dg.AssetExecutionContext, log_source: LogSource, output_folder: OutputFolder):
    """Every log file found: size, mtime, compression, SHA-256 and the first/last timestamp it
    holds; damaged files and paths that cannot be read are named (warnings, the rest is read)."""
    config = log_source.parse_config()
    blocked: list[tuple[str, str]] = []
    try:
        files = log_source.discover(blocked)
    except OSError as error:
        raise unreadable(error) from error
    try:  # files the cache knows are not read again; a damaged cache is rebuilt (a warning)
        table = inv.refresh(files, config, output_folder.base_path, context.log.warning)
    except OSError as error:
        raise unreadable(error) from error
    span = inv.days_covered(table, config.tz)
    context.log.info(f"{table.height} log files under {log_source.log_dir}, days {span}")
    blocked_paths, damaged = dict(blocked), inv.damaged_files(table)
    for path, reason in [*blocked_paths.items(), *damaged.items()]:
        context.log.warning(f"log file problem: {path}: {reason}")
    first_partition = daily_partitions.get_first_partition_key()
    if span and first_partition and span[0].isoformat() < first_partition:
        context.log.warning(
            f"the logs start {span[0]}, before the first daily partition {first_partition}: reload the code "
            f"location (Deployment > Reload) to show those days, or unset {settings.ENV_START_DATE} if it is set"
        )
    return dg.MaterializeResult(
        value=table,
        check_results=[checks.check_log_files_readable(blocked_paths)],
        metadata={
            "damaged_files": dg.MetadataValue.json(damaged),
            "unreadable_paths": dg.MetadataValue.json(blocked_paths),
            "dagster/row_count": table.height,
            "log_dir": log_source.log_dir,
            "total_bytes": int(table["size"].sum() or 0),
            "total_lines": int(table["lines"].sum() or 0),
            "first_day": str(span[0]) if span else "",
            "last_day": str(span[1]) if span else "",
            "files": dg.MetadataValue.md(
                markdown_table(table.select("relative", "size", "compression", "lines", "first_timestamp", "last_timestamp"))
            ),
        },
    )


@dg.multi_asset(
    outs={
        "firewall_events": dg.AssetOut(
            description="One row per firewall event (netfilter LOG line), deduplicated across files.",
            kinds={"polars", "parquet"},
        ),
        "firewall_rejects": dg.AssetOut(
            description="Netfilter-looking lines that could not become events, with the reason and raw line.",
            kinds={"polars", "parquet"},
        ),
    },
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=checks.ingestion_check_specs,
    group_name=GROUP,
    retry_policy=READ_RETRIES,
)
def parsed_firewall_logs(
    context: dg.AssetExecutionContext, log_source: LogSource, analysis: Analysis, log_file_inventory: pl.DataFrame
):
    """Parse the log files that can hold the partition's days, each file read once per run."""
    config = log_source.parse_config()
    days = partitioned.days_of(context)
    rows = inv.files_for_days(log_file_inventory, days[0], days[-1], config.tz)
    files = [inv.log_file_from_row(r) for r in rows.iter_rows(named=True)]
    anchors = {r["relative"]: r["year_anchor"] for r in rows.iter_rows(named=True)}
    context.log.info(f"reading {len(files)} files for {days[0]}..{days[-1]}")
    try:
        result = parse_files(files, config, anchors=anchors)
    except OSError as error:
        raise unreadable(error) from error
    events = split_by_day(result.records, days)
    rejects = split_by_day(result.rejects, days)
    yield dg.Output(partitioned.output(events), "firewall_events", metadata=_event_metadata(result, events, files))
    yield dg.Output(partitioned.output(rejects), "firewall_rejects", metadata=_reject_metadata(rejects))
    yield checks.check_partition_days(events)
    yield checks.check_complete(events)
    yield checks.check_reject_rate(
        sum(f.height for f in events.values()), sum(f.height for f in rejects.values()), analysis.reject_rate_warn
    )
    yield checks.check_log_files_intact(result.damaged_files)


def _event_metadata(result: ParseResult, events: dict[date, pl.DataFrame], files) -> dict:
    rows = sum(f.height for f in events.values())
    stamps = pl.concat([f.select("timestamp") for f in events.values()])["timestamp"]
    per_day = pl.DataFrame({"day": [str(d) for d in events], "events": [f.height for f in events.values()]})
    metadata = {
        "dagster/row_count": rows,
        "files_read": dg.MetadataValue.md("\n".join(f"- `{f.relative}`" for f in files) or "none"),
        "lines_read": result.lines_read,
        "ignored_lines": result.ignored,
        "duplicates_removed": result.duplicates_removed,
        "repeated_message_extra_events": result.repeated_extra,
        "rejects_by_reason": dg.MetadataValue.json(result.rejects_by_reason()),
        "damaged_files": dg.MetadataValue.json(result.damaged_files),
        "first_timestamp": str(stamps.min()) if rows else "",
        "last_timestamp": str(stamps.max()) if rows else "",
    }
    if len(events) > 1:
        metadata["events_per_day"] = dg.MetadataValue.md(markdown_table(per_day))
    return metadata


def _reject_metadata(rejects: dict[date, pl.DataFrame]) -> dict:
    reasons = Counter()
    for frame in rejects.values():
        reasons.update(frame["reason"].to_list())
    return {
        "dagster/row_count": sum(f.height for f in rejects.values()),
        "rejects_by_reason": dg.MetadataValue.json(dict(sorted(reasons.items()))),
    }
