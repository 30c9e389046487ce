"""A page per notable source (`publish/source_pages.py`): the list of them, and their pages under
`<journal>/sources/`, which the journal links from every table that names a source."""

from datetime import date, datetime, timezone

import dagster as dg
import polars as pl

from iptables_assets.atomic import write_bytes_atomic
from iptables_assets.defs.automation import AFTER_INPUTS
from iptables_assets.defs.every_day import EVERY_DAY
from iptables_assets.defs.jobs import PUBLISH, PUBLISH_GROUP, in_stage
from iptables_assets.defs.metadata import markdown_table
from iptables_assets.defs.resources import GeoIP, OutputFolder, Publication
from iptables_assets.defs.table_checks import definition_metadata, empty, schema_check, stored
from iptables_assets.enrich.geo import GEOLOCATION_DISCLAIMER
from iptables_assets.publish import source_pages

_DAY_COLUMNS = ["day", "host", "src_ip", "packets", "dst_ports", "country_code", "country_name", "first_seen",
                "last_seen"]


@dg.asset(
    group_name=PUBLISH_GROUP, tags=in_stage(PUBLISH), kinds={"html"}, automation_condition=AFTER_INPUTS,
    ins={"daily_source_summary": EVERY_DAY, "sshd_events": EVERY_DAY},
    check_specs=[schema_check("source_page_list")], metadata=definition_metadata("source_page_list"),
)
def source_page_list(publication: Publication, geoip: GeoIP, output_folder: OutputFolder,
                     port_scans: pl.DataFrame, longterm_port_scans: pl.DataFrame, sshd_top_sources: pl.DataFrame,
                     host_summary: pl.DataFrame, daily_source_summary: dict[str, pl.LazyFrame],
                     sshd_events: dict[str, pl.LazyFrame]):
    """A page per notable source (every scanner, the top sources by drops, the top sshd sources; at
    most `Publication.source_pages`): first and last seen, its drops per day, the ports it tried,
    its scans and sshd lines, country and ASN, the hosts it reached; named by number, never by
    address, and titled by its pseudonym when redacting."""
    publication.checked()
    keys = sorted(daily_source_summary)
    drops = _concat([daily_source_summary[k].select("src_ip", "packets") for k in keys], "daily_source_summary",
                    ["src_ip", "packets"]).group_by("src_ip").agg(pl.col("packets").sum())
    chosen = source_pages.choose(drops, port_scans, longterm_port_scans, sshd_top_sources, publication.source_pages)
    wanted = chosen["src_ip"].implode()
    days = _concat([daily_source_summary[k].select(_DAY_COLUMNS).filter(pl.col("src_ip").is_in(wanted)) for k in keys],
                   "daily_source_summary", _DAY_COLUMNS)
    sshd = _concat([f.select("src_ip", "kind").filter(pl.col("src_ip").is_in(wanted)) for f in sshd_events.values()],
                   "sshd_events", ["src_ip", "kind"])
    span = (date.fromisoformat(keys[0]), date.fromisoformat(keys[-1])) if keys else None
    views = source_pages.views(chosen, days, port_scans, longterm_port_scans, sshd, span)
    hosts = sorted(h for h in host_summary["host"].to_list() if h)
    site = source_pages.PageSite(publication.site_name, publication.redact, (publication.site_name, *hosts),
                                 GEOLOCATION_DISCLAIMER, tuple(geoip.credits()), datetime.now(timezone.utc))
    redactor = source_pages.redactor_for(site, chosen)
    journal = publication.journal_folder(output_folder)
    with geoip.lookup() as lookup:
        for view in views:
            view.asn = lookup.asn(view.address)
            page = source_pages.render(view, site, redactor).encode("utf-8")
            write_bytes_atomic(journal / source_pages.page_file(view.rank), page)
    removed = _remove_stale_pages(journal, {source_pages.page_file(v.rank) for v in views})
    table = _table(chosen, days)
    shown = redactor.frame(table.select("page_number", "src_ip", "reasons", "packets"), addresses=["src_ip"])
    return stored("source_page_list", table, {"dagster/row_count": table.height, "pages_removed": len(removed),
                                              "sources": dg.MetadataValue.md(markdown_table(shown.head(20)))})


def _concat(frames: list[pl.LazyFrame], table: str, columns: list[str]) -> pl.DataFrame:
    return pl.concat(frames).collect() if frames else empty(table).select(columns)


def _table(chosen: pl.DataFrame, days: pl.DataFrame) -> pl.DataFrame:
    """The list: each page's number, source, file, reasons, counted drops, first and last seen."""
    per_source = days.group_by("src_ip").agg(pl.col("packets").sum(), pl.col("first_seen").min(),
                                              pl.col("last_seen").max())
    return chosen.join(per_source, on="src_ip", how="left").select(
        pl.col("rank").alias("page_number"), "src_ip",
        pl.col("rank").map_elements(source_pages.page_file, return_dtype=pl.String).alias("source_page"),
        "reasons", pl.col("packets").fill_null(0), "first_seen", "last_seen",
    ).sort("page_number")


def _remove_stale_pages(journal, current: set[str]) -> list[str]:
    """Pages of sources that no longer have one (the list changes as the history grows)."""
    folder = journal / source_pages.FOLDER
    if not folder.exists():
        return []
    stale = [p for p in folder.iterdir()
             if p.name.endswith(".html") and f"{source_pages.FOLDER}/{p.name}" not in current]
    for path in stale:
        path.unlink()
    return [p.name for p in stale]
