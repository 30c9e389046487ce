"""A chunk of lines as a polars DataFrame: the arrays of the compiled scan (`scanner`) as
columns, one row per line (header and netfilter fields; absent numbers null)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from iptables_assets.ingest.lines.scanner import NUMERIC_FIELDS, TEXT_FIELDS, WIDE_FIELDS, scan_arrays, text_spans

PARSED_TEXT = tuple(n for n in TEXT_FIELDS if n != "message")


def scan(chunk: bytes, first_line: int, text_fields=PARSED_TEXT) -> pl.DataFrame:
    """One row per line of `chunk`: header and netfilter fields (see `scanner`)."""
    buf, starts, ends, num, txt, info, flags = scan_arrays(chunk)
    n = len(starts)
    columns = {
        "line_number": pl.Series(np.arange(first_line, first_line + n, dtype=np.int64)),
        "line_start": pl.Series(starts),
        "line_end": pl.Series(ends),
        "fmt": pl.Series(info[0]),
        "md": pl.Series(info[1]),
        "local_us": pl.Series(info[2]),
        "offset_s": pl.Series(info[3]),
        "candidate": pl.Series(info[4].astype(bool)),
        "weight": pl.Series(info[5]),
        "msg_hash": pl.Series(info[6]),
        "src_kind": pl.Series(info[7]),
        "dst_kind": pl.Series(info[8]),
        "implausible_repeat": pl.Series(info[9].astype(bool)),
        "ip_flag_bits": pl.Series(flags[0]),
        "tcp_flag_bits": pl.Series(flags[1]),
    }
    for i, (name, *_rest) in enumerate(NUMERIC_FIELDS):
        columns[name] = pl.Series(name, num[i])
    for column in _text_columns(text_fields, buf, txt):
        columns[column.name] = column
    # -1 means absent: one vectorised pass makes those null (and the narrow fields Int32)
    # instead of a validity bitmap and an arrow round trip per column.
    return pl.DataFrame(columns).with_columns(_nullable("tcp_flag_bits", pl.Int64), *(
        _nullable(name, pl.Int64 if name in WIDE_FIELDS else pl.Int32) for name, *_rest in NUMERIC_FIELDS
    ))


def _text_columns(names, buf: np.ndarray, txt: np.ndarray) -> list[pl.Series]:
    """The text fields `names` as string columns (null where absent), sharing one data buffer."""
    if not names:
        return []
    offsets, data, valid = text_spans(buf, txt, names)
    n = txt.shape[2]
    bitmaps = np.packbits(valid, axis=1, bitorder="little")
    shared = pa.py_buffer(data)
    arrays = [
        pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets[i]), shared, pa.py_buffer(bitmaps[i]))
        for i in range(len(names))
    ]
    frame = pl.from_arrow(pa.Table.from_arrays(arrays, names=list(names)), rechunk=False)
    return frame.get_columns()


def _nullable(name: str, dtype: pl.DataType) -> pl.Expr:
    """Column `name` (int64, -1 = absent) as a nullable column of `dtype` (Int32 saturates)."""
    col = pl.col(name)
    if dtype == pl.Int32:
        col = col.clip(upper_bound=2**31 - 1).cast(pl.Int32)
    return pl.when(pl.col(name) >= 0).then(col)
