"""The one settings object: folders, time zone, GeoIP databases, site, schedule and retries, what
counts and what is a scan, how the journal is drawn, where steps run. Each setting is declared
once (`SETTINGS`: its environment variable, how its text is read, what it means); the environment
is read here and nowhere else (`Settings.from_environment`), and `iptables-assets run --set
NAME=VALUE` sets any of them by name. Read once by whoever builds the definitions or runs the CLI;
nothing reads the environment at import. A setting left unset (None) takes the default of the
core module it belongs to, which the Dagster resources show in the UI."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PREFIX = "IPTABLES_ASSETS_"
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
# (`scripts/celery_workers.sh`). Kept in the settings of this process only: never in what travels
# with every run (`Settings.carried`, stored in the run storage), so a password in a URL is never
# stored; each worker reads them from its own environment.
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
# What counted traffic can be: the directions and the actions the parser gives an event (see
# ingest.actions.ACTION_RULES); the analysis' `TrafficFilter` takes its values from these.
DIRECTIONS = ("input", "output", "forward", "any")
ACTIONS = ("drop", "reject", "accept", "audit", "unknown")

# The bundled sample: what `iptables-assets generate` writes by default for the quick start.
SAMPLE_DAYS = 60
SAMPLE_SEED = 1
SAMPLE_START = date(2025, 12, 1)

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


class ConfigError(ValueError):
    """A setting is wrong; the message says which one and how to fix it."""


@dataclass(frozen=True)
class Settings:
    """Everything the definitions and the CLI need to know before they start, checked. None: the
    core's default (see `SETTINGS` for each setting's variable and meaning)."""

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
    # How logs are read (the LogSource resource)
    log_patterns: tuple[str, ...] | None = None
    trusted_programs: tuple[str, ...] | None = None
    # What counts and what is a scan (the Analysis resource)
    counted_actions: tuple[str, ...] | None = None
    direction: str | None = None
    scan_threshold: int | None = None
    big_scan_threshold: int | None = None
    fleet_scan_hosts: int = FLEET_SCAN_HOSTS
    fleet_longterm_hosts: int = FLEET_LONGTERM_HOSTS
    reject_rate_warn: float | None = None
    # What the daily digest flags (analysis/digest.py)
    digest_window_days: int | None = None
    digest_min_history_days: int | None = None
    digest_min_events: int | None = None
    digest_ratio: float | None = None
    digest_spread: float | None = None
    digest_new_port_min: int | None = None
    digest_return_gap_days: int | None = None
    digest_top_sources: int | None = None
    # How the journal is drawn and where it goes (the Publication resource)
    map_ports: tuple[int, ...] | None = None
    timeline_ymax: int | None = None
    truncate_at: int | None = None
    map_resolution: str | None = None
    journal_folder: str | None = None
    source_pages: int | None = None
    figure_cache: str | None = None
    # Never carried to other processes (`carried`): see ENV_CELERY_BROKER.
    celery_broker: str | None = field(default=None, repr=False)
    celery_backend: str | None = field(default=None, repr=False)

    def __post_init__(self):
        for name in _TUPLES:  # a list (settings carried through JSON) is the same setting
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """The settings of `environ` (default os.environ), folders relative to the working
        directory, `overrides` winning; a ConfigError names the variable that is wrong."""
        env = os.environ if environ is None else environ
        found = {name: setting.read(env[setting.variable], setting.variable)
                 for name, setting in SETTINGS.items() if env.get(setting.variable, "").strip()}
        found.setdefault("log_dir", str(Path.cwd() / DEFAULT_LOG_DIR))
        found.setdefault("out_dir", str(Path.cwd() / DEFAULT_OUT_DIR))
        config = cls(**{**found, **overrides}).checked()
        if config.executor == "celery":
            check_celery_environment(env)
        return config

    def replace(self, **changes) -> "Settings":
        """A copy with `changes`, checked."""
        return dataclasses.replace(self, **changes).checked()

    def carried(self) -> dict:
        """The settings as plain values, for the processes that rebuild the definitions (a step
        process, a Celery worker, a per-day run): without the Celery URLs, which each process
        reads from its own environment (see ENV_CELERY_BROKER)."""
        return {name: value for name, value in dataclasses.asdict(self).items() if name not in _NOT_CARRIED}

    def checked(self) -> "Settings":
        """Self, or a ConfigError naming the variable that is wrong."""
        check_timezone(self.timezone, ENV_TZ)
        if self.schedule_timezone:
            check_timezone(self.schedule_timezone, ENV_SCHEDULE_TZ)
        if self.start_date:
            parse_date(self.start_date, ENV_START_DATE)
        self.schedule_cron()
        if self.executor not in EXECUTORS:
            raise ConfigError(f"{ENV_EXECUTOR}={self.executor!r} is not an executor; use one of {', '.join(EXECUTORS)}")
        if self.fan_out not in FAN_OUTS:
            raise ConfigError(f"{ENV_FAN_OUT}={self.fan_out!r} is not a fan-out mode; use one of {', '.join(FAN_OUTS)}")
        if not 0 <= self.read_retry_seconds <= MAX_READ_RETRY_SECONDS:  # also refuses nan and inf
            raise ConfigError(f"{ENV_READ_RETRY_SECONDS}={self.read_retry_seconds!r} is not a number of seconds "
                              f"from 0 to {MAX_READ_RETRY_SECONDS:g}")
        problems = traffic_problems(self.counted_actions, self.direction)
        thresholds = {name: getattr(self, name) for name in ANALYSIS_THRESHOLDS}
        problems += [f"{SETTINGS[name].variable}={value}: {why}" for name, value, why in analysis_problems(thresholds)]
        if problems:
            raise ConfigError(problems[0])
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


def traffic_problems(actions: Sequence[str] | None, direction: str | None) -> list[str]:
    """What is wrong with the counted actions and direction (None: the default, fine)."""
    problems = []
    if direction is not None and direction not in DIRECTIONS:
        problems.append(f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
    if actions is not None:
        unknown = sorted(set(actions) - set(ACTIONS))
        if not actions or unknown:
            problems.append(f"actions {list(actions)!r}: each must be one of {', '.join(ACTIONS)}"
                            + (f" ({', '.join(map(repr, unknown))} is not)" if unknown else " (none given)"))
    return problems


def analysis_problems(values: Mapping[str, float | None]) -> list[tuple[str, float, str]]:
    """(setting, value, what it must be) for each scan and warning threshold of `values` that is
    out of range (None: the default, fine): the one rule set of the settings and of the UI's
    Analysis resource."""
    problems = []
    scan, big = values.get("scan_threshold"), values.get("big_scan_threshold")
    if scan is not None and scan < 1:
        problems.append(("scan_threshold", scan, "must be at least 1"))
    if big is not None and scan is not None and big < scan:
        problems.append(("big_scan_threshold", big, f"must be at least scan_threshold ({scan})"))
    for name in ("fleet_scan_hosts", "fleet_longterm_hosts"):
        if values.get(name) is not None and values[name] < 1:
            problems.append((name, values[name], "must be at least 1 (a scan reaches more than this many hosts)"))
    rate = values.get("reject_rate_warn")
    if rate is not None and not 0 <= rate <= 1:
        problems.append(("reject_rate_warn", rate, "must be a share from 0 to 1"))
    for name in ("digest_window_days", "digest_min_history_days", "digest_min_events", "digest_new_port_min",
                 "digest_return_gap_days", "digest_top_sources"):
        if values.get(name) is not None and values[name] < 1:
            problems.append((name, values[name], "must be at least 1"))
    window, needed = values.get("digest_window_days"), values.get("digest_min_history_days")
    if window is not None and needed is not None and needed > window:
        problems.append(("digest_min_history_days", needed, f"must be at most digest_window_days ({window})"))
    if values.get("digest_ratio") is not None and not values["digest_ratio"] >= 1:
        problems.append(("digest_ratio", values["digest_ratio"], "must be at least 1 (times the median)"))
    if values.get("digest_spread") is not None and not values["digest_spread"] > 0:
        problems.append(("digest_spread", values["digest_spread"], "must be more than 0 (deviations)"))
    return problems


def check_celery_environment(env: Mapping[str, str]) -> None:
    """The Celery executor needs the broker and result backend its workers use: without them
    Dagster would fall back to RabbitMQ on localhost and `rpc://`, and a run would wait forever
    for results no worker sends, so say what to set before anything starts."""
    missing = [name for name in (ENV_CELERY_BROKER, ENV_CELERY_BACKEND) if not env.get(name)]
    if missing:
        raise ConfigError(f"{ENV_EXECUTOR}=celery needs {' and '.join(missing)}: set {ENV_CELERY_BROKER} and "
                          f"{ENV_CELERY_BACKEND} to the broker and result backend the workers were started with, "
                          "e.g. redis://127.0.0.1:6379/0 and redis://127.0.0.1:6379/1 (scripts/celery_workers.sh)")


def assignments(pairs: Sequence[str]) -> dict:
    """`--set NAME=VALUE` arguments as settings (NAME: a setting's name, e.g. scan_threshold, or
    its environment variable), read as its variable would be; a ConfigError says which is wrong."""
    found = {}
    settable = {name: setting for name, setting in SETTINGS.items() if setting.settable}
    by_variable = {setting.variable: name for name, setting in settable.items()}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        name = by_variable.get(name.strip(), name.strip())
        if not equals or name not in settable:
            raise ConfigError(f"--set {pair!r}: use --set NAME=VALUE with NAME one of {', '.join(settable)}"
                              + (f" ({name} is read from the environment only)" if name in SETTINGS else ""))
        found[name] = settable[name].read(text, f"--set {name}")
    return found


def described() -> str:
    """Every setting: its variable, its name for --set, and what it means (the CLI's help)."""
    width = max(len(s.variable) for s in SETTINGS.values())
    return "\n".join(f"  {s.variable:<{width}}  {name}: {s.meaning}" for name, s in SETTINGS.items())


def _yes_no(value: str, variable: str) -> bool:
    """A yes/no value, or a ConfigError."""
    value = value.strip().lower()
    if value not in _TRUE | _FALSE:
        raise ConfigError(f"{variable}={value!r} is not a yes/no value; use 1 or 0")
    return value in _TRUE


def _seconds(value: str, variable: str) -> float:
    """The first delay before a failed read of the logs is retried (then doubled)."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= MAX_READ_RETRY_SECONDS:  # also refuses nan and inf
        raise ConfigError(f"{variable}={value!r} is not a number of seconds from 0 to {MAX_READ_RETRY_SECONDS:g}")
    return seconds


def _number(kind: type) -> Callable[[str, str], float]:
    """A reader of a whole number (int) or a number (float)."""
    def read(value: str, variable: str):
        try:
            number = kind(value.strip())
        except ValueError:
            number = math.nan
        if isinstance(number, float) and not math.isfinite(number):
            raise ConfigError(f"{variable}={value!r} is not a {'whole ' if kind is int else ''}number")
        return number
    return read


def _words(value: str, variable: str) -> tuple[str, ...]:
    """A comma-separated list of words."""
    return tuple(word.strip() for word in value.split(",") if word.strip())


def _ports(value: str, variable: str) -> tuple[int, ...]:
    """A comma-separated list of ports (0-65535)."""
    try:
        ports = tuple(int(word) for word in _words(value, variable))
    except ValueError:
        ports = (-1,)
    if not ports or not all(0 <= port <= 65535 for port in ports):
        raise ConfigError(f"{variable}={value!r} is not a comma-separated list of ports (0-65535), e.g. 22,23,445")
    return ports


def _text(value: str, variable: str) -> str:
    return value.strip()


def _lower(value: str, variable: str) -> str:
    return value.strip().lower()


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


@dataclass(frozen=True)
class Setting:
    """A setting's environment variable, how its text is read, what it means, and whether
    `--set` may give it (the Celery URLs may not: every worker reads them from its environment)."""

    variable: str
    read: Callable[[str, str], object]
    meaning: str
    settable: bool = True


SETTINGS: dict[str, Setting] = {
    "log_dir": Setting(ENV_LOG_DIR, _text, "folder searched recursively for logs (run: --logs)"),
    "out_dir": Setting(ENV_OUT_DIR, _text, "output folder (run: --out)"),
    "timezone": Setting(ENV_TZ, _text, f"time zone the logs are written in (default {DEFAULT_TZ})"),
    "start_date": Setting(ENV_START_DATE, _text, "no daily partition before this day (default: the logs' first)"),
    "geoip_db": Setting(ENV_GEOIP_DB, _text, "GeoIP2/GeoLite2/DB-IP country or city .mmdb (default: bundled)"),
    "asn_db": Setting(ENV_ASN_DB, _text, "optional ASN .mmdb"),
    "site_name": Setting(ENV_SITE_NAME, _text, f"name in titles (default {DEFAULT_SITE_NAME})"),
    "redact": Setting(ENV_REDACT, _yes_no, "1: replace addresses and host names in the journal"),
    "schedule_time": Setting(ENV_SCHEDULE_TIME, _text, f"daily schedule, HH:MM (default {DEFAULT_SCHEDULE_TIME})"),
    "schedule_timezone": Setting(ENV_SCHEDULE_TZ, _text, "the schedule's time zone (default: the logs')"),
    "read_retry_seconds": Setting(ENV_READ_RETRY_SECONDS, _seconds,
                                  f"first wait before a failed log read is retried (0-3600, default "
                                  f"{DEFAULT_READ_RETRY_SECONDS:g})"),
    "executor": Setting(ENV_EXECUTOR, _lower, "celery: every step on Dagster Celery workers (as --executor)"),
    "fan_out": Setting(ENV_FAN_OUT, _lower, "day: one run of the per-day assets per day (as --fan-out)"),
    "log_patterns": Setting(PREFIX + "LOG_PATTERNS", _words, "comma-separated file name globs to read "
                                                             "(default: messages*, kern.log*, syslog*, ...)"),
    "trusted_programs": Setting(PREFIX + "TRUSTED_PROGRAMS", _words,
                                "comma-separated syslog programs whose netfilter lines are trusted "
                                "(default kernel,pve-firewall,unifi)"),
    "counted_actions": Setting(PREFIX + "COUNTED_ACTIONS", _words,
                               f"comma-separated actions that count, of {', '.join(ACTIONS)} (default drop,reject)"),
    "direction": Setting(PREFIX + "DIRECTION", _lower, f"direction that counts: {', '.join(DIRECTIONS)} "
                                                       "(default input)"),
    "scan_threshold": Setting(PREFIX + "SCAN_THRESHOLD", _number(int),
                              "a scan reaches more than this many distinct ports (default 50)"),
    "big_scan_threshold": Setting(PREFIX + "BIG_SCAN_THRESHOLD", _number(int),
                                  "one-day scans above this many ports are listed by date (default 3000)"),
    "fleet_scan_hosts": Setting(PREFIX + "FLEET_SCAN_HOSTS", _number(int),
                                f"a horizontal scan reaches one port on more than this many hosts a day "
                                f"(default {FLEET_SCAN_HOSTS})"),
    "fleet_longterm_hosts": Setting(PREFIX + "FLEET_LONGTERM_HOSTS", _number(int),
                                    f"... or over the whole history (default {FLEET_LONGTERM_HOSTS})"),
    "reject_rate_warn": Setting(PREFIX + "REJECT_RATE_WARN", _number(float),
                                "warn when a day's rejects exceed this share of its lines (default 0.01)"),
    "digest_window_days": Setting(PREFIX + "DIGEST_WINDOW_DAYS", _number(int),
                                  "the digest compares a day with this many days before it (default 28)"),
    "digest_min_history_days": Setting(PREFIX + "DIGEST_MIN_HISTORY_DAYS", _number(int),
                                       "... and flags nothing with fewer of them stored (default 7)"),
    "digest_min_events": Setting(PREFIX + "DIGEST_MIN_EVENTS", _number(int),
                                 "a surge has at least this many events that day (default 50)"),
    "digest_ratio": Setting(PREFIX + "DIGEST_RATIO", _number(float),
                            "... at least this many times its median (default 3)"),
    "digest_spread": Setting(PREFIX + "DIGEST_SPREAD", _number(float),
                             "... and more than this many deviations above it (default 4)"),
    "digest_new_port_min": Setting(PREFIX + "DIGEST_NEW_PORT_MIN", _number(int),
                                   "a port dropped for the first time is named with this many drops (default 10)"),
    "digest_return_gap_days": Setting(PREFIX + "DIGEST_RETURN_GAP_DAYS", _number(int),
                                      "a scanner back after this many days or more is returning (default 7)"),
    "digest_top_sources": Setting(PREFIX + "DIGEST_TOP_SOURCES", _number(int),
                                  "new sources are looked for among the day's top this many (default 5)"),
    "map_ports": Setting(PREFIX + "MAP_PORTS", _ports,
                         "comma-separated ports with a world map each (default 22,23,445)"),
    "timeline_ymax": Setting(PREFIX + "TIMELINE_YMAX", _number(int),
                             "top of the daily timeline's y axis, 0: fit the data (default 10000)"),
    "truncate_at": Setting(PREFIX + "TRUNCATE_AT", _number(int),
                           "cap of the truncated port tiles and of the frames (default 1000)"),
    "map_resolution": Setting(PREFIX + "MAP_RESOLUTION", _lower, "Natural Earth scale of the maps: 110m or 50m"),
    "journal_folder": Setting(PREFIX + "JOURNAL_FOLDER", _text, "where the journal is written (default OUT/journal)"),
    "figure_cache": Setting(PREFIX + "FIGURE_CACHE", _text, "folder keeping the figures' static parts, which "
                            "output folders may share (default OUT/_cache/static)"),
    "source_pages": Setting(PREFIX + "SOURCE_PAGES", _number(int),
                            "at most this many sources get a page of their own, 0: none (default 100)"),
    "celery_broker": Setting(ENV_CELERY_BROKER, _text, "the Celery workers' broker URL (environment only)",
                             settable=False),
    "celery_backend": Setting(ENV_CELERY_BACKEND, _text, "the Celery workers' result backend URL (environment only)",
                              settable=False),
}
_TUPLES = ("log_patterns", "trusted_programs", "counted_actions", "map_ports")
DIGEST_SETTINGS = ("digest_window_days", "digest_min_history_days", "digest_min_events", "digest_ratio",
                   "digest_spread", "digest_new_port_min", "digest_return_gap_days", "digest_top_sources")
ANALYSIS_THRESHOLDS = ("scan_threshold", "big_scan_threshold", "fleet_scan_hosts", "fleet_longterm_hosts",
                       "reject_rate_warn", *DIGEST_SETTINGS)
_NOT_CARRIED = ("celery_broker", "celery_backend")
