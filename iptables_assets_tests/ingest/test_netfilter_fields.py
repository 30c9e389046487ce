"""Every KEY=VALUE field and flag the kernel's LOG target writes, with exact expected values."""

from __future__ import annotations

import pytest

HDR = "Oct 28 03:09:03 web1 kernel: [ 3529.289825] "
MAC = "MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00"
MAC6 = "MAC=00:16:3e:aa:bb:cc:00:16:3e:dd:ee:ff:86:dd"
IPV4_IN = f"IN=eth0 OUT= {MAC} SRC=185.220.101.4 DST=203.0.113.10"


def pick(record: dict, *names: str) -> dict:
    return {n: record[n] for n in names}


def test_tcp_syn_all_fields(one_record):
    r = one_record(
        HDR + f"[UFW BLOCK] {IPV4_IN} LEN=44 TOS=0x00 PREC=0x00 TTL=243 ID=54321 "
        "PROTO=TCP SPT=41234 DPT=23 WINDOW=1024 RES=0x00 SYN URGP=0 "
    )
    assert pick(r, "host", "program", "prefix", "action", "in_iface", "out_iface", "phys_in",
                "phys_out", "mac", "src_ip", "dst_ip", "ip_version", "proto", "length", "tos",
                "prec", "ttl", "ip_id", "ip_flags", "frag_offset", "ip_options", "src_port",
                "dst_port", "tcp_flags", "tcp_window", "tcp_res", "tcp_urgp", "tcp_seq", "tcp_ack",
                "tcp_options", "udp_length", "icmp_type", "icmp_code", "icmp_id", "icmp_seq",
                "esp_spi", "incomplete_bytes", "uid", "gid", "mark") == {
        "host": "web1", "program": "kernel", "prefix": "[UFW BLOCK]", "action": "drop",
        "in_iface": "eth0", "out_iface": "", "phys_in": None, "phys_out": None,
        "mac": "52:54:00:12:34:56:52:54:00:65:43:21:08:00",
        "src_ip": "185.220.101.4", "dst_ip": "203.0.113.10", "ip_version": 4, "proto": "TCP",
        "length": 44, "tos": 0, "prec": 0, "ttl": 243, "ip_id": 54321, "ip_flags": "",
        "frag_offset": None, "ip_options": None, "src_port": 41234, "dst_port": 23,
        "tcp_flags": "SYN", "tcp_window": 1024, "tcp_res": 0, "tcp_urgp": 0, "tcp_seq": None,
        "tcp_ack": None, "tcp_options": None, "udp_length": None, "icmp_type": None,
        "icmp_code": None, "icmp_id": None, "icmp_seq": None, "esp_spi": None,
        "incomplete_bytes": None, "uid": None, "gid": None, "mark": None,
    }
    assert r["timestamp"].isoformat() == "2024-10-28T03:09:03+00:00"
    assert r["source_file"] == "messages" and r["line_number"] == 1


def test_tos_prec_and_ip_flags_ce_df(one_record):
    r = one_record(
        HDR + f"DROP {IPV4_IN} LEN=60 TOS=0x10 PREC=0xC0 TTL=52 ID=0 CE DF PROTO=TCP "
        "SPT=443 DPT=51000 WINDOW=0 RES=0x00 ACK RST URGP=0 "
    )
    assert pick(r, "tos", "prec", "ttl", "ip_id", "ip_flags", "tcp_flags") == {
        "tos": 16, "prec": 192, "ttl": 52, "ip_id": 0, "ip_flags": "CE DF", "tcp_flags": "ACK RST",
    }


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("SYN ", "SYN"),
        ("", ""),  # NULL scan: no flag at all
        ("URG PSH FIN ", "URG PSH FIN"),  # XMAS scan
        ("CWR ECE SYN ", "CWR ECE SYN"),  # ECN-setup SYN
        ("ACK PSH FIN ", "ACK PSH FIN"),
    ],
)
def test_tcp_flags(one_record, flags, expected):
    r = one_record(
        HDR + f"DROP {IPV4_IN} LEN=40 TOS=0x00 PREC=0x00 TTL=57 ID=12345 PROTO=TCP "
        f"SPT=61234 DPT=1025 WINDOW=1024 RES=0x00 {flags}URGP=0 "
    )
    assert r["tcp_flags"] == expected
    assert (r["tcp_window"], r["tcp_res"], r["tcp_urgp"], r["dst_port"]) == (1024, 0, 0, 1025)


def test_tcp_sequence_and_options(one_record):
    r = one_record(
        HDR + f"[UFW BLOCK] {IPV4_IN} LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=22202 DF PROTO=TCP "
        "SPT=44512 DPT=443 SEQ=3512886611 ACK=0 WINDOW=64240 RES=0x00 SYN URGP=0 "
        "OPT (020405B40402080A9A1B2C3D0000000001030307) "
    )
    assert pick(r, "tcp_seq", "tcp_ack", "tcp_window", "tcp_flags", "tcp_options", "ip_options", "ip_flags") == {
        "tcp_seq": 3512886611, "tcp_ack": 0, "tcp_window": 64240, "tcp_flags": "SYN",
        "tcp_options": "020405B40402080A9A1B2C3D0000000001030307", "ip_options": None, "ip_flags": "DF",
    }


def test_ip_options_and_numeric_proto_igmp(one_record):
    # IGMP membership report with the Router Alert IP option; the kernel prints PROTO=2.
    r = one_record(
        HDR + "DROP IN=eth0 OUT= MAC=01:00:5e:00:00:16:00:11:32:aa:bb:cc:08:00 SRC=192.168.10.55 "
        "DST=224.0.0.22 LEN=40 TOS=0x00 PREC=0xC0 TTL=1 ID=0 DF OPT (94040000) PROTO=2 "
    )
    assert pick(r, "proto", "ip_options", "tcp_options", "prec", "ttl", "ip_flags", "src_port", "dst_port") == {
        "proto": "IGMP", "ip_options": "94040000", "tcp_options": None, "prec": 192, "ttl": 1,
        "ip_flags": "DF", "src_port": None, "dst_port": None,
    }


@pytest.mark.parametrize(("raw", "name"), [("2", "IGMP"), ("47", "GRE"), ("103", "PIM"), ("162", "162")])
def test_numeric_proto(one_record, raw, name):
    r = one_record(HDR + f"DROP {IPV4_IN} LEN=20 TOS=0x00 PREC=0x00 TTL=56 ID=50515 PROTO={raw} ")
    assert r["proto"] == name


def test_udp_with_second_length(one_record):
    r = one_record(
        HDR + f"[UFW BLOCK] {IPV4_IN} LEN=103 TOS=0x00 PREC=0x00 TTL=52 ID=0 DF PROTO=UDP "
        "SPT=53 DPT=36427 LEN=83 "
    )
    assert pick(r, "proto", "length", "udp_length", "src_port", "dst_port", "tcp_flags", "tcp_window") == {
        "proto": "UDP", "length": 103, "udp_length": 83, "src_port": 53, "dst_port": 36427,
        "tcp_flags": None, "tcp_window": None,
    }


def test_icmp_echo_fields(one_record):
    r = one_record(
        HDR + f"DROP {IPV4_IN} LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=18443 DF PROTO=ICMP "
        "TYPE=8 CODE=0 ID=2158 SEQ=512 "
    )
    assert pick(r, "proto", "ip_id", "icmp_type", "icmp_code", "icmp_id", "icmp_seq", "tcp_seq",
                "tcp_ack", "src_port", "dst_port", "tcp_flags") == {
        "proto": "ICMP", "ip_id": 18443, "icmp_type": 8, "icmp_code": 0, "icmp_id": 2158,
        "icmp_seq": 512, "tcp_seq": None, "tcp_ack": None, "src_port": None, "dst_port": None,
        "tcp_flags": None,
    }


def test_icmp_error_inner_header_does_not_overwrite_outer_packet(one_record):
    r = one_record(
        HDR + "[UFW BLOCK] IN=eth0 OUT= " + MAC + " SRC=192.0.2.1 DST=203.0.113.10 LEN=576 "
        "TOS=0x00 PREC=0xC0 TTL=64 ID=999 PROTO=ICMP TYPE=3 CODE=3 [SRC=203.0.113.10 "
        "DST=192.0.2.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1111 DF PROTO=UDP SPT=5353 "
        "DPT=33434 LEN=40 ] "
    )
    assert pick(r, "src_ip", "dst_ip", "proto", "length", "ttl", "ip_id", "ip_flags", "prec",
                "icmp_type", "icmp_code", "icmp_id", "icmp_seq", "src_port", "dst_port",
                "udp_length", "tcp_seq") == {
        "src_ip": "192.0.2.1", "dst_ip": "203.0.113.10", "proto": "ICMP", "length": 576,
        "ttl": 64, "ip_id": 999, "ip_flags": "", "prec": 192, "icmp_type": 3, "icmp_code": 3,
        "icmp_id": None, "icmp_seq": None, "src_port": None, "dst_port": None,
        "udp_length": None, "tcp_seq": None,
    }


def test_icmp_frag_needed_with_mtu_and_inner_tcp(one_record):
    r = one_record(
        HDR + "DROP IN=eth0 OUT= " + MAC + " SRC=198.51.100.1 DST=203.0.113.10 LEN=576 TOS=0x00 "
        "PREC=0x00 TTL=250 ID=4242 PROTO=ICMP TYPE=3 CODE=4 MTU=1400 [SRC=203.0.113.10 "
        "DST=198.51.100.80 LEN=1500 TOS=0x00 PREC=0x00 TTL=63 ID=777 DF PROTO=TCP SPT=443 "
        "DPT=51000 SEQ=1234567 ACK=7654321 WINDOW=501 RES=0x00 ACK PSH URGP=0 ] "
    )
    assert pick(r, "src_ip", "dst_ip", "ip_id", "ttl", "icmp_type", "icmp_code", "icmp_mtu",
                "src_port", "dst_port", "tcp_seq", "tcp_ack", "tcp_window", "tcp_flags") == {
        "src_ip": "198.51.100.1", "dst_ip": "203.0.113.10", "ip_id": 4242, "ttl": 250,
        "icmp_type": 3, "icmp_code": 4, "icmp_mtu": 1400, "src_port": None, "dst_port": None,
        "tcp_seq": None, "tcp_ack": None, "tcp_window": None, "tcp_flags": None,
    }


def test_ipv6_fields_and_canonical_addresses(one_record):
    r = one_record(
        HDR + f"DROP IN=eth0 OUT= {MAC6} SRC=2001:0db8:0000:f101:0000:0000:0000:0002 "
        "DST=2001:0db8:0000:f101:0000:0000:0000:0001 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=TCP "
        "SPT=51397 DPT=1433 WINDOW=5760 RES=0x00 SYN URGP=0 "
    )
    assert pick(r, "src_ip", "dst_ip", "ip_version", "length", "traffic_class", "hop_limit",
                "flow_label", "ttl", "ip_id", "tos", "proto", "dst_port") == {
        "src_ip": "2001:db8:0:f101::2", "dst_ip": "2001:db8:0:f101::1", "ip_version": 6,
        "length": 80, "traffic_class": 0, "hop_limit": 64, "flow_label": 0, "ttl": None,
        "ip_id": None, "tos": None, "proto": "TCP", "dst_port": 1433,
    }


def test_ipv6_icmpv6_echo(one_record):
    r = one_record(
        HDR + f"[UFW BLOCK] IN=eth0 OUT= {MAC6} SRC=2a0a:1580::a DST=fe80::021b:b9ff:fe76:9ce4 "
        "LEN=104 TC=184 HOPLIMIT=57 FLOWLBL=634336 PROTO=ICMPv6 TYPE=128 CODE=0 ID=4660 SEQ=3 "
    )
    assert pick(r, "src_ip", "dst_ip", "ip_version", "traffic_class", "hop_limit", "flow_label",
                "proto", "icmp_type", "icmp_code", "icmp_id", "icmp_seq", "tcp_seq") == {
        "src_ip": "2a0a:1580::a", "dst_ip": "fe80::21b:b9ff:fe76:9ce4", "ip_version": 6,
        "traffic_class": 184, "hop_limit": 57, "flow_label": 634336, "proto": "ICMPv6",
        "icmp_type": 128, "icmp_code": 0, "icmp_id": 4660, "icmp_seq": 3, "tcp_seq": None,
    }


def test_output_line_without_mac_with_uid_gid(one_record):
    r = one_record(
        "Oct 28 03:09:03 web1 kernel: [12345.678901] [netfilter-OUTPUT] IN= OUT=eth0 "
        "SRC=203.0.113.10 DST=198.51.100.7 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=40000 DF PROTO=TCP "
        "SPT=51234 DPT=25 WINDOW=64240 RES=0x00 SYN URGP=0 UID=1000 GID=1000 "
    )
    assert pick(r, "prefix", "action", "in_iface", "out_iface", "mac", "uid", "gid", "dst_port") == {
        "prefix": "[netfilter-OUTPUT]", "action": "unknown", "in_iface": "", "out_iface": "eth0",
        "mac": None, "uid": 1000, "gid": 1000, "dst_port": 25,
    }


def test_bridge_physin_physout_and_mark(one_record):
    r = one_record(
        HDR + "FWD-DROP IN=br0 OUT=br0 PHYSIN=veth1a2b PHYSOUT=enp3s0 " + MAC + " SRC=10.0.0.5 "
        "DST=8.8.8.8 LEN=84 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=ICMP TYPE=8 CODE=0 ID=4242 "
        "SEQ=7 MARK=0x1f "
    )
    assert pick(r, "in_iface", "out_iface", "phys_in", "phys_out", "mark", "icmp_seq", "tcp_seq", "action") == {
        "in_iface": "br0", "out_iface": "br0", "phys_in": "veth1a2b", "phys_out": "enp3s0",
        "mark": 31, "icmp_seq": 7, "tcp_seq": None, "action": "drop",
    }


def test_fragment_fields(one_record):
    # A non-first fragment: the kernel writes PROTO= and nothing of the transport header.
    r = one_record(
        HDR + f"DROP {IPV4_IN} LEN=1500 TOS=0x00 PREC=0x00 TTL=50 ID=31337 MF FRAG:185 PROTO=UDP "
    )
    assert pick(r, "ip_id", "ip_flags", "frag_offset", "proto", "src_port", "dst_port", "udp_length") == {
        "ip_id": 31337, "ip_flags": "MF", "frag_offset": 185, "proto": "UDP", "src_port": None,
        "dst_port": None, "udp_length": None,
    }


@pytest.mark.parametrize(("tail", "proto", "nbytes"), [
    ("PROTO=TCP INCOMPLETE [65 bytes] ", "TCP", 65),
    ("PROTO=UDPLITE INCOMPLETE [0 bytes] ", "UDPLITE", 0),
])
def test_incomplete(one_record, tail, proto, nbytes):
    r = one_record(HDR + f"DROP {IPV4_IN} LEN=85 TOS=0x00 PREC=0x00 TTL=40 ID=40147 {tail}")
    assert pick(r, "proto", "incomplete_bytes", "src_port", "dst_port", "tcp_flags") == {
        "proto": proto, "incomplete_bytes": nbytes, "src_port": None, "dst_port": None, "tcp_flags": None,
    }


@pytest.mark.parametrize("proto", ["ESP", "AH"])
def test_ipsec_spi(one_record, proto):
    r = one_record(HDR + f"DROP {IPV4_IN} LEN=88 TOS=0x00 PREC=0x00 TTL=50 ID=7 PROTO={proto} SPI=0x2f1c3a4b ")
    assert (r["proto"], r["esp_spi"], r["src_port"]) == (proto, 0x2F1C3A4B, None)


def test_truncated_line_keeps_fields_before_the_cut(one_record):
    r = one_record(HDR + f"[UFW BLOCK] {IPV4_IN} LEN=44 TOS=0x00 PREC=0x00 TTL=243 ID=54321 PROTO=TCP SPT=41234 DP")
    assert pick(r, "src_ip", "dst_ip", "ttl", "ip_id", "proto", "src_port", "dst_port", "tcp_flags", "tcp_window") == {
        "src_ip": "185.220.101.4", "dst_ip": "203.0.113.10", "ttl": 243, "ip_id": 54321, "proto": "TCP",
        "src_port": 41234, "dst_port": None, "tcp_flags": None, "tcp_window": None,
    }
    cut = one_record(HDR + f"[UFW BLOCK] {IPV4_IN} LEN=44 TOS=0x00 PREC=0x00 TT")
    assert pick(cut, "src_ip", "dst_ip", "length", "ttl", "proto", "dst_port") == {
        "src_ip": "185.220.101.4", "dst_ip": "203.0.113.10", "length": 44, "ttl": None,
        "proto": None, "dst_port": None,
    }


def test_wazuh_urgp_typo_is_still_a_record(one_record):
    r = one_record(
        "Feb  4 23:33:37 hostname kernel: FIREWALL_OUT IN= OUT=eth0 SRC=192.168.6.57 "
        "DST=216.161.248.225 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=18547 DF PROTO=TCP SPT=46388 "
        "DPT=37628 WINDOW=6930 RES=0x00 ACK RST URGn=0"
    )
    assert pick(r, "action", "tcp_flags", "tcp_urgp", "dst_port") == {
        "action": "unknown", "tcp_flags": "ACK RST", "tcp_urgp": None, "dst_port": 37628,
    }


@pytest.mark.parametrize(
    ("prefix", "action"),
    [
        ("[UFW BLOCK]", "drop"),
        ("[UFW AUDIT]", "audit"),
        ("[UFW AUDIT INVALID]", "audit"),
        ("[UFW ALLOW]", "accept"),
        ("[UFW LIMIT BLOCK]", "drop"),
        ("IPTables-Dropped:", "drop"),
        ("IPTABLES:BLOCKED-CONN:", "drop"),
        ("REJECT", "reject"),
        ("INPUT-REJECT:", "reject"),
        ("Shorewall:net2fw:DROP:", "drop"),
        ("FW-DENY", "drop"),
        ("ACCEPT:", "accept"),
        ("[netfilter-INPUT]", "unknown"),
        ("FIREWALL", "unknown"),
        ("", "unknown"),
    ],
)
def test_action_from_prefix(one_record, prefix, action):
    sep = " " if prefix else ""
    r = one_record(
        HDR + f"{prefix}{sep}{IPV4_IN} LEN=44 TOS=0x00 PREC=0x00 TTL=243 ID=54321 PROTO=TCP "
        "SPT=41234 DPT=23 WINDOW=1024 RES=0x00 SYN URGP=0 "
    )
    assert (r["prefix"], r["action"]) == (prefix, action)


def test_openwrt_prefix_without_space_before_in(one_record):
    r = one_record(
        "Nov 18 13:39:49 OpenWRT kernel: [10051.313745] DROP(src wan)IN=eth0 OUT= "
        "MAC=c2:56:27:73:33:cf:c4:f0:81:b0:93:24:08:00 SRC=205.205.205.205 DST=192.168.8.100 LEN=44 "
        "TOS=0x00 PREC=0x00 TTL=31 ID=8549 PROTO=TCP SPT=40952 DPT=23 WINDOW=64144 RES=0x00 SYN "
        "URGP=0 MARK=0xff00"
    )
    assert pick(r, "host", "prefix", "action", "in_iface", "src_ip", "dst_port", "mark", "tcp_flags") == {
        "host": "OpenWRT", "prefix": "DROP(src wan)", "action": "drop", "in_iface": "eth0",
        "src_ip": "205.205.205.205", "dst_port": 23, "mark": 0xFF00, "tcp_flags": "SYN",
    }


def test_unifi_lines_without_kernel_tag(parse_lines):
    unifi = (
        "Jun 13 23:29:15 UDMP-DTC [WAN_LOCAL-D-2147483647] DESCR=\"[WAN_LOCAL]Block All Traffic\" "
        "IN=eth8 OUT= MAC=74:ac:b9:1c:62:e5:00:17:10:2b:31:a9:08:00 SRC=198.51.100.1 DST=192.168.1.25 "
        "LEN=122 TOS=00 PREC=0x00 TTL=49 ID=45366 DF PROTO=UDP SPT=38451 DPT=54329 LEN=102 MARK=1a0000"
    )
    allowed = (
        "Jun 13 23:29:16 UDMP-DTC [LAN_IN-A-4000] DESCR=\"allow dns\" IN=br0 OUT=eth8 "
        "MAC=74:ac:b9:1c:62:e5:00:17:10:2b:31:a9:08:00 SRC=192.168.1.2 DST=1.1.1.1 LEN=60 TOS=00 "
        "PREC=0x00 TTL=63 ID=4 DF PROTO=UDP SPT=5000 DPT=53 LEN=40"
    )
    result = parse_lines([unifi, allowed])
    rows = result.records.to_dicts()
    assert [pick(r, "program", "action", "prefix", "in_iface", "out_iface", "tos", "mark", "udp_length") for r in rows] == [
        {"program": "unifi", "action": "drop", "prefix": '[WAN_LOCAL-D-2147483647] DESCR="[WAN_LOCAL]Block All Traffic"',
         "in_iface": "eth8", "out_iface": "", "tos": 0, "mark": 0x1A0000, "udp_length": 102},
        {"program": "unifi", "action": "accept", "prefix": '[LAN_IN-A-4000] DESCR="allow dns"',
         "in_iface": "br0", "out_iface": "eth8", "tos": 0, "mark": None, "udp_length": 40},
    ]
    # UniFi OS variant that writes the host name twice.
    twice = parse_lines([unifi.replace("UDMP-DTC ", "UDMP-DTC UDMP-DTC ", 1)], name="m1")
    assert twice.records.select("host", "program", "action", "prefix").rows() == [
        ("UDMP-DTC", "unifi", "drop", '[WAN_LOCAL-D-2147483647] DESCR="[WAN_LOCAL]Block All Traffic"'),
    ]
    # The rule code wins over words of the description ("Block" in an -A- rule is still accept).
    mixed = parse_lines([allowed.replace('DESCR="allow dns"', 'DESCR="[LAN_IN]Block exceptions"')], name="m2")
    assert mixed.records["action"].to_list() == ["accept"]


def test_fields_are_independent_between_rows(parse_lines):
    """Vectorised extraction: a field present on one row must not leak into another."""
    result = parse_lines([
        HDR + f"DROP {IPV4_IN} LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=ICMP TYPE=8 CODE=0 ID=9 SEQ=1 ",
        HDR + f"DROP {IPV4_IN} LEN=44 TOS=0x00 PREC=0x00 TTL=64 ID=2 PROTO=TCP SPT=1 DPT=2 SEQ=5 ACK=6 WINDOW=3 RES=0x00 ACK URGP=0 ",
        HDR + f"DROP {IPV4_IN} LEN=33 TOS=0x00 PREC=0x00 TTL=64 ID=3 PROTO=UDP SPT=7 DPT=8 LEN=13 ",
    ])
    rows = sorted(result.records.to_dicts(), key=lambda r: r["ip_id"])
    assert [pick(r, "proto", "icmp_id", "icmp_seq", "tcp_seq", "tcp_ack", "tcp_flags", "udp_length", "dst_port") for r in rows] == [
        {"proto": "ICMP", "icmp_id": 9, "icmp_seq": 1, "tcp_seq": None, "tcp_ack": None, "tcp_flags": None, "udp_length": None, "dst_port": None},
        {"proto": "TCP", "icmp_id": None, "icmp_seq": None, "tcp_seq": 5, "tcp_ack": 6, "tcp_flags": "ACK", "udp_length": None, "dst_port": 2},
        {"proto": "UDP", "icmp_id": None, "icmp_seq": None, "tcp_seq": None, "tcp_ack": None, "tcp_flags": None, "udp_length": 13, "dst_port": 8},
    ]
