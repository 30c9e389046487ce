"""The same host's lines as systemd-journald keeps them: an export stream, made into journal files
by `systemd-journal-remote` (the tool a central log host runs), under `journal/<machine id>/`.

What the journal holds differs from the text files the way it does on a real host: kernel lines
come through the kernel transport without rsyslog's `[uptime]` stamp, at their exact time; an
rsyslog `message repeated N times: [ MSG ]` line is N entries of MSG; other programs' lines are
syslog-transport entries tagged by their identifier (forged netfilter text in sshd's lines
stays sshd's); header-less garbage is not in the journal (journald stores messages, not lines).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Iterable, Iterator

from iptables_assets.sample.events import US, Line, Simulation

REMOTE = ("/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote")
_UPTIME = re.compile(r"^\[\s*\d+\.\d{6}\] ")
_REPEATED = re.compile(r"^message repeated (\d+) times: \[ (.*)\]$")  # rsyslog adds one space before MSG
_TAG = re.compile(r"^(?P<tag>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: (?P<message>.*)$", re.DOTALL)


def journal_remote() -> str | None:
    """The `systemd-journal-remote` program, if installed (Debian package of that name)."""
    return next((p for p in REMOTE if os.access(p, os.X_OK)), shutil.which("systemd-journal-remote"))


def entries(lines: Iterable[Line], host: str) -> Iterator[tuple[int, dict[str, bytes]]]:
    """(realtime µs, fields) of the journal entries the lines stand for, in time order."""
    for line in lines:
        if line.raw:
            continue
        found = _TAG.match(line.body)
        if found is None:
            continue
        tag, message = found["tag"], found["message"]
        fields = {"_HOSTNAME": host, "SYSLOG_IDENTIFIER": tag}
        if tag == "kernel":
            fields["_TRANSPORT"] = "kernel"
            repeated = _REPEATED.match(message)
            count, message = (int(repeated[1]), repeated[2]) if repeated else (1, _UPTIME.sub("", message, 1))
        else:
            fields["_TRANSPORT"] = "syslog"
            count = 1
            if found["pid"]:
                fields["_PID"] = found["pid"]
        fields["MESSAGE"] = message
        for _ in range(count):
            yield line.t_us, {k: v.encode("utf-8", "surrogateescape") for k, v in fields.items()}


def export_stream(sim: Simulation, host: str, since_us: int = 0) -> bytes:
    """The journal export format (`journalctl -o export`) of the host's entries from `since_us` on."""
    boot = hashlib.md5(f"{host}:{sim.boot_us}".encode()).hexdigest().encode()
    out = bytearray()
    for t_us, fields in entries((line for line in sim.lines if line.t_us >= since_us), host):
        out += b"__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n" % (t_us, t_us - sim.boot_us, boot)
        for key, value in fields.items():
            if b"\n" in value or any(c < 32 and c != 9 for c in value):  # binary-safe form
                out += key.encode() + b"\n" + len(value).to_bytes(8, "little") + value + b"\n"
            else:
                out += key.encode() + b"=" + value + b"\n"
        out += b"\n"
    return bytes(out)


def machine_id(host: str) -> str:
    """A stable machine ID for the host (the folder name journald uses)."""
    return hashlib.md5(f"machine:{host}".encode()).hexdigest()


def write_journal(out_dir: Path, sim: Simulation, host: str, since_us: int = 0) -> Path:
    """`out_dir/journal/<machine id>/system.journal` (and archived `system@….journal` files
    where journal-remote rotates), made from the export stream of the entries from `since_us`
    on (a journal made persistent later than the text logs began); returns its folder."""
    remote = journal_remote()
    if remote is None:
        raise OSError("systemd-journal-remote is not installed (Debian package systemd-journal-remote); "
                      "it writes the journal files")
    folder = out_dir / "journal" / machine_id(host)
    folder.mkdir(parents=True, exist_ok=True)
    stream = export_stream(sim, host, since_us)
    made = subprocess.run([remote, "--output", str(folder / "system.journal"), "-"], input=stream,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if made.returncode != 0:
        raise OSError(f"systemd-journal-remote failed: {made.stderr.decode(errors='replace').strip()}")
    last = sim.bounds[-1] // US
    for path in folder.iterdir():  # mtimes from the logs, never the clock
        os.utime(path, (last, last))
    return folder
