"""Films' static parts kept on disk, so that a run drawing a few frames does not draw them again.

A template (`recolour.Template`) costs 0.5–1.3 s to draw (cartopy's projection, matplotlib
renders, the date glyphs) and depends only on the film, the look, the port list and the code and
libraries that draw it; a frame then costs milliseconds. Each is stored once per output folder as
an `.npz` of plain arrays (never pickles: `allow_pickle=False`) with a SHA-256 sidecar, under a
name that digests everything it depends on. A file that fails its checksum or does not decode is
drawn again and replaced (a cache never fails a run); a stamp that cannot spell every date
exactly is not stored.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np
from upath import UPath

from iptables_assets import storage
from iptables_assets.publish import glyphs, plotting, recolour

FORMAT = 1  # bump when the layout of the stored arrays changes
KEEP = 4  # templates kept per film (looks and port lists)
# Libraries whose output shapes a template's pixels.
DRAWING_LIBRARIES = ("matplotlib", "cartopy", "shapely", "pyproj", "numpy", "pillow")
# The modules that draw a film's frame figure and make its template (an edit to one draws them again).
DRAWING_MODULES = ("animation", "catalog", "figures", "glyphs", "plotting", "recolour", "template_store")
_PACKAGE = Path(__file__).resolve().parents[1]
_log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def drawing_code() -> str:
    """A digest of what draws templates: the drawing modules, the bundled shapes and the libraries'
    versions (an edit to any of them leaves older templates unused)."""
    digest = hashlib.sha256(json.dumps([FORMAT, *(metadata.version(name) for name in DRAWING_LIBRARIES)]).encode())
    modules = [_PACKAGE / "publish" / f"{name}.py" for name in DRAWING_MODULES]
    shapes = _PACKAGE.joinpath("data", "natural_earth").rglob("*")
    for path in sorted([*modules, _PACKAGE / "enrich" / "countries.py", *shapes]):
        if path.is_file():
            digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest() if path.suffix == ".py" else
                          str(path.stat().st_size).encode())
    return digest.hexdigest()


def kept(folder: UPath | None, name: str, depends_on: object,
         draw: Callable[[], recolour.Template]) -> recolour.Template:
    """The template `draw` makes, read from `folder` when it holds one for `depends_on` (a repr-stable
    value: film, look, port list), else drawn and stored there; `folder` None: drawn."""
    if folder is None:
        return draw()
    key = hashlib.sha256(f"{drawing_code()}\0{depends_on!r}".encode()).hexdigest()[:32]
    path = UPath(folder) / f"{name}-{key}.npz"
    try:
        return from_bytes(storage.verified_bytes(path, unverified_ok=False, shape_check=_check_npz))
    except FileNotFoundError:
        pass
    except (storage.DamagedData, ValueError, KeyError, OSError) as error:
        _log.warning(f"stored film template {path} unusable ({error}); drawn again")
    template = draw()
    if template.stamp.columns is not None:
        try:
            storage.write_verified_bytes(path, to_bytes(template))
            _prune(UPath(folder), name)
        except OSError as error:  # a full or read-only disk: the run goes on, drawing next time too
            _log.warning(f"film template not stored in {folder} ({error})")
    return template


def _prune(folder: UPath, name: str) -> None:
    """Keep the film's KEEP newest templates (the top-256 film gets one per port list)."""
    stored = sorted(folder.glob(f"{name}-*.npz"), key=lambda path: path.stat().st_mtime, reverse=True)
    for path in stored[KEEP:]:
        for gone in (path, storage.sidecar(path)):
            gone.unlink(missing_ok=True)


def _check_npz(path: UPath, data: bytes) -> None:
    if not data.startswith(b"PK"):
        raise storage.DamagedData(path, "not an .npz file")


def to_bytes(template: recolour.Template) -> bytes:
    """The template as an .npz of arrays and one JSON description."""
    arrays, described = _arrays(template)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, description=np.frombuffer(json.dumps(described).encode(), np.uint8), **arrays)
    return buffer.getvalue()


def from_bytes(data: bytes) -> recolour.Template:
    """The template `to_bytes` stored (ValueError / KeyError when the arrays do not fit together)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    described = json.loads(arrays.pop("description").tobytes())
    template = _template(arrays, described)
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
