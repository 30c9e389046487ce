"""Bundled Natural Earth shapes: cartopy finds them offline; the country reference and its codes."""

from __future__ import annotations

import hashlib
import importlib.util
import socket
from pathlib import Path

import polars as pl
import pytest
from shapely.geometry import Point

from iptables_assets.enrich import countries
from iptables_assets.enrich.countries import (
    GEOIP_CODES,
    ISO_3166_1_ALPHA2,
    NATURAL_EARTH_DIR,
    RESOLUTIONS,
    SHAPELESS_CODES,
    country_geometries,
    country_reference,
    shapefile_path,
    shapeless_codes,
    use_bundled_natural_earth,
)

SUFFIXES = (".shp", ".shx", ".dbf", ".prj", ".cpg")
FETCH_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fetch_natural_earth.py"


class NetworkUsed(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket (cartopy downloads via urllib) fails the test."""

    def refuse(*args, **kwargs):
        raise NetworkUsed(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def cartopy_config(monkeypatch):
    """cartopy.config, restored after the test."""
    import cartopy

    for key in ("pre_existing_data_dir", "data_dir"):
        monkeypatch.setitem(cartopy.config, key, cartopy.config[key])
    return cartopy.config


# --------------------------------------------------------------------------------------------
# Bundled files and cartopy
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_bundled_files_exist(resolution):
    shp = shapefile_path(resolution)
    assert shp.parent == NATURAL_EARTH_DIR / "shapefiles" / "natural_earth" / "cultural"
    for suffix in SUFFIXES:
        path = shp.with_suffix(suffix)
        assert path.is_file() and path.stat().st_size > 0, path
    assert (NATURAL_EARTH_DIR / "SOURCE.md").is_file()


@pytest.mark.skipif(not FETCH_SCRIPT.is_file(), reason="scripts/ not present (installed package)")
def test_bundled_files_match_pinned_hashes():
    spec = importlib.util.spec_from_file_location("fetch_natural_earth", FETCH_SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert len(script.FILES) == len(RESOLUTIONS) * len(SUFFIXES)
    assert script.check(NATURAL_EARTH_DIR) == []
    source = (NATURAL_EARTH_DIR / "SOURCE.md").read_text(encoding="utf-8")
    for rel, digest in script.FILES.items():
        assert hashlib.sha256((NATURAL_EARTH_DIR / rel).read_bytes()).hexdigest() == digest
        assert digest in source


@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_cartopy_resolves_bundled_shapes_offline(resolution, cartopy_config, no_network, tmp_path):
    import cartopy.io.shapereader as shpreader

    # A user cache elsewhere must not matter: the bundled dir is the pre-existing dir.
    cartopy_config["data_dir"] = tmp_path / "user-cache"
    use_bundled_natural_earth(data_dir=False)
    assert cartopy_config["pre_existing_data_dir"] == NATURAL_EARTH_DIR

    path = shpreader.natural_earth(
        resolution=resolution, category="cultural", name="admin_0_countries"
    )
    assert Path(path) == shapefile_path(resolution)
    names = {record.attributes["NAME"] for record in shpreader.Reader(path).records()}
    assert {"France", "Norway", "Kosovo", "Taiwan", "United States of America"} <= names
    assert not (tmp_path / "user-cache").exists()


def test_use_bundled_natural_earth_sets_both_dirs_and_returns_previous(cartopy_config, no_network):
    import cartopy.io.shapereader as shpreader

    before = {key: cartopy_config[key] for key in ("pre_existing_data_dir", "data_dir")}
    assert use_bundled_natural_earth() == before
    assert cartopy_config["pre_existing_data_dir"] == NATURAL_EARTH_DIR
    assert cartopy_config["data_dir"] == NATURAL_EARTH_DIR
    path = shpreader.natural_earth(resolution="110m", category="cultural", name="admin_0_countries")
    assert Path(path) == shapefile_path("110m")


def test_without_bundled_dir_cartopy_would_download(cartopy_config, no_network, tmp_path):
    """Control for the offline test: with empty data dirs cartopy goes to the network."""
    import cartopy.io.shapereader as shpreader
    from cartopy.io import DownloadWarning

    cartopy_config["pre_existing_data_dir"] = tmp_path / "pre"
    cartopy_config["data_dir"] = tmp_path / "data"
    with pytest.warns(DownloadWarning), pytest.raises(NetworkUsed):
        shpreader.natural_earth(resolution="110m", category="cultural", name="admin_0_countries")


def test_unknown_resolution_rejected():
    with pytest.raises(ValueError, match="resolution"):
        country_reference("10m")


# --------------------------------------------------------------------------------------------
# Country reference
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_reference_schema_and_unique_sorted_codes(resolution):
    table = country_reference(resolution)
    assert table.schema == pl.Schema(countries.REFERENCE_SCHEMA)
    assert table.null_count().sum_horizontal().item() == 0
    codes = table["iso_a2"].to_list()
    assert codes == sorted(codes)
    assert len(set(codes)) == len(codes)
    assert table["iso_a3"].n_unique() == table.height
    assert all(len(code) == 2 and code.isalpha() and code.isupper() for code in codes)
    assert all(len(code) == 3 and code.isalpha() and code.isupper() for code in table["iso_a3"])
    assert table["lat"].is_between(-90, 90).all() and table["lon"].is_between(-180, 180).all()
    assert not {"-99", "CN-TW"} & set(codes)


@pytest.mark.parametrize("resolution", RESOLUTIONS)
@pytest.mark.parametrize(
    ("iso_a2", "iso_a3", "name"),
    [
        ("FR", "FRA", "France"),  # plain ISO_A2 is -99 in Natural Earth
        ("NO", "NOR", "Norway"),  # plain ISO_A2 is -99
        ("XK", "XKX", "Kosovo"),  # plain ISO_A2 and ISO_A3_EH are -99
        ("TW", "TWN", "Taiwan"),  # plain ISO_A2 is CN-TW
        ("US", "USA", "United States of America"),
        ("CY", "CYP", "Cyprus"),  # merged with Northern Cyprus (-99)
        ("SO", "SOM", "Somalia"),  # merged with Somaliland (-99)
        ("AU", "AUS", "Australia"),  # at 50m also Indian Ocean Ter. and Ashmore and Cartier Is.
    ],
)
def test_known_countries(resolution, iso_a2, iso_a3, name):
    row = country_reference(resolution).filter(pl.col("iso_a2") == iso_a2).to_dicts()
    assert len(row) == 1
    assert (row[0]["iso_a3"], row[0]["name"]) == (iso_a3, name)


def test_united_states_point_and_continents():
    table = country_reference("110m")
    us = table.filter(pl.col("iso_a2") == "US").row(0, named=True)
    assert us["continent"] == "North America"
    assert 30 < us["lat"] < 45 and -105 < us["lon"] < -85  # contiguous US, not Alaska or Hawaii
    by_code = dict(zip(table["iso_a2"], table["continent"]))
    assert (by_code["FR"], by_code["JP"], by_code["BR"], by_code["AU"]) == (
        "Europe", "Asia", "South America", "Oceania",
    )


# --------------------------------------------------------------------------------------------
# Geometries
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_geometries_match_reference(resolution):
    geometries = country_geometries(resolution)
    table = country_reference(resolution)
    assert list(geometries) == table["iso_a2"].to_list()
    for row in table.iter_rows(named=True):
        geometry = geometries[row["iso_a2"]]
        assert geometry.geom_type in ("Polygon", "MultiPolygon") and geometry.is_valid
        # Natural Earth label points can sit just off small or split shapes (NZ, GQ, GS ...).
        assert geometry.distance(Point(row["lon"], row["lat"])) < 5, row


def test_merged_units():
    geometries = country_geometries("110m")
    assert geometries["CY"].contains(Point(33.6, 35.25))  # Northern Cyprus, inside CY
    assert geometries["SO"].contains(Point(45.0, 9.5))  # Hargeisa, Somaliland, inside SO
    assert geometries["FR"].contains(Point(-53.1, 3.9))  # French Guiana is part of FR's shape


# --------------------------------------------------------------------------------------------
# Code coverage: every GeoIP code has a shape or a documented reason
# --------------------------------------------------------------------------------------------


def test_iso_list_complete():
    assert len(ISO_3166_1_ALPHA2) == 249
    assert {"EU", "AP", "XK"} <= GEOIP_CODES
    assert not {"EU", "AP", "XK", "ZZ"} & ISO_3166_1_ALPHA2


def test_iso_list_matches_pycountry():
    pycountry = pytest.importorskip("pycountry")
    assert ISO_3166_1_ALPHA2 == {country.alpha_2 for country in pycountry.countries}


@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_every_code_has_shape_or_reason(resolution):
    shaped = set(country_reference(resolution)["iso_a2"])
    shapeless = shapeless_codes(resolution)
    assert not shaped & set(shapeless), "code both shaped and listed as shapeless"
    assert GEOIP_CODES - shaped - set(shapeless) == set(), "code neither shaped nor listed"
    assert shaped <= GEOIP_CODES
    assert set(shapeless) <= GEOIP_CODES
    assert {"EU", "AP"} <= set(shapeless)


def test_shapeless_codes_documented():
    assert shapeless_codes("110m") == SHAPELESS_CODES
    assert set(shapeless_codes("50m")) < set(SHAPELESS_CODES)
    for code, reason in SHAPELESS_CODES.items():
        assert len(code) == 2 and code.isupper()
        assert isinstance(reason, str) and reason and "\n" not in reason
    # Codes that get their own shape at 50m say so.
    shaped_50m = set(country_reference("50m")["iso_a2"])
    for code in set(SHAPELESS_CODES) - set(shapeless_codes("50m")):
        assert code in shaped_50m and "own shape at 50m" in SHAPELESS_CODES[code]


def test_every_code_the_bundled_geoip_database_returns_has_a_shape_or_is_listed():
    import json

    from iptables_assets.enrich.geo import BUNDLED_DIR

    codes = set(json.loads((BUNDLED_DIR / "dbip-country-lite.json").read_text())["networks_per_country"])
    assert len(codes) > 200
    shaped = set(countries.country_reference("110m")["iso_a2"].to_list())
    missing = sorted(codes - shaped - set(countries.SHAPELESS_CODES))
    assert missing == []
