"""Writing each file family the way logrotate leaves it: cut at local midnight, older periods gzipped."""

from __future__ import annotations

import bisect
import datetime as dt
import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from iptables_assets.sample.events import US, Line, Simulation
from iptables_assets.sample.world import Rng


@dataclass(frozen=True)
class Family:
    """A logrotate'd file family: rotated at local midnight on the days ``rotates`` says."""

    name: str
    style: str  # "numeric": name, name.1, name.2.gz ...; "dateext": name, name-YYYYMMDD.gz ...
    rotates: Callable[[dt.date], bool]


FAMILIES = (
    Family("messages", "numeric", lambda d: d.weekday() == 6),  # weekly, Sundays
    Family("kern.log", "dateext", lambda d: d.toordinal() % 10 == 0),  # every 10 days
    Family("secure", "numeric", lambda d: d.weekday() == 6),
)


@dataclass
class FileInfo:
    """What the truth says of one written file: its line counts and its first and last stamps."""

    lines: int
    ignored: int
    first: str | None
    last: str | None


def rotation_days(family: Family, dates: list[dt.date]) -> list[int]:
    """Indexes of the days the family rotates at the start of (never the first: nothing to rotate yet)."""
    return [i for i, d in enumerate(dates) if i > 0 and family.rotates(d)]


def rotated_names(family: Family, cut_dates: list[dt.date]) -> list[str]:
    """File names oldest first; the last one is the live file."""
    n = len(cut_dates)
    if family.style == "numeric":
        older = [f"{family.name}.{k}" + (".gz" if k >= 2 else "") for k in range(n, 0, -1)]
    else:
        older = [f"{family.name}-{d:%Y%m%d}.gz" for d in cut_dates]
    return older + [family.name]


def write_family(out_dir: Path, family: Family, rendered: list[tuple[Line, str]], sim: Simulation,
                 rng: Rng) -> dict[str, FileInfo]:
    """Split the family's lines at its rotation instants and write each period as one file."""
    days = rotation_days(family, sim.dates)
    names = rotated_names(family, [sim.dates[i] for i in days])
    cuts = [sim.bounds[i] for i in days]
    mine = [item for item in rendered if family.name in item[0].families]
    times = [line.t_us for line, _ in mine]
    edges = [0] + [bisect.bisect_left(times, cut) for cut in cuts] + [len(mine)]
    periods = [mine[a:b] for a, b in zip(edges, edges[1:])]
    infos = {}
    for k, (name, period) in enumerate(zip(names, periods)):
        default_mtime = (cuts[k] if k < len(cuts) else sim.bounds[-1]) // US
        infos[name] = _write_file(out_dir / name, period, sim, rng, default_mtime)
    return infos


def _write_file(path: Path, period: list[tuple[Line, str]], sim: Simulation, rng: Rng,
                default_mtime: int) -> FileInfo:
    """One period's file, its mtime a few seconds after its last stamped line as rsyslog leaves it."""
    stamped = [line.t_us for line, _ in period if not line.raw]
    mtime = stamped[-1] // US + rng.between(1, 5) if stamped else default_mtime
    data = "".join(text + "\n" for _, text in period).encode("utf-8", "surrogateescape")
    _write_bytes(path, data, mtime)
    return FileInfo(len(period), sum(1 for line, _ in period if not line.candidate),
                    _local_iso(stamped[0], sim.tz) if stamped else None,
                    _local_iso(stamped[-1], sim.tz) if stamped else None)


def _write_bytes(path: Path, data: bytes, mtime: int) -> None:
    """Plain or gzip by suffix; the gzip header and the file carry ``mtime``, never the clock, so bytes repeat."""
    with open(path, "wb") as raw:
        if path.suffix == ".gz":
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=mtime, compresslevel=1) as gz:
                gz.write(data)
        else:
            raw.write(data)
    os.utime(path, (mtime, mtime))


def _local_iso(t_us: int, tz: ZoneInfo) -> str:
    """A line's stamp as local ISO time with offset, whole seconds like the syslog header."""
    return dt.datetime.fromtimestamp(t_us // US, tz).isoformat()
