"""One host, two sources, every event once: where a host's journal covers a moment, its text logs'
lines of that moment are not counted again.

A host running rsyslog beside a persistent journal writes each kernel and sshd line twice: into
`kern.log`/`messages`/`auth.log` (local time to the second, often with the kernel's `[uptime]`
stamp, several packets folded into `message repeated N times`) and into the journal (the exact
time, no stamp, one entry per packet). The two copies of one event share neither time nor text,
so they cannot be matched line by line without guessing. Sources are chosen instead, by time:

    a text-log line of host H at second S is a duplicate when a journal file holding entries
    of H runs from before or at S to after or at S (its first entry's second to its last entry)

and the journal's entries count. Where only one source holds a stretch (journal persistence
switched on later, old text files rotated away, a gap between archived journal files), that
source counts. Text lines without a host, and hosts the journal does not hold, are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Protocol

import polars as pl

from iptables_assets.ingest.files.logfiles import LogFile

_SPAN_SCHEMA = {"host": pl.String, "__from": pl.Datetime("us", "UTC"), "__to": pl.Datetime("us", "UTC")}


class _ReadFile(Protocol):
    """What is known of a file once read (FileCounts, FileParse, the sshd reader's result)."""

    file: LogFile
    first: datetime | None
    last: datetime | None
    hosts: tuple[str, ...]
    covers: tuple[datetime, datetime] | None


@dataclass(frozen=True)
class JournalCoverage:
    """The journal files read (relative paths) and, per host, the stretches they cover."""

    files: frozenset[str]
    spans: tuple[tuple[str, datetime, datetime], ...]  # (host, first second, last entry), UTC

    def __bool__(self) -> bool:
        return bool(self.spans)

    def covered(self, rows: pl.DataFrame) -> pl.Series:
        """For each row (`host`, `timestamp`, `source_file`): a text-log row inside a stretch."""
        if not self.spans or rows.height == 0:
            return pl.Series("covered", [False] * rows.height, dtype=pl.Boolean)
        spans = _disjoint(pl.DataFrame(list(self.spans), schema=_SPAN_SCHEMA, orient="row"))
        probe = rows.select(
            pl.col("host"), pl.col("timestamp").dt.convert_time_zone("UTC").alias("__t"),
            (~pl.col("source_file").is_in(list(self.files))).alias("__text"),
        ).with_row_index("__row")
        found = (
            probe.filter(pl.col("__text") & pl.col("host").is_not_null() & pl.col("__t").is_not_null())
            .sort("__t")
            .join_asof(spans.sort("__from"), left_on="__t", right_on="__from", by="host", strategy="backward",
                       check_sortedness=False)
            .filter(pl.col("__to").is_not_null() & (pl.col("__t") <= pl.col("__to")))
        )
        return probe["__row"].is_in(found["__row"].implode()).alias("covered")


def coverage_of(read: Iterable[_ReadFile]) -> JournalCoverage:
    """The coverage of the journal files among `read`: each file's hosts over the stretch its
    header gives (first to last entry: the whole file's, whatever part of it was read), else the
    stretch of the entries read."""
    journals = [r for r in read if r.file.compression == "journal"]
    stretches = [(r, r.covers or (r.first, r.last)) for r in journals]
    spans = tuple(sorted(
        (host, first.replace(microsecond=0), last)
        for r, (first, last) in stretches if first is not None and last is not None for host in r.hosts
    ))
    return JournalCoverage(frozenset(r.file.relative for r in journals), spans)


def without_covered(rows: pl.DataFrame, coverage: JournalCoverage | None) -> tuple[pl.DataFrame, int]:
    """`rows` less the text-log rows a journal covers, and the events (weights) those stood for."""
    if not coverage or rows.height == 0:
        return rows, 0
    covered = coverage.covered(rows)
    if not covered.any():
        return rows, 0
    removed = int(rows.filter(covered)["weight"].sum())
    return rows.filter(~covered), removed


def _disjoint(spans: pl.DataFrame) -> pl.DataFrame:
    """Each host's stretches merged where they overlap, so that the one starting last before a
    moment is the only one that can hold it."""
    merged: list[tuple[str, datetime, datetime]] = []
    for host, start, end in spans.sort("host", "__from").iter_rows():
        if merged and merged[-1][0] == host and start <= merged[-1][2]:
            merged[-1] = (host, merged[-1][1], max(merged[-1][2], end))
        else:
            merged.append((host, start, end))
    return pl.DataFrame(merged, schema=_SPAN_SCHEMA, orient="row")

