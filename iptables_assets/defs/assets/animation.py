"""Animations: a PNG frame per day (daily partitions) and a GIF per film assembled from them."""

import statistics
import time
from datetime import date

import dagster as dg
import polars as pl

from iptables_assets.atomic import write_bytes_atomic
from iptables_assets.days import days_between
from iptables_assets.defs.assets.figures import FIGURE_SCHEMA, published_file
from iptables_assets.defs.partitioned import days_of
from iptables_assets.defs.partitions import daily_partitions
from iptables_assets.defs.resources import Analysis, GeoIP, OutputFolder, Publication
from iptables_assets.publish import animation, figures

GROUP = "animation"
FRAMES_FOLDER = "frames"
ANIMATIONS_FOLDER = "animations"

_FRAME_DESCRIPTIONS = {
    "drops_map": "World map of the day's counted drops per country: one frame per day, fixed colour scale "
                 "(counts capped at Publication.truncate_at), the date in the corner.",
    "well_known_ports": "Ports 0-1023 tile of the day's counted drops: one frame per day, fixed colour scale, "
                        "the date in the corner.",
    "top_ports": "Tile of the whole-history top-256 ports (from port_totals) with the day's counted drops: one "
                 "frame per day, fixed colour scale. The port list comes from the whole history, so these frames "
                 "go stale when that list changes: Dagster shows them stale after port_totals is re-materialised "
                 "and the GIF's check counts frames drawn with an older list; re-materialise all partitions to "
                 "redraw them.",
}


def _site(publication: Publication, analysis: Analysis, geoip: GeoIP) -> figures.Site:
    return publication.checked().site(analysis.direction, geoip)


def _top_ports(output_folder: OutputFolder) -> list[int]:
    totals = output_folder.read_asset("port_totals")
    if totals is None:
        raise dg.Failure("port_totals was never materialised: the top-256 frames need its port list")
    return figures.top_ports(totals)


def _frame_relative(name: str, day: date) -> str:
    return f"{FRAMES_FOLDER}/{name}/{day.isoformat()}.png"


def _render_day(name, source, day, site, top, publication, output_folder, empty: list) -> bytes:
    """One day's frame; days whose aggregate has no counted drops are noted in `empty`."""
    table = output_folder.read_partition(source, day)
    if table is None:
        raise dg.Failure(f"{source} has no partition {day}: materialise daily_aggregates for it first")
    counts = animation.day_counts(name, table)
    if not counts:
        empty.append(str(day))
    return animation.render_frame(name, counts, day, site, publication.truncate_at, top, publication.map_resolution)


def _frames_asset(name: str) -> dg.AssetsDefinition:
    source, _key = animation.SOURCES[name]
    deps = [source, "port_totals"] if name == "top_ports" else [source]

    @dg.asset(
        name=f"{name}_frames",
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=GROUP,
        deps=deps,
        description=_FRAME_DESCRIPTIONS[name],
        kinds={"matplotlib", "png"},
    )
    def frames(
        context: dg.AssetExecutionContext, publication: Publication, analysis: Analysis, geoip: GeoIP,
        output_folder: OutputFolder,
    ) -> dg.MaterializeResult:
        site = _site(publication, analysis, geoip)
        top = _top_ports(output_folder) if name == "top_ports" else ()
        days, empty, seconds = days_of(context), [], []
        for day in days:
            started = time.perf_counter()
            png = _render_day(name, source, day, site, top, publication, output_folder, empty)
            write_bytes_atomic(publication.journal_folder(output_folder) / _frame_relative(name, day), png)
            seconds.append(time.perf_counter() - started)
        _path, metadata = published_file(publication, output_folder, _frame_relative(name, days[-1]), png, png)
        context.log.info(f"{name}: {len(days)} frame(s), {len(empty)} without counted drops")
        return dg.MaterializeResult(metadata={
            **metadata,
            "frames": len(days),
            "median_seconds_per_frame": round(statistics.median(seconds), 3),
            "days_without_drops": dg.MetadataValue.json(empty),
        })

    return frames


STALE_FRAMES = dg.AssetCheckSpec(
    "frames_use_current_top_ports",
    asset="top_ports_animation",
    description="Every frame of the top-256 film shows the current whole-history top-256 list.",
)


def _gif_asset(name: str) -> dg.AssetsDefinition:
    film = animation.ANIMATIONS[name]
    checks = [STALE_FRAMES] if name == "top_ports" else []

    @dg.asset(
        name=f"{name}_animation",
        group_name=GROUP,
        deps=[f"{name}_frames"],
        check_specs=checks,
        description=f"{film.title}: the frames in date order as a GIF at {animation.FRAMES_PER_SECOND} frames "
                    "per second, looping; days without a frame appear as empty frames.",
        kinds={"gif"},
    )
    def gif(publication: Publication, analysis: Analysis, geoip: GeoIP, output_folder: OutputFolder):
        folder = publication.journal_folder(output_folder) / FRAMES_FOLDER / name
        stored = {}
        for file in sorted(folder.glob("*.png")) if folder.exists() else []:
            try:
                stored[date.fromisoformat(file.stem)] = file
            except ValueError:
                continue
        if not stored:
            raise dg.Failure(f"no frames in {folder}: materialise {name}_frames first")
        top = _top_ports(output_folder) if name == "top_ports" else ()
        site = _site(publication, analysis, geoip)
        frames, drawn_empty, stale = [], [], []
        for day in days_between(min(stored), max(stored)):
            if day in stored:
                png = stored[day].read_bytes()
            else:
                png = animation.render_frame(name, {}, day, site, publication.truncate_at, top,
                                             publication.map_resolution)
                drawn_empty.append(str(day))
            if top and animation.frame_text(png).get(animation.PORTS_KEY) != animation.ports_key(top):
                stale.append(str(day))
            frames.append(png)
        data = animation.assemble_gif(frames)
        relative = f"{ANIMATIONS_FOLDER}/{name}.gif"
        _path, metadata = published_file(publication, output_folder, relative, data, frames[-1])
        row = {"section": "animations", "file": relative, "title": film.title, "caption": film.caption}
        yield dg.Output(
            pl.DataFrame([row], schema=FIGURE_SCHEMA),
            metadata={
                **metadata,
                "frames": len(frames),
                "first_day": str(min(stored)),
                "last_day": str(max(stored)),
                "bytes": len(data),
                "frame_ms": animation.FRAME_MS,
                "days_drawn_empty_without_frame": dg.MetadataValue.json(drawn_empty),
            },
        )
        if checks:
            yield dg.AssetCheckResult(
                check_name=STALE_FRAMES.name,
                passed=not stale,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"stale_frames": len(stale), "stale_days": dg.MetadataValue.json(stale[:100])},
            )

    return gif


FRAME_ASSETS = [_frames_asset(name) for name in animation.ANIMATIONS]
GIF_ASSETS = [_gif_asset(name) for name in animation.ANIMATIONS]
