"""The journal page: every figure and table of the whole history in one static index.html."""

from datetime import datetime, timezone

import dagster as dg
import polars as pl

from iptables_assets.atomic import write_bytes_atomic
from iptables_assets.defs.every_day import EVERY_DAY, history
from iptables_assets.defs.exports import export_table
from iptables_assets.defs.jobs import PUBLISH, PUBLISH_GROUP, in_stage
from iptables_assets.defs.automation import AFTER_INPUTS
from iptables_assets.defs.resources import Analysis, GeoIP, OutputFolder, Publication
from iptables_assets.enrich.geo import GEOLOCATION_DISCLAIMER
from iptables_assets.publish import journal
from iptables_assets.publish.catalog import FIGURE_ASSETS, FILMS
from iptables_assets.publish.digest_section import digest_sections
from iptables_assets.publish.source_pages import page_file
from iptables_assets.publish.fleet_section import hosts_section, horizontal_scans_section
from iptables_assets.publish.host_pages import FLEET_FIGURE

# Every figure list the page shows, in page order: the figure groups, then the films.
FIGURE_LISTS = [*FIGURE_ASSETS, *(f"{film}_animation" for film in FILMS)]


@dg.asset(
    group_name=PUBLISH_GROUP, tags=in_stage(PUBLISH), kinds={"html"}, automation_condition=AFTER_INPUTS,
    ins={**{name: dg.AssetIn() for name in FIGURE_LISTS}, "daily_traffic_breakdown": EVERY_DAY,
         "daily_digest": EVERY_DAY},
)
def journal_report(
    log_file_inventory: pl.DataFrame,
    country_totals: pl.DataFrame,
    port_totals: pl.DataFrame,
    port_scans: pl.DataFrame,
    longterm_port_scans: pl.DataFrame,
    sshd_notable_lines: pl.DataFrame,
    sshd_kind_counts: pl.DataFrame,
    sshd_top_sources: pl.DataFrame,
    sshd_scanners: pl.DataFrame,
    horizontal_scans: pl.DataFrame,
    longterm_horizontal_scans: pl.DataFrame,
    host_summary: pl.DataFrame,
    source_page_list: pl.DataFrame,
    publication: Publication,
    analysis: Analysis,
    geoip: GeoIP,
    output_folder: OutputFolder,
    daily_traffic_breakdown: dict[str, pl.DataFrame],
    daily_digest: dict[str, pl.DataFrame],
    **figure_lists: pl.DataFrame,
):
    """The HTML traffic journal (index.html beside its figures): today's digest, log dates, figures,
    top countries and ports, scans, sshd findings, each day's digest, disclaimer and credits; for a
    fleet, its hosts linked to their pages and the horizontal scans; addresses and host names
    redacted if configured. Exports every day's digest (exports/daily_digest.csv, .parquet)."""
    publication.checked()
    redactor = publication.redactor(sorted(h for h in host_summary["host"].to_list() if h))
    # the source pages' sources first, in their order: [IP-n] is the same here and on their pages
    links = {redactor.address(ip): page_file(n) for n, ip in source_page_list.select("page_number", "src_ip").rows()}
    hosts = hosts_section(host_summary, redactor)
    fleet_figure = [journal.JournalFigure("hosts", FLEET_FIGURE, "drops_per_host_day",
                                          "Dropped packets per host and day (white: none).")] if hosts.tables else []
    sshd_section = journal.sshd_section(sshd_kind_counts, sshd_top_sources, sshd_scanners, sshd_notable_lines,
                                        redactor)
    traffic, present, _missing = history("daily_traffic_breakdown", daily_traffic_breakdown)
    digests, digest_days, _missing = history("daily_digest", daily_digest)
    exported = export_table(output_folder, "daily_digest", digests)
    inputs = journal.JournalInputs(
        site_name=publication.site_name,
        direction=analysis.direction,
        inventory=log_file_inventory,
        country_totals=country_totals,
        port_totals=port_totals,
        port_scans=port_scans,
        longterm_scans=longterm_port_scans,
        scan_threshold=analysis.scan_threshold,
        big_scan_threshold=analysis.big_scan_threshold,
        figures=[*fleet_figure, *(journal.JournalFigure(**row) for name in FIGURE_LISTS
                                  for row in figure_lists[name].iter_rows(named=True))],
        disclaimer=GEOLOCATION_DISCLAIMER,
        credits=geoip.credits(),
        generated=datetime.now(timezone.utc),
        extra_sections=[*digest_sections(digests, digest_days, analysis.digest_rule(), redactor), hosts, sshd_section,
                        horizontal_scans_section(
            horizontal_scans, longterm_horizontal_scans, analysis.fleet_scan_hosts, analysis.fleet_longterm_hosts,
            redactor)],
        traffic=traffic if present else None,
        actions=tuple(analysis.actions),
        source_links=links,
    )
    page = journal.render(inputs, redactor)
    path = publication.journal_folder(output_folder) / journal.JOURNAL_FILE
    write_bytes_atomic(path, page.encode("utf-8"))
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path)),
        "figures": len(inputs.figures),
        "redacted": publication.redact,
        "bytes": len(page.encode("utf-8")),
        "digest_days": len(digest_days),
        **exported,
    })
