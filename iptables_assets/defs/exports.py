"""Files an asset writes beside its stored table (the IO manager stores the table itself): the
CSV/Parquet exports of a table and the journal's files, each written atomically."""

import base64

import dagster as dg
import polars as pl

from iptables_assets.atomic import write_atomic, write_bytes_atomic
from iptables_assets.defs.resources import OutputFolder, Publication
from iptables_assets.publish import plotting
from iptables_assets.publish.exports import csv_frame


def export_table(output_folder: OutputFolder, name: str, frame: pl.DataFrame) -> dict:
    """Write `<out>/exports/<name>.parquet` (every value as it is) and `.csv` (made safe to open in
    a spreadsheet: list columns joined with spaces, long text cut, formula-like cells quoted),
    each atomically."""
    folder = output_folder.path("exports")
    write_atomic(folder / f"{name}.parquet", lambda handle: frame.write_parquet(handle))
    flat = csv_frame(frame)
    write_atomic(folder / f"{name}.csv", lambda handle: flat.write_csv(handle))
    return {"export_parquet": str(folder / f"{name}.parquet"), "export_csv": str(folder / f"{name}.csv")}


def published_file(publication: Publication, output_folder: OutputFolder, relative: str, data: bytes,
                   preview_png: bytes) -> tuple[str, dict]:
    """Write `data` to `<journal>/<relative>` atomically; the path and a small preview (a
    downscaled palette PNG in Markdown, tens of KB) as materialisation metadata."""
    path = publication.journal_folder(output_folder) / relative
    write_bytes_atomic(path, data)
    name = relative.rsplit("/", 1)[-1].split(".")[0]
    preview = base64.b64encode(plotting.preview_png(preview_png)).decode("ascii")
    return str(path), {
        f"preview_{name}": dg.MetadataValue.md(f"![{name}](data:image/png;base64,{preview})"),
        f"path_{name}": dg.MetadataValue.path(str(path)),
    }
