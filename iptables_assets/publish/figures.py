"""The journal's figures, drawn from the whole-history aggregates (plain polars + `plotting`).

Each function takes the aggregate tables the assets already hold and returns a matplotlib
Figure titled as in the reference notebook ("<site>: IPTables: INPUT Table Packet Drops" …).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Mapping, Sequence

import polars as pl
from matplotlib.figure import Figure

from iptables_assets.analysis.aggregates import TOP_COUNTRIES, TOP_PORTS, UNKNOWN
from iptables_assets.publish import plotting

DEFAULT_MAP_PORTS = (22, 23, 445)
DEFAULT_TIMELINE_YMAX = 10_000
DEFAULT_TRUNCATE_AT = 1_000
WELL_KNOWN_PORTS = tuple(range(1024))

# IANA service names of commonly attacked ports, per protocol: looked up before the system's
# /etc/services so that every machine (minimal containers too) prints the same names.
SERVICES = {
    "tcp": {
        21: "ftp", 22: "ssh", 23: "telnet", 25: "smtp", 53: "domain", 80: "http", 110: "pop3", 111: "sunrpc",
        139: "netbios-ssn", 143: "imap", 443: "https", 445: "microsoft-ds", 1433: "ms-sql-s", 3306: "mysql",
        3389: "ms-wbt-server", 5060: "sip", 5432: "postgresql", 5900: "rfb", 6379: "redis", 8080: "http-alt",
    },
    "udp": {
        19: "chargen", 53: "domain", 67: "bootps", 68: "bootpc", 69: "tftp", 111: "sunrpc", 123: "ntp",
        137: "netbios-ns", 138: "netbios-dgm", 161: "snmp", 162: "snmptrap", 389: "ldap", 443: "https",
        500: "isakmp", 514: "syslog", 1194: "openvpn", 1434: "ms-sql-m", 1900: "ssdp", 3478: "stun",
        4500: "ipsec-nat-t", 5060: "sip", 5353: "mdns", 5683: "coap", 11211: "memcache",
    },
}

DIRECTION_LABELS = {"input": "INPUT Table", "output": "OUTPUT Table", "forward": "FORWARD Table", "any": "All Tables"}


def service_name(port: int, proto: str | None = None) -> str:
    """The IANA service name of `port` for `proto` ("tcp", "udp", any case): "ntp" for UDP 123,
    "" for TCP 123. Without a protocol, the TCP name, else the UDP one ("" when unknown)."""
    if proto is None:
        return service_name(port, "tcp") or service_name(port, "udp")
    proto = proto.lower()
    try:
        return SERVICES.get(proto, {}).get(int(port)) or socket.getservbyport(int(port), proto)
    except (OSError, OverflowError, TypeError):
        return ""


def services(port: int, protocols: Sequence[str] | None) -> str:
    """The service of a port as seen over `protocols`: one name when every protocol shares it
    ("domain" for TCP and UDP 53), else `name/protocol` for each protocol that has one
    ("netbios-ns/udp" for TCP and UDP 137); the protocol-free name when none are known."""
    if not protocols:
        return service_name(port)
    named = [(p.lower(), service_name(port, p)) for p in protocols]
    names = {name for _, name in named}
    if len(names) == 1:
        return names.pop()
    return " ".join(f"{name}/{proto}" for proto, name in named if name)


def port_label(port: int, proto: str | None = None) -> str:
    """"Port 22: ssh", or "Port 8291" when the port has no service name (no thousands separator)."""
    name = service_name(port, proto)
    return f"Port {port}: {name}" if name else f"Port {port}"


@dataclass(frozen=True)
class Site:
    """What every figure says about where it comes from: the site name in titles, the table
    (chain) the counted packets were dropped in, and the footer under maps."""

    name: str
    direction: str = "input"
    map_footer: str = ""

    @property
    def drops(self) -> str:
        return f"{self.name}: IPTables: {DIRECTION_LABELS.get(self.direction, 'INPUT Table')} Packet Drops"


def _truncated(title: str, truncate_at: int | None) -> str:
    return f"{title} (truncated at {truncate_at:,})" if truncate_at else title


def _counts(frame: pl.DataFrame, key: str, value: str) -> dict:
    if frame.height == 0:
        return {}
    return dict(frame.select(key, value).iter_rows())


# ---------------------------------------------------------------------------------------------
# Maps
# ---------------------------------------------------------------------------------------------


def drops_map(country_totals: pl.DataFrame, site: Site, resolution: str = "110m") -> Figure:
    """Counted drops per source country (unknown sources left out of the map only)."""
    values = _counts(country_totals.filter(pl.col("country_code") != UNKNOWN), "country_code", "events")
    return _world_map(values, site.drops, "Dropped Packets", site, resolution)


def _world_map(values: Mapping[str, float], title: str, legend: str, site: Site, resolution: str) -> Figure:
    """A whole-history choropleth with the site's map footer."""
    return plotting.world_map(values, title=title, legend=legend, footer=site.map_footer, resolution=resolution)


def country_port_totals(daily_country_ports: pl.DataFrame, ports: Sequence[int]) -> pl.DataFrame:
    """Counted drops per (destination port, source country) over all days, for `ports`."""
    return (
        daily_country_ports.filter(pl.col("dst_port").is_in(list(ports)))
        .group_by("dst_port", "country_code")
        .agg(pl.col("events").sum())
        .sort("dst_port", "country_code")
    )


def port_map(totals: pl.DataFrame, port: int, site: Site, resolution: str = "110m") -> Figure:
    """Counted drops to one destination port per source country."""
    rows = totals.filter((pl.col("dst_port") == port) & (pl.col("country_code") != UNKNOWN))
    return _world_map(
        _counts(rows, "country_code", "events"), f"{site.drops} ({port_label(port)})", "Dropped Packets", site,
        resolution,
    )


SCAN_DETECTORS = {
    "daily": 'Detected Port Scans ("nmap -T insane"-like)',
    "longterm": 'Detected Port Scans ("nmap -T paranoid"-like)',
}


def scanners_map(scan_summary: pl.DataFrame, detector: str, site: Site, resolution: str = "110m") -> Figure:
    """Distinct scanning addresses per country for one detector ("daily" or "longterm")."""
    rows = scan_summary.filter(
        (pl.col("detector") == detector) & ~pl.col("country_code").is_in(["all", UNKNOWN])
    )
    return _world_map(
        _counts(rows, "country_code", "scanning_addresses"), f"{site.name}: IPTables: {SCAN_DETECTORS[detector]}",
        "Unique IPs", site, resolution,
    )


# ---------------------------------------------------------------------------------------------
# Countries
# ---------------------------------------------------------------------------------------------


def top_countries_chart(country_totals: pl.DataFrame, site: Site) -> Figure:
    """The top-20 countries by counted drops, largest first."""
    top = country_totals.filter(pl.col("top20")).sort("rank") if country_totals.height else country_totals
    names = top["country_name"].to_list() if top.height else []
    values = top["events"].to_list() if top.height else []
    return plotting.ranked_bars(
        names, values, title=f"{site.drops}: Top {TOP_COUNTRIES} Countries", xlabel="Dropped Packets"
    )


def top_countries_timeline(series: pl.DataFrame, site: Site, ymax: float | None = DEFAULT_TIMELINE_YMAX) -> Figure:
    """Daily counted drops of each top-20 country, one line each, legend in rank order."""
    days: list = []
    lines: dict[str, list] = {}
    if series.height:
        for (name,), rows in series.sort("rank", "day").group_by("country_name", maintain_order=True):
            days = rows["day"].to_list()
            lines[name] = rows["events"].to_list()
    return plotting.timeline(
        days, lines, title=f"{site.drops}: Top {TOP_COUNTRIES} Countries per Day", ylabel="Dropped Packets", ymax=ymax
    )


# ---------------------------------------------------------------------------------------------
# Ports
# ---------------------------------------------------------------------------------------------


def top_ports(port_totals: pl.DataFrame, count: int = TOP_PORTS) -> list[int]:
    """The `count` most-dropped destination ports, in port order."""
    if port_totals.height == 0:
        return []
    return sorted(port_totals.sort("rank").head(count)["dst_port"].to_list())


def well_known_ports_tile(port_totals: pl.DataFrame, site: Site, truncate_at: int | None = None) -> Figure:
    """Ports 0-1023 on a 32x32 grid in port order, labelled, coloured by counted drops."""
    return plotting.port_tile(
        _counts(port_totals, "dst_port", "events"),
        WELL_KNOWN_PORTS,
        columns=32,
        title=_truncated(f"{site.name}: IPTables Filtered Non-Ephemeral Destination Ports", truncate_at),
        vmax=truncate_at,
    )


def top_ports_tile(port_totals: pl.DataFrame, site: Site, truncate_at: int | None = None) -> Figure:
    """The 256 most-dropped ports on a 16x16 grid in port order, labelled, coloured by drops."""
    return plotting.port_tile(
        _counts(port_totals, "dst_port", "events"),
        top_ports(port_totals),
        columns=16,
        title=_truncated(f"{site.name}: IPTables Top {TOP_PORTS} Commonly Filtered Destination Ports", truncate_at),
        vmax=truncate_at,
    )


def top_ports_chart(port_totals: pl.DataFrame, site: Site) -> Figure:
    """Counted drops of the 256 most-dropped ports as bars, in port order."""
    ports = top_ports(port_totals)
    counts: Mapping[int, int] = _counts(port_totals, "dst_port", "events")
    return plotting.port_bars(
        ports, [counts[p] for p in ports], title=f"{site.name}: IPTables Filtered Destination Ports Barchart"
    )
