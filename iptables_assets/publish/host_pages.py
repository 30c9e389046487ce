"""A fleet's host pages: for each host, the journal a server with that host's logs alone would
have (figures, films, tables and sshd findings of its rows), in `<journal>/hosts/<folder>/`,
with a link back to the fleet's page; and the fleet page's figure of drops per host and day.

Drawn by the registry's own figure and film entries (`catalog`), so a host page has the same
content as the single-host journal; host names are data (escaped, redacted when asked) and the
folder names are made safe (`per_host.page_folders`).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePosixPath

import numpy as np
import polars as pl
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from upath import UPath

from iptables_assets import progress
from iptables_assets.analysis.digest import DigestRule
from iptables_assets.analysis.per_host import UNNAMED, HostHistory, rows_by
from iptables_assets.atomic import write_bytes_atomic
from iptables_assets.publish import animation, figures, journal, plotting
from iptables_assets.publish.catalog import FIGURES, FILMS, Look, day_counts, render_frame
from iptables_assets.publish.digest_section import digest_sections
from iptables_assets.publish.source_pages import page_file
from iptables_assets.publish.redaction import Redactor

HOSTS_FOLDER = "hosts"
FLEET_FIGURE = "figures/drops_per_host_day.png"  # on the fleet page, under the journal folder


@dataclass(frozen=True)
class PageContext:
    """What every host page shares: how figures are drawn, the journal's fixed texts and
    settings, the fleet page it links back to, and the host names to redact in a fixed order."""

    look: Look
    direction: str
    actions: tuple[str, ...]
    scan_threshold: int
    big_scan_threshold: int
    disclaimer: str
    credits: list[str]
    generated: datetime
    fleet_name: str
    redact: bool
    hosts: tuple[str, ...]  # the site name first, then every host, sorted: [HOST-n] alike on every page
    digest_rule: DigestRule = DigestRule()
    digest_days: tuple[date, ...] = ()  # the days with a stored digest
    sources: tuple[str, ...] = ()  # the sources with a page, in page order (`source_pages.choose`)

    def page_redactor(self) -> tuple[Redactor, dict[str, str]]:
        """The redactor of a host page, which meets the sources with a page first, in their order,
        as the journal and the source pages do ([IP-n] is page n), and the links to those pages."""
        redactor = self.redactor()
        links = {redactor.address(ip): "../../" + page_file(n) for n, ip in enumerate(self.sources, 1)}
        return redactor, links

    def redactor(self) -> Redactor:
        return Redactor(self.redact, hosts=self.hosts)

    def label(self, host: str | None) -> str:
        """How pages name a host (its pseudonym when redacting)."""
        return self.redactor().host(host) if host else UNNAMED


def write_host_page(folder: UPath, host: str | None, history: HostHistory, inventory: pl.DataFrame,
                    context: PageContext) -> dict:
    """Write the host's figures, films and `index.html` under `folder`; what was written."""
    label = context.label(host)
    look = dataclasses.replace(context.look, site=dataclasses.replace(context.look.site, name=label))
    drawn = _figures(folder, history, look)
    drawn += _films(folder, history, look)
    redactor, links = context.page_redactor()
    inputs = journal.JournalInputs(
        site_name=host or UNNAMED, direction=context.direction, inventory=inventory,
        country_totals=history.table("country_totals"), port_totals=history.table("port_totals"),
        port_scans=history.table("port_scans"), longterm_scans=history.table("longterm_port_scans"),
        scan_threshold=context.scan_threshold, big_scan_threshold=context.big_scan_threshold,
        figures=drawn, disclaimer=context.disclaimer, credits=context.credits, generated=context.generated,
        extra_sections=[*digest_sections(history.tables.get("daily_digest", pl.DataFrame()),
                                         list(context.digest_days), context.digest_rule, redactor),
                        journal.sshd_section(history.table("sshd_kind_counts"), history.table("sshd_top_sources"),
                                             history.table("sshd_scanners"), history.table("sshd_notable_lines"),
                                             redactor)],
        traffic=history.table("daily_traffic_breakdown") if history.table("daily_traffic_breakdown").height else None,
        actions=context.actions,
        up_link=("../../" + journal.JOURNAL_FILE, f"Fleet: {redactor.host(context.fleet_name)}"),
        source_links=links,
    )
    page = journal.render(inputs, redactor).encode("utf-8")
    write_bytes_atomic(folder / journal.JOURNAL_FILE, page)
    return {"figures": len(drawn), "bytes": len(page)}


class PageWriters:
    """Writes host pages in up to `workers` spawned processes, a few pages queued at a time (a
    page is drawn by matplotlib, which holds the GIL: threads would not help); in this process
    with one worker, one page, or inside a daemonic process (a Celery worker's task may not
    start children: there the pages are one step, drawn in turn). A failed page fails the whole."""

    def __init__(self, pages: int, workers: int | None = None):
        workers = workers or len(os.sched_getaffinity(0))
        self.workers = 1 if multiprocessing.current_process().daemon else max(1, min(workers, pages))
        self._progress = progress.track("host pages", pages, "hosts") if pages else None
        self._pool: ProcessPoolExecutor | None = None
        self._queued: list[Future] = []

    def __enter__(self) -> "PageWriters":
        if self.workers > 1:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        return self

    def write(self, folder: UPath, host: str | None, history: HostHistory, inventory: pl.DataFrame,
              context: PageContext) -> None:
        if self._pool is None:
            write_host_page(folder, host, history, inventory, context)
            self._progress.update()
            return
        while len(self._queued) >= 2 * self.workers:  # bounded: each queued page holds its host's tables
            self._done(self._queued.pop(0))
        self._queued.append(self._pool.submit(write_host_page, folder, host, history, inventory, context))

    def _done(self, future: Future) -> None:
        future.result()
        self._progress.update()

    def __exit__(self, *exc) -> None:
        try:
            while self._queued and exc[0] is None:
                self._done(self._queued.pop(0))
        finally:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
            if self._progress is not None:
                self._progress.close()


def _figures(folder: UPath, history: HostHistory, look: Look) -> list[journal.JournalFigure]:
    made = []
    for spec in FIGURES:
        for name, draw, caption in spec.expanded(look):
            relative = f"figures/{name}.png"
            write_bytes_atomic(folder / relative, plotting.png_bytes(draw(history.table(spec.source))))
            made.append(journal.JournalFigure(spec.section, relative, name, caption))
    return made


def _films(folder: UPath, history: HostHistory, look: Look) -> list[journal.JournalFigure]:
    """Each film of the host's window as a GIF, its frames recoloured in memory (not kept)."""
    made = []
    top = figures.top_ports(history.table("port_totals"))
    for film in FILMS.values():
        by_day = rows_by(history.table(film.source), "day")
        top_ports = top if film.top_ports else ()
        frames = [render_frame(film, day_counts(film, by_day.get(day)), day, look, top_ports) for day in history.days]
        if not frames:
            continue
        relative = f"animations/{film.name}.gif"
        write_bytes_atomic(folder / relative, animation.assemble_gif(frames))
        made.append(journal.JournalFigure("animations", relative, film.title, film.caption))
    return made


def host_link(folder_name: str) -> str:
    """The fleet page's link to a host page (relative, so the journal folder can move)."""
    return str(PurePosixPath(HOSTS_FOLDER, folder_name, journal.JOURNAL_FILE))


def drops_per_host_day_figure(per_host_day: pl.DataFrame, labels: dict[str | None, str], days: list[date],
                              title: str) -> Figure:
    """Hosts (rows, in the order of `labels`) by days (columns), each cell the day's counted
    drops of the host on a log colour scale from the quietest host-day to the busiest (white: none)."""
    hosts = list(labels)
    grid = np.zeros((len(hosts), len(days)))
    row, column = {h: i for i, h in enumerate(hosts)}, {d: j for j, d in enumerate(days)}
    for day, host, events in per_host_day.select("day", "host", "events").iter_rows():
        if host in row and day in column:
            grid[row[host], column[day]] = events
    height = min(2.0 + 0.28 * len(hosts), 40.0)
    fig = Figure(figsize=(11, height), dpi=plotting.DPI)
    axes = fig.add_subplot()
    shown = np.ma.masked_where(grid <= 0, grid)
    low = max(1.0, float(shown.min()) if shown.count() else 1.0)
    image = axes.imshow(shown, aspect="auto", interpolation="nearest", cmap="viridis",
                        norm=LogNorm(vmin=low, vmax=max(float(grid.max()), low + 1.0)))
    axes.set_yticks(range(len(hosts)), [labels[h] for h in hosts], fontsize=8)
    step = max(1, len(days) // 15)
    axes.set_xticks(range(0, len(days), step), [days[j].isoformat() for j in range(0, len(days), step)],
                    rotation=45, ha="right", fontsize=8)
    axes.set_title(title)
    fig.colorbar(image, ax=axes, label="Dropped packets (log scale)")
    fig.tight_layout()
    return fig
