"""Live progress of long work (logs read, days aggregated, frames drawn) for `iptables-assets run`.

Stages call `track(...)`; nothing is shown unless the command line turned progress on with
`show_on(stream)`, so the same code runs silently under the Dagster UI. On a terminal a tqdm
bar is redrawn in place; elsewhere (a log file, CI) a plain line is written every
`interval` seconds and at the end, with done/total, rate and ETA formatted by tqdm.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator, Sequence, TypeVar

from tqdm import tqdm

T = TypeVar("T")
_PLAIN_FORMAT = "{desc}: {n_fmt}/{total_fmt} {unit} ({percentage:.0f}%) [{elapsed}<{remaining}, {rate_fmt}]"
_sink: dict = {"stream": None, "interval": 30.0}


def show_on(stream: IO[str] | None = sys.stderr, interval: float = 30.0) -> None:
    """Show progress on `stream` from now on (None: show nothing again)."""
    _sink.update(stream=stream, interval=interval)


class Progress:
    """Done of total for one piece of work; a no-op when progress is not shown."""

    def __init__(self, label: str, total: int, unit: str):
        self.label, self.total, self.unit, self.done = label, total, unit, 0
        self._stream, self._interval = _sink["stream"], _sink["interval"]
        self._started = self._said = time.monotonic()
        self._bar = None
        if self._stream is not None and _is_terminal(self._stream):
            self._bar = tqdm(total=total, desc=label, unit=unit, file=self._stream, dynamic_ncols=True,
                             unit_scale=unit == "B", leave=True)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self._stream is not None and time.monotonic() - self._said >= self._interval:
            self._say()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._stream is not None:
            self._say()

    def _say(self) -> None:
        self._said = time.monotonic()
        line = tqdm.format_meter(self.done, self.total, self._said - self._started, prefix=self.label,
                                 unit=self.unit, unit_scale=self.unit == "B", bar_format=_PLAIN_FORMAT)
        print(f"[{time.strftime('%H:%M:%S')}]   {line}", file=self._stream, flush=True)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def track(label: str, total: int, unit: str = "it") -> Progress:
    """A Progress for `total` units of work labelled `label`."""
    return Progress(label, total, unit)


def iterate(items: Sequence[T], label: str, unit: str = "it") -> Iterator[T]:
    """The items, one by one, counted as done when the next is asked for."""
    with track(label, len(items), unit) as shown:
        for item in items:
            yield item
            shown.update()


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def watch_new_files(folders: Sequence[Path], total: int, label: str, unit: str, suffix: str = ".png"):
    """Progress of work read from the files ending in `suffix` written into `folders` since now
    (the work runs in this process or elsewhere, e.g. on Celery workers: either way its progress
    is what appears there); checked every second."""
    since, stop = time.time(), threading.Event()

    def count() -> int:
        return sum(1 for folder in folders if folder.is_dir() for f in os.scandir(folder)
                   if f.name.endswith(suffix) and f.stat().st_mtime >= since)

    def watch():
        with track(label, total, unit) as shown:
            while not stop.wait(1.0):
                shown.update(min(total, count()) - shown.done)
            shown.update(min(total, count()) - shown.done)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()
