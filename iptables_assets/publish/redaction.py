"""Redaction of what gets published: IP addresses and host names become stable pseudonyms.

`[IP-1]`, `[IP-2]`, … and `[HOST-1]`, … are numbered in the order a `Redactor` first meets each
value, so one address keeps one pseudonym everywhere in a journal (firewall tables, scan
tables and sshd lines alike). Every spelling of an address is the same address: `2001:DB8::1`,
`2001:db8::1` and `2001:0db8:0:0:0:0:0:1` share a pseudonym, and so do `::ffff:192.0.2.1` and
`192.0.2.1`. A disabled Redactor returns everything unchanged.

Free text is attacker-written, so addresses are found wherever they hide: followed by a port
(`1.2.3.4:8080`, `[2001:db8::1]:22`), inside URLs and `Host:` headers, glued to letters,
digits or punctuation. Where a run of characters is ambiguous (`11.2.3.4` could be `1.2.3.4`
after a `1`), the longest address starting leftmost is taken: too much is hidden, never too
little. Times (`03:37:09`), port numbers and version strings are left alone because they are
not addresses; IPv6 forms of a single group (`::`, `::1`, `fe80::`) name no host and are left
too. A MAC address of eight or more groups reads as an IPv6 address and is hidden too.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Iterable, Iterator

import polars as pl

# Maximal runs of the characters addresses are written with; only runs with ':' or '.' are searched.
_RUN = re.compile(r"[0-9A-Fa-f:.]{2,}")
_HEX = r"[0-9A-Fa-f]{1,4}"
# Text that may start an IPv6 address: groups and colons (at least two), an optional dotted tail.
_IPV6_CANDIDATE = re.compile(rf"(?:{_HEX})?(?::(?:{_HEX})?){{2,8}}(?:\.[0-9]{{1,3}}){{0,3}}")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_HOST_TOKEN = re.compile(r"[\w.-]+")  # what a host name is written with


def canonical_address(text: str) -> str | None:
    """The one spelling of the address `text` is (IPv4-mapped IPv6 as its IPv4; a %zone and
    trailing sentence punctuation allowed), else None."""
    core = text.split("%", 1)[0]
    for spelling in (core, core.rstrip(".:")):  # `2001:db8::` ends in colons of its own
        try:
            address = ipaddress.ip_address(spelling)
        except ValueError:
            continue
        return str(getattr(address, "ipv4_mapped", None) or address)
    return None


def _longest_ipv6(candidate: str) -> str | None:
    """The longest prefix of `candidate` ending at a group boundary that is an IPv6 address of
    two groups or more, else None. One-group forms (`::`, `::1`, `fe80::`, and `d::` in
    `std::string`) are at most six characters and name no particular host."""
    ends = [len(candidate)] + [i for i in range(len(candidate) - 1, 1, -1) if candidate[i] in ":."]
    for end in ends:
        text = candidate[:end]
        if len([group for group in text.split(":") if group]) >= 2:
            try:
                ipaddress.IPv6Address(text)
            except ValueError:
                continue
            return text
    return None


def _ipv6_spans(run: str) -> Iterator[tuple[int, int]]:
    """(start, end) of IPv6 addresses in a run, leftmost first, each as long as possible."""
    position = 0
    while (match := _IPV6_CANDIDATE.search(run, position)) is not None:
        found = _longest_ipv6(match.group())
        if found is None:
            position = match.start() + 1
            continue
        yield match.start(), match.start() + len(found)
        position = match.start() + len(found)


def address_spans(run: str) -> list[tuple[int, int]]:
    """(start, end) of every address in a run of address characters: IPv6 first (they can hold
    an IPv4 tail), then IPv4 in the gaps between them."""
    spans = list(_ipv6_spans(run)) if run.count(":") >= 2 else []
    gaps = zip([0] + [end for _, end in spans], [start for start, _ in spans] + [len(run)])
    for low, high in list(gaps):
        spans.extend((low + m.start(), low + m.end()) for m in _IPV4.finditer(run[low:high]))
    return sorted(spans)


class Redactor:
    """Maps addresses and host names to pseudonyms when `enabled`; identity otherwise."""

    def __init__(self, enabled: bool, hosts: Iterable[str] = ()):
        self.enabled = enabled
        self._addresses: dict[str, str] = {}
        self._hosts: dict[str, str] = {}
        for host in hosts:
            self.host(host)

    def address(self, value: str | None) -> str | None:
        """The pseudonym of an address (any spelling of one address gets the same one)."""
        if not self.enabled or value is None:
            return value
        key = canonical_address(value) or value
        return self._addresses.setdefault(key, f"[IP-{len(self._addresses) + 1}]")

    def host(self, value: str | None) -> str | None:
        """The pseudonym of a host name (case-insensitive); remembered for `text`."""
        if not self.enabled or value is None or value == "":
            return value
        return self._hosts.setdefault(value.lower(), f"[HOST-{len(self._hosts) + 1}]")

    def text(self, value: str | None) -> str | None:
        """Free text (a log line) with every address and every host name met so far replaced.
        Runs in time linear in the text, however hostile it is."""
        if not self.enabled or not value:
            return value
        value = _RUN.sub(self._run, value)
        return self._replace_hosts(value)

    def _run(self, match: re.Match) -> str:
        """A run of address characters with each address in it replaced by its pseudonym."""
        run = match.group(0)
        if ":" not in run and "." not in run:
            return run
        pieces, position = [], 0
        for start, end in address_spans(run):
            pieces += [run[position:start], self.address(run[start:end])]
            position = end
        return "".join(pieces) + run[position:]

    def _replace_hosts(self, value: str) -> str:
        """Host names met so far replaced where they stand as a name of their own (not inside a
        longer name; a trailing `.domain` or full stop may follow)."""
        if not self._hosts:
            return value
        simple = {h: p for h, p in self._hosts.items() if _HOST_TOKEN.fullmatch(h)}
        value = _HOST_TOKEN.sub(lambda m: self._host_token(m.group(0), simple), value)
        for host, pseudonym in sorted(self._hosts.items(), key=lambda item: -len(item[0])):
            if host not in simple:  # names with other characters (rare): a direct search
                value = re.sub(rf"(?<![\w.-]){re.escape(host)}(?![\w-])", pseudonym, value, flags=re.IGNORECASE)
        return value

    @staticmethod
    def _host_token(token: str, hosts: dict[str, str]) -> str:
        """`token` with a known host name at its start (ending at a dot or the token's end) replaced."""
        lowered = token.lower()
        for end in [len(token)] + [i for i in range(len(token) - 1, 0, -1) if token[i] == "."]:
            pseudonym = hosts.get(lowered[:end])
            if pseudonym is not None:
                return pseudonym + token[end:]
        return token

    def frame(
        self, frame: pl.DataFrame, addresses: Iterable[str] = (), hosts: Iterable[str] = (), texts: Iterable[str] = ()
    ) -> pl.DataFrame:
        """`frame` with the named columns redacted, numbering values in row order."""
        if not self.enabled or frame.height == 0:
            return frame
        replacements = []
        for columns, redact in ((addresses, self.address), (hosts, self.host), (texts, self.text)):
            for column in columns:
                if column in frame.columns:
                    values = frame[column].cast(pl.String).to_list()
                    replacements.append(pl.Series(column, [redact(v) for v in values], dtype=pl.String))
        return frame.with_columns(replacements)
