"""Country reference table and world shapes from the bundled Natural Earth admin-0 countries.

The shapefiles (Natural Earth 5.1.1, public domain, 1:110m and 1:50m) ship inside the package
under `data/natural_earth/`, laid out as a cartopy data dir; `scripts/fetch_natural_earth.py`
rebuilds them and `data/natural_earth/SOURCE.md` records where they come from.

- `use_bundled_natural_earth()` points cartopy at them, so
  `cartopy.io.shapereader.natural_earth(resolution="110m" | "50m", category="cultural",
  name="admin_0_countries")` never downloads.
- `country_reference(resolution)`: one row per ISO 3166-1 alpha-2 code with a shape.
- `country_geometries(resolution)`: alpha-2 code -> shapely geometry, for choropleth maps.
- `SHAPELESS_CODES`: every other code a GeoIP country database can return, with the reason.

Codes: Natural Earth's plain `ISO_A2` is `-99` for France, Norway and Kosovo and `CN-TW` for
Taiwan, so the alpha-2 code comes from `ISO_A2_EH` ("EH" = "even if harmful": filled in for
such cases), then from `ADM0_A3` through `_ADM0_A3_TO_ISO_A2`. Several Natural Earth units can
share a code (Northern Cyprus is counted as CY and Somaliland as SO, as ISO 3166 and GeoIP
databases do; at 50m Australia has three units): the reference row comes from the unit with
the largest area and the geometry is the union of all of them.

Plain Python on purpose (no dagster): the assets, the map code and the tests all use it.
cartopy is imported only by `use_bundled_natural_earth()`; reading uses pyshp and shapely.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from iptables_assets import tables

NATURAL_EARTH_DIR = Path(__file__).resolve().parent.parent / "data" / "natural_earth"
"""The bundled cartopy data dir (contains `shapefiles/natural_earth/cultural/...`)."""

NATURAL_EARTH_VERSION = "5.1.1"
RESOLUTIONS = ("110m", "50m")

REFERENCE_SCHEMA = dict(tables.schema("country_reference"))  # declared in `tables`

# ---------------------------------------------------------------------------------------------
# cartopy
# ---------------------------------------------------------------------------------------------


def shapefile_path(resolution: str = "110m") -> Path:
    """Path of the bundled `ne_{resolution}_admin_0_countries.shp`."""
    _check_resolution(resolution)
    return (
        NATURAL_EARTH_DIR / "shapefiles" / "natural_earth" / "cultural"
        / f"ne_{resolution}_admin_0_countries.shp"
    )


def use_bundled_natural_earth(*, data_dir: bool = True) -> dict[str, Any]:
    """Point cartopy at the bundled Natural Earth data; return the previous config values.

    cartopy 0.26 resolves `shapereader.natural_earth(resolution, category, name)` through the
    `NEShpDownloader` registered under `config["downloaders"][("shapefiles", "natural_earth")]`.
    Its path templates are formatted at call time with the live `cartopy.config` dict:

        {config[pre_existing_data_dir]}/shapefiles/natural_earth/{category}/ne_{res}_{name}.shp
        {config[data_dir]}/shapefiles/natural_earth/{category}/ne_{res}_{name}.shp

    `Downloader.path` returns the first if it exists, else the second if it exists, else it
    downloads into the second. Setting `pre_existing_data_dir` is therefore enough for the
    bundled files, at any time after `import cartopy` (its default is `Path("")`, i.e. the
    working directory, or `$CARTOPY_DATA_DIR` read once at import). With `data_dir=True` (the
    default) `data_dir` is pointed here too; that changes nothing for the bundled files, but a
    request for data that is *not* bundled (coastlines, land, borders, 10m ...) then tries to
    download into the package directory instead of the user's cache (offline, it fails either
    way). Call it again after anything that resets `cartopy.config`.
    """
    import cartopy

    previous = {key: cartopy.config.get(key) for key in ("pre_existing_data_dir", "data_dir")}
    cartopy.config["pre_existing_data_dir"] = NATURAL_EARTH_DIR
    if data_dir:
        cartopy.config["data_dir"] = NATURAL_EARTH_DIR
    return previous


# ---------------------------------------------------------------------------------------------
# Codes
# ---------------------------------------------------------------------------------------------

# ISO 3166-1 alpha-2, all 249 officially assigned codes (as listed by pycountry 26.2.16).
ISO_3166_1_ALPHA2 = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
    """.split()
)

# Codes outside ISO 3166-1 that GeoIP country databases use.
GEOIP_EXTRA_CODES = frozenset({"XK", "EU", "AP", "ZZ", "A1", "A2", "O1"})

GEOIP_CODES = ISO_3166_1_ALPHA2 | GEOIP_EXTRA_CODES
"""Every country code a GeoIP country database is known to return."""

# Where ISO_A2_EH is -99 (or not a plain alpha-2 code): Natural Earth ADM0_A3 -> alpha-2.
_ADM0_A3_TO_ISO_A2 = {
    "FRA": "FR",  # plain ISO_A2 is -99 (overseas departments); ISO_A2_EH has FR
    "NOR": "NO",  # plain ISO_A2 is -99 (Svalbard); ISO_A2_EH has NO
    "KOS": "XK",  # Kosovo: user-assigned code used by GeoIP databases, the EU and CLDR
    "TWN": "TW",  # plain ISO_A2 is "CN-TW"; ISO_A2_EH has TW
    "CYN": "CY",  # Northern Cyprus: ISO 3166 and GeoIP databases count it as Cyprus
    "SOL": "SO",  # Somaliland: ISO 3166 and GeoIP databases count it as Somalia
}
# Natural Earth units left out of the reference and the geometries, with the reason.
UNCODED_UNITS = {
    "KAS": "Siachen Glacier (50m only): disputed between India and Pakistan, no ISO code",
}
# Alpha-3 codes where ISO_A3_EH is -99: Kosovo's ADM0_A3 is KOS, but the user-assigned XKX
# (EU, World Bank, IMF) is the usual alpha-3 (CLDR has XKK).
_ISO_A3_OVERRIDES = {"XK": "XKX"}

_A2 = re.compile(r"[A-Z]{2}")
_A3 = re.compile(r"[A-Z]{3}")

_50M = "own shape at 50m"

SHAPELESS_CODES: dict[str, str] = {
    # --- not real countries -----------------------------------------------------------------
    "EU": "Europe, no specific country (GeoIP pseudo-country for Europe-wide allocations)",
    "AP": "Asia/Pacific, no specific country (GeoIP pseudo-country for region-wide allocations)",
    "ZZ": "unknown or unassigned (CLDR's 'Unknown Region', a user-assigned ISO code)",
    "A1": "anonymous proxy (legacy MaxMind GeoIP pseudo-country)",
    "A2": "satellite provider (legacy MaxMind GeoIP pseudo-country)",
    "O1": "other country (legacy MaxMind GeoIP pseudo-country)",
    # --- no shape at 110m or 50m ------------------------------------------------------------
    "BQ": "Bonaire, Sint Eustatius and Saba: not at 110m; part of NL's multipolygon at 50m",
    "BV": "Bouvet Island: uninhabited sub-Antarctic island, no shape at 110m or 50m",
    "CC": "Cocos (Keeling) Islands: not at 110m; in NE 'Indian Ocean Ter.', merged into AU, at 50m",
    "CX": "Christmas Island: not at 110m; in NE 'Indian Ocean Ter.', merged into AU, at 50m",
    "GF": "French Guiana: overseas department, part of FR's multipolygon at 110m and 50m",
    "GI": "Gibraltar: too small for 110m and 50m (inside the ES outline; own shape at 10m only)",
    "GP": "Guadeloupe: overseas department, not at 110m; part of FR's multipolygon at 50m",
    "MQ": "Martinique: overseas department, not at 110m; part of FR's multipolygon at 50m",
    "RE": "Réunion: overseas department, not at 110m; part of FR's multipolygon at 50m",
    "YT": "Mayotte: overseas department, not at 110m; part of FR's multipolygon at 50m",
    "SJ": "Svalbard and Jan Mayen: part of NO's multipolygon at 110m and 50m",
    "TK": "Tokelau: atolls too small for 110m and 50m",
    "UM": "US Minor Outlying Islands: scattered atolls, no shape at 110m or 50m",
    # --- no shape at 110m, own shape at 50m -------------------------------------------------
    "AD": f"Andorra: microstate inside the FR/ES outlines at 110m; {_50M}",
    "LI": f"Liechtenstein: microstate between CH and AT at 110m; {_50M}",
    "MC": f"Monaco: microstate inside FR at 110m; {_50M}",
    "SM": f"San Marino: microstate inside IT at 110m; {_50M}",
    "VA": f"Vatican City: microstate inside IT at 110m; {_50M}",
    "SG": f"Singapore: city state at the tip of MY at 110m; {_50M}",
    "HK": f"Hong Kong: special administrative region inside CN at 110m; {_50M}",
    "MO": f"Macao: special administrative region next to CN at 110m; {_50M}",
    "AX": f"Åland Islands: autonomous Finnish islands, too small for 110m; {_50M}",
    "FO": f"Faroe Islands: too small for 110m; {_50M}",
    "GG": f"Guernsey: Channel Island, too small for 110m; {_50M}",
    "JE": f"Jersey: Channel Island, too small for 110m; {_50M}",
    "IM": f"Isle of Man: too small for 110m; {_50M}",
    "MT": f"Malta: island state too small for 110m; {_50M}",
    "BH": f"Bahrain: island state too small for 110m; {_50M}",
    "BM": f"Bermuda: island territory too small for 110m; {_50M}",
    "PM": f"Saint Pierre and Miquelon: islands too small for 110m; {_50M}",
    # Caribbean
    "AG": f"Antigua and Barbuda: small island state, not at 110m; {_50M}",
    "AI": f"Anguilla: small island territory, not at 110m; {_50M}",
    "AW": f"Aruba: small island, not at 110m; {_50M}",
    "BB": f"Barbados: small island state, not at 110m; {_50M}",
    "BL": f"Saint Barthélemy: small island, not at 110m; {_50M}",
    "CW": f"Curaçao: small island, not at 110m; {_50M}",
    "DM": f"Dominica: small island state, not at 110m; {_50M}",
    "GD": f"Grenada: small island state, not at 110m; {_50M}",
    "KN": f"Saint Kitts and Nevis: small island state, not at 110m; {_50M}",
    "KY": f"Cayman Islands: small island territory, not at 110m; {_50M}",
    "LC": f"Saint Lucia: small island state, not at 110m; {_50M}",
    "MF": f"Saint Martin (French part): small island, not at 110m; {_50M}",
    "MS": f"Montserrat: small island territory, not at 110m; {_50M}",
    "SX": f"Sint Maarten (Dutch part): small island, not at 110m; {_50M}",
    "TC": f"Turks and Caicos Islands: small island territory, not at 110m; {_50M}",
    "VC": f"Saint Vincent and the Grenadines: small island state, not at 110m; {_50M}",
    "VG": f"British Virgin Islands: small island territory, not at 110m; {_50M}",
    "VI": f"US Virgin Islands: small island territory, not at 110m; {_50M}",
    # Atlantic and Indian Ocean
    "CV": f"Cabo Verde: small island state, not at 110m; {_50M}",
    "ST": f"Sao Tome and Principe: small island state, not at 110m; {_50M}",
    "SH": f"Saint Helena, Ascension and Tristan da Cunha: small islands, not at 110m; {_50M}",
    "GS": f"South Georgia and the South Sandwich Islands: not at 110m; {_50M}",
    "KM": f"Comoros: small island state, not at 110m; {_50M}",
    "MU": f"Mauritius: small island state, not at 110m; {_50M}",
    "SC": f"Seychelles: small island state, not at 110m; {_50M}",
    "MV": f"Maldives: atoll state, not at 110m; {_50M}",
    "IO": f"British Indian Ocean Territory: atolls, not at 110m; {_50M}",
    "HM": f"Heard Island and McDonald Islands: sub-Antarctic islands, not at 110m; {_50M}",
    # Pacific
    "AS": f"American Samoa: small island territory, not at 110m; {_50M}",
    "CK": f"Cook Islands: small islands, not at 110m; {_50M}",
    "FM": f"Micronesia: small island state, not at 110m; {_50M}",
    "GU": f"Guam: small island territory, not at 110m; {_50M}",
    "KI": f"Kiribati: atoll state, not at 110m; {_50M}",
    "MH": f"Marshall Islands: atoll state, not at 110m; {_50M}",
    "MP": f"Northern Mariana Islands: small island territory, not at 110m; {_50M}",
    "NF": f"Norfolk Island: small island territory, not at 110m; {_50M}",
    "NR": f"Nauru: small island state, not at 110m; {_50M}",
    "NU": f"Niue: small island, not at 110m; {_50M}",
    "PF": f"French Polynesia: small islands, not at 110m; {_50M}",
    "PN": f"Pitcairn Islands: small islands, not at 110m; {_50M}",
    "PW": f"Palau: small island state, not at 110m; {_50M}",
    "TO": f"Tonga: small island state, not at 110m; {_50M}",
    "TV": f"Tuvalu: atoll state, not at 110m; {_50M}",
    "WF": f"Wallis and Futuna: small islands, not at 110m; {_50M}",
    "WS": f"Samoa: small island state, not at 110m; {_50M}",
}
"""GeoIP country codes without a Natural Earth 110m shape, each with the reason.

Every code in `GEOIP_CODES` is either in `country_reference("110m")` or here, never both
(tested). The reasons say which codes have their own shape at 50m; `shapeless_codes("50m")`
is the (smaller) set for the 50m shapes.
"""


def shapeless_codes(resolution: str = "110m") -> dict[str, str]:
    """The codes of `GEOIP_CODES` without a shape at `resolution`, with the reason."""
    _check_resolution(resolution)
    if resolution == "110m":
        return dict(SHAPELESS_CODES)
    return {code: why for code, why in SHAPELESS_CODES.items() if not why.endswith(_50M)}


# ---------------------------------------------------------------------------------------------
# Reading the shapes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    """One Natural Earth admin-0 feature, with its resolved codes."""

    iso_a2: str
    iso_a3: str
    name: str
    continent: str
    label: tuple[float, float] | None  # (lon, lat)
    adm0_a3: str
    geometry: Any  # shapely geometry


def _check_resolution(resolution: str) -> None:
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {RESOLUTIONS}, not {resolution!r}")


def _code(value: Any, pattern: re.Pattern) -> str | None:
    text = str(value or "").strip().upper()
    text = {"CN-TW": "TW"}.get(text, text)
    return text if pattern.fullmatch(text) else None


def _iso_a2(attrs: dict) -> str | None:
    return _code(attrs.get("ISO_A2_EH"), _A2) or _ADM0_A3_TO_ISO_A2.get(attrs["ADM0_A3"])


def _iso_a3(attrs: dict, iso_a2: str) -> str:
    return (
        _ISO_A3_OVERRIDES.get(iso_a2)
        or _code(attrs.get("ISO_A3_EH"), _A3)
        or _code(attrs.get("ADM0_A3"), _A3)
    )


def _label(attrs: dict) -> tuple[float, float] | None:
    try:
        lon, lat = float(attrs["LABEL_X"]), float(attrs["LABEL_Y"])
    except (KeyError, TypeError, ValueError):
        return None
    if (lon, lat) == (0.0, 0.0) or not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return None
    return lon, lat


@functools.lru_cache(maxsize=None)
def _units(resolution: str) -> tuple[_Unit, ...]:
    import shapefile  # pyshp, a cartopy dependency
    from shapely.geometry import shape

    units = []
    with shapefile.Reader(str(shapefile_path(resolution)), encoding="utf-8") as reader:
        for item in reader.iterShapeRecords():
            attrs = item.record.as_dict()
            if attrs["ADM0_A3"] in UNCODED_UNITS:
                continue
            iso_a2 = _iso_a2(attrs)
            if iso_a2 is None:
                raise ValueError(
                    f"{shapefile_path(resolution).name}: no ISO alpha-2 code for "
                    f"{attrs['NAME']!r} (ADM0_A3 {attrs['ADM0_A3']}); extend _ADM0_A3_TO_ISO_A2"
                    " or UNCODED_UNITS"
                )
            units.append(
                _Unit(
                    iso_a2=iso_a2,
                    iso_a3=_iso_a3(attrs, iso_a2),
                    name=attrs["NAME"],
                    continent=attrs["CONTINENT"],
                    label=_label(attrs),
                    adm0_a3=attrs["ADM0_A3"],
                    geometry=shape(item.shape.__geo_interface__),
                )
            )
    return tuple(units)


@functools.lru_cache(maxsize=None)
def _countries(resolution: str) -> tuple[tuple[_Unit, Any], ...]:
    """(main unit, merged geometry) per alpha-2 code, sorted by code."""
    from shapely.ops import unary_union

    groups: dict[str, list[_Unit]] = {}
    for unit in _units(resolution):
        groups.setdefault(unit.iso_a2, []).append(unit)
    out = []
    for code in sorted(groups):
        # Largest area first; ADM0_A3 breaks (improbable) ties, so the choice is deterministic.
        units = sorted(groups[code], key=lambda u: (-u.geometry.area, u.adm0_a3))
        geometries = [unit.geometry for unit in units]
        geometry = geometries[0] if len(geometries) == 1 else unary_union(geometries)
        out.append((units[0], geometry))
    return tuple(out)


def country_reference(resolution: str = "110m") -> pl.DataFrame:
    """One row per alpha-2 code with a Natural Earth shape at `resolution`, sorted by code.

    Columns: iso_a2, iso_a3, name (Natural Earth NAME), continent (Natural Earth CONTINENT),
    lat, lon (Natural Earth's label point, else shapely's representative point).
    """
    _check_resolution(resolution)
    rows = []
    for unit, _geometry in _countries(resolution):
        if unit.label is not None:
            lon, lat = unit.label
        else:
            point = unit.geometry.representative_point()
            lon, lat = point.x, point.y
        rows.append((unit.iso_a2, unit.iso_a3, unit.name, unit.continent, lat, lon))
    return pl.DataFrame(rows, schema=REFERENCE_SCHEMA, orient="row")


def country_geometries(resolution: str = "110m") -> dict[str, Any]:
    """Alpha-2 code -> shapely (Multi)Polygon in lon/lat (WGS 84), same codes as the reference.

    Units sharing a code are merged (CY includes Northern Cyprus, SO includes Somaliland).
    """
    _check_resolution(resolution)
    return {unit.iso_a2: geometry for unit, geometry in _countries(resolution)}
