"""Property tests: whatever the input, every line is a record, ignored, or a reject, and
well-formed kernel lines round-trip to exactly the values written."""

from __future__ import annotations

import bz2
import gzip
import ipaddress
import json
import lzma

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iptables_assets.ingest.records.firewall.parsing import REJECT_REASONS, ParseConfig, parse_paths

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ACTIONS = {"drop", "reject", "accept", "audit", "unknown"}

HEADERS = [
    "Oct 28 03:09:03 web1 kernel: ",
    "Oct 28 03:09:03 web1 kernel: [ 3529.289825] ",
    "<4>Jan  5 07:01:02 gw kernel: [1234567.000001] ",
    "Dec 31 23:59:59 web1 kernel: ",
    "Feb 29 12:00:00 web1 kernel: ",
    "Feb 30 12:00:00 web1 kernel: ",
    "2019-09-22T03:25:01.123456+02:00 fw kernel: ",
    "2019-09-22T03:25:01+0000 fw kernel: ",
    "2019-09-22T03:25:01 fw kernel: ",
    "Oct 28 03:09:03 web1 sshd[4242]: Invalid user ",
    "Oct 28 03:09:03 web1 kernel: message repeated 2 times: [ ",
    "Oct 28 03:09:03 web1 kernel: message repeated 99999999999999999999999 times: [ ",
    "0 3 PVEFW-HOST-IN 20/Jun/2022:13:09:14 +0200 ",
    "Jun 13 23:29:15 UDMP-DTC [WAN_LOCAL-D-2147483647] ",
    "",
]
KEYS = ["IN", "OUT", "PHYSIN", "PHYSOUT", "MAC", "SRC", "DST", "LEN", "TOS", "PREC", "TTL", "ID",
        "TC", "HOPLIMIT", "FLOWLBL", "PROTO", "SPT", "DPT", "SEQ", "ACK", "WINDOW", "RES", "URGP",
        "TYPE", "CODE", "MTU", "SPI", "UID", "GID", "MARK", "DESCR", "[SRC", "GATEWAY"]
BARE = ["DF", "MF", "CE", "SYN", "ACK", "FIN", "RST", "PSH", "URG", "CWR", "ECE", "FRAG:185",
        "OPT (020405B4)", "OPT (", "INCOMPLETE [65 bytes]", "INCOMPLETE [", "[", "]", "(", ")", ":"]
WEIRD = "[]()=: \t\x00\x01\x7f\u00e9\u00df\u2028\u3042\U0001f525\ufffd\\\"'{}"

ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(lambda a: a.exploded if hash(a) % 2 else a.compressed)
bad_ip = st.sampled_from(["999.1.2.3", "1.2.3", "1.2.3.4.5", "::g", "1:2:3:4:5:6:7:8:9", "", "-1.0.0.0", "0x7f.0.0.1"])
values = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.integers(0, 2**32).map(lambda n: f"0x{n:x}"),
    ipv4, ipv6, bad_ip,
    st.sampled_from(["TCP", "UDP", "ICMP", "ICMPv6", "2", "47", "ESP", "UDPLITE", "SCTP"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=12),
    st.text(alphabet=WEIRD, max_size=8),
)
token = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS), values),
    st.sampled_from(BARE),
    st.text(alphabet=WEIRD + "INOUTSRCDST0123456789", max_size=10),
)
prefix = st.one_of(
    st.sampled_from(["", "[UFW BLOCK] ", "[UFW AUDIT] ", "DROP(src wan)", "IPTables-Dropped: ", "REJECT "]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=16),
)
header = st.one_of(st.sampled_from(HEADERS), st.text(alphabet=st.characters(exclude_characters="\n\r"), max_size=30))
netfilter_like_line = st.builds(
    lambda h, p, toks, sep, tail: h + p + sep.join(toks) + tail,
    header, prefix, st.lists(token, max_size=24), st.sampled_from([" ", "  ", "\t", ""]),
    st.sampled_from(["", " ", "]", " ]", "\x00"]),
)


def journal_line(message: str, transport: str, ident: str, realtime: int) -> str:
    return json.dumps({"__REALTIME_TIMESTAMP": str(realtime), "_TRANSPORT": transport,
                       "SYSLOG_IDENTIFIER": ident, "_HOSTNAME": "gw", "MESSAGE": message})


json_line = st.one_of(
    st.builds(journal_line, netfilter_like_line, st.sampled_from(["kernel", "syslog", "journal"]),
              st.sampled_from(["kernel", "sshd", ""]), st.integers(-(2**64), 2**64)),
    st.sampled_from(["{", "{}", "[1,2]", '{"MESSAGE": 5}', '{"__REALTIME_TIMESTAMP": "x", "MESSAGE": "IN= SRC=1.1.1.1 DST=1.1.1.1"}']),
)


def expected_lines(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def check(path, data: bytes, **config):
    path.write_bytes(data)
    result = parse_paths([path], ParseConfig(**config))
    s = result.summary()
    if result.files[0].file.compression == "plain":
        assert s["lines_read"] == expected_lines(data), s
        assert s["damaged_files"] == {}
    assert s["lines_read"] == s["record_lines"] + s["ignored_lines"] + s["reject_lines"], s
    assert s["rejects"] + s["reject_duplicates_removed"] == s["reject_lines"], s
    assert s["records"] == s["record_lines"] + s["repeated_message_extra_events"] - s["duplicates_removed"], s
    assert s["duplicates_removed"] == 0  # one file: repeats inside a file are separate events
    assert set(s["rejects_by_reason"]) <= set(REJECT_REASONS)
    rec = result.records
    assert rec["timestamp"].null_count() == 0
    assert rec["action"].is_in(sorted(ACTIONS)).all()
    for src, dst, version in rec.select("src_ip", "dst_ip", "ip_version").iter_rows():
        a, b = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        assert version == a.version
        assert str(a) == src and str(b) == dst  # canonical text form
    return result


MAGIC = [b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"]
COMPRESS = [gzip.compress, bz2.compress, lzma.compress]


@FAST
@given(data=st.one_of(st.binary(max_size=3000), st.builds(bytes.__add__, st.sampled_from(MAGIC), st.binary(max_size=300))))
def test_arbitrary_bytes_never_raise(tmp_path_factory, data):
    check(tmp_path_factory.mktemp("bytes") / "messages", data)


@FAST
@given(lines=st.lists(netfilter_like_line, min_size=1, max_size=30), compress=st.sampled_from(COMPRESS),
       cut=st.floats(0.0, 1.0))
def test_truncated_compressed_files_never_raise(tmp_path_factory, lines, compress, cut):
    """A rotated file cut short (disk full, interrupted copy): what decompresses is read and
    the file is reported as damaged, nothing raises."""
    plain = "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n"
    packed = compress(plain)
    cut_at = max(len(MAGIC[COMPRESS.index(compress)]), int(len(packed) * cut))
    result = check(tmp_path_factory.mktemp("cut") / "messages.2.gz", packed[:cut_at])
    assert result.lines_read <= expected_lines(plain)
    if cut_at < len(packed):
        assert list(result.summary()["damaged_files"]) == ["messages.2.gz"]
    else:
        assert result.lines_read == expected_lines(plain)
        assert result.summary()["damaged_files"] == {}


@FAST
@given(lines=st.lists(st.one_of(netfilter_like_line, json_line), min_size=1, max_size=25),
       end=st.sampled_from(["\n", "\r\n", ""]))
def test_netfilter_like_text_never_raises(tmp_path_factory, lines, end):
    data = end.join(lines).encode("utf-8", "surrogatepass") + end.encode()
    check(tmp_path_factory.mktemp("text") / "messages", data)


@settings(FAST, max_examples=40)
@given(lines=st.lists(netfilter_like_line, min_size=1, max_size=25), tz=st.sampled_from(["UTC", "Europe/Berlin", "America/St_Johns"]))
def test_time_zones_and_small_chunks_never_raise(tmp_path_factory, lines, tz):
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    check(tmp_path_factory.mktemp("tz") / "kern.log", data, tz=tz, chunk_bytes=2048)


@FAST
@given(
    src=st.one_of(ipv4, ipv6), sport=st.integers(0, 65535), dport=st.integers(0, 65535),
    ttl=st.integers(0, 255), ip_id=st.integers(0, 65535), length=st.integers(20, 65535),
    proto=st.sampled_from(["TCP", "UDP"]), flags=st.sampled_from(["", "SYN ", "ACK PSH ", "URG PSH FIN "]),
    prefix=st.sampled_from(["[UFW BLOCK] ", "IPTables-Dropped: ", "[UFW AUDIT] ", ""]),
    mark=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
)
def test_well_formed_lines_round_trip(tmp_path_factory, src, sport, dport, ttl, ip_id, length, proto, flags, prefix, mark):
    v6 = ":" in src
    dst = "2001:db8::10" if v6 else "203.0.113.10"
    ip = (f"LEN={length} TC=0 HOPLIMIT={ttl} FLOWLBL=0" if v6
          else f"LEN={length} TOS=0x00 PREC=0x00 TTL={ttl} ID={ip_id} DF")
    l4 = (f"SPT={sport} DPT={dport} WINDOW=1024 RES=0x00 {flags}URGP=0" if proto == "TCP"
          else f"SPT={sport} DPT={dport} LEN={max(length - 20, 8)}")
    tail = f" MARK=0x{mark:x}" if mark is not None else ""
    line = (f"Oct 28 03:09:03 web1 kernel: [ 3529.289825] {prefix}IN=eth0 OUT= "
            f"MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC={src} DST={dst} {ip} PROTO={proto} {l4}{tail} ")
    result = check(tmp_path_factory.mktemp("rt") / "messages", (line + "\n").encode())
    [r] = result.records.to_dicts()
    assert r["src_ip"] == ipaddress.ip_address(src).compressed
    assert r["dst_ip"] == dst
    assert (r["ip_version"], r["proto"], r["src_port"], r["dst_port"], r["length"]) == (6 if v6 else 4, proto, sport, dport, length)
    assert r["prefix"] == prefix.strip()
    assert r["mark"] == mark
    if v6:
        assert (r["hop_limit"], r["ttl"], r["ip_id"]) == (ttl, None, None)
    else:
        assert (r["ttl"], r["ip_id"], r["ip_flags"], r["hop_limit"]) == (ttl, ip_id, "DF", None)
    if proto == "TCP":
        assert (r["tcp_flags"], r["tcp_window"], r["udp_length"]) == (flags.strip(), 1024, None)
    else:
        assert (r["tcp_flags"], r["udp_length"]) == (None, max(length - 20, 8))
