"""How log files are read, at every step of a line's path (files, lines, records): the logs'
time zone, the programs trusted to write firewall lines, and how much is read at a time."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

DEFAULT_TRUSTED_PROGRAMS = ("kernel", "pve-firewall", "unifi")


@dataclass(frozen=True)
class ParseConfig:
    """How lines are read: the logs' time zone and which syslog programs are trusted."""

    tz: str = "UTC"
    trusted_programs: tuple[str, ...] = DEFAULT_TRUSTED_PROGRAMS
    chunk_bytes: int = 8 << 20
    threads: int = min(4, os.cpu_count() or 1)
    # A streamed parse deduplicates and writes at most about this many records at a time
    # (more only when that many share one timestamp): what bounds its memory.
    batch_rows: int = 250_000
    # Only this stretch (first and last moment, UTC) of files that can seek by time (journals);
    # text files are read whole. Set by `parse_days` to the days it is asked for.
    window: tuple[datetime, datetime] | None = None
