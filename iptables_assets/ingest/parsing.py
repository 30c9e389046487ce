"""Log files -> firewall records, rejects and counts; the code both the CLI and the assets use.

Every line read ends up as exactly one of: part of a record (a firewall event), an ignored
non-firewall line (counted per file), or a reject with a reason and the raw line.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import os
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

import polars as pl

from iptables_assets import progress
from iptables_assets.ingest import scanner, syslog
from iptables_assets.ingest.logfiles import LogFile, discover, iter_line_chunks

T = TypeVar("T")
R = TypeVar("R")
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

# Ubiquiti rule names that open a program-less line: UniFi OS `[WAN_LOCAL-D-2147483647]`
# (rule set, action, rule number) and EdgeOS `[WAN_IN-10-A]` / `[WAN_IN-default-D]` (rule set,
# rule number or default, action). The name must stand alone (a space or nothing after it):
# a `logger -t '[WAN_IN-10-A]'` tag is written with a colon after it and is not one.
_UNIFI_RULE = r"^\[[A-Za-z0-9_.-]+-(?:[ADR]-\d+|(?:\d+|default)-[ADR])\](?: |$)"
# First match wins. Ubiquiti rule codes (A accept, D drop, R reject) come first: they beat the
# free-text description after them. Then whole words of the prefix (see `_prefix_words`), so
# `../../etc/passwd` or `BYPASS` is no accept and UFW's AUDIT is no drop. Each rule is
# (action, "code", regex on the raw prefix) or (action, "words", word forms).
_ACTION_RULES = (
    ("accept", "code", r"^\[[^\]]*-(?:A-\d+|(?:\d+|default)-A)\]"),
    ("drop", "code", r"^\[[^\]]*-(?:D-\d+|(?:\d+|default)-D)\]"),
    ("reject", "code", r"^\[[^\]]*-(?:R-\d+|(?:\d+|default)-R)\]"),
    ("audit", "words", ("audit", "audits", "audited")),
    ("reject", "words", ("reject", "rejects", "rejected")),
    ("drop", "words", ("drop", "drops", "dropped", "deny", "denies", "denied", "block", "blocks", "blocked")),
    ("accept", "words", ("accept", "accepts", "accepted", "allow", "allows", "allowed", "pass", "passes",
                         "passed")),
)


@dataclass(frozen=True)
class ParseConfig:
    """How lines are read: the logs' time zone and which syslog programs are trusted."""

    tz: str = "UTC"
    trusted_programs: tuple[str, ...] = DEFAULT_TRUSTED_PROGRAMS
    chunk_bytes: int = 8 << 20
    threads: int = min(4, os.cpu_count() or 1)


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
    damage: str | None = None  # why reading stopped early (truncated/corrupt compressed file)


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

    @property
    def damaged_files(self) -> dict[str, str]:
        """{file: why reading stopped early} of the damaged compressed files read."""
        return {f.file.relative: f.damage for f in self.files if f.damage}

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
            "damaged_files": self.damaged_files,
        }


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
    with progress.track("reading logs", sum(f.size for f in files), "B") as shown:
        for result in syslog.read_newest_first(files, lambda f, anchor: parse_file(f, anchor, config),
                                               lambda result: result.first, anchors):
            parsed.append(result)
            shown.update(result.file.size)
    return combine(parsed, config)


def parse_file(file: LogFile, anchor: datetime, config: ParseConfig = ParseConfig()) -> FileParse:
    """Parse one file completely (chunk by chunk), resolving RFC 3164 years from `anchor`.

    Records and rejects are set aside per chunk; only a slim timeline of every line (number,
    RFC 3164 month/day/time, dated timestamp) is kept whole, for year inference.
    """
    timeline, records, rejects = [], [], []
    ignored = 0
    damage: list[str] = []
    chunks = iter_line_chunks(file.path, file.compression, config.chunk_bytes, damage)
    for rows in _in_threads(chunks, lambda item: _classify_chunk(item[1], item[0], config), config.threads):
        timeline.append(rows.select("line_number", "md", "ts"))
        kind = pl.col("kind")
        records.append(rows.filter(kind == "record").drop("kind", "raw_line", "md", "ts"))
        rejects.append(rows.filter((kind != "record") & (kind != "ignored")).drop("md", "ts"))
        ignored += int((rows["kind"] == "ignored").sum())
    if not timeline:
        empty = _classify_chunk(b"", 1, config)
        timeline, records, rejects = [empty.select("line_number", "md", "ts")], [empty], [empty]
    times = syslog.resolve_timestamps(pl.concat(timeline), anchor, config.tz)
    parsed = _assemble(file, times, pl.concat(records, how="vertical_relaxed"),
                       pl.concat(rejects, how="vertical_relaxed"), ignored, config)
    parsed.damage = damage[0] if damage else None
    return parsed


def _in_threads(items: Iterator[T], work: Callable[[T], R], threads: int) -> Iterator[R]:
    """work(item) for each item, in order, with up to `threads` items in flight (the scanner
    and polars release the GIL, so chunks are classified on several cores)."""
    if threads <= 1:
        yield from map(work, items)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(work, item))
            if len(pending) >= threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _assemble(file: LogFile, times: pl.DataFrame, records: pl.DataFrame, rejects: pl.DataFrame,
              ignored: int, config: ParseConfig) -> FileParse:
    """One file's records and rejects with resolved timestamps. A record whose date does not
    exist (Feb 29 of a common year, a skipped DST hour) becomes a `bad_timestamp` reject; a
    reject without a readable header takes the time of the line before it."""
    # Every line has a timeline row, in order from line 1: gather by line number - 1.
    stamps = times["ts"]
    records = records.with_columns(stamps.gather(records["line_number"] - 1).alias("timestamp"))
    if records["timestamp"].null_count():
        bad = records.filter(pl.col("timestamp").is_null())
        records = records.filter(pl.col("timestamp").is_not_null())
        bad = bad.with_columns(pl.lit("bad_timestamp").alias("kind"), _raw_lines(file, bad["line_number"], config))
        rejects = pl.concat([rejects, bad.drop("timestamp")], how="diagonal_relaxed")
    filled = stamps.forward_fill().backward_fill()
    fallback = pl.lit(file.mtime_datetime).dt.convert_time_zone("UTC")
    index = rejects["line_number"] - 1
    rejects = rejects.with_columns(
        pl.coalesce(stamps.gather(index), filled.gather(index), fallback).alias("timestamp"),
        pl.col("kind").alias("reason"),
        # A reject is one raw line, even a "message repeated N times" one.
        pl.lit(1, dtype=pl.Int64).alias("weight"),
    ).drop("kind")
    stamps = stamps.drop_nulls()
    records = records.with_columns(pl.lit(file.relative).alias("source_file"))
    rejects = rejects.with_columns(pl.lit(file.relative).alias("source_file"))
    return FileParse(
        file=file,
        records=records,
        rejects=rejects,
        lines=times.height,
        ignored=ignored,
        record_lines=records.height,
        first=stamps.min() if stamps.len() else None,
        last=stamps.max() if stamps.len() else None,
    )


def _raw_lines(file: LogFile, line_numbers: pl.Series, config: ParseConfig) -> pl.Series:
    """Read some lines of a file again (rare: only for records found bad after year inference)."""
    wanted = set(line_numbers.to_list())
    found: dict[int, str] = {}
    for first_line, chunk in iter_line_chunks(file.path, file.compression, config.chunk_bytes, []):
        for offset, line in enumerate(chunk.split(b"\n")):
            if first_line + offset in wanted:
                found[first_line + offset] = line.rstrip(b"\r").decode("utf-8", "replace")
    return pl.Series("raw_line", [found.get(n) for n in line_numbers.to_list()], dtype=pl.String)


def _classify_chunk(chunk: bytes, first_line: int, config: ParseConfig) -> pl.DataFrame:
    """Scan a chunk of lines and sort each into record / reject / ignored rows."""
    chunk, originals = journal_json_chunk(chunk)
    rows = scanner.scan(chunk, first_line)
    fmt = pl.col("fmt")
    unifi = pl.col("tag").is_null() & pl.col("prefix").str.contains(_UNIFI_RULE).fill_null(False)
    # No host and no tag after a syslog timestamp: the scanner saw the kernel's LOG prefix in
    # the tag's place (`Jan  8 03:37:09 DENY: IN=…`, see scanner._hostless), a kernel line.
    hostless = pl.col("host").is_null() & pl.col("tag").is_null() & fmt.is_in([scanner.FMT_RFC3164, scanner.FMT_ISO])
    program = (
        pl.when(fmt == scanner.FMT_PVE).then(pl.lit("pve-firewall"))
        .when(unifi).then(pl.lit("unifi"))
        .when(hostless).then(pl.lit("kernel"))
        .otherwise(pl.col("tag"))
    )
    rows = rows.with_columns(
        program.alias("program"),
        header_time(config.tz).alias("ts"),
        pl.when(fmt == scanner.FMT_RFC3164).then(pl.col("md")).alias("md"),
        pl.when(fmt == scanner.FMT_PVE)
        .then(pl.concat_str(pl.col("pve_chain"), pl.lit(" "), pl.col("prefix")).str.strip_chars())
        .otherwise(pl.col("prefix"))
        .alias("prefix"),
    )
    rows = _validate_addresses(rows)
    trusted = pl.col("program").is_in(list(config.trusted_programs)).fill_null(False)
    kind = (
        pl.when(~pl.col("candidate")).then(pl.lit("ignored"))
        .when(fmt == scanner.FMT_NONE).then(pl.lit("no_header"))
        .when(~trusted).then(pl.lit("untrusted_program"))
        # pve-firewall omits an empty IN=; the kernel always writes it.
        .when(pl.col("in_iface").is_null() & ((pl.col("program") != "pve-firewall") | pl.col("out_iface").is_null()))
        .then(pl.lit("missing_interface"))
        .when((pl.col("src_ip").fill_null("") == "") | (pl.col("dst_ip").fill_null("") == ""))
        .then(pl.lit("missing_address"))
        .when(pl.col("__bad_address")).then(pl.lit("bad_address"))
        .otherwise(pl.lit("record"))
    )
    is_tcp = pl.col("proto_raw") == "TCP"
    rows = rows.with_columns(
        kind.alias("kind"),
        pl.col("prefix").replace_strict(_actions(rows["prefix"]), default="unknown", return_dtype=pl.String)
        .alias("action"),
        pl.col("proto_raw").replace(scanner.PROTOCOL_NAMES).alias("proto"),
        # Flags are words after WINDOW=/RES=; none there is a NULL scan, no TCP header is null.
        pl.when(is_tcp & (pl.col("tcp_window").is_not_null() | pl.col("tcp_flag_bits").is_not_null()))
        .then(pl.col("tcp_flag_bits").fill_null(0).replace_strict(_TCP_FLAG_TEXT, return_dtype=pl.String))
        .alias("tcp_flags"),
        pl.when(pl.col("in_iface").is_not_null() | pl.col("out_iface").is_not_null())
        .then(pl.col("ip_flag_bits").replace_strict(_IP_FLAG_TEXT, default="", return_dtype=pl.String))
        .alias("ip_flags"),
        pl.when(is_tcp).then(pl.col("tcp_seq")).alias("tcp_seq"),
        pl.when(is_tcp).then(pl.col("tcp_ack")).alias("tcp_ack"),
        pl.when(pl.col("fmt") != scanner.FMT_NONE).then(pl.col("msg_hash")).alias("msg_hash"),
    )
    rows = rows.with_columns(pl.when(pl.col("kind") == "record").then(pl.col("weight")).otherwise(1).alias("weight"))
    return _with_raw_lines(rows, chunk, originals).drop(
        "__bad_address", "tag", "pve_chain", "candidate", "tcp_flag_bits", "ip_flag_bits",
        "local_us", "offset_s", "line_start", "line_end", "fmt", "proto_raw",
    )


def _actions(prefixes: pl.Series) -> dict[str, str]:
    """Action of each distinct prefix (first matching rule of _ACTION_RULES, else unknown)."""
    frame = pl.DataFrame({"prefix": prefixes.drop_nulls().unique()})
    frame = frame.with_columns(_prefix_words(pl.col("prefix")).alias("words"))
    action = pl.lit("unknown")
    for name, kind, pattern in reversed(_ACTION_RULES):
        if kind == "words":
            hit = pl.col("words").str.contains(" (?:" + "|".join(pattern) + ") ")
        else:
            hit = pl.col("prefix").str.contains(pattern)
        action = pl.when(hit).then(pl.lit(name)).otherwise(action)
    return dict(frame.select("prefix", action.alias("action")).iter_rows())


def _prefix_words(prefix: pl.Expr) -> pl.Expr:
    """The prefix as lower-case words between single spaces (" iptables dropped "): words are
    split at every non-letter (`_`, `-`, `:`, digits, brackets) and at camel case
    (`IPTables` -> ip tables, `INext` -> i next), so action words match only whole."""
    camel = prefix.str.replace_all(r"([a-z])([A-Z])", "$1 $2").str.replace_all(r"([A-Z])([A-Z][a-z])", "$1 $2")
    return pl.concat_str(pl.lit(" "), camel.str.to_lowercase().str.replace_all(r"[^a-z]+", " "), pl.lit(" "))


def _bit_names(names: Sequence[str]) -> dict[int, str]:
    """Every combination of flag bits -> the flag names in kernel order, space-separated."""
    return {bits: " ".join(n for i, n in enumerate(names) if bits & (1 << i)) for bits in range(1 << len(names))}


_TCP_FLAG_TEXT = _bit_names(scanner.TCP_FLAG_NAMES)
_IP_FLAG_TEXT = _bit_names(scanner.IP_FLAG_NAMES)


def header_time(tz: str) -> pl.Expr:
    """UTC time of ISO 8601 / Proxmox headers (RFC 3164 gets its year later, per file)."""
    offset = pl.col("offset_s")
    has_offset = offset != -99999
    with_offset = pl.from_epoch(pl.col("local_us") - offset * 1_000_000, time_unit="us").dt.replace_time_zone("UTC")
    local = (
        pl.from_epoch(pl.col("local_us"), time_unit="us")
        .dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    is_dated = pl.col("fmt").is_in([scanner.FMT_ISO, scanner.FMT_PVE])
    return pl.when(is_dated & has_offset).then(with_offset).when(is_dated).then(local)


def _with_raw_lines(rows: pl.DataFrame, chunk: bytes, originals: dict[int, bytes]) -> pl.DataFrame:
    """The raw text of rejected lines (decoded leniently); null for records and ignored lines.
    `originals` holds lines as read where the chunk holds a rewritten form (journald JSON)."""
    rejected = rows.select(
        ~pl.col("kind").is_in(["record", "ignored"]), "line_start", "line_end"
    )
    keep = rejected.to_series(0).to_numpy()
    raw: list[str | None] = [None] * rows.height
    if keep.any():
        starts = rejected["line_start"].to_numpy()
        ends = rejected["line_end"].to_numpy()
        for i in keep.nonzero()[0]:
            line = originals.get(int(i), chunk[starts[i]:ends[i]])
            raw[i] = line.rstrip(b"\r").decode("utf-8", "replace")
    return rows.with_columns(pl.Series("raw_line", raw, dtype=pl.String))


def journal_json_chunk(chunk: bytes) -> tuple[bytes, dict[int, bytes]]:
    """Rewrite `journalctl -o json` lines as ISO-header text lines (line count unchanged);
    also returns {line index: original line} for the rewritten lines."""
    if not chunk.startswith(b"{"):  # journal exports are JSON on every line
        return chunk, {}
    lines = chunk.split(b"\n")
    originals = {}
    for i, line in enumerate(lines):
        if line.startswith(b"{"):
            text = syslog.journal_json_to_text(line.decode("utf-8", "replace"))
            if text is not None:
                originals[i] = line
                lines[i] = text.encode("utf-8")
    return b"\n".join(lines), originals


def _validate_addresses(frame: pl.DataFrame) -> pl.DataFrame:
    """Flag invalid SRC/DST, set ip_version, write IPv6 addresses in compressed form.

    The scanner already checked IPv4 dotted quads; IPv6-looking values are checked (once per
    distinct value) with `ipaddress`.
    """
    src, dst = pl.col("src_ip"), pl.col("dst_ip")
    v6 = pl.concat([
        frame.filter(pl.col("src_kind") == 6)["src_ip"], frame.filter(pl.col("dst_kind") == 6)["dst_ip"]
    ]).unique()
    canonical = {v: _canonical_ipv6(v) for v in v6.to_list()}

    def fixed(col: pl.Expr, kind: pl.Expr) -> pl.Expr:
        return pl.when(kind == 6).then(col.replace_strict(canonical, default=None, return_dtype=pl.String)).otherwise(col)

    src_fixed = fixed(src, pl.col("src_kind"))
    dst_fixed = fixed(dst, pl.col("dst_kind"))
    present = (src.str.len_bytes() > 0) & (dst.str.len_bytes() > 0)
    bad = (pl.col("src_kind") == 0) | (pl.col("dst_kind") == 0) | src_fixed.is_null() | dst_fixed.is_null()
    return frame.with_columns(
        pl.coalesce(src_fixed, src).alias("src_ip"),
        pl.coalesce(dst_fixed, dst).alias("dst_ip"),
        (present & bad).fill_null(False).alias("__bad_address"),
        pl.when(pl.col("src_kind") == 6).then(6).otherwise(4).cast(pl.Int8).alias("ip_version"),
    ).drop("src_kind", "dst_kind")


@functools.lru_cache(maxsize=1 << 16)
def _canonical_ipv6(text: str) -> str | None:
    try:
        return ipaddress.IPv6Address(text).compressed
    except ValueError:
        return None


def combine(parsed: Sequence[FileParse], config: ParseConfig) -> ParseResult:
    """Deduplicate records and rejects across files and give them their final columns."""
    order = {fp.file.relative: i for i, fp in enumerate(sorted(parsed, key=lambda fp: fp.file.relative))}
    records = [fp.records for fp in parsed if fp.records.height]
    rejects = [fp.rejects for fp in parsed if fp.rejects.height]
    weights = sum(int(fp.records["weight"].sum() or 0) for fp in parsed if fp.records.height)
    repeated_extra = weights - sum(fp.records.height for fp in parsed)
    for fp in parsed:  # the combined frame below is all that is kept of the records
        fp.records = fp.records.clear()
    rec, rec_removed = deduplicate(_concat(records), order)
    del records
    rej, rej_removed = deduplicate(_concat(rejects), order)
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
    key = ["timestamp", "__msg_hash"]  # the hash covers host, program and message
    rows = rows.with_columns(
        pl.col("source_file").replace_strict(file_order, return_dtype=pl.Int64).alias("__file"),
    ).with_row_index("__row")
    # Lines without a readable header (no message hash) cannot be matched across files: keep each.
    rows = rows.with_columns(
        pl.coalesce(pl.col("msg_hash"), -1 - pl.col("__row").cast(pl.Int64)).alias("__msg_hash")
    )
    per_file = rows.group_by(key + ["__file"]).agg(
        pl.col("weight").sum().alias("__n"), pl.col("__row").min().alias("__first")
    )
    per_event = per_file.sort("__file").group_by(key, maintain_order=True).agg(
        pl.col("__n").max().alias("__n"), pl.col("__first").first().alias("__first")
    )
    total = int(rows["weight"].sum())
    kept = int(per_event["__n"].sum())
    if per_event.height == rows.height and total == rows.height:
        return rows.drop("__msg_hash", "__file", "__row"), 0
    # One row index per event: the first occurrence, repeated for its count, then one gather.
    indices = per_event.select(pl.col("__first").repeat_by(pl.col("__n")).explode().sort())["__first"]
    return rows.drop("__msg_hash", "__file", "__row")[indices], total - kept


def _finish(rows: pl.DataFrame | None, columns: Sequence[str], tz: str) -> pl.DataFrame:
    """Final schema: the public columns in order, timestamps in the logs' time zone, sorted."""
    schema = record_schema(tz) if columns is RECORD_COLUMNS else reject_schema(tz)
    if rows is None or rows.height == 0:
        return pl.DataFrame(schema=schema)
    present = set(rows.columns)
    rows = rows.select(
        pl.col(c).cast(schema[c]) if c in present else pl.lit(None, dtype=schema[c]).alias(c)
        for c in columns
    ).with_columns(pl.col("timestamp").dt.convert_time_zone(tz))
    order = ["timestamp", "source_file", "line_number"]
    if rows.select(_in_order(order)).item():  # usual for one file: skip a full copy
        return rows
    return rows.sort(order, maintain_order=True)


def _in_order(columns: Sequence[str]) -> pl.Expr:
    """True if rows are already sorted by `columns` (lexicographically, ascending)."""
    later = pl.lit(False)
    for c in reversed(columns):
        step = pl.col(c).shift(-1)
        later = (step > pl.col(c)) | ((step == pl.col(c)) & later)
        later = later.fill_null(True)
    return later.all()


def record_schema(tz: str) -> dict[str, pl.DataType]:
    """Column types of `firewall_events` (also the JSON keys of `iptables-assets parse`)."""
    strings = {"host", "program", "prefix", "action", "in_iface", "out_iface", "phys_in", "phys_out",
               "mac", "src_ip", "dst_ip", "proto", "ip_flags", "ip_options", "tcp_flags",
               "tcp_options", "source_file"}
    # 32-bit unsigned values (sequence numbers, SPI, MARK) and line numbers need 64 bits.
    wide = {"tcp_seq", "tcp_ack", "esp_spi", "mark", "line_number"}
    schema: dict[str, pl.DataType] = {}
    for c in RECORD_COLUMNS:
        if c == "timestamp":
            schema[c] = pl.Datetime("us", tz)
        elif c == "ip_version":
            schema[c] = pl.Int8
        elif c in strings:
            schema[c] = pl.String
        else:
            schema[c] = pl.Int64 if c in wide else pl.Int32
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
    damage: str | None = None  # why reading stopped early (truncated/corrupt compressed file)


def scan_file(file: LogFile, anchor: datetime, config: ParseConfig = ParseConfig()) -> FileScan:
    """Read only the syslog headers of a file (cheaper than `parse_file`) to date its content;
    a damaged compressed file is dated from what could be read and the damage is kept, so the
    inventory can name it."""
    damage: list[str] = []
    scan = scan_chunks(iter_line_chunks(file.path, file.compression, config.chunk_bytes, damage), anchor, config)
    return dataclasses.replace(scan, damage=damage[0]) if damage else scan


def scan_chunks(chunks: Iterable[tuple[int, bytes]], anchor: datetime, config: ParseConfig = ParseConfig()) -> FileScan:
    """Line count and first/last timestamps of (first line number, bytes) chunks of one file."""
    pieces = []
    for first_line, chunk in chunks:
        rows = scanner.scan(journal_json_chunk(chunk)[0], first_line, text_fields=())
        pieces.append(rows.select(
            pl.when(pl.col("fmt") == scanner.FMT_RFC3164).then(pl.col("md")).alias("md"),
            header_time(config.tz).alias("ts"),
        ))
    if not pieces:
        return FileScan(0, None, None)
    rows = syslog.resolve_timestamps(pl.concat(pieces), anchor, config.tz)
    stamps = rows["ts"].drop_nulls()
    if stamps.len() == 0:
        return FileScan(rows.height, None, None)
    return FileScan(rows.height, stamps.min(), stamps.max())
