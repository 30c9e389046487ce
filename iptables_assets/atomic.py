"""Atomic file replacement on local folders and object storage (UPath); a write that fails (a
full disk, a read-only folder, a quota) raises CannotWrite naming the file it was for."""

from __future__ import annotations

import errno
import os
import re
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:  # imported where used: `iptables-assets parse` starts faster without fsspec
    from upath import UPath


# What a failed write says when the storage, whatever the file, is at fault (a log that cannot be
# read says none of these: EACCES is a write fault only where a write raised it, as CannotWrite).
WRITE_FAULTS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})
_RUST_OS_ERROR = re.compile(r" \(os error (\d+)\)$")


class CannotWrite(OSError):
    """An output that could not be written: its path and the cause (`cannot write '<path>': …`)."""

    def __str__(self) -> str:
        return f"cannot write {self.filename!r}: {self.strerror}"


def is_write_fault(error: BaseException) -> bool:
    """Whether an error is storage refusing a write (not bad data, not a log that cannot be read)."""
    return isinstance(error, CannotWrite) or (isinstance(error, OSError) and error_number(error) in WRITE_FAULTS)


def error_number(error: OSError) -> int | None:
    """The errno of an OSError, also of one raised by a Rust library (polars) that gives it only
    in its text, `No space left on device (os error 28)`."""
    if error.errno:
        return error.errno
    found = _RUST_OS_ERROR.search(str(error))
    return int(found[1]) if found else None


@contextmanager
def naming(path) -> Iterator[None]:
    """Re-raise an OSError of the block as CannotWrite for `path` (polars, Pillow and the
    os.write of a full disk say `No space left on device` but not for which file)."""
    try:
        yield
    except CannotWrite:
        raise
    except OSError as error:
        raise CannotWrite(error_number(error) or errno.EIO, what_went_wrong(error), str(path)) from error


def what_went_wrong(error: OSError) -> str:
    """An OSError's reason without its errno or file: `No space left on device`."""
    return error.strerror or _RUST_OS_ERROR.sub("", str(error)) or type(error).__name__


def write_atomic(path: UPath, write: Callable[[IO[bytes]], None]) -> None:
    """Write `path` through `write(handle)` into a temporary sibling, then replace `path` in one
    step, so that a crash mid-write leaves the previous file intact."""
    from upath import UPath

    path = UPath(path)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with naming(path):
            path.parent.mkdir(parents=True, exist_ok=True)
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
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with naming(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(temporary, "wb") as handle:
                yield handle
            os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
