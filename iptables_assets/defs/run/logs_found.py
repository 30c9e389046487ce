"""What the inventory stage found, as its run recorded it: the days the logs cover, the files it
could not read or found damaged, those it passed over, and its warnings in its own words. The
driver reads it from the run (the logs are inventoried once, by the `log_file_inventory` asset)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import dagster as dg

from iptables_assets.defs.run.say import say

INVENTORY_ASSET = "log_file_inventory"
# Problems named in the summary: (its key there, the inventory's metadata entry).
_PROBLEMS = (("damaged files", "damaged_files"), ("unreadable paths", "unreadable_paths"),
             ("passed over", "passed_over"), ("dated only by a far mtime", "dated_only_by_a_far_mtime"))


@dataclass(frozen=True)
class LogsFound:
    """The logs' days (None: no timestamped line), how many files, and the problems by kind."""

    span: tuple[date, date] | None
    files: int
    problems: dict[str, dict]


def logs_found(result) -> LogsFound:
    """What the inventory run's materialisation of the file list says."""
    (materialization,) = [m for m in result.asset_materializations_for_node(INVENTORY_ASSET)
                          if m.asset_key.path[-1] == INVENTORY_ASSET]
    meta = {key: value.value for key, value in materialization.metadata.items()}
    first, last = meta.get("first_day") or "", meta.get("last_day") or ""
    span = (date.fromisoformat(first), date.fromisoformat(last)) if first and last else None
    return LogsFound(span, int(meta.get("dagster/row_count", 0)),
                     {key: dict(meta.get(entry) or {}) for key, entry in _PROBLEMS})


def warnings_of(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """The run's warnings, in the order its steps logged them (first lines)."""
    return [entry.user_message.split("\n", 1)[0] for entry in instance.all_logs(run_id)
            if entry.dagster_event is None and entry.level >= logging.WARNING]


def say_found(found: LogsFound, warnings: list[str]) -> None:
    """The inventory's warnings, the files and days, and what was passed over and why."""
    for warning in warnings:
        say(f"warning: {warning}")
    span = found.span
    say(f"{found.files} log files" + (f", days {span[0]}..{span[1]}" if span else ""))
    for why, paths in found.problems["passed over"].items():
        say(f"not read, {why}: {some(paths)}")


def some(paths: list[str], shown: int = 8) -> str:
    """Up to `shown` paths, then how many more."""
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more
