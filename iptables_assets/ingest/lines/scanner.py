"""Compiled (numba) scan of raw log bytes: syslog headers and netfilter fields, one pass a line.

This is the parsing hot path. It reads a chunk of bytes and fills one array per field with
numbers (-1 = absent) or (start, end) byte offsets of text fields; `columns.scan` turns them
into a polars DataFrame. Everything attacker-controlled stays data: offsets are clamped to the
line, text fields are copied as ASCII (other bytes become '?'), and indexing is bounds-checked.

Only the compiled code and what it needs (its tables, its input and output arrays) are here.

Recognised headers: RFC 3164 (`<PRI>` optional), ISO 8601 (rsyslog high precision,
`journalctl -o short-iso`), both with or without the host (see `_hostless`), and Proxmox
pve-firewall. Netfilter fields follow the order the kernel writes them
(net/netfilter/nf_log_syslog.c): IP-header keys only before PROTO=, transport keys only after
it, and nothing from an ICMP error's quoted inner packet `[SRC=… DST=… …]`.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit

from iptables_assets.ingest.lines import syslog

# Header formats.
FMT_NONE, FMT_RFC3164, FMT_ISO, FMT_PVE = 0, 1, 2, 3

# Numeric fields, in output column order: (column, key, scope, base). Scope: 0 = IP header
# (before PROTO=), 1 = transport (after PROTO=, outside an inner packet), 2 = anywhere outside
# an inner packet. The second LEN= after PROTO= is the UDP length; ID=/SEQ= after TYPE= belong
# to ICMP.
NUMERIC_FIELDS = (
    ("length", "LEN", 0, 10), ("tos", "TOS", 0, 16), ("prec", "PREC", 0, 16),
    ("ttl", "TTL", 0, 10), ("ip_id", "ID", 0, 10), ("traffic_class", "TC", 0, 10),
    ("hop_limit", "HOPLIMIT", 0, 10), ("flow_label", "FLOWLBL", 0, 10),
    ("src_port", "SPT", 1, 10), ("dst_port", "DPT", 1, 10), ("tcp_seq", "SEQ", 1, 10),
    ("tcp_ack", "ACK", 1, 10), ("tcp_window", "WINDOW", 1, 10), ("tcp_res", "RES", 1, 16),
    ("tcp_urgp", "URGP", 1, 10), ("icmp_type", "TYPE", 1, 10), ("icmp_code", "CODE", 1, 10),
    ("icmp_mtu", "MTU", 1, 10), ("esp_spi", "SPI", 1, 16), ("uid", "UID", 2, 10),
    ("gid", "GID", 2, 10), ("mark", "MARK", 2, 16),
    # Filled by position rules, not by their own key:
    ("udp_length", "", 1, 10), ("icmp_id", "", 1, 10), ("icmp_seq", "", 1, 10),
    ("frag_offset", "", 0, 10), ("incomplete_bytes", "", 1, 10),
)
N_NUM = len(NUMERIC_FIELDS)
# Fields that can exceed 2**31 - 1 (32-bit unsigned on the wire); the others fit an Int32.
WIDE_FIELDS = frozenset({"tcp_seq", "tcp_ack", "esp_spi", "mark"})
_NUM_INDEX = {name: i for i, (name, *_rest) in enumerate(NUMERIC_FIELDS)}
# Text fields as (start, end) offsets, in output column order.
TEXT_FIELDS = (
    "host", "tag", "prefix", "in_iface", "out_iface", "phys_in", "phys_out", "mac", "src_ip",
    "dst_ip", "proto_raw", "ip_options", "tcp_options", "message", "pve_chain",
)
N_TXT = len(TEXT_FIELDS)
_TXT_INDEX = {name: i for i, name in enumerate(TEXT_FIELDS)}
_TEXT_KEYS = (("IN", "in_iface", 0), ("OUT", "out_iface", 0), ("PHYSIN", "phys_in", 0),
              ("PHYSOUT", "phys_out", 0), ("MAC", "mac", 0), ("SRC", "src_ip", 0),
              ("DST", "dst_ip", 0), ("PROTO", "proto_raw", 2))

# IANA protocol numbers the kernel prints numerically when it has no decoder for them.
PROTOCOL_NAMES = {
    "1": "ICMP", "2": "IGMP", "4": "IPIP", "6": "TCP", "17": "UDP", "41": "IPV6", "47": "GRE",
    "50": "ESP", "51": "AH", "58": "ICMPv6", "89": "OSPF", "103": "PIM", "112": "VRRP",
    "132": "SCTP", "136": "UDPLITE",
}

TCP_FLAG_NAMES = ("CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN")
IP_FLAG_NAMES = ("CE", "DF", "MF")


def _key_table():
    """Keys as a padded byte matrix with lengths, kinds (0 numeric, 1 text), targets, scopes."""
    entries = [(k, 0, i, scope, base) for i, (_n, k, scope, base) in enumerate(NUMERIC_FIELDS) if k]
    entries += [(k, 1, _TXT_INDEX[name], scope, 0) for k, name, scope in _TEXT_KEYS]
    width = max(len(e[0]) for e in entries)
    keys = np.zeros((len(entries), width), dtype=np.uint8)
    meta = np.zeros((len(entries), 5), dtype=np.int64)
    for row, (key, kind, target, scope, base) in enumerate(entries):
        keys[row, : len(key)] = np.frombuffer(key.encode(), dtype=np.uint8)
        meta[row] = (len(key), kind, target, scope, base)
    return keys, meta


def _word_table(words):
    table = np.zeros((len(words), 4), dtype=np.uint8)
    lengths = np.zeros(len(words), dtype=np.int64)
    for i, w in enumerate(words):
        table[i, : len(w)] = np.frombuffer(w.encode(), dtype=np.uint8)
        lengths[i] = len(w)
    return table, lengths


_KEYS, _KEY_META = _key_table()


def _key_index(keys: np.ndarray, meta: np.ndarray) -> np.ndarray:
    """Key row by (length, first, second and last letter): keys are upper-case, unique there."""
    index = np.full((keys.shape[1] + 1, 26, 26, 26), -1, dtype=np.int8)
    for row in range(keys.shape[0]):
        n = meta[row, 0]
        slot = (n, keys[row, 0] - 65, keys[row, 1] - 65, keys[row, n - 1] - 65)
        assert index[slot] == -1, "two keys share length and first letters"
        index[slot] = row
    return index


_KEY_INDEX = _key_index(_KEYS, _KEY_META)
_TCP_WORDS, _TCP_LENS = _word_table(TCP_FLAG_NAMES)
_IP_WORDS, _IP_LENS = _word_table(IP_FLAG_NAMES)
_MONTHS = np.frombuffer(b"JanFebMarAprMayJunJulAugSepOctNovDec", dtype=np.uint8).reshape(12, 3)
_REPEATED_HEAD = np.frombuffer(syslog.REPEATED_HEAD.encode(), dtype=np.uint8)
_REPEATED_TIMES = np.frombuffer(syslog.REPEATED_TIMES.encode(), dtype=np.uint8)
_REPEATED_CLOSE = ord(syslog.REPEATED_CLOSE)
_MAX_REPEAT = syslog.MAX_REPEAT
_I_UDP_LEN = _NUM_INDEX["udp_length"]
_I_ICMP_ID = _NUM_INDEX["icmp_id"]
_I_ICMP_SEQ = _NUM_INDEX["icmp_seq"]
_I_FRAG = _NUM_INDEX["frag_offset"]
_I_INCOMPLETE = _NUM_INDEX["incomplete_bytes"]
_I_TYPE = _NUM_INDEX["icmp_type"]
_I_LEN = _NUM_INDEX["length"]
_I_ID = _NUM_INDEX["ip_id"]
_I_SEQ = _NUM_INDEX["tcp_seq"]
T_HOST = 0
T_TAG = 1
T_PREFIX = 2
T_IN_IFACE = 3
T_OUT_IFACE = 4
T_PHYS_IN = 5
T_PHYS_OUT = 6
T_MAC = 7
T_SRC_IP = 8
T_DST_IP = 9
T_PROTO_RAW = 10
T_IP_OPTIONS = 11
T_TCP_OPTIONS = 12
T_MESSAGE = 13
T_PVE_CHAIN = 14
_SRC = np.frombuffer(b"SRC=", dtype=np.uint8)
_IN = np.frombuffer(b"IN=", dtype=np.uint8)
_INCOMPLETE = np.frombuffer(b"INCOMPLETE", dtype=np.uint8)
_FRAG = np.frombuffer(b"FRAG:", dtype=np.uint8)


@njit(cache=True, boundscheck=False)
def _is_digit(c):
    return 48 <= c <= 57


@njit(cache=True, boundscheck=False)
def _number(buf, i, end, base):
    """(value, next index) of a decimal/hex number at i; value -1 if there is none."""
    if base == 16 and i + 1 < end and buf[i] == 48 and (buf[i + 1] == 120 or buf[i + 1] == 88):
        i += 2
    value = 0
    digits = 0
    while i < end and digits < 18:
        c = buf[i]
        if _is_digit(c):
            d = c - 48
        elif base == 16 and 97 <= c <= 102:
            d = c - 87
        elif base == 16 and 65 <= c <= 70:
            d = c - 55
        else:
            break
        value = value * base + d
        digits += 1
        i += 1
    if digits == 0:
        return -1, i
    return value, i


@njit(cache=True, boundscheck=False)
def _fixed_digits(buf, i, n):
    value = 0
    for k in range(n):
        c = buf[i + k]
        if not _is_digit(c):
            return -1
        value = value * 10 + (c - 48)
    return value


@njit(cache=True, boundscheck=False)
def _days_from_civil(y, m, d):
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True, boundscheck=False)
def _valid_date(y, m, d):
    if m < 1 or m > 12 or d < 1:
        return False
    days = (31, 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28, 31, 30, 31, 30,
            31, 31, 30, 31, 30, 31)
    return d <= days[m - 1]


@njit(cache=True, boundscheck=False)
def _month(buf, i):
    for m in range(12):
        if buf[i] == _MONTHS[m, 0] and buf[i + 1] == _MONTHS[m, 1] and buf[i + 2] == _MONTHS[m, 2]:
            return m + 1
    return 0


@njit(cache=True, boundscheck=False)
def _hms(buf, i):
    """Seconds of day of `HH:MM:SS` at i, or -1."""
    h = _fixed_digits(buf, i, 2)
    mi = _fixed_digits(buf, i + 3, 2)
    s = _fixed_digits(buf, i + 6, 2)
    if h < 0 or mi < 0 or s < 0 or buf[i + 2] != 58 or buf[i + 5] != 58 or h > 23 or mi > 59 or s > 60:
        return -1
    return h * 3600 + mi * 60 + s


@njit(cache=True, boundscheck=False)
def _offset_seconds(buf, i, end):
    """(seconds east of UTC, next index) for `Z`, `+HH:MM` or `+HHMM` at i; (-99999, i) if none."""
    if i < end and buf[i] == 90:
        return 0, i + 1
    if i + 5 <= end and (buf[i] == 43 or buf[i] == 45):
        sign = 1 if buf[i] == 43 else -1
        hh = _fixed_digits(buf, i + 1, 2)
        j = i + 3
        if j < end and buf[j] == 58:
            j += 1
        if j + 2 > end or hh < 0:
            return -99999, i
        mm = _fixed_digits(buf, j, 2)
        if mm < 0:
            return -99999, i
        return sign * (hh * 3600 + mm * 60), j + 2
    return -99999, i


@njit(cache=True, boundscheck=False)
def _header(buf, s, e, out_i, txt, line):
    """Parse the syslog header of line [s, e). Fills format, md / local time, host and tag;
    returns the offset where the message starts (s if there is no header)."""
    i = s
    if i < e and buf[i] == 60:  # <PRI>
        j = i + 1
        while j < e and j - i <= 4 and _is_digit(buf[j]):
            j += 1
        if j < e and buf[j] == 62 and j > i + 1:
            i = j + 1
    fmt = FMT_NONE
    if i + 16 <= e and buf[i + 3] == 32 and buf[i + 6] == 32 and buf[i + 15] == 32:
        month = _month(buf, i)
        d1 = buf[i + 4]
        d2 = buf[i + 5]
        day = -1
        if _is_digit(d2):
            if d1 == 32:
                day = d2 - 48
            elif _is_digit(d1):
                day = (d1 - 48) * 10 + d2 - 48
        secs = _hms(buf, i + 7)
        if month > 0 and 1 <= day <= 31 and secs >= 0:
            fmt = FMT_RFC3164
            out_i[1, line] = ((month * 32 + day) * 86400) + secs
            i += 16
    elif i + 20 <= e and buf[i + 4] == 45 and buf[i + 7] == 45 and (buf[i + 10] == 84 or buf[i + 10] == 32):
        y = _fixed_digits(buf, i, 4)
        mo = _fixed_digits(buf, i + 5, 2)
        d = _fixed_digits(buf, i + 8, 2)
        secs = _hms(buf, i + 11)
        if y >= 0 and mo >= 0 and d >= 0 and secs >= 0 and _valid_date(y, mo, d):
            j = i + 19
            micros = 0
            if j < e and (buf[j] == 46 or buf[j] == 44):
                j += 1
                scale = 100000
                while j < e and _is_digit(buf[j]):
                    if scale >= 1:
                        micros += (buf[j] - 48) * scale
                        scale //= 10
                    j += 1
            offset, j = _offset_seconds(buf, j, e)
            if j < e and buf[j] == 32:
                fmt = FMT_ISO
                local = (_days_from_civil(y, mo, d) * 86400 + secs) * 1000000 + micros
                out_i[2, line] = local
                out_i[3, line] = offset
                i = j + 1
    if fmt == FMT_NONE:
        return _pve_header(buf, s, e, out_i, txt, line)
    # host
    h = i
    while i < e and buf[i] != 32:
        i += 1
    if i >= e or i == h:
        out_i[0, line] = FMT_NONE
        return s
    out_i[0, line] = fmt
    m = _hostless(buf, h, i, e, txt, line)
    if m >= 0:
        return m
    txt[T_HOST, 0, line] = h
    txt[T_HOST, 1, line] = i
    i += 1
    # program tag: name[pid]: (name without spaces, colons or brackets, at most 64 bytes)
    t = i
    while i < e and i - t < 64 and buf[i] != 32 and buf[i] != 58 and buf[i] != 91 and buf[i] != 93:
        i += 1
    name_end = i
    if i < e and buf[i] == 91:
        i += 1
        while i < e and _is_digit(buf[i]):
            i += 1
        if i < e and buf[i] == 93:
            i += 1
        else:
            return t
    if name_end > t and i < e and buf[i] == 58 and (i + 1 == e or buf[i + 1] == 32):
        txt[T_TAG, 0, line] = t
        txt[T_TAG, 1, line] = name_end
        return min(i + 2, e)
    # No program tag. UniFi OS may write its host name twice: "UDMP UDMP [WAN_LOCAL-D-…] …".
    n = txt[T_HOST, 1, line] - h
    if t + n + 1 < e and buf[t + n] == 32 and buf[t + n + 1] == 91:
        same = True
        for k in range(n):
            if buf[t + k] != buf[h + k]:
                same = False
                break
        if same:
            return t + n + 1
    return t


@njit(cache=True, boundscheck=False)
def _hostless(buf, t, w, e, txt, line):
    """Message start of a line without a host, or -1 if the word [t, w) after the timestamp
    is a host. Devices and relays that omit the host write `TIMESTAMP TAG: MESSAGE`; a host
    name never ends in a single ':' (an IPv6 host may end in '::', which stays a host).

    `NAME[PID]:` and `NAME:` (NAME without ':' or brackets) are a program tag, as after a host.
    One exception: a tag without [pid] followed at once by `IN=` is the kernel's LOG prefix in
    the tag's place (`Jan  8 03:37:09 DENY: IN=eth0 …`). The kernel never writes a pid and
    writes IN= right after the prefix; a program's message (`sshd[1]: Invalid user IN=…`,
    `nginx: GET /?IN=…`) has its own tag. The message then starts at the word, so it becomes
    the netfilter prefix, and the line has neither host nor tag (parsing names it kernel).
    A local `logger -t DENY` line always carries the host, so it keeps the tag DENY.
    """
    if w - t < 2 or buf[w - 1] != 58 or buf[w - 2] == 58:
        return -1
    colons = 0
    n = t
    while n < w - 1 and buf[n] != 91 and buf[n] != 93:
        if buf[n] == 58:
            colons += 1
        n += 1
    if n == w - 1:  # no bracket: NAME:
        if _starts(buf, w + 1, e, _IN):
            return t
        if colons:
            return -1
        txt[T_TAG, 0, line] = t
        txt[T_TAG, 1, line] = n
        return w + 1
    # NAME[PID]:
    p = n + 1
    while p < w and _is_digit(buf[p]):
        p += 1
    if colons or n == t or buf[n] != 91 or p == n + 1 or p != w - 2 or buf[p] != 93:
        return -1
    txt[T_TAG, 0, line] = t
    txt[T_TAG, 1, line] = n
    return w + 1


@njit(cache=True, boundscheck=False)
def _pve_header(buf, s, e, out_i, txt, line):
    """`VMID LEVEL CHAIN DD/Mon/YYYY:HH:MM:SS +ZZZZ ` (Proxmox pve-firewall.log)."""
    i = s
    for _ in range(2):
        j = i
        while i < e and _is_digit(buf[i]):
            i += 1
        if i == j or i >= e or buf[i] != 32:
            return s
        i += 1
    c = i
    while i < e and buf[i] != 32:
        i += 1
    chain_end = i
    i += 1
    if chain_end == c or i + 27 > e or buf[i + 2] != 47 or buf[i + 6] != 47 or buf[i + 11] != 58:
        return s
    d = _fixed_digits(buf, i, 2)
    mo = _month(buf, i + 3)
    y = _fixed_digits(buf, i + 7, 4)
    secs = _hms(buf, i + 12)
    if d < 0 or mo == 0 or y < 0 or secs < 0 or buf[i + 20] != 32 or not _valid_date(y, mo, d):
        return s
    offset, j = _offset_seconds(buf, i + 21, e)
    if offset == -99999 or j >= e or buf[j] != 32:
        return s
    out_i[0, line] = FMT_PVE
    out_i[2, line] = (_days_from_civil(y, mo, d) * 86400 + secs) * 1000000
    out_i[3, line] = offset
    txt[T_PVE_CHAIN, 0, line] = c
    txt[T_PVE_CHAIN, 1, line] = chain_end
    return j + 1


@njit(cache=True, boundscheck=False)
def _find(buf, s, e, pat0, pat1, pat2):
    """Offset of the 3-byte pattern in [s, e) or -1."""
    i = s
    while i + 3 <= e:
        if buf[i] == pat0 and buf[i + 1] == pat1 and buf[i + 2] == pat2:
            return i
        i += 1
    return -1


@njit(cache=True, boundscheck=False)
def _key_start(buf, s, e, p0, p1, p2, keylen):
    """Start of the first KEY= whose key is not the tail of a longer word (IN= but not PHYSIN=)."""
    i = s
    while True:
        j = _find(buf, i, e, p0, p1, p2)
        if j < 0:
            return -1
        start = j + 2 - keylen
        if start >= s and (start == s or not (65 <= buf[start - 1] <= 90)):
            if keylen == 2 or buf[start] == 79:
                return start
        i = j + 1


@njit(cache=True, boundscheck=False)
def _candidate(buf, s, e):
    """Does the message look like netfilter output? (IN= with OUT= or SRC=, or SRC= with DST=)"""
    has_in = has_out = has_src = has_dst = False
    for i in range(s + 2, e):
        if buf[i] != 61:  # '='
            continue
        a, b = buf[i - 2], buf[i - 1]
        if a == 73 and b == 78:
            has_in = True
        elif a == 85 and b == 84:
            has_out = True
        elif a == 82 and b == 67:
            has_src = True
        elif a == 83 and b == 84:
            has_dst = True
    return (has_in and (has_out or has_src)) or (has_src and has_dst)


@njit(cache=True, boundscheck=False)
def _starts(buf, i, e, pat):
    if i + len(pat) > e:
        return False
    for k in range(len(pat)):
        if buf[i + k] != pat[k]:
            return False
    return True


@njit(cache=True, boundscheck=False)
def _word(buf, a, b, table, lengths):
    """Index of the token [a, b) in a small word table, or -1."""
    n = b - a
    for w in range(len(lengths)):
        if lengths[w] == n:
            same = True
            for k in range(n):
                if buf[a + k] != table[w, k]:
                    same = False
                    break
            if same:
                return w
    return -1


@njit(cache=True, boundscheck=False)
def _key(buf, a, b):
    """Row of the key [a, b) in the key table, or -1 (indexed by length and three letters)."""
    n = b - a
    if n < 2 or n >= _KEY_INDEX.shape[0]:
        return -1
    c0 = buf[a] - 65
    c1 = buf[a + 1] - 65
    c2 = buf[b - 1] - 65
    if c0 < 0 or c0 >= 26 or c1 < 0 or c1 >= 26 or c2 < 0 or c2 >= 26:
        return -1
    r = _KEY_INDEX[n, c0, c1, c2]
    if r < 0:
        return -1
    for k in range(2, n):
        if buf[a + k] != _KEYS[r, k]:
            return -1
    return r


# The wrapper of syslog.REPEATED_*. On a well-formed one this agrees with syslog.unwrap_repeated
# (test_repeated_messages.py), but keeps the spaces inside the brackets (netfilter fields are
# read word by word). Malformed ones differ: a message without its `]`, or with spaces after
# it, is still unwrapped. A count outside 1..MAX_REPEAT (0, or any number of digits beyond)
# still unwraps, with N = 0: `classify` rejects such a line, sshd reads it as one event.
@njit(cache=True, boundscheck=False)
def _unwrap_repeated(buf, s, e):
    """(N, start, end) of the message in `message repeated N times: [ … ]`, else (1, s, e): one line, N events."""
    if not _starts(buf, s, e, _REPEATED_HEAD):
        return 1, s, e
    n, j = _repeat_count(buf, s + len(_REPEATED_HEAD), e)
    if n < 0 or not _starts(buf, j, e, _REPEATED_TIMES):
        return 1, s, e
    s = j + len(_REPEATED_TIMES)
    close = e - 1
    while close > s and buf[close] == 32:
        close -= 1
    if buf[close] == _REPEATED_CLOSE:
        e = close
    return (n if n <= _MAX_REPEAT else 0), s, e


@njit(cache=True, boundscheck=False)
def _repeat_count(buf, i, e):
    """(N, next index) of the digits at i, N capped at MAX_REPEAT + 1 so that no count overflows; -1 if none."""
    value = 0
    start = i
    while i < e and _is_digit(buf[i]):
        value = min(value * 10 + (buf[i] - 48), _MAX_REPEAT + 1)
        i += 1
    return (value if i > start else -1), i


@njit(cache=True, boundscheck=False)
def _netfilter(buf, s, e, num, txt, line, flags):
    """Parse netfilter fields of message [s, e) into row `line`; 0 if it has no IN=/OUT=, else 1."""
    # kernel uptime stamp "[  123.456789] "
    if s < e and buf[s] == 91:
        j = s + 1
        while j < e and buf[j] == 32:
            j += 1
        k = j
        while j < e and (_is_digit(buf[j]) or buf[j] == 46):
            j += 1
        if j < e and buf[j] == 93 and j > k:
            s = j + 1
    while s < e and buf[s] == 32:
        s += 1
    start_in = _key_start(buf, s, e, 73, 78, 61, 2)  # IN=
    if start_in < 0:
        start_in = _key_start(buf, s, e, 85, 84, 61, 3)  # OUT= (pve omits an empty IN=)
    if start_in < 0:
        return 0
    # prefix: text before IN=, trimmed
    a, b = s, start_in
    while b > a and buf[b - 1] == 32:
        b -= 1
    txt[T_PREFIX, 0, line] = a
    txt[T_PREFIX, 1, line] = b
    seen_proto = False
    seen_type = False
    inner = False
    lens = 0
    ids = 0
    i = start_in
    ip_flags = 0
    tcp_flags = -1
    while i < e:
        while i < e and buf[i] == 32:
            i += 1
        if i >= e:
            break
        t = i
        if buf[i] == 91 and _starts(buf, i + 1, e, _SRC):  # "[SRC=": quoted inner packet
            inner = True
            i += 1
            continue
        while i < e and buf[i] != 32 and buf[i] != 61 and not (inner and buf[i] == 93):
            i += 1
        if i < e and buf[i] == 61:
            key_end = i
            i += 1
            v = i
            while i < e and buf[i] != 32 and not (inner and buf[i] == 93):
                i += 1
            if inner:
                if i < e and buf[i] == 93:
                    inner = False
                    i += 1
                continue
            r = _key(buf, t, key_end)
            if r < 0:
                continue
            kind = _KEY_META[r, 1]
            target = _KEY_META[r, 2]
            scope = _KEY_META[r, 3]
            if kind == 1:
                if scope == 0 and seen_proto and target != T_PROTO_RAW:
                    continue
                if txt[target, 0, line] < 0:
                    txt[target, 0, line] = v
                    txt[target, 1, line] = i
                if target == T_PROTO_RAW:
                    seen_proto = True
                continue
            base = _KEY_META[r, 4]
            value, _ = _number(buf, v, i, base)
            if target == _I_LEN:
                lens += 1
                if seen_proto:
                    target = _I_UDP_LEN
                elif lens > 1:
                    continue
            elif target == _I_ID:
                ids += 1
                if seen_type:
                    target = _I_ICMP_ID
                elif seen_proto:
                    continue
            elif target == _I_SEQ and seen_type:
                target = _I_ICMP_SEQ
            elif scope == 0 and seen_proto:
                continue
            elif scope == 1 and not seen_proto:
                continue
            if target == _I_TYPE:
                seen_type = True
            if num[target, line] < 0:
                num[target, line] = value
            continue
        if inner:
            if i < e and buf[i] == 93:
                inner = False
                i += 1
            continue
        # bare words: OPT (...), INCOMPLETE [n bytes], FRAG:n, IP flags, TCP flags
        if i - t == 3 and buf[t] == 79 and buf[t + 1] == 80 and buf[t + 2] == 84 and i + 1 < e and buf[i + 1] == 40:
            j = i + 2
            while j < e and buf[j] != 41:
                j += 1
            which = T_TCP_OPTIONS if seen_proto else T_IP_OPTIONS
            if txt[which, 0, line] < 0:
                txt[which, 0, line] = i + 2
                txt[which, 1, line] = j
            i = j + 1
            continue
        if _starts(buf, t, i, _INCOMPLETE) and i + 1 < e and buf[i + 1] == 91:
            value, j = _number(buf, i + 2, e, 10)
            num[_I_INCOMPLETE, line] = value
            while j < e and buf[j] != 93:
                j += 1
            i = j + 1
            continue
        if _starts(buf, t, i, _FRAG):
            value, _ = _number(buf, t + 5, i, 10)
            num[_I_FRAG, line] = value
            continue
        if not seen_proto:
            w = _word(buf, t, i, _IP_WORDS, _IP_LENS)
            if w >= 0:
                ip_flags |= 1 << w
        else:
            w = _word(buf, t, i, _TCP_WORDS, _TCP_LENS)
            if w >= 0:
                tcp_flags = max(tcp_flags, 0) | (1 << w)
    flags[0, line] = ip_flags
    flags[1, line] = tcp_flags
    return 1



@njit(cache=True, boundscheck=False, nogil=True)
def _scan(buf, starts, ends, num, txt, info, flags):
    for line in range(len(starts)):
        s = starts[line]
        e = ends[line]
        if e > s and buf[e - 1] == 13:
            e -= 1
        m = _header(buf, s, e, info, txt, line)
        txt[T_MESSAGE, 0, line] = m
        txt[T_MESSAGE, 1, line] = e
        weight, ms, me = _unwrap_repeated(buf, m, e)
        found = _netfilter(buf, ms, me, num, txt, line, flags)
        has_in = txt[T_IN_IFACE, 0, line] >= 0
        has_out = txt[T_OUT_IFACE, 0, line] >= 0
        has_src = txt[T_SRC_IP, 0, line] >= 0
        if found:
            candidate = (((has_in or has_out) and has_src) or (has_in and has_out)
                         or (has_src and txt[T_DST_IP, 0, line] >= 0))
        else:
            candidate = _candidate(buf, m, e)
        if candidate:
            info[4, line] = 1
            info[5, line] = max(weight, 1)
            info[9, line] = 1 if weight == 0 else 0  # a repeat count not believed: classify rejects the line
            # Hash from the host on: the same event written to two files hashes the same.
            h = txt[T_HOST, 0, line]
            info[6, line] = _fnv1a(buf, h if h >= 0 else s, e)
            info[7, line] = _address_kind(buf, txt[T_SRC_IP, 0, line], txt[T_SRC_IP, 1, line])
            info[8, line] = _address_kind(buf, txt[T_DST_IP, 0, line], txt[T_DST_IP, 1, line])


@njit(cache=True, boundscheck=False)
def _address_kind(buf, a, b):
    """4 for a dotted-quad IPv4 address, 6 for IPv6-looking text (checked later), 0 otherwise."""
    if a < 0 or b <= a:
        return 0
    colon = False
    for i in range(a, b):
        c = buf[i]
        if c == 58:
            colon = True
        elif not (_is_digit(c) or c == 46 or 97 <= c <= 102 or 65 <= c <= 70):
            return 0
    if colon:
        return 6
    octets = 0
    i = a
    while i < b:
        value, j = _number(buf, i, b, 10)
        if value < 0 or value > 255 or j - i > 3:
            return 0
        octets += 1
        if j < b:
            if buf[j] != 46 or j + 1 == b:
                return 0
            j += 1
        i = j
    return 4 if octets == 4 else 0


@njit(cache=True, boundscheck=False)
def _fnv1a(buf, s, e):
    """64-bit FNV-1a over bytes [s, e) in four interleaved lanes (shorter dependency chains),
    folded together with the length; non-negative. Only used to match identical lines."""
    prime = 1099511628211
    h0 = h1 = h2 = h3 = -3750763034362895579  # FNV offset basis as a signed 64-bit integer
    i = s
    while i + 4 <= e:
        h0 = (h0 ^ buf[i]) * prime
        h1 = (h1 ^ buf[i + 1]) * prime
        h2 = (h2 ^ buf[i + 2]) * prime
        h3 = (h3 ^ buf[i + 3]) * prime
        i += 4
    while i < e:
        h0 = (h0 ^ buf[i]) * prime
        i += 1
    h = (h0 ^ (e - s)) * prime
    h = (h ^ h1) * prime
    h = (h ^ h2) * prime
    h = (h ^ h3) * prime
    return h & 0x7FFFFFFFFFFFFFFF


@njit(cache=True, boundscheck=False, nogil=True)
def _gather(buf, txt, fields):
    """Copy the byte spans of several text fields into one ASCII buffer ('?' for other bytes):
    (offsets per field, shape (len(fields), n + 1), all indexing the same data). One call for
    every field: a call per field cost more in dispatch and arrow wrapping than the copy."""
    n = txt.shape[2]
    offsets = np.zeros((len(fields), n + 1), dtype=np.int64)
    total = 0
    for f in range(len(fields)):
        spans = txt[fields[f]]
        offsets[f, 0] = total
        for r in range(n):
            a = spans[0, r]
            b = spans[1, r]
            if a >= 0 and b > a:
                total += b - a
            offsets[f, r + 1] = total
    data = np.empty(total, dtype=np.uint8)
    for f in range(len(fields)):
        spans = txt[fields[f]]
        for r in range(n):
            k = offsets[f, r]
            a = spans[0, r]
            for i in range(a, a + offsets[f, r + 1] - k):
                c = buf[i]
                data[k] = c if 32 <= c < 127 else 63
                k += 1
    return offsets, data


def line_bounds(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of every line ('\\n'-terminated; a last unterminated line counts)."""
    breaks = np.flatnonzero(buf == 10)
    ends = breaks
    if len(buf) and (len(breaks) == 0 or breaks[-1] != len(buf) - 1):
        ends = np.append(breaks, len(buf))
    starts = np.empty(len(ends), dtype=np.int64)
    if len(ends):
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    return starts, ends.astype(np.int64)


def scan_arrays(chunk: bytes) -> tuple[np.ndarray, ...]:
    """The compiled scan of a chunk: the byte buffer, line starts and ends, and the arrays `_scan`
    fills: numbers (NUMERIC_FIELDS, -1 = absent), text spans (TEXT_FIELDS, (start, end) offsets),
    info (fmt, md, local_us, offset_s, candidate, weight, hash, src and dst address kind (4/6/0),
    implausible repeat count) and the IP and TCP flag bits."""
    buf = np.frombuffer(chunk, dtype=np.uint8)
    starts, ends = line_bounds(buf)
    n = len(starts)
    num = np.full((N_NUM, n), -1, dtype=np.int64)
    txt = np.full((N_TXT, 2, n), -1, dtype=np.int64)
    info = np.zeros((10, n), dtype=np.int64)
    info[3] = -99999
    flags = np.full((2, n), -1, dtype=np.int64)
    if n:
        _scan(buf, starts, ends, num, txt, info, flags)
    return buf, starts, ends, num, txt, info, flags


def text_spans(buf: np.ndarray, txt: np.ndarray, names) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The text fields `names` copied as ASCII into one buffer (`_gather`): (offsets per field,
    data, validity per field and line)."""
    fields = np.array([_TXT_INDEX[name] for name in names], dtype=np.int64)
    offsets, data = _gather(buf, txt, fields)
    return offsets, data, txt[fields, 0] >= 0


def _load_cache_without_refresh(dispatcher) -> None:
    """Load `dispatcher`'s cached machine code without numba's refresh of its whole compiler
    context (≈ 75 modules imported, ≈ 0.1 s of every run's fixed cost): a cached function needs
    only the runtime. A cache miss still compiles normally (the compiler refreshes by itself)."""
    from numba.core.runtime import rtsys  # numba's private API: imported only for the pinned version

    cache = dispatcher._cache

    def load_overload(sig, target_context):
        rtsys.initialize(target_context)
        with cache._guard_against_spurious_io_errors():
            return cache._load_overload(sig, target_context)

    cache.load_overload = load_overload


# numba's private API, as of the pinned version; any other version loads its cache as usual.
if numba.__version__ == "0.68.1":
    for _dispatcher in (_scan, _gather):
        _load_cache_without_refresh(_dispatcher)
