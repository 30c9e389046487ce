"""Figures drawn from small known aggregates: files, sizes and the drawn data checked in pixels."""

import io
import socket
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.colors import to_rgb
from PIL import Image

from iptables_assets.publish import figures, labels, plotting
from iptables_assets.publish.figures import Site

SITE = Site(name="example.org", map_footer="Geolocation is unreliable. Credits.")


def _pixels(fig) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(plotting.png_bytes(fig))).convert("RGB"))


def _assert_colour(pixels: np.ndarray, xy: tuple[int, int], expected: str, tolerance: int = 3):
    x, y = xy
    got = pixels[y, x].astype(int)
    want = np.array([round(c * 255) for c in to_rgb(expected)])
    assert np.abs(got - want).max() <= tolerance, (xy, got.tolist(), expected)


def _label_position(fig, index: int) -> tuple[float, float]:
    (labels,) = [c for c in fig.axes[0].collections if c.get_gid() == "cell-labels"]
    x, y = labels.get_offsets()[index]
    return float(x), float(y)


def country_totals(counts: dict[str, int]) -> pl.DataFrame:
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return pl.DataFrame({
        "country_code": [c for c, _ in rows],
        "country_name": [f"Country {c}" for c, _ in rows],
        "events": [n for _, n in rows],
        "rank": list(range(1, len(rows) + 1)),
        "top20": [i < 20 for i in range(len(rows))],
    })


def port_totals(counts: dict[int, int]) -> pl.DataFrame:
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return pl.DataFrame({
        "dst_port": [p for p, _ in rows],
        "events": [n for _, n in rows],
        "protocols": [["TCP"]] * len(rows),
        "rank": list(range(1, len(rows) + 1)),
    }).with_columns((pl.col("rank") <= 256).alias("top256"))


def test_ramp_ends_and_grey_for_nothing():
    assert plotting.DROPS_RAMP.colour(0, 100) == plotting.NO_DATA
    assert plotting.DROPS_RAMP.colour(100, 100) == "#e00000"
    assert plotting.PORTS_RAMP.colour(5000, 1000) == "#e00000"  # truncated: top colour
    low = plotting.DROPS_RAMP.colour(1, 10**9)
    assert low == "#300000"


def test_world_map_colours_countries_by_count():
    values = {"BR": 1000, "RU": 250, "US": 500}
    fig = figures.drops_map(country_totals({**values, "??": 9999}), SITE)
    pixels = _pixels(fig)
    assert pixels.shape == (660, 1200, 3)
    for code, count in values.items():
        _assert_colour(pixels, plotting.country_point(code, fig), plotting.DROPS_RAMP.colour(count, 1000))
    _assert_colour(pixels, plotting.country_point("AU", fig), plotting.NO_DATA)  # no data: grey
    _assert_colour(pixels, plotting.country_point("BR", fig), "#E00000")  # the largest gets the top colour


def test_fixed_scale_truncates_and_labels_the_corner():
    fig = plotting.world_map({"BR": 5000, "CN": 500}, title="t", legend="Dropped Packets", vmax=1000, corner="2026-01-02")
    pixels = _pixels(fig)
    _assert_colour(pixels, plotting.country_point("BR", fig), "#E00000")
    _assert_colour(pixels, plotting.country_point("CN", fig), plotting.DROPS_RAMP.colour(500, 1000))
    assert "2026-01-02" in [t.get_text() for t in fig.texts]


def test_port_maps_count_only_their_port():
    daily = pl.DataFrame({
        "day": [date(2026, 1, 1)] * 4,
        "country_code": ["CN", "US", "CN", "BR"],
        "dst_port": [22, 22, 445, 23],
        "events": [40, 10, 7, 3],
    })
    totals = figures.country_port_totals(daily, [22, 23, 445])
    fig = figures.port_map(totals, 22, SITE)
    assert fig._suptitle.get_text() == "example.org: IPTables: INPUT Table Packet Drops (Port 22: ssh)"
    pixels = _pixels(fig)
    _assert_colour(pixels, plotting.country_point("CN", fig), "#E00000")
    _assert_colour(pixels, plotting.country_point("US", fig), plotting.DROPS_RAMP.colour(10, 40))
    _assert_colour(pixels, plotting.country_point("BR", fig), plotting.NO_DATA)
    assert figures.port_map(totals, 445, SITE)._suptitle.get_text().endswith("(Port 445: microsoft-ds)")
    assert figures.port_map(totals, 23, SITE)._suptitle.get_text().endswith("(Port 23: telnet)")


def test_scan_maps_use_their_detector_and_unique_ip_legend():
    summary = pl.DataFrame({
        "detector": ["daily", "longterm", "daily", "longterm", "longterm"],
        "country_code": ["all", "all", "CN", "CN", "RU"],
        "scanning_addresses": [3, 5, 3, 1, 4],
    })
    fig = figures.scanners_map(summary, "longterm", SITE)
    assert "paranoid" in fig._suptitle.get_text()
    assert fig.axes[1].get_ylabel() == "Unique IPs"
    pixels = _pixels(fig)
    _assert_colour(pixels, plotting.country_point("RU", fig), "#E00000")
    _assert_colour(pixels, plotting.country_point("CN", fig), plotting.DROPS_RAMP.colour(1, 4))


def test_well_known_tile_cells_carry_their_port_and_colour():
    counts = {22: 800, 23: 400, 80: 200, 5000: 999}
    fig = figures.well_known_ports_tile(port_totals(counts), SITE)
    assert plotting.cell_labels(fig) == [str(p) for p in range(1024)]  # every cell labelled, in port order
    assert _label_position(fig, 22) == (22 % 32, 22 // 32)
    pixels = _pixels(fig)
    _assert_colour(pixels, plotting.tile_cell(fig, 22, 32), "#E00000")  # 5000 is not on this tile
    _assert_colour(pixels, plotting.tile_cell(fig, 23, 32), plotting.PORTS_RAMP.colour(400, 800))
    _assert_colour(pixels, plotting.tile_cell(fig, 21, 32), plotting.NO_DATA)
    # the label is drawn inside its cell: white glyph pixels on the data cell, dark grey on an empty one
    x, y = plotting.tile_cell(fig, 22, 32)
    cell = pixels[y:y + 40, x:x + 40].reshape(-1, 3).astype(int)
    assert (cell.min(axis=1) > 200).sum() > 15
    x, y = plotting.tile_cell(fig, 21, 32)
    cell = pixels[y:y + 40, x:x + 40].reshape(-1, 3).astype(int)
    assert (cell.max(axis=1) < 120).sum() > 15
    _assert_colour(pixels, plotting.tile_cell(fig, 1023, 32), plotting.NO_DATA)


def test_truncated_tile_caps_at_1000():
    counts = {22: 50_000, 23: 1000, 25: 500}
    fig = figures.well_known_ports_tile(port_totals(counts), SITE, truncate_at=1000)
    assert fig._suptitle.get_text().endswith("(truncated at 1,000)")
    pixels = _pixels(fig)
    _assert_colour(pixels, plotting.tile_cell(fig, 22, 32), "#E00000")
    _assert_colour(pixels, plotting.tile_cell(fig, 23, 32), "#E00000")
    _assert_colour(pixels, plotting.tile_cell(fig, 25, 32), plotting.PORTS_RAMP.colour(500, 1000))


def test_top_ports_are_the_256_most_dropped_in_port_order():
    counts = {port: 1000 + port for port in range(0, 3000, 10)}  # 300 ports, the highest are the top
    totals = port_totals(counts)
    top = figures.top_ports(totals)
    assert len(top) == 256 and top == sorted(top) and top[0] == 440 and top[-1] == 2990
    tile = figures.top_ports_tile(totals, SITE)
    assert plotting.cell_labels(tile) == [str(p) for p in top]
    assert _label_position(tile, 17) == (1, 1)  # 16 columns
    chart = figures.top_ports_chart(totals, SITE)
    heights = [bar.get_height() for bar in chart.axes[0].patches]
    assert heights == [counts[p] for p in top]


def test_top_countries_chart_is_descending_top_20():
    counts = {code: 100 + i for i, code in enumerate(["AR", "BR", "CN", "DE", "ES", "FR", "GB", "HK", "IN", "JP",
                                                     "KR", "LT", "MX", "NL", "PL", "RU", "SE", "TW", "US", "VN",
                                                     "ZA", "ZW"])}
    fig = figures.top_countries_chart(country_totals(counts), SITE)
    ax = fig.axes[0]
    widths = [bar.get_width() for bar in ax.patches]
    assert len(widths) == 20 and widths == sorted(widths, reverse=True)
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "Country ZW"  # the largest, on top
    assert ax.yaxis_inverted()


def test_timeline_has_one_line_per_country_and_the_configured_y_range():
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(5)]
    series = pl.DataFrame({
        "day": days * 2,
        "country_code": ["CN"] * 5 + ["US"] * 5,
        "country_name": ["China"] * 5 + ["United States"] * 5,
        "rank": [1] * 5 + [2] * 5,
        "events": [10, 20, 30, 40, 50, 1, 2, 3, 4, 20_000],
    })
    fig = figures.top_countries_timeline(series, SITE, ymax=10_000)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["China", "United States"]
    assert list(ax.get_lines()[0].get_ydata()) == [10, 20, 30, 40, 50]
    assert ax.get_ylim() == (0, 10_000)
    assert any("cut at 10,000" in t.get_text() for t in ax.texts)
    fitted = figures.top_countries_timeline(series, SITE, ymax=None).axes[0]
    assert fitted.get_ylim()[1] >= 20_000


def test_empty_history_still_draws_every_figure():
    empty_countries = country_totals({})
    empty_ports = port_totals({})
    for fig in (
        figures.drops_map(empty_countries, SITE),
        figures.top_countries_chart(empty_countries, SITE),
        figures.well_known_ports_tile(empty_ports, SITE),
        figures.top_ports_chart(empty_ports, SITE),
    ):
        assert len(plotting.png_bytes(fig)) > 1000


def test_rendering_needs_no_network(monkeypatch):
    """Maps draw from the bundled shapes: any socket connection or cartopy download fails the test."""
    import cartopy.io

    def refuse(*args, **kwargs):
        raise AssertionError("network access while rendering")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(cartopy.io.Downloader, "acquire_resource", refuse)
    plotting._projected_countries.cache_clear()
    for resolution in ("110m", "50m"):
        fig = plotting.world_map({"FR": 3}, title="t", legend="Dropped Packets", resolution=resolution)
        assert len(plotting.png_bytes(fig)) > 10_000


def test_preview_is_small():
    fig = figures.well_known_ports_tile(port_totals({p: p for p in range(1024)}), SITE)
    png = plotting.png_bytes(fig)
    preview = plotting.preview_png(png)
    assert len(preview) < 60_000 < len(png)
    assert Image.open(io.BytesIO(preview)).width == 420


@pytest.mark.parametrize("port,label", [(22, "Port 22: ssh"), (445, "Port 445: microsoft-ds"), (65000, "Port 65000")])
def test_port_labels(port, label):
    assert figures.port_label(port) == label


@settings(max_examples=200, deadline=None)
# Letters, digits, marks and symbols (matplotlib makes no TextPath of spaces alone, and fails on a
# lone format character such as a soft hyphen: an error of matplotlib's, not of the extents).
@given(text=st.text(st.characters(codec="latin-1", exclude_categories=("Cc", "Cf", "Cs", "Z")), min_size=1,
                    max_size=12),
       size=st.floats(2, 40))
def test_label_extents_are_matplotlibs_to_the_bit(text, size):
    from matplotlib.path import Path
    from matplotlib.textpath import TextPath

    path = TextPath((0, 0), text, size=size)
    assert labels.path_extents(path) == tuple(path.get_extents().extents)
    circle = Path.circle((1, 2), 3)  # cubic curves: matplotlib's own answer
    assert labels.path_extents(circle) == tuple(circle.get_extents().extents)
