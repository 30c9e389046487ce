"""sshd stage: events from secure / auth.log / journald exports per day, findings over all days."""


import dagster as dg
import polars as pl

from iptables_assets.analysis import sshd
from iptables_assets.defs import partitioned
from iptables_assets.defs.assets.aggregates import export_table
from iptables_assets.defs.assets.ingestion import READ_RETRIES, unreadable
from iptables_assets.defs.assets.metadata import markdown_table
from iptables_assets.defs.partitions import daily_partitions
from iptables_assets.defs.resources import GeoIP, LogSource, OutputFolder
from iptables_assets.enrich.geo import geotag
from iptables_assets.ingest import inventory as inv
from iptables_assets.ingest.parsing import split_by_day
from iptables_assets.publish.exports import bounded_frame

GROUP = "sshd"


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"polars", "parquet"},
    retry_policy=READ_RETRIES,
)
def sshd_events(
    context: dg.AssetExecutionContext, log_source: LogSource, geoip: GeoIP, log_file_inventory: pl.DataFrame
) -> dg.Output:
    """One row per sshd line (kind, source address and port, user, country; unknown lines as `other`),
    from secure*, auth.log* and journald exports, deduplicated across files."""
    config = log_source.parse_config()
    days = partitioned.days_of(context)
    rows = inv.files_for_days(log_file_inventory, days[0], days[-1], config.tz)
    rows = rows.filter(pl.col("family").map_elements(sshd.is_sshd_family, return_dtype=pl.Boolean))
    files = [inv.log_file_from_row(r) for r in rows.iter_rows(named=True)]
    anchors = {r["relative"]: r["year_anchor"] for r in rows.iter_rows(named=True)}
    try:
        parsed = sshd.parse_sshd_files(files, config.tz, anchors)
    except OSError as error:
        raise unreadable(error) from error
    with geoip.lookup() as lookup:
        events = geotag(parsed.events, lookup)
    by_day = split_by_day(events, days)
    counts = dict(events.filter(pl.col("timestamp").dt.date().is_in(days)).group_by("kind").len().sort("kind").iter_rows())
    return dg.Output(
        partitioned.output(by_day),
        metadata={
            "dagster/row_count": sum(f.height for f in by_day.values()),
            "files_read": dg.MetadataValue.md("\n".join(f"- `{f.relative}`" for f in files) or "none"),
            "lines_read": parsed.lines_read,
            "duplicates_removed": parsed.duplicates_removed,
            "events_by_kind": dg.MetadataValue.json(counts),
            "other_sshd_lines": counts.get("other", 0),
            "damaged_files": dg.MetadataValue.json(parsed.damaged_files),
        },
    )


@dg.multi_asset(
    outs={
        "sshd_notable_lines": dg.AssetOut(
            description="Bad protocol version and POSSIBLE BREAK-IN ATTEMPT lines of all days, each once."
        ),
        "sshd_kind_counts": dg.AssetOut(description="sshd events per kind and source country over all days."),
        "sshd_top_sources": dg.AssetOut(description="The 50 sources with the most sshd events: kinds, user names tried."),
        "sshd_scanners": dg.AssetOut(
            description="Addresses that both scanned the firewall (per-day or long-term detector) and talked to sshd."
        ),
    },
    group_name=GROUP,
    deps=["sshd_events"],
)
def sshd_findings(output_folder: OutputFolder, port_scans: pl.DataFrame, longterm_port_scans: pl.DataFrame):
    """sshd findings over every materialised day, and their join with the port-scan detectors."""
    frames = output_folder.daily_partitions("sshd_events")
    events = pl.concat([frames[d] for d in sorted(frames)], how="vertical_relaxed") if frames else _no_events()
    tables = {
        "sshd_notable_lines": sshd.notable_lines(events),
        "sshd_kind_counts": sshd.kind_counts(events),
        "sshd_top_sources": sshd.top_sources(events),
        "sshd_scanners": sshd.scanners_at_sshd(events, port_scans, longterm_port_scans),
    }
    for name, table in tables.items():
        exported = export_table(output_folder, name, table)
        yield dg.Output(table, name, metadata={
            "dagster/row_count": table.height,
            "days": len(frames),
            "top": dg.MetadataValue.md(markdown_table(bounded_frame(table.drop("message", strict=False)))),
            **exported,
        })


def _no_events() -> pl.DataFrame:
    schema = {**sshd.EVENT_SCHEMA, "country_code": pl.String, "country_name": pl.String, "address_class": pl.String}
    return pl.DataFrame(schema=schema)


SSHD_DAILY_ASSETS = [sshd_events]
SSHD_HISTORY_ASSETS = [sshd_findings]
