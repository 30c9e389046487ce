"""Country (and optionally AS) of source addresses, offline, from MaxMind-format databases.

Addresses are classified first (private, loopback, documentation … are not "unknown", they are
simply not on the public Internet); public ones are looked up in a GeoIP2/GeoLite2/DB-IP
Country or City database, once per distinct address.

geoip2 opens and checks the databases and answers single lookups (`GeoLookup.country`,
`GeoLookup.asn`). Bulk tagging (`geotag`) reads the same files through maxminddb, which geoip2
itself is built on, because it measured ~10x faster (`GeoLookup._countries`, benchmarks/README.md).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import geoip2.database
import geoip2.errors
import geoip2.models
import maxminddb
import polars as pl

BUNDLED_DIR = Path(__file__).parent.parent / "data" / "geoip"
BUNDLED_COUNTRY_DB = BUNDLED_DIR / "dbip-country-lite.mmdb"
GEOIP_CREDIT = "IP Geolocation by DB-IP (https://db-ip.com), licensed CC BY 4.0"
NATURAL_EARTH_CREDIT = "Country shapes: Natural Earth (https://www.naturalearthdata.com), public domain"
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

# 2000::/3 is global unicast except these special-purpose blocks (RFC 6890 registry).
_GLOBAL_UNICAST_V6 = range(int(ipaddress.IPv6Address("2000::")), int(ipaddress.IPv6Address("3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")))
_SPECIAL_IN_2000_3 = tuple(ipaddress.ip_network(n) for n in ("2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20"))


ASN_COLUMNS = {"asn": pl.Int64, "as_org": pl.String}


class GeoDatabaseError(ValueError):
    """A GeoIP database is missing or not of the expected kind (the message says which)."""


def address_class(text: str) -> str:
    """What kind of address this is; only "public" addresses have a country."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return "invalid"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif _GLOBAL_UNICAST_V6.start <= int(address) <= _GLOBAL_UNICAST_V6.stop and not any(
            address in n for n in _SPECIAL_IN_2000_3
        ):
            return "public"  # fast path: most IPv6 sources are plain global unicast
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


def credit_for(info: DatabaseInfo) -> str:
    """The attribution a GeoIP database's licence asks for, from what the database says it is."""
    kind = f"{info.database_type} {info.description}".lower()
    if "dbip" in kind or "db-ip" in kind:
        return GEOIP_CREDIT
    if "geolite" in kind:
        return "This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com"
    if "geoip2" in kind or "maxmind" in kind:
        return "IP geolocation by MaxMind GeoIP2 (https://www.maxmind.com)"
    return f"IP geolocation: {info.database_type} ({info.build_date})"


def _open(path: str | Path, kinds: tuple[str, ...], purpose: str) -> tuple[geoip2.database.Reader, DatabaseInfo]:
    """geoip2's Reader on a database checked to be of one of `kinds`, or a GeoDatabaseError saying why not."""
    path = Path(path)
    expected = f"a MaxMind-format (.mmdb) {purpose} database, e.g. " + " / ".join(kinds)
    if not path.is_file():
        raise GeoDatabaseError(f"GeoIP database {str(path)!r} does not exist; expected {expected}")
    try:
        reader = geoip2.database.Reader(str(path))
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


def _bulk_reader(path: str | Path, reader: geoip2.database.Reader) -> maxminddb.Reader:
    """maxminddb's reader on the same file (geoip2's own is private), checked to be the same build."""
    bulk = maxminddb.open_database(str(path), maxminddb.MODE_AUTO)
    same = (bulk.metadata().build_epoch, bulk.metadata().node_count) == (
        reader.metadata().build_epoch, reader.metadata().node_count)
    if not same:
        bulk.close()
        raise GeoDatabaseError(f"GeoIP database {str(path)!r} changed while it was being opened; try again")
    return bulk


def _geoip2_method(reader: geoip2.database.Reader, methods: dict[str, str]) -> Callable | None:
    """The geoip2 lookup that accepts this database type (its rule: the name is in `database_type`), or None."""
    # None e.g. for ip-location-db's flat `country ipvAll` builds: then read record by record.
    kind = reader.metadata().database_type
    return next((getattr(reader, m) for name, m in methods.items() if name in kind), None)


class _Database:
    """One .mmdb file: geoip2's Reader for the checks and single lookups, maxminddb's for bulk."""

    def __init__(self, path: str | Path, kinds: tuple[str, ...], purpose: str, methods: dict[str, str]):
        self.geoip2, self.info = _open(path, kinds, purpose)
        try:
            self.records = _bulk_reader(path, self.geoip2)
        except BaseException:
            self.geoip2.close()
            raise
        self.single = _geoip2_method(self.geoip2, methods)

    def close(self) -> None:
        self.geoip2.close()
        self.records.close()


def _unmapped(address: str) -> str:
    """`::ffff:1.2.3.4` as `1.2.3.4`: databases hold IPv4 networks under their IPv4 form."""
    if address[:7].lower() != "::ffff:":
        return address
    mapped = ipaddress.ip_address(address).ipv4_mapped
    return str(mapped) if mapped is not None else address


def _named(answer: geoip2.models.Country) -> tuple[str | None, str | None]:
    """(ISO code, English name) from geoip2's answer, as `_country_of` reads the same record."""
    country = answer.country if answer.country.iso_code else answer.registered_country
    return country.iso_code, country.name or country.iso_code


def _country_of(record) -> tuple[str | None, str | None]:
    """(ISO code, English name) from a raw country/city database record (the bulk path)."""
    if not isinstance(record, dict):
        return None, None
    country = record.get("country") or record.get("registered_country")
    if isinstance(country, dict):
        code = country.get("iso_code")
        return code, (country.get("names") or {}).get("en", code)
    code = record.get("country_code")  # flat layouts (e.g. ip-location-db's own builds)
    return (code, code) if isinstance(code, str) else (None, None)


def _asn_of(record) -> tuple[int | None, str | None]:
    """(AS number, AS organisation) from a raw ASN database record (the bulk path)."""
    if not isinstance(record, dict):
        return None, None
    return record.get("autonomous_system_number"), record.get("autonomous_system_organization")


_COUNTRY_METHODS = {"Country": "country", "City": "city"}
_ASN_METHODS = {"GeoLite2-ASN": "asn"}  # DB-IP's ASN Lite says "DBIP-ASN-Lite (compat=GeoLite2-ASN)"


class GeoLookup:
    """Country (and optional AS) of addresses, one database lookup per distinct address."""

    def __init__(self, country_db: str | Path = BUNDLED_COUNTRY_DB, asn_db: str | Path | None = None):
        self._country = _Database(country_db, ("Country", "City"), "country or city", _COUNTRY_METHODS)
        self.country_info = self._country.info
        self._asn, self.asn_info = (None, None)
        if asn_db:
            try:
                self._asn = _Database(asn_db, ("ASN",), "ASN", _ASN_METHODS)
            except BaseException:
                self._country.close()
                raise
            self.asn_info = self._asn.info

    def close(self) -> None:
        self._country.close()
        if self._asn is not None:
            self._asn.close()

    def __enter__(self) -> "GeoLookup":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def country(self, address: str) -> tuple[str | None, str | None]:
        """(ISO code, English name) of a public address, (None, None) if none; geoip2 where it reads the type."""
        address = _unmapped(address)
        if self._country.single is None:
            return _country_of(self._country.records.get(address))
        try:
            return _named(self._country.single(address))
        except geoip2.errors.AddressNotFoundError:
            return None, None

    def asn(self, address: str) -> tuple[int | None, str | None]:
        """(AS number, organisation) of an address, (None, None) without an ASN database or entry."""
        if self._asn is None:
            return None, None
        address = _unmapped(address)
        if self._asn.single is None:
            return _asn_of(self._asn.records.get(address))
        try:
            answer = self._asn.single(address)
        except geoip2.errors.AddressNotFoundError:
            return None, None
        return answer.autonomous_system_number, answer.autonomous_system_organization

    def table(self, addresses: Iterable[str] | pl.Series) -> pl.DataFrame:
        """One row per distinct address: address_class, country_code, country_name (+ asn, as_org)."""
        if not isinstance(addresses, pl.Series):
            addresses = pl.Series(list(addresses), dtype=pl.String)
        frame = classify(addresses.drop_nulls().unique().alias("address"))
        public = frame.filter(pl.col("address_class") == "public").sort("ipv4", nulls_last=True)
        found = self._countries(public["address"].to_list(), public["ipv4"].to_list())
        columns = {
            "address": public["address"],
            "country_code": [c for c, _ in found],
            "country_name": [n for _, n in found],
        }
        schema = {"address": pl.String, "country_code": pl.String, "country_name": pl.String}
        if self._asn is not None:
            # maxminddb, as for countries: 2,324,000 AS lookups/s against geoip2's Reader.asn()
            # 575,000/s (benchmarks/geo_benchmark.py --asn-db synthetic, median of 3 runs).
            asns = [_asn_of(self._asn.records.get(_unmapped(a))) for a in public["address"]]
            columns.update(asn=[a for a, _ in asns], as_org=[o for _, o in asns])
            schema.update(ASN_COLUMNS)
        located = pl.DataFrame(columns, schema=schema)
        return frame.drop("ipv4").join(located, on="address", how="left").sort("address")

    def _countries(self, addresses: list[str], ipv4: list[int | None]) -> list[tuple[str | None, str | None]]:
        """Countries of addresses sorted by IPv4 value (IPv6 after): a lookup also tells the
        database network holding the address, so the next addresses inside it need none."""
        # maxminddb, not geoip2, on purpose: on the 49,893 distinct public sources of
        # benchmarks/geo_benchmark.py (bundled DB-IP database, median of 3 runs) this loop did
        # 1,423,000 lookups/s, maxminddb's get() per address 591,000/s, geoip2's Reader.country()
        # per address 137,000/s (it builds a model object per answer), and 174,000/s with this
        # network reuse. The same answers from all four.
        records = self._country.records
        results = []
        end = -1
        answer: tuple[str | None, str | None] = (None, None)
        for address, value in zip(addresses, ipv4):
            if value is None:
                results.append(_country_of(records.get(_unmapped(address))))
                continue
            if value > end:
                record, prefix = records.get_with_prefix_len(address)
                answer = _country_of(record)
                bits = 32 - prefix  # maxminddb gives IPv4 prefixes in IPv4 terms
                end = (value >> bits << bits) + (1 << bits) - 1
            results.append(answer)
        return results


# IPv4 special-purpose blocks, most specific first: (first address, prefix length, class).
_IPV4_CLASSES = (
    ("0.0.0.0", 32, "unspecified"), ("0.0.0.0", 8, "reserved"), ("127.0.0.0", 8, "loopback"),
    ("169.254.0.0", 16, "link_local"), ("224.0.0.0", 4, "multicast"),
    ("192.0.2.0", 24, "documentation"), ("198.51.100.0", 24, "documentation"),
    ("203.0.113.0", 24, "documentation"), ("100.64.0.0", 10, "shared"),
    ("198.18.0.0", 15, "benchmarking"), ("255.255.255.255", 32, "reserved"),
    ("240.0.0.0", 4, "reserved"), ("10.0.0.0", 8, "private"), ("172.16.0.0", 12, "private"),
    ("192.168.0.0", 16, "private"), ("192.0.0.0", 24, "reserved"),
)


def classify(addresses: pl.Series) -> pl.DataFrame:
    """address -> address_class (and ipv4, its integer value) for many addresses: IPv4 by
    integer ranges (vectorised), anything else (IPv6, oddities) with `address_class`."""
    frame = pl.DataFrame({"address": addresses})
    octets = pl.col("address").str.split(".")
    is_v4 = pl.col("address").str.contains(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
    frame = frame.with_columns(
        pl.when(is_v4)
        .then(
            octets.list.eval(pl.element().cast(pl.Int64, strict=False))
            .list.to_struct(fields=["a", "b", "c", "d"])
        )
        .alias("__o")
    ).unnest("__o")
    valid = pl.all_horizontal(pl.col(c).is_between(0, 255) for c in "abcd").fill_null(False)
    value = pl.col("a") * 2**24 + pl.col("b") * 2**16 + pl.col("c") * 2**8 + pl.col("d")
    kind = pl.lit("public")
    for first, length, name in reversed(_IPV4_CLASSES):
        start = int(ipaddress.IPv4Address(first))
        block = 2 ** (32 - length)
        kind = pl.when(value // block == start // block).then(pl.lit(name)).otherwise(kind)
    frame = frame.with_columns(
        pl.when(is_v4 & valid).then(kind).alias("address_class"),
        pl.when(is_v4 & valid).then(value).alias("ipv4"),
    ).drop("a", "b", "c", "d")
    others = frame.filter(pl.col("address_class").is_null())["address"].to_list()
    slow = dict(zip(others, map(address_class, others)))
    return frame.with_columns(
        pl.coalesce(
            pl.col("address_class"),
            pl.col("address").replace_strict(slow, default=None, return_dtype=pl.String),
        ).alias("address_class")
    )


def geotag(events: pl.DataFrame, lookup: GeoLookup, column: str = "src_ip") -> pl.DataFrame:
    """`events` plus country_code, country_name, address_class (and asn, as_org with an ASN db)
    of `column`; rows and their order are unchanged."""
    # Lazy queries: polars' streaming engine finds distinct values and joins faster here.
    distinct = events.lazy().select(pl.col(column).unique().alias("address")).collect()["address"]
    table = lookup.table(distinct)
    return (
        events.lazy()
        .join(table.lazy(), left_on=column, right_on="address", how="left", maintain_order="left")
        .with_columns(pl.col("address_class").fill_null("invalid"))
        .collect()
    )
