"""Defaults and the environment variables that override them (read once, at import)."""

from __future__ import annotations

import math
import os
from datetime import date
from pathlib import Path
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

DEFAULT_LOG_DIR = "data/sample_logs"
DEFAULT_OUT_DIR = "data/out"
DEFAULT_TZ = "UTC"
DEFAULT_START_DATE = "2025-11-01"
DEFAULT_SITE_NAME = "example.org"
DEFAULT_SCHEDULE_TIME = "02:15"
# A retried read waits this at most before its first retry (then twice as long): an hour.
MAX_READ_RETRY_SECONDS = 3600.0

# The bundled sample: what `iptables-assets generate` writes by default for the quick start.
SAMPLE_DAYS = 60
SAMPLE_SEED = 1
SAMPLE_START = date(2025, 12, 1)


class ConfigError(ValueError):
    """A setting is wrong; the message says which one and how to fix it."""


def log_dir() -> str:
    return os.environ.get(ENV_LOG_DIR) or str(Path.cwd() / DEFAULT_LOG_DIR)


def out_dir() -> str:
    return os.environ.get(ENV_OUT_DIR) or str(Path.cwd() / DEFAULT_OUT_DIR)


def geoip_db() -> str:
    from iptables_assets.enrich.geo import BUNDLED_COUNTRY_DB

    return os.environ.get(ENV_GEOIP_DB) or str(BUNDLED_COUNTRY_DB)


def asn_db() -> str | None:
    return os.environ.get(ENV_ASN_DB) or None


def site_name() -> str:
    return os.environ.get(ENV_SITE_NAME) or DEFAULT_SITE_NAME


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


def redact() -> bool:
    value = os.environ.get(ENV_REDACT, "").strip().lower()
    if value not in _TRUE | _FALSE:
        raise ConfigError(f"{ENV_REDACT}={value!r} is not a yes/no value; use 1 or 0")
    return value in _TRUE


def read_retry_seconds() -> float:
    """First delay before a failed read of the logs is retried (then doubled), default 20 s."""
    value = os.environ.get(ENV_READ_RETRY_SECONDS) or "20"
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= MAX_READ_RETRY_SECONDS:  # also refuses nan and inf
        raise ConfigError(f"{ENV_READ_RETRY_SECONDS}={value!r} is not a number of seconds from 0 to "
                          f"{MAX_READ_RETRY_SECONDS:g}") from None
    return seconds


def schedule_cron() -> str:
    """The daily schedule's cron expression from IPTABLES_ASSETS_SCHEDULE_TIME (HH:MM)."""
    value = os.environ.get(ENV_SCHEDULE_TIME) or DEFAULT_SCHEDULE_TIME
    try:
        hour, minute = (int(part) for part in value.split(":"))
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        raise ConfigError(f"{ENV_SCHEDULE_TIME}={value!r} is not a time of day; use HH:MM, e.g. 02:15") from None
    return f"{minute} {hour} * * *"


def schedule_timezone() -> str:
    """The daily schedule's time zone (IPTABLES_ASSETS_SCHEDULE_TZ, default the logs' time zone)."""
    value = os.environ.get(ENV_SCHEDULE_TZ)
    return check_timezone(value, ENV_SCHEDULE_TZ) if value else timezone_name()


def timezone_name() -> str:
    return check_timezone(os.environ.get(ENV_TZ) or DEFAULT_TZ, ENV_TZ)


def start_date_override() -> str | None:
    """IPTABLES_ASSETS_START_DATE if set (checked), else None: the logs decide."""
    value = os.environ.get(ENV_START_DATE)
    if not value:
        return None
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{ENV_START_DATE}={value!r} is not a date; use YYYY-MM-DD, e.g. 2018-10-28") from None
    return value


def check_timezone(name: str, setting: str) -> str:
    """`name` if it is an IANA time zone, else a ConfigError naming the setting."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{setting}={name!r} is not a time zone name; use e.g. UTC or Europe/Berlin") from None
    return name
