"""Redaction of what gets published: IP addresses and host names become stable pseudonyms.

`[IP-1]`, `[IP-2]`, … and `[HOST-1]`, … are numbered in the order a `Redactor` first meets each
value, so one address keeps one pseudonym everywhere in a journal (firewall tables, scan
tables and sshd lines alike). A disabled Redactor returns everything unchanged.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Iterable

import polars as pl

# Runs of characters an IPv4/IPv6 address is made of; each run is checked with `ipaddress`.
_ADDRESS_LIKE = re.compile(r"[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.%]*")


def _as_address(token: str) -> str | None:
    """The address `token` spells (trailing sentence punctuation and a %zone allowed), else None."""
    core = token.rstrip(".:")
    try:
        return str(ipaddress.ip_address(core.split("%", 1)[0]))
    except ValueError:
        return None


class Redactor:
    """Maps addresses and host names to pseudonyms when `enabled`; identity otherwise."""

    def __init__(self, enabled: bool, hosts: Iterable[str] = ()):
        self.enabled = enabled
        self._addresses: dict[str, str] = {}
        self._hosts: dict[str, str] = {}
        for host in hosts:
            self.host(host)

    def address(self, value: str | None) -> str | None:
        if not self.enabled or value is None:
            return value
        key = _as_address(value) or value
        return self._addresses.setdefault(key, f"[IP-{len(self._addresses) + 1}]")

    def host(self, value: str | None) -> str | None:
        if not self.enabled or value is None or value == "":
            return value
        return self._hosts.setdefault(value.lower(), f"[HOST-{len(self._hosts) + 1}]")

    def text(self, value: str | None) -> str | None:
        """Free text (a log line) with every address and every host name met so far replaced."""
        if not self.enabled or not value:
            return value
        value = _ADDRESS_LIKE.sub(self._address_token, value)
        for host, pseudonym in sorted(self._hosts.items(), key=lambda item: -len(item[0])):
            value = re.sub(rf"(?<![\w.-]){re.escape(host)}(?![\w-])", pseudonym, value, flags=re.IGNORECASE)
        return value

    def _address_token(self, match: re.Match) -> str:
        token = match.group(0)
        address = _as_address(token)
        if address is None:
            return token
        core = token.rstrip(".:")
        return self.address(address) + token[len(core):]

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
