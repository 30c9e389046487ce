"""Atomic file replacement on local folders and object storage (UPath)."""

from __future__ import annotations

import os
import uuid
from typing import IO, Callable

from upath import UPath


def write_atomic(path: UPath, write: Callable[[IO[bytes]], None]) -> None:
    """Write `path` through `write(handle)` into a temporary sibling, then replace `path` in one
    step, so that a crash mid-write leaves the previous file intact."""
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
