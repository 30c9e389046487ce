"""Syslog line headers: timestamp, host and program tag, for every line format we read.

Formats: RFC 3164 (`Oct 28 03:09:03 host kernel: …`, optional `<PRI>`), rsyslog's
high-precision ISO 8601 and `journalctl -o short-iso` (`2019-09-22T03:25:01.123456+00:00 host
kernel: …`), Proxmox `pve-firewall.log` (`0 3 PVEFW-HOST-IN 20/Jun/2022:13:09:14 +0200 …`),
and `journalctl -o json` export lines (rewritten to the ISO text form first).
RFC 3164 has no year: `resolve_timestamps` infers it per file from an anchor (file mtime,
rotation order) and the December→January roll-overs inside the file.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

HEAD_WIDTH = 160
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {name: i + 1 for i, name in enumerate(MONTHS)}

_TAG = r"(?:(?P<tag>[A-Za-z0-9_][^\s:\[\]]{0,63})(?:\[(?P<pid>\d{1,10})\])?:(?: |$))?"
HEADER_RE = (
    r"^(?P<header>"
    r"(?:<\d{1,3}>)?(?:"
    r"(?P<mon>" + "|".join(MONTHS) + r") (?P<day>[ \d]?\d) (?P<hms>\d\d:\d\d:\d\d)"
    r"|(?P<iso>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?)"
    r") (?P<host>[^\s:]+) " + _TAG +
    r"|(?P<pve_chain>\d+ \d+ [A-Za-z0-9_-]+) (?P<pve>\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}) "
    r")"
)
# An RFC 3164 month/day that goes back by more than this (in seconds of a 32-day-month
# calendar) from one line to the next starts a new year; smaller steps are reordering.
_ROLLOVER_STEP = 183 * 86400
_ANCHOR_SLACK = timedelta(days=1)


def parse_headers(frame: pl.DataFrame, line_col: str, tz: str) -> pl.DataFrame:
    """Add header columns: fmt, host, tag, pid, message, md (RFC 3164 ordinal) and ts (ISO/Proxmox).

    `md` is month/day/time as seconds in a 32-day-month year, used for year inference; `ts`
    is already a full timestamp (UTC) for formats that carry a year.
    """
    head = pl.col(line_col).str.slice(0, HEAD_WIDTH)
    frame = frame.with_columns(head.str.extract_groups(HEADER_RE).alias("__h")).unnest("__h")
    is_rfc = pl.col("mon").is_not_null()
    is_iso = pl.col("iso").is_not_null()
    is_pve = pl.col("pve").is_not_null()
    hms = pl.col("hms")
    md = (
        (pl.col("mon").replace_strict(_MONTH_NUMBER, return_dtype=pl.Int64) * 32
         + pl.col("day").str.strip_chars().cast(pl.Int64)) * 86400
        + hms.str.slice(0, 2).cast(pl.Int64) * 3600
        + hms.str.slice(3, 2).cast(pl.Int64) * 60
        + hms.str.slice(6, 2).cast(pl.Int64)
    )
    body = pl.col(line_col).str.slice(pl.col("header").str.len_chars())
    frame = frame.with_columns(
        pl.when(is_rfc).then(pl.lit("rfc3164"))
        .when(is_iso).then(pl.lit("iso8601"))
        .when(is_pve).then(pl.lit("pve-firewall"))
        .alias("fmt"),
        pl.when(is_rfc).then(md).alias("md"),
        pl.when(is_iso).then(_parse_iso(pl.col("iso"), tz))
        .when(is_pve).then(pl.col("pve").str.to_datetime("%d/%b/%Y:%H:%M:%S %z", strict=False))
        .alias("ts"),
        pl.when(is_pve).then(pl.lit("pve-firewall")).otherwise(pl.col("tag")).alias("tag"),
        pl.when(is_pve)
        .then(pl.concat_str(pl.col("pve_chain").str.split(" ").list.last(), pl.lit(" "), body))
        .otherwise(body)
        .alias("message"),
        pl.col("pid").cast(pl.Int64, strict=False),
    )
    return frame.drop("header", "mon", "day", "hms", "iso", "pve", "pve_chain")


def _parse_iso(text: pl.Expr, tz: str) -> pl.Expr:
    """ISO 8601 text -> UTC datetime; a time without offset is local time in `tz`."""
    norm = text.str.replace(",", ".", literal=True).str.replace(" ", "T", literal=True)
    norm = norm.str.replace(r"Z$", "+00:00")
    has_offset = norm.str.contains(r"[+-]\d\d:?\d\d$")
    with_offset = norm.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_unit="us")
    local = (
        norm.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False, time_unit="us")
        .dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    return pl.when(has_offset).then(with_offset.dt.convert_time_zone("UTC")).otherwise(local)


def infer_last_year(md_last: int, anchor: datetime) -> int:
    """Year of a file's last RFC 3164 line: the anchor's year, or the one before if that
    month/day would lie after the anchor (a file read in January ending on Dec 31)."""
    anchor_md = ((anchor.month * 32 + anchor.day) * 86400 + anchor.hour * 3600
                 + anchor.minute * 60 + anchor.second)
    if md_last <= anchor_md + _ANCHOR_SLACK.total_seconds():
        return anchor.year
    return anchor.year - 1


def resolve_timestamps(frame: pl.DataFrame, anchor: datetime, tz: str) -> pl.DataFrame:
    """Fill `ts` (UTC) for RFC 3164 rows of one file, in file order, inferring the year.

    Years count back from the last RFC 3164 line (dated by `anchor`), one year per
    roll-over where the calendar position jumps back by more than half a year.
    """
    rfc = frame.filter(pl.col("md").is_not_null())
    if rfc.height == 0:
        return frame.with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    last_md = rfc["md"][-1]
    last_year = infer_last_year(last_md, anchor.astimezone(ZoneInfo(tz)))
    previous = pl.col("md").shift(1).forward_fill()
    rollovers = (pl.col("md").is_not_null() & (pl.col("md") + _ROLLOVER_STEP < previous)).fill_null(False)
    frame = frame.with_columns(rollovers.cast(pl.Int64).cum_sum().alias("__roll"))
    total = frame["__roll"][-1] if frame.height else 0
    year = pl.lit(last_year) - (pl.lit(total) - pl.col("__roll"))
    md = pl.col("md")
    month = md // (32 * 86400)
    day = (md // 86400) % 32
    secs = md % 86400
    text = pl.format(
        "{}-{}-{} {}:{}:{}",
        year, month, day, secs // 3600, (secs // 60) % 60, secs % 60,
    )
    local = (
        text.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")
        .dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    ts = pl.when(md.is_not_null()).then(local).otherwise(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    return frame.with_columns(ts.alias("ts")).drop("__roll")


def journal_json_to_text(line: str) -> str | None:
    """One `journalctl -o json` record as an ISO-header text line, or None if it is not one.

    Only records that came through the kernel transport keep the program tag `kernel`;
    anything else that calls itself `kernel` (e.g. `logger -t kernel`) is tagged `forged-kernel`.
    """
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    message = record.get("MESSAGE")
    if isinstance(message, list):
        message = bytes(b & 0xFF for b in message if isinstance(b, int)).decode("utf-8", "replace")
    try:
        micros = int(record["__REALTIME_TIMESTAMP"])
    except (KeyError, TypeError, ValueError):
        return None
    if not isinstance(message, str):
        return None
    when = datetime.fromtimestamp(micros / 1e6, tz=ZoneInfo("UTC")).isoformat()
    host = str(record.get("_HOSTNAME") or "-").replace(" ", "_") or "-"
    tag = str(record.get("SYSLOG_IDENTIFIER") or record.get("_COMM") or "unknown").replace(" ", "_")
    transport = record.get("_TRANSPORT")
    if transport == "kernel":
        tag = "kernel"
    elif tag == "kernel":
        tag = "forged-kernel"
    flat = message.replace("\r", " ").replace("\n", " ")
    return f"{when} {host} {tag}: {flat}"
