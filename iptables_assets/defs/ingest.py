"""Ingest: raw log files -> file inventory -> firewall events and rejects, and sshd events, per day."""

import shutil
from pathlib import Path
from datetime import date

import dagster as dg
import polars as pl

from iptables_assets import settings
from iptables_assets.atomic import CannotWrite, is_write_fault, what_went_wrong
from iptables_assets.defs import checks, partitioned, partitions
from iptables_assets.defs.automation import WHEN_MISSING
from iptables_assets.defs.jobs import DAILY, INGEST_GROUP, INVENTORY, in_stage
from iptables_assets.defs.metadata import markdown_table
from iptables_assets.defs.resources import Analysis, GeoIP, LogSource, OutputFolder
from iptables_assets.defs.table_checks import definition_metadata, schema_check, stored
from iptables_assets.enrich.geo import geotag
from iptables_assets.ingest.files import inventory as inv
from iptables_assets.ingest import parse_cache
from iptables_assets.ingest.files import dating
from iptables_assets.ingest.files.finding import COPY, by_kind
from iptables_assets.ingest.parse_cache import ParseCache, entry_key
from iptables_assets.ingest.records.firewall.parse_types import DayParse
from iptables_assets.ingest.records import sshd
from iptables_assets.ingest.records.firewall.parsing import parse_days
from iptables_assets.spill import Spilled, spill

GROUP = INGEST_GROUP


def unreadable(error: OSError, scratch: Path | None = None) -> dg.Failure:
    """A failure that names the file that could not be read (retried by the read retry policy),
    or, when storage refused a write (a full disk, a read-only folder), the file or the scratch
    folder that could not be written (not retried: waiting does not free a disk)."""
    if is_write_fault(error):
        where = error.filename or scratch
        said = str(error) if isinstance(error, CannotWrite) else \
            f"cannot write {str(where)!r}: {what_went_wrong(error)}"
        return dg.Failure(description=said, allow_retries=False,
                          metadata={"path": dg.MetadataValue.path(str(where))} if where else None)
    return dg.Failure(
        description=f"cannot read log file {error.filename!r}: {error.strerror or error}",
        metadata={"file": dg.MetadataValue.path(str(error.filename))} if error.filename else None,
    )


def build(daily: dg.PartitionsDefinition, config: settings.Settings) -> list[dg.AssetsDefinition]:
    """The ingest assets on these partitions; a failed read is retried after the configured delay
    (a log file can be in the middle of a rotation or a write: reading again later is the cure)."""
    retries = dg.RetryPolicy(max_retries=2, delay=config.read_retry_seconds, backoff=dg.Backoff.EXPONENTIAL)
    return [_inventory_asset(daily, retries), _firewall_asset(daily, retries), _sshd_asset(daily, retries)]


def _inventory_asset(daily: dg.PartitionsDefinition, retries: dg.RetryPolicy) -> dg.AssetsDefinition:
    @dg.asset(group_name=GROUP, tags=in_stage(INVENTORY), kinds={"polars", "parquet"}, retry_policy=retries,
              check_specs=[*checks.inventory_check_specs, schema_check("log_file_inventory")],
              metadata=definition_metadata("log_file_inventory"), automation_condition=WHEN_MISSING)
    def log_file_inventory(context: dg.AssetExecutionContext, log_source: LogSource, output_folder: OutputFolder):
        """Every log file found: size, mtime, compression, SHA-256 and the first/last timestamp it
        holds; damaged files and paths that cannot be read are named (warnings, the rest is read)."""
        config = log_source.parse_config()
        blocked: list[tuple[str, str]] = []
        passed_over: list[tuple[str, str]] = []
        try:
            files = log_source.discover(blocked, passed_over)
            # files the cache knows are not read again; a damaged cache is rebuilt (a warning)
            table = inv.refresh(files, config, output_folder.base_path, context.log.warning)
        except OSError as error:
            raise unreadable(error) from error
        _prune_parse_cache(table, config, output_folder.base_path)
        span = inv.days_covered(table, config.tz)
        context.log.info(f"{table.height} log files under {log_source.log_dir}, days {span}")
        blocked_paths, damaged = dict(blocked), inv.damaged_files(table)
        far = dating.dated_only_by_a_far_mtime(table)
        for warning in _warnings(blocked_paths, damaged, far):
            context.log.warning(warning)
        _add_log_days(context, span, log_source.first_day())
        copies = [(f"{copy} (= {kept})", COPY) for copy, kept in dating.copies(table).items()]
        metadata = _inventory_metadata(table, log_source, span, blocked_paths, damaged, by_kind(passed_over + copies))
        metadata["dated_only_by_a_far_mtime"] = dg.MetadataValue.json(far)
        return stored("log_file_inventory", table, metadata, config.tz, [checks.check_log_files_readable(blocked_paths)])

    return log_file_inventory


def _warnings(blocked: dict[str, str], damaged: dict[str, str], far: dict[str, str]) -> list[str]:
    """What the inventory warns of, in the words `iptables-assets run` prints (the run goes on
    with what can be read)."""
    return [*(f"cannot read {path}: {reason}" for path, reason in blocked.items()),
            *(f"damaged log file {path}: {reason}" for path, reason in damaged.items()),
            *(f"{path} is dated by its {why}, and shares no line with a dated file: its year may be too late"
              for path, why in far.items())]


def _prune_parse_cache(table: pl.DataFrame, config, out_dir: str) -> None:
    """Keep the parsed pieces (firewall, and sshd of the sshd families) of the files the inventory
    lists, as they are now; drop the rest."""
    keep = set()
    for row in table.iter_rows(named=True):
        file = inv.log_file_from_row(row)
        keep.add(entry_key(file, row["year_anchor"], config))
        if sshd.is_sshd_family(row["family"]):
            keep.add(entry_key(file, row["year_anchor"], config, records="sshd"))
    ParseCache(parse_cache.folder_for(out_dir)).prune(keep)


def _add_log_days(context: dg.AssetExecutionContext, span, start: date | None) -> None:
    """Make the logs' days the daily partitions (see `defs.partitions`), saying which it added."""
    if span is None:
        return
    added = partitions.add_days(context.instance, span, start)
    if added:
        context.log.info(f"daily partitions added: {len(added)} days, {added[0]}..{added[-1]}")


def _inventory_metadata(table: pl.DataFrame, log_source: LogSource, span, blocked: dict, damaged: dict,
                        passed_over: dict[str, list[str]]) -> dict:
    return {
        "damaged_files": dg.MetadataValue.json(damaged),
        "unreadable_paths": dg.MetadataValue.json(blocked),
        "passed_over": dg.MetadataValue.json(passed_over),  # {why not read: [paths]} (`finding`)
        "dagster/row_count": table.height,
        "log_dir": log_source.log_dir,
        "total_bytes": int(table["size"].sum() or 0),
        "total_lines": int(table["lines"].sum() or 0),
        "first_day": str(span[0]) if span else "",
        "last_day": str(span[1]) if span else "",
        "files": dg.MetadataValue.md(markdown_table(
            table.select("relative", "size", "compression", "lines", "first_timestamp", "last_timestamp"))),
    }


def _firewall_asset(daily: dg.PartitionsDefinition, retries: dg.RetryPolicy) -> dg.AssetsDefinition:
    @dg.multi_asset(
        outs={
            "firewall_events": dg.AssetOut(
                description="One row per firewall event (netfilter LOG line), deduplicated across files.",
                kinds={"polars", "parquet"}, metadata=definition_metadata("firewall_events"), tags=in_stage(DAILY),
            ),
            "firewall_rejects": dg.AssetOut(
                description="Netfilter-looking lines that could not become events, with the reason and raw line.",
                kinds={"polars", "parquet"}, metadata=definition_metadata("firewall_rejects"), tags=in_stage(DAILY),
            ),
        },
        partitions_def=daily,
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=[*checks.ingestion_check_specs, schema_check("firewall_events"), schema_check("firewall_rejects")],
        group_name=GROUP,
        retry_policy=retries,
    )
    def parsed_firewall_logs(context: dg.AssetExecutionContext, log_source: LogSource, analysis: Analysis,
                             output_folder: OutputFolder, log_file_inventory: pl.DataFrame):
        """Parse the log files that can hold the run's days (one pass over each file for a whole
        range of days, about one day in memory at a time; files parsed before and unchanged are
        taken from the parse cache); events and rejects per day, checked in this step."""
        config = log_source.parse_config()
        days = partitioned.days_of(context)
        files, anchors = _files_for(log_file_inventory, days, config.tz)
        context.log.info(f"reading {len(files)} files for {days[0]}..{days[-1]}")
        where = partitioned.scratch(context, output_folder.base_path) / "firewall"
        cache = ParseCache(parse_cache.folder_for(output_folder.base_path))
        try:
            result = parse_days(files, config, anchors=anchors, days=days, folder=where, cache=cache)
        except OSError as error:
            raise unreadable(error, where) from error
        events = {day: Spilled(result.events[day]) for day in days}
        rejects = {day: Spilled(result.rejects[day]) for day in days}
        facts = {day: _day_facts(day, events[day]) for day in days}
        metadata = {**_event_metadata(result, facts, files), "files_from_parse_cache": len(cache.linked),
                    "files_parsed": len(files) - len(cache.linked)}  # of files_read, those read from the log
        yield stored("firewall_events", partitioned.output(events), metadata, config.tz)
        yield stored("firewall_rejects", partitioned.output(rejects), _reject_metadata(rejects), config.tz)
        yield checks.check_partition_days({day: f["misplaced"] for day, f in facts.items()})
        yield checks.check_complete(sum(f["missing"] for f in facts.values()))
        yield checks.check_reject_rate(sum(result.events_per_day[d] for d in days),
                                       sum(result.rejects_per_day[d] for d in days), analysis.reject_rate_warn)
        yield checks.check_log_files_intact(result.damaged_files)

    return parsed_firewall_logs


def _files_for(inventory: pl.DataFrame, days: list[date], tz: str, family=None):
    """The inventory's files that can hold `days` (of a family, if given) and their year anchors."""
    rows = inv.files_for_days(inventory, days[0], days[-1], tz)
    if family is not None:
        rows = rows.filter(pl.col("family").map_elements(family, return_dtype=pl.Boolean))
    files = [inv.log_file_from_row(r) for r in rows.iter_rows(named=True)]
    return files, {r["relative"]: r["year_anchor"] for r in rows.iter_rows(named=True)}


def _day_facts(day: date, events: Spilled) -> dict:
    """What the checks and metadata need of a day's events, read from its scratch file."""
    return events.scan().select(
        pl.len().alias("rows"),
        (pl.col("timestamp").dt.date() != day).sum().alias("misplaced"),
        pl.any_horizontal(pl.col("src_ip", "dst_ip", "action").is_null()).sum().alias("missing"),
        pl.col("timestamp").min().alias("first"),
        pl.col("timestamp").max().alias("last"),
    ).collect().row(0, named=True)


def _event_metadata(result: DayParse, facts: dict[date, dict], files) -> dict:
    rows = sum(f["rows"] for f in facts.values())
    firsts = [f["first"] for f in facts.values() if f["first"] is not None]
    lasts = [f["last"] for f in facts.values() if f["last"] is not None]
    per_day = pl.DataFrame({"day": [str(d) for d in facts], "events": [f["rows"] for f in facts.values()]})
    metadata = {
        "dagster/row_count": rows,
        "files_read": dg.MetadataValue.md("\n".join(f"- `{f.relative}`" for f in files) or "none"),
        "lines_read": result.lines_read,
        "ignored_lines": result.ignored,
        "duplicates_removed": result.duplicates_removed,
        "repeated_message_extra_events": result.repeated_extra,
        "rejects_by_reason": dg.MetadataValue.json(result.rejects_by_reason()),
        "damaged_files": dg.MetadataValue.json(result.damaged_files),
        "first_timestamp": str(min(firsts)) if firsts else "",
        "last_timestamp": str(max(lasts)) if lasts else "",
    }
    if len(facts) > 1:
        metadata["events_per_day"] = dg.MetadataValue.md(markdown_table(per_day))
    return metadata


def _reject_metadata(rejects: dict[date, Spilled]) -> dict:
    reasons = pl.concat([r.scan().select("reason").collect() for r in rejects.values()])
    counts = dict(reasons.group_by("reason").len().sort("reason").iter_rows())
    return {"dagster/row_count": reasons.height, "rejects_by_reason": dg.MetadataValue.json(counts)}


def _sshd_asset(daily: dg.PartitionsDefinition, retries: dg.RetryPolicy) -> dg.AssetsDefinition:
    @dg.asset(partitions_def=daily, backfill_policy=dg.BackfillPolicy.single_run(), group_name=GROUP,
              tags=in_stage(DAILY), kinds={"polars", "parquet"}, retry_policy=retries,
              check_specs=[schema_check("sshd_events")],
              metadata=definition_metadata("sshd_events"))
    def sshd_events(context: dg.AssetExecutionContext, log_source: LogSource, geoip: GeoIP,
                    output_folder: OutputFolder, log_file_inventory: pl.DataFrame):
        """One row per sshd line (kind, source address and port, user, country; unknown lines as
        `other`), from secure*, auth.log* and journald exports, deduplicated across files (files
        read before and unchanged are taken from the parse cache)."""
        config = log_source.parse_config()
        days = partitioned.days_of(context)
        files, anchors = _files_for(log_file_inventory, days, config.tz, sshd.is_sshd_family)
        where = partitioned.scratch(context, output_folder.base_path) / "sshd"
        cache = ParseCache(parse_cache.folder_for(output_folder.base_path))
        try:
            parsed = sshd.parse_sshd_days(files, config.tz, anchors, where / "lines", days, cache)
        except OSError as error:
            raise unreadable(error, where) from error
        by_day, kinds = {}, []
        with geoip.lookup() as lookup:
            for day, events in parsed.days(days):
                by_day[day] = spill(geotag(events, lookup), where, f"events/{day}")
                kinds.append(events.group_by("kind").len())
        shutil.rmtree(where / "lines", ignore_errors=True)
        counts = dict(pl.concat(kinds).group_by("kind").agg(pl.col("len").sum()).sort("kind").iter_rows())
        return stored("sshd_events", partitioned.output(by_day), {
            "dagster/row_count": sum(counts.values()),
            "files_read": dg.MetadataValue.md("\n".join(f"- `{f.relative}`" for f in files) or "none"),
            "files_from_parse_cache": len(cache.linked),  # of files_read, those not read again
            "lines_read": parsed.lines_read,
            "duplicates_removed": parsed.duplicates_removed,
            "events_by_kind": dg.MetadataValue.json(counts),
            "other_sshd_lines": counts.get("other", 0),
            "damaged_files": dg.MetadataValue.json(parsed.damaged_files),
        }, config.tz)

    return sshd_events
