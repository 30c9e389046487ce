"""Geo stage: country of every event's source address; the country reference table."""

from datetime import date

import dagster as dg
import polars as pl

from iptables_assets import progress
from iptables_assets.defs import partitioned
from iptables_assets.defs.assets.metadata import markdown_table
from iptables_assets.defs.partitions import daily_partitions
from iptables_assets.defs.resources import GeoIP
from iptables_assets.enrich import countries
from iptables_assets.enrich.geo import GEOIP_CREDIT, geotag

GROUP = "geo"


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"polars", "parquet"},
)
def geotagged_events(context: dg.AssetExecutionContext, geoip: GeoIP, firewall_events) -> dg.Output:
    """firewall_events plus the source address's country_code, country_name and address_class."""
    events = partitioned.by_day(context, firewall_events)
    with geoip.lookup() as lookup:
        tagged = {day: geotag(events[day], lookup) for day in progress.iterate(list(events), "geo-tagging", "days")}
        info = lookup.country_info
    return dg.Output(partitioned.output(tagged), metadata=_metadata(tagged, info))


def _metadata(tagged: dict[date, pl.DataFrame], info) -> dict:
    rows = pl.concat(list(tagged.values()), how="vertical_relaxed")
    located = rows.filter(pl.col("country_code").is_not_null()).height
    top = (
        rows.group_by("country_code", "country_name")
        .len("events")
        .sort(["events", "country_code"], descending=[True, False], nulls_last=True)
        .head(10)
    )
    classes = dict(rows.group_by("address_class").len().sort("address_class").iter_rows())
    return {
        "dagster/row_count": rows.height,
        "share_located": round(located / rows.height, 4) if rows.height else 0.0,
        "address_classes": dg.MetadataValue.json(classes),
        "top_countries": dg.MetadataValue.md(markdown_table(top)),
        "geoip_database": info.database_type,
        "geoip_build_date": info.build_date,
        "geoip_path": dg.MetadataValue.path(info.path),
        "credit": GEOIP_CREDIT,
    }


@dg.asset(group_name=GROUP, kinds={"polars", "parquet"})
def country_reference() -> dg.MaterializeResult:
    """Countries from the bundled Natural Earth shapes: ISO alpha-2/3, name, continent, a point."""
    table = countries.country_reference("110m")
    return dg.MaterializeResult(
        value=table,
        metadata={
            "dagster/row_count": table.height,
            "shapeless_codes": dg.MetadataValue.json(countries.SHAPELESS_CODES),
            "preview": dg.MetadataValue.md(markdown_table(table)),
        },
    )
