"""The journal page: every figure and table of the whole history in one static index.html."""

from datetime import datetime, timezone

import dagster as dg
import polars as pl

from iptables_assets.atomic import write_bytes_atomic
from iptables_assets.defs.assets.figures import journal_figures
from iptables_assets.defs.resources import Analysis, GeoIP, OutputFolder, Publication
from iptables_assets.enrich.geo import GEOLOCATION_DISCLAIMER
from iptables_assets.publish import journal

GROUP = "journal"


@dg.asset(group_name=GROUP, kinds={"html"}, deps=["daily_traffic_breakdown"])
def journal_report(
    log_file_inventory: pl.DataFrame,
    country_totals: pl.DataFrame,
    port_totals: pl.DataFrame,
    port_scans: pl.DataFrame,
    longterm_port_scans: pl.DataFrame,
    drops_map: pl.DataFrame,
    top_countries_chart: pl.DataFrame,
    top_countries_timeline: pl.DataFrame,
    port_figures: pl.DataFrame,
    port_maps: pl.DataFrame,
    scan_maps: pl.DataFrame,
    drops_map_animation: pl.DataFrame,
    well_known_ports_animation: pl.DataFrame,
    top_ports_animation: pl.DataFrame,
    sshd_notable_lines: pl.DataFrame,
    sshd_kind_counts: pl.DataFrame,
    sshd_top_sources: pl.DataFrame,
    sshd_scanners: pl.DataFrame,
    publication: Publication,
    analysis: Analysis,
    geoip: GeoIP,
    output_folder: OutputFolder,
) -> dg.MaterializeResult:
    """The HTML traffic journal (index.html beside its figures): log dates, figures, top countries
    and ports, scans, disclaimer and credits; addresses and host names redacted if configured."""
    publication.checked()
    redactor = publication.redactor()
    sshd_section = journal.sshd_section(
        sshd_kind_counts, sshd_top_sources, sshd_scanners, sshd_notable_lines, redactor
    )
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
        figures=journal_figures(
            drops_map, top_countries_chart, top_countries_timeline, port_figures, port_maps, scan_maps,
            drops_map_animation, well_known_ports_animation, top_ports_animation,
        ),
        disclaimer=GEOLOCATION_DISCLAIMER,
        credits=publication.credits(geoip),
        generated=datetime.now(timezone.utc),
        extra_sections=[sshd_section],
        traffic=_traffic_breakdown(output_folder),
        actions=tuple(analysis.actions),
    )
    page = journal.render(inputs, redactor)
    path = publication.journal_folder(output_folder) / journal.JOURNAL_FILE
    write_bytes_atomic(path, page.encode("utf-8"))
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "figures": len(inputs.figures),
            "redacted": publication.redact,
            "bytes": len(page.encode("utf-8")),
        }
    )


def _traffic_breakdown(output_folder: OutputFolder) -> pl.DataFrame | None:
    """Every materialised day's firewall events by action, direction and counted (None if none),
    for the journal to say why counted packets are fewer than the firewall events."""
    days = output_folder.daily_partitions("daily_traffic_breakdown")
    return pl.concat([days[d] for d in sorted(days)], how="vertical_relaxed") if days else None
