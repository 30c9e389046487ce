"""Geo-tagging: address classes, lookups in small databases written on the fly, the asset."""

from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

import graph
from iptables_assets.enrich.geo import GeoDatabaseError, GeoLookup, address_class, geotag

COUNTRIES = {
    "1.2.3.0/24": ("AU", "Australia"),
    "5.6.0.0/16": ("FR", "France"),
    "2a01:e00::/26": ("FR", "France"),
    "9.0.0.0/8": ("US", "United States"),
}


def write_country_db(path: Path, networks=COUNTRIES, database_type="GeoLite2-Country") -> Path:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type=database_type,
                        description={"en": "test"})
    for network, (code, name) in networks.items():
        country = {"iso_code": code, "names": {"en": name}}
        writer.insert_network(IPSet([network]), {"country": country, "registered_country": country})
    writer.to_db_file(str(path))
    return path


def write_asn_db(path: Path) -> Path:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-ASN")
    writer.insert_network(IPSet(["9.0.0.0/8"]), {
        "autonomous_system_number": 3356, "autonomous_system_organization": "Example Transit"})
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def country_db(tmp_path) -> Path:
    return write_country_db(tmp_path / "country.mmdb")


@pytest.mark.parametrize(
    "address, expected",
    [
        ("1.2.3.4", "public"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.10.55", "private"),
        ("fd00::1", "private"),
        ("100.64.1.1", "shared"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.1.1", "link_local"),
        ("fe80::1", "link_local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("192.0.2.7", "documentation"),
        ("203.0.113.10", "documentation"),
        ("2001:db8::2", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("::ffff:10.0.0.1", "private"),
        ("2a01:e00::1", "public"),
        ("not-an-ip", "invalid"),
    ],
)
def test_address_class(address, expected):
    assert address_class(address) == expected


def test_lookup_public_private_and_unknown(country_db):
    with GeoLookup(country_db) as lookup:
        table = lookup.table(["1.2.3.4", "5.6.7.8", "2a01:e00::7", "10.0.0.1", "8.8.8.8", "1.2.3.4"])
    rows = {r["address"]: r for r in table.iter_rows(named=True)}
    assert table.height == 5  # one row per distinct address
    assert (rows["1.2.3.4"]["country_code"], rows["1.2.3.4"]["country_name"]) == ("AU", "Australia")
    assert rows["5.6.7.8"]["country_code"] == "FR"
    assert rows["2a01:e00::7"]["country_code"] == "FR"
    assert (rows["10.0.0.1"]["address_class"], rows["10.0.0.1"]["country_code"]) == ("private", None)
    assert (rows["8.8.8.8"]["address_class"], rows["8.8.8.8"]["country_code"]) == ("public", None)


def test_geotag_keeps_rows_and_order(country_db):
    events = pl.DataFrame({"src_ip": ["9.9.9.9", "10.0.0.1", "1.2.3.4", "9.9.9.9", "8.8.8.8"], "n": [1, 2, 3, 4, 5]})
    with GeoLookup(country_db) as lookup:
        tagged = geotag(events, lookup)
    assert tagged["n"].to_list() == [1, 2, 3, 4, 5]
    assert tagged["country_code"].to_list() == ["US", None, "AU", "US", None]
    assert tagged["address_class"].to_list() == ["public", "private", "public", "public", "public"]


def test_asn_columns_only_with_an_asn_database(country_db, tmp_path):
    events = pl.DataFrame({"src_ip": ["9.1.1.1", "1.2.3.4"]})
    with GeoLookup(country_db, write_asn_db(tmp_path / "asn.mmdb")) as lookup:
        tagged = geotag(events, lookup)
    assert tagged["asn"].to_list() == [3356, None]
    assert tagged["as_org"].to_list() == ["Example Transit", None]
    with GeoLookup(country_db) as lookup:
        assert "asn" not in geotag(events, lookup).columns


def test_missing_and_wrong_databases_say_what_is_expected(tmp_path):
    with pytest.raises(GeoDatabaseError, match="does not exist; expected a MaxMind-format"):
        GeoLookup(tmp_path / "nope.mmdb")
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"not a database")
    with pytest.raises(GeoDatabaseError, match="not a readable .mmdb file"):
        GeoLookup(junk)
    asn = write_asn_db(tmp_path / "asn.mmdb")
    with pytest.raises(GeoDatabaseError, match="is a 'GeoLite2-ASN' database; expected"):
        GeoLookup(asn)


def test_bundled_database_answers_offline():
    with GeoLookup() as lookup:
        assert "Country" in lookup.country_info.database_type
        code, _ = lookup.country("8.8.8.8")
        assert code == "US"
        assert lookup.country("10.0.0.1") == (None, None)


def test_geotagged_events_asset_counts_match_lookup(tmp_path, country_db):
    from iptables_assets import tables
    from iptables_assets.defs.resources import GeoIP

    geotagged_events = graph.asset("geotagged_events")

    day = "2026-01-01"
    events = pl.concat([tables.empty("firewall_events"), pl.DataFrame({
        "timestamp": pl.Series([None] * 4, dtype=pl.Datetime("us", "UTC")),
        "src_ip": ["1.2.3.4", "1.2.3.9", "10.0.0.1", "9.0.0.1"],
    })], how="diagonal")
    resource = GeoIP(country_db=str(country_db), asn_db=None)
    result = _materialize_with_input(geotagged_events, resource, events, day, tmp_path)
    tagged = pl.read_parquet(tmp_path / "out" / "geotagged_events" / f"{day}.parquet")
    assert dict(tagged.group_by("country_code").len().iter_rows()) == {"AU": 2, None: 1, "US": 1}
    meta = result.asset_materializations_for_node("geotagged_events")[0].metadata
    assert meta["share_located"].value == 0.75
    assert meta["geoip_database"].value == "GeoLite2-Country"


def _materialize_with_input(asset, resource, events: pl.DataFrame, day: str, tmp_path):
    from iptables_assets.defs.io_manager import TableIOManagerFactory
    from iptables_assets.defs.resources import LogSource, OutputFolder

    @dg.asset(name="firewall_events", partitions_def=asset.partitions_def,
              backfill_policy=dg.BackfillPolicy.single_run())
    def firewall_events_stub() -> pl.DataFrame:
        return events

    return graph.materialize(
        [firewall_events_stub, asset],
        partition_key=day,
        resources={"geoip": resource, "log_source": LogSource(log_dir=str(tmp_path)),
                   "output_folder": OutputFolder(base_path=str(tmp_path / "out")),
                   "io_manager": TableIOManagerFactory(base_path=str(tmp_path / "out"))},
    )


def test_network_reuse_gives_the_same_answers_as_single_lookups():
    """Lookups reuse the database network of the previous address; compare with one lookup
    per address over many random public addresses in the bundled database."""
    import random

    rng = random.Random(3)
    addresses = [f"{rng.choice([1, 5, 23, 41, 45, 58, 80, 103, 185, 212])}.{rng.randrange(256)}."
                 f"{rng.randrange(256)}.{rng.randrange(1, 255)}" for _ in range(3000)]
    addresses += ["2a01:e00::1", "2001:4860:4860::8888", "10.0.0.1"]
    with GeoLookup() as lookup:
        table = lookup.table(addresses)
        for row in table.iter_rows(named=True):
            expected = lookup.country(row["address"]) if row["address_class"] == "public" else (None, None)
            assert (row["country_code"], row["country_name"]) == expected, row["address"]


def test_ipv4_mapped_ipv6_is_looked_up_as_ipv4(country_db):
    with GeoLookup(country_db) as lookup:
        assert lookup.country("::ffff:1.2.3.4") == ("AU", "Australia")


def test_wrong_or_unreadable_asn_database_says_what_is_expected(country_db, tmp_path):
    with pytest.raises(GeoDatabaseError, match="is a 'GeoLite2-Country' database; expected a MaxMind-format "
                                               r"\(.mmdb\) ASN database"):
        GeoLookup(country_db, asn_db=country_db)
    junk = tmp_path / "asn-junk.mmdb"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(GeoDatabaseError, match="asn-junk.mmdb' is not a readable .mmdb file"):
        GeoLookup(country_db, asn_db=junk)
    with pytest.raises(GeoDatabaseError, match="does not exist; expected a MaxMind-format .* ASN database"):
        GeoLookup(country_db, asn_db=tmp_path / "missing-asn.mmdb")


def _single_and_bulk(lookup: GeoLookup, addresses: list[str]) -> tuple[list, list]:
    """Single lookups (geoip2 where it reads the type) and the bulk table's answers, same order."""
    table = {r["address"]: r for r in lookup.table(addresses).iter_rows(named=True)}
    bulk = [(table[a]["country_code"], table[a]["country_name"]) + ((table[a]["asn"], table[a]["as_org"])
            if "asn" in table[a] else ()) for a in addresses]
    single = [lookup.country(a) + (lookup.asn(a) if lookup.asn_info else ()) for a in addresses]
    return single, bulk


ADDRESSES = ["1.2.3.4", "5.6.7.8", "2a01:e00::7", "9.1.1.1", "8.8.8.8"]


@pytest.mark.parametrize("database_type", ["GeoLite2-City", "DBIP-City-Lite", "GeoLite2-Country"])
def test_city_and_country_databases_answer_single_lookups_like_the_bulk_path(tmp_path, database_type):
    db = write_country_db(tmp_path / "db.mmdb", database_type=database_type)
    with GeoLookup(db) as lookup:
        single, bulk = _single_and_bulk(lookup, ADDRESSES)
    assert single == bulk
    assert single[0] == ("AU", "Australia") and single[-1] == (None, None)


def test_flat_layout_that_geoip2_refuses_is_still_read(tmp_path):
    """ip-location-db's own builds: type 'country ipvAll', records {"country_code": ...}."""
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="country ipvAll")
    writer.insert_network(IPSet(["1.2.3.0/24"]), {"country_code": "AU"})
    writer.to_db_file(str(tmp_path / "flat.mmdb"))
    with GeoLookup(tmp_path / "flat.mmdb") as lookup:
        single, bulk = _single_and_bulk(lookup, ["1.2.3.4", "5.6.7.8"])
    assert single == bulk == [("AU", "AU"), (None, None)]


def test_registered_country_when_the_record_has_no_country(tmp_path):
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-Country")
    registered = {"iso_code": "AU", "names": {"en": "Australia"}}
    writer.insert_network(IPSet(["1.2.3.0/24"]), {"registered_country": registered})
    writer.to_db_file(str(tmp_path / "registered.mmdb"))
    with GeoLookup(tmp_path / "registered.mmdb") as lookup:
        single, bulk = _single_and_bulk(lookup, ["1.2.3.4"])
    assert single == bulk == [("AU", "Australia")]


@pytest.mark.parametrize("asn_type", ["GeoLite2-ASN", "DBIP-ASN-Lite (compat=GeoLite2-ASN)", "DBIP-ASN-Lite"])
def test_asn_single_lookups_match_the_bulk_path(country_db, tmp_path, asn_type):
    """geoip2's asn() reads types naming GeoLite2-ASN; other ASN types are read record by record."""
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type=asn_type)
    writer.insert_network(IPSet(["9.0.0.0/8"]), {
        "autonomous_system_number": 3356, "autonomous_system_organization": "Example Transit"})
    writer.to_db_file(str(tmp_path / "asn.mmdb"))
    with GeoLookup(country_db, tmp_path / "asn.mmdb") as lookup:
        single, bulk = _single_and_bulk(lookup, ADDRESSES)
        assert lookup.asn("::ffff:9.1.1.1") == (3356, "Example Transit")
    assert single == bulk
    assert single[3] == ("US", "United States", 3356, "Example Transit")
    assert single[0][2:] == (None, None)
