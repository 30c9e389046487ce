"""The daily digest: each day against the trailing weeks (`analysis/digest.py`), stored per day and
shown as the partition's metadata (Markdown), so the UI alone tells the morning's story."""

from datetime import date

import dagster as dg
import polars as pl

from iptables_assets.analysis import digest
from iptables_assets.defs import partitioned
from iptables_assets.defs.jobs import ANALYSIS_GROUP, DAILY, in_stage
from iptables_assets.defs.metadata import markdown_table
from iptables_assets.defs.resources import Analysis, LogSource
from iptables_assets.defs.table_checks import definition_metadata, empty, schema_check, stored

A = dg.AutomationCondition
# The daily tables of every stored day (a day is compared with the days before it; days never
# materialised are left out). Only what a day's digest reads is collected.
EVERY_STORED_DAY = dg.AssetIn(partition_mapping=dg.AllPartitionMapping(), metadata={"allow_missing_partitions": True})
WINDOW_TABLES = ("daily_port_counts", "daily_country_counts", "daily_source_summary", "daily_port_scans", "sshd_events")
# The day's own tables are its trigger: a day's digest is made again when its day's tables are,
# not when any other day's are (that would redo every day's digest after each day).
SAME_DAY = dg.AssetSelection.assets("daily_traffic_breakdown")
AFTER_ITS_DAY = (
    (A.newly_missing() | A.any_deps_updated().allow(SAME_DAY)).since_last_handled()
    & ~A.any_deps_missing().allow(SAME_DAY)
    & ~A.any_deps_in_progress()
    & ~A.in_progress()
).with_label("after its day's tables")


def build(daily: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The digest asset on these partitions."""

    @dg.asset(
        partitions_def=daily, backfill_policy=dg.BackfillPolicy.single_run(), group_name=ANALYSIS_GROUP,
        tags=in_stage(DAILY), kinds={"polars", "parquet"}, automation_condition=AFTER_ITS_DAY,
        ins={"daily_traffic_breakdown": dg.AssetIn(), **{name: EVERY_STORED_DAY for name in WINDOW_TABLES}},
        check_specs=[schema_check("daily_digest")], metadata=definition_metadata("daily_digest"),
    )
    def daily_digest(context: dg.AssetExecutionContext, analysis: Analysis, log_source: LogSource,
                     daily_traffic_breakdown: dict[str, pl.LazyFrame], daily_port_counts: dict[str, pl.LazyFrame],
                     daily_country_counts: dict[str, pl.LazyFrame], daily_source_summary: dict[str, pl.LazyFrame],
                     daily_port_scans: dict[str, pl.LazyFrame], sshd_events: dict[str, pl.LazyFrame]):
        """What stands out each day against the days before it: ports and countries far above their
        baseline, ports dropped for the first time, new and returning scanners, new top sources,
        sshd surges by kind (the rule and its thresholds: the Analysis resource's `digest_*`)."""
        rule, days = analysis.digest_rule(), partitioned.days_of(context)
        history = history_for(days, rule, daily_port_counts, daily_country_counts, daily_source_summary,
                           daily_port_scans, sshd_events)
        counted = {date.fromisoformat(k): frame for k, frame in daily_traffic_breakdown.items()}
        frames = digest.digests(days, history, rule)
        for day, found in frames.items():
            context.add_asset_metadata(_day_metadata(found, counted.get(day)), partition_key=day.isoformat())
        total = sum(frame.filter(pl.col("finding") != "not_enough_history").height for frame in frames.values())
        return stored("daily_digest", partitioned.output(frames), {"findings": total}, log_source.timezone)

    return [daily_digest]


def history_for(days: list[date], rule: digest.DigestRule, ports, countries, sources, scans, sshd) -> digest.History:
    """The stored days up to the last of `days` and what their digests read: every earlier day's
    port counts and scans (first-seen ports and scanners), the windows' countries, sources and
    sshd kinds."""
    last = max(days)
    stored_days = sorted({d for d in map(date.fromisoformat, ports) if d <= last} | set(days))
    first = min(days).toordinal() - rule.window_days
    windows = [d for d in stored_days if d.toordinal() >= first]

    def collect(table: str, frames: dict[str, pl.LazyFrame], wanted: list[date], columns: list) -> pl.DataFrame:
        chosen = [frames[d.isoformat()].select(columns) for d in wanted if d.isoformat() in frames]
        return pl.concat(chosen).collect() if chosen else empty(table).select(columns)

    kinds = digest.sshd_kind_counts(collect("sshd_events", sshd, windows, ["timestamp", "host", "kind"]))
    return digest.History(
        days=stored_days,
        port_counts=collect("daily_port_counts", ports, stored_days, ["day", "host", "proto", "dst_port", "events"]),
        country_counts=collect("daily_country_counts", countries, windows,
                               ["day", "host", "country_code", "country_name", "events"]),
        source_summary=collect("daily_source_summary", sources, windows,
                               ["day", "host", "src_ip", "country_code", "packets"]),
        port_scans=collect("daily_port_scans", scans, stored_days,
                           ["day", "host", "src_ip", "country_code", "distinct_ports"]),
        sshd_kinds=kinds,
    )


def _day_metadata(found: pl.DataFrame, breakdown: pl.LazyFrame | None) -> dict:
    """A day's partition metadata: its findings as a Markdown table, and its counted drops."""
    counted = int(breakdown.filter(pl.col("counted")).select(pl.col("events").sum()).collect().item() or 0) \
        if breakdown is not None else 0
    shown = found.select("scope", "finding", "subject", "note")
    return {"findings": found.filter(pl.col("finding") != "not_enough_history").height, "counted_drops": counted,
            "digest": dg.MetadataValue.md(markdown_table(shown) if shown.height else "Nothing stands out.")}
