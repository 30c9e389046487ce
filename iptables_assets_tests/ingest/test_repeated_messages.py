"""rsyslog's `message repeated N times: [ MSG ]` has one definition (syslog.REPEATED_*): sshd
lines are unwrapped by `syslog.unwrap_repeated`, firewall lines by the compiled scanner. These
tests hold the scanner to the shared function on well-formed wrappers and pin where the two
differ on malformed ones."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from iptables_assets.ingest import scanner, syslog

MANY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEADER = "Oct 28 03:09:03 web1 kernel: "
NETFILTER = "IN=eth0 OUT= SRC=192.0.2.1 DST=198.51.100.2 LEN=40 PROTO=TCP SPT=1234 DPT=22"

# Counts the scanner reads (1 to 18 digits, leading zeros allowed) and any one-line message,
# brackets, spaces and further wrappers included.
counts = st.integers(1, 10**18 - 1).flatmap(lambda n: st.integers(len(str(n)), 18).map(str(n).zfill))
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
    rows = scanner.scan(chunk.encode(), 1)
    assert rows["weight"].to_list() == [weight, 1]
    assert rows["prefix"][0] == rows["prefix"][1]
    assert rows.drop("line_number", "line_start", "line_end", "msg_hash", "weight").n_unique() == 1


# (message, what the scanner reads for a firewall line, what sshd reads): odd and malformed wrappers.
MALFORMED = [
    ("message repeated 2 times: [ x", (2, " x"), (1, "message repeated 2 times: [ x")),
    ("message repeated 2 times: [ x ]  ", (2, " x "), (1, "message repeated 2 times: [ x ]  ")),
    ("message repeated 0 times: [ x ]", (1, "message repeated 0 times: [ x ]"), (0, "x")),
    ("message repeated 1000000000000000000 times: [ x ]",
     (1, "message repeated 1000000000000000000 times: [ x ]"), (10**18, "x")),
    ("message repeated 999999999999999999 times: [ x ]", (999999999999999999, " x "), (999999999999999999, "x")),
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
