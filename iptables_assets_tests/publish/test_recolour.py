"""Recoloured animation frames against the same frames drawn by matplotlib from scratch.

Tolerance: the recoloured frame is computed per pixel from renders of the static part; pixels
wholly inside a country, a cell or the background, and the date, come out exactly as matplotlib
draws them, and so do the tiles' label glyphs (blended with Agg's own integer formula): tile
frames are pixel-identical. The map's antialiased edges (coasts, borders between countries) are
blends of several drawing steps that the recolouring computes in floating point where Agg
blends step by step in 8-bit integers, so they differ by a level or so before quantising, and
the fixed 256-colour palette sometimes turns that level into a neighbouring palette colour (up
to ~200 levels apart: the palette has few colours between grey and red). So for maps: the same
size, every differing pixel an antialiased edge pixel of the template, at most 0.5 % of the
pixels differing (measured ~0.2-0.3 %) and a mean difference under 0.1 of a level (~0.015).
"""

import io
from datetime import date, timedelta

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

from iptables_assets.enrich import countries
from iptables_assets.publish import animation, glyphs, plotting, recolour
from iptables_assets.publish.catalog import FILMS, TEMPLATE_DAY, Look, draw_frame, film_template, render_frame
from iptables_assets.publish.figures import Site

SITE = Site(name="example.org", map_footer="Geolocation is unreliable. Credits.")
LOOK = Look(site=SITE, truncate_at=1000)
DAY = date(2026, 1, 2)
TOP = (22, 23, 80, 443, 3389, 8080, *range(9000, 9250))
MAX_DIFFERING_SHARE = 0.005
MAX_MEAN_DIFFERENCE = 0.1


def _rgb(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _palette_colour(rgb) -> np.ndarray:
    """The fixed palette's colour an 8-bit RGB colour is mapped onto."""
    palette = np.array(animation._palette_image().getpalette()).reshape(-1, 3)
    return palette[animation.palette_indices(np.array([rgb], np.uint8))[0]]


def _drawn(ramp: plotting.Ramp, value: float) -> np.ndarray:
    """A country's colour: `Ramp.colour` (hex, rounded) on the frames' scale."""
    return np.round(np.array(to_rgb(ramp.colour(value, 1000))) * 255)


def _cell(value: float) -> np.ndarray:
    """A tile cell's colour as imshow draws it: the colour map's bytes (truncated, not rounded)."""
    return plotting.PORTS_RAMP.cmap(plotting.scale_norm(1000)(min(value, 1000)), bytes=True)[:3]


def _known_counts(name: str) -> dict:
    """Counts over the whole scale, for every other country or port."""
    rng = np.random.default_rng(14)
    if name == "drops_map":
        codes = sorted(countries.country_geometries("110m"))[::2]
        return {code: int(rng.integers(1, 1500)) for code in codes}
    ports = range(0, 1024, 2) if name == "well_known_ports" else TOP[::2]
    return {port: int(rng.integers(1, 1500)) for port in ports}


def _template(name: str, top=TOP, look=LOOK) -> recolour.Template:
    return film_template(FILMS[name], look, top)


def _edge_pixels(name: str, top=TOP, look=LOOK) -> np.ndarray:
    """The template's blended (antialiased) pixels, as a boolean image."""
    template = _template(name, top, look)
    mask = np.zeros(template.shape[0] * template.shape[1], bool)
    mask[template.mixed_pos] = True
    return mask.reshape(template.shape)


@pytest.mark.parametrize(("name", "resolution"), [(name, "110m") for name in FILMS] + [("drops_map", "50m")])
def test_recoloured_frame_matches_the_matplotlib_frame(name, resolution):
    counts, look = _known_counts(name), Look(site=SITE, truncate_at=1000, resolution=resolution)
    new, old = (_rgb(f(FILMS[name], counts, DAY, look, TOP)) for f in (render_frame, draw_frame))
    assert new.shape == old.shape
    differing = np.abs(new - old).max(axis=2) > 0
    assert not (differing & ~_edge_pixels(name, TOP, look)).any()  # interiors, static parts, date: exact
    assert differing.mean() < MAX_DIFFERING_SHARE
    assert np.abs(new - old).mean() < MAX_MEAN_DIFFERENCE
    if name != "drops_map":
        assert np.array_equal(new, old)  # tiles: pixel-identical


def test_map_colours_at_known_countries_are_exact():
    counts = {"BR": 500, "CN": 2000, "US": 1, "??": 700, "ZZ": 9}  # unknown codes: not on the map
    png = render_frame(FILMS["drops_map"], counts, DAY, LOOK)
    new, old = _rgb(png), _rgb(draw_frame(FILMS["drops_map"], counts, DAY, LOOK))
    figure = animation.map_frame(counts, DAY, SITE, 1000)
    expected = {"BR": _drawn(plotting.DROPS_RAMP, 500), "CN": _drawn(plotting.DROPS_RAMP, 1000),
                "US": _drawn(plotting.DROPS_RAMP, 1), "AU": np.array([211, 211, 211])}
    for code, colour in expected.items():
        x, y = plotting.country_point(code, figure)
        assert list(new[y, x]) == list(_palette_colour(colour)) == list(old[y, x]), code
    assert png == render_frame(FILMS["drops_map"], {"BR": 500, "CN": 2000, "US": 1}, DAY, LOOK)


@pytest.mark.parametrize("name", ["well_known_ports", "top_ports"])
def test_tile_colours_at_known_cells_are_exact(name):
    ports = list(range(1024)) if name == "well_known_ports" else list(TOP)
    columns = 32 if name == "well_known_ports" else 16
    counts = {22: 250, 23: 5000, 443: 1}
    new = _rgb(render_frame(FILMS[name], counts, DAY, LOOK, TOP))
    old = _rgb(draw_frame(FILMS[name], counts, DAY, LOOK, TOP))
    figure = animation.tile_frame(counts, ports, DAY, SITE, 1000, top=name == "top_ports")
    for port, colour in ((22, _cell(250)), (23, _cell(5000)), (443, _cell(1)), (80, (211, 211, 211))):
        x, y = plotting.tile_cell(figure, ports.index(port), columns)
        assert list(new[y, x]) == list(_palette_colour(colour)) == list(old[y, x]), port


@pytest.mark.parametrize("name", list(FILMS))
def test_empty_day_is_all_grey_with_its_date(name):
    day = date(2027, 12, 31)
    new = _rgb(render_frame(FILMS[name], {}, day, LOOK, TOP))
    old = _rgb(draw_frame(FILMS[name], {}, day, LOOK, TOP))
    assert new.shape == old.shape
    assert not ((np.abs(new - old).max(axis=2) > 0) & ~_edge_pixels(name)).any()
    assert name == "drops_map" or np.array_equal(new, old)
    box = _template(name).stamp.box
    assert np.array_equal(new[box], old[box]) and (new[box] != new[box][0, 0]).any()  # the date, drawn


def test_counts_over_the_cap_give_the_frame_of_the_cap():
    for name, key in (("drops_map", "CN"), ("well_known_ports", 22), ("top_ports", 443)):
        capped = render_frame(FILMS[name], {key: 1000}, DAY, LOOK, TOP)
        assert render_frame(FILMS[name], {key: 98765}, DAY, LOOK, TOP) == capped
        assert render_frame(FILMS[name], {key: 500}, DAY, LOOK, TOP) != capped


def test_unknown_codes_and_ports_change_nothing():
    assert render_frame(FILMS["drops_map"], {"??": 50, "ZZ": 3}, DAY, LOOK) == render_frame(
        FILMS["drops_map"], {}, DAY, LOOK)
    assert render_frame(FILMS["top_ports"], {1: 50}, DAY, LOOK, TOP) == render_frame(
        FILMS["top_ports"], {}, DAY, LOOK, TOP)
    assert render_frame(FILMS["well_known_ports"], {65000: 7}, DAY, LOOK) == render_frame(
        FILMS["well_known_ports"], {}, DAY, LOOK)


def test_the_static_part_is_kept_per_port_list():
    film = FILMS["top_ports"]
    shorter = (22, 443, 5555, *range(7000, 7100))  # a changed whole-history list, 103 ports
    assert film_template(film, LOOK, list(TOP)) is film_template(film, LOOK, TOP)
    assert film_template(film, LOOK, shorter) is not film_template(film, LOOK, TOP)
    wk = FILMS["well_known_ports"]
    assert film_template(wk, LOOK, shorter) is film_template(wk, LOOK, TOP)  # no port list of its own
    counts = {5555: 600, 7099: 1, 80: 900}  # 80: not in the shorter list
    for ports in (TOP, shorter, TOP):
        png = render_frame(film, counts, DAY, LOOK, ports)
        assert np.array_equal(_rgb(png), _rgb(draw_frame(film, counts, DAY, LOOK, ports)))
        assert animation.frame_text(png)[animation.PORTS_KEY] == animation.ports_key(ports)
    figure = animation.tile_frame(counts, shorter, DAY, SITE, 1000, top=True)
    x, y = plotting.tile_cell(figure, shorter.index(5555), 16)
    assert list(_rgb(render_frame(film, counts, DAY, LOOK, shorter))[y, x]) == list(_palette_colour(_cell(600)))


def test_a_top_list_without_ports_still_makes_frames():
    film = FILMS["top_ports"]
    assert np.array_equal(_rgb(render_frame(film, {}, DAY, LOOK, ())), _rgb(draw_frame(film, {}, DAY, LOOK, ())))


def test_date_stamp_spells_every_day_of_a_year_as_matplotlib_draws_it():
    for name in FILMS:
        stamp = _template(name).stamp
        assert stamp.exact, name
        for offset in range(0, 366, 1 if name == "drops_map" else 7):
            label = (date(2028, 1, 1) + timedelta(days=offset)).isoformat()
            assert np.array_equal(stamp._stamped(label), stamp._draw(label)), (name, label)


def test_date_stamp_draws_labels_it_cannot_spell(monkeypatch):
    monkeypatch.setattr(glyphs, "_columns", lambda renders, labels: None)  # as if glyphs overlapped
    figure = FILMS["drops_map"].draw({}, TEMPLATE_DAY, LOOK, ())
    template = recolour.template(figure, "countries")
    assert not template.stamp.exact
    new = _rgb(template.frame({}, DAY.isoformat()))
    old = _rgb(draw_frame(FILMS["drops_map"], {}, DAY, LOOK))
    assert np.array_equal(new[template.stamp.box], old[template.stamp.box])
