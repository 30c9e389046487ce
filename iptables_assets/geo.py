"""Country (and optionally AS) of source addresses, offline, from MaxMind-format databases.

Addresses are classified first (private, loopback, documentation … are not "unknown", they are
simply not on the public Internet); public ones are looked up in a GeoIP2/GeoLite2/DB-IP
Country or City database, once per distinct address.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import maxminddb
import polars as pl

BUNDLED_DIR = Path(__file__).parent / "data" / "geoip"
BUNDLED_COUNTRY_DB = BUNDLED_DIR / "dbip-country-lite.mmdb"
GEOIP_CREDIT = "IP Geolocation by DB-IP (https://db-ip.com), licensed CC BY 4.0"
GEOLOCATION_DISCLAIMER = (
    "Geolocation of attack traffic is unreliable: VPNs, Tor, proxies, botnets on cloud hosts, "
    "address re-allocation and database errors all place packets in the wrong country."
)

# Special-purpose ranges the `ipaddress` module does not single out (RFC 5737, 3849, 6598, 2544).
_DOCUMENTATION = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20")
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_BENCHMARKING = (ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("2001:2::/48"))

ADDRESS_CLASSES = (
    "public", "private", "shared", "loopback", "link_local", "multicast", "documentation",
    "benchmarking", "unspecified", "reserved", "invalid",
)

GEO_COLUMNS = {
    "country_code": pl.String,
    "country_name": pl.String,
    "address_class": pl.String,
}
ASN_COLUMNS = {"asn": pl.Int64, "as_org": pl.String}


class GeoDatabaseError(ValueError):
    """A GeoIP database is missing or not of the expected kind (the message says which)."""


def address_class(text: str) -> str:
    """What kind of address this is; only "public" addresses have a country."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return "invalid"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link_local"
    if address.is_multicast:
        return "multicast"
    if any(address in n for n in _DOCUMENTATION if n.version == address.version):
        return "documentation"
    if address.version == 4 and address in _SHARED:
        return "shared"
    if any(address in n for n in _BENCHMARKING if n.version == address.version):
        return "benchmarking"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    return "public" if address.is_global else "reserved"


@dataclass(frozen=True)
class DatabaseInfo:
    """What a MaxMind-format database says about itself."""

    path: str
    database_type: str
    build_date: str
    description: str


def _open(path: str | Path, kinds: tuple[str, ...], purpose: str) -> tuple[maxminddb.Reader, DatabaseInfo]:
    path = Path(path)
    expected = f"a MaxMind-format (.mmdb) {purpose} database, e.g. " + " / ".join(kinds)
    if not path.is_file():
        raise GeoDatabaseError(f"GeoIP database {str(path)!r} does not exist; expected {expected}")
    try:
        reader = maxminddb.open_database(str(path), maxminddb.MODE_AUTO)
    except (maxminddb.InvalidDatabaseError, ValueError, OSError) as error:
        raise GeoDatabaseError(f"{str(path)!r} is not a readable .mmdb file ({error}); expected {expected}") from None
    meta = reader.metadata()
    if not any(kind.lower() in meta.database_type.lower() for kind in kinds):
        reader.close()
        raise GeoDatabaseError(
            f"{str(path)!r} is a {meta.database_type!r} database; expected {expected}"
        )
    built = datetime.fromtimestamp(meta.build_epoch, tz=timezone.utc).date().isoformat()
    description = (meta.description or {}).get("en", "")
    return reader, DatabaseInfo(str(path), meta.database_type, built, description)


class GeoLookup:
    """Country (and optional AS) of addresses, one database lookup per distinct address."""

    def __init__(self, country_db: str | Path = BUNDLED_COUNTRY_DB, asn_db: str | Path | None = None):
        self._country, self.country_info = _open(country_db, ("Country", "City"), "country or city")
        self._asn, self.asn_info = (None, None)
        if asn_db:
            self._asn, self.asn_info = _open(asn_db, ("ASN",), "ASN")

    def close(self) -> None:
        self._country.close()
        if self._asn is not None:
            self._asn.close()

    def __enter__(self) -> "GeoLookup":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def country(self, address: str) -> tuple[str | None, str | None]:
        """(ISO code, English name) of a public address, (None, None) if the database has none."""
        record = self._country.get(address)
        if not isinstance(record, dict):
            return None, None
        country = record.get("country") or record.get("registered_country")
        if isinstance(country, dict):
            code = country.get("iso_code")
            return code, (country.get("names") or {}).get("en", code)
        code = record.get("country_code")  # flat layouts (e.g. ip-location-db's own builds)
        return (code, code) if isinstance(code, str) else (None, None)

    def asn(self, address: str) -> tuple[int | None, str | None]:
        record = self._asn.get(address) if self._asn is not None else None
        if not isinstance(record, dict):
            return None, None
        return record.get("autonomous_system_number"), record.get("autonomous_system_organization")

    def table(self, addresses: Iterable[str]) -> pl.DataFrame:
        """One row per distinct address: address_class, country_code, country_name (+ asn, as_org)."""
        rows = []
        for text in sorted(set(a for a in addresses if a is not None)):
            kind = address_class(text)
            code, name = self.country(text) if kind == "public" else (None, None)
            row = {"address": text, "address_class": kind, "country_code": code, "country_name": name}
            if self._asn is not None:
                row["asn"], row["as_org"] = self.asn(text) if kind == "public" else (None, None)
            rows.append(row)
        schema = {"address": pl.String, "address_class": pl.String, "country_code": pl.String, "country_name": pl.String}
        if self._asn is not None:
            schema.update(ASN_COLUMNS)
        return pl.DataFrame(rows, schema=schema)


def geotag(events: pl.DataFrame, lookup: GeoLookup, column: str = "src_ip") -> pl.DataFrame:
    """`events` plus country_code, country_name, address_class (and asn, as_org with an ASN db)
    of `column`; rows and their order are unchanged."""
    table = lookup.table(events[column].unique().to_list())
    tagged = events.join(table, left_on=column, right_on="address", how="left", maintain_order="left")
    return tagged.with_columns(pl.col("address_class").fill_null("invalid"))
