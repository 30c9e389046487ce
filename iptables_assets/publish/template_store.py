"""Films' static parts kept on disk, so that a run drawing a few frames does not draw them again.

A template (`recolour.Template`) costs 0.5–1.3 s to draw (cartopy's projection, matplotlib
renders, the date glyphs) and depends only on the film, the look, the port list and the code and
libraries that draw it; a frame then costs milliseconds. Each is stored once per output folder
(`static_store`: plain arrays and a JSON description, a SHA-256 sidecar, a key digesting what it
depends on); a stamp that cannot spell every date exactly is not stored.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from upath import UPath

from iptables_assets.publish import glyphs, plotting, recolour, static_store


def kept(folder: UPath | None, name: str, depends_on: object,
         draw: Callable[[], recolour.Template]) -> recolour.Template:
    """The template `draw` makes, read from `folder` when it holds one for `depends_on` (a repr-stable
    value: film, look, port list), else drawn and stored there; `folder` None: drawn."""
    return static_store.kept(folder, name, depends_on, draw, to_bytes, from_bytes,
                             storable=lambda template: template.stamp.columns is not None)


def to_bytes(template: recolour.Template) -> bytes:
    """The template as an .npz of arrays and one JSON description."""
    return static_store.npz_bytes(*_arrays(template))


def from_bytes(data: bytes) -> recolour.Template:
    """The template `to_bytes` stored (ValueError / KeyError when the arrays do not fit together)."""
    template = _template(*static_store.npz_arrays(data))
    pixels = template.shape[0] * template.shape[1]
    if template.keys.shape != (pixels,) or len(template.mixed_pos) != len(template.mixed_key):
        raise ValueError("template arrays do not match its shape")
    return template


def _arrays(t: recolour.Template) -> tuple[dict[str, np.ndarray], dict]:
    colours, stamp = t.colours, t.stamp
    arrays = {"keys": t.keys.astype(np.int32), "mixed_pos": t.mixed_pos.astype(np.int32),
              "mixed_key": t.mixed_key.astype(np.int32),
              "blend_rest": t.blend.rest, "blend_cover": t.blend.cover}
    described = {"shape": list(t.shape), "blend": type(t.blend).__name__,
                 "ramp": [colours.ramp.low, colours.ramp.high], "scale": colours.scale,
                 "box": [[part.start, part.stop] for part in stamp.box]}
    if isinstance(colours, recolour.CountryColours):
        described |= {"colours": "countries", "layers": colours.layers}
        arrays["codes"] = np.array(colours.codes, dtype="U")
    else:
        described |= {"colours": "cells", "cells": colours.cells}
        arrays["ports"] = np.array(colours.ports, dtype=np.int64)
    columns = stamp.columns
    arrays["stamp_fixed"] = columns["fixed"]
    described["stamp_one"] = [place for place in columns["one"]]
    described["stamp_two"] = [list(pair) for pair in columns["two"]]
    for place, (cols, table) in columns["one"].items():
        arrays[f"one_{place}_columns"], arrays[f"one_{place}_table"] = np.array(cols, np.int64), table
    for (left, right), (cols, table) in columns["two"].items():
        arrays[f"two_{left}{right}_columns"], arrays[f"two_{left}{right}_table"] = np.array(cols, np.int64), table
    return arrays, described


def _template(arrays: dict[str, np.ndarray], described: dict) -> recolour.Template:
    ramp = plotting.Ramp(*described["ramp"])
    if described["colours"] == "countries":
        colours = recolour.CountryColours(tuple(str(code) for code in arrays["codes"]), ramp, described["scale"],
                                          described["layers"])
    else:
        colours = recolour.CellColours(tuple(int(port) for port in arrays["ports"]), described["cells"], ramp,
                                       described["scale"])
    blend = {"LinearBlend": recolour.LinearBlend, "LabelBlend": recolour.LabelBlend}[described["blend"]]
    columns = {
        "fixed": arrays["stamp_fixed"],
        "one": {place: (arrays[f"one_{place}_columns"].tolist(), arrays[f"one_{place}_table"])
                for place in described["stamp_one"]},
        "two": {(left, right): (arrays[f"two_{left}{right}_columns"].tolist(), arrays[f"two_{left}{right}_table"])
                for left, right in described["stamp_two"]},
    }
    box = tuple(slice(start, stop) for start, stop in described["box"])
    return recolour.Template(
        shape=tuple(described["shape"]), keys=arrays["keys"].astype(np.intp, copy=False),
        mixed_pos=arrays["mixed_pos"].astype(np.intp), mixed_key=arrays["mixed_key"].astype(np.intp, copy=False),
        blend=blend(arrays["blend_rest"], arrays["blend_cover"]), colours=colours,
        stamp=glyphs.DateStamp.from_tables(box, columns),
    )
