"""Animation frames and GIFs: pixels of known days, frame order and timing, one-frame updates."""

import io
import shutil
from datetime import date, timedelta

import dagster as dg
import imageio.v3 as iio
import numpy as np
import polars as pl
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

import graph
from iptables_assets import storage
from iptables_assets.publish import animation, plotting
from iptables_assets.publish.catalog import FILMS, Look, render_frame
from iptables_assets.publish.figures import Site

pytestmark = pytest.mark.xdist_group("journal_run")

SITE = Site(name="example.org", map_footer="Geolocation is unreliable. Credits.")
DAY = date(2026, 1, 2)
TOLERANCE = 10  # frames are mapped onto a fixed 256-colour palette


def _rgb(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _close(pixel, colour: str) -> bool:
    return np.abs(pixel - np.array([round(c * 255) for c in to_rgb(colour)])).max() <= TOLERANCE


def _frame(name: str, counts: dict, day: date, site: Site, vmax: int, top_ports=()) -> bytes:
    """A frame of film `name` as the frames assets draw it."""
    return render_frame(FILMS[name], counts, day, Look(site=site, truncate_at=vmax), top_ports)


def _figure_of(name: str, counts: dict, top=()):
    """The matplotlib figure a frame is drawn from (for pixel positions)."""
    if name == "drops_map":
        return animation.map_frame(counts, DAY, SITE, 1000)
    return animation.tile_frame(counts, top or range(1024), DAY, SITE, 1000, top=bool(top))


def test_map_frame_uses_the_fixed_scale():
    counts = {"BR": 500, "CN": 2000}
    png = _frame("drops_map", counts, DAY, SITE, 1000)
    pixels, fig = _rgb(png), _figure_of("drops_map", counts)
    x, y = plotting.country_point("BR", fig)
    assert _close(pixels[y, x], plotting.DROPS_RAMP.colour(500, 1000))
    x, y = plotting.country_point("CN", fig)
    assert _close(pixels[y, x], "#E00000")  # over the cap: the top colour
    x, y = plotting.country_point("AU", fig)
    assert _close(pixels[y, x], plotting.NO_DATA)
    assert DAY.isoformat() in [t.get_text() for t in fig.texts]


def test_tile_frames_colour_their_ports_and_keep_one_size():
    counts = {22: 250, 23: 5000}
    png = _frame("well_known_ports", counts, DAY, SITE, 1000)
    pixels, fig = _rgb(png), _figure_of("well_known_ports", counts)
    x, y = plotting.tile_cell(fig, 22, 32)
    assert _close(pixels[y, x], plotting.PORTS_RAMP.colour(250, 1000))
    x, y = plotting.tile_cell(fig, 23, 32)
    assert _close(pixels[y, x], "#E00000")
    x, y = plotting.tile_cell(fig, 24, 32)
    assert _close(pixels[y, x], plotting.NO_DATA)
    empty = _frame("well_known_ports", {}, DAY + timedelta(days=1), SITE, 1000)
    assert _rgb(empty).shape == pixels.shape
    top = [22, 23, 80, 443, 8080]
    top_png = _frame("top_ports", {443: 1000}, DAY, SITE, 1000, top_ports=top)
    tile = _figure_of("top_ports", {443: 1000}, top)
    x, y = plotting.tile_cell(tile, 3, 16)
    assert _close(_rgb(top_png)[y, x], "#E00000")
    assert animation.frame_text(top_png)[animation.PORTS_KEY] == animation.ports_key(top)


def test_frames_are_deterministic():
    counts = {"FR": 10}
    assert _frame("drops_map", counts, DAY, SITE, 1000) == _frame(
        "drops_map", counts, DAY, SITE, 1000
    )


def test_gif_has_every_frame_in_order_at_five_per_second():
    days = [DAY + timedelta(days=i) for i in range(4)]
    frames = [_frame("drops_map", {"US": 250 * (i + 1)}, d, SITE, 1000) for i, d in enumerate(days)]
    gif = animation.assemble_gif(frames)
    decoded = iio.imread(gif, index=None, plugin="pillow", mode="RGB")
    assert decoded.shape[0] == 4
    for frame, png in zip(decoded, frames):
        assert np.array_equal(frame.astype(int), _rgb(png))  # exact, in order
    with Image.open(io.BytesIO(gif)) as image:
        assert image.n_frames == 4 and image.info["loop"] == 0
        durations = []
        for index in range(image.n_frames):
            image.seek(index)
            durations.append(image.info["duration"])
    assert durations == [200] * 4
    with pytest.raises(ValueError, match="differ in size"):
        animation.assemble_gif([frames[0], _frame("well_known_ports", {}, DAY, SITE, 1000)])


# --- through Dagster, on the 45-day run's outputs ---------------------------------------------------


def _gif_frames(path) -> np.ndarray:
    return iio.imread(path, index=None, plugin="pillow", mode="RGB")


@pytest.fixture
def run_copy(journal_run, tmp_path):
    out, truth, _stdout = journal_run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    return copy, truth


def _materialize(out, selection, **kwargs):
    defs = graph.definitions(out, out)
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    result = graph.materialize(assets, selection=selection, resources=defs.resources, days=graph.stored_days(out),
                               **kwargs)
    assert result.success
    return result


def test_run_made_one_frame_per_day_and_the_gifs(journal_run):
    out, truth, _stdout = journal_run
    for name in FILMS:
        frames = sorted(p.stem for p in (out / "journal" / "frames" / name).glob("*.png"))
        assert frames == truth["days"], name
        decoded = _gif_frames(out / "journal" / "animations" / f"{name}.gif")
        assert decoded.shape[0] == len(truth["days"])
    assert (out / "journal" / "animations" / "drops_map.gif").stat().st_size < 20e6 * len(truth["days"]) / 365


def test_rematerialising_one_day_changes_only_that_frame(run_copy):
    out, truth = run_copy
    day = truth["days"][10]
    before = _gif_frames(out / "journal" / "animations" / "drops_map.gif")
    counts = pl.read_parquet(out / "daily_country_counts" / f"{day}.parquet")
    # as a re-materialisation would store it (a hand edit would be caught as damaged data)
    storage.write_parquet(out / "daily_country_counts" / f"{day}.parquet",
                          counts.with_columns(pl.lit(5000, dtype=pl.Int64).alias("events")))
    _materialize(out, ["drops_map_frames"], partition_key=day)
    _materialize(out, ["drops_map_animation"])
    after = _gif_frames(out / "journal" / "animations" / "drops_map.gif")
    changed = [i for i in range(len(before)) if not np.array_equal(before[i], after[i])]
    assert changed == [10]


def test_missing_day_is_an_empty_frame_and_stale_top_ports_are_flagged(run_copy):
    out, truth = run_copy
    missing = truth["days"][5]
    (out / "journal" / "frames" / "top_ports" / f"{missing}.png").unlink()
    totals = pl.read_parquet(out / "port_totals.parquet")
    # a different whole-history top-256: the stored frames were drawn with the old list
    storage.write_parquet(out / "port_totals.parquet", totals.with_columns(pl.col("dst_port").reverse()))
    result = _materialize(out, ["top_ports_animation"])
    (materialisation,) = result.asset_materializations_for_node("top_ports_animation")
    assert materialisation.metadata["frames"].value == len(truth["days"])
    assert materialisation.metadata["days_drawn_empty_without_frame"].value == [missing]
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "frames_use_current_top_ports"]
    assert not check.passed and check.metadata["stale_frames"].value == len(truth["days"]) - 1


def test_imageio_writes_the_same_gif_playback_but_pillow_is_kept():
    """The imageio call assemble_gif's comment describes (kept out for speed, see
    benchmarks/gif_benchmark.py) plays exactly like assemble_gif's GIF: same decoded frames,
    durations and looping, no re-quantising (frame 0's indices and palette are the inputs')."""
    frames = [_frame("well_known_ports", {22: 300 * i, 23: 900 - 200 * i}, DAY + timedelta(days=i),
                                     SITE, 1000) for i in range(3)]
    frames.append(frames[-1])  # a repeated frame: both writers merge it into the previous one
    indices = [np.asarray(animation._on_fixed_palette(f)) for f in frames]
    palette = bytes(animation._palette_image().getpalette())
    via_imageio = iio.imwrite("<bytes>", indices, extension=".gif", plugin="pillow", mode="P",
                              palette=palette, optimize=True, duration=animation.FRAME_MS, loop=0)
    via_pillow = animation.assemble_gif(frames)

    def playback(gif):
        with Image.open(io.BytesIO(gif)) as image:
            first, colours = np.asarray(image), image.getpalette()
            durations = []
            for index in range(image.n_frames):
                image.seek(index)
                durations.append(image.info["duration"])
            return _gif_frames(gif), durations, image.info["loop"], first, colours

    new, old = playback(via_imageio), playback(via_pillow)
    assert np.array_equal(new[0], old[0]) and new[0].shape[0] == 3
    assert new[1:3] == old[1:3] == ([200, 200, 400], 0)
    assert np.array_equal(new[3], indices[0]) and new[4] == list(palette)
