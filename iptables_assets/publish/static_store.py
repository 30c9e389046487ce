"""Static parts of the figures kept on disk per output folder: computed once, read back by every
later run (a run drawing a day's figures does not compute them again).

What is kept: film templates (`template_store`), the tiles' label glyph paths (~0.3 s for a
tile's 1,024 labels) and the countries projected onto the world map (~0.15 s). Each is stored as
`<folder>/<name>-<key>.npz`: plain arrays (read with `allow_pickle=False`, never a pickle) with a
SHA-256 sidecar, under a key that digests what it depends on and the code and libraries that make
it (`drawing_code`). A file that fails its checksum or does not decode is made again and replaced
(a cache never fails a run); a folder that cannot be written costs the making, not the run; a few
files are kept per name. The folder is the output folder's, or the figure cache several output
folders share (`use`, called when the output folder resource is set up; a file another run prunes
while this one reads it is made again without a warning), none outside a run: then everything is
made in the process.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
from typing import Callable, TypeVar

import numpy as np
from upath import UPath

from iptables_assets import storage
from iptables_assets.code_version import PACKAGE, code_digest, library_versions

T = TypeVar("T")
FORMAT = 1  # bump when the layout of stored arrays changes
KEEP = 4  # files kept per name (the top-256 film and its labels get one per port list)
# Libraries whose output shapes what is stored.
DRAWING_LIBRARIES = ("matplotlib", "cartopy", "shapely", "pyproj", "numpy", "pillow")
# The modules that draw figures and make templates (an edit to one makes everything again).
DRAWING_MODULES = ("animation", "catalog", "figures", "glyphs", "labels", "plotting", "recolour", "static_store",
                   "template_store")
_PACKAGE = PACKAGE
_FOLDER: list[UPath | None] = [None]
_log = logging.getLogger(__name__)


def use(folder: UPath | None) -> None:
    """Keep static parts in `folder` from now on in this process (None: make them each time)."""
    _FOLDER[0] = folder


def folder() -> UPath | None:
    return _FOLDER[0]


@functools.lru_cache(maxsize=1)
def drawing_code() -> str:
    """A digest of what makes static parts: the drawing modules, the bundled shapes and the
    libraries' versions (an edit to any of them leaves older files unused)."""
    modules = [_PACKAGE / "publish" / f"{name}.py" for name in DRAWING_MODULES]
    shapes = _PACKAGE.joinpath("data", "natural_earth").rglob("*")
    return code_digest([FORMAT, *library_versions(DRAWING_LIBRARIES)],
                       [*modules, _PACKAGE / "enrich" / "countries.py", *shapes], _PACKAGE)


def kept(where: UPath | None, name: str, depends_on: object, make: Callable[[], T],
         encode: Callable[[T], bytes], decode: Callable[[bytes], T], storable: Callable[[T], bool] = lambda _: True
         ) -> T:
    """What `make` makes, read from `where` when it holds one for `depends_on` (a repr-stable
    value), else made and stored there (when `storable`); `where` None: made."""
    if where is None:
        return make()
    key = hashlib.sha256(f"{drawing_code()}\0{depends_on!r}".encode()).hexdigest()[:32]
    path = UPath(where) / f"{name}-{key}.npz"
    try:
        return decode(storage.verified_bytes(path, unverified_ok=False, shape_check=_check_npz))
    except FileNotFoundError:
        pass
    except (storage.DamagedData, ValueError, KeyError, OSError) as error:
        if path.exists():  # else pruned by another run sharing the folder while this one read it
            _log.warning(f"stored static part {path} unusable ({error}); made again")
    value = make()
    if storable(value):
        try:
            storage.write_verified_bytes(path, encode(value))
            _prune(UPath(where), name)
        except OSError as error:  # a full or read-only disk: the run goes on, making it next time too
            _log.warning(f"static part not stored in {where} ({error})")
    return value


def _check_npz(path: UPath, data: bytes) -> None:
    if not data.startswith(b"PK"):
        raise storage.DamagedData(path, "not an .npz file")


def _prune(where: UPath, name: str) -> None:
    """Keep the KEEP newest files of `name`."""
    stored = sorted(where.glob(f"{name}-*.npz"), key=lambda path: path.stat().st_mtime, reverse=True)
    for path in stored[KEEP:]:
        for gone in (path, storage.sidecar(path)):
            gone.unlink(missing_ok=True)


def npz_bytes(arrays: dict[str, np.ndarray], described: dict) -> bytes:
    """Arrays and a JSON description as compressed .npz bytes."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, description=np.frombuffer(json.dumps(described).encode(), np.uint8), **arrays)
    return buffer.getvalue()


def npz_arrays(data: bytes) -> tuple[dict[str, np.ndarray], dict]:
    """What `npz_bytes` stored (no pickles)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    return arrays, json.loads(arrays.pop("description").tobytes())


def named_paths_bytes(paths: dict) -> bytes:
    """{name: matplotlib Path} as .npz bytes (`named_paths_from` reads them back, in order)."""
    return paths_bytes(list(paths.values()), list(paths))


def named_paths_from(data: bytes) -> dict:
    names, paths = _stored_paths(data)
    if names is None:
        raise ValueError("stored paths have no names")
    return dict(zip(names, paths))


def paths_bytes(paths: list, names: list[str] | None = None) -> bytes:
    """matplotlib Paths (vertices and codes, exactly) as .npz bytes."""
    lengths = np.array([len(p.vertices) for p in paths], np.int64)
    vertices = np.concatenate([p.vertices for p in paths]) if paths else np.zeros((0, 2))
    codes = np.concatenate([p.codes if p.codes is not None else np.zeros(len(p.vertices), np.uint8)
                            for p in paths]) if paths else np.zeros(0, np.uint8)
    return npz_bytes({"lengths": lengths, "vertices": vertices.astype(np.float64), "codes": codes.astype(np.uint8),
                      "has_codes": np.array([p.codes is not None for p in paths], bool)},
                     {"paths": len(paths), "names": names})


def paths_from(data: bytes) -> list:
    """The Paths `paths_bytes` stored."""
    return _stored_paths(data)[1]


def _stored_paths(data: bytes) -> tuple[list[str] | None, list]:
    from matplotlib.path import Path as MplPath

    arrays, described = npz_arrays(data)
    lengths, vertices, codes, has_codes = (arrays[name] for name in ("lengths", "vertices", "codes", "has_codes"))
    if not len(lengths) == len(has_codes) == described["paths"] or not lengths.sum() == len(vertices) == len(codes):
        raise ValueError("stored paths do not add up")
    names = described.get("names")
    if names is not None and len(names) != len(lengths):
        raise ValueError("stored path names do not match the paths")
    ends = np.cumsum(lengths)
    return names, [MplPath(vertices[end - n:end], codes[end - n:end] if coded else None)
                   for n, end, coded in zip(lengths, ends, has_codes)]
