"""GIF assembly: Pillow called directly (the package's `assemble_gif`) against imageio's v3 API
(pillow plugin) writing the same palette indices, on the same rendered frames.

    .venv/bin/python benchmarks/gif_benchmark.py [--days 30] [--runs 3]

Renders `--days` frames of the drops map and of the 0-1023 port tile once (cached in
benchmarks/_work/gif_benchmark/), then prints frames assembled per second for both writers
(median of `--runs`), the GIF sizes, and whether every decoded frame, the frame durations and
the looping are identical.
"""

from __future__ import annotations

import argparse
import io
from datetime import date, timedelta
from typing import Sequence

import imageio.v3 as iio
import numpy as np
from PIL import Image

from harness import WORK as WORK_ROOT, timed
from iptables_assets.publish import animation
from iptables_assets.publish.catalog import FILMS, Look, render_frame
from iptables_assets.publish.figures import Site

WORK = WORK_ROOT / "gif_benchmark"
SITE = Site(name="example.org", map_footer="Geolocation is unreliable. Credits.")
LOOK = Look(site=SITE, truncate_at=1000)  # the frames' fixed colour scale tops out at 1000
FIRST = date(2026, 1, 1)


def imageio_gif(frames: Sequence[bytes], frame_ms: int = animation.FRAME_MS) -> bytes:
    """The GIF through imageio: the frames' palette indices as arrays, the fixed palette passed
    to Pillow's GIF writer (`optimize=True` because a `palette` turns its default off)."""
    indices = [np.asarray(animation._on_fixed_palette(f)) for f in frames]
    palette = bytes(animation._palette_image().getpalette())
    return iio.imwrite("<bytes>", indices, extension=".gif", plugin="pillow", mode="P", palette=palette,
                       optimize=True, duration=frame_ms, loop=0)


def counts(name: str, day: int) -> dict:
    """Made-up counts that change every day, so every frame differs from the one before."""
    if name == "drops_map":
        return {"US": 40 * day, "CN": 1200 - 35 * day, "BR": 17 * day, "RU": (day * 97) % 1000, "IN": 300}
    return {22: 30 * day, 23: 1100 - 30 * day, 445: (day * 61) % 1000, 80 + day: 500, 3389 % 1024: 200}


def frames(name: str, days: int) -> list[bytes]:
    """`days` rendered frames of one film, from the cache or rendered now."""
    folder = WORK / name
    folder.mkdir(parents=True, exist_ok=True)
    result = []
    for day in range(days):
        path = folder / f"{day:03d}.png"
        if not path.is_file():
            day_of = FIRST + timedelta(days=day)
            path.write_bytes(render_frame(FILMS[name], counts(name, day), day_of, LOOK))
        result.append(path.read_bytes())
    return result


def playback(gif: bytes) -> tuple[np.ndarray, list[int], int | None]:
    """Every decoded RGB frame, each frame's duration, and the loop count."""
    decoded = iio.imread(gif, index=None, plugin="pillow", mode="RGB")
    with Image.open(io.BytesIO(gif)) as image:
        durations = []
        for index in range(image.n_frames):
            image.seek(index)
            durations.append(image.info["duration"])
        return decoded, durations, image.info.get("loop")


def report(name: str, film: list[bytes], runs: int) -> None:
    """Frames/s and size of both writers on one film, and whether their GIFs play the same."""
    print(f"\n{name}: {len(film)} frames of {Image.open(io.BytesIO(film[0])).size}, median of {runs} runs")
    gifs = {}
    for label, write in (("Pillow save_all (assemble_gif)", lambda: animation.assemble_gif(film)),
                         ("imageio v3 imwrite, pillow plugin", lambda: imageio_gif(film))):
        median, gifs[label], times = timed(write, runs)
        print(f"  {label:<34} {len(film) / median:>8,.1f} frames/s   {len(gifs[label]):>10,} bytes   "
              f"runs s: {[round(t, 3) for t in times]}")
    (pillow, pillow_ms, pillow_loop), (other, other_ms, other_loop) = (playback(g) for g in gifs.values())
    same = pillow.shape == other.shape and np.array_equal(pillow, other)
    print(f"  decoded frames identical: {same}   durations identical: {pillow_ms == other_ms}   "
          f"loop: {pillow_loop} / {other_loop}   bytes identical: {len(set(gifs.values())) == 1}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for name in ("drops_map", "well_known_ports"):
        report(name, frames(name, args.days), args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
