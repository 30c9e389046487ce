"""Every figure and film of the journal, declared once: what it is drawn from, how, its caption
and its journal section. The Dagster layer makes the figure, frame and GIF assets and the
journal's inputs from these lists; adding a figure is one entry here and one draw function.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import Callable, Mapping, Sequence

import polars as pl
from matplotlib.figure import Figure

from upath import UPath

from iptables_assets.publish import animation, figures, recolour, static_store, template_store
from iptables_assets.publish.figures import WELL_KNOWN_PORTS, Site

DROPS = "Dropped packets"  # how the captions name what is counted
TEMPLATE_DAY = date(2000, 1, 1)  # any day: a film's static part is drawn with a date, then recoloured


@dataclass(frozen=True)
class Look:
    """How figures are drawn for this site (from the Publication resource)."""

    site: Site
    resolution: str = "110m"
    truncate_at: int = figures.DEFAULT_TRUNCATE_AT
    timeline_ymax: int | None = figures.DEFAULT_TIMELINE_YMAX
    map_ports: tuple[int, ...] = figures.DEFAULT_MAP_PORTS


@dataclass(frozen=True)
class FigureSpec:
    """One PNG of the journal: `journal/figures/<name>.png`, drawn by `draw` from the table
    `source` (a daily table arrives as all its days in one frame) inside the asset `asset`.
    A name with `{port}` stands for one figure per configured map port."""

    name: str
    asset: str
    source: str
    section: str
    draw: Callable[..., Figure]
    caption: str | Callable[[Look], str]

    def expanded(self, look: Look) -> list[tuple[str, Callable[[pl.DataFrame], Figure], str]]:
        """(file stem, draw(table), caption) of each figure this entry stands for."""
        if "{port}" not in self.name:
            caption = self.caption(look) if callable(self.caption) else self.caption
            return [(self.name, lambda table: self.draw(table, look), caption)]
        return [
            (self.name.format(port=port), lambda table, port=port: self.draw(table, look, port),
             self.caption.format(service=figures.port_label(port).lower()))
            for port in look.map_ports
        ]


def _capped(look: Look) -> str:
    return f"The same, counts capped at {look.truncate_at:,}."


def _timeline_caption(look: Look) -> str:
    cut = f" (y axis shown up to {look.timeline_ymax:,})" if look.timeline_ymax else ""
    return f"{DROPS} per day from each of the top 20 countries{cut}."


def _port_map(table: pl.DataFrame, look: Look, port: int) -> Figure:
    totals = figures.country_port_totals(table, look.map_ports)
    return figures.port_map(totals, port, look.site, look.resolution)


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("drops_map", "drops_map", "country_totals", "countries",
               lambda t, look: figures.drops_map(t, look.site, look.resolution),
               f"{DROPS} per source country over the whole history (grey: none; unknown sources left out)."),
    FigureSpec("top_countries", "top_countries_chart", "country_totals", "countries",
               lambda t, look: figures.top_countries_chart(t, look.site), "The 20 countries most packets came from."),
    FigureSpec("top_countries_timeline", "top_countries_timeline", "top_country_daily_series", "countries",
               lambda t, look: figures.top_countries_timeline(t, look.site, look.timeline_ymax or None),
               _timeline_caption),
    FigureSpec("well_known_ports", "port_figures", "port_totals", "ports",
               lambda t, look: figures.well_known_ports_tile(t, look.site),
               f"Ports 0-1023 in port order, coloured by {DROPS.lower()} (grey: none)."),
    FigureSpec("well_known_ports_truncated", "port_figures", "port_totals", "ports",
               lambda t, look: figures.well_known_ports_tile(t, look.site, look.truncate_at), _capped),
    FigureSpec("top_ports_chart", "port_figures", "port_totals", "ports",
               lambda t, look: figures.top_ports_chart(t, look.site),
               f"{DROPS} of the 256 most-dropped ports, in port order."),
    FigureSpec("top_ports", "port_figures", "port_totals", "ports",
               lambda t, look: figures.top_ports_tile(t, look.site), "The 256 most-dropped ports in port order."),
    FigureSpec("top_ports_truncated", "port_figures", "port_totals", "ports",
               lambda t, look: figures.top_ports_tile(t, look.site, look.truncate_at), _capped),
    FigureSpec("port_{port}_map", "port_maps", "daily_country_port_counts", "services", _port_map,
               DROPS + " to {service} per source country."),
    FigureSpec("daily_scanners_map", "scan_maps", "scan_summary", "scans",
               lambda t, look: figures.scanners_map(t, "daily", look.site, look.resolution),
               "Distinct addresses per country found by the per-day detector."),
    FigureSpec("longterm_scanners_map", "scan_maps", "scan_summary", "scans",
               lambda t, look: figures.scanners_map(t, "longterm", look.site, look.resolution),
               "Distinct addresses per country found by the long-term detector."),
)

# Figure assets in journal order, each with its entries and its one source table.
FIGURE_ASSETS: dict[str, tuple[FigureSpec, ...]] = {}
for _spec in FIGURES:
    FIGURE_ASSETS[_spec.asset] = (*FIGURE_ASSETS.get(_spec.asset, ()), _spec)


@dataclass(frozen=True)
class Film:
    """One animation: a frame per day drawn from the daily table `source` (counts by `key`,
    protocols summed), assembled into `journal/animations/<name>.gif`. `draw` draws a frame with
    matplotlib; the frames are made by recolouring what it draws once (`recolour`: which of its
    parts change from day to day, "countries" or "cells")."""

    name: str
    source: str
    key: str
    title: str
    caption: str
    draw: Callable[[Mapping, date, Look, Sequence[int]], Figure]
    description: str
    recolour: str
    top_ports: bool = False  # drawn with the whole-history top-256 list (from port_totals)


FILMS: dict[str, Film] = {film.name: film for film in (
    Film("drops_map", "daily_country_counts", "country_code", "Packet drops per country, day by day",
         f"{DROPS} per source country, one frame per day (counts capped at the truncation value).",
         lambda counts, day, look, top: animation.map_frame(counts, day, look.site, look.truncate_at, look.resolution),
         "World map of the day's counted drops per country: one frame per day, fixed colour scale "
         "(counts capped at Publication.truncate_at), the date in the corner.", "countries"),
    Film("well_known_ports", "daily_port_counts", "dst_port", "Ports 0-1023, day by day",
         f"{DROPS} to ports 0-1023, one frame per day (counts capped at the truncation value).",
         lambda counts, day, look, top: animation.tile_frame(counts, WELL_KNOWN_PORTS, day, look.site,
                                                             look.truncate_at, top=False),
         "Ports 0-1023 tile of the day's counted drops: one frame per day, fixed colour scale, the date in "
         "the corner.", "cells"),
    Film("top_ports", "daily_port_counts", "dst_port", "Top 256 ports, day by day",
         f"{DROPS} to the 256 most-dropped ports of the whole history, one frame per day.",
         lambda counts, day, look, top: animation.tile_frame(counts, top, day, look.site, look.truncate_at, top=True),
         "Tile of the whole-history top-256 ports (from port_totals) with the day's counted drops: one frame per "
         "day, fixed colour scale. The port list comes from the whole history, so these frames go stale when "
         "that list changes: Dagster shows them stale after port_totals is re-materialised and the GIF's check "
         "counts frames drawn with an older list; re-materialise all partitions to redraw them.", "cells",
         top_ports=True),
)}


def day_counts(film: Film, frame: pl.DataFrame | None) -> dict:
    """A day's events by the film's key (country or port; protocols summed) from its table."""
    if frame is None or frame.height == 0:
        return {}
    rows = frame.filter(pl.col(film.key).is_not_null()).group_by(film.key).agg(pl.col("events").sum())
    return dict(rows.iter_rows())


def render_frame(film: Film, counts: Mapping, day: date, look: Look, top_ports: Sequence[int] = ()) -> bytes:
    """One frame of `film` as a palette PNG, recoloured from the film's static part (top-256: + list
    fingerprint)."""
    return film_template(film, look, top_ports).frame(counts, day.isoformat(), _frame_text(film, top_ports))


def draw_frame(film: Film, counts: Mapping, day: date, look: Look, top_ports: Sequence[int] = ()) -> bytes:
    """The same frame drawn by matplotlib from scratch (what `render_frame` reproduces, ~10x slower)."""
    return animation.frame_png(film.draw(counts, day, look, top_ports), _frame_text(film, top_ports))


def film_template(film: Film, look: Look, top_ports: Sequence[int] = ()) -> recolour.Template:
    """The static part of `film`'s frames, kept per process, look and (top-256 only) port list, and
    in the process's static store (`static_store.use`: the output folder's during a run)."""
    return _template(film, look, tuple(top_ports) if film.top_ports else (), static_store.folder())


@functools.lru_cache(maxsize=8)
def _template(film: Film, look: Look, top_ports: tuple[int, ...], store: UPath | None) -> recolour.Template:
    return template_store.kept(store, film.name, (film.name, look, top_ports),
                               lambda: recolour.template(film.draw({}, TEMPLATE_DAY, look, top_ports), film.recolour))


def _frame_text(film: Film, ports: Sequence[int]) -> dict[str, str]:
    return {animation.PORTS_KEY: animation.ports_key(ports)} if film.top_ports else {}
