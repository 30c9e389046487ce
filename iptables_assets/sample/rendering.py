"""Turning events into syslog text: the kernel's nf_log format and the RFC 3164 line header."""

from __future__ import annotations

import datetime as dt

from iptables_assets.sample.events import US, Line, NetfilterEvent, Simulation

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def render_netfilter(ev: NetfilterEvent) -> str:
    """The kernel message (after ``kernel: [uptime] ``) exactly as nf_log_syslog formats it.

    Field order: prefix, ``IN= OUT= ``, ``MAC=`` (only with an input device), the IP header,
    then the transport header; every field is followed by one space, so the text ends in a space.
    """
    text = f"{ev.prefix}IN={ev.in_if} OUT={ev.out_if} " + (f"MAC={ev.mac} " if ev.mac else "") + _render_ip(ev)
    if ev.defect == "truncated_after_address":  # cut somewhere between the DST value and SPT=
        lo = text.index(" LEN=", text.index(" DST="))
        return text[: lo + ev.defect_arg % (text.index(" SPT=") - lo)]
    if ev.defect == "missing_address":  # cut inside the MAC value, before SRC=
        lo = text.index("MAC=") + 4
        return text[: lo + ev.defect_arg % (text.index("SRC=") - lo)]
    return text


def _render_ip(p: NetfilterEvent) -> str:
    """The IPv4 or IPv6 header fields, as nf_log prints them for each family."""
    if p.v6:
        head = f"SRC={p.src} DST={p.dst} LEN={p.length} TC={p.tos} HOPLIMIT={p.ttl} FLOWLBL=0 "
    else:
        head = (f"SRC={p.src} DST={p.dst} LEN={p.length} TOS=0x{p.tos & 0x1E:02X} PREC=0x{p.tos & 0xE0:02X} "
                f"TTL={p.ttl} ID={p.ip_id} " + ("DF " if p.df else ""))
    return head + _render_transport(p)


def _render_transport(p: NetfilterEvent) -> str:
    """The transport header fields; an ICMP error quotes the offending packet's header in brackets."""
    if p.defect == "incomplete":
        return f"PROTO={p.proto} INCOMPLETE [{p.defect_arg} bytes] "
    if p.proto == "TCP":
        flags = f"{p.flags} " if p.flags else ""
        return f"PROTO=TCP SPT={p.sport} DPT={p.dport} WINDOW={p.window} RES=0x00 {flags}URGP=0 "
    if p.proto == "UDP":
        return f"PROTO=UDP SPT={p.sport} DPT={p.dport} LEN={p.length - (40 if p.v6 else 20)} "
    if p.proto in ("ICMP", "ICMPv6"):
        text = f"PROTO={p.proto} TYPE={p.icmp[0]} CODE={p.icmp[1]} "
        if len(p.icmp) == 4:
            text += f"ID={p.icmp[2]} SEQ={p.icmp[3]} "
        if p.inner is not None:
            text += f"[{_render_ip(p.inner)}] "
        return text
    return f"PROTO={p.proto} "


def render_kernel_body(ev: NetfilterEvent, boot_us: int) -> str:
    """Everything after the header: ``kernel: [uptime] msg`` or the rsyslog repeat form."""
    msg = render_netfilter(ev)
    if ev.count > 1:  # rsyslog: "message repeated %d times: [%s]" around the msg, which starts with a space
        return f"kernel: message repeated {ev.count} times: [ {msg}]"
    return f"kernel: {render_uptime(ev.t_us - boot_us)} {msg}"


def render_uptime(us: int) -> str:
    """The kernel's ``[seconds.micros]`` stamp, seconds padded to five places as printk does."""
    return f"[{us // US:5d}.{us % US:06d}]"


def render_lines(sim: Simulation, host: str) -> list[tuple[Line, str]]:
    """Prefix every non-raw line with its RFC 3164 header (``Mmm dd HH:MM:SS host ``)."""
    minutes: dict[int, str] = {}  # UTC offsets only change on whole minutes
    out = []
    for line in sim.lines:
        if line.raw:
            out.append((line, line.body))
            continue
        minute, sec = divmod(line.t_us // US, 60)
        head = minutes.get(minute)
        if head is None:
            t = dt.datetime.fromtimestamp(minute * 60, sim.tz)
            head = minutes[minute] = f"{MONTHS[t.month - 1]} {t.day:2d} {t.hour:02d}:{t.minute:02d}:"
        out.append((line, f"{head}{sec:02d} {host} {line.body}"))
    return out
