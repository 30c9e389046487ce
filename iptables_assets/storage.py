"""Stored Parquet files that are verified before they are read.

Each data file gets a sidecar `<file>.sha256` with the SHA-256 of its bytes. Reads check the
bytes against it *before* they reach the Parquet reader, so a truncated or bit-flipped file is
named instead of changing totals in silence or crashing the native reader. Both files are
replaced atomically; see `write_parquet` for the order that keeps them consistent.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import tempfile
from pathlib import Path
from typing import Callable

import polars as pl
import pyarrow.parquet as pq
from upath import UPath

from iptables_assets.atomic import write_bytes_atomic

SIDECAR_SUFFIX = ".sha256"
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_PARQUET_MAGIC = b"PAR1"
_log = logging.getLogger(__name__)


class DamagedData(Exception):
    """A stored file that does not read back as it was written (or no longer exists)."""

    def __init__(self, path: UPath, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def local_cache(out_dir: str | Path, name: str) -> Path:
    """The cache folder `name` of an output folder: `<out>/_cache/<name>` beside the asset data, or
    in this machine's temp folder when the data is on object storage (caches are local files)."""
    if "://" in str(out_dir):
        return Path(tempfile.gettempdir()) / "iptables_assets" / name
    return Path(out_dir) / "_cache" / name


def sidecar(path: UPath) -> UPath:
    """Where the checksum of `path` is kept."""
    path = UPath(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_parquet(path: UPath, frame: pl.DataFrame) -> None:
    """Write `frame` to `path` as stored asset data (`parquet_bytes`), atomically with its
    checksum (`write_verified_bytes`)."""
    write_verified_bytes(path, parquet_bytes(frame))


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    """`frame` as the Parquet bytes of stored asset data (zstd, column statistics)."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=True)
    return buffer.getvalue()


def write_verified_bytes(path: UPath, data: bytes) -> None:
    """Write `data` to `path` atomically with its checksum.

    Two files cannot be replaced in one step, so the sidecar first lists the old and the new
    digest, then the data is replaced, then the sidecar keeps the new digest only: a crash at
    any point leaves a data file that matches its sidecar. (A new file's first sidecar already
    lists its digest alone.)
    """
    path = UPath(path)
    new = digest(data)
    try:
        old = _recorded(path) or []
    except DamagedData:  # a damaged sidecar accepts nothing old: the new one replaces it
        old = []
    if old != [new]:
        write_bytes_atomic(sidecar(path), _sidecar_text([new, *old[:1]], path))
    write_bytes_atomic(path, data)
    if old and old != [new]:
        write_bytes_atomic(sidecar(path), _sidecar_text([new], path))


def _sidecar_text(digests: list[str], path: UPath) -> bytes:
    """`sha256sum`-style lines, so `sha256sum -c` can check a file by hand."""
    return "".join(f"{d}  {path.name}\n" for d in dict.fromkeys(digests)).encode("ascii")


def _recorded(path: UPath) -> list[str] | None:
    """Digests the sidecar accepts (None without a sidecar); an unparseable sidecar is damage."""
    side = sidecar(path)
    try:
        text = side.read_bytes().decode("ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise DamagedData(path, f"checksum file {side.name} unreadable ({error})") from error
    digests = [line.split()[0] for line in text.splitlines() if line.strip()]
    if not digests or not all(_DIGEST.match(d) for d in digests):
        raise DamagedData(path, f"checksum file {side.name} is damaged")
    return digests


def verified_bytes(path: UPath, warn: Callable[[str], None] | None = None, unverified_ok: bool = True,
                   shape_check: Callable[[UPath, bytes], None] | None = None) -> bytes:
    """The file's bytes. Raises FileNotFoundError when the file is absent (a partition never
    written), DamagedData when it does not match its checksum or is not even shaped like
    Parquet (or what `shape_check` checks). Files written before checksums existed are accepted
    with a warning (`warn`, default: this module's logger), unless `unverified_ok` is off."""
    path = UPath(path)
    data = path.read_bytes()
    accepted = _recorded(path)
    if accepted is None and not unverified_ok:
        raise DamagedData(path, f"no checksum file {sidecar(path).name}")
    if accepted is None:
        (warn or _log.warning)(f"{path} has no checksum (written before checksums were kept); read unverified")
    elif digest(data) not in accepted:
        raise DamagedData(path, f"checksum mismatch (SHA-256 {digest(data)[:16]}… is not the {accepted[0][:16]}… recorded at write)")
    (shape_check or _check_shape)(path, data)
    return data


def _check_shape(path: UPath, data: bytes) -> None:
    """Parquet's frame: magic at both ends and a footer that fits (catches truncation of
    files without a checksum before the native reader sees them)."""
    if len(data) < 12 or not (data.startswith(_PARQUET_MAGIC) and data.endswith(_PARQUET_MAGIC)):
        raise DamagedData(path, f"not a complete Parquet file ({len(data):,} bytes, truncated?)")
    footer = int.from_bytes(data[-8:-4], "little")
    if footer + 12 > len(data):
        raise DamagedData(path, "Parquet footer points outside the file (truncated?)")


def row_count(path: UPath, warn: Callable[[str], None] | None = None) -> int:
    """Rows of a stored frame, from its verified footer (the data pages are not decoded)."""
    data = verified_bytes(path, warn)
    try:
        return pq.ParquetFile(io.BytesIO(data)).metadata.num_rows
    except (OSError, ValueError) as error:
        raise DamagedData(UPath(path), f"cannot be decoded ({error})") from error


def read_parquet(
    path: UPath, columns: list[str] | None = None, warn: Callable[[str], None] | None = None, unverified_ok: bool = True
) -> pl.DataFrame:
    """A stored frame after `verified_bytes` (same exceptions and options); a file that passes
    the check but still fails to decode is DamagedData too."""
    data = verified_bytes(path, warn, unverified_ok)
    try:
        return pl.read_parquet(io.BytesIO(data), columns=columns)
    except (pl.exceptions.PolarsError, OSError, ValueError) as error:
        raise DamagedData(UPath(path), f"cannot be decoded ({error})") from error
