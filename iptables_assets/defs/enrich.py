"""Enrich: the country of every event's source address; the country reference table."""

from datetime import date

import dagster as dg
import polars as pl

from iptables_assets import progress
from iptables_assets.defs import partitioned
from iptables_assets.defs.jobs import DAILY, ENRICH_GROUP, INVENTORY, in_stage
from iptables_assets.defs.automation import AFTER_INPUTS_DAILY, WHEN_MISSING
from iptables_assets.defs.metadata import markdown_table
from iptables_assets.defs.resources import GeoIP, LogSource, OutputFolder
from iptables_assets.defs.table_checks import definition_metadata, schema_check, stored
from iptables_assets.enrich import countries
from iptables_assets.enrich.geo import GEOIP_CREDIT, geotag
from iptables_assets.spill import spill

GROUP = ENRICH_GROUP


def build(daily: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The enrich assets on these partitions."""

    @dg.asset(partitions_def=daily, backfill_policy=dg.BackfillPolicy.single_run(), group_name=GROUP,
              tags=in_stage(DAILY), kinds={"polars", "parquet"}, check_specs=[schema_check("geotagged_events")],
              metadata=definition_metadata("geotagged_events"), automation_condition=AFTER_INPUTS_DAILY)
    def geotagged_events(context: dg.AssetExecutionContext, geoip: GeoIP, log_source: LogSource,
                         output_folder: OutputFolder, firewall_events: dict[str, pl.LazyFrame]):
        """firewall_events plus the source address's country_code, country_name and address_class."""
        where, tagged, summaries = partitioned.scratch(context, output_folder.base_path), {}, []
        with geoip.lookup() as lookup:
            for key in progress.iterate(sorted(firewall_events), "geo-tagging", "days"):
                frame = geotag(firewall_events[key].collect(), lookup)
                summaries.append(_summary(frame))
                tagged[date.fromisoformat(key)] = spill(frame, where, f"geotagged_events/{key}")
            info = lookup.country_info
        return stored("geotagged_events", partitioned.output(tagged), _metadata(summaries, info),
                      log_source.timezone)

    return [geotagged_events, country_reference]


def _summary(tagged: pl.DataFrame) -> pl.DataFrame:
    """A day's events per country and address class (what the metadata adds up)."""
    return tagged.group_by("country_code", "country_name", "address_class").len("events")


def _metadata(summaries: list[pl.DataFrame], info) -> dict:
    rows = pl.concat(summaries).group_by("country_code", "country_name", "address_class").agg(pl.col("events").sum())
    total = int(rows["events"].sum() or 0)
    located = int(rows.filter(pl.col("country_code").is_not_null())["events"].sum() or 0)
    top = (
        rows.group_by("country_code", "country_name").agg(pl.col("events").sum().cast(pl.UInt32))
        .sort(["events", "country_code"], descending=[True, False], nulls_last=True)
        .head(10)
    )
    classes = dict(rows.group_by("address_class").agg(pl.col("events").sum()).sort("address_class").iter_rows())
    return {
        "dagster/row_count": total,
        "share_located": round(located / total, 4) if total else 0.0,
        "address_classes": dg.MetadataValue.json(classes),
        "top_countries": dg.MetadataValue.md(markdown_table(top)),
        "geoip_database": info.database_type,
        "geoip_build_date": info.build_date,
        "geoip_path": dg.MetadataValue.path(info.path),
        "credit": GEOIP_CREDIT,
    }


@dg.asset(group_name=GROUP, tags=in_stage(INVENTORY), kinds={"polars", "parquet"},
          check_specs=[schema_check("country_reference")],
          metadata=definition_metadata("country_reference"), automation_condition=WHEN_MISSING)
def country_reference():
    """Countries from the bundled Natural Earth shapes: ISO alpha-2/3, name, continent, a point."""
    table = countries.country_reference("110m")
    return stored("country_reference", table, {
        "dagster/row_count": table.height,
        "shapeless_codes": dg.MetadataValue.json(countries.SHAPELESS_CODES),
        "preview": dg.MetadataValue.md(markdown_table(table)),
    })
