"""Animation frames (one PNG per day, one fixed colour scale) and their assembly into GIFs.

A frame depends on its day's counts only (plus, for the top-256 tile, the whole-history port
list), so adding a day renders one new frame. Frames are quantised to one fixed palette (the
colour ramp, the greys and the text colours) before they are written, so a frame's pixels do
not depend on the other frames and re-rendering one day changes only that frame of the GIF.
"""

from __future__ import annotations

import functools
import hashlib
import io
from datetime import date
from typing import Iterator, Mapping, Sequence

import numpy as np
from matplotlib.colors import to_rgb
from PIL import Image

from iptables_assets.publish import plotting
from iptables_assets.publish.figures import Site

FRAMES_PER_SECOND = 5
FRAME_MS = 1000 // FRAMES_PER_SECOND


PNG_LEVEL = 3  # zlib level of the frame PNGs (see _png)
PORTS_KEY = "iptables_assets:top_ports"  # PNG text chunk: which port list a top-ports frame shows


def ports_key(ports: Sequence[int]) -> str:
    """A short fingerprint of a port list (stored in top-ports frames to spot stale ones)."""
    return hashlib.sha256(",".join(map(str, ports)).encode()).hexdigest()[:16]


def frame_text(png: bytes) -> dict[str, str]:
    """The text chunks of a frame PNG."""
    with Image.open(io.BytesIO(png)) as image:
        return dict(getattr(image, "text", {}) or {})


def map_frame(counts: Mapping[str, int], day: date, site: Site, vmax: int, resolution: str = "110m"):
    """The world map of one day's drops per country on the fixed scale 0..`vmax`."""
    return plotting.world_map(
        counts,
        title=f"{site.drops} GeoIP Lookup",
        legend="Dropped Packets",
        footer=site.map_footer,
        vmax=vmax,
        corner=day.isoformat(),
        resolution=resolution,
        size=(10, 5.6),
    )


def tile_frame(counts: Mapping[int, int], ports: Sequence[int], day: date, site: Site, vmax: int, top: bool):
    """The port tile of one day (0-1023 on 32x32, or the top-256 list on 16x16), fixed scale."""
    if top:
        title, columns, cell = f"{site.name}: IPTables Top {len(ports)} Commonly Filtered Destination Ports", 16, 0.5
    else:
        title, columns, cell = f"{site.name}: IPTables Filtered Non-Ephemeral Destination Ports", 32, 0.3
    return plotting.port_tile(counts, ports, columns=columns, title=title, vmax=vmax, corner=day.isoformat(),
                              cell_inches=cell)


def frame_png(figure, text: Mapping[str, str] | None = None) -> bytes:
    """A drawn frame as a palette PNG on the fixed palette, with `text` chunks."""
    return quantised_png(plotting.rgb_image(figure), text)


# ---------------------------------------------------------------------------------------------
# Fixed palette
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _palette_image() -> Image.Image:
    """A 256-colour palette: both ramps in 96 steps each, greys from black to white, the fixed
    colours of the figures; every frame is mapped onto it."""
    colours: list[tuple[float, float, float]] = []
    for ramp in (plotting.DROPS_RAMP, plotting.PORTS_RAMP):
        colours += [ramp.cmap(x)[:3] for x in np.linspace(0, 1, 96)]
    colours += [(g, g, g) for g in np.linspace(0, 1, 48)]
    colours += [to_rgb(c) for c in (plotting.NO_DATA, plotting.TEXT_ON_EMPTY, "#A0A0A0", "#808080")]
    # Blends of the map's grey and the ramp (country borders, anti-aliased edges) fill the rest.
    grey = np.array(to_rgb(plotting.NO_DATA))
    while len(colours) < 256:
        t = (len(colours) - 244) / 12
        colours.append(tuple(grey * (1 - t) + np.array(to_rgb("#E00000")) * t))
    flat = [int(round(channel * 255)) for colour in colours[:256] for channel in colour]
    palette = Image.new("P", (1, 1))
    palette.putpalette(flat)
    return palette


def quantised_png(image: Image.Image, text: Mapping[str, str] | None = None) -> bytes:
    """An RGB image mapped onto the fixed palette (no dithering), as a palette PNG with `text` chunks."""
    return _png(image.quantize(palette=_palette_image(), dither=Image.Dither.NONE), text)


def palette_indices(rgb: np.ndarray) -> np.ndarray:
    """Palette indices of 8-bit RGB pixels (..., 3), as `quantised_png` maps them (per colour, anywhere)."""
    if rgb.size == 0:
        return np.zeros(rgb.shape[:-1], np.uint8)
    pixels = np.ascontiguousarray(rgb, dtype=np.uint8)
    if pixels.ndim != 3:
        pixels = pixels.reshape(1, -1, 3)
    mapped = Image.fromarray(pixels).quantize(palette=_palette_image(), dither=Image.Dither.NONE)
    return np.asarray(mapped).reshape(rgb.shape[:-1])


def palette_png(indices: np.ndarray, text: Mapping[str, str] | None = None) -> bytes:
    """A 2-D array of indices into the fixed palette as a palette PNG with `text` chunks."""
    image = Image.fromarray(np.ascontiguousarray(indices, dtype=np.uint8))
    image.putpalette(_palette_image().getpalette())
    return _png(image, text)


def _png(mapped: Image.Image, text: Mapping[str, str] | None) -> bytes:
    """A palette image as PNG bytes with `text` chunks, at a level a recoloured frame can afford."""
    # zlib level 3: ~5 ms a frame, ~20 % larger than optimize=True (50-80 ms, more than the rest of a frame)
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    mapped.save(buffer, format="PNG", compress_level=PNG_LEVEL, pnginfo=info)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# GIF
# ---------------------------------------------------------------------------------------------


def assemble_gif(frames: Sequence[bytes], frame_ms: int = FRAME_MS) -> bytes:
    """The frames (PNG bytes, all one size, in order) as a GIF looping forever, written as their
    indices into the one fixed palette so nothing is re-quantised and each frame stays its own."""
    # Pillow, not imageio, on purpose (benchmarks/gif_benchmark.py, 30 frames, median of 3 runs):
    # imageio's v3 API can write these frames without re-quantising them,
    #   iio.imwrite("<bytes>", [np.asarray(i) for i in images], extension=".gif", plugin="pillow",
    #               mode="P", palette=<the fixed palette>, optimize=True, duration=frame_ms, loop=0)
    # with the same decoded frames, durations and looping (and ~12 % smaller: Pillow called like
    # this repeats the palette as a local colour table on every later frame), but it wrote 32 and
    # 28 frames/s (map, port tile) where this wrote 280 and 153. imageio's frames come from arrays,
    # without a palette, so it must be passed as `palette`, and Pillow's GIF writer then builds a
    # remap table for every frame in Python (GifImagePlugin._normalize_palette, ~38 ms a frame).
    # Without `palette` the colours are wrong; without `optimize=True` (a `palette` turns Pillow's
    # default off) no unchanged pixel is made transparent and the GIF is ~4.5x larger.
    # The frames are decoded one at a time as Pillow's writer asks for them: it keeps its own copy
    # of each until it writes, so a list of decoded frames beside it would double the memory of a
    # long film (a year of the 0-1023 tile: ~1.3 MB a frame).
    if not frames:
        raise ValueError("an animation needs at least one frame")
    first = _on_fixed_palette(frames[0])

    def the_rest() -> Iterator[Image.Image]:
        for png in frames[1:]:
            image = _on_fixed_palette(png)
            if image.size != first.size:
                raise ValueError(f"frames differ in size: {sorted({first.size, image.size})}")
            yield image

    buffer = io.BytesIO()
    first.save(buffer, format="GIF", save_all=True, append_images=the_rest(), duration=frame_ms, loop=0)
    return buffer.getvalue()


def _on_fixed_palette(png: bytes) -> Image.Image:
    """A frame as a palette image on the fixed palette (remapped if it was stored otherwise)."""
    fixed = _palette_image().getpalette()
    image = Image.open(io.BytesIO(png))
    image.load()
    if image.mode == "P" and image.getpalette() == fixed:
        return image
    mapped = image.convert("RGB").quantize(palette=_palette_image(), dither=Image.Dither.NONE)
    mapped.putpalette(fixed)
    return mapped
