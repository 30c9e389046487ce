"""Static figures of the journal: world maps, country charts and port tiles, as PNG files."""

import base64

import dagster as dg
import polars as pl

from iptables_assets.atomic import write_bytes_atomic
from iptables_assets.defs.resources import Analysis, GeoIP, OutputFolder, Publication
from iptables_assets.publish import figures, plotting
from iptables_assets.publish.journal import JournalFigure

GROUP = "figures"
FIGURES_FOLDER = "figures"
FIGURE_SCHEMA = {"section": pl.String, "file": pl.String, "title": pl.String, "caption": pl.String}


def published_file(
    publication: Publication, output_folder: OutputFolder, relative: str, data: bytes, preview_png: bytes
) -> tuple[str, dict]:
    """Write `data` to `<journal>/<relative>` atomically; the path and a small preview (a
    downscaled palette PNG in Markdown, tens of KB) as materialisation metadata."""
    path = publication.journal_folder(output_folder) / relative
    write_bytes_atomic(path, data)
    name = relative.rsplit("/", 1)[-1].split(".")[0]
    preview = base64.b64encode(plotting.preview_png(preview_png)).decode("ascii")
    return str(path), {
        f"preview_{name}": dg.MetadataValue.md(f"![{name}](data:image/png;base64,{preview})"),
        f"path_{name}": dg.MetadataValue.path(str(path)),
    }


def publish(
    publication: Publication,
    output_folder: OutputFolder,
    section: str,
    drawn: dict[str, tuple],
) -> dg.MaterializeResult:
    """Write each (figure, caption) of `drawn` as `<journal>/figures/<name>.png` and return the
    list of figures for the journal, with a preview of each for the UI."""
    rows, metadata = [], {}
    for name, (figure, caption) in drawn.items():
        png = plotting.png_bytes(figure)
        relative = f"{FIGURES_FOLDER}/{name}.png"
        _path, entries = published_file(publication, output_folder, relative, png, png)
        metadata.update(entries)
        metadata[f"size_{name}"] = f"{int(figure.bbox.width)}x{int(figure.bbox.height)} px, {len(png):,} bytes"
        rows.append({"section": section, "file": relative, "title": name, "caption": caption})
    return dg.MaterializeResult(value=pl.DataFrame(rows, schema=FIGURE_SCHEMA), metadata=metadata)


def journal_figures(*tables: pl.DataFrame) -> list[JournalFigure]:
    """The figure lists of several figure assets as JournalFigures, in the order given."""
    return [JournalFigure(**row) for table in tables for row in table.iter_rows(named=True)]


def _site(publication: Publication, analysis: Analysis, geoip: GeoIP) -> figures.Site:
    return publication.checked().site(analysis.direction, geoip)


@dg.asset(group_name=GROUP, kinds={"matplotlib", "png"})
def drops_map(
    country_totals: pl.DataFrame, publication: Publication, analysis: Analysis, geoip: GeoIP,
    output_folder: OutputFolder,
) -> dg.MaterializeResult:
    """World map of counted drops per source country (ramp #300000 to #E00000)."""
    site = _site(publication, analysis, geoip)
    figure = figures.drops_map(country_totals, site, publication.map_resolution)
    caption = "Dropped packets per source country over the whole history (grey: none; unknown sources left out)."
    return publish(publication, output_folder, "countries", {"drops_map": (figure, caption)})


@dg.asset(group_name=GROUP, kinds={"matplotlib", "png"}, deps=["daily_country_port_counts"])
def port_maps(
    publication: Publication, analysis: Analysis, geoip: GeoIP, output_folder: OutputFolder
) -> dg.MaterializeResult:
    """One world map per configured port (default 22 ssh, 23 telnet, 445 microsoft-ds)."""
    site = _site(publication, analysis, geoip)
    daily = output_folder.daily_partitions("daily_country_port_counts")
    combined = pl.concat(list(daily.values()), how="vertical_relaxed") if daily else pl.DataFrame(
        schema={"country_code": pl.String, "dst_port": pl.Int32, "events": pl.Int64}
    )
    totals = figures.country_port_totals(combined, publication.map_ports)
    drawn = {
        f"port_{port}_map": (
            figures.port_map(totals, port, site, publication.map_resolution),
            f"Dropped packets to {figures.port_label(port).lower()} per source country.",
        )
        for port in publication.map_ports
    }
    return publish(publication, output_folder, "services", drawn)


@dg.asset(group_name=GROUP, kinds={"matplotlib", "png"})
def scan_maps(
    scan_summary: pl.DataFrame, publication: Publication, analysis: Analysis, geoip: GeoIP,
    output_folder: OutputFolder,
) -> dg.MaterializeResult:
    """World maps of distinct scanning addresses per country, per-day and long-term detectors."""
    site = _site(publication, analysis, geoip)
    drawn = {
        f"{detector}_scanners_map": (
            figures.scanners_map(scan_summary, detector, site, publication.map_resolution),
            f"Distinct addresses per country found by the {label} detector.",
        )
        for detector, label in (("daily", "per-day"), ("longterm", "long-term"))
    }
    return publish(publication, output_folder, "scans", drawn)


@dg.asset(group_name=GROUP, kinds={"matplotlib", "png"})
def top_countries_chart(
    country_totals: pl.DataFrame, publication: Publication, analysis: Analysis, geoip: GeoIP,
    output_folder: OutputFolder,
) -> dg.MaterializeResult:
    """Bar chart of the top-20 countries by counted drops, largest first."""
    figure = figures.top_countries_chart(country_totals, _site(publication, analysis, geoip))
    return publish(
        publication, output_folder, "countries",
        {"top_countries": (figure, "The 20 countries most packets came from.")},
    )


@dg.asset(group_name=GROUP, kinds={"matplotlib", "png"})
def top_countries_timeline(
    top_country_daily_series: pl.DataFrame, publication: Publication, analysis: Analysis, geoip: GeoIP,
    output_folder: OutputFolder,
) -> dg.MaterializeResult:
    """Daily counted drops of each top-20 country, one line each (y axis 0..timeline_ymax)."""
    ymax = publication.timeline_ymax or None
    figure = figures.top_countries_timeline(top_country_daily_series, _site(publication, analysis, geoip), ymax)
    cut = f" (y axis shown up to {ymax:,})" if ymax else ""
    return publish(
        publication, output_folder, "countries",
        {"top_countries_timeline": (figure, f"Dropped packets per day from each of the top 20 countries{cut}.")},
    )


@dg.asset(group_name=GROUP, kinds={"matplotlib", "png"})
def port_figures(
    port_totals: pl.DataFrame, publication: Publication, analysis: Analysis, geoip: GeoIP,
    output_folder: OutputFolder,
) -> dg.MaterializeResult:
    """Port tiles (0-1023 on 32x32; top 256 on 16x16; each also truncated) and the top-256 bar chart."""
    site = _site(publication, analysis, geoip)
    cap = publication.truncate_at
    drawn = {
        "well_known_ports": (figures.well_known_ports_tile(port_totals, site), "Ports 0-1023 in port order, coloured by dropped packets (grey: none)."),
        "well_known_ports_truncated": (figures.well_known_ports_tile(port_totals, site, cap), f"The same, counts capped at {cap:,}."),
        "top_ports_chart": (figures.top_ports_chart(port_totals, site), "Dropped packets of the 256 most-dropped ports, in port order."),
        "top_ports": (figures.top_ports_tile(port_totals, site), "The 256 most-dropped ports in port order."),
        "top_ports_truncated": (figures.top_ports_tile(port_totals, site, cap), f"The same, counts capped at {cap:,}."),
    }
    return publish(publication, output_folder, "ports", drawn)


FIGURE_ASSETS = [drops_map, top_countries_chart, top_countries_timeline, port_figures, port_maps, scan_maps]
