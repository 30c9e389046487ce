"""Resources: where the logs are and how to read them."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from iptables_assets import settings
from iptables_assets.enrich.geo import (
    GEOLOCATION_DISCLAIMER,
    NATURAL_EARTH_CREDIT,
    GeoDatabaseError,
    GeoLookup,
    credit_for,
)
from iptables_assets.ingest.logfiles import DEFAULT_PATTERNS, LogFile, discover
from iptables_assets.ingest.parsing import DEFAULT_TRUSTED_PROGRAMS, ParseConfig


class LogSource(dg.ConfigurableResource):
    """The log directory (env IPTABLES_ASSETS_LOG_DIR), file name patterns and time zone."""

    log_dir: str = Field(default_factory=settings.log_dir, description="Folder searched recursively, e.g. /var/log")
    patterns: list[str] = Field(default=list(DEFAULT_PATTERNS), description="File name globs to read")
    timezone: str = Field(default_factory=settings.timezone_name, description="Time zone the logs are written in")
    trusted_programs: list[str] = Field(
        default=list(DEFAULT_TRUSTED_PROGRAMS),
        description="Syslog program tags whose netfilter lines are trusted as firewall events",
    )

    def parse_config(self) -> ParseConfig:
        settings.check_timezone(self.timezone, "LogSource.timezone")
        if self.timezone != settings.timezone_name():
            raise settings.ConfigError(
                f"LogSource.timezone={self.timezone!r} differs from the partitions' time zone "
                f"{settings.timezone_name()!r}; set {settings.ENV_TZ}={self.timezone} instead so both agree"
            )
        return ParseConfig(tz=self.timezone, trusted_programs=tuple(self.trusted_programs))

    def discover(self, unreadable: list[tuple[str, str]] | None = None) -> list[LogFile]:
        """The log files; sub-folders and files that cannot be read go to `unreadable` as
        (path, reason) (logged as warnings without it)."""
        root = Path(self.log_dir)
        if not root.exists():
            raise settings.ConfigError(
                f"log directory {self.log_dir!r} does not exist: set {settings.ENV_LOG_DIR} or the "
                "LogSource resource's log_dir (for the bundled sample run `iptables-assets generate`)"
            )
        return discover(root, self.patterns, unreadable)


class OutputFolder(dg.ConfigurableResource):
    """The output folder (env IPTABLES_ASSETS_OUT_DIR): asset data, caches, exports, figures."""

    base_path: str = Field(default_factory=settings.out_dir, description="Local folder or s3://… / gs://… URL")

    def path(self, *parts: str):
        from upath import UPath

        return UPath(self.base_path).joinpath(*parts)

    def read_stored(self, file, asset: str, partition: str | None = None, columns: list[str] | None = None):
        """A file of the IO manager's layout, verified against its checksum (None if it was
        never written); damage fails the step naming the file and what to re-materialise."""
        from iptables_assets import storage
        from iptables_assets.defs.io_managers import damaged

        try:
            return storage.read_parquet(file, columns=columns, warn=dg.get_dagster_logger().warning)
        except FileNotFoundError:
            return None
        except storage.DamagedData as error:
            raise damaged(error, asset, partition) from error

    def read_partition(self, asset: str, day):
        """One day's partition of a daily asset (None if it was never materialised)."""
        return self.read_stored(self.path(asset, f"{day.isoformat()}.parquet"), asset, day.isoformat())

    def read_asset(self, asset: str):
        """An unpartitioned asset's value (None if it was never materialised)."""
        return self.read_stored(self.path(f"{asset}.parquet"), asset)

    def daily_partitions(self, asset: str, columns: list[str] | None = None) -> dict:
        """Every materialised partition of a daily asset, {day: DataFrame}, read from the IO
        manager's layout (`<base>/<asset>/<YYYY-MM-DD>.parquet`); days never materialised are
        simply absent (whole-history assets report them)."""
        from datetime import date

        folder = self.path(asset)
        if not folder.exists():
            return {}
        frames = {}
        for file in sorted(folder.glob("*.parquet")):
            try:
                day = date.fromisoformat(file.stem)
            except ValueError:
                continue
            frame = self.read_stored(file, asset, file.stem, columns)
            if frame is not None:  # removed since the listing
                frames[day] = frame
        return frames


class GeoIP(dg.ConfigurableResource):
    """GeoIP databases: a MaxMind-format country or city database (env IPTABLES_ASSETS_GEOIP_DB;
    default the bundled DB-IP Country Lite) and an optional ASN database (IPTABLES_ASSETS_ASN_DB)."""

    country_db: str = Field(default_factory=settings.geoip_db, description="GeoIP2/GeoLite2/DB-IP Country or City .mmdb")
    asn_db: str | None = Field(default_factory=settings.asn_db, description="Optional GeoLite2-ASN / DB-IP ASN Lite .mmdb")

    def lookup(self) -> GeoLookup:
        try:
            return GeoLookup(self.country_db, self.asn_db)
        except GeoDatabaseError as error:
            raise settings.ConfigError(
                f"{error} (set {settings.ENV_GEOIP_DB} / {settings.ENV_ASN_DB} or the GeoIP resource)"
            ) from None

    def setup_for_execution(self, context) -> None:
        """Open the databases once when a run starts, so a bad one stops the run before any
        log is parsed."""
        self.lookup().close()


class Analysis(dg.ConfigurableResource):
    """What counts and what is a scan: actions and direction of counted traffic, the per-day and
    long-term scan threshold (more than N distinct destination ports) and the big-scan size."""

    actions: list[str] = Field(default=["drop", "reject"], description="Actions that count")
    direction: str = Field(default="input", description="input (OUT= empty), output, forward or any")
    scan_threshold: int = Field(default=50, description="A scan reaches more than this many distinct ports")
    big_scan_threshold: int = Field(default=3000, description="One-day scans above this many ports are listed by date")
    reject_rate_warn: float = Field(default=0.01, description="Warn when a day's rejects exceed this share")

    def traffic(self):
        from iptables_assets.analysis.aggregates import TrafficFilter

        try:
            return TrafficFilter(actions=tuple(self.actions), direction=self.direction)
        except ValueError as error:
            raise settings.ConfigError(f"Analysis: {error}") from None

    def checked(self) -> "Analysis":
        """Self, or a ConfigError naming the setting that is wrong."""
        self.traffic()
        if self.scan_threshold < 1:
            raise settings.ConfigError(f"Analysis.scan_threshold={self.scan_threshold}: must be at least 1")
        if self.big_scan_threshold < self.scan_threshold:
            raise settings.ConfigError(f"Analysis.big_scan_threshold={self.big_scan_threshold}: must be at least "
                                       f"scan_threshold ({self.scan_threshold})")
        if not 0 <= self.reject_rate_warn <= 1:
            raise settings.ConfigError(f"Analysis.reject_rate_warn={self.reject_rate_warn}: must be a share from 0 to 1")
        return self

    def setup_for_execution(self, context) -> None:
        """Check the settings when a run starts, before any work."""
        self.checked()


class Publication(dg.ConfigurableResource):
    """How the journal is published: site name in titles (env IPTABLES_ASSETS_SITE_NAME),
    redaction of addresses and host names (IPTABLES_ASSETS_REDACT=1), ports given their own
    world map, scales, and the folder (default `<output>/journal`)."""

    site_name: str = Field(default_factory=settings.site_name, description="Printed in every title")
    redact: bool = Field(default_factory=settings.redact, description="Replace addresses and host names by [IP-n]/[HOST-n]")
    map_ports: list[int] = Field(default=[22, 23, 445], description="Destination ports drawn on their own world map")
    timeline_ymax: int = Field(default=10_000, description="Top of the daily timeline's y axis (0: fit the data)")
    truncate_at: int = Field(default=1_000, description="Cap of the truncated port tiles and of animation frames")
    map_resolution: str = Field(default="110m", description="Natural Earth scale of the maps: 110m or 50m")
    folder: str = Field(default="", description="Where the journal is written; empty: <output folder>/journal")

    def checked(self) -> "Publication":
        """Self, or a ConfigError naming the setting that is wrong."""
        from iptables_assets.enrich.countries import RESOLUTIONS

        bad_ports = [p for p in self.map_ports if not 0 <= p <= 65535]
        if bad_ports:
            raise settings.ConfigError(f"Publication.map_ports: {bad_ports} are not ports (0-65535)")
        if self.map_resolution not in RESOLUTIONS:
            raise settings.ConfigError(f"Publication.map_resolution={self.map_resolution!r}: use one of {RESOLUTIONS}")
        if self.truncate_at <= 0 or self.timeline_ymax < 0:
            raise settings.ConfigError("Publication.truncate_at must be > 0 and timeline_ymax >= 0")
        return self

    def journal_folder(self, output_folder: OutputFolder):
        from upath import UPath

        return UPath(self.folder) if self.folder else output_folder.path("journal")

    def redactor(self):
        """A fresh Redactor; the site name is the first host, so it is [HOST-1] everywhere."""
        from iptables_assets.publish.redaction import Redactor

        return Redactor(self.redact, hosts=[self.site_name])

    def site(self, direction: str, geoip: GeoIP):
        """Title and map-footer settings for the figures."""
        from iptables_assets.publish.figures import Site

        return Site(
            name=self.redactor().host(self.site_name),
            direction=direction,
            map_footer=" ".join([GEOLOCATION_DISCLAIMER, *self.credits(geoip)]),
        )

    def credits(self, geoip: GeoIP) -> list[str]:
        with geoip.lookup() as lookup:
            return [credit_for(lookup.country_info) + ".", NATURAL_EARTH_CREDIT + "."]
