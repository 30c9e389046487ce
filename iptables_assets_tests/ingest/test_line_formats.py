"""Real-world line forms beyond `host kernel: …`, their hostile look-alikes, and the action
derived from whole words of the LOG prefix.

- `Jan  8 03:37:09 DENY: IN=…`: no host, the kernel's LOG prefix in the tag's place.
- `Jun 28 04:35:30 gw [RULESET-10-A] IN=…`: no program, an EdgeOS/UniFi rule name first.
"""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iptables_assets.ingest.records.firewall.actions import prefix_actions

MAC = "MAC=02:00:5e:10:00:01:02:00:5e:10:00:02:08:00"
ICMP = (
    f"IN=eth0 OUT= {MAC} SRC=198.51.100.7 DST=192.0.2.10 LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF "
    "PROTO=ICMP TYPE=8 CODE=0 ID=7 SEQ=3"
)
UDP_DOTTED = (
    f"IN=abc.123 OUT=abc.123 {MAC} SRC=10.20.30.40 DST=10.20.30.41 LEN=32 TOS=00 PREC=0x00 TTL=63 "
    "ID=4242 PROTO=UDP SPT=9000 DPT=9001 LEN=12 MARK=0"
)
TCP = (
    f"IN=eth0 OUT= {MAC} SRC=203.0.113.9 DST=192.0.2.10 LEN=40 TOS=0x00 PREC=0x00 TTL=240 ID=1 "
    "PROTO=TCP SPT=5555 DPT=22 WINDOW=1024 RES=0x00 SYN URGP=0"
)
FIELDS = ("host", "program", "prefix", "action", "in_iface", "out_iface", "src_ip", "dst_ip", "proto",
          "dst_port", "icmp_type", "icmp_id")


def pick(record: dict) -> dict:
    return {k: record[k] for k in FIELDS}


# --- no host: the LOG prefix is the syslog tag ------------------------------------------------

def test_hostless_line_with_log_prefix_as_tag(one_record):
    r = one_record("Jan  8 03:37:09 DENY: " + ICMP)
    assert r["timestamp"].isoformat() == "2024-01-08T03:37:09+00:00"
    assert pick(r) == {
        "host": None, "program": "kernel", "prefix": "DENY:", "action": "drop", "in_iface": "eth0",
        "out_iface": "", "src_ip": "198.51.100.7", "dst_ip": "192.0.2.10", "proto": "ICMP",
        "dst_port": None, "icmp_type": 8, "icmp_id": 7,
    }


def test_hostless_icmp_error_keeps_the_outer_packet(one_record):
    r = one_record(
        "Jan  8 03:37:10 DENY: IN=eth0 OUT= " + MAC + " SRC=192.0.2.71 DST=192.0.2.83 LEN=88 TOS=0x00 "
        "PREC=0x00 TTL=118 ID=21 PROTO=ICMP TYPE=3 CODE=3 [SRC=192.0.2.83 DST=198.51.100.191 LEN=60 "
        "TOS=0x00 PREC=0x00 TTL=54 ID=0 DF PROTO=UDP SPT=21458 DPT=62936 LEN=40 ]"
    )
    assert (r["src_ip"], r["dst_ip"], r["proto"], r["icmp_type"], r["icmp_code"], r["src_port"], r["ip_id"]) == (
        "192.0.2.71", "192.0.2.83", "ICMP", 3, 3, None, 21,
    )


@pytest.mark.parametrize(("header", "iso"), [
    ("<4>Jan  8 03:37:09 ", "2024-01-08T03:37:09+00:00"),
    ("2024-01-08T03:37:09.250+01:00 ", "2024-01-08T02:37:09.250000+00:00"),
])
def test_hostless_form_after_pri_and_iso_headers(one_record, header, iso):
    r = one_record(header + "IPTables-Dropped: " + TCP)
    assert r["timestamp"].isoformat() == iso
    assert (r["host"], r["program"], r["prefix"], r["action"], r["dst_port"]) == (
        None, "kernel", "IPTables-Dropped:", "drop", 22,
    )


def test_hostless_prefix_may_hold_colons(one_record):
    r = one_record("Jan  8 03:37:09 Shorewall:net-fw:REJECT: " + TCP)
    assert (r["host"], r["program"], r["prefix"], r["action"]) == (None, "kernel", "Shorewall:net-fw:REJECT:", "reject")


def test_hostless_kernel_tag(one_record):
    r = one_record("Jan  8 03:37:09 kernel: [UFW BLOCK] " + TCP)
    assert (r["host"], r["program"], r["prefix"], r["action"]) == (None, "kernel", "[UFW BLOCK]", "drop")


def test_ipv6_host_ending_in_double_colon_stays_a_host(one_record):
    r = one_record("Jan  8 03:37:09 2001:db8:: kernel: DROP " + TCP)
    assert (r["host"], r["program"], r["prefix"]) == ("2001:db8::", "kernel", "DROP")


def test_hostless_form_follows_the_trusted_programs_setting(parse_lines):
    result = parse_lines(["Jan  8 03:37:09 DENY: " + ICMP], trusted_programs=("pve-firewall",))
    assert result.records.height == 0
    assert result.rejects.select("reason", "host", "program").rows() == [("untrusted_program", None, "kernel")]


# --- no program: a bracketed EdgeOS / UniFi rule name after the host ---------------------------

def test_bracketed_rule_name_after_host_with_dotted_interfaces(one_record):
    r = one_record("Jun 28 04:35:30 Abc-A1 [SOMETHING-1234-A] " + UDP_DOTTED)
    assert r["timestamp"].isoformat() == "2024-06-28T04:35:30+00:00"
    assert pick(r) == {
        "host": "Abc-A1", "program": "unifi", "prefix": "[SOMETHING-1234-A]", "action": "accept",
        "in_iface": "abc.123", "out_iface": "abc.123", "src_ip": "10.20.30.40", "dst_ip": "10.20.30.41",
        "proto": "UDP", "dst_port": 9001, "icmp_type": None, "icmp_id": None,
    }
    assert (r["udp_length"], r["mark"], r["ip_id"]) == (12, 0, 4242)


@pytest.mark.parametrize(("prefix", "action"), [
    ("[WAN_IN-20-D]", "drop"),
    ("[LAN_LOCAL-default-A]", "accept"),
    ("[wan-lan-default-D]", "drop"),
    ("[WAN_LOCAL-R-4000]", "reject"),
    ('[WAN_LOCAL-D-2147483647] DESCR="[WAN_LOCAL]Block All Traffic"', "drop"),
])
def test_ubiquiti_rule_names_without_a_program(one_record, prefix, action):
    r = one_record(f"Jun 28 04:35:31 edge-gw.lan {prefix} IN=switch0.10 OUT=eth0.90 SRC=192.168.10.5 "
                   "DST=192.0.2.1 LEN=40 PROTO=TCP SPT=1 DPT=2")
    assert (r["host"], r["program"], r["prefix"], r["action"], r["in_iface"], r["out_iface"]) == (
        "edge-gw.lan", "unifi", prefix, action, "switch0.10", "eth0.90",
    )


# --- hostile look-alikes stay untrusted rejects ------------------------------------------------

HOSTILE = [
    # netfilter text inside other programs' messages, with a host ...
    ("Jan  8 03:38:01 web1 sshd[123]: Invalid user IN=eth0 SRC=198.51.100.7 DST=192.0.2.10 from 198.51.100.7", "web1", "sshd"),
    ("Jan  8 03:38:02 web1 nginx: GET /?IN=eth0 OUT= SRC=198.51.100.7 DST=192.0.2.10 HTTP/1.1", "web1", "nginx"),
    # `logger -t DENY 'IN=eth0 …'` on a host: the syslog daemon writes the host, the tag stays DENY
    ("Jan  8 03:38:03 web1 DENY: " + ICMP, "web1", "DENY"),
    # ... and on a device that writes no host
    ("Jan  8 03:38:04 sshd[123]: Invalid user IN=eth0 SRC=198.51.100.7 DST=192.0.2.10 from 198.51.100.7", None, "sshd"),
    ("Jan  8 03:38:05 nginx: GET /?IN=eth0 OUT= SRC=198.51.100.7 DST=192.0.2.10 HTTP/1.1", None, "nginx"),
    # attacker text at the very start of a program's message: the tag has a pid, the kernel's never
    ("Jan  8 03:38:06 sshd[123]: " + ICMP, None, "sshd"),
    ("Jan  8 03:38:07 DENY[77]: " + ICMP, None, "DENY"),
    # `logger -t '[WAN_IN-10-A]'`: the tag is written with a colon, not a bare UniFi rule name
    ("Jan  8 03:38:08 web1 [WAN_IN-10-A]: " + ICMP, "web1", None),
]


@pytest.mark.parametrize(("line", "host", "program"), HOSTILE)
def test_hostile_look_alikes_are_untrusted_rejects(parse_lines, line, host, program):
    result = parse_lines([line])
    assert result.records.height == 0
    assert result.rejects.select("reason", "host", "program", "raw_line").rows() == [
        ("untrusted_program", host, program, line),
    ]


def test_hostless_program_lines_without_netfilter_text_are_ignored(parse_lines):
    result = parse_lines(["Jan  8 03:38:09 CRON[4]: (root) CMD (run-parts /etc/cron.hourly)", "Jan  8 03:37:09 DENY: " + ICMP])
    assert (result.ignored, result.records.height, result.rejects.height) == (1, 1, 0)


# --- action from whole words of the prefix -----------------------------------------------------

@pytest.mark.parametrize(("prefix", "action"), [
    ("[UFW BLOCK]", "drop"), ("[UFW AUDIT]", "audit"), ("[UFW AUDIT INVALID]", "audit"), ("[UFW ALLOW]", "accept"),
    ("[UFW LIMIT BLOCK]", "drop"), ("IPTables-Dropped:", "drop"), ("INPUT_DROP", "drop"), ("DROP-IN", "drop"),
    ("FW-DENIED", "drop"), ("Shorewall:net-fw:REJECT:", "reject"), ("REJECT", "reject"), ("iptables denied:", "drop"),
    ("IPTABLES:BLOCKED-CONN:", "drop"), ("SFW2-INext-DROP-DEFLT", "drop"), ("DROP(src wan)", "drop"),
    ("ipDrop", "drop"), ("DropIn", "drop"), ("PVEFW-HOST-IN policy DROP:", "drop"), ("tap101i0-IN PVEFW-reject:", "reject"),
    ("INPUT-REJECT:", "reject"), ("ACCEPT:", "accept"), ("Passed-Out", "accept"), ("DROP1", "drop"),
    # substrings of longer words are no action words
    ("../../etc/passwd", "unknown"), ("BYPASS", "unknown"), ("UNBLOCKED", "unknown"), ("dropbox", "unknown"),
    ("acceptable", "unknown"), ("denylist", "unknown"), ("[netfilter-INPUT]", "unknown"), ("FIREWALL", "unknown"),
    ("", "unknown"),
    # Ubiquiti rule codes beat the words of their description
    ('[WAN_LOCAL-A-2147483647] DESCR="[WAN_LOCAL]Block All Traffic"', "accept"),
    ('[WAN_LOCAL-D-1] DESCR="Allow nothing"', "drop"), ("[AUDIT_IN-R-3]", "reject"), ("[WAN_OUT-2000-A]", "accept"),
    ("[source-dest-default-D]", "drop"),
])
def test_action_from_whole_words(prefix, action):
    assert prefix_actions(pl.Series([prefix])) == {prefix: action}


def test_action_word_in_a_parsed_line(one_record):
    r = one_record("Jan  8 03:37:09 web1 kernel: ../../etc/passwd " + TCP)
    assert (r["prefix"], r["action"]) == ("../../etc/passwd", "unknown")


ACTION_FORMS = {
    "audit": ("audit", "audits", "audited"),
    "reject": ("reject", "rejects", "rejected"),
    "drop": ("drop", "drops", "dropped", "deny", "denies", "denied", "block", "blocks", "blocked"),
    "accept": ("accept", "accepts", "accepted", "allow", "allows", "allowed", "pass", "passes", "passed"),
}
ALL_FORMS = {w for forms in ACTION_FORMS.values() for w in forms}
# Lower-case words never split at camel case; ones that merely contain an action word stay in.
SOUP_WORD = st.one_of(
    st.from_regex(r"[a-z]{1,9}", fullmatch=True),
    st.sampled_from(["passwd", "bypass", "dropbox", "blockchain", "allowance", "acceptable", "unblocked", "rejection"]),
).filter(lambda w: w not in ALL_FORMS)
# No '[': a prefix opening `[x-1-A]` would be a Ubiquiti rule code, not a word soup.
SEPARATOR = st.text(alphabet=" _-:.]()/=0123456789", min_size=1, max_size=3)
CASE = st.sampled_from([str.lower, str.upper, str.capitalize])
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def soup(draw, min_size=0):
    """Words without action words, each in some letter case, joined by non-letters."""
    words = [draw(CASE)(w) for w in draw(st.lists(SOUP_WORD, min_size=min_size, max_size=5))]
    seps = [draw(SEPARATOR) for _ in range(len(words) + 1)]
    return "".join(s + w for s, w in zip(seps, words)) + seps[-1]


@FAST
@given(soup(min_size=1))
def test_word_soup_without_action_words_is_unknown(prefix):
    assert prefix_actions(pl.Series([prefix])) == {prefix: "unknown"}


@FAST
@given(soup(), st.sampled_from(sorted((a, w) for a, ws in ACTION_FORMS.items() for w in ws)), CASE, soup())
def test_an_action_word_between_separators_gives_its_action(before, action_word, case, after):
    action, word = action_word
    prefix = before + case(word) + after
    assert prefix_actions(pl.Series([prefix])) == {prefix: action}
