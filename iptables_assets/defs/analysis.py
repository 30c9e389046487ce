"""Analysis: daily aggregates and scans per day; whole-history tables, scan detectors, sshd
findings and their exports."""

from datetime import date

import dagster as dg
import polars as pl

from iptables_assets import progress
from iptables_assets.analysis import aggregates as agg
from iptables_assets.analysis import fleet, sshd
from iptables_assets.days import days_between
from iptables_assets.defs import partitioned
from iptables_assets.defs.checks import COUNTS_CONSISTENT, HISTORY_COMPLETE
from iptables_assets.defs.every_day import EVERY_DAY, history
from iptables_assets.defs.exports import export_table
from iptables_assets.defs.jobs import ANALYSIS_GROUP, DAILY, HISTORY, in_stage
from iptables_assets.defs.automation import AFTER_INPUTS, AFTER_INPUTS_DAILY
from iptables_assets.defs.metadata import markdown_table
from iptables_assets.defs.resources import Analysis, LogSource, OutputFolder
from iptables_assets.defs.table_checks import definition_metadata, empty, schema_check, stored
from iptables_assets.publish.exports import bounded_frame
from iptables_assets.spill import spill

GROUP = ANALYSIS_GROUP

# Outputs of daily_aggregates, what each holds, and the (key, value) of the top rows in their metadata.
DAILY_TABLES = {
    "daily_country_counts": ("Counted events per day and source country (unknown as ??).", "country_code", "events"),
    "daily_port_counts": ("Counted events per day, protocol and destination port.", "dst_port", "events"),
    "daily_country_port_counts": ("Counted events per day, source country and destination port (per-port maps).",
                                  "dst_port", "events"),
    "daily_source_summary": ("Per day, host and source: country, packets, distinct ports/destinations, first/last seen, "
                             "protocols, sorted destination ports and TCP flag mix (what the long-term detector "
                             "reads).", "src_ip", "packets"),
    "daily_port_scans": ("nmap -T insane-like scans: sources over the scan threshold of distinct ports that day.",
                         "src_ip", "distinct_ports"),
    "daily_host_probes": ("Counted events per day, source, destination port and host (what the horizontal "
                          "scan detectors read).", "host", "events"),
    "daily_traffic_breakdown": ("Every firewall event of a day by action and direction, and whether it counts (the "
                                "journal says what the counted packets leave out: accepts, audits, outbound drops).",
                                "action", "events"),
}
def build(daily: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The analysis assets: the per-day multi-asset on these partitions and the whole history."""
    return [_daily_aggregates(daily), country_totals, top_country_daily_series, port_totals, port_scans,
            longterm_port_scans, scan_summary, horizontal_scan_findings, sshd_findings]


def _daily_aggregates(daily: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.multi_asset(
        outs={name: dg.AssetOut(description=text, metadata=definition_metadata(name), tags=in_stage(DAILY),
                                automation_condition=AFTER_INPUTS_DAILY)
              for name, (text, _key, _value) in DAILY_TABLES.items()},
        partitions_def=daily,
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=[COUNTS_CONSISTENT, *(schema_check(name) for name in DAILY_TABLES)],
        group_name=GROUP,
    )
    def daily_aggregates(context: dg.AssetExecutionContext, analysis: Analysis, log_source: LogSource,
                         output_folder: OutputFolder, geotagged_events: dict[str, pl.LazyFrame]):
        """Aggregate each day's geo-tagged events (counted traffic only) and detect that day's
        scans, one day in memory at a time (each day's tables spilled to scratch)."""
        traffic, where = analysis.traffic(), partitioned.scratch(context, output_folder.base_path)
        tables = {name: {} for name in DAILY_TABLES}
        tops = {name: [] for name in DAILY_TABLES}
        mismatched = {}
        for key in progress.iterate(sorted(geotagged_events), "daily aggregates", "days"):
            day, events = date.fromisoformat(key), geotagged_events[key].collect()
            made = _aggregate_day(events, traffic, analysis.scan_threshold)
            for name, frame in made.items():
                tables[name][day] = spill(frame, where, f"{name}/{key}")
                tops[name].append(_top_of(name, frame))
            counted = made["daily_traffic_breakdown"].filter(pl.col("counted"))["events"].sum()
            total = made["daily_country_counts"]["events"].sum()
            if total != counted or (made["daily_country_counts"]["events"] < 0).any():
                mismatched[key] = {"events": int(counted or 0), "sum_of_countries": int(total or 0)}
        for name, frames in tables.items():
            yield stored(name, partitioned.output(frames), _daily_metadata(name, tops[name]), log_source.timezone)
        yield dg.AssetCheckResult(
            check_name=COUNTS_CONSISTENT.name, asset_key=COUNTS_CONSISTENT.asset_key, passed=not mismatched,
            metadata={"mismatched_days": dg.MetadataValue.json(mismatched)},
        )

    return daily_aggregates


def _aggregate_day(events: pl.DataFrame, traffic, scan_threshold: int) -> dict[str, pl.DataFrame]:
    """The daily tables of one day's geo-tagged events."""
    counted = agg.counted(events, traffic)
    summary = agg.source_summary(counted)
    return {
        "daily_country_counts": agg.country_counts(counted),
        "daily_port_counts": agg.port_counts(counted),
        "daily_country_port_counts": agg.country_port_counts(counted),
        "daily_source_summary": summary,
        "daily_port_scans": agg.daily_port_scans(summary, scan_threshold),
        "daily_host_probes": fleet.host_probes(counted),
        "daily_traffic_breakdown": agg.traffic_breakdown(events, traffic),
    }


def _top_of(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """A day's value per key of a daily table, and its rows (what the metadata adds up)."""
    _text, key, value = DAILY_TABLES[name]
    return frame.group_by(key).agg(pl.col(value).sum(), pl.len().alias("rows"))


def _daily_metadata(name: str, tops: list[pl.DataFrame]) -> dict:
    _text, key, value = DAILY_TABLES[name]
    rows = pl.concat(tops, how="vertical_relaxed")
    top = rows.group_by(key).agg(pl.col(value).sum()).sort([value, key], descending=[True, False],
                                                          nulls_last=True).head(10)
    return {"dagster/row_count": int(rows["rows"].sum() or 0), "top": dg.MetadataValue.md(markdown_table(top))}


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


def _history_asset(**kwargs):
    """A whole-history asset of this group: typed columns in the UI, schema check in its step."""
    def decorate(fn):
        name = fn.__name__
        return dg.asset(group_name=GROUP, automation_condition=AFTER_INPUTS, metadata=definition_metadata(name),
                        tags=in_stage(HISTORY),
                        check_specs=[schema_check(name), *kwargs.pop("check_specs", [])], **kwargs)(fn)
    return decorate


@_history_asset(ins={"daily_country_counts": EVERY_DAY}, check_specs=[HISTORY_COMPLETE])
def country_totals(output_folder: OutputFolder, country_reference: pl.DataFrame,
                   daily_country_counts: dict[str, pl.DataFrame]):
    """Counted events per country over all days, with ISO codes, name, point, rank and top-20 flag."""
    daily, present, missing = history("daily_country_counts", daily_country_counts)
    totals = agg.country_totals(daily, country_reference) if present else empty("country_totals")
    exported = export_table(output_folder, "country_totals", totals)
    top = totals.head(20).select("rank", "country_code", "country_name", "events")
    complete = dg.AssetCheckResult(check_name=HISTORY_COMPLETE.name, passed=not missing,
                                   severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"missing_days": dg.MetadataValue.json([str(d) for d in missing])})
    return stored("country_totals", totals, _history_metadata(totals, present, missing, exported, top),
                  checks=[complete])


@_history_asset(ins={"daily_country_counts": EVERY_DAY})
def top_country_daily_series(country_totals: pl.DataFrame,
                             daily_country_counts: dict[str, pl.DataFrame]):
    """Daily counted events of each top-20 country on every day of the window (0 on quiet days)."""
    daily, present, _missing = history("daily_country_counts", daily_country_counts)
    days = days_between(present[0], present[-1]) if present else []
    series = agg.top_country_series(daily, country_totals, days) if present else empty("top_country_daily_series")
    return stored("top_country_daily_series", series, {"dagster/row_count": series.height, "days": len(days)})


@_history_asset(ins={"daily_port_counts": EVERY_DAY})
def port_totals(output_folder: OutputFolder, daily_port_counts: dict[str, pl.DataFrame]):
    """Counted events per destination port over all days, rank and top-256 flag."""
    daily, present, missing = history("daily_port_counts", daily_port_counts)
    totals = agg.port_totals(daily) if present else empty("port_totals")
    exported = export_table(output_folder, "port_totals", totals)
    top = totals.head(20).select("rank", "dst_port", "events")
    return stored("port_totals", totals, _history_metadata(totals, present, missing, exported, top))


@_history_asset(ins={"daily_port_scans": EVERY_DAY})
def port_scans(output_folder: OutputFolder, daily_port_scans: dict[str, pl.DataFrame]):
    """Every per-day scan of the whole history (the daily detector's findings, all days)."""
    scans, present, missing = history("daily_port_scans", daily_port_scans)
    exported = export_table(output_folder, "port_scans", scans)
    top = scans.sort("distinct_ports", descending=True).head(10).select("day", "src_ip", "country_code",
                                                                        "distinct_ports")
    return stored("port_scans", scans, _history_metadata(scans, present, missing, exported, top))


@_history_asset(ins={"daily_source_summary": EVERY_DAY})
def longterm_port_scans(output_folder: OutputFolder, analysis: Analysis,
                        daily_source_summary: dict[str, pl.LazyFrame]):
    """nmap -T paranoid-like scanners: distinct destination ports over all days above the threshold."""
    summaries, present, missing = history("daily_source_summary", daily_source_summary, agg.LONGTERM_COLUMNS)
    scanners = agg.longterm_port_scans(summaries, analysis.scan_threshold) if present else empty("longterm_port_scans")
    exported = export_table(output_folder, "longterm_port_scans", scanners)
    top = scanners.head(10).select("src_ip", "country_code", "distinct_ports", "days_active")
    return stored("longterm_port_scans", scanners, _history_metadata(scanners, present, missing, exported, top))


@_history_asset()
def scan_summary(output_folder: OutputFolder, analysis: Analysis, port_scans: pl.DataFrame,
                 longterm_port_scans: pl.DataFrame):
    """Number of per-day scans and long-term scanners, biggest one-day scan dates, scanning
    addresses per country for both detectors."""
    summary = agg.scan_summary(port_scans, longterm_port_scans, analysis.big_scan_threshold)
    table = agg.scan_summary_table(summary)
    exported = export_table(output_folder, "scan_summary", table)
    return stored("scan_summary", table, {
        "daily_scans": summary["daily_scans"],
        "longterm_scanners": summary["longterm_scanners"],
        "slow_scanners": summary["slow_scanners"],
        "big_scan_days": dg.MetadataValue.json(summary["big_scan_days"]),
        "top": dg.MetadataValue.md(markdown_table(table)),
        **exported,
    })


HORIZONTAL_SCANS = {
    "horizontal_scans": "Sources that reached one port on more than Analysis.fleet_scan_hosts hosts in a day, "
                        "with the hosts (a fleet's logs; none with one host).",
    "longterm_horizontal_scans": "Sources that reached one port on more than Analysis.fleet_longterm_hosts hosts "
                                 "over the whole history, slow sweeps flagged.",
}


def _history_tables(tables: dict[str, str], every_day_of: str):
    """A multi-asset of whole-history tables (name: description) over every stored day of one
    daily asset: typed columns in the UI, schema checks in its step."""
    return dg.multi_asset(
        outs={name: dg.AssetOut(description=text, metadata=definition_metadata(name), tags=in_stage(HISTORY),
                                automation_condition=AFTER_INPUTS) for name, text in tables.items()},
        ins={every_day_of: EVERY_DAY},
        group_name=GROUP,
        check_specs=[schema_check(name) for name in tables],
    )


@_history_tables(HORIZONTAL_SCANS, "daily_host_probes")
def horizontal_scan_findings(output_folder: OutputFolder, analysis: Analysis,
                             daily_host_probes: dict[str, pl.LazyFrame]):
    """Horizontal scans of a fleet (one source, one port, many hosts), per day and over the
    whole history, from every day's host probes read lazily."""
    present = sorted(date.fromisoformat(key) for key in daily_host_probes)
    probes = (pl.concat([daily_host_probes[d.isoformat()] for d in present]) if present
              else empty("daily_host_probes").lazy())
    tables = {
        "horizontal_scans": fleet.horizontal_scans(probes, analysis.fleet_scan_hosts),
        "longterm_horizontal_scans": fleet.longterm_horizontal_scans(
            probes, analysis.fleet_longterm_hosts, analysis.fleet_scan_hosts),
    }
    for name, table in tables.items():
        exported = export_table(output_folder, name, table)
        top = table.sort("hosts_reached", descending=True).head(10).select("src_ip", "dst_port", "hosts_reached")
        yield stored(name, table, {"dagster/row_count": table.height, "days": len(present),
                                   "top": dg.MetadataValue.md(markdown_table(top)), **exported})


SSHD_FINDINGS = {
    "sshd_notable_lines": "Bad protocol version and POSSIBLE BREAK-IN ATTEMPT lines of all days, each once.",
    "sshd_kind_counts": "sshd events per kind and source country over all days.",
    "sshd_top_sources": "The 50 sources with the most sshd events: kinds, user names tried.",
    "sshd_scanners": "Addresses that both scanned the firewall (per-day or long-term detector) and talked to sshd.",
}


@_history_tables(SSHD_FINDINGS, "sshd_events")
def sshd_findings(output_folder: OutputFolder, port_scans: pl.DataFrame, longterm_port_scans: pl.DataFrame,
                  sshd_events: dict[str, pl.DataFrame]):
    """sshd findings over every materialised day, and their join with the port-scan detectors."""
    events, present, _missing = history("sshd_events", sshd_events)
    tables = {
        "sshd_notable_lines": sshd.notable_lines(events),
        "sshd_kind_counts": sshd.kind_counts(events),
        "sshd_top_sources": sshd.top_sources(events),
        "sshd_scanners": sshd.scanners_at_sshd(events, port_scans, longterm_port_scans),
    }
    for name, table in tables.items():
        exported = export_table(output_folder, name, table)
        yield stored(name, table, {
            "dagster/row_count": table.height,
            "days": len(present),
            "top": dg.MetadataValue.md(markdown_table(bounded_frame(table.drop("message", strict=False)))),
            **exported,
        })
