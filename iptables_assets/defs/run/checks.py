"""What `iptables-assets run` checks before any log is read: the settings, --parallel, the Celery
workers; and the days to run (the logs' span narrowed by --from/--to and the start date)."""

from __future__ import annotations

import os
from datetime import date

from iptables_assets import settings
from iptables_assets.defs.engine import celery_workers, executor_for
from iptables_assets.defs.resources import from_settings
from iptables_assets.defs.run.say import say


def check_settings(config: settings.Settings) -> None:
    """Settings that would fail a later stage fail now, before any log is read."""
    made = from_settings(config)
    made["analysis"].checked()
    made["publication"].checked()
    made["geoip"].lookup().close()
    if config.executor == "celery":
        check_celery(config)


def check_parallel(config: settings.Settings, parallel: int | None) -> None:
    """--parallel is a number of per-day runs at once: 1 or more, and only with the fan-out."""
    if parallel is None:
        return
    if config.fan_out == "none":
        raise settings.ConfigError(f"--parallel {parallel} needs --fan-out day ({settings.ENV_FAN_OUT}=day): "
                                   "without it the per-day stage is one run")
    if parallel < 1:
        raise settings.ConfigError(f"--parallel {parallel} is not a number of per-day runs at once; use 1 or more")


def runs_at_once(config: settings.Settings, parallel: int | None) -> int:
    """Per-day runs at once: --parallel, else one per Celery worker that answers (each run
    keeps one busy), else one per core (each run works in its own process)."""
    if config.fan_out == "none":
        return 1
    if parallel is not None:
        return parallel
    if config.executor != "celery":
        return os.cpu_count() or 1
    found = celery_workers(config.celery_broker, config.celery_backend, timeout=1.0, every=True)
    say(f"{len(found)} Celery worker(s) answer ({', '.join(found)}): as many per-day runs at once")
    return max(1, len(found))


def check_celery(config: settings.Settings) -> None:
    """dagster-celery installed and a worker listening: a run submitted to a broker no worker
    reads would wait for ever."""
    executor_for(config)
    found = celery_workers(config.celery_broker, config.celery_backend)
    if not found:
        raise settings.ConfigError(f"{settings.ENV_EXECUTOR}=celery but no Celery worker answers on "
                                   f"{settings.ENV_CELERY_BROKER}: start them with this environment "
                                   "(scripts/celery_workers.sh start DIR)")
    say(f"Celery worker {found[0]} answers")


def window(span: tuple[date, date], first: date | None, last: date | None, keys: list[str],
           config: settings.Settings) -> tuple[date, date]:
    """Days to run: the logs' span, narrowed by --from/--to and by the start date setting."""
    if not keys:
        raise settings.ConfigError(f"no day of the logs ({span[0]}..{span[1]}) is on or after "
                                   f"{settings.ENV_START_DATE}={config.start_date}: unset it or set an earlier date")
    starts = min(date.fromisoformat(k) for k in keys)
    lo = max(span[0], first or span[0], starts)
    hi = min(span[1], last or span[1])
    if span[0] < starts:
        say(f"warning: logs start {span[0]}, before {settings.ENV_START_DATE}={config.start_date}; "
            f"unset it (or set it to {span[0]}) to include those days")
    if lo > hi:
        raise settings.ConfigError(f"no day to run: the logs cover {span[0]}..{span[1]} and {_asked(first, last)}")
    return lo, hi


def _asked(first: date | None, last: date | None) -> str:
    """--from/--to in words."""
    if first and last:
        return f"--from {first} --to {last} asked for {first}..{last}"
    if first:
        return f"--from {first} asked for days from {first}"
    if last:
        return f"--to {last} asked for days up to {last}"
    return "every day was asked for"
