"""Figure assets, one per entry group of the registry: PNG files in `<journal>/figures/` and
the list of them (section, file, title, caption) that the journal reads."""

import dagster as dg
import polars as pl

from iptables_assets.defs.every_day import EVERY_DAY, history
from iptables_assets.defs.exports import published_file
from iptables_assets.defs.automation import AFTER_INPUTS
from iptables_assets.defs.jobs import HISTORY, PUBLISH_GROUP, in_stage
from iptables_assets.defs.resources import Analysis, GeoIP, OutputFolder, Publication
from iptables_assets.defs.table_checks import definition_metadata, schema_check, stored
from iptables_assets.publish import plotting
from iptables_assets.publish.catalog import FIGURE_ASSETS, FigureSpec
from iptables_assets.tables import TABLES, schema

FIGURES_FOLDER = "figures"


def publish(asset: str, publication: Publication, output_folder: OutputFolder, section: str,
            drawn: dict[str, tuple]):
    """Write each (figure, caption) of `drawn` as `<journal>/figures/<name>.png` and return the
    list of figures for the journal, with a preview of each for the UI."""
    rows, metadata = [], {}
    for name, (figure, caption) in drawn.items():
        png = plotting.png_bytes(figure)
        relative = f"{FIGURES_FOLDER}/{name}.png"
        _path, entries = published_file(publication, output_folder, relative, png, png)
        metadata.update(entries)
        metadata[f"size_{name}"] = f"{int(figure.bbox.width)}x{int(figure.bbox.height)} px, {len(png):,} bytes"
        rows.append({"section": section, "file": relative, "title": name, "caption": caption})
    return stored(asset, pl.DataFrame(rows, schema=schema("figure_list")), metadata)


def figure_asset(asset: str, specs: tuple[FigureSpec, ...]) -> dg.AssetsDefinition:
    """The asset that draws `specs` (one source table, one journal section) from its source."""
    (source,), (section,) = {s.source for s in specs}, {s.section for s in specs}
    daily = TABLES[source].per_day
    names = ", ".join(f"`{s.name}`" for s in specs)

    @dg.asset(
        name=asset, group_name=PUBLISH_GROUP, kinds={"matplotlib", "png"},
        tags={"journal": "figure", **in_stage(HISTORY)},
        ins={source: EVERY_DAY if daily else dg.AssetIn()},
        description=f"Figures {names} of the journal's {section} section, drawn from {source}.",
        check_specs=[schema_check(asset)], metadata=definition_metadata(asset), automation_condition=AFTER_INPUTS,
    )
    def figure(publication: Publication, analysis: Analysis, geoip: GeoIP, output_folder: OutputFolder,
               **inputs):
        table = history(source, inputs[source])[0] if daily else inputs[source]
        look = publication.look(analysis.direction, geoip)
        drawn = {name: (draw(table), caption) for spec in specs for name, draw, caption in spec.expanded(look)}
        return publish(asset, publication, output_folder, section, drawn)

    return figure


def figure_assets() -> list[dg.AssetsDefinition]:
    """One asset per figure group of the registry, in journal order."""
    return [figure_asset(asset, specs) for asset, specs in FIGURE_ASSETS.items()]
