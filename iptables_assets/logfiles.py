"""Log files on disk: discovery, rotation families, decompression and content hashes."""

from __future__ import annotations

import bz2
import fnmatch
import hashlib
import lzma
import os
import re
import zlib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO, Iterator, Sequence

from isal import igzip_threaded

DEFAULT_PATTERNS: tuple[str, ...] = (
    "messages*",
    "kern.log*",
    "syslog*",
    "ufw.log*",
    "secure*",
    "auth.log*",
    "journal*.json",
)

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
)
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz")
# What a truncated or corrupt compressed file raises while being read.
_DAMAGED = (EOFError, OSError, lzma.LZMAError, zlib.error)
_READ_PIECE = 1 << 20
_NUMERIC_ROTATION = re.compile(r"^(?P<base>.+?)\.(?P<n>\d+)$")
_DATE_ROTATION = re.compile(r"^(?P<base>.+?)-(?P<d>\d{8})$")


@dataclass(frozen=True)
class LogFile:
    """One log file found on disk, with what is needed to order and read it."""

    path: Path
    relative: str
    size: int
    mtime: float
    compression: str
    family: str
    rotation_index: int
    rotation_date: date | None

    @property
    def mtime_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.mtime).astimezone()


def detect_compression(path: Path) -> str:
    """Compression of a file by its magic bytes (not its name): gzip, bz2, xz or plain."""
    with open(path, "rb") as handle:
        head = handle.read(6)
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return "plain"


def rotation_key(name: str) -> tuple[str, int, date | None]:
    """Split a rotated file name into (family, rotation index, rotation date).

    `messages` -> ("messages", 0, None); `messages.2.gz` -> ("messages", 2, None);
    `kern.log-20190105.gz` -> ("kern.log", 1, 2019-01-05). Date-style rotations get index 1;
    their relative order comes from the date.
    """
    stem = name
    for suffix in _COMPRESSION_SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    numeric = _NUMERIC_ROTATION.match(stem)
    if numeric:
        return numeric["base"], int(numeric["n"]), None
    dated = _DATE_ROTATION.match(stem)
    if dated:
        try:
            when = datetime.strptime(dated["d"], "%Y%m%d").date()
        except ValueError:
            return stem, 0, None
        return dated["base"], 1, when
    return stem, 0, None


def discover(root: Path | str, patterns: Sequence[str] = DEFAULT_PATTERNS) -> list[LogFile]:
    """Every regular file under `root` (recursively) whose name matches one of `patterns`.

    `root` may also be a single file, which is then taken whatever its name.
    """
    root = Path(root)
    if root.is_file():
        candidates = [root]
        base = root.parent
    else:
        if not root.is_dir():
            raise FileNotFoundError(f"log directory {str(root)!r} does not exist")
        base = root
        candidates = sorted(
            p
            for p in root.rglob("*")
            if p.is_file() and not p.is_symlink() and any(fnmatch.fnmatch(p.name, pat) for pat in patterns)
        )
    return [describe(p, base) for p in candidates]


def describe(path: Path, base: Path) -> LogFile:
    """Stat one file and classify its compression and rotation."""
    stat = path.stat()
    relative = os.path.relpath(path, base)
    family, index, when = rotation_key(path.name)
    parent = os.path.dirname(relative)
    return LogFile(
        path=path,
        relative=relative,
        size=stat.st_size,
        mtime=stat.st_mtime,
        compression=detect_compression(path),
        family=os.path.join(parent, family),
        rotation_index=index,
        rotation_date=when,
    )


def newest_first(files: Sequence[LogFile]) -> list[LogFile]:
    """Order files of one family from the live file to the oldest rotated copy."""

    def age(f: LogFile) -> tuple:
        dated = -f.rotation_date.toordinal() if f.rotation_date else 0
        return (f.rotation_index > 0, dated, f.rotation_index, f.relative)

    return sorted(files, key=age)


def group_families(files: Sequence[LogFile]) -> dict[str, list[LogFile]]:
    """Files grouped by rotation family, each family ordered newest first."""
    families: dict[str, list[LogFile]] = {}
    for f in files:
        families.setdefault(f.family, []).append(f)
    return {name: newest_first(group) for name, group in sorted(families.items())}


def open_binary(path: Path, compression: str | None = None) -> BinaryIO:
    """A binary reader of the decompressed content (gzip is inflated in a helper thread)."""
    compression = compression or detect_compression(path)
    if compression == "gzip":
        return igzip_threaded.open(path, "rb", threads=1)
    if compression == "bz2":
        return bz2.open(path, "rb")
    if compression == "xz":
        return lzma.open(path, "rb")
    return open(path, "rb")


def iter_line_chunks(
    path: Path, compression: str | None = None, chunk_size: int = 32 << 20, damage: list[str] | None = None
) -> Iterator[tuple[int, bytes]]:
    """Decompressed content in chunks that end on a line break: (first line number, bytes).

    A truncated or corrupt compressed file raises, unless a `damage` list is given: then the
    content read before the damage is yielded and a description is appended to the list.
    """
    line_no = 1
    carry = b""
    with open_binary(path, compression) as handle:
        for block in _blocks(handle, chunk_size, compression, damage):
            data = carry + block
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            chunk, carry = data[: cut + 1], data[cut + 1 :]
            yield line_no, chunk
            line_no += chunk.count(b"\n")
    if carry:
        yield line_no, carry


def _blocks(handle: BinaryIO, size: int, compression: str | None, damage: list[str] | None) -> Iterator[bytes]:
    """Blocks of about `size` bytes, read in pieces of at most _READ_PIECE so that a damaged
    compressed stream loses only the piece that fails (a failing read returns nothing)."""
    parts: list[bytes] = []
    have = done = 0
    while True:
        try:
            part = handle.read(min(size, _READ_PIECE))
        except _DAMAGED as error:
            if damage is None:
                raise
            damage.append(f"{compression or 'file'} data unreadable after {done + have} bytes: {error}")
            part = b""
        if part:
            parts.append(part)
            have += len(part)
        if parts and (have >= size or not part):
            yield parts[0] if len(parts) == 1 else b"".join(parts)
            parts, done, have = [], done + have, 0
        if not part:
            return


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes as stored (compressed or not)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
