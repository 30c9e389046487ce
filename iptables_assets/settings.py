"""The one settings object: folders, time zone, GeoIP databases, site, schedule and retries,
with the environment variables that override the defaults. Read once (`Settings.from_environment`)
by whoever builds the definitions or runs the CLI; nothing reads the environment at import."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_LOG_DIR = "IPTABLES_ASSETS_LOG_DIR"
ENV_OUT_DIR = "IPTABLES_ASSETS_OUT_DIR"
ENV_TZ = "IPTABLES_ASSETS_TZ"
ENV_START_DATE = "IPTABLES_ASSETS_START_DATE"
ENV_GEOIP_DB = "IPTABLES_ASSETS_GEOIP_DB"
ENV_ASN_DB = "IPTABLES_ASSETS_ASN_DB"
ENV_SITE_NAME = "IPTABLES_ASSETS_SITE_NAME"
ENV_REDACT = "IPTABLES_ASSETS_REDACT"
ENV_SCHEDULE_TIME = "IPTABLES_ASSETS_SCHEDULE_TIME"
ENV_READ_RETRY_SECONDS = "IPTABLES_ASSETS_READ_RETRY_SECONDS"
ENV_SCHEDULE_TZ = "IPTABLES_ASSETS_SCHEDULE_TZ"
ENV_EXECUTOR = "IPTABLES_ASSETS_EXECUTOR"
ENV_FAN_OUT = "IPTABLES_ASSETS_FAN_OUT"
# The Celery executor's broker and result backend: the URLs the workers were started with
# (`scripts/celery_workers.sh`). Not kept in the settings object, which travels with every run
# (`reconstructable_kwargs`) into the run storage: the executor reads them from the environment
# of the driver and of each worker, so a password in a URL is never stored.
ENV_CELERY_BROKER = "DAGSTER_CELERY_BROKER_URL"
ENV_CELERY_BACKEND = "DAGSTER_CELERY_BACKEND_URL"

DEFAULT_LOG_DIR = "data/sample_logs"
DEFAULT_OUT_DIR = "data/out"
DEFAULT_TZ = "UTC"
DEFAULT_SITE_NAME = "example.org"
DEFAULT_SCHEDULE_TIME = "02:15"
DEFAULT_READ_RETRY_SECONDS = 20.0
# Where steps run: "default" (the jobs' own executors: in process for `iptables-assets run`,
# one process per step for launched runs) or "celery" (dagster-celery workers; see
# docs/operations.md, "Running on Celery workers").
EXECUTORS = ("default", "celery")
# How `iptables-assets run` runs the per-day assets of its window: "none" (one single-run
# backfill: each log file read once, the cheapest on one machine) or "day" (one run per day,
# several at once, each in its own process: the days spread over cores or Celery workers).
FAN_OUTS = ("none", "day")
# A retried read waits this at most before its first retry (then twice as long): an hour.
MAX_READ_RETRY_SECONDS = 3600.0

# Fleet scan detection (horizontal scans: one source, one destination port, many hosts), declared
# like the vertical scan threshold (analysis.aggregates.DEFAULT_SCAN_THRESHOLD = 50, "more than 50
# ports"): a source is a horizontal scanner on a day when its counted INPUT drops to one port reach
# more than FLEET_SCAN_HOSTS hosts that day, and a long-term one when they reach more than
# FLEET_LONGTERM_HOSTS hosts over the whole history (slow sweeps that stay under the daily rule).
FLEET_SCAN_HOSTS = 3
FLEET_LONGTERM_HOSTS = 5

# The bundled sample: what `iptables-assets generate` writes by default for the quick start.
SAMPLE_DAYS = 60
SAMPLE_SEED = 1
SAMPLE_START = date(2025, 12, 1)

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


class ConfigError(ValueError):
    """A setting is wrong; the message says which one and how to fix it."""


@dataclass(frozen=True)
class Settings:
    """Everything the definitions and the CLI need to know before they start, checked."""

    log_dir: str
    out_dir: str
    timezone: str = DEFAULT_TZ
    start_date: str | None = None  # None: the logs decide; a date: no day before it (defs.partitions)
    geoip_db: str | None = None  # None: the bundled DB-IP Country Lite
    asn_db: str | None = None
    site_name: str = DEFAULT_SITE_NAME
    redact: bool = False
    schedule_time: str = DEFAULT_SCHEDULE_TIME
    schedule_timezone: str | None = None  # None: the logs' time zone
    read_retry_seconds: float = DEFAULT_READ_RETRY_SECONDS
    executor: str = EXECUTORS[0]
    fan_out: str = FAN_OUTS[0]

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """The settings of `environ` (default os.environ), folders relative to the working
        directory, `overrides` winning; a ConfigError names the variable that is wrong."""
        env = os.environ if environ is None else environ
        found = {
            "log_dir": env.get(ENV_LOG_DIR) or str(Path.cwd() / DEFAULT_LOG_DIR),
            "out_dir": env.get(ENV_OUT_DIR) or str(Path.cwd() / DEFAULT_OUT_DIR),
            "timezone": env.get(ENV_TZ) or DEFAULT_TZ,
            "start_date": env.get(ENV_START_DATE) or None,
            "geoip_db": env.get(ENV_GEOIP_DB) or None,
            "asn_db": env.get(ENV_ASN_DB) or None,
            "site_name": env.get(ENV_SITE_NAME) or DEFAULT_SITE_NAME,
            "redact": _yes_no(env.get(ENV_REDACT, ""), ENV_REDACT),
            "schedule_time": env.get(ENV_SCHEDULE_TIME) or DEFAULT_SCHEDULE_TIME,
            "schedule_timezone": env.get(ENV_SCHEDULE_TZ) or None,
            "read_retry_seconds": _seconds(env.get(ENV_READ_RETRY_SECONDS) or str(DEFAULT_READ_RETRY_SECONDS)),
            "executor": (env.get(ENV_EXECUTOR) or EXECUTORS[0]).strip().lower(),
            "fan_out": (env.get(ENV_FAN_OUT) or FAN_OUTS[0]).strip().lower(),
        }
        config = cls(**{**found, **overrides}).checked()
        if config.executor == "celery":
            check_celery_environment(env)
        return config

    def replace(self, **changes) -> "Settings":
        """A copy with `changes`, checked."""
        return dataclasses.replace(self, **changes).checked()

    def checked(self) -> "Settings":
        """Self, or a ConfigError naming the variable that is wrong."""
        check_timezone(self.timezone, ENV_TZ)
        if self.schedule_timezone:
            check_timezone(self.schedule_timezone, ENV_SCHEDULE_TZ)
        if self.start_date:
            _date(self.start_date)
        self.schedule_cron()
        if self.executor not in EXECUTORS:
            raise ConfigError(f"{ENV_EXECUTOR}={self.executor!r} is not an executor; use one of {', '.join(EXECUTORS)}")
        if self.fan_out not in FAN_OUTS:
            raise ConfigError(f"{ENV_FAN_OUT}={self.fan_out!r} is not a fan-out mode; use one of {', '.join(FAN_OUTS)}")
        if not 0 <= self.read_retry_seconds <= MAX_READ_RETRY_SECONDS:  # also refuses nan and inf
            raise ConfigError(f"{ENV_READ_RETRY_SECONDS}={self.read_retry_seconds!r} is not a number of seconds "
                              f"from 0 to {MAX_READ_RETRY_SECONDS:g}")
        return self

    def schedule_cron(self) -> str:
        """The daily schedule's cron expression from the schedule time (HH:MM)."""
        try:
            hour, minute = (int(part) for part in self.schedule_time.split(":"))
            if not (0 <= hour < 24 and 0 <= minute < 60):
                raise ValueError
        except ValueError:
            raise ConfigError(f"{ENV_SCHEDULE_TIME}={self.schedule_time!r} is not a time of day; "
                              "use HH:MM, e.g. 02:15") from None
        return f"{minute} {hour} * * *"

    def schedule_zone(self) -> str:
        """The daily schedule's time zone: its own setting, else the logs' time zone."""
        return self.schedule_timezone or self.timezone


def check_celery_environment(env: Mapping[str, str]) -> None:
    """The Celery executor needs the broker and result backend its workers use: without them
    Dagster would fall back to RabbitMQ on localhost and `rpc://`, and a run would wait forever
    for results no worker sends, so say what to set before anything starts."""
    missing = [name for name in (ENV_CELERY_BROKER, ENV_CELERY_BACKEND) if not env.get(name)]
    if missing:
        raise ConfigError(f"{ENV_EXECUTOR}=celery needs {' and '.join(missing)}: set {ENV_CELERY_BROKER} and "
                          f"{ENV_CELERY_BACKEND} to the broker and result backend the workers were started with, "
                          "e.g. redis://127.0.0.1:6379/0 and redis://127.0.0.1:6379/1 (scripts/celery_workers.sh)")


def _yes_no(value: str, variable: str) -> bool:
    """A yes/no environment value, or a ConfigError."""
    value = value.strip().lower()
    if value not in _TRUE | _FALSE:
        raise ConfigError(f"{variable}={value!r} is not a yes/no value; use 1 or 0")
    return value in _TRUE


def _seconds(value: str) -> float:
    """The first delay before a failed read of the logs is retried (then doubled)."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= MAX_READ_RETRY_SECONDS:  # also refuses nan and inf
        raise ConfigError(f"{ENV_READ_RETRY_SECONDS}={value!r} is not a number of seconds from 0 to "
                          f"{MAX_READ_RETRY_SECONDS:g}")
    return seconds


def _date(value: str) -> str:
    """`value` if it is a YYYY-MM-DD date, else a ConfigError."""
    parse_date(value, ENV_START_DATE)
    return value


def parse_date(value: str, setting: str) -> date:
    """The YYYY-MM-DD date `value`, else a ConfigError naming the setting."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{setting}={value!r} is not a date; use YYYY-MM-DD, e.g. 2018-10-28") from None


def check_timezone(name: str, setting: str) -> str:
    """`name` if it is an IANA time zone, else a ConfigError naming the setting."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{setting}={name!r} is not a time zone name; use e.g. UTC or Europe/Berlin") from None
    return name
