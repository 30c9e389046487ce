"""Compressed log files read piece by piece (gzip, bz2, xz; members concatenated as `zcat`
reads them), keeping every byte that can be recovered before a truncation or corruption.
`logfiles.decompressed_pieces` opens the file and names it in the damage it reports."""

from __future__ import annotations

import bz2
import lzma
import zlib
from typing import BinaryIO, Iterator

from isal import isal_zlib

# What a truncated or corrupt compressed file raises while being read.
DAMAGED = (EOFError, OSError, lzma.LZMAError, zlib.error, isal_zlib.error)
_READ_PIECE = 1 << 20  # raw bytes per read (a compressed piece decodes to ~5-10 MiB of log lines)


class DamagedStream(OSError):
    """A compressed file that ends early or holds corrupt data (raised after its good part)."""


def plain_pieces(raw: BinaryIO) -> Iterator[bytes]:
    """An uncompressed file in pieces (a read error mid-file keeps what was read before it)."""
    yield from iter(lambda: raw.read(_READ_PIECE), b"")


def new_decoder(compression: str, fast: bool = True):
    """A streaming decoder; gzip uses ISA-L's (several times zlib's speed) unless `fast` is off."""
    if compression == "gzip":
        return isal_zlib.decompressobj(wbits=31) if fast else zlib.decompressobj(wbits=31)
    if compression == "bz2":
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor()


def members(raw: BinaryIO, compression: str) -> Iterator[bytes]:
    """Decoded bytes of every member (concatenated streams, as `zcat` reads them; zero padding
    after one is skipped). On damage the member is replayed to recover what the failing read
    would lose, then an error saying where the damage is is raised."""
    start, made, decoder = 0, 0, new_decoder(compression)
    offset, data = 0, raw.read(_READ_PIECE)  # `offset`: compressed position of `data`
    while True:
        if not data:
            yield from _salvage(raw, start, compression, made)
            raise EOFError(f"file ends inside the compressed stream, at byte {offset:,}")
        try:
            out = decoder.decompress(data)
        except DAMAGED as error:
            at = yield from _salvage(raw, start, compression, made)
            raise EOFError(f"{error}, at compressed byte {offset if at is None else at:,}") from error
        made += len(out)
        if out:
            yield out
        if not decoder.eof:
            offset, data = offset + len(data), raw.read(_READ_PIECE)
            continue
        rest = decoder.unused_data
        offset, data = _skip_padding(raw, offset + len(data) - len(rest), rest)
        if not data:
            return
        start, made, decoder = offset, 0, new_decoder(compression)


def _skip_padding(raw: BinaryIO, offset: int, data: bytes) -> tuple[int, bytes]:
    """After a finished member: the offset and bytes where the next one starts (b"" at the end)."""
    while True:
        kept = data.lstrip(b"\0")
        offset += len(data) - len(kept)
        if kept:
            return offset, kept
        data = raw.read(_READ_PIECE)
        if not data:
            return offset, b""


_STEP = 1 << 16


def _salvage(raw: BinaryIO, start: int, compression: str, skip: int) -> Iterator[bytes]:
    """What a fresh stdlib decoder recovers from the member at `start` beyond the `skip` bytes
    already delivered, and the compressed offset where it fails (None: the data just ends). A
    decoder that raises returns nothing of that call, so the failing step is replayed one
    compressed byte at a time (rare: only on damage)."""
    failed, made = yield from _replay(raw, start, compression, skip, None)
    if failed is None:
        return None
    at, _made = yield from _replay(raw, start, compression, max(skip, made), failed)
    return at


def _replay(raw: BinaryIO, start: int, compression: str, skip: int, fine_from: int | None):
    """Feed the member at `start` to a new decoder in _STEP pieces (single bytes from offset
    `fine_from` on), yielding output past the first `skip` bytes; returns the offset of the
    piece that failed (None if none did) and the number of bytes decoded before it."""
    decoder, position, made = new_decoder(compression, fast=False), start, 0
    raw.seek(start)
    while not decoder.eof:
        size = _STEP if fine_from is None else 1 if position >= fine_from else min(_STEP, fine_from - position)
        data = raw.read(size)
        if not data:
            break
        try:
            out = decoder.decompress(data)
        except DAMAGED:
            return position, made
        if made + len(out) > skip:
            yield out[max(0, skip - made):]
        made += len(out)
        position += len(data)
    return None, made
