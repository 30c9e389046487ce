"""Animation frames by recolouring: a film's frame figure is drawn by matplotlib a few times, once
per process, and every day's frame is made from those renders with numpy.

A frame differs from the next only in the colours of the countries (world map) or of the cells
and their labels (port tiles), and in its date. The figure is drawn with these layers black (what
every pixel shows of the static parts: title, colour bar, borders, footer …) and with each layer
white in turn (how much of the layer shows at each pixel: antialiased edges and label glyphs cover
pixels in part), and each pixel gets an owner per layer (its country or cell). Neighbouring
countries go to different layers, so a border pixel shared by two countries blends both of their
colours. A day is then a look-up: its colour per owner (the figure's own ramp, scale and text
colours); pixels wholly one layer's take their owner's palette index, the others a blend of
static colour and layer colours (a label glyph over its cell with Agg's own integer formula, so
tile frames are pixel-identical to drawn ones; map edges linearly, within a level or so), all
mapped onto the fixed palette exactly as `animation.quantised_png` maps a drawn frame; the date
is stamped from glyphs pre-rendered by matplotlib (`glyphs`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from iptables_assets.publish import animation, glyphs, plotting

BLACK, WHITE = "#000000", "#FFFFFF"
REACH = 3  # pixels: countries this close share a layer never; an edge reaches this far beyond its pixels


@dataclass(frozen=True, eq=False)
class Template:
    """A film's static part, rendered once, so that a day's frame is a look-up, not a drawing."""

    shape: tuple[int, int]  # (height, width)
    keys: np.ndarray  # flat: a solid pixel's row in the colour table (layer * owners + owner: it shows
    # that colour alone), a static pixel's palette index after the table (mixed pixels: overwritten)
    mixed_pos: np.ndarray  # flat positions blending static colour and layer colours
    mixed_key: np.ndarray  # (pixels, layers) rows in the colour table
    blend: LinearBlend | LabelBlend  # their layer colours (pixels, layers, 3) -> RGB
    colours: CountryColours | CellColours  # a day's counts -> (layers * owners, 3) uint8
    stamp: glyphs.DateStamp  # writes the date label into the index image

    def frame(self, counts: Mapping, label: str, text: Mapping[str, str] | None = None) -> bytes:
        """The frame of a day with `counts` and date `label`, as a palette PNG with `text` chunks."""
        table = self.colours(counts)
        lookup = np.concatenate([animation.palette_indices(table), np.arange(256, dtype=np.uint8)])
        indices = lookup[self.keys]
        if len(self.mixed_pos):
            blend = self.blend(_rows(table, self.mixed_key))
            indices[self.mixed_pos] = animation.palette_indices(np.rint(blend).clip(0, 255).astype(np.uint8))
        image = indices.reshape(self.shape)
        self.stamp(image, label)
        return animation.palette_png(image, text)


def _rows(table: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """table[keys] for an (n, 3) uint8 table, gathered as one uint32 per row (~5x faster)."""
    packed = np.zeros((len(table), 4), np.uint8)
    packed[:, :3] = table
    return packed.view(np.uint32)[:, 0][keys].view(np.uint8).reshape(*keys.shape, 4)[..., :3]


@dataclass(frozen=True, eq=False)
class LinearBlend:
    """Blend as static share plus layer colours times cover: map edges, where Agg blends many steps."""

    rest: np.ndarray  # (pixels, 3) float32: the static colour of each mixed pixel
    cover: np.ndarray  # (pixels, layers) float32: how much of each layer shows there

    def __call__(self, colours: np.ndarray) -> np.ndarray:
        out = self.rest.copy()
        for layer in range(self.cover.shape[1]):
            out += self.cover[:, layer, None] * colours[:, layer]
        return out


@dataclass(frozen=True)
class Parts:
    """What a frame figure recolours (paints, colour table rows layer * owners + owner, owners, blend)."""

    paints: tuple[Callable[[str], None], ...]
    colours: CountryColours | CellColours
    owners: Callable[[np.ndarray], np.ndarray]
    # (rest, cover) of the mixed pixels -> how to blend their layer colours
    blend: type[LinearBlend] | type[LabelBlend] = LinearBlend


def template(figure: Figure, kind: str) -> Template:
    """The template of a frame figure (drawn with any date) whose "countries" or "cells" change."""
    corner = artist(figure, "corner")
    corner.set_visible(False)
    parts = {"countries": _countries, "cells": _cells}[kind](figure)
    rest, cover = _renders(figure, parts.paints)
    stamp = glyphs.date_stamp(figure, corner)
    if (cover[stamp.box] > 0).any():
        raise ValueError("the date label overlaps recoloured pixels")
    owner = parts.owners(cover) if parts.paints else np.zeros(cover.shape, int)  # nothing to recolour
    return _assemble(rest, cover, owner, parts, stamp)


def artist(figure: Figure, gid: str):
    """The artist of `figure` tagged `gid` by `plotting` (corner label, countries, cells …)."""
    return next(a for a in figure.findobj() if a.get_gid() == gid)


def _rgb(figure: Figure) -> np.ndarray:
    """The figure drawn now, as int16 RGB (what `plotting.rgb_image` gives)."""
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba())[..., :3].astype(np.int16)


def _renders(figure: Figure, paints) -> tuple[np.ndarray, np.ndarray]:
    """Static colours (every layer black) and each layer's cover 0..1 (that layer white) per pixel."""
    for paint in paints:
        paint(BLACK)
    rest = _rgb(figure)
    covers = []
    for paint in paints:
        paint(WHITE)
        covers.append(((_rgb(figure) - rest).mean(axis=2) / 255).astype(np.float32))
        paint(BLACK)
    figure.canvas.draw()  # leave the canvas showing the static parts (the date's backdrop)
    return rest, np.stack(covers, axis=-1) if covers else np.zeros((*rest.shape[:2], 0), np.float32)


def _assemble(rest, cover, owner, parts: Parts, stamp) -> Template:
    """Sort the pixels into static, solid (one layer of one owner) and mixed ones."""
    shape, layers, colours = rest.shape[:2], cover.shape[2], parts.colours
    owners = len(colours({})) // max(layers, 1)
    rest = rest.astype(np.float32)
    lost = (cover > 0) & (owner < 0)  # edges no owner reaches: baked in as on a day without counts
    if lost.any():
        empty = colours({}).reshape(layers, owners, 3)[:, 0].astype(np.float32)
        rest += np.where(lost, cover, 0) @ empty
        cover = np.where(lost, 0, cover)
    covered = (cover > 0).any(axis=2)
    solid = covered & ((cover >= 1).sum(axis=2) == 1) & ((cover > 0).sum(axis=2) == 1) & (rest == 0).all(axis=2)
    mixed = (covered & ~solid).reshape(-1)
    solid = solid.reshape(-1)
    pixels = shape[0] * shape[1]
    keys = (np.arange(layers) * owners + owner).reshape(pixels, layers)
    flat_cover = cover.reshape(pixels, layers)
    solid_key = keys[np.arange(pixels), flat_cover.argmax(1)] if layers else np.zeros(pixels, int)
    static = animation.palette_indices((rest + 0.5).clip(0, 255).astype(np.uint8)).reshape(-1)
    return Template(
        shape=shape,
        keys=np.where(solid, solid_key, layers * owners + static.astype(np.intp)).astype(np.intp),  # intp: fastest
        mixed_pos=np.flatnonzero(mixed), mixed_key=keys[mixed].astype(np.intp),
        blend=parts.blend(rest.reshape(-1, 3)[mixed], flat_cover[mixed]), colours=colours, stamp=stamp,
    )


# ---------------------------------------------------------------------------------------------
# World map: the countries' fills, neighbours in different layers
# ---------------------------------------------------------------------------------------------


def _countries(figure: Figure) -> Parts:
    """A world_map's countries, one layer per map colour so that a shared border pixel blends both."""
    countries = artist(figure, "countries")
    codes, ramp, scale = countries.codes, countries.ramp, countries.scale
    everyone = np.ones(len(codes), bool)
    layer_of = _map_colouring(_spelled_owners(figure, countries, [everyone], outline=False)[0], len(codes))
    layers = int(layer_of.max()) + 1 if len(codes) else 0
    owner = np.stack(_spelled_owners(figure, countries, [layer_of == k for k in range(layers)], outline=True), -1)

    def paint(layer: int) -> Callable[[str], None]:
        return lambda colour: countries.set_facecolor(np.where((layer_of == layer)[:, None], to_rgb(colour), 0.0))

    def owners(cover: np.ndarray) -> np.ndarray:
        return np.stack([_spread(owner[..., k], cover[..., k] > 0) for k in range(layers)], -1)

    colours = CountryColours(tuple(codes), ramp, float(scale), layers)
    return Parts(tuple(paint(k) for k in range(layers)), colours, owners)


@dataclass(frozen=True)
class CountryColours:
    """A world map's colour table: each country's fill on the figure's ramp and scale, once per layer."""

    codes: tuple[str, ...]
    ramp: plotting.Ramp
    scale: float
    layers: int

    def __call__(self, counts: Mapping) -> np.ndarray:
        values = np.array([counts.get(code) or 0 for code in self.codes], dtype=float)
        return np.tile(self.ramp.colours(values, self.scale), (self.layers, 1))


def _spelled_owners(figure: Figure, countries, groups: list[np.ndarray], outline: bool) -> list[np.ndarray]:
    """Each pixel's country per group, drawn unantialiased in colours spelling indices (outlines catch specks)."""
    axes = countries.axes
    shown = [(child, child.get_visible()) for child in (*figure.get_children(), *axes.get_children())
             if child is not axes and child is not countries]
    edges, widths, smooth = countries.get_edgecolor(), countries.get_linewidth(), countries.get_antialiased()
    for child, _visible in shown:
        child.set_visible(False)
    ids = np.arange(1, len(countries.codes) + 1)
    owners = []
    for group in groups:
        spelled = np.column_stack([ids % 256 / 255, ids // 256 / 255, np.zeros(len(ids)), group])
        countries.set(facecolor=spelled, edgecolor=spelled if outline else "none", linewidth=0.5, antialiased=False)
        figure.canvas.draw()
        rgba = np.asarray(figure.canvas.buffer_rgba()).astype(np.int32)
        owners.append(np.where(rgba[..., 3] == 255, rgba[..., 0] + 256 * rgba[..., 1] - 1, -1))
    for child, visible in shown:
        child.set_visible(visible)
    countries.set(edgecolor=edges, linewidth=widths, antialiased=smooth)
    return owners


def _map_colouring(owner: np.ndarray, count: int) -> np.ndarray:
    """A layer per country, different for countries within REACH pixels (greedy, busiest first)."""
    near: list[set[int]] = [set() for _ in range(count)]
    for dy in range(-REACH, REACH + 1):
        for dx in range(0, REACH + 1):
            shifted = np.roll(owner, (dy, dx), axis=(0, 1))
            pairs = (owner >= 0) & (shifted >= 0) & (owner != shifted)
            for a, b in np.unique(np.column_stack([owner[pairs], shifted[pairs]]), axis=0):
                near[a].add(int(b))
                near[b].add(int(a))
    layer_of = np.full(count, -1)
    for country in sorted(range(count), key=lambda c: -len(near[c])):
        taken = {layer_of[other] for other in near[country]}
        layer_of[country] = next(layer for layer in range(count + 1) if layer not in taken)
    return layer_of


def _spread(owner: np.ndarray, covered: np.ndarray, steps: int = REACH) -> np.ndarray:
    """Owners for antialiased edge pixels beyond a country's own: a neighbour's, up to `steps` away."""
    for _ in range(steps):
        missing = covered & (owner < 0)
        if not missing.any():
            break
        grown = owner.copy()
        for shift in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            neighbour = np.roll(owner, shift, axis=(0, 1))
            take = missing & (grown < 0) & (neighbour >= 0)
            grown[take] = neighbour[take]
        owner = grown
    return owner


# ---------------------------------------------------------------------------------------------
# Port tiles: the cells' fills and their labels
# ---------------------------------------------------------------------------------------------


def _rgb8(colour: str) -> np.ndarray:
    return np.round(np.array(to_rgb(colour)) * 255).astype(np.uint8)


def _cells(figure: Figure) -> Parts:
    """A port_tile's cells: fills (the image's own cmap and norm) and labels (TEXT_ON_DATA with a count)."""
    image, labels = artist(figure, "cells"), artist(figure, "cell-labels")
    rows, columns = image.get_array().shape[:2]
    colours = CellColours(tuple(int(label) for label in labels.labels), rows * columns, image.ramp, float(image.scale))

    def paint_cells(colour: str) -> None:
        image.set_data(np.full((rows, columns, 3), 255 if colour == WHITE else 0, np.uint8))

    def owners(cover: np.ndarray) -> np.ndarray:
        owner = _cell_owners(image, rows, columns, (cover > 0).any(axis=2))
        return np.repeat(owner[..., None], cover.shape[2], axis=2)

    return Parts((paint_cells, labels.set_facecolor) if rows * columns else (), colours, owners, LabelBlend)


@dataclass(frozen=True)
class CellColours:
    """A port tile's colour table: each cell's fill (the tile's ramp and scale), then its label's colour."""

    ports: tuple[int, ...]
    cells: int
    ramp: plotting.Ramp
    scale: float

    def __call__(self, counts: Mapping) -> np.ndarray:
        got = [counts.get(port, 0) for port in self.ports]
        values = np.full(self.cells, np.nan)
        values[: len(self.ports)] = [count or np.nan for count in got]
        clipped = np.ma.masked_invalid(np.minimum(values, self.scale))
        fills = self.ramp.cmap(plotting.scale_norm(self.scale)(clipped), bytes=True)[:, :3]
        has = np.zeros(self.cells, bool)
        has[: len(self.ports)] = [bool(count) for count in got]
        on_data, on_empty = _rgb8(plotting.TEXT_ON_DATA), _rgb8(plotting.TEXT_ON_EMPTY)
        return np.concatenate([fills, np.where(has[:, None], on_data, on_empty)])


@dataclass(frozen=True, eq=False)
class LabelBlend:
    """Blend label glyphs over cells with Agg's own integer formula, so tile frames stay pixel-identical."""

    rest: np.ndarray  # as LinearBlend's
    cover: np.ndarray

    def __call__(self, colours: np.ndarray) -> np.ndarray:
        return self._blend(colours)

    @functools.cached_property
    def _blend(self) -> Callable[[np.ndarray], np.ndarray]:
        return _label_over_cell(self.rest, self.cover)


def _label_over_cell(rest: np.ndarray, cover: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    # matplotlib's fixed_blender_rgba_plain onto an opaque pixel: (256·label·k + (65280 - 255·k)·cell)
    # // (k + 65280) for glyph coverage k, which is what the cell does not show (a white cell under
    # black labels shows 255 - k). As label·a + cell·b in float64: exact to ~1e-13, and a quotient's
    # fraction is >= 1/65535 from an integer, hence the +1e-7 before the floor.
    k = 255.0 - np.rint(cover[:, :1] * 255.0)
    a, b = 256 * k / (k + 65280), (65280 - 255 * k) / (k + 65280)
    on_cell = (rest == 0).all(axis=1, keepdims=True)  # elsewhere (none seen): the linear blend
    linear = LinearBlend(rest, cover)

    def blend(colours: np.ndarray) -> np.ndarray:
        agg = np.floor(colours[:, 1] * a + colours[:, 0] * b + 1e-7)
        return agg if on_cell.all() else np.where(on_cell, agg, linear(colours))

    return blend


def _cell_owners(image, rows: int, columns: int, covered: np.ndarray) -> np.ndarray:
    """Each covered pixel's cell (-1: none) from its centre in data coordinates, as nearest imshow samples."""
    height = covered.shape[0]
    ys, xs = np.nonzero(covered)
    x, y = image.axes.transData.inverted().transform(np.column_stack([xs + 0.5, height - (ys + 0.5)])).T
    column, row = np.floor(x + 0.5).astype(int), np.floor(y + 0.5).astype(int)
    inside = (column >= 0) & (column < columns) & (row >= 0) & (row < rows)
    owner = np.full(covered.shape, -1)
    owner[ys[inside], xs[inside]] = row[inside] * columns + column[inside]
    return owner
