"""Film assets, one pair per film of the registry: a PNG frame per day (daily partitions) and
the GIF assembled from every stored frame."""

import statistics
import time
from datetime import date

import dagster as dg
import polars as pl

from iptables_assets import storage
from iptables_assets.atomic import write_bytes_atomic
from iptables_assets.days import days_between
from iptables_assets.defs import partitioned
from iptables_assets.defs.every_day import EVERY_DAY
from iptables_assets.defs.exports import published_file
from iptables_assets.defs.jobs import FRAMES, PUBLISH, PUBLISH_GROUP, in_stage
from iptables_assets.defs.automation import AFTER_COUNTS_THEN_PORT_LIST, AFTER_FRAMES, AFTER_INPUTS_DAILY
from iptables_assets.defs.resources import Analysis, GeoIP, OutputFolder, Publication
from iptables_assets.defs.table_checks import definition_metadata, schema_check, stored
from iptables_assets.publish import animation, figures, gif_files
from iptables_assets.publish.catalog import FILMS, Film, day_counts, film_template, render_frame
from iptables_assets.tables import schema

FRAMES_FOLDER = "frames"
ANIMATIONS_FOLDER = "animations"
STALE_FRAMES = "frames_use_current_top_ports"


def frame_file(film: Film, day: date) -> str:
    """Where a day's frame of a film is written, under the journal folder."""
    return f"{FRAMES_FOLDER}/{film.name}/{day.isoformat()}.png"


def frames_asset(film: Film, daily: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The film's frames of the run's days, written as PNG files; the stored value lists them."""
    # Each frame recolours the film's static part, drawn once per output folder (`static_part_seconds`);
    # `frames_per_second` counts the frames alone (counts, recolouring, PNG, atomic write).
    ins = {film.source: dg.AssetIn(), **({"port_totals": dg.AssetIn()} if film.top_ports else {})}

    @dg.asset(
        name=f"{film.name}_frames", partitions_def=daily, backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=PUBLISH_GROUP, ins=ins, description=film.description, kinds={"matplotlib", "png"},
        tags={"journal": "frames", **in_stage(FRAMES)}, check_specs=[schema_check(f"{film.name}_frames")],
        metadata=definition_metadata(f"{film.name}_frames"),
        automation_condition=AFTER_COUNTS_THEN_PORT_LIST if film.top_ports else AFTER_INPUTS_DAILY,
    )
    def frames(context: dg.AssetExecutionContext, publication: Publication, analysis: Analysis, geoip: GeoIP,
               output_folder: OutputFolder, **inputs):
        look = publication.look(analysis.direction, geoip)
        top = figures.top_ports(inputs["port_totals"]) if film.top_ports else ()
        counts = partitioned.by_day(context, inputs[film.source])
        started = time.perf_counter()
        film_template(film, look, top)  # the static part: stored once per output folder (and port list)
        static_seconds = time.perf_counter() - started
        listed, empty, seconds = {}, [], []
        for day in partitioned.days_of(context):
            started = time.perf_counter()
            day_count = day_counts(film, counts.get(day))
            if not day_count:
                empty.append(str(day))
            png = render_frame(film, day_count, day, look, top)
            write_bytes_atomic(publication.journal_folder(output_folder) / frame_file(film, day), png)
            listed[day] = pl.DataFrame({"day": [day], "file": [frame_file(film, day)]}, schema=schema("film_frames"))
            seconds.append(time.perf_counter() - started)
        _path, metadata = published_file(publication, output_folder, frame_file(film, day), png, png)
        context.log.info(f"{film.name}: {len(listed)} frame(s), {len(empty)} without counted drops")
        return stored(f"{film.name}_frames", partitioned.output(listed), {
            **metadata,
            "frames": len(listed),
            "median_seconds_per_frame": round(statistics.median(seconds), 4),
            "frames_per_second": round(len(seconds) / sum(seconds), 1),
            "static_part_seconds": round(static_seconds, 3),
            "days_without_drops": dg.MetadataValue.json(empty),
        })

    return frames


def gif_asset(film: Film) -> dg.AssetsDefinition:
    """The film as a GIF of every stored frame in date order (days without one, or whose file
    is gone from the journal folder, drawn empty); frames unchanged since the last GIF are not
    encoded again (`gif_files`)."""
    frames_name = f"{film.name}_frames"
    stale = [dg.AssetCheckSpec(STALE_FRAMES, asset=f"{film.name}_animation",
                               description="Every frame of the top-256 film shows the current whole-history "
                                           "top-256 list.")] if film.top_ports else []
    ins = {frames_name: EVERY_DAY, **({"port_totals": dg.AssetIn()} if film.top_ports else {})}

    @dg.asset(
        name=f"{film.name}_animation", group_name=PUBLISH_GROUP, ins=ins, kinds={"gif"},
        tags={"journal": "film", **in_stage(PUBLISH)},
        check_specs=[schema_check(f"{film.name}_animation"), *stale],
        metadata=definition_metadata(f"{film.name}_animation"), automation_condition=AFTER_FRAMES,
        description=f"{film.title}: the frames in date order as a GIF at {animation.FRAMES_PER_SECOND} frames per "
                    "second, looping; days without a frame appear as empty frames.",
    )
    def gif(publication: Publication, analysis: Analysis, geoip: GeoIP, output_folder: OutputFolder,
            **inputs):
        folder = publication.journal_folder(output_folder)
        stored_days = {date.fromisoformat(key): folder / frame["file"][0] for key, frame in inputs[frames_name].items()}
        if not stored_days:
            raise dg.Failure(f"no frames of {film.name}: materialise {frames_name} first")
        top = figures.top_ports(inputs["port_totals"]) if film.top_ports else ()
        look = publication.look(analysis.direction, geoip)
        pngs, drawn_empty, stale_days = [], [], []
        for day in days_between(min(stored_days), max(stored_days)):
            if day in stored_days and stored_days[day].exists():
                png = stored_days[day].read_bytes()
            else:
                png = render_frame(film, {}, day, look, top)
                drawn_empty.append(str(day))
            if top and animation.frame_text(png).get(animation.PORTS_KEY) != animation.ports_key(top):
                stale_days.append(str(day))
            pngs.append(png)
        relative = f"{ANIMATIONS_FOLDER}/{film.name}.gif"
        record = storage.local_cache(output_folder.base_path, "gifs") / f"{film.name}.json"
        data, encoded, written = gif_files.updated_gif(pngs, _previous(folder / relative),
                                                       gif_files.read_record(record))
        _path, metadata = published_file(publication, output_folder, relative, data, pngs[-1])
        gif_files.write_record(record, written)
        row = {"section": "animations", "file": relative, "title": film.title, "caption": film.caption}
        checks = [dg.AssetCheckResult(
            check_name=STALE_FRAMES, passed=not stale_days, severity=dg.AssetCheckSeverity.WARN,
            metadata={"stale_frames": len(stale_days), "stale_days": dg.MetadataValue.json(stale_days[:100])},
        )] if film.top_ports else []
        return stored(f"{film.name}_animation", pl.DataFrame([row], schema=schema("figure_list")), {
            **metadata,
            "frames": len(pngs),
            "frames_encoded": encoded,
            "first_day": str(min(stored_days)),
            "last_day": str(max(stored_days)),
            "bytes": len(data),
            "frame_ms": animation.FRAME_MS,
            "days_drawn_empty_without_frame": dg.MetadataValue.json(drawn_empty),
        }, checks=checks)

    return gif


def _previous(path) -> bytes | None:
    """The GIF as the last run wrote it (None: absent or unreadable, then encoded in full)."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def film_assets(daily: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """Frames and GIF of every film of the registry."""
    return [*(frames_asset(film, daily) for film in FILMS.values()), *(gif_asset(film) for film in FILMS.values())]
