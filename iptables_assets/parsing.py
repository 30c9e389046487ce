"""Log files -> firewall records, rejects and counts; the code both the CLI and the assets use.

Every line read ends up as exactly one of: part of a record (a firewall event), an ignored
non-firewall line (counted per file), or a reject with a reason and the raw line.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

import polars as pl

from . import netfilter, syslog
from .logfiles import LogFile, discover, group_families, iter_line_chunks

DEFAULT_TRUSTED_PROGRAMS = ("kernel", "pve-firewall", "unifi")

# Reasons a netfilter-looking line is rejected instead of becoming a record.
REJECT_REASONS = {
    "no_header": "no syslog timestamp/host/program header could be read",
    "untrusted_program": "netfilter-looking text in a line from a program that is not trusted",
    "missing_interface": "no IN= field (the kernel always writes it)",
    "missing_address": "no SRC= or DST= address (line truncated before them?)",
    "bad_address": "SRC= or DST= is not an IPv4/IPv6 address",
    "bad_timestamp": "the header's date does not exist (e.g. Feb 30, or a skipped DST hour)",
}

RECORD_COLUMNS: tuple[str, ...] = (
    "timestamp", "host", "program", "prefix", "action", "in_iface", "out_iface", "phys_in",
    "phys_out", "mac", "src_ip", "dst_ip", "ip_version", "proto", "length", "tos", "prec", "ttl",
    "ip_id", "ip_flags", "frag_offset", "ip_options", "traffic_class", "hop_limit", "flow_label",
    "src_port", "dst_port", "tcp_flags", "tcp_window", "tcp_res", "tcp_urgp", "tcp_seq", "tcp_ack",
    "tcp_options", "udp_length", "icmp_type", "icmp_code", "icmp_id", "icmp_seq", "icmp_mtu",
    "esp_spi", "incomplete_bytes", "uid", "gid", "mark", "source_file", "line_number",
)
REJECT_COLUMNS: tuple[str, ...] = (
    "timestamp", "host", "program", "reason", "source_file", "line_number", "raw_line",
)

_UNIFI_RULE = r"^\[[A-Za-z0-9_.]+-[ADR]-\d+\]"
_UPTIME = r"^\[\s*\d+\.\d+\] ?"
_REPEATED = r"^message repeated (\d+) times: \[\s?(.*?)\s?\]\s*$"
_IPV4 = r"^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$"
# First match wins: UFW's AUDIT is not a drop, UniFi's rule code (-A-/-D-/-R-) beats its
# free-text description, then the usual words admins put in LOG prefixes.
_ACTION_RULES = (
    ("audit", r"(?i)audit"),
    ("accept", r"^\[[^\]]*-A-\d+\]"),
    ("drop", r"^\[[^\]]*-D-\d+\]"),
    ("reject", r"(?i)reject|^\[[^\]]*-R-\d+\]"),
    ("drop", r"(?i)drop|block|deny|denied"),
    ("accept", r"(?i)accept|allow|pass"),
)


@dataclass(frozen=True)
class ParseConfig:
    """How lines are read: the logs' time zone and which syslog programs are trusted."""

    tz: str = "UTC"
    trusted_programs: tuple[str, ...] = DEFAULT_TRUSTED_PROGRAMS
    chunk_bytes: int = 32 << 20


@dataclass
class FileParse:
    """What one file held: candidate rows (records and rejects, not yet deduplicated)."""

    file: LogFile
    records: pl.DataFrame
    rejects: pl.DataFrame
    lines: int
    ignored: int
    record_lines: int
    first: datetime | None
    last: datetime | None


@dataclass
class ParseResult:
    """Records and rejects of a set of files after cross-file deduplication, with counts."""

    records: pl.DataFrame
    rejects: pl.DataFrame
    files: list[FileParse]
    duplicates_removed: int
    reject_duplicates_removed: int
    repeated_extra: int

    @property
    def lines_read(self) -> int:
        return sum(f.lines for f in self.files)

    @property
    def ignored(self) -> int:
        return sum(f.ignored for f in self.files)

    @property
    def record_lines(self) -> int:
        return sum(f.record_lines for f in self.files)

    @property
    def reject_lines(self) -> int:
        return sum(f.rejects.height for f in self.files)

    def rejects_by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(self.rejects["reason"].to_list()).items()))

    def summary(self) -> dict:
        return {
            "files": len(self.files),
            "lines_read": self.lines_read,
            "record_lines": self.record_lines,
            "records": self.records.height,
            "ignored_lines": self.ignored,
            "reject_lines": self.reject_lines,
            "rejects": self.rejects.height,
            "rejects_by_reason": self.rejects_by_reason(),
            "duplicates_removed": self.duplicates_removed,
            "reject_duplicates_removed": self.reject_duplicates_removed,
            "repeated_message_extra_events": self.repeated_extra,
        }


def year_anchor(file: LogFile, newer_first: datetime | None) -> datetime:
    """Latest moment the file's last line can be from: its mtime, the first line of the next
    newer rotation of the same log, or the end of its rotation date, whichever is earliest."""
    bounds = [file.mtime_datetime]
    if newer_first is not None:
        bounds.append(newer_first)
    if file.rotation_date is not None:
        bounds.append(datetime.combine(file.rotation_date, time(23, 59, 59), tzinfo=ZoneInfo("UTC")))
    return min(bounds)


def parse_paths(paths: Sequence[Path | str], config: ParseConfig = ParseConfig(), **kw) -> ParseResult:
    """Parse files and/or directories (found recursively with the default name patterns)."""
    files: list[LogFile] = []
    for p in paths:
        files.extend(discover(p, **kw))
    return parse_files(files, config)


def parse_files(
    files: Sequence[LogFile],
    config: ParseConfig = ParseConfig(),
    anchors: dict[str, datetime] | None = None,
) -> ParseResult:
    """Parse files, newest rotation first within each family, then deduplicate across files.

    `anchors` (relative path -> datetime) overrides the year anchor of a file, e.g. from the
    file inventory when only some files of a family are read.
    """
    parsed: list[FileParse] = []
    for family in group_families(files).values():
        newer_first: datetime | None = None
        for f in family:
            anchor = (anchors or {}).get(f.relative) or year_anchor(f, newer_first)
            result = parse_file(f, anchor, config)
            parsed.append(result)
            newer_first = result.first or newer_first
    return combine(parsed, config)


def parse_file(file: LogFile, anchor: datetime, config: ParseConfig = ParseConfig()) -> FileParse:
    """Parse one file completely (chunk by chunk), resolving RFC 3164 years from `anchor`."""
    pieces = []
    lines = 0
    for first_line, chunk in iter_line_chunks(file.path, file.compression, config.chunk_bytes):
        frame = _classify_chunk(_read_lines(chunk), first_line, config)
        lines += frame.height
        pieces.append(frame)
    rows = pl.concat(pieces, how="diagonal_relaxed") if pieces else _empty_rows()
    rows = syslog.resolve_timestamps(rows, anchor, config.tz)
    return _split_file_rows(rows, file, lines)


def _read_lines(chunk: bytes) -> pl.DataFrame:
    # One row per line: polars takes a final "\n" as a terminator, so empty lines (even a
    # last or an only one) are rows too and the count matches the chunk's line breaks.
    try:
        frame = pl.read_lines(chunk)
    except pl.exceptions.ComputeError:
        frame = pl.read_lines(chunk.decode("utf-8", "replace").encode("utf-8"))
    return frame


def _empty_rows() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "line_number": pl.Int64, "kind": pl.String, "md": pl.Int64, "ts": pl.Datetime("us", "UTC"),
            "host": pl.String, "program": pl.String, "message": pl.String, "raw_line": pl.String,
            "weight": pl.Int64,
        }
    )


def _classify_chunk(frame: pl.DataFrame, first_line: int, config: ParseConfig) -> pl.DataFrame:
    """Header-parse a chunk of lines and sort each into record / reject / ignored rows."""
    frame = frame.with_row_index("line_number", offset=first_line).with_columns(
        pl.col("line_number").cast(pl.Int64)
    )
    frame = _journal_json_rows(frame)
    frame = _ascii(frame)
    frame = syslog.parse_headers(frame, "text", config.tz)
    msg = pl.col("message")
    body = pl.coalesce(msg, pl.col("text"))
    candidate = (body.str.contains("IN=", literal=True) & (
        body.str.contains("OUT=", literal=True) | body.str.contains("SRC=", literal=True)
    )) | (body.str.contains("SRC=", literal=True) & body.str.contains("DST=", literal=True))
    unifi = pl.col("tag").is_null() & msg.str.slice(0, 80).str.contains(_UNIFI_RULE)
    program = pl.when(unifi).then(pl.lit("unifi")).otherwise(pl.col("tag"))
    frame = frame.with_columns(program.alias("program"), candidate.alias("__candidate"))
    trusted = pl.col("program").is_in(list(config.trusted_programs)).fill_null(False)
    kind = (
        pl.when(~pl.col("__candidate")).then(pl.lit("ignored"))
        .when(pl.col("fmt").is_null()).then(pl.lit("no_header"))
        .when(~trusted).then(pl.lit("untrusted_program"))
        .otherwise(pl.lit("record"))
    )
    frame = frame.with_columns(kind.alias("kind")).drop("__candidate", "tag")
    records = frame.filter(pl.col("kind") == "record")
    others = frame.filter(pl.col("kind") != "record").with_columns(
        pl.when(pl.col("kind") != "ignored").then(pl.col("raw_line")).alias("raw_line"),
    ).select("line_number", "kind", "md", "ts", "host", "program", "message", "raw_line")
    others = others.with_columns(
        pl.when(pl.col("kind") != "ignored").then(pl.col("message")).alias("message"),
        pl.lit(1, dtype=pl.Int64).alias("weight"),
    )
    return pl.concat([_parse_records(records), others], how="diagonal_relaxed").sort("line_number")


def _journal_json_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Rewrite `journalctl -o json` lines into ISO-header text lines; keep the raw line."""
    frame = frame.rename({"line": "raw_line"})
    is_json = pl.col("raw_line").str.starts_with("{")
    if not frame.select(is_json.any()).item():
        return frame.with_columns(pl.col("raw_line").alias("text"))
    converted = pl.col("raw_line").map_elements(syslog.journal_json_to_text, return_dtype=pl.String)
    return frame.with_columns(
        pl.when(is_json).then(pl.coalesce(converted, pl.col("raw_line"))).otherwise(pl.col("raw_line")).alias("text")
    )


def _ascii(frame: pl.DataFrame) -> pl.DataFrame:
    """Replace non-ASCII characters by '?' so byte offsets equal character offsets."""
    text = pl.col("text")
    non_ascii = text.str.len_bytes() != text.str.len_chars()
    if not frame.select(non_ascii.any()).item():
        return frame
    return frame.with_columns(
        pl.when(non_ascii).then(text.str.replace_all(r"[^\x00-\x7F]", "?")).otherwise(text).alias("text")
    )


def _parse_records(frame: pl.DataFrame) -> pl.DataFrame:
    """Field-parse trusted candidate lines; mark those that fail validation as rejects."""
    if frame.height == 0:
        return frame.select("line_number", "kind", "md", "ts", "host", "program", "message", "raw_line")
    msg = pl.col("message")
    repeated = msg.str.starts_with("message repeated ")
    frame = frame.with_columns(
        pl.when(repeated).then(msg.str.extract(_REPEATED, 1).cast(pl.Int64, strict=False)).otherwise(1).alias("weight"),
    )
    frame = frame.with_columns(
        pl.when(repeated & pl.col("weight").is_not_null()).then(msg.str.extract(_REPEATED, 2)).otherwise(msg).alias("__nf"),
        pl.col("weight").fill_null(1),
    )
    uptime = pl.col("__nf").str.slice(0, 32).str.extract(_UPTIME, 0).str.len_chars().fill_null(0)
    frame = frame.with_columns(pl.col("__nf").str.slice(uptime).alias("__nf"))
    frame = netfilter.extract(frame, "__nf")
    frame = _validate_addresses(frame)
    proto_name = pl.col("proto_raw").replace(netfilter.PROTOCOL_NAMES)
    action = pl.lit("unknown")
    for name, pattern in reversed(_ACTION_RULES):
        action = pl.when(pl.col("prefix").str.contains(pattern)).then(pl.lit(name)).otherwise(action)
    reason = (
        # pve-firewall omits an empty IN=; the kernel always writes it.
        pl.when(pl.col("in_iface").is_null() & ((pl.col("program") != "pve-firewall") | pl.col("out_iface").is_null()))
        .then(pl.lit("missing_interface"))
        .when((pl.col("src_ip").fill_null("") == "") | (pl.col("dst_ip").fill_null("") == ""))
        .then(pl.lit("missing_address"))
        .when(pl.col("__bad_address")).then(pl.lit("bad_address"))
        .otherwise(pl.lit("record"))
    )
    return frame.with_columns(
        proto_name.alias("proto"),
        action.alias("action"),
        reason.alias("kind"),
    ).drop("__nf", "__bad_address", "proto_raw", "text", "fmt", "pid")


def _validate_addresses(frame: pl.DataFrame) -> pl.DataFrame:
    """Check SRC/DST, set ip_version, and write IPv6 addresses in canonical compressed form."""
    src, dst = pl.col("src_ip"), pl.col("dst_ip")
    v6_values = pl.concat([frame["src_ip"], frame["dst_ip"]]).drop_nulls()
    v6_values = v6_values.filter(v6_values.str.contains(":", literal=True)).unique()
    canonical = {v: _canonical_ipv6(v) for v in v6_values.to_list()}

    def check(col: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        is_v6 = col.str.contains(":", literal=True)
        fixed = pl.when(is_v6).then(col.replace_strict(canonical, default=None, return_dtype=pl.String)).otherwise(col)
        ok = pl.when(is_v6).then(fixed.is_not_null()).otherwise(col.str.contains(_IPV4))
        return fixed, ok

    src_fixed, src_ok = check(src)
    dst_fixed, dst_ok = check(dst)
    present = src.fill_null("").str.len_bytes().gt(0) & dst.fill_null("").str.len_bytes().gt(0)
    return frame.with_columns(
        pl.when(present).then(src_fixed).otherwise(src).alias("src_ip"),
        pl.when(present).then(dst_fixed).otherwise(dst).alias("dst_ip"),
        (present & ~(src_ok & dst_ok).fill_null(False)).alias("__bad_address"),
        pl.when(src.str.contains(":", literal=True)).then(6).otherwise(4).cast(pl.Int8).alias("ip_version"),
    )


def _canonical_ipv6(text: str) -> str | None:
    try:
        return ipaddress.IPv6Address(text).compressed
    except ValueError:
        return None


def _split_file_rows(rows: pl.DataFrame, file: LogFile, lines: int) -> FileParse:
    """Separate one file's rows into records and rejects, with timestamps resolved."""
    rows = rows.with_columns(
        pl.lit(file.relative).alias("source_file"),
        # A reject without a readable header takes the time of the line before it.
        pl.col("ts").forward_fill().backward_fill().alias("__ts_filled"),
    )
    stamps = rows["ts"].drop_nulls()
    first = stamps.min() if stamps.len() else None
    last = stamps.max() if stamps.len() else None
    bad_time = (pl.col("kind") == "record") & pl.col("ts").is_null()
    rows = rows.with_columns(
        pl.when(bad_time).then(pl.lit("bad_timestamp")).otherwise(pl.col("kind")).alias("kind"),
    )
    ignored = rows.filter(pl.col("kind") == "ignored").height
    records = rows.filter(pl.col("kind") == "record").rename({"ts": "timestamp"}).drop("raw_line")
    rejects = rows.filter(~pl.col("kind").is_in(["record", "ignored"])).with_columns(
        pl.coalesce(pl.col("ts"), pl.col("__ts_filled"), pl.lit(file.mtime_datetime).dt.convert_time_zone("UTC")).alias("timestamp"),
        pl.col("kind").alias("reason"),
    )
    return FileParse(
        file=file,
        records=records,
        rejects=rejects,
        lines=lines,
        ignored=ignored,
        record_lines=records.height,
        first=first,
        last=last,
    )


def combine(parsed: Sequence[FileParse], config: ParseConfig) -> ParseResult:
    """Deduplicate records and rejects across files and give them their final columns."""
    order = {fp.file.relative: i for i, fp in enumerate(sorted(parsed, key=lambda fp: fp.file.relative))}
    records = [fp.records for fp in parsed if fp.records.height]
    rejects = [fp.rejects for fp in parsed if fp.rejects.height]
    rec, rec_removed = deduplicate(_concat(records), order)
    rej, rej_removed = deduplicate(_concat(rejects), order)
    weights = sum(int(fp.records["weight"].sum() or 0) for fp in parsed if fp.records.height)
    repeated_extra = weights - sum(fp.records.height for fp in parsed)
    tz = config.tz
    rec = _finish(rec, RECORD_COLUMNS, tz)
    rej = _finish(rej, REJECT_COLUMNS, tz)
    return ParseResult(
        records=rec,
        rejects=rej,
        files=list(parsed),
        duplicates_removed=rec_removed,
        reject_duplicates_removed=rej_removed,
        repeated_extra=repeated_extra,
    )


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame | None:
    return pl.concat(frames, how="diagonal_relaxed") if frames else None


def deduplicate(rows: pl.DataFrame | None, file_order: dict[str, int]) -> tuple[pl.DataFrame | None, int]:
    """Count each event once: a message seen k times in one file and j times in another is
    max(k, j) events (weights: `message repeated N times` counts N). Returns rows expanded to
    one per event, and the number of events removed as duplicates."""
    if rows is None:
        return None, 0
    key = ["timestamp", "host", "__msg_hash"]
    rows = rows.with_columns(
        pl.col("message").hash().alias("__msg_hash"),
        pl.col("source_file").replace_strict(file_order, return_dtype=pl.Int64).alias("__file"),
    ).with_row_index("__row")
    # Lines without a readable header cannot be matched across files: keep each one.
    rows = rows.with_columns(
        pl.when(pl.col("message").is_null()).then(pl.col("__row").cast(pl.UInt64)).otherwise(pl.col("__msg_hash")).alias("__msg_hash")
    )
    per_file = rows.group_by(key + ["__file"]).agg(
        pl.col("weight").sum().alias("__n"), pl.col("__row").min().alias("__first")
    )
    per_event = per_file.sort("__file").group_by(key, maintain_order=True).agg(
        pl.col("__n").max().alias("__n"), pl.col("__first").first().alias("__first")
    )
    total = int(rows["weight"].sum())
    kept = int(per_event["__n"].sum())
    # One row index per event: the first occurrence, repeated for its count, then one gather.
    indices = per_event.select(pl.col("__first").repeat_by(pl.col("__n")).explode().sort())["__first"]
    return rows.drop("__msg_hash", "__file", "__row")[indices], total - kept


def _finish(rows: pl.DataFrame | None, columns: Sequence[str], tz: str) -> pl.DataFrame:
    """Final schema: the public columns in order, timestamps in the logs' time zone, sorted."""
    schema = record_schema(tz) if columns is RECORD_COLUMNS else reject_schema(tz)
    if rows is None or rows.height == 0:
        return pl.DataFrame(schema=schema)
    rows = rows.with_columns(pl.col("timestamp").dt.convert_time_zone(tz))
    out = rows.select([pl.col(c).cast(schema[c]) if c in rows.columns else pl.lit(None, dtype=schema[c]).alias(c) for c in columns])
    return out.sort(["timestamp", "source_file", "line_number"], maintain_order=True)


def record_schema(tz: str) -> dict[str, pl.DataType]:
    """Column types of `firewall_events` (also the JSON keys of `iptables-assets parse`)."""
    strings = {"host", "program", "prefix", "action", "in_iface", "out_iface", "phys_in", "phys_out",
               "mac", "src_ip", "dst_ip", "proto", "ip_flags", "ip_options", "tcp_flags",
               "tcp_options", "source_file"}
    schema: dict[str, pl.DataType] = {}
    for c in RECORD_COLUMNS:
        if c == "timestamp":
            schema[c] = pl.Datetime("us", tz)
        elif c == "ip_version":
            schema[c] = pl.Int8
        elif c in strings:
            schema[c] = pl.String
        else:
            schema[c] = pl.Int64
    return schema


def reject_schema(tz: str) -> dict[str, pl.DataType]:
    """Column types of `firewall_rejects`."""
    return {
        "timestamp": pl.Datetime("us", tz), "host": pl.String, "program": pl.String,
        "reason": pl.String, "source_file": pl.String, "line_number": pl.Int64, "raw_line": pl.String,
    }


def split_by_day(frame: pl.DataFrame, days: Iterable[date]) -> dict[date, pl.DataFrame]:
    """Rows of each requested day (an empty frame with the same schema for days without rows)."""
    frame = frame.with_columns(pl.col("timestamp").dt.date().alias("__day"))
    groups = {k[0]: g.drop("__day") for k, g in frame.group_by("__day")} if frame.height else {}
    return {d: groups.get(d, frame.clear().drop("__day")) for d in days}


@dataclass(frozen=True)
class FileScan:
    """Header-only pass over a file: its line count and first/last timestamps (UTC)."""

    lines: int
    first: datetime | None
    last: datetime | None


def scan_file(file: LogFile, anchor: datetime, config: ParseConfig = ParseConfig()) -> FileScan:
    """Read only the syslog headers of a file (cheaper than `parse_file`) to date its content."""
    pieces = []
    for first_line, chunk in iter_line_chunks(file.path, file.compression, config.chunk_bytes):
        frame = _ascii(_journal_json_rows(_read_lines(chunk)))
        pieces.append(syslog.parse_headers(frame, "text", config.tz).select("md", "ts"))
    if not pieces:
        return FileScan(0, None, None)
    rows = syslog.resolve_timestamps(pl.concat(pieces), anchor, config.tz)
    stamps = rows["ts"].drop_nulls()
    if stamps.len() == 0:
        return FileScan(rows.height, None, None)
    return FileScan(rows.height, stamps.min(), stamps.max())
