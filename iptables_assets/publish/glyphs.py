"""The date label of animation frames, stamped from glyphs pre-rendered by matplotlib.

The date ("2026-01-02", top-right corner) is the only text of a frame that changes from day to
day. Matplotlib draws the label alone onto the static backdrop (blitting) for a hundred date-shaped
labels in which every digit stands in every place and every pair of digits side by side in every
pair of neighbouring places. Each pixel column of the label's box then depends on nothing (the
backdrop, the hyphens), on the digit in one place, or, where neighbouring glyphs share a column,
on the digits in two neighbouring places; the columns are stored as tables of those renders, and a
day's label is put together from them. The stamp is checked on every build against more labels
(every pair of digits side by side); should a font break it (kerning, wider glyphs), each day's
label is drawn by matplotlib instead (blitting, a few milliseconds).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from iptables_assets.publish import animation

DIGITS = "0123456789"
PLACES = (0, 1, 2, 3, 5, 6, 8, 9)  # where the digits of "YYYY-MM-DD" stand
NEIGHBOURS = ((0, 1), (1, 2), (2, 3), (5, 6), (8, 9))  # digit places whose glyphs may share a column
PAD = 3  # pixels around the label's extent (antialiasing)


def _label(digits: Sequence[int]) -> str:
    """A date-shaped label of eight digits."""
    d = "".join(map(str, digits))
    return f"{d[:4]}-{d[4:6]}-{d[6:]}"


def _date_shaped(label: str) -> bool:
    """Whether `label` is "dddd-dd-dd" (ASCII digits), the shape the tables spell."""
    return len(label) == 10 and label[4] == label[7] == "-" and all(label[p] in DIGITS for p in PLACES)


def _learning_labels() -> list[str]:
    """100 labels (chains d[i] = d[i-1] + d[i-2] mod 10): every digit in every place, every neighbouring pair."""
    labels = []
    for a in range(10):
        for b in range(10):
            digits = [a, b]
            while len(digits) < len(PLACES):
                digits.append((digits[-1] + digits[-2]) % 10)
            labels.append(_label(digits))
    return labels


def _probes() -> list[str]:
    """Other labels, in which every ordered pair of digits stands side by side at least once."""
    pairs = [(a, b) for a in range(10) for b in range(10)]
    return [_label([*pairs[i], *pairs[i + 1], *pairs[i + 2], *pairs[i + 3]]) for i in range(0, 100, 4)]


class DateStamp:
    """Writes a date label into a frame's palette indices (a 2-D array) within `box`."""

    def __init__(self, figure: Figure, corner) -> None:
        learning, probes = _learning_labels(), _probes()
        self._draw, self.box = _blitter(figure, corner, [*learning, *probes])
        renders = np.stack([self._draw(label) for label in learning])
        self._columns = _columns(renders, learning)
        self.exact = self._columns is not None and all(
            np.array_equal(self._stamped(probe), self._draw(probe)) for probe in probes)

    @classmethod
    def from_tables(cls, box: tuple[slice, slice], columns: dict) -> DateStamp:
        """A stamp from stored tables (`columns` of an exact stamp): it spells date-shaped labels only."""
        stamp = cls.__new__(cls)
        stamp.box, stamp._columns, stamp.exact, stamp._draw = box, columns, True, None
        return stamp

    @property
    def columns(self) -> dict | None:
        """The column tables (see `_columns`), None when they cannot spell every label exactly."""
        return self._columns if self.exact else None

    def __call__(self, indices: np.ndarray, label: str) -> None:
        """Stamp `label` from the tables (drawn by matplotlib when they cannot spell it exactly)."""
        if self.exact and _date_shaped(label):
            indices[self.box] = self._stamped(label)
        elif self._draw is None:
            raise ValueError(f"a stored date stamp spells dates (YYYY-MM-DD) only, not {label!r}")
        else:
            indices[self.box] = self._draw(label)

    def _stamped(self, label: str) -> np.ndarray:
        """The label's box put together from the column tables."""
        digits = {place: int(label[place]) for place in PLACES}
        region = self._columns["fixed"].copy()
        for place, (columns, table) in self._columns["one"].items():
            region[:, columns] = table[digits[place]]
        for (left, right), (columns, table) in self._columns["two"].items():
            region[:, columns] = table[digits[left], digits[right]]
        return region


def date_stamp(figure: Figure, corner) -> DateStamp:
    """The date stamp of a frame figure whose canvas shows the static parts, `corner` its label."""
    return DateStamp(figure, corner)


def _blitter(figure: Figure, corner, labels: list[str]) -> tuple[Callable[[str], np.ndarray], tuple]:
    """A label drawn alone onto the backdrop by blitting (its box's palette indices), and the box all fit in."""
    canvas = figure.canvas
    renderer = canvas.get_renderer()
    corner.set_visible(True)  # an invisible label has no extent
    extents = []
    for label in labels:
        corner.set_text(label)
        extents.append(corner.get_window_extent(renderer))
    union = Bbox.union(extents)
    height, width = int(figure.bbox.height), int(figure.bbox.width)
    x0, x1 = max(math.floor(union.x0) - PAD, 0), min(math.ceil(union.x1) + PAD, width)
    y0, y1 = max(math.floor(union.y0) - PAD, 0), min(math.ceil(union.y1) + PAD, height)
    backdrop = canvas.copy_from_bbox(Bbox([[x0, y0], [x1, y1]]))
    box = (slice(height - y1, height - y0), slice(x0, x1))

    def draw(label: str) -> np.ndarray:
        canvas.restore_region(backdrop)
        corner.set_visible(True)  # hidden when the figure was drawn without it
        corner.set_text(label)
        corner.draw(renderer)
        return animation.palette_indices(np.asarray(canvas.buffer_rgba())[box][..., :3])

    return draw, box


def _depends_on(renders: np.ndarray, keys: np.ndarray) -> bool:
    """Whether every render with the same key has the same pixels (renders: (labels, rows, columns))."""
    order = np.argsort(keys, kind="stable")
    same_key = keys[order][1:] == keys[order][:-1]
    same_pixels = (renders[order][1:] == renders[order][:-1]).all(axis=tuple(range(1, renders.ndim)))
    return bool(same_pixels[same_key].all())


def _columns(renders: np.ndarray, labels: list[str]) -> dict | None:
    """The box's columns by the place (or neighbouring pair) they depend on, with pixels per digit, or None."""
    # {"fixed": box pixels, "one": {place: (columns, table)}, "two": {(left, right): (columns, table)}};
    # a column no single place explains lies between two neighbours' columns: their glyphs overlap there.
    digits = {place: np.array([int(label[place]) for label in labels]) for place in PLACES}
    one: dict[int, list[int]] = {place: [] for place in PLACES}
    shared = []
    for column in range(renders.shape[2]):
        pixels = renders[:, :, column]
        if (pixels == pixels[0]).all():
            continue
        place = next((p for p in PLACES if _depends_on(pixels, digits[p])), None)
        (one[place] if place is not None else shared).append(column)
    two: dict[tuple[int, int], list[int]] = {pair: [] for pair in NEIGHBOURS}
    for column in shared:
        pair = next((pair for pair in NEIGHBOURS if one[pair[0]] and one[pair[1]]
                     and max(one[pair[0]]) < column < min(one[pair[1]])), None)
        if pair is None:
            return None
        two[pair].append(column)
    rows = renders.shape[1]
    return {"fixed": renders[0].copy(),
            "one": {p: (cols, _table(renders[:, :, cols], digits[p])) for p, cols in one.items() if cols},
            "two": {(a, b): (cols, _table(renders[:, :, cols], digits[a] * 10 + digits[b]).reshape(
                10, 10, rows, len(cols))) for (a, b), cols in two.items() if cols}}


def _table(renders: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The pixels of the columns for each key 0..max (every key occurs in the learning labels)."""
    table = np.zeros((keys.max() + 1, *renders.shape[1:]), renders.dtype)
    table[keys] = renders
    return table
