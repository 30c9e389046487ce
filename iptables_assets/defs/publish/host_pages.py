"""The fleet's per-host view: each host's line of `host_summary`, the drops per host and day and,
with more than one host, a journal page per host and the fleet page's figure of them."""

import dataclasses
import time
from datetime import datetime, timezone

import dagster as dg
import polars as pl

from iptables_assets.analysis import aggregates as agg
from iptables_assets.analysis import per_host
from iptables_assets.analysis.digest import ALL
from iptables_assets.atomic import write_bytes_atomic
from iptables_assets.days import days_between
from iptables_assets.defs.every_day import EVERY_DAY, history
from iptables_assets.defs.exports import export_table
from iptables_assets.defs.jobs import HISTORY, PUBLISH_GROUP, in_stage
from iptables_assets.defs.automation import AFTER_INPUTS
from iptables_assets.defs.metadata import markdown_table
from iptables_assets.defs.resources import Analysis, GeoIP, OutputFolder, Publication
from iptables_assets.defs.table_checks import definition_metadata, empty, schema_check, stored
from iptables_assets.enrich.geo import GEOLOCATION_DISCLAIMER
from iptables_assets.publish import host_pages, plotting, source_pages
from iptables_assets.tables import schema

FLEET_TABLES = {
    "host_summary": "Each host's counted drops, busiest day, scans, sshd events, top country and port, and its "
                    "journal page (a fleet's; null with one host).",
    "drops_per_host_day": "Counted drops per day and host (the fleet page's figure).",
}


@dg.multi_asset(
    outs={name: dg.AssetOut(description=text, metadata=definition_metadata(name), automation_condition=AFTER_INPUTS,
                            tags=in_stage(HISTORY))
          for name, text in FLEET_TABLES.items()},
    ins={**{name: EVERY_DAY for name in (*per_host.HOST_DAILY_TABLES, "sshd_events", "daily_digest")}},
    group_name=PUBLISH_GROUP,
    check_specs=[schema_check(name) for name in FLEET_TABLES],
)
def fleet_pages(publication: Publication, analysis: Analysis, geoip: GeoIP, output_folder: OutputFolder,
                country_reference: pl.DataFrame, log_file_inventory: pl.DataFrame, country_totals: pl.DataFrame,
                port_totals: pl.DataFrame, port_scans: pl.DataFrame, longterm_port_scans: pl.DataFrame,
                sshd_kind_counts: pl.DataFrame, sshd_top_sources: pl.DataFrame,
                daily_country_counts: dict[str, pl.LazyFrame],
                daily_port_counts: dict[str, pl.LazyFrame], daily_country_port_counts: dict[str, pl.LazyFrame],
                daily_source_summary: dict[str, pl.LazyFrame], daily_port_scans: dict[str, pl.LazyFrame],
                daily_traffic_breakdown: dict[str, pl.LazyFrame], sshd_events: dict[str, pl.LazyFrame],
                daily_digest: dict[str, pl.LazyFrame]):
    """Per-host views of a fleet: every host's whole-history tables from its rows of the daily
    tables; with more than one host, its journal page under `<journal>/hosts/` and the figure of
    drops per host and day on the fleet page, each page with its host's daily digest. With one host
    its view is the whole history's tables (daily tables are read lazily: only what the path taken
    needs)."""
    days_of = {"daily_country_counts": daily_country_counts, "daily_port_counts": daily_port_counts,
               "daily_country_port_counts": daily_country_port_counts, "daily_source_summary": daily_source_summary,
               "daily_port_scans": daily_port_scans, "daily_traffic_breakdown": daily_traffic_breakdown,
               "sshd_events": sshd_events, "daily_digest": daily_digest}
    breakdown, present, _missing = history("daily_traffic_breakdown", daily_traffic_breakdown)
    countries = history("daily_country_counts", daily_country_counts)[0]
    hosts = sorted({*breakdown["host"].unique(), *_sshd_hosts(sshd_events)},
                   key=lambda h: (h is None, h or ""))
    days = days_between(present[0], present[-1]) if present else []
    started = time.perf_counter()
    if len(hosts) > 1:
        sources = _sources_with_pages(publication, days_of["daily_source_summary"], port_scans, longterm_port_scans,
                                      sshd_top_sources)
        lines, folders, workers = _host_views(publication, analysis, geoip, output_folder, country_reference,
                                              log_file_inventory, days_of, hosts, days, sources)
    else:  # one host: its view is the whole history's tables, already made
        view = per_host.HostHistory(tables={"daily_country_counts": countries, "country_totals": country_totals,
                                            "port_totals": port_totals, "port_scans": port_scans,
                                            "longterm_port_scans": longterm_port_scans,
                                            "sshd_kind_counts": sshd_kind_counts}, days=days)
        lines, folders, workers = [per_host.host_line(host, None, view) for host in hosts], {}, 0
    removed = _remove_stale_pages(publication.journal_folder(output_folder), set(folders.values()))
    summary = pl.DataFrame(lines, schema=schema("host_summary"))
    per_day = per_host.drops_per_host_day(countries)
    if folders:
        _draw_fleet_figure(publication, output_folder, per_day, hosts, days, _context(publication, analysis, geoip,
                                                                                     hosts))
    seconds = time.perf_counter() - started
    yield _summary_result(output_folder, summary, len(folders), workers, removed, seconds)
    exported = export_table(output_folder, "drops_per_host_day", per_day)
    yield stored("drops_per_host_day", per_day, {"dagster/row_count": per_day.height, "days": len(days), **exported})


def _sshd_hosts(sshd_events: dict[str, pl.LazyFrame]) -> set:
    """The hosts of the stored sshd events (their host column alone is read)."""
    if not sshd_events:
        return set()
    return set(pl.concat([frame.select("host") for frame in sshd_events.values()]).unique().collect()["host"])


def _host_views(publication: Publication, analysis: Analysis, geoip: GeoIP, output_folder: OutputFolder,
                country_reference: pl.DataFrame, log_file_inventory: pl.DataFrame, days_of: dict,
                hosts: list, days: list, sources: list[str]) -> tuple[list[dict], dict, int]:
    """Each host's view from its rows of the daily tables, its summary line, and its journal page
    (drawn by `PageWriters`): the lines, the page folders and the processes that drew them."""
    slices = _host_slices(days_of)
    sshd_slices = per_host.split_by_host(history("sshd_events", days_of["sshd_events"])[0])
    folders = per_host.page_folders(hosts, publication.redact)
    digests, digest_days, _missing = history("daily_digest", days_of["daily_digest"])
    context = dataclasses.replace(_context(publication, analysis, geoip, hosts), digest_rule=analysis.digest_rule(),
                                  digest_days=tuple(digest_days), sources=tuple(sources))
    lines = []
    with host_pages.PageWriters(len(folders)) as writers:
        for host in hosts:
            mine = {name: parts.get(host, empty(name)) for name, parts in slices.items()}
            view = per_host.host_history(mine, sshd_slices.get(host, empty("sshd_events")), country_reference, days,
                                         analysis.scan_threshold, analysis.big_scan_threshold)
            # a host's page is the journal of its logs alone: its findings are the page's own
            view.tables["daily_digest"] = digests.filter(pl.col("scope") == host).with_columns(
                pl.lit(ALL).alias("scope"))
            folder = publication.journal_folder(output_folder) / host_pages.HOSTS_FOLDER / folders[host]
            writers.write(folder, host, view, per_host.host_inventory(log_file_inventory, host), context)
            lines.append(per_host.host_line(host, folders[host], view))
    return lines, folders, writers.workers


def _sources_with_pages(publication: Publication, summaries: dict[str, pl.LazyFrame], port_scans: pl.DataFrame,
                        longterm: pl.DataFrame, sshd_top: pl.DataFrame) -> list[str]:
    """The sources `source_page_list` gives a page, in its order (the same choice from the same
    tables), for the host pages' links."""
    drops = history("daily_source_summary", summaries, ["src_ip", "packets"])[0].group_by("src_ip").agg(
        pl.col("packets").sum())
    return source_pages.choose(drops, port_scans, longterm, sshd_top, publication.source_pages)["src_ip"].to_list()


def _host_slices(days_of: dict) -> dict:
    """Each daily table's rows per host (one table in memory at a time besides the slices; the
    source summaries with the columns the long-term detector reads)."""
    slices = {}
    for name in per_host.HOST_DAILY_TABLES:
        columns = agg.LONGTERM_COLUMNS if name == "daily_source_summary" else None
        slices[name] = per_host.split_by_host(history(name, days_of[name], columns)[0])
    return slices


def _context(publication: Publication, analysis: Analysis, geoip: GeoIP, hosts: list) -> host_pages.PageContext:
    named = [h for h in hosts if h]
    return host_pages.PageContext(
        look=publication.look(analysis.direction, geoip), direction=analysis.direction,
        actions=tuple(analysis.actions), scan_threshold=analysis.scan_threshold,
        big_scan_threshold=analysis.big_scan_threshold, disclaimer=GEOLOCATION_DISCLAIMER, credits=geoip.credits(),
        generated=datetime.now(timezone.utc), fleet_name=publication.site_name, redact=publication.redact,
        hosts=(publication.site_name, *named),
    )


def _draw_fleet_figure(publication, output_folder, per_day: pl.DataFrame, hosts: list, days: list, context) -> None:
    labels = {host: context.label(host) for host in hosts}
    title = f"{context.redactor().host(publication.site_name)}: dropped packets per host and day"
    figure = host_pages.drops_per_host_day_figure(per_day, labels, days, title)
    write_bytes_atomic(publication.journal_folder(output_folder) / host_pages.FLEET_FIGURE, plotting.png_bytes(figure))


def _remove_stale_pages(journal, current: set[str]) -> list[str]:
    """Pages of hosts no longer in the logs (a host folder this asset wrote, not in `current`)."""
    root = journal / host_pages.HOSTS_FOLDER
    if not root.exists():
        return []
    stale = [child for child in root.iterdir() if child.name not in current and (child / "index.html").exists()]
    for child in stale:
        child.fs.rm(child.path, recursive=True)
    return sorted(child.name for child in stale)


def _summary_result(output_folder: OutputFolder, summary: pl.DataFrame, written: int, workers: int,
                    removed: list[str], seconds: float):
    exported = export_table(output_folder, "host_summary", summary)
    top = summary.sort("events", descending=True).head(20).select("host", "events", "daily_scans", "page")
    return stored("host_summary", summary, {
        "dagster/row_count": summary.height,
        "host_pages": written,
        "page_processes": workers,
        "seconds_per_host": round(seconds / max(summary.height, 1), 2),
        "stale_pages_removed": dg.MetadataValue.json(removed),
        "top": dg.MetadataValue.md(markdown_table(top)),
        **exported,
    })
