"""The run's lines on the terminal: each with the time of day, flushed at once."""

from __future__ import annotations

from datetime import datetime


def say(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)
