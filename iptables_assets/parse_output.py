"""Where `iptables-assets parse` writes: records as JSON lines or Parquet, rejects as JSON lines,
written batch by batch as the days are merged, so no output is ever held whole in memory.

Regular files are replaced atomically (a temporary sibling, then one rename); /dev/stdout,
pipes and the like are written directly.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Iterator

import polars as pl

from iptables_assets.atomic import replacing
from iptables_assets.ingest.records.firewall.parsing import DayBatch, Spilled, record_schema

_JSON_TIME = "%Y-%m-%dT%H:%M:%S%.6f%:z"


@contextmanager
def _output(target: Path) -> Iterator[IO[bytes]]:
    """A handle on `target`: a regular (or new) file is replaced atomically, others written."""
    if target.exists() and not target.is_file():
        with open(target, "wb") as handle:
            yield handle
    else:
        with replacing(target) as handle:
            yield handle


def write(spilled: Spilled, records: Path | None, parquet: bool, rejects: Path | None, summary: bool) -> None:
    """Merge the spilled logs day by day into the outputs asked for (records to stdout when
    `records` is None and neither Parquet nor `summary` is asked for)."""
    with ExitStack() as stack:
        reject_sink = stack.enter_context(_output(rejects)) if rejects else None
        wanted = not summary or reject_sink is not None
        batches = spilled.batches(None if wanted else (lambda _day: False))
        batches = _with_rejects(batches, reject_sink)
        if summary:
            for _batch in batches:
                pass
        elif parquet:
            _parquet(batches, stack.enter_context(_output(records)), spilled.config.tz)
        else:
            _jsonl(batches, stack.enter_context(_output(records)) if records else None)


def _with_rejects(batches: Iterator[DayBatch], sink: IO[bytes] | None) -> Iterator[DayBatch]:
    """The batches, their rejects written to `sink` (JSON lines) on the way."""
    for batch in batches:
        if sink is not None:
            batch.rejects.write_ndjson(sink)
        yield batch


def _jsonl(batches: Iterator[DayBatch], sink: IO[bytes] | None) -> None:
    """Records as JSON lines, timestamps as ISO 8601 with the zone's offset."""
    for batch in batches:
        records = batch.records.with_columns(pl.col("timestamp").dt.strftime(_JSON_TIME))
        if sink is None:
            sys.stdout.write(records.write_ndjson())
        else:
            records.write_ndjson(sink)


def _parquet(batches: Iterator[DayBatch], sink: IO[bytes], tz: str) -> None:
    """Records as one Parquet file (zstd), written by polars' streaming sink as batches come."""
    from polars.io.plugins import register_io_source

    def source(_columns, _predicate, _rows, _size) -> Iterator[pl.DataFrame]:
        for batch in batches:
            yield batch.records

    register_io_source(source, schema=record_schema(tz)).sink_parquet(sink, compression="zstd", row_group_size=1 << 16)
