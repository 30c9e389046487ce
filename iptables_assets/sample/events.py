"""What the simulation produces: netfilter events, the lines to write, and the whole simulated run."""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from iptables_assets.sample.host import ACTIONS, MAC_WAN

US = 1_000_000  # instants are UTC epoch microseconds: kernel uptimes print µs and lines must never tie


@dataclass(slots=True)
class NetfilterEvent:
    """One netfilter log message as nf_log_syslog would print it, or a planted defect of one.

    ``count`` > 1 makes it an rsyslog ``message repeated N times: [ ... ]`` line worth N events.
    ``defect`` is one of None, "truncated_after_address" (record without L4 fields),
    "missing_address" (cut before SRC=; reject), "bad_address" (SRC not an address; reject),
    "incomplete" (``PROTO=TCP INCOMPLETE [n bytes]``; record without ports).
    """

    t_us: int
    prefix: str
    src: str
    dst: str
    proto: str  # "TCP", "UDP", "ICMP", "ICMPv6" or a bare protocol number such as "2"
    in_if: str = "eth0"
    out_if: str = ""
    mac: str = MAC_WAN
    sport: int | None = None
    dport: int | None = None
    length: int = 60
    ttl: int = 50
    ip_id: int = 0
    tos: int = 0
    df: bool = True
    flags: str = "SYN"
    window: int = 1024
    icmp: tuple[int, ...] = ()  # (type, code) or (type, code, id, seq)
    inner: NetfilterEvent | None = None  # quoted header of an ICMP error
    v6: bool = False
    defect: str | None = None
    defect_arg: int = 0  # cut offset for truncations, byte count for INCOMPLETE
    count: int = 1
    origin: str = "background"  # or the scanner kind

    @property
    def action(self) -> str:
        return ACTIONS[self.prefix]

    @property
    def is_input_drop(self) -> bool:
        return self.action in ("drop", "reject") and self.out_if == ""

    @property
    def reject_reason(self) -> str | None:
        return self.defect if self.defect in ("missing_address", "bad_address") else None

    @property
    def has_port(self) -> bool:
        return self.dport is not None and self.defect is None


@dataclass(slots=True)
class Line:
    """One line to write: ``body`` follows the RFC 3164 header unless ``raw`` (garbage)."""

    t_us: int
    families: tuple[str, ...]
    body: str
    candidate: bool = False  # netfilter candidate (record or reject), i.e. not "ignored"
    reject: str | None = None  # reject reason of a non-kernel candidate (forged lines)
    raw: bool = False
    sshd: tuple[str, str | None] | None = None  # (event kind, source address) of an sshd line


@dataclass
class Simulation:
    """Everything that was simulated: events for the truth, lines for the files."""

    params: dict
    tz: ZoneInfo
    dates: list[dt.date]
    bounds: list[int]  # local midnights as UTC epoch µs, len(dates) + 1
    boot_us: int
    events: list[NetfilterEvent]
    lines: list[Line]  # every line to write (kernel netfilter lines included), sorted by time
    scanners: list[tuple[str, str]]  # (ip, kind)
    digest: dict | None = None  # the digest plants' truth (`digest_plants`), when planted

    iso_days: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.iso_days = [d.isoformat() for d in self.dates]

    def day_of(self, t_us: int) -> str:
        """The calendar day (in ``tz``) of an instant."""
        return self.iso_days[bisect.bisect_right(self.bounds, t_us) - 1]
