"""Resources: where the logs are and how to read them, where outputs go, the GeoIP databases,
what counts and how the journal is published. Defaults are the core's constants; the
definitions factory fills them from the one `Settings` object."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Sequence

import dagster as dg
from pydantic import Field
from upath import UPath

from iptables_assets import settings, storage
from iptables_assets.analysis.aggregates import (
    DEFAULT_BIG_SCAN_THRESHOLD,
    DEFAULT_REJECT_RATE_WARN,
    DEFAULT_SCAN_THRESHOLD,
    TrafficFilter,
)
from iptables_assets.analysis.digest import DigestRule
from iptables_assets.enrich.countries import RESOLUTIONS
from iptables_assets.enrich.geo import (
    BUNDLED_COUNTRY_DB,
    GEOLOCATION_DISCLAIMER,
    NATURAL_EARTH_CREDIT,
    GeoDatabaseError,
    GeoLookup,
    credit_for,
)
from iptables_assets.ingest.files.finding import find_logs
from iptables_assets.ingest.files.logfiles import DEFAULT_PATTERNS, LogFile
from iptables_assets.ingest.records.firewall.parsing import DEFAULT_TRUSTED_PROGRAMS, ParseConfig
from iptables_assets.publish import figures, static_store
from iptables_assets.publish.catalog import Look
from iptables_assets.publish.redaction import Redactor

_TRAFFIC = TrafficFilter()
_DIGEST = DigestRule()


class LogSource(dg.ConfigurableResource):
    """The log folder (env IPTABLES_ASSETS_LOG_DIR), file name patterns and time zone."""

    log_dir: str = Field(description="Folder searched recursively, e.g. /var/log")
    patterns: list[str] = Field(default=list(DEFAULT_PATTERNS), description="File name globs to read")
    timezone: str = Field(default=settings.DEFAULT_TZ, description="Time zone the logs are written in "
                                                                   "(set IPTABLES_ASSETS_TZ: the partitions use it too)")
    start_date: str | None = Field(default=None, description="No daily partition before this day (YYYY-MM-DD; env "
                                                             "IPTABLES_ASSETS_START_DATE); default: the logs' first day")
    trusted_programs: list[str] = Field(
        default=list(DEFAULT_TRUSTED_PROGRAMS),
        description="Syslog program tags whose netfilter lines are trusted as firewall events",
    )

    def parse_config(self) -> ParseConfig:
        settings.check_timezone(self.timezone, "LogSource.timezone")
        return ParseConfig(tz=self.timezone, trusted_programs=tuple(self.trusted_programs))

    def first_day(self) -> date | None:
        """The start date setting, if any: no daily partition before it."""
        return settings.parse_date(self.start_date, "LogSource.start_date") if self.start_date else None

    def discover(self, unreadable: list[tuple[str, str]] | None = None,
                 passed_over: list[tuple[str, str]] | None = None) -> list[LogFile]:
        """The log files; sub-folders and files that cannot be read go to `unreadable` as
        (path, reason) (logged as warnings without it), the other files to `passed_over` with
        why they are not read (`finding`)."""
        root = Path(self.log_dir)
        if not root.exists():
            raise settings.ConfigError(
                f"log directory {self.log_dir!r} does not exist: set {settings.ENV_LOG_DIR} or the "
                "LogSource resource's log_dir (for the bundled sample run `iptables-assets generate`)"
            )
        return find_logs(root, self.patterns, unreadable, passed_over)


class OutputFolder(dg.ConfigurableResource):
    """The output folder (env IPTABLES_ASSETS_OUT_DIR) for what is not asset data: the log
    inventory's cache, the CSV/Parquet exports and (by default) the journal."""

    base_path: str = Field(description="Local folder or s3://… / gs://… URL")
    figure_cache: str | None = Field(default=None, description="Local folder keeping the figures' static parts, "
                                     "which output folders may share (default <out>/_cache/static)")

    def path(self, *parts: str) -> UPath:
        return UPath(self.base_path).joinpath(*parts)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """A run's figures keep their static parts (film templates, label glyphs, projected
        countries) in `<out>/_cache/static` or the figure cache (`publish.static_store`)."""
        static_store.use(Path(self.figure_cache or storage.local_cache(self.base_path, "static")))


class GeoIP(dg.ConfigurableResource):
    """GeoIP databases: a MaxMind-format country or city database (env IPTABLES_ASSETS_GEOIP_DB;
    default the bundled DB-IP Country Lite) and an optional ASN database (IPTABLES_ASSETS_ASN_DB)."""

    country_db: str = Field(default=str(BUNDLED_COUNTRY_DB), description="GeoIP2/GeoLite2/DB-IP Country or City .mmdb")
    asn_db: str | None = Field(default=None, description="Optional GeoLite2-ASN / DB-IP ASN Lite .mmdb")

    def lookup(self) -> GeoLookup:
        try:
            return GeoLookup(self.country_db, self.asn_db)
        except GeoDatabaseError as error:
            raise settings.ConfigError(
                f"{error} (set {settings.ENV_GEOIP_DB} / {settings.ENV_ASN_DB} or the GeoIP resource)"
            ) from None

    def credits(self) -> list[str]:
        """The data credits every map and the journal print."""
        with self.lookup() as lookup:
            return [credit_for(lookup.country_info) + ".", NATURAL_EARTH_CREDIT + "."]

    def setup_for_execution(self, context) -> None:
        """Open the databases once when a run starts, so a bad one stops the run before any
        log is parsed."""
        self.lookup().close()


class Analysis(dg.ConfigurableResource):
    """What counts and what is a scan: actions and direction of counted traffic, the per-day and
    long-term scan threshold (more than N distinct destination ports) and the big-scan size."""

    actions: list[str] = Field(default=list(_TRAFFIC.actions), description="Actions that count")
    direction: str = Field(default=_TRAFFIC.direction, description="input (OUT= empty), output, forward or any")
    scan_threshold: int = Field(default=DEFAULT_SCAN_THRESHOLD,
                                description="A scan reaches more than this many distinct ports")
    big_scan_threshold: int = Field(default=DEFAULT_BIG_SCAN_THRESHOLD,
                                    description="One-day scans above this many ports are listed by date")
    fleet_scan_hosts: int = Field(default=settings.FLEET_SCAN_HOSTS,
                                  description="A horizontal scan reaches one port on more than this many hosts in a day")
    fleet_longterm_hosts: int = Field(default=settings.FLEET_LONGTERM_HOSTS,
                                      description="... or on more than this many hosts over the whole history")
    reject_rate_warn: float = Field(default=DEFAULT_REJECT_RATE_WARN,
                                    description="Warn when a day's rejects exceed this share")
    digest_window_days: int = Field(default=_DIGEST.window_days, description="The digest compares a day with this "
                                                                             "many days before it")
    digest_min_history_days: int = Field(default=_DIGEST.min_history_days,
                                         description="... and flags nothing with fewer of them stored")
    digest_min_events: int = Field(default=_DIGEST.min_events, description="A surge has at least this many events")
    digest_ratio: float = Field(default=_DIGEST.ratio, description="... at least this many times its median")
    digest_spread: float = Field(default=_DIGEST.spread,
                                 description="... and more than this many robust deviations above it")
    digest_new_port_min: int = Field(default=_DIGEST.new_port_min,
                                     description="A port dropped for the first time is named with this many drops")
    digest_return_gap_days: int = Field(default=_DIGEST.return_gap_days,
                                        description="A scanner back after this many days or more is returning")
    digest_top_sources: int = Field(default=_DIGEST.top_sources,
                                    description="New sources are looked for among the day's top this many")

    def digest_rule(self) -> DigestRule:
        """The daily digest's thresholds."""
        return DigestRule(**{name.removeprefix("digest_"): getattr(self, name) for name in settings.DIGEST_SETTINGS})

    def traffic(self) -> TrafficFilter:
        try:
            return TrafficFilter(actions=tuple(self.actions), direction=self.direction)
        except ValueError as error:
            raise settings.ConfigError(f"Analysis: {error}") from None

    def checked(self) -> "Analysis":
        """Self, or a ConfigError naming the setting that is wrong."""
        self.traffic()
        problems = settings.analysis_problems({name: getattr(self, name) for name in settings.ANALYSIS_THRESHOLDS})
        if problems:
            name, value, why = problems[0]
            raise settings.ConfigError(f"Analysis.{name}={value}: {why}")
        return self

    def setup_for_execution(self, context) -> None:
        """Check the settings when a run starts, before any work."""
        self.checked()


class Publication(dg.ConfigurableResource):
    """How the journal is published: site name in titles (env IPTABLES_ASSETS_SITE_NAME),
    redaction of addresses and host names (IPTABLES_ASSETS_REDACT=1), ports given their own
    world map, scales, and the folder (default `<output>/journal`)."""

    site_name: str = Field(default=settings.DEFAULT_SITE_NAME, description="Printed in every title")
    redact: bool = Field(default=False, description="Replace addresses and host names by [IP-n]/[HOST-n]")
    map_ports: list[int] = Field(default=list(figures.DEFAULT_MAP_PORTS),
                                 description="Destination ports drawn on their own world map")
    timeline_ymax: int = Field(default=figures.DEFAULT_TIMELINE_YMAX,
                               description="Top of the daily timeline's y axis (0: fit the data)")
    truncate_at: int = Field(default=figures.DEFAULT_TRUNCATE_AT,
                             description="Cap of the truncated port tiles and of animation frames")
    map_resolution: str = Field(default=RESOLUTIONS[0], description="Natural Earth scale of the maps: 110m or 50m")
    folder: str = Field(default="", description="Where the journal is written; empty: <output folder>/journal")
    source_pages: int = Field(default=100, description="At most this many sources get a page of their own")

    def checked(self) -> "Publication":
        """Self, or a ConfigError naming the setting that is wrong."""
        bad_ports = [p for p in self.map_ports if not 0 <= p <= 65535]
        if bad_ports:
            raise settings.ConfigError(f"Publication.map_ports: {bad_ports} are not ports (0-65535)")
        if self.map_resolution not in RESOLUTIONS:
            raise settings.ConfigError(f"Publication.map_resolution={self.map_resolution!r}: use one of {RESOLUTIONS}")
        if self.truncate_at <= 0 or self.timeline_ymax < 0:
            raise settings.ConfigError("Publication.truncate_at must be > 0 and timeline_ymax >= 0")
        if self.source_pages < 0:
            raise settings.ConfigError(f"Publication.source_pages={self.source_pages}: must be 0 (none) or more")
        return self

    def journal_folder(self, output_folder: OutputFolder) -> UPath:
        return UPath(self.folder) if self.folder else output_folder.path("journal")

    def redactor(self, hosts: Sequence[str] = ()) -> Redactor:
        """A fresh Redactor; the site name is the first host, so it is [HOST-1] everywhere, then
        `hosts` (a fleet's, sorted) in order, so each has one pseudonym on every page."""
        return Redactor(self.redact, hosts=[self.site_name, *hosts])

    def look(self, direction: str, geoip: GeoIP) -> Look:
        """How figures and frames are drawn: titles, map footer, scales."""
        self.checked()
        site = figures.Site(
            name=self.redactor().host(self.site_name),
            direction=direction,
            map_footer=" ".join([GEOLOCATION_DISCLAIMER, *geoip.credits()]),
        )
        return Look(site=site, resolution=self.map_resolution, truncate_at=self.truncate_at,
                    timeline_ymax=self.timeline_ymax, map_ports=tuple(self.map_ports))


def from_settings(config: settings.Settings) -> dict[str, dg.ConfigurableResource]:
    """Every resource but the IO manager, filled from the settings (a setting left unset keeps
    the resource's default, the core's)."""
    def given(**values) -> dict:
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in values.items() if value is not None}

    return {
        "log_source": LogSource(log_dir=config.log_dir, timezone=config.timezone, start_date=config.start_date,
                                **given(patterns=config.log_patterns, trusted_programs=config.trusted_programs)),
        "output_folder": OutputFolder(base_path=config.out_dir, **given(figure_cache=config.figure_cache)),
        "geoip": GeoIP(country_db=config.geoip_db or str(BUNDLED_COUNTRY_DB), asn_db=config.asn_db),
        "analysis": Analysis(**given(actions=config.counted_actions, direction=config.direction,
                                     scan_threshold=config.scan_threshold, big_scan_threshold=config.big_scan_threshold,
                                     fleet_scan_hosts=config.fleet_scan_hosts,
                                     fleet_longterm_hosts=config.fleet_longterm_hosts,
                                     reject_rate_warn=config.reject_rate_warn,
                                     **{name: getattr(config, name) for name in settings.DIGEST_SETTINGS})),
        "publication": Publication(site_name=config.site_name, redact=config.redact,
                                   **given(map_ports=config.map_ports, timeline_ymax=config.timeline_ymax,
                                           truncate_at=config.truncate_at, map_resolution=config.map_resolution,
                                           folder=config.journal_folder, source_pages=config.source_pages)),
    }
