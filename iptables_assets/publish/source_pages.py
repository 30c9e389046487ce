"""A page per notable source: who is this address. The sources that matter — every per-day and
long-term scanner, then the top sources by counted drops, then the top sshd sources, up to a
bound — each get `<journal>/sources/<rank>.html`: first and last seen, active days, a timeline of
its drops, the ports it tried (the notebook's tile of ports 0–1023, for that source), its scans,
its sshd lines by kind, its country (and ASN with the optional database) and, on a fleet, the
hosts it touched.

Pages are named by rank, never by address; titled by the address or, when redacting, by its
pseudonym `[IP-<rank>]` (the journal's redactor is seeded in the same order, so its links and
pseudonyms agree). The figures are inline SVG built here from the counts (no matplotlib: a
hundred pages cost well under a second of drawing); every text is escaped by the template.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime

import jinja2
import polars as pl

from iptables_assets.publish.exports import cut_text
from iptables_assets.publish.journal import cell
from iptables_assets.publish.redaction import Redactor

FOLDER = "sources"
TILE_PORTS = 1024  # the tile shows ports 0-1023, 32 to a row, as the notebook's
REASONS = ("per-day scanner", "long-term scanner", "top by drops", "top sshd source")


def page_file(rank: int) -> str:
    """A source page's path under the journal folder (by rank: no address in any file name)."""
    return f"{FOLDER}/{rank:03d}.html"


def choose(drops: pl.DataFrame, port_scans: pl.DataFrame, longterm: pl.DataFrame, sshd_top: pl.DataFrame,
           limit: int) -> pl.DataFrame:
    """The sources that get a page, ranked: scanners (per-day, then long-term) by ports reached,
    then sources by counted drops, then sshd sources by sshd events; `limit` in all. `drops`:
    src_ip, packets (over the whole history). Columns: rank, src_ip, reasons."""
    ordered: dict[str, list[str]] = {}

    def add(addresses, reason: str) -> None:
        for address in addresses:
            ordered.setdefault(address, []).append(reason)

    add(port_scans.group_by("src_ip").agg(pl.col("distinct_ports").max())
        .sort(["distinct_ports", "src_ip"], descending=[True, False])["src_ip"], REASONS[0])
    add(longterm.group_by("src_ip").agg(pl.col("distinct_ports").max())
        .sort(["distinct_ports", "src_ip"], descending=[True, False])["src_ip"], REASONS[1])
    add(drops.sort(["packets", "src_ip"], descending=[True, False])["src_ip"].head(limit), REASONS[2])
    add(sshd_top.sort(["sshd_events", "src_ip"], descending=[True, False])["src_ip"].head(limit), REASONS[3])
    chosen = list(ordered.items())[:limit]
    return pl.DataFrame({"rank": list(range(1, len(chosen) + 1)), "src_ip": [a for a, _ in chosen],
                         "reasons": [r for _, r in chosen]},
                        schema={"rank": pl.Int64, "src_ip": pl.String, "reasons": pl.List(pl.String)})


@dataclass
class SourceView:
    """What one page shows of one source."""

    rank: int
    address: str
    reasons: list[str]
    days: pl.DataFrame  # day, host, packets, dst_ports, country_code, country_name, first_seen, last_seen
    scans: pl.DataFrame  # its per-day scans
    longterm: pl.DataFrame  # its long-term scan rows
    sshd_kinds: pl.DataFrame  # kind, events
    asn: tuple[int | None, str | None] = (None, None)
    history: tuple[date, date] | None = None  # the whole history's first and last day (the timeline's span)
    hosts: list[str] = field(default_factory=list)


def views(chosen: pl.DataFrame, days: pl.DataFrame, port_scans: pl.DataFrame, longterm: pl.DataFrame,
          sshd_events: pl.DataFrame, history: tuple[date, date] | None) -> list[SourceView]:
    """Each chosen source's view; `days` and `sshd_events` need hold only the chosen sources' rows."""
    days_of = days.partition_by("src_ip", as_dict=True)
    scans_of = port_scans.partition_by("src_ip", as_dict=True)
    long_of = longterm.partition_by("src_ip", as_dict=True)
    kinds = sshd_events.group_by("src_ip", "kind").agg(pl.len().cast(pl.Int64).alias("events"))
    kinds_of = kinds.partition_by("src_ip", as_dict=True)
    made = []
    for rank, address, reasons in chosen.iter_rows():
        mine = days_of.get((address,), days.clear()).sort("day")
        made.append(SourceView(
            rank=rank, address=address, reasons=list(reasons), days=mine,
            scans=scans_of.get((address,), port_scans.clear()).sort("day"),
            longterm=long_of.get((address,), longterm.clear()),
            sshd_kinds=kinds_of.get((address,), kinds.clear()).sort(["events", "kind"], descending=[True, False]),
            history=history, hosts=sorted({h for h in mine["host"].to_list() if h}),
        ))
    return made


@dataclass(frozen=True)
class PageSite:
    """What every source page shares: the site's name, the redactor's settings, the credits."""

    site_name: str
    redact: bool
    hosts: tuple[str, ...]
    disclaimer: str
    credits: tuple[str, ...]
    generated: datetime


def redactor_for(site: PageSite, chosen: pl.DataFrame) -> Redactor:
    """The redactor the journal and the source pages share: hosts first, then the chosen
    sources in rank order, so a page's source is `[IP-<rank>]` everywhere."""
    redactor = Redactor(site.redact, hosts=site.hosts)
    for address in chosen["src_ip"].to_list():
        redactor.address(address)
    return redactor


_TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("iptables_assets.publish", "templates"), autoescape=True,
                                undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def render(view: SourceView, site: PageSite, redactor: Redactor) -> str:
    """The page of one source as HTML text."""
    label = redactor.address(view.address)
    first, last = _span(view)
    country = _country(view.days)
    facts = [("Source", label), ("Why it has a page", ", ".join(view.reasons)),
             ("First seen", cell(first)), ("Last seen", cell(last)),
             ("Active days", f"{view.days['day'].n_unique():,}"),
             ("Counted drops", f"{int(view.days['packets'].sum() or 0):,}"),
             ("Country", country)]
    if view.asn[0] is not None:
        facts.append(("ASN", cut_text(f"AS{view.asn[0]} {view.asn[1] or ''}".strip())))
    if view.hosts:
        facts.append(("Hosts it reached", ", ".join(redactor.host(h) for h in view.hosts)))
    return _TEMPLATES.get_template("source.html.j2").render(
        title=f"{redactor.host(site.site_name)}: {label}", label=label, facts=facts,
        timeline=timeline_svg(view), tile=port_tile_svg(view), other_ports=_other_ports(view),
        scans=_rows(view.scans, ["day", "distinct_ports", "packets", "lowest_port", "highest_port", "scan_type"]),
        longterm=_rows(view.longterm, ["first_day", "last_day", "days_active", "distinct_ports", "packets", "slow"]),
        sshd=_rows(view.sshd_kinds, ["kind", "events"]),
        disclaimer=site.disclaimer, credits=list(site.credits),
        generated=site.generated.strftime("%Y-%m-%d %H:%M %Z").strip(),
    )


def _span(view: SourceView) -> tuple[datetime | None, datetime | None]:
    if view.days.height == 0:
        return None, None
    return view.days["first_seen"].min(), view.days["last_seen"].max()


def _country(days: pl.DataFrame) -> str:
    if days.height == 0:
        return "unknown"
    counts = days.group_by("country_code", "country_name").agg(pl.col("packets").sum()).sort("packets", descending=True)
    code, name, _packets = counts.row(0)
    return cut_text(f"{name or 'unknown'} ({code or '??'})")


def _rows(frame: pl.DataFrame, columns: list[str]) -> dict:
    shown = [c for c in columns if c in frame.columns]
    ports = {"lowest_port", "highest_port"}
    return {"columns": shown, "rows": [[cell(v, c in ports) for c, v in zip(shown, row)]
                                       for row in frame.select(shown).head(200).iter_rows()]}


def _other_ports(view: SourceView, shown: int = 20) -> list[tuple[int, int]]:
    """Ports above the tile's (1024 and up) it tried, most days first: (port, days)."""
    tried = _days_per_port(view)
    above = sorted(((p, n) for p, n in tried.items() if p >= TILE_PORTS), key=lambda pn: (-pn[1], pn[0]))
    return above[:shown]


def _days_per_port(view: SourceView) -> dict[int, int]:
    """On how many days it tried each destination port."""
    if view.days.height == 0:
        return {}
    ports = view.days.select("day", pl.col("dst_ports")).explode("dst_ports").drop_nulls().unique()
    return dict(ports.group_by("dst_ports").agg(pl.len()).iter_rows())


def timeline_svg(view: SourceView, height: int = 80) -> str:
    """Its counted drops per day over the whole history as SVG bars (one bar a day)."""
    if view.history is None or view.days.height == 0:
        return ""
    start, end = view.history
    span = (end - start).days + 1
    per_day = dict(view.days.group_by("day").agg(pl.col("packets").sum()).iter_rows())
    top = max(per_day.values()) or 1
    width = max(2, min(6, 900 // span))
    bars = []
    for day, packets in sorted(per_day.items()):
        x = (day - start).days * width
        h = max(1.0, height * packets / top)
        bars.append(f'<rect x="{x}" y="{height - h:.1f}" width="{max(1, width - 1)}" height="{h:.1f}">'
                    f"<title>{day.isoformat()}: {packets:,}</title></rect>")
    axis = (f'<line x1="0" y1="{height + 0.5}" x2="{span * width}" y2="{height + 0.5}" stroke="#808080"/>'
            f'<g fill="#505050" font-size="11"><text x="0" y="{height + 14}">{start.isoformat()}</text>'
            f'<text x="{span * width}" y="{height + 14}" text-anchor="end">{end.isoformat()}</text>'
            f'<text x="{span * width + 4}" y="10">{top:,} a day at most</text></g>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{span * width + 140}" height="{height + 18}" '
            f'role="img" aria-label="counted drops per day"><g fill="#B00000">{"".join(bars)}</g>{axis}</svg>')


def port_tile_svg(view: SourceView, cell_px: int = 14) -> str:
    """Ports 0-1023, 32 to a row, coloured by the days it tried each (grey: never)."""
    tried = _days_per_port(view)
    top = max((n for p, n in tried.items() if p < TILE_PORTS), default=0)
    cells = []
    for port in range(TILE_PORTS):
        row, column = divmod(port, 32)
        days = tried.get(port, 0)
        colour = "#D3D3D3" if not days else _red(days, top)
        cells.append(f'<rect x="{column * cell_px}" y="{row * cell_px}" width="{cell_px - 1}" height="{cell_px - 1}" '
                     f'fill="{colour}"><title>{port}: {days} day{"s" if days != 1 else ""}</title></rect>')
    size = 32 * cell_px
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" role="img" '
            f'aria-label="ports 0 to 1023 it tried">{"".join(cells)}</svg>')


def _red(days: int, top: int) -> str:
    """The tiles' ramp (#500000 to #E00000), by the log of the days."""
    share = math.log1p(days) / math.log1p(top) if top > 1 else 1.0
    red = int(0x50 + share * (0xE0 - 0x50))
    return f"#{red:02X}0000"
