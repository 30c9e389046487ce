"""A chunk of raw lines -> one row per line, sorted into record, reject (with its reason) or
ignored: program and trust, header time, validated addresses, action, flags as text."""

from __future__ import annotations

import functools
import ipaddress
from typing import Sequence

import polars as pl

from iptables_assets.ingest.lines import columns, scanner
from iptables_assets.ingest.lines.timeline import header_time
from iptables_assets.ingest.records.firewall.actions import prefix_actions
from iptables_assets.ingest.parse_config import ParseConfig
from iptables_assets.ingest.lines.syslog import journal_json_chunk

# Ubiquiti rule names that open a program-less line: UniFi OS `[WAN_LOCAL-D-2147483647]`
# (rule set, action, rule number) and EdgeOS `[WAN_IN-10-A]` / `[WAN_IN-default-D]` (rule set,
# rule number or default, action). The name must stand alone (a space or nothing after it):
# a `logger -t '[WAN_IN-10-A]'` tag is written with a colon after it and is not one.
_UNIFI_RULE = r"^\[[A-Za-z0-9_.-]+-(?:[ADR]-\d+|(?:\d+|default)-[ADR])\](?: |$)"


def classify_chunk(chunk: bytes, first_line: int, config: ParseConfig) -> pl.DataFrame:
    """Scan a chunk of lines and sort each into record / reject / ignored rows."""
    chunk, originals = journal_json_chunk(chunk)
    rows = columns.scan(chunk, first_line)
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
        # `message repeated 0 times` or 10**18 times: no number of events can be believed.
        .when(pl.col("implausible_repeat")).then(pl.lit("implausible_repeat_count"))
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
        pl.col("prefix").replace_strict(prefix_actions(rows["prefix"]), default="unknown", return_dtype=pl.String)
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
        "local_us", "offset_s", "line_start", "line_end", "fmt", "proto_raw", "implausible_repeat",
    )


def _bit_names(names: Sequence[str]) -> dict[int, str]:
    """Every combination of flag bits -> the flag names in kernel order, space-separated."""
    return {bits: " ".join(n for i, n in enumerate(names) if bits & (1 << i)) for bits in range(1 << len(names))}


_TCP_FLAG_TEXT = _bit_names(scanner.TCP_FLAG_NAMES)
_IP_FLAG_TEXT = _bit_names(scanner.IP_FLAG_NAMES)


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


def _validate_addresses(frame: pl.DataFrame) -> pl.DataFrame:
    """Flag invalid SRC/DST, set ip_version, write IPv6 addresses in compressed form.

    The scanner already checked IPv4 dotted quads; IPv6-looking values are checked (once per
    distinct value) with `ipaddress`.
    """
    src, dst = pl.col("src_ip"), pl.col("dst_ip")
    v6 = pl.concat([
        frame["src_ip"].filter(frame["src_kind"] == 6), frame["dst_ip"].filter(frame["dst_kind"] == 6)
    ]).unique()
    # IPv6-looking text -> compressed form (None: not an address), replaced by text, not under a
    # when/then that would look up every row: the scanner gives every candidate row holding the
    # same text the same kind (other rows are ignored lines, whose addresses are never kept).
    # Text already in compressed form is left out: replacing it by itself is a no-op that
    # costs a lookup per row (logs mostly hold compressed addresses, so the map is often empty).
    canonical = {v: c for v in v6.to_list() if (c := _canonical_ipv6(v)) != v}

    def fixed(col: pl.Expr) -> pl.Expr:
        return col.replace(canonical) if canonical else col

    src_fixed = fixed(src)
    dst_fixed = fixed(dst)
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
