"""The other daemons in ``messages`` (cron, systemd, dhclient, chrony, logrotate, rsyslog) and kernel chatter."""

from __future__ import annotations

from typing import Callable

from iptables_assets.sample.events import US
from iptables_assets.sample.world import Rng, World

MESSAGES = ("messages",)
NTP_SERVERS = ("162.159.200.123", "185.232.69.65", "94.16.122.152", "193.182.111.12")
CHRONY_NOISE = ("chronyd[650]: Selected source {} (2.pool.ntp.org)", "chronyd[650]: Source {} replaced with {} (2.pool.ntp.org)",
                "chronyd[650]: Can't synchronise: no selectable sources")
DHCLIENT_NOISE = ("DHCPREQUEST for 10.0.0.1 on eth0 to 10.0.0.254 port 67 (xid=0x{xid:08x})",
                  "DHCPACK of 10.0.0.1 from 10.0.0.254 (xid=0x{xid:08x})",
                  "bound to 10.0.0.1 -- renewal in {n} seconds.")
LOGROTATE_NOISE = ("systemd[1]: Starting logrotate.service - Rotate log files...",
                   "systemd[1]: logrotate.service: Deactivated successfully.",
                   "systemd[1]: Finished logrotate.service - Rotate log files.")
KERNEL_NOISE = (
    "usb 1-1: new high-speed USB device number {n} using xhci_hcd",
    "EXT4-fs (sda1): mounted filesystem with ordered data mode. Quota mode: none.",
    "nf_conntrack: nf_conntrack: table full, dropping packet",
    "TCP: request_sock_TCP: Possible SYN flooding on port 22. Sending cookies.  Check SNMP counters.",
    "e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: None",
    "perf: interrupt took too long (25{n}1 > 2500), lowering kernel.perf_event_max_sample_rate to 79500",
    'audit: type=1400 audit({epoch}.{ms:03d}:{serial}): apparmor="ALLOWED" operation="open" profile="/usr/sbin/chronyd" '
    'name="/etc/chrony/chrony.conf" pid=650 comm="chronyd" requested_mask="r" denied_mask="r" fsuid=0 ouid=0',
    "device eth0 entered promiscuous mode",
    "IPv6: ADDRCONF(NETDEV_CHANGE): eth0: link becomes ready",
)
SYSTEMD_NOISE: tuple[Callable[[Rng], str], ...] = (
    lambda r: (lambda n: f"systemd[1]: Started session-{n}.scope - Session {n} of User alice.")(r.between(100, 9999)),
    lambda r: "systemd[1]: Starting dnf-makecache.service - dnf makecache...",
    lambda r: "systemd[1]: dnf-makecache.service: Deactivated successfully.",
    lambda r: "systemd[1]: Starting sysstat-collect.service - system activity accounting tool...",
    lambda r: "systemd[1]: sysstat-collect.service: Deactivated successfully.",
    lambda r: f"systemd[1]: Started cron-{r.between(1, 4)}.timer - Cron job helper.",
    lambda r: "systemd[1]: Starting apt-daily.service - Daily apt download activities...",
    lambda r: f"systemd-logind[702]: New session {r.between(100, 9999)} of user alice.",
)


def messages_noise_day(world: World, day: int) -> None:
    """A day of non-firewall lines, so the parser has to ignore most of what it reads."""
    _cron_hourly(world, day)
    _systemd_units(world, day)
    _dhclient_renewals(world, day)
    _chrony(world, day)
    _kernel_chatter(world, day)
    _logrotate(world, day)


def _cron_hourly(world: World, day: int) -> None:
    """cron.hourly at 17 past every hour, as Debian's ``/etc/crontab`` runs it."""
    rng = world.rng
    for hour in range(24):
        world.add_line(world.time_in(day, (hour + 17 / 60) / 24, (hour + 17.02 / 60) / 24), MESSAGES,
                       f"CRON[{rng.between(2000, 60000)}]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)")


def _systemd_units(world: World, day: int) -> None:
    """Units starting and stopping at random times."""
    rng = world.rng
    for _ in range(rng.between(6, 14)):
        world.add_line(world.time_in(day), MESSAGES, rng.pick(SYSTEMD_NOISE)(rng))


def _dhclient_renewals(world: World, day: int) -> None:
    """Four DHCP lease renewals a day, three lines each, the way a cloud VM's dhclient logs them."""
    rng = world.rng
    for hour in (rng.between(0, 5), rng.between(6, 11), rng.between(12, 17), rng.between(18, 23)):
        t, xid = world.time_in(day, hour / 24, (hour + 0.9) / 24), rng.below(1 << 32)
        for k, text in enumerate(DHCLIENT_NOISE):
            text = text.format(xid=xid, n=rng.between(1500, 2100))
            world.add_line(world.unique(t + k * 1200), MESSAGES, f"dhclient[812]: {text}")


def _chrony(world: World, day: int) -> None:
    """Up to three NTP source changes."""
    rng = world.rng
    for _ in range(rng.between(0, 3)):
        text = rng.pick(CHRONY_NOISE).format(rng.pick(NTP_SERVERS), rng.pick(NTP_SERVERS))
        world.add_line(world.time_in(day), MESSAGES, text)


def _kernel_chatter(world: World, day: int) -> None:
    """Up to three non-netfilter kernel lines: the kernel tag alone must not make a record."""
    rng = world.rng
    for _ in range(rng.between(0, 3)):
        t = world.time_in(day)
        world.kernel_noise(t, rng.pick(KERNEL_NOISE).format(n=rng.between(2, 9), epoch=t // US, ms=t // 1000 % 1000,
                                                            serial=rng.between(100, 9999)))


def _logrotate(world: World, day: int) -> None:
    """The nightly logrotate run just after midnight."""
    rng = world.rng
    t = world.unique(world.bounds[day] + rng.between(100_000, 900_000))
    for k, text in enumerate(LOGROTATE_NOISE):
        world.add_line(world.unique(t + k * 300_000), MESSAGES, text)


def rsyslog_hups(world: World, rotation_days: set[int]) -> None:
    """The HUP rsyslog logs when logrotate reopens its files, on every day a family rotates."""
    for day in sorted(rotation_days):
        pid = 800 + day % 7
        world.add_line(world.unique(world.bounds[day] + 150_000), MESSAGES,
                       f'rsyslogd[{pid}]: [origin software="rsyslogd" swVersion="8.2302.0" x-pid="{pid}" '
                       f'x-info="https://www.rsyslog.com"] rsyslogd was HUPed')
