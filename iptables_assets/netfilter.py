"""Vectorised extraction of the KEY=VALUE fields the kernel's LOG/NFLOG targets write.

Works on a polars column holding the netfilter part of a message (after the syslog header and
the optional `[uptime]` stamp), which must be ASCII so that byte offsets equal character offsets.
Fields are located with literal searches (fast) and cut with slices, in the order the kernel
writes them (net/netfilter/nf_log_syslog.c): interface and MAC, IP header, then the transport
header, then an optional quoted inner packet (`[SRC=… DST=…]`) for ICMP errors, then UID/GID/MARK.
"""

from __future__ import annotations

import polars as pl

# (column, key as searched, scope, width, kind). Scope says which part of the line may hold it:
# "ip" before PROTO=, "l4" after PROTO= and before any quoted inner packet, "any" anywhere.
FIELDS: tuple[tuple[str, str, str, int, str], ...] = (
    ("out_iface", " OUT=", "ip", 24, "str"),
    ("phys_in", " PHYSIN=", "ip", 24, "str"),
    ("phys_out", " PHYSOUT=", "ip", 24, "str"),
    ("mac", " MAC=", "ip", 160, "str"),
    ("src_ip", " SRC=", "ip", 48, "str"),
    ("dst_ip", " DST=", "ip", 48, "str"),
    ("length", " LEN=", "ip", 12, "int"),
    ("tos", " TOS=", "ip", 8, "hex"),
    ("prec", " PREC=", "ip", 8, "hex"),
    ("ttl", " TTL=", "ip", 8, "int"),
    ("ip_id", " ID=", "ip", 12, "int"),
    ("frag_offset", " FRAG:", "ip", 12, "int"),
    ("traffic_class", " TC=", "ip", 8, "int"),
    ("hop_limit", " HOPLIMIT=", "ip", 8, "int"),
    ("flow_label", " FLOWLBL=", "ip", 12, "int"),
    ("proto_raw", " PROTO=", "any", 12, "str"),
    ("incomplete_bytes", " INCOMPLETE [", "l4", 12, "int"),
    ("src_port", " SPT=", "l4", 8, "int"),
    ("dst_port", " DPT=", "l4", 8, "int"),
    ("tcp_seq", " SEQ=", "l4", 12, "int"),
    ("tcp_ack", " ACK=", "l4", 12, "int"),
    ("tcp_window", " WINDOW=", "l4", 8, "int"),
    ("tcp_res", " RES=", "l4", 8, "hex"),
    ("tcp_urgp", " URGP=", "l4", 8, "int"),
    ("icmp_type", " TYPE=", "l4", 8, "int"),
    ("icmp_code", " CODE=", "l4", 8, "int"),
    ("icmp_mtu", " MTU=", "l4", 8, "int"),
    ("esp_spi", " SPI=", "l4", 12, "hex"),
    ("uid", " UID=", "any", 12, "int"),
    ("gid", " GID=", "any", 12, "int"),
    ("mark", " MARK=", "any", 12, "hex"),
)
# Fields found only after another field: (column, anchor column, key, width, kind).
TAIL_FIELDS: tuple[tuple[str, str, str, int, str], ...] = (
    ("udp_length", "proto_raw", " LEN=", 12, "int"),
    ("icmp_id", "icmp_type", " ID=", 12, "int"),
    ("icmp_seq", "icmp_type", " SEQ=", 12, "int"),
)
IP_FLAGS = ("CE", "DF", "MF")
TCP_FLAG_NAMES = ("CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN")
_TCP_FLAGS_RE = (
    r"^WINDOW=\d+ (?:RES=0x[0-9A-Fa-f]+ )?((?:(?:CWR|ECE|URG|ACK|PSH|RST|SYN|FIN)(?: |$))*)"
)
_OPT_RE = r"^ OPT \(([0-9A-Fa-f ]*)\)"

# IANA protocol numbers the kernel prints numerically when it has no decoder for them.
PROTOCOL_NAMES = {
    "1": "ICMP", "2": "IGMP", "4": "IPIP", "6": "TCP", "17": "UDP", "41": "IPV6", "47": "GRE",
    "50": "ESP", "51": "AH", "58": "ICMPv6", "89": "OSPF", "103": "PIM", "112": "VRRP",
    "132": "SCTP", "136": "UDPLITE",
}

_POS = "__pos_"


def _pos(name: str) -> str:
    return _POS + name


def _find(text: pl.Expr, key: str) -> pl.Expr:
    return text.str.find(key, literal=True).cast(pl.Int64)


def _find_after(text: pl.Expr, start: pl.Expr, key: str) -> pl.Expr:
    """Offset of `key` at or after `start` (null when start is null or key absent)."""
    return _find(text.str.slice(start), key) + start


def _cut(text: pl.Expr, start: pl.Expr, width: int) -> pl.Expr:
    """The space-delimited token starting at `start` (at most `width` characters)."""
    head = text.str.slice(start, width)
    return head.str.slice(0, head.str.find(" ", literal=True))


def _value(text: pl.Expr, start: pl.Expr, width: int, kind: str, present: bool) -> pl.Expr:
    """Typed value of the token at `start`; a typed null column when no row has the field."""
    if not present:
        return pl.lit(None, dtype=pl.String if kind == "str" else pl.Int64)
    return _typed(_cut(text, start, width), kind)


def _typed(raw: pl.Expr, kind: str) -> pl.Expr:
    if kind == "int":
        return raw.str.to_integer(base=10, strict=False, dtype=pl.Int64)
    if kind == "hex":
        return raw.str.strip_chars_end("]").str.strip_prefix("0x").str.to_integer(base=16, strict=False, dtype=pl.Int64)
    return raw


def extract(frame: pl.DataFrame, text_col: str) -> pl.DataFrame:
    """Add one typed column per netfilter field (see FIELDS) parsed from `text_col`."""
    text = pl.col(text_col)
    frame = frame.with_columns(
        _find(text, "IN=").alias(_pos("in")),
        _find(text, " PROTO=").alias(_pos("proto")),
        _find(text, "[SRC=").alias(_pos("inner")),
        *[_find(text, key).alias(_pos(name)) for name, key, *_ in FIELDS if name != "proto_raw"],
        *[_find(text, f" {flag} ").alias(_pos(flag)) for flag in IP_FLAGS],
        _find(text, " OPT (").alias(_pos("opt")),
    )
    frame = frame.with_columns(
        [
            _in_scope(pl.col(_pos(name)), scope).alias(_pos(name))
            for name, _, scope, _, _ in FIELDS
            if name != "proto_raw"
        ]
    )
    frame = frame.with_columns(pl.col(_pos("proto")).alias(_pos("proto_raw")))
    present = {c for c in frame.columns if c.startswith(_POS) and frame[c].null_count() < frame.height}
    frame = frame.lazy().with_columns(
        _cut(text, pl.col(_pos("in")) + 3, 24).alias("in_iface"),
        text.str.slice(0, pl.coalesce(pl.col(_pos("in")), pl.col(_pos("out_iface")))).str.strip_chars().alias("prefix"),
        *[
            _value(text, pl.col(_pos(name)) + len(key), width, kind, _pos(name) in present).alias(name)
            for name, key, _, width, kind in FIELDS
        ],
    )
    frame = frame.with_columns(
        _value(
            text,
            _find_after(text, pl.col(_pos(anchor)), key) + len(key),
            width,
            kind,
            _pos(anchor) in present,
        ).alias(name)
        for name, anchor, key, width, kind in TAIL_FIELDS
    )
    frame = frame.with_columns(
        _ip_flags(),
        _tcp_flags(text),
        _ip_options(text).alias("ip_options"),
        _tcp_options(text).alias("tcp_options"),
    )
    return frame.drop(pl.selectors.starts_with(_POS)).collect()


def _in_scope(p: pl.Expr, scope: str) -> pl.Expr:
    """Keep a field offset only where the kernel writes that field (see FIELDS scopes)."""
    proto = pl.col(_pos("proto"))
    inner = pl.col(_pos("inner"))
    before_inner = inner.is_null() | (p < inner)
    if scope == "ip":
        cond = (proto.is_null() | (p < proto)) & before_inner
    elif scope == "l4":
        cond = proto.is_not_null() & (p > proto) & before_inner
    else:
        return p
    return pl.when(cond).then(p)


def _ip_flags() -> pl.Expr:
    """CE/DF/MF flags of the IP header, space-separated in kernel order ("" when none)."""
    proto = pl.col(_pos("proto"))
    present = [
        pl.when(
            pl.col(_pos(flag)).is_not_null() & (proto.is_null() | (pl.col(_pos(flag)) < proto))
        ).then(pl.lit(flag))
        for flag in IP_FLAGS
    ]
    return pl.concat_str(present, separator=" ", ignore_nulls=True).alias("ip_flags")


def _tcp_flags(text: pl.Expr) -> pl.Expr:
    """TCP flag words written after WINDOW=/RES= (empty string for a NULL scan)."""
    window = pl.col(_pos("tcp_window"))
    raw = text.str.slice(window + 1, 80).str.extract(_TCP_FLAGS_RE).str.strip_chars()
    return pl.when(pl.col("proto_raw") == "TCP").then(raw).alias("tcp_flags")


def _ip_options(text: pl.Expr) -> pl.Expr:
    """Hex of the first IP-header `OPT (…)` group, written before PROTO=."""
    opt = pl.col(_pos("opt"))
    proto = pl.col(_pos("proto"))
    keep = opt.is_not_null() & (proto.is_null() | (opt < proto))
    return pl.when(keep).then(text.str.slice(opt, 200).str.extract(_OPT_RE))


def _tcp_options(text: pl.Expr) -> pl.Expr:
    """Hex of the TCP `OPT (…)` group, written after URGP=."""
    urgp = pl.col(_pos("tcp_urgp"))
    start = _find_after(text, urgp, " OPT (")
    return text.str.slice(start, 200).str.extract(_OPT_RE)
