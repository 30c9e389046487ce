"""rsyslog's `message repeated N times: [ MSG ]` has one definition (syslog.REPEATED_*): sshd
lines are unwrapped by `syslog.unwrap_repeated`, firewall lines by the compiled scanner. These
tests hold the scanner to the shared function on well-formed wrappers, pin where the two
differ on malformed ones, and hold hostile counts (0, above syslog.MAX_REPEAT, any number of
digits) to a counted `implausible_repeat_count` reject: never N events, never a crash."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from iptables_assets.ingest.lines import columns, scanner, syslog
from iptables_assets.ingest.records.firewall.parsing import REJECT_REASONS, ParseConfig, parse_paths

MANY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEADER = "Oct 28 03:09:03 web1 kernel: "
NETFILTER = "IN=eth0 OUT= SRC=192.0.2.1 DST=198.51.100.2 LEN=40 PROTO=TCP SPT=1234 DPT=22"

MAX = syslog.MAX_REPEAT
# Counts believed (1 to MAX_REPEAT, leading zeros allowed and not counted as digits) and any
# one-line message, brackets, spaces and further wrappers included.
counts = st.integers(1, MAX).flatmap(lambda n: st.integers(len(str(n)), 25).map(str(n).zfill))
# Counts not believed: 0 (however written), just above MAX_REPEAT, up to 2**63 and beyond, 19-40 digits.
implausible = st.one_of(
    st.integers(1, 25).map(lambda k: "0" * k),
    st.integers(MAX + 1, 2**64).flatmap(lambda n: st.integers(len(str(n)), 25).map(str(n).zfill)),
    st.text(st.sampled_from("0123456789"), min_size=19, max_size=40).filter(lambda t: int(t) > MAX),
)
messages = st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=40)
prefixes = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz0123456789 -_:.[]"), max_size=20)


def shared(message: str) -> tuple[int, str]:
    """(weight, message) from the shared definition, as sshd reads it."""
    row = syslog.unwrap_repeated(pl.DataFrame({"message": [message]})).row(0, named=True)
    return row["weight"], row["message"]


def compiled(message: str) -> tuple[int, str]:
    """(weight, message span) from the scanner's compiled unwrapping, as firewall lines get it."""
    data = message.encode()
    weight, start, end = scanner._unwrap_repeated(np.frombuffer(data, dtype=np.uint8), 0, len(data))
    return weight, data[start:end].decode()


def without_one_space_each_side(text: str) -> str:
    """The span with the single space the shared pattern drops after `[` and before `]`."""
    text = text[1:] if text.startswith(" ") else text
    return text[:-1] if text.endswith(" ") else text


@MANY
@given(counts, messages)
def test_compiled_scanner_agrees_with_the_shared_definition(count, inner):
    wrapped = f"{syslog.REPEATED_HEAD}{count}{syslog.REPEATED_TIMES}{inner}{syslog.REPEATED_CLOSE}"
    weight, message = shared(wrapped)
    compiled_weight, span = compiled(wrapped)
    assert weight == compiled_weight == int(count)
    assert span == inner
    assert message == without_one_space_each_side(span)


@MANY
@given(counts, prefixes)
def test_a_wrapped_firewall_line_is_its_message_weighed_by_its_count(count, prefix):
    # Not the wrapper's doing: a kernel uptime stamp right after "[ " is kept in the prefix.
    assume(not re.match(r" *\[ *[0-9.]*\]", prefix))
    weight, message = shared(f"message repeated {count} times: [ {prefix} {NETFILTER} ]")
    chunk = f"{HEADER}message repeated {count} times: [ {prefix} {NETFILTER} ]\n{HEADER}{message}\n"
    rows = columns.scan(chunk.encode(), 1)
    assert rows["weight"].to_list() == [weight, 1]
    assert rows["prefix"][0] == rows["prefix"][1]
    assert rows.drop("line_number", "line_start", "line_end", "msg_hash", "weight").n_unique() == 1


# (message, what the scanner reads for a firewall line, what sshd reads): odd and malformed wrappers.
MALFORMED = [
    ("message repeated 2 times: [ x", (2, " x"), (1, "message repeated 2 times: [ x")),
    ("message repeated 2 times: [ x ]  ", (2, " x "), (1, "message repeated 2 times: [ x ]  ")),
    ("message repeated 0 times: [ x ]", (0, " x "), (1, "x")),  # count not believed: see below
    ("message repeated 1000000000000000000 times: [ x ]", (0, " x "), (1, "x")),
    ("message repeated 007 times: [x]", (7, "x"), (7, "x")),
    ("message repeated 2 times: []", (2, ""), (2, "")),
    ("message repeated 2 times: [  x  ]", (2, "  x  "), (2, " x ")),
    ("message repeated 2 times: [ message repeated 3 times: [ y ] ]",
     (2, " message repeated 3 times: [ y ] "), (2, "message repeated 3 times: [ y ]")),
    ("message repeated 2 times: [ x ] y", (2, " x ] y"), (1, "message repeated 2 times: [ x ] y")),
]


@pytest.mark.parametrize(("message", "firewall", "sshd"), MALFORMED)
def test_malformed_wrappers_keep_their_reading(message, firewall, sshd):
    assert compiled(message) == firewall
    assert shared(message) == sshd


@pytest.mark.parametrize("message", [
    "message repeated  2 times: [ x ]", "message repeated 2 times:[ x ]", "message repeated -2 times: [ x ]",
    "Message repeated 2 times: [ x ]", "message repeated times: [ x ]", "x",
])
def test_no_wrapper_is_read_as_one_event_of_itself(message):
    assert compiled(message) == shared(message) == (1, message)


@MANY
@given(implausible, messages)
def test_a_count_not_believed_still_unwraps_but_weighs_nothing_in_the_scanner_and_one_for_sshd(count, inner):
    wrapped = f"{syslog.REPEATED_HEAD}{count}{syslog.REPEATED_TIMES}{inner}{syslog.REPEATED_CLOSE}"
    assert compiled(wrapped) == (0, inner)  # 0: the scanner flags the line for a reject
    assert shared(wrapped) == (1, without_one_space_each_side(inner))


@pytest.mark.parametrize("count", [MAX - 1, MAX])
def test_the_largest_counts_believed_are_read_exactly(count):
    wrapped = f"message repeated {count} times: [ x ]"
    assert compiled(wrapped) == (count, " x ")
    assert shared(wrapped) == (count, "x")


def repeated_line(count: str, second: int = 3, program: str = "kernel") -> str:
    return f"Oct 28 03:09:{second:02d} web1 {program}: message repeated {count} times: [ DROP {NETFILTER} ]"


# count -> (records, implausible_repeat_count rejects) of a file holding that one repeat line.
HOSTILE = {
    "0": (0, 1),
    "1": (1, 0),
    str(MAX): (MAX, 0),
    str(MAX + 1): (0, 1),
    str(2**32): (0, 1),
    str(2**63): (0, 1),
    "9" * 25: (0, 1),
    "0" * 24 + "7": (7, 0),  # leading zeros are not digits of the count
}


@pytest.mark.parametrize(("count", "outcome"), HOSTILE.items(), ids=lambda v: str(v)[:12])
def test_hostile_counts_through_parse_paths(count, outcome, write_log, accounted):
    records, rejects = outcome
    path = write_log("messages", [repeated_line(count), f"Oct 28 03:09:04 web1 kernel: DROP {NETFILTER}"])
    result = accounted(parse_paths([path], ParseConfig()))
    s = result.summary()
    assert (s["lines_read"], s["record_lines"], s["reject_lines"]) == (2, 2 - rejects, rejects)
    assert s["records"] == records + 1
    assert s["rejects_by_reason"] == ({"implausible_repeat_count": 1} if rejects else {})
    assert s["repeated_message_extra_events"] == max(records - 1, 0)
    if rejects:
        reject = result.rejects.row(0, named=True)
        assert (reject["raw_line"], reject["line_number"]) == (repeated_line(count), 1)


def test_a_rotated_copy_of_the_largest_believed_count_counts_once(write_log, accounted):
    line = repeated_line(str(MAX))
    paths = [write_log("kern.log", [line]), write_log("messages", [line])]
    s = accounted(parse_paths(paths, ParseConfig())).summary()
    assert (s["records"], s["duplicates_removed"], s["rejects"]) == (MAX, MAX, 0)


def test_other_reasons_come_first_and_non_firewall_wrappers_stay_ignored(write_log, accounted):
    lines = [
        repeated_line(str(2**63), program="sshd[7]"),  # netfilter text from an untrusted program
        f"message repeated {2**63} times: [ DROP {NETFILTER} ]",  # no header
        f"Oct 28 03:09:05 web1 kernel: message repeated {2**63} times: [ eth0: link up ]",  # not netfilter
        "Oct 28 03:09:06 web1 kernel: message repeated 0 times: [ DROP IN=eth0 OUT= MAC=00 ]",  # truncated
    ]
    s = accounted(parse_paths([write_log("messages", lines)], ParseConfig())).summary()
    assert s["ignored_lines"] == 1 and s["records"] == 0
    assert s["rejects_by_reason"] == {"implausible_repeat_count": 1, "no_header": 1, "untrusted_program": 1}
    assert "implausible_repeat_count" in REJECT_REASONS


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(counts, implausible), min_size=1, max_size=12))
def test_every_repeat_line_is_its_events_or_one_counted_reject(accounted, line_counts):
    lines = [repeated_line(c, second=i) for i, c in enumerate(line_counts)]
    believed = [int(c) for c in line_counts if 1 <= int(c) <= MAX]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "messages"
        path.write_text("".join(f"{line}\n" for line in lines))
        result = accounted(parse_paths([path], ParseConfig(threads=1)))
    s = result.summary()
    assert s["lines_read"] == len(lines) and s["record_lines"] == len(believed)
    assert s["records"] == sum(believed)
    assert s["rejects_by_reason"] == ({"implausible_repeat_count": len(lines) - len(believed)}
                                      if len(believed) < len(lines) else {})
    rejected = {i + 1 for i, c in enumerate(line_counts) if not 1 <= int(c) <= MAX}
    assert set(result.rejects["line_number"]) == rejected


def test_cli_parse_summary_counts_hostile_repeat_lines_as_rejects(tmp_path):
    counts = ["0", str(MAX), str(MAX + 1), str(2**32), str(2**63), "9" * 25]
    (tmp_path / "messages").write_text("".join(f"{repeated_line(c, i)}\n" for i, c in enumerate(counts)))
    cli = Path(sys.executable).parent / "iptables-assets"
    done = subprocess.run([str(cli), "parse", str(tmp_path), "--summary"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    s = json.loads(done.stdout)
    assert (s["lines_read"], s["record_lines"], s["records"], s["reject_lines"]) == (6, 1, MAX, 5)
    assert s["rejects_by_reason"] == {"implausible_repeat_count": 5}
    assert s["repeated_message_extra_events"] == MAX - 1
