"""sshd lines in ``secure``: internet clients, planted scanners trying passwords, user names forged as netfilter."""

from __future__ import annotations

import itertools

from iptables_assets.sample.background import Source
from iptables_assets.sample.events import US
from iptables_assets.sample.host import HOST_V4
from iptables_assets.sample.internet import PUBLIC_V6_PREFIXES
from iptables_assets.sample.world import Rng, World

_SSH_KINDS = ("root", "invalid", "accepted", "badproto", "reverse", "noid", "closed", "reset", "negotiate",
              "disconnect", "odd_user", "noise")
_SSH_CUM = tuple(itertools.accumulate((26, 26, 3, 5, 8, 8, 10, 3, 3, 4, 2, 2)))
INVALID_USERS = ("admin", "test", "oracle", "ubuntu", "user", "postgres", "git", "ftpuser", "pi", "guest", "support", "hadoop")
# User names attackers try that are hard to parse: spaces, quotes, a fake "from ... port" suffix.
ODD_USERS = ("john smith", "o'brien", 'x" onmouseover="alert(1)', "<script>alert(1)</script>",
             "admin from 192.0.2.1 port 22")


def sshd_day(world: World, day: int, sources: list[Source], clients: list[str]) -> None:
    """A day of sessions, mostly from background sources so the sshd x firewall join has matches."""
    rng = world.ssh_rng
    for _ in range(max(4, world.events_per_day // 25)):
        t, pid = world.time_in(day, rng=rng), rng.between(1000, 65000)
        draw = rng.random()
        if draw < 0.05:
            ip = rng.pick(clients)
        elif draw < 0.12:  # IPv6 clients
            ip = f"{rng.pick(PUBLIC_V6_PREFIXES)}:" + ":".join(f"{rng.below(0x10000):x}" for _ in range(6))
        else:
            ip = rng.pick(sources).ip
        for k, (kind, text) in enumerate(_ssh_session(rng, ip)):
            world.add_line(world.unique(t + k * rng.between(100_000, 3 * US)), ("secure",), f"sshd[{pid}]: {text}",
                           sshd=(kind, ip if kind != "other" else None))


def plant_scanners_at_sshd(world: World) -> None:
    """Every other planted scanner also tries ssh passwords (the sshd x scanner join)."""
    rng = world.ssh_rng
    for ip, _kind in world.scanners[::2]:
        day, pid, port = rng.below(len(world.dates)), rng.between(1000, 65000), rng.between(1024, 65535)
        t = world.time_in(day, rng=rng)
        lines = [("failed_password", f"Failed password for root from {ip} port {port} ssh2"),
                 ("connection_closed", f"Connection closed by authenticating user root {ip} port {port} [preauth]")]
        for k, (kind, text) in enumerate(lines):
            world.add_line(world.unique(t + k * 900_000), ("secure",), f"sshd[{pid}]: {text}", sshd=(kind, ip))


def plant_forged(world: World) -> None:
    """Attacker-chosen sshd user names that look like netfilter logs: rejects, never records."""
    rng = world.rng
    for i in range(max(1, len(world.dates) // 20)):
        ip, port, pid = world.new_ip(), rng.between(1024, 65535), rng.between(1000, 65000)
        claimed = ip if i % 2 == 0 else world.new_ip()
        user = (("IPTables-Dropped: " if i % 3 == 1 else "") +
                f"IN=eth0 OUT= SRC={claimed} DST={HOST_V4} PROTO=TCP "
                f"SPT={rng.between(1, 65535)} DPT={rng.pick((22, 23, 3389))}")
        t = world.time_in(rng.below(len(world.dates)))
        for k, (kind, text) in enumerate((
                ("invalid_user", f"Invalid user {user} from {ip} port {port}"),
                ("connection_closed", f"Connection closed by invalid user {user} {ip} port {port} [preauth]"))):
            world.add_line(world.unique(t + k * 700_000), ("secure",), f"sshd[{pid}]: {text}",
                           candidate=True, reject="untrusted_program", sshd=(kind, ip))


def _ssh_session(rng: Rng, ip: str) -> list[tuple[str, str]]:
    """One client's sshd lines as (event kind, message); kinds as the sshd stage names them."""
    port = rng.between(1024, 65535)
    user = rng.pick(INVALID_USERS)
    kind = rng.weighted(_SSH_KINDS, _SSH_CUM)
    if kind == "root":
        return [("failed_password", f"Failed password for root from {ip} port {port} ssh2")] * rng.between(1, 3) + [
            ("connection_closed", f"Connection closed by authenticating user root {ip} port {port} [preauth]")]
    if kind in ("invalid", "odd_user"):
        user = rng.pick(ODD_USERS) if kind == "odd_user" else user
        return [("invalid_user", f"Invalid user {user} from {ip} port {port}"),
                ("failed_password", f"Failed password for invalid user {user} from {ip} port {port} ssh2"),
                ("connection_closed", f"Connection closed by invalid user {user} {ip} port {port} [preauth]")]
    if kind == "accepted":
        who = rng.pick(("alice", "bob", "deploy"))
        return [("accepted", f"Accepted publickey for {who} from {ip} port {port} ssh2: ED25519 "
                             f"SHA256:{rng.getrandbits(128):032x}"),
                ("other", f"pam_unix(sshd:session): session opened for user {who}(uid=1000) by (uid=0)")]
    if kind == "badproto":
        return [("bad_protocol_version", f"Bad protocol version identification 'GET / HTTP/1.1' from {ip} port {port}")]
    if kind == "reverse":
        name = "-".join(reversed(ip.replace(":", ".").split("."))) + ".dyn.example.net"
        return [("break_in_attempt", f"reverse mapping checking getaddrinfo for {name} [{ip}] failed"
                                     " - POSSIBLE BREAK-IN ATTEMPT!"),
                ("connection_closed", f"Connection closed by {ip} port {port} [preauth]")]
    if kind == "noid":
        return [("no_identification", f"Did not receive identification string from {ip} port {port}")]
    if kind == "reset":
        return [("connection_reset", f"Connection reset by {ip} port {port} [preauth]")]
    if kind == "negotiate":
        return [("unable_to_negotiate", f"Unable to negotiate with {ip} port {port}: no matching key exchange "
                                        "method found. Their offer: diffie-hellman-group1-sha1 [preauth]")]
    if kind == "disconnect":
        return [("disconnect", f"Received disconnect from {ip} port {port}:11: Bye Bye [preauth]"),
                ("disconnect", f"Disconnected from authenticating user root {ip} port {port} [preauth]")]
    if kind == "noise":
        return [("other", "error: kex_exchange_identification: Connection closed by remote host")]
    return [("connection_closed", f"Connection closed by {ip} port {port} [preauth]")]
