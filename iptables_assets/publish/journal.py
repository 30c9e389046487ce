"""The HTML traffic journal: one static page (no JavaScript) that reads like the reference
notebook's article, built from the whole-history tables and the rendered figures.

Everything that can come from a log (addresses, host names, country names, user names, raw
lines) reaches the page only through Jinja2's autoescaping, and through a `Redactor` first
when redaction is on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import jinja2
import polars as pl

from iptables_assets.analysis.aggregates import TOP_COUNTRIES, UNKNOWN
from iptables_assets.publish.exports import cut_text
from iptables_assets.publish.figures import DIRECTION_LABELS, services
from iptables_assets.publish.redaction import Redactor

JOURNAL_FILE = "index.html"
TABLE_ROWS = 50  # longer tables are cut here; the exports hold every row


@dataclass(frozen=True)
class JournalFigure:
    """A rendered figure: the section it belongs to, its file relative to the page, title, caption."""

    section: str
    file: str
    title: str
    caption: str


@dataclass(frozen=True)
class Link:
    """A table cell that links to another page of the journal (text autoescaped like any cell)."""

    text: str
    href: str


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]
    numeric: set[str] = field(default_factory=set)
    note: str = ""


@dataclass
class Section:
    anchor: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    figures: list[JournalFigure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    preformatted: list[tuple[str, str]] = field(default_factory=list)  # (caption, text)


# Sections in page order; figures are placed by their `section`.
SECTIONS = {
    "today": "Today",
    "period": "The logs",
    "hosts": "Hosts of the fleet",
    "countries": "Dropped packets by country",
    "ports": "Destination ports",
    "services": "Commonly attacked services",
    "scans": "Port scans",
    "digest": "Day by day",
    "animations": "Animations",
    "sshd": "sshd findings",
    "fleet": "Sources that probe many hosts",
    "data": "About the data",
}


# Columns holding port numbers: printed as they are (8080), not as counts (8,080).
PORT_COLUMNS = frozenset({"port", "dst_port", "src_port", "lowest_port", "highest_port"})


def cell(value, port: bool = False) -> str:
    """A value as the page prints it: counts with thousands separators, ports without, text
    (which may come from a log) cut to a readable length."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value) if port else f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return " ".join(cell(v, port) for v in value)
    return cut_text(str(value))


def table(title: str, frame: pl.DataFrame, note: str = "", limit: int = TABLE_ROWS) -> Table:
    """A table of the first `limit` rows of `frame`, cells formatted for reading (columns in
    `PORT_COLUMNS` as plain port numbers); the note says how many rows were left out."""
    numeric = {name for name, dtype in frame.schema.items() if dtype.is_numeric()}
    ports = [name in PORT_COLUMNS for name in frame.columns]
    rows = [[cell(v, p) for v, p in zip(row, ports)] for row in frame.head(limit).iter_rows()]
    if frame.height > limit:
        note = f"{note} Showing {limit:,} of {frame.height:,} rows.".strip()
    return Table(title, list(frame.columns), rows, numeric, note)


@dataclass
class JournalInputs:
    """What the journal is made of (whole-history tables, already computed)."""

    site_name: str
    direction: str
    inventory: pl.DataFrame
    country_totals: pl.DataFrame
    port_totals: pl.DataFrame
    port_scans: pl.DataFrame
    longterm_scans: pl.DataFrame
    scan_threshold: int
    big_scan_threshold: int
    figures: list[JournalFigure]
    disclaimer: str
    credits: list[str]
    generated: datetime
    extra_sections: list[Section] = field(default_factory=list)
    # Firewall events by day, action, direction and whether they count (`traffic_breakdown`);
    # None when not available (the journal then does not explain the difference).
    traffic: pl.DataFrame | None = None
    actions: tuple[str, ...] = ("drop", "reject")
    # (href, text) of the page this one belongs to: a fleet host's page links back to the fleet's.
    up_link: tuple[str, str] | None = None
    # A source as the page shows it -> its own page: cells naming it link there (`publish.source_pages`).
    source_links: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Counted packets versus firewall events
# ---------------------------------------------------------------------------------------------

# The direction an event travelled, from its interfaces, named as `TrafficFilter` names them.
_DIRECTION_NAMES = {"input": "inbound", "output": "outbound", "forward": "forwarded"}
# (one, many) of each action as the journal counts it.
_ACTION_NAMES = {
    "accept": ("accept", "accepts"), "audit": ("audit line ([UFW AUDIT])", "audit lines ([UFW AUDIT])"),
    "drop": ("drop", "drops"), "reject": ("reject", "rejects"),
    "unknown": ("line of no known action", "lines of no known action"),
}


def _counted_as(count: int, action: str, direction: str = "") -> str:
    """"300 accepts", "1 accept", or "16 outbound drops" for an action counted in another direction."""
    one, many = _ACTION_NAMES.get(action, (f"{action} line", f"{action} lines"))
    where = f"{_DIRECTION_NAMES.get(direction, direction)} " if direction else ""
    return f"{count:,} {where}{one if count == 1 else many}"


def counted_explained(breakdown: pl.DataFrame, actions: tuple[str, ...], chain: str) -> str:
    """Why the counted packets are fewer than the firewall events: the events of other actions
    (accepts, audits) and of counted actions in other directions (outbound drops), with numbers."""
    total = int(breakdown["events"].sum() or 0)
    counted = int(breakdown.filter(pl.col("counted"))["events"].sum() or 0)
    what = " and ".join(_ACTION_NAMES.get(a, (a, f"{a} lines"))[1] for a in actions)
    text = (f"The logs hold {total:,} firewall events; {counted:,} are counted as packets in this journal: "
            f"the {what} of the {chain}.")
    # a counted action left out is left out for its direction; any other action for itself
    where = pl.when(pl.col("action").is_in(list(actions))).then(pl.col("direction")).otherwise(pl.lit(""))
    parts = (
        breakdown.filter(~pl.col("counted")).group_by("action", where.alias("direction")).agg(pl.col("events").sum())
        .sort(["events", "action", "direction"], descending=[True, False, False])
    )
    if parts.height == 0:
        return text
    named = [_counted_as(r["events"], r["action"], r["direction"]) for r in parts.iter_rows(named=True)]
    return f"{text} Not counted: {', '.join(named)}."


def _period(inputs: JournalInputs, redactor: Redactor) -> Section:
    inventory = inputs.inventory.filter(pl.col("first_timestamp").is_not_null()) if inputs.inventory.height else inputs.inventory
    section = Section("period", SECTIONS["period"])
    if inventory.height == 0:
        section.paragraphs.append("No timestamped log lines were found.")
        return section
    family = pl.col("family")
    if redactor.enabled:  # directories may name hosts: publish the file name only
        family = family.str.split("/").list.last()
    spans = (
        inventory.group_by(family.alias("log"))
        .agg(
            pl.len().alias("files"),
            pl.col("lines").sum(),
            pl.col("first_timestamp").min().alias("first"),
            pl.col("last_timestamp").max().alias("last"),
        )
        .sort("log")
    )
    first, last = spans["first"].min(), spans["last"].max()
    section.paragraphs.append(
        f"The logs run from {cell(first)} to {cell(last)} (UTC): {inventory.height:,} files, rotated and "
        "compressed copies included; lines written to several files are counted once."
    )
    section.tables.append(table("Date range of each log", spans))
    if inputs.traffic is not None and inputs.traffic.height:
        chain = DIRECTION_LABELS.get(inputs.direction, "INPUT Table")
        section.paragraphs.append(counted_explained(inputs.traffic, inputs.actions, chain))
    return section


def _countries(inputs: JournalInputs, chain: str) -> Section:
    totals = inputs.country_totals
    section = Section("countries", SECTIONS["countries"])
    if totals.height == 0:
        section.paragraphs.append("No counted packets yet.")
        return section
    all_events = int(totals["events"].sum())
    unknown = int(totals.filter(pl.col("country_code") == UNKNOWN)["events"].sum())
    section.paragraphs.append(
        f"{all_events:,} packets were dropped in the {chain}, from {totals.height - (unknown > 0):,} countries. "
        f"{unknown:,} came from addresses without a known country: they are counted here and left out of the maps."
    )
    top = totals.filter(pl.col("top20")).sort("rank").select(
        "rank", pl.col("country_code").alias("code"), pl.col("country_name").alias("country"), "events",
        (pl.col("events") / all_events * 100).round(2).alias("share %"),
    )
    section.tables.append(table(f"Top {TOP_COUNTRIES} countries", top))
    return section


def _ports(inputs: JournalInputs) -> Section:
    totals = inputs.port_totals
    section = Section("ports", SECTIONS["ports"])
    if totals.height == 0:
        return section
    section.paragraphs.append(
        f"Packets reached {totals.height:,} distinct destination ports. The tiles show the well-known ports "
        "0-1023 and the 256 most-dropped ports in port order; the truncated versions cap counts at 1,000 so "
        "that quieter ports stay visible."
    )
    top = totals.sort("rank").head(20).select(
        "rank", pl.col("dst_port").alias("port"),
        pl.struct("dst_port", "protocols").map_elements(
            lambda row: services(row["dst_port"], row["protocols"]), return_dtype=pl.String
        ).alias("service"),
        "events", pl.col("protocols").list.join(" "),
    )
    section.tables.append(table("Top 20 destination ports", top))
    return section


def _scans(inputs: JournalInputs, redactor: Redactor) -> Section:
    daily, longterm = inputs.port_scans, inputs.longterm_scans
    section = Section("scans", SECTIONS["scans"])
    section.paragraphs.append(
        f"A port scan is a source address reaching more than {inputs.scan_threshold:,} distinct destination ports. "
        f"Per day (\"nmap -T insane\"-like): {daily.height:,} scans from "
        f"{daily['src_ip'].n_unique() if daily.height else 0:,} addresses. Over the whole history "
        f"(\"nmap -T paranoid\"-like, slow scans spread over days included): {longterm.height:,} scanners."
    )
    if daily.height:
        big = daily.filter(pl.col("distinct_ports") > inputs.big_scan_threshold)
        days = sorted({cell(d) for d in big["day"].to_list()})
        section.paragraphs.append(
            f"Dates of the biggest one-day scans (over {inputs.big_scan_threshold:,} ports): "
            + (", ".join(days) if days else "none") + "."
        )
        shown = redactor.frame(
            daily.sort(["distinct_ports", "day"], descending=[True, False]).select(
                "day", pl.col("src_ip").alias("source"), pl.col("country_code").alias("country"),
                pl.col("distinct_ports").alias("ports"), "packets", "scan_type",
            ),
            addresses=["source"],
        )
        section.tables.append(table("Largest per-day scans", shown))
    if longterm.height:
        shown = redactor.frame(
            longterm.select(
                pl.col("src_ip").alias("source"), pl.col("country_code").alias("country"),
                pl.col("distinct_ports").alias("ports"), "days_active", "first_day", "last_day", "slow",
            ),
            addresses=["source"],
        )
        section.tables.append(table("Long-term scanners", shown, note="slow: never over the threshold on any single day."))
    return section


NOTABLE_LINES = 200  # notable sshd lines quoted in full; the export holds them all


def sshd_section(
    kinds: pl.DataFrame, top_sources: pl.DataFrame, scanners: pl.DataFrame, notable: pl.DataFrame,
    redactor: Redactor,
) -> Section:
    """The sshd findings: events by kind, top sources, scanners that also talked to sshd, and the
    notable lines quoted (host names and addresses redacted when asked)."""
    section = Section("sshd", SECTIONS["sshd"])
    if kinds.height == 0:
        section.paragraphs.append("No sshd lines were found (secure*, auth.log*, journald exports).")
        return section
    by_kind = kinds.group_by("kind").agg(pl.col("events").sum(), pl.col("country_code").n_unique().alias("countries"))
    section.paragraphs.append(
        f"{int(by_kind['events'].sum()):,} sshd events. {scanners.height:,} addresses that scanned the firewall "
        "also talked to sshd."
    )
    section.tables.append(table("sshd events by kind", by_kind.sort(["events", "kind"], descending=[True, False])))
    shown = top_sources.select("src_ip", "country_code", "sshd_events", "kinds", "user_names", "first_seen", "last_seen")
    section.tables.append(table("Top sshd sources", redactor.frame(shown.rename({"src_ip": "source"}), addresses=["source"])))
    if scanners.height:
        shown = scanners.select("src_ip", "country_code", "sshd_events", "kinds", "daily_scans", "longterm_ports")
        section.tables.append(table(
            "Scanners that also talked to sshd", redactor.frame(shown.rename({"src_ip": "source"}), addresses=["source"])
        ))
    for row in notable.iter_rows(named=True):  # names that identify hosts: the logging host, reverse DNS
        redactor.host(row["host"])
        if row["kind"] == "break_in_attempt":
            redactor.host(row["detail"])
    lines = [
        cut_text(f"{cell(row['timestamp'])} {row['host'] or ''} sshd: {row['message']}", transform=redactor.text)
        for row in notable.head(NOTABLE_LINES).iter_rows(named=True)
    ]
    if lines:
        caption = (f"Notable lines (bad protocol versions and POSSIBLE BREAK-IN ATTEMPT), {notable.height:,} in all"
                   + (f", the first {NOTABLE_LINES:,} quoted:" if notable.height > NOTABLE_LINES else ":"))
        section.preformatted.append((caption, "\n".join(lines)))
    return section


def _data(inputs: JournalInputs) -> Section:
    section = Section("data", SECTIONS["data"])
    section.paragraphs.append(inputs.disclaimer)
    section.paragraphs.extend(inputs.credits)
    return section


def build_sections(inputs: JournalInputs, redactor: Redactor) -> list[Section]:
    """The journal's sections in page order, each with its figures; empty ones left out."""
    chain = DIRECTION_LABELS.get(inputs.direction, "INPUT Table")
    built = [
        _period(inputs, redactor),
        _countries(inputs, chain),
        _ports(inputs),
        Section("services", SECTIONS["services"], ["Where packets to some of the most attacked services come from."]),
        _scans(inputs, redactor),
        Section("animations", SECTIONS["animations"], ["One frame per day, five frames per second."]),
        *inputs.extra_sections,
        _data(inputs),
    ]
    for figure in inputs.figures:
        section = next((s for s in built if s.anchor == figure.section), None)
        if section is None:
            raise ValueError(f"figure {figure.file!r} names an unknown journal section {figure.section!r}")
        section.figures.append(figure)
    order = list(SECTIONS)
    _link_sources(built, inputs.source_links)
    shown = ("period", "scans", "data")  # always; the digest's when they say something
    return sorted((s for s in built if s.figures or s.tables or s.preformatted or s.anchor in shown
                   or (s.paragraphs and s.anchor in ("today", "digest"))), key=lambda s: order.index(s.anchor))


# Columns that name a source address (and the digest's subject, which may be one).
SOURCE_COLUMNS = frozenset({"source", "src_ip", "subject"})


def _link_sources(sections: list[Section], links: dict[str, str]) -> None:
    """Every cell that names a source with a page of its own becomes a link to that page."""
    if not links:
        return
    for section in sections:
        for shown in section.tables:
            linked = [i for i, column in enumerate(shown.columns) if column in SOURCE_COLUMNS]
            for row in shown.rows:
                for i in linked:
                    if isinstance(row[i], str) and row[i] in links:
                        row[i] = Link(row[i], links[row[i]])


_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("iptables_assets.publish", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)
_TEMPLATES.globals["zip"] = zip
_TEMPLATES.tests["link"] = lambda value: isinstance(value, Link)


def _counted_fact(inputs: JournalInputs) -> str:
    """The counted packets, and of how many firewall events when known ("1,234 of 1,600 firewall events")."""
    counted = int(inputs.country_totals["events"].sum()) if inputs.country_totals.height else 0
    if inputs.traffic is None or inputs.traffic.height == 0:
        return f"{counted:,}"
    return f"{counted:,} of {int(inputs.traffic['events'].sum()):,} firewall events (see The logs)"


def render(inputs: JournalInputs, redactor: Redactor) -> str:
    """The journal page as HTML text."""
    site = redactor.host(inputs.site_name)
    sections = build_sections(inputs, redactor)
    facts = [
        ("Site", site),
        ("Counted packets", _counted_fact(inputs)),
        ("Per-day scans", cell(inputs.port_scans.height)),
        ("Long-term scanners", cell(inputs.longterm_scans.height)),
        ("Addresses", "redacted" if redactor.enabled else "shown"),
    ]
    return _TEMPLATES.get_template("journal.html.j2").render(
        title=f"{site}: Traffic Journal: IPTables Analysis",
        subtitle=f"Who knocks on {site}: firewall drops by country, port and scanner.",
        facts=facts,
        sections=sections,
        disclaimer=inputs.disclaimer,
        credits=inputs.credits,
        generated=inputs.generated.strftime("%Y-%m-%d %H:%M %Z").strip(),
        up_link=inputs.up_link,
    )
