"""Drawing primitives of the journal: world choropleths, labelled port tiles, bar charts and a
timeline (matplotlib + cartopy, no Dagster).

Every function builds a `matplotlib.figure.Figure` directly (no pyplot, Agg canvas), so figures
drawn in a loop or in parallel processes share no global state and need no closing. Maps use
the bundled Natural Earth shapes, projected once per process, so nothing is downloaded.
"""

from __future__ import annotations

import functools
import io
import textwrap
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap, Normalize, to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from iptables_assets.publish import labels, static_store

DPI = 100
PNG_LEVEL = 1  # zlib level of the figures (png_bytes)
NO_DATA = "#D3D3D3"  # countries and ports without counted events
BORDER = "#FFFFFF"
TEXT_ON_DATA = "#FFFFFF"
TEXT_ON_EMPTY = "#505050"
BAR = "#B00000"
_THOUSANDS = FuncFormatter(lambda value, _position: f"{value:,.0f}")
CORNER_STYLE = {"color": "#808080", "fontsize": 14, "fontweight": "bold"}


@dataclass(frozen=True)
class Ramp:
    """A linear colour ramp from `low` (smallest count) to `high` (largest)."""

    low: str
    high: str

    @functools.cached_property
    def cmap(self) -> LinearSegmentedColormap:
        return LinearSegmentedColormap.from_list(f"{self.low}-{self.high}", [self.low, self.high]).with_extremes(bad=NO_DATA)

    def colour(self, value: float, vmax: float) -> str:
        """The hex colour a cell or country with `value` gets on a scale 0..`vmax` (grey for 0)."""
        if not value or value <= 0:
            return NO_DATA
        return to_hex(self.cmap(scale_norm(vmax)(min(value, vmax))))

    def colours(self, values: np.ndarray, vmax: float) -> np.ndarray:
        """`colour` of many values at once, as 8-bit RGB rows (recoloured animation frames)."""
        rgb = np.round(self.cmap(scale_norm(vmax)(np.minimum(values, vmax)))[:, :3] * 255)
        rgb[~(values > 0)] = np.round(np.array(to_rgb(NO_DATA)) * 255)
        return rgb.astype(np.uint8)


DROPS_RAMP = Ramp("#300000", "#E00000")  # world maps, as in the reference notebook
PORTS_RAMP = Ramp("#500000", "#E00000")  # port tiles


def scale_norm(vmax: float) -> Normalize:
    """The colour scale 0..`vmax` of every figure (at least 0..1)."""
    return Normalize(vmin=0, vmax=max(float(vmax), 1.0))


def _fitting(text: str, inches: float, largest: float) -> float:
    """A bold font size (points) at which `text` fits in `inches` of width, at most `largest`."""
    return min(largest, 72 * inches / (0.66 * max(len(text), 1)))


def _footer(fig: Figure, text: str | None, width_chars: int) -> None:
    if text:
        wrapped = "\n".join(textwrap.wrap(text, width_chars))
        fig.text(0.01, 0.01, wrapped, ha="left", va="bottom", fontsize=8, color="#404040")


def _corner(fig: Figure, text: str | None) -> None:
    """The date label of an animation frame, in the figure's top-right corner."""
    if text:
        fig.text(0.995, 0.99, text, ha="right", va="top", **CORNER_STYLE, zorder=10, gid="corner")


def _colourbar(fig: Figure, ax, ramp: Ramp, vmax: float, label: str, truncated: bool, **kwargs) -> None:
    from matplotlib.cm import ScalarMappable

    mappable = ScalarMappable(norm=scale_norm(vmax), cmap=ramp.cmap)
    bar = fig.colorbar(mappable, ax=ax, extend="max" if truncated else "neither", **kwargs)
    bar.set_label(label, fontsize=11)
    bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    bar.ax.yaxis.set_major_formatter(_THOUSANDS)


# ---------------------------------------------------------------------------------------------
# World choropleth
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _projected_countries(resolution: str) -> tuple[object, dict]:
    """The Robinson projection and every country's outline projected into it (done once per
    process, and kept in the output folder's static store: ~0.15 s to project, ~10 ms to read)."""
    import cartopy.crs as ccrs

    projection = ccrs.Robinson()
    paths = static_store.kept(static_store.folder(), f"countries-{resolution}", resolution,
                              lambda: _project(projection, resolution), static_store.named_paths_bytes,
                              static_store.named_paths_from)
    return projection, paths


def _project(projection, resolution: str) -> dict:
    """{code: outline path} of every country with a shape at `resolution`, in `projection`."""
    import cartopy.crs as ccrs
    from cartopy.mpl.path import shapely_to_path

    from iptables_assets.enrich import countries

    countries.use_bundled_natural_earth()
    lonlat = ccrs.PlateCarree()
    paths = {}
    for code, geometry in countries.country_geometries(resolution).items():
        projected = projection.project_geometry(geometry, lonlat)
        if not projected.is_empty:
            paths[code] = shapely_to_path(projected)
    return paths


def world_map(
    values: Mapping[str, float],
    *,
    title: str,
    legend: str,
    footer: str | None = None,
    vmax: float | None = None,
    corner: str | None = None,
    resolution: str = "110m",
    ramp: Ramp = DROPS_RAMP,
    size: tuple[float, float] = (12, 6.6),
) -> Figure:
    """Countries coloured by `values` (ISO alpha-2 code -> count) on a Robinson world map.

    Countries without a value (or 0) are grey; codes without a shape (unknown `??`, tiny
    territories at this resolution) are simply not drawn. `vmax` fixes the colour scale
    (values above it get the top colour; the colour bar then shows it is truncated)."""
    from matplotlib.collections import PathCollection

    projection, paths = _projected_countries(resolution)
    top = max((v for v in values.values() if v), default=0)
    scale = float(vmax) if vmax is not None else float(top)
    fig = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.09, 0.86, 0.82), projection=projection)
    ax.set_global()
    codes = sorted(paths)
    colours = [ramp.colour(values.get(code, 0), scale) for code in codes]
    countries = PathCollection([paths[c] for c in codes], facecolors=colours, edgecolors=BORDER, linewidths=0.3,
                               transform=ax.transData, gid="countries")
    countries.codes, countries.ramp, countries.scale = codes, ramp, scale  # for recolouring (animation frames)
    ax.add_collection(countries)
    ax.spines["geo"].set_edgecolor("#A0A0A0")
    if corner:  # left-aligned, clear of the date label on the right
        fig.suptitle(title, fontsize=_fitting(title, size[0] - 1.8, 15), fontweight="bold", x=0.01, ha="left",
                     y=0.975)
    else:
        fig.suptitle(title, fontsize=_fitting(title, size[0] - 0.4, 15), fontweight="bold", y=0.975)
    cax = fig.add_axes((0.885, 0.2, 0.02, 0.6))
    _colourbar(fig, ax, ramp, scale, legend, truncated=vmax is not None, cax=cax)
    _corner(fig, corner)
    _footer(fig, footer, int(size[0] * 15.8))
    return fig


def country_point(code: str, fig: Figure, resolution: str = "110m") -> tuple[int, int]:
    """Pixel (x, y from the top) of a point inside country `code` on a `world_map` figure."""
    import cartopy.crs as ccrs

    from iptables_assets.enrich import countries

    projection, _paths = _projected_countries(resolution)
    geometry = countries.country_geometries(resolution)[code]
    inside = geometry.representative_point()
    x, y = projection.transform_point(inside.x, inside.y, ccrs.PlateCarree())
    ax = fig.axes[0]
    px, py = ax.transData.transform((x, y))
    return int(round(px)), int(round(fig.bbox.height - py))


# ---------------------------------------------------------------------------------------------
# Port tiles
# ---------------------------------------------------------------------------------------------


def port_tile(
    counts: Mapping[int, float],
    ports: Sequence[int],
    *,
    columns: int,
    title: str,
    legend: str = "Dropped Packets",
    vmax: float | None = None,
    corner: str | None = None,
    ramp: Ramp = PORTS_RAMP,
    cell_inches: float = 0.5,
) -> Figure:
    """`ports` on a grid `columns` wide in the order given (left to right, top to bottom), each
    cell labelled with its port and coloured by its count (grey when 0). `vmax` truncates the
    scale: counts above it get the top colour."""
    rows = -(-len(ports) // columns)
    values = np.full(rows * columns, np.nan)
    values[: len(ports)] = [counts.get(p, 0) or np.nan for p in ports]
    top = float(np.nanmax(values)) if np.isfinite(values).any() else 0.0
    scale = float(vmax) if vmax is not None else top
    grid = np.ma.masked_invalid(np.minimum(values, scale).reshape(rows, columns))
    width, height = columns * cell_inches + 2.2, rows * cell_inches + 1.2
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.2 / width, 0.3 / height, columns * cell_inches / width, rows * cell_inches / height))
    cells = ax.imshow(grid, cmap=ramp.cmap, norm=scale_norm(scale), interpolation="nearest", aspect="auto", gid="cells")
    cells.ramp, cells.scale = ramp, scale  # for recolouring (animation frames)
    ax.set_axis_off()
    digits = max(len(str(p)) for p in ports) if ports else 1
    size = min(10.0, cell_inches * 72 * 0.85 / (0.62 * digits))
    positions = [divmod(index, columns)[::-1] for index in range(len(ports))]
    colours = [TEXT_ON_DATA if counts.get(port, 0) else TEXT_ON_EMPTY for port in ports]
    ax.add_collection(labels.collection([str(p) for p in ports], positions, size, colours, ax))
    fig.suptitle(title, fontsize=_fitting(title, width - (2.0 if corner else 0.4), 15), fontweight="bold", x=0.2 / width, ha="left",
                 y=1 - 0.25 / height)
    cax = fig.add_axes(((columns * cell_inches + 0.45) / width, 0.3 / height + 0.1, 0.25 / width, 0.6))
    _colourbar(fig, ax, ramp, scale, legend, truncated=vmax is not None, cax=cax)
    _corner(fig, corner)
    return fig


def cell_labels(fig: Figure) -> list[str]:
    """The labels of a `port_tile`'s cells, in cell order."""
    for collection in fig.axes[0].collections:
        if collection.get_gid() == "cell-labels":
            return collection.labels
    return []


def tile_cell(fig: Figure, index: int, columns: int) -> tuple[int, int]:
    """Pixel (x, y from the top) near the top-left corner of cell `index` of a `port_tile`,
    clear of its label."""
    ax = fig.axes[0]
    row, column = divmod(index, columns)
    px, py = ax.transData.transform((column - 0.4, row - 0.4))
    return int(round(px)), int(round(fig.bbox.height - py))


# ---------------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------------


def ranked_bars(labels: Sequence[str], values: Sequence[float], *, title: str, xlabel: str) -> Figure:
    """Horizontal bars, the first label on top (give them in descending order), values printed."""
    fig = Figure(figsize=(11, 0.38 * max(len(labels), 5) + 1.6), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    positions = np.arange(len(labels))
    ax.barh(positions, values, color=BAR)
    ax.set_yticks(positions, labels, fontsize=11)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(_THOUSANDS)
    ax.set_xlabel(xlabel, fontsize=11)
    top = max(values, default=0)
    for position, value in zip(positions, values):
        ax.text(value + top * 0.01, position, f"{value:,.0f}", va="center", fontsize=9)
    ax.set_xlim(0, top * 1.12 if top else 1)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(title, fontsize=14, fontweight="bold", loc="left")
    fig.tight_layout()
    return fig


def port_bars(ports: Sequence[int], values: Sequence[float], *, title: str, label_every: int = 8) -> Figure:
    """One bar per port in the order given (port order), every `label_every`-th port labelled."""
    fig = Figure(figsize=(16, 6.5), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    positions = np.arange(len(ports))
    ax.bar(positions, values, width=0.85, color=BAR)
    shown = positions[::label_every]
    ax.set_xticks(shown, [str(ports[i]) for i in shown], rotation=90, fontsize=9)
    ax.set_xlim(-1, len(ports))
    ax.yaxis.set_major_formatter(_THOUSANDS)
    ax.set_ylabel("Dropped Packets", fontsize=11)
    ax.set_xlabel(f"Destination port ({len(ports)} most dropped, in port order; every {label_every}th labelled)", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(title, fontsize=14, fontweight="bold", loc="left")
    fig.tight_layout()
    return fig


def timeline(
    days: Sequence, series: Mapping[str, Sequence[float]], *, title: str, ylabel: str, ymax: float | None
) -> Figure:
    """One line per named series over `days` (legend in the given order, outside the plot),
    y axis shown from 0 to `ymax` (None: fit the data); a note says when lines are cut off."""
    from matplotlib import colormaps
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    fig = Figure(figsize=(15, 7), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.07, 0.11, 0.72, 0.8))
    palette = colormaps["tab20"].colors
    highest = 0.0
    for index, (name, values) in enumerate(series.items()):
        ax.plot(days, values, label=name, color=palette[index % len(palette)], linewidth=1.4)
        highest = max(highest, max(values, default=0))
    if ymax is not None:
        ax.set_ylim(0, ymax)
        if highest > ymax:
            ax.text(0.0, 1.005, f"y axis cut at {ymax:,.0f} (highest day: {highest:,.0f})",
                    transform=ax.transAxes, fontsize=9, color="#606060", va="bottom")
    else:
        ax.set_ylim(bottom=0)
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.yaxis.set_major_formatter(_THOUSANDS)
    ax.set_ylabel(ylabel, fontsize=11)
    ax.grid(axis="y", color="#E0E0E0")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=10, frameon=False)
    fig.suptitle(title, fontsize=14, fontweight="bold", x=0.07, ha="left", y=0.975)
    return fig


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG (Agg), at its own size; zlib level 1: half the encoding time of the
    default 6 (~0.2 s a run over the 13 figures) for files ~5 % larger."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": "iptables_assets"},
                pil_kwargs={"compress_level": PNG_LEVEL})
    return buffer.getvalue()


def rgb_image(fig: Figure):
    """The figure's pixels as a Pillow RGB image (what `png_bytes` encodes, without the encoding)."""
    from PIL import Image

    fig.canvas.draw()
    return Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("RGB")


def preview_png(png: bytes, width: int = 420, colours: int = 64) -> bytes:
    """A small palette PNG of `png` (for Markdown previews in the UI: a few tens of KB). Octree
    quantising and no `optimize` pass: ~3x faster than median cut with it (19 previews a run),
    and half the size on the tiles."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        image = image.convert("RGB")
        image.thumbnail((width, width * 4))
        small = image.quantize(colors=colours, method=Image.Quantize.FASTOCTREE)
    buffer = io.BytesIO()
    small.save(buffer, format="PNG")
    return buffer.getvalue()
