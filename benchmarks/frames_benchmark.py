"""Animation frames: drawn by matplotlib (the old path) against recoloured from a static part
drawn once (the package's `render_frame`), frames/s per film; then a year of all three films,
frames and GIFs, as the frame and GIF assets make them.

    .venv/bin/python benchmarks/frames_benchmark.py [--runs 3] [--old-days 12] [--days 365]

Per film, medians of `--runs`:
  - old: as the frames were made before recolouring (commit 4d9f463): matplotlib draws the
    figure, the pixels are mapped onto the fixed palette and written with `optimize=True`;
  - matplotlib + PNG level 3: the same drawing, written as frames are written now
    (`catalog.draw_frame`), to tell the drawing from the PNG writer;
  - recoloured: `catalog.render_frame` for `--days` days, the static part already drawn (its
    one-off drawing is timed on its own, in every run).
The year: the static parts dropped, then for each film `--days` frames recoloured and written
(atomically, as the frames asset does) and read back into a GIF (as the GIF asset does), the
films one after the other in this process (with `--processes N`, also spread over N worker
processes, as `frames_job` spreads its steps); the run prints each film's share. Counts are made up but day-like (most
countries, a third of the ports 0-1023, half of the top 256, a few over the cap).
"""

from __future__ import annotations

import argparse
import io
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from harness import (
    WORK as WORK_ROOT, load, machine_info, median, own_peak_rss_bytes, source_fingerprint, timed, warn_if_changed,
)
from iptables_assets.atomic import write_bytes_atomic
from iptables_assets.enrich import countries
from iptables_assets.publish import animation, catalog, plotting
from iptables_assets.publish.catalog import FILMS, Look, draw_frame, render_frame
from iptables_assets.publish.figures import Site

WORK = WORK_ROOT / "frames_benchmark"
SITE = Site(name="example.org", map_footer="Geolocation is unreliable. IP Geolocation by DB-IP. Natural Earth.")
LOOK = Look(site=SITE, truncate_at=1000)
FIRST = date(2026, 1, 1)
TARGET_FPS = 50  # issue 14: frames per second per film on a 2-core machine
TARGET_YEAR_S = 30.0  # issue 14: 365 days x 3 films, frames and GIFs
TOP = tuple(sorted({22, 23, 80, 443, 445, 3389, 8080, *range(1000, 1300, 2), *range(5000, 5200, 2)}))[:256]


def day_counts(name: str, day: int) -> dict:
    """Made-up counts of one day: different every day, some over the cap of 1000."""
    rng = np.random.default_rng(day)
    if name == "drops_map":
        codes = sorted(countries.country_geometries("110m"))
        return {code: int(rng.pareto(1.2) * 40) + 1 for code in codes if rng.random() < 0.6}
    ports, share = (range(1024), 0.33) if name == "well_known_ports" else (TOP, 0.5)
    return {port: int(rng.pareto(1.2) * 30) + 1 for port in ports if rng.random() < share}


def old_frame(name: str, counts: dict, day: date) -> bytes:
    """A frame as commit 4d9f463 made it: drawn by matplotlib, quantised, PNG with optimize=True."""
    film = FILMS[name]
    figure = film.draw(counts, day, LOOK, TOP)
    mapped = plotting.rgb_image(figure).quantize(palette=animation._palette_image(), dither=Image.Dither.NONE)
    info = PngInfo()
    if film.top_ports:
        info.add_text(animation.PORTS_KEY, animation.ports_key(TOP))
    buffer = io.BytesIO()
    mapped.save(buffer, format="PNG", optimize=True, pnginfo=info)
    return buffer.getvalue()


def frames_per_second(make, name: str, days: int, runs: int) -> tuple[float, list[float]]:
    """Median frames/s of `runs` runs of `days` frames of one film, and every run's seconds."""
    inputs = [(day_counts(name, d), FIRST + timedelta(days=d)) for d in range(days)]
    seconds, _result, times = timed(lambda: [make(name, counts, day) for counts, day in inputs], runs)
    return days / seconds, times


def recoloured_frame(name: str, counts: dict, day: date) -> bytes:
    """A frame as the frames asset makes it now: recoloured from the film's static part."""
    return render_frame(FILMS[name], counts, day, LOOK, TOP)


def static_part_seconds(name: str, runs: int) -> list[float]:
    """Seconds to draw a film's static part (the cache dropped before each of `runs` runs)."""
    build = []
    for _ in range(runs):
        catalog._template.cache_clear()
        started = time.perf_counter()
        catalog.film_template(FILMS[name], LOOK, TOP)
        build.append(time.perf_counter() - started)
    return build


def compare_paths(runs: int, old_days: int, days: int) -> dict[str, float]:
    """Frames/s of the three ways to make a frame, per film; the recoloured ones returned."""
    print(f"\nframes/s per film (median of {runs} runs; old paths over {old_days} days, recoloured over {days})")
    recoloured = {}
    for name in FILMS:
        build = static_part_seconds(name, runs)
        rows = (("old (matplotlib, optimize=True)", old_frame, old_days),
                ("matplotlib + PNG level 3", lambda n, c, d: draw_frame(FILMS[n], c, d, LOOK, TOP), old_days),
                ("recoloured", recoloured_frame, days))
        print(f"  {name}: static part drawn in {median(build):.2f} s (median; runs {[round(b, 2) for b in build]})")
        for label, make, count in rows:
            fps, times = frames_per_second(make, name, count, runs)
            print(f"    {label:<32} {fps:8.1f} frames/s   runs s: {[round(t, 2) for t in times]}")
        recoloured[name] = fps
    return recoloured


def film_year(name: str, days: int) -> float:
    """Seconds for a film's `days` frames written and read back into a GIF, as its two assets do."""
    started = time.perf_counter()
    paths = []
    for d in range(days):
        day = FIRST + timedelta(days=d)
        paths.append(WORK / name / f"{day}.png")
        write_bytes_atomic(paths[-1], render_frame(FILMS[name], day_counts(name, d), day, LOOK, TOP))
    frames_done = time.perf_counter()
    gif = WORK / f"{name}.gif"
    write_bytes_atomic(gif, animation.assemble_gif([path.read_bytes() for path in paths]))
    done = time.perf_counter()
    frame_bytes = sum(path.stat().st_size for path in paths)
    print(f"  {name}: {frames_done - started:.1f} s for {days} frames (static part included), "
          f"{done - frames_done:.1f} s for the GIF ({gif.stat().st_size / 1e6:.1f} MB; frames {frame_bytes / 1e6:.1f} MB)")
    return done - started


def year(days: int, processes: int) -> float:
    """Seconds for every film's year from fresh static parts, in one or more processes (as frames_job)."""
    shutil.rmtree(WORK, ignore_errors=True)
    catalog._template.cache_clear()
    started = time.perf_counter()
    if processes == 1:
        for name in FILMS:
            film_year(name, days)
    else:
        with ProcessPoolExecutor(processes) as pool:
            list(pool.map(film_year, FILMS, [days] * len(FILMS)))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--old-days", type=int, default=12, help="frames per run of the matplotlib paths")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--processes", type=int, default=1,
                        help="also measure the year with the films spread over this many worker processes")
    args = parser.parse_args()
    fingerprint = source_fingerprint()
    print("\n".join(machine_info("matplotlib", "PIL", "numpy")))
    print(f"load average before: {load()}")
    recoloured = compare_paths(args.runs, args.old_days, args.days)
    totals = {}
    for processes in sorted({1, args.processes}):
        print(f"\n{args.days} days x {len(FILMS)} films, frames + GIFs, {processes} process(es) "
              f"(load average before: {load()})")
        totals[processes] = [year(args.days, processes) for _ in range(args.runs)]
        print(f"  total: median {median(totals[processes]):.1f} s (runs {[round(t, 1) for t in totals[processes]]})")
    print("\ntargets:")
    for name, fps in recoloured.items():
        print(f"  [{'PASS' if fps >= TARGET_FPS else 'MISS'}] {name} recoloured >= {TARGET_FPS} frames/s: {fps:.1f}")
    for processes, seconds in totals.items():
        print(f"  [{'PASS' if median(seconds) < TARGET_YEAR_S else 'MISS'}] {args.days} days x {len(FILMS)} films, "
              f"frames + GIFs < {TARGET_YEAR_S:.0f} s, {processes} process(es): {median(seconds):.1f} s")
    print(f"peak RSS {own_peak_rss_bytes() / 1e6:,.0f} MB; load average after: {load()}")
    warn_if_changed(fingerprint)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
