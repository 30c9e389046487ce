"""Making attacker-written text safe to show: cut to a readable length, and harmless in a spreadsheet.

Log lines, user names and reverse-DNS names are chosen by whoever sends the packets. Two things
go wrong when they are shown as they are:

- a 10 MB "line" makes a page or a CSV cell unreadable (and slow), so what is *shown* is cut to
  `SHOWN_CHARACTERS` with a visible marker naming the full length; Parquet keeps the full text;
- a cell starting with `=`, `+`, `-`, `@`, tab or CR is run as a formula by spreadsheet programs
  (OWASP "CSV injection"), so CSV string cells starting with one get a leading `'`.

Plain Python and polars; the assets call these, the journal calls `cut_text`.
"""

from __future__ import annotations

from typing import Callable

import polars as pl

SHOWN_CHARACTERS = 300  # attacker text shown (journal, CSV cells) is cut after this many characters
# A transform (redaction) runs on at most `limit` times this much of a long text: enough that what
# is left after replacing long addresses and host names by short pseudonyms still fills `limit`.
_WINDOW_FACTOR = 64

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = r"^[=+\-@\t\r]"


def cut_marker(length: int) -> str:
    """What replaces the end of a cut text: says it was cut and how long the full text is."""
    return f" … [cut, {length:,} characters]"


def cut_text(
    text: str | None, limit: int = SHOWN_CHARACTERS, transform: Callable[[str], str] | None = None
) -> str | None:
    """`text` (after `transform`, e.g. redaction) as shown: whole if short, else its first `limit`
    characters and `cut_marker` with the original length.

    The transform sees only the first `limit * _WINDOW_FACTOR` characters of a long text, so that a
    huge line costs no more than a normal one; what is shown comes from well inside that window,
    so nothing half-transformed (an address cut by the window) can reach the output."""
    if text is None:
        return None
    head = text[: limit * _WINDOW_FACTOR]
    shown = transform(head) if transform else head
    if len(head) == len(text) and len(shown) <= limit:
        return shown
    return shown[:limit] + cut_marker(len(text))


def cut_series(values: pl.Series, limit: int = SHOWN_CHARACTERS) -> pl.Series:
    """A string Series with every value longer than `limit` cut by `cut_text` (the rest untouched)."""
    long = values.str.len_chars() > limit
    if not long.any():
        return values
    indices = long.arg_true()
    return values.scatter(indices, [cut_text(v, limit) for v in values.gather(indices).to_list()])


def neutralise_formulas(values: pl.Series) -> pl.Series:
    """String cells a spreadsheet would run as a formula (starting with = + - @ tab CR) prefixed
    with a single quote, which spreadsheets show as text; other cells unchanged."""
    return values.to_frame("v").select(
        pl.when(pl.col("v").str.contains(_FORMULA_START)).then(pl.lit("'") + pl.col("v")).otherwise(pl.col("v"))
    ).to_series().alias(values.name)


def csv_frame(frame: pl.DataFrame, limit: int = SHOWN_CHARACTERS) -> pl.DataFrame:
    """`frame` as it goes into a CSV file: list columns joined with spaces, long strings cut
    (each element of a string list, so a list of ports is never cut), formula-like strings
    neutralised. Numbers, dates and booleans are left as they are (-1 stays a number)."""
    columns = []
    for name, dtype in frame.schema.items():
        column = frame[name]
        if isinstance(dtype, pl.List):
            if dtype.inner == pl.String:
                column = _cut_lists(column, limit)
            column = column.cast(pl.List(pl.String)).list.join(" ")
        elif dtype == pl.String:
            column = cut_series(column, limit)
        else:
            columns.append(column)
            continue
        columns.append(neutralise_formulas(column))
    return pl.DataFrame(columns) if columns else frame


def _cut_lists(column: pl.Series, limit: int) -> pl.Series:
    """A list-of-strings Series with every element longer than `limit` cut by `cut_text`."""
    if not (column.list.eval(pl.element().str.len_chars()).list.max() > limit).any():
        return column
    rows = [None if row is None else [cut_text(v, limit) for v in row] for row in column.to_list()]
    return pl.Series(column.name, rows, dtype=column.dtype)


def bounded_frame(frame: pl.DataFrame, limit: int = SHOWN_CHARACTERS) -> pl.DataFrame:
    """`frame` with long strings cut (for previews such as Dagster UI metadata tables)."""
    return frame.with_columns(cut_series(frame[n], limit) for n, t in frame.schema.items() if t == pl.String)
