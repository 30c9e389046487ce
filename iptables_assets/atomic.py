"""Atomic file replacement on local folders and object storage (UPath)."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:  # imported where used: `iptables-assets parse` starts faster without fsspec
    from upath import UPath


def write_atomic(path: UPath, write: Callable[[IO[bytes]], None]) -> None:
    """Write `path` through `write(handle)` into a temporary sibling, then replace `path` in one
    step, so that a crash mid-write leaves the previous file intact."""
    from upath import UPath

    path = UPath(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("wb") as handle:
            write(handle)
        if path.protocol in ("", "file", "local"):
            os.replace(temporary.path, path.path)
        else:  # object stores have no rename; a copy-then-delete is the best they offer
            temporary.rename(path)
    finally:
        if temporary.exists():
            temporary.unlink()


def write_bytes_atomic(path: UPath, data: bytes) -> None:
    """Replace `path` with `data` atomically."""
    write_atomic(path, lambda handle: handle.write(data))


@contextmanager
def replacing(path: Path) -> Iterator[IO[bytes]]:
    """A handle on a temporary sibling of the local file `path` that replaces it in one step when
    the block ends without an error (and is removed when it raises)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "wb") as handle:
            yield handle
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
