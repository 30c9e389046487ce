"""Daily aggregates and port-scan detection per day; whole-history summaries and exports."""

from datetime import date

import dagster as dg
import polars as pl

from iptables_assets import progress
from iptables_assets.analysis import aggregates as agg
from iptables_assets.atomic import write_atomic
from iptables_assets.days import days_between
from iptables_assets.defs import checks, partitioned
from iptables_assets.defs.assets.metadata import markdown_table
from iptables_assets.defs.partitions import daily_partitions
from iptables_assets.defs.resources import Analysis, OutputFolder
from iptables_assets.publish.exports import csv_frame

DAILY = "daily_aggregates"
HISTORY = "history"

# Outputs of daily_aggregates and the (key, value) of the "top" table in their metadata.
DAILY_TABLES = {
    "daily_country_counts": ("country_code", "events"),
    "daily_port_counts": ("dst_port", "events"),
    "daily_country_port_counts": ("dst_port", "events"),
    "daily_source_summary": ("src_ip", "packets"),
    "daily_port_scans": ("src_ip", "distinct_ports"),
    "daily_traffic_breakdown": ("action", "events"),
}

COUNTS_CONSISTENT = dg.AssetCheckSpec(
    "counts_consistent_with_events",
    asset="daily_country_counts",
    description="Per-country counts of a day (unknown included) add up to the day's counted events; none negative.",
)


@dg.multi_asset(
    outs={
        "daily_country_counts": dg.AssetOut(description="Counted events per day and source country (unknown as ??)."),
        "daily_port_counts": dg.AssetOut(description="Counted events per day, protocol and destination port."),
        "daily_country_port_counts": dg.AssetOut(
            description="Counted events per day, source country and destination port (per-port maps)."
        ),
        "daily_source_summary": dg.AssetOut(
            description="Per day and source: country, packets, distinct ports/destinations, first/last seen, "
            "protocols, sorted destination ports and TCP flag mix (what the long-term detector reads)."
        ),
        "daily_port_scans": dg.AssetOut(
            description="nmap -T insane-like scans: sources over the scan threshold of distinct ports that day."
        ),
        "daily_traffic_breakdown": dg.AssetOut(
            description="Every firewall event of a day by action and direction, and whether it counts "
            "(the journal says what the counted packets leave out: accepts, audits, outbound drops)."
        ),
    },
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[COUNTS_CONSISTENT],
    group_name=DAILY,
    # Read day by day (not as one loaded input) so a year-long backfill holds one day of events.
    deps=["geotagged_events"],
)
def daily_aggregates(context: dg.AssetExecutionContext, analysis: Analysis, output_folder: OutputFolder):
    """Aggregate each day's geo-tagged events (counted traffic only) and detect that day's scans."""
    traffic = analysis.traffic()
    tables = {name: {} for name in DAILY_TABLES}
    mismatched = {}
    days = partitioned.days_of(context)
    for day in progress.iterate(days, "daily aggregates", "days"):
        events = output_folder.read_partition("geotagged_events", day)
        if events is None:
            raise dg.Failure(f"geotagged_events has no partition {day}: materialise it first")
        counted = agg.counted(events, traffic)
        countries = agg.country_counts(counted)
        summary = agg.source_summary(counted)
        tables["daily_country_counts"][day] = countries
        tables["daily_port_counts"][day] = agg.port_counts(counted)
        tables["daily_country_port_counts"][day] = agg.country_port_counts(counted)
        tables["daily_source_summary"][day] = summary
        tables["daily_port_scans"][day] = agg.daily_port_scans(summary, analysis.scan_threshold)
        tables["daily_traffic_breakdown"][day] = agg.traffic_breakdown(events, traffic)
        total = int(countries["events"].sum() or 0)
        if total != counted.height or (countries["events"] < 0).any():
            mismatched[str(day)] = {"events": counted.height, "sum_of_countries": total}
    for name, frames in tables.items():
        yield dg.Output(partitioned.output(frames), name, metadata=_daily_metadata(name, frames))
    yield dg.AssetCheckResult(
        check_name=COUNTS_CONSISTENT.name,
        asset_key=COUNTS_CONSISTENT.asset_key,
        passed=not mismatched,
        metadata={"mismatched_days": dg.MetadataValue.json(mismatched)},
    )


def _daily_metadata(name: str, frames: dict) -> dict:
    rows = pl.concat(list(frames.values()), how="vertical_relaxed")
    top_by = DAILY_TABLES[name]
    top = rows.group_by(top_by[0]).agg(pl.col(top_by[1]).sum()).sort(
        [top_by[1], top_by[0]], descending=[True, False], nulls_last=True
    ).head(10)
    return {"dagster/row_count": rows.height, "top": dg.MetadataValue.md(markdown_table(top))}


def _all_days(
    output_folder: OutputFolder, asset: str, columns: list[str] | None = None
) -> tuple[pl.DataFrame, list[date], list[date]]:
    """Every materialised partition of a daily asset as one frame (only `columns` if given),
    the days present, and the days missing inside the window they span (reported, never
    silently skipped)."""
    frames = output_folder.daily_partitions(asset, columns)
    present = sorted(frames)
    if not present:
        return pl.DataFrame(), [], []
    window = days_between(present[0], present[-1])
    missing = [d for d in window if d not in frames]
    return pl.concat([frames[d] for d in present], how="vertical_relaxed"), present, missing


def export_table(output_folder: OutputFolder, name: str, frame: pl.DataFrame) -> dict:
    """Write `<out>/exports/<name>.parquet` (every value as it is) and `.csv` (made safe to open in
    a spreadsheet: list columns joined with spaces, long text cut, formula-like cells quoted),
    each atomically."""
    folder = output_folder.path("exports")
    write_atomic(folder / f"{name}.parquet", lambda handle: frame.write_parquet(handle))
    flat = csv_frame(frame)
    write_atomic(folder / f"{name}.csv", lambda handle: flat.write_csv(handle))
    return {"export_parquet": str(folder / f"{name}.parquet"), "export_csv": str(folder / f"{name}.csv")}


def _history_metadata(frame: pl.DataFrame, present: list, missing: list, exported: dict, top: pl.DataFrame) -> dict:
    return {
        "dagster/row_count": frame.height,
        "days": len(present),
        "first_day": str(present[0]) if present else "",
        "last_day": str(present[-1]) if present else "",
        "missing_days": dg.MetadataValue.json([str(d) for d in missing]),
        "top": dg.MetadataValue.md(markdown_table(top)),
        **exported,
    }


@dg.asset(group_name=HISTORY, deps=["daily_country_counts"], check_specs=[checks.HISTORY_COMPLETE])
def country_totals(output_folder: OutputFolder, country_reference: pl.DataFrame):
    """Counted events per country over all days, with ISO codes, name, point, rank and top-20 flag."""
    daily, present, missing = _all_days(output_folder, "daily_country_counts")
    totals = agg.country_totals(daily, country_reference) if present else pl.DataFrame()
    exported = export_table(output_folder, "country_totals", totals)
    top = totals.head(20).select("rank", "country_code", "country_name", "events") if present else totals
    yield dg.Output(totals, metadata=_history_metadata(totals, present, missing, exported, top))
    yield checks.check_missing_days(missing)


@dg.asset(group_name=HISTORY, deps=["daily_country_counts"])
def top_country_daily_series(output_folder: OutputFolder, country_totals: pl.DataFrame) -> dg.MaterializeResult:
    """Daily counted events of each top-20 country on every day of the window (0 on quiet days)."""
    daily, present, missing = _all_days(output_folder, "daily_country_counts")
    days = days_between(present[0], present[-1]) if present else []
    series = agg.top_country_series(daily, country_totals, days) if present else pl.DataFrame()
    return dg.MaterializeResult(value=series, metadata={"dagster/row_count": series.height, "days": len(days)})


@dg.asset(group_name=HISTORY, deps=["daily_port_counts"])
def port_totals(output_folder: OutputFolder) -> dg.MaterializeResult:
    """Counted events per destination port over all days, rank and top-256 flag."""
    daily, present, missing = _all_days(output_folder, "daily_port_counts")
    totals = agg.port_totals(daily) if present else pl.DataFrame()
    exported = export_table(output_folder, "port_totals", totals)
    top = totals.head(20).select("rank", "dst_port", "events") if present else totals
    return dg.MaterializeResult(value=totals, metadata=_history_metadata(totals, present, missing, exported, top))


@dg.asset(group_name=HISTORY, deps=["daily_port_scans"])
def port_scans(output_folder: OutputFolder) -> dg.MaterializeResult:
    """Every per-day scan of the whole history (the daily detector's findings, all days)."""
    scans, present, missing = _all_days(output_folder, "daily_port_scans")
    exported = export_table(output_folder, "port_scans", scans)
    top = scans.sort("distinct_ports", descending=True).head(10).select("day", "src_ip", "country_code", "distinct_ports") if scans.height else scans
    return dg.MaterializeResult(value=scans, metadata=_history_metadata(scans, present, missing, exported, top))


@dg.asset(group_name=HISTORY, deps=["daily_source_summary"])
def longterm_port_scans(output_folder: OutputFolder, analysis: Analysis) -> dg.MaterializeResult:
    """nmap -T paranoid-like scanners: distinct destination ports over all days above the threshold."""
    summaries, present, missing = _all_days(
        output_folder, "daily_source_summary",
        columns=["day", "src_ip", "country_code", "country_name", "packets", "distinct_ports", "dst_ports"],
    )
    scanners = agg.longterm_port_scans(summaries, analysis.scan_threshold) if present else pl.DataFrame()
    exported = export_table(output_folder, "longterm_port_scans", scanners)
    top = scanners.head(10).select("src_ip", "country_code", "distinct_ports", "days_active") if scanners.height else scanners
    return dg.MaterializeResult(value=scanners, metadata=_history_metadata(scanners, present, missing, exported, top))


@dg.asset(group_name=HISTORY)
def scan_summary(
    output_folder: OutputFolder, analysis: Analysis, port_scans: pl.DataFrame, longterm_port_scans: pl.DataFrame
) -> dg.MaterializeResult:
    """Number of per-day scans and long-term scanners, biggest one-day scan dates, scanning
    addresses per country for both detectors."""
    if port_scans.height == 0:
        port_scans = pl.DataFrame(schema={"day": pl.Date, "src_ip": pl.String, "country_code": pl.String, "distinct_ports": pl.Int64})
    if longterm_port_scans.height == 0:
        longterm_port_scans = pl.DataFrame(schema={"src_ip": pl.String, "country_code": pl.String, "slow": pl.Boolean})
    summary = agg.scan_summary(port_scans, longterm_port_scans, analysis.big_scan_threshold)
    table = _summary_table(summary)
    exported = export_table(output_folder, "scan_summary", table)
    return dg.MaterializeResult(
        value=table,
        metadata={
            "daily_scans": summary["daily_scans"],
            "longterm_scanners": summary["longterm_scanners"],
            "slow_scanners": summary["slow_scanners"],
            "big_scan_days": dg.MetadataValue.json(summary["big_scan_days"]),
            "top": dg.MetadataValue.md(markdown_table(table)),
            **exported,
        },
    )


def _summary_table(summary: dict) -> pl.DataFrame:
    """The scan summary as one long table: (detector, country_code, scanning_addresses), with
    `all` rows holding the totals, so it exports to CSV/Parquet like the others."""
    per_country = [
        summary["daily_scanners_per_country"].with_columns(pl.lit("daily").alias("detector")),
        summary["longterm_scanners_per_country"].with_columns(pl.lit("longterm").alias("detector")),
    ]
    totals = pl.DataFrame({
        "detector": ["daily", "longterm"],
        "country_code": ["all", "all"],
        "scanning_addresses": [summary["daily_scanning_addresses"], summary["longterm_scanners"]],
    }, schema={"detector": pl.String, "country_code": pl.String, "scanning_addresses": pl.Int64})
    return pl.concat([totals, *per_country], how="diagonal_relaxed").select("detector", "country_code", "scanning_addresses")
