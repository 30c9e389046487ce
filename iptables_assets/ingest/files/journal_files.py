"""systemd journal files (`*.journal`, dirty `*.journal~`), read as `journalctl -o json` lines.

Read by spawning `journalctl --file` rather than through libsystemd in this process: a journal
file truncated while it is read (rotation, vacuuming) can kill a process that maps it with
SIGBUS (systemd #24320; Filebeat moved to `journalctl` for this, beats #39820), and a dead
`journalctl` is a damaged file we can name, not a dead run. The JSON lines then take the path
of `journalctl -o json` exports (`syslog.journal_json_chunk`): exact UTC times from
`__REALTIME_TIMESTAMP`, the host from `_HOSTNAME`, `kernel` trusted only for the kernel transport.

Measured (benchmarks/journal_reader_benchmark.py): 55,600 entries/s up to text lines, against
132,000/s for libsystemd in the process; `journalctl -o json` is 4.5x `-o export` (see docs/parsing.md).

Every entry is read (not only kernel and sshd ones), so that netfilter-looking text in any other
entry is a counted `untrusted_program` reject, as in text logs, and every entry is a line read.
`journalctl` reads past damage without failing: a corrupt entry array ends its walk early, a
corrupt data object gives altered text, a truncated file is refused whole (exit 1). So the
entries it gives are held against the count the file's header declares (fewer is damage, named
with both numbers), and a file no longer written (state not ONLINE) is also checked with
`journalctl --verify` (hash chains and object links; ~40% of the read's time), whose first
finding names the damage. Either way the entries read are kept and the file is named.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

MAGIC = b"LPKSHHRH"  # the first bytes of every journal file
NAME_PATTERNS = ("*.journal", "*.journal~")
# The fields the JSON-to-text rewriting uses (journalctl adds the cursor, both timestamps and boot ID).
FIELDS = ("__REALTIME_TIMESTAMP", "_HOSTNAME", "SYSLOG_IDENTIFIER", "_COMM", "_TRANSPORT", "MESSAGE")
_READ_PIECE = 1 << 20
_HEX_TIME = re.compile(r"\(([0-9a-f]+)\)\s*$")
# journalctl's environment: no pager, no colours, messages in English (they go into damage notes).
_ENV = {"SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0", "LC_ALL": "C"}


class DamagedJournal(OSError):
    """A journal file `journalctl` reads only in part, or not at all (raised after its good part)."""


def journalctl() -> str:
    """The `journalctl` program, or an OSError saying what to install."""
    found = shutil.which("journalctl") or next(
        (p for p in ("/usr/bin/journalctl", "/bin/journalctl") if os.access(p, os.X_OK)), None)
    if found is None:
        raise OSError(errno.ENOENT, "journalctl not found: install systemd's journalctl to read journal files")
    return found


Window = tuple[datetime, datetime]  # first and last moment wanted, both included (UTC)


def command(path: Path, window: Window | None = None) -> list[str]:
    """The `journalctl` command line that prints the file's entries (those of `window`, if given:
    journalctl finds them by its time index, without reading the rest) as JSON lines."""
    within = [f"--since=@{_epoch(window[0])}", f"--until=@{_epoch(window[1])}"] if window else []
    return [journalctl(), "--file", str(path), "--no-pager", "--utc", "--all", "--output=json",
            "--output-fields=" + ",".join(FIELDS), *within]


@dataclass(frozen=True)
class Header:
    """What a journal file's header says of it (None where `journalctl` cannot say)."""

    entries: int | None = None
    state: str | None = None  # ONLINE (being written), OFFLINE, ARCHIVED
    file_id: str | None = None
    head: datetime | None = None  # the first and last entries' times (UTC)
    tail: datetime | None = None


def header(path: Path) -> Header:
    """The file's header (`journalctl --header`); an empty Header for a file it refuses."""
    text = _run("--file", str(path), "--header").stdout.decode("utf-8", "replace")
    fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    entries = fields.get("Entry objects", "")
    return Header(
        entries=int(entries) if entries.isdigit() else None,
        state=fields.get("State"),
        file_id=fields.get("File ID"),
        head=_realtime(fields.get("Head realtime timestamp")),
        tail=_realtime(fields.get("Tail realtime timestamp")),
    )


def declared_entries(path: Path) -> int | None:
    """The number of entries the file's header declares (None when `journalctl` cannot say)."""
    return header(path).entries


def _realtime(value: str | None) -> datetime | None:
    """`Wed 2023-11-15 11:57:04 UTC (60a2f9a0abe80)` -> that moment to the microsecond (the hex)."""
    found = _HEX_TIME.search(value or "")
    if found is None or int(found[1], 16) == 0:
        return None
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=int(found[1], 16))


def _epoch(moment: datetime) -> str:
    """`@seconds.micros` as journalctl's --since/--until read it (to the microsecond)."""
    micros = (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def first_entry_from(path: Path, since: datetime) -> datetime | None:
    """The time of the file's first entry at or after `since` (None if there is none): only that
    entry is read (journalctl seeks to it by its time index)."""
    pieces = json_pieces(path, [], (since, datetime.max.replace(year=9000, tzinfo=timezone.utc)))
    try:
        line = next(pieces, b"").split(b"\n", 1)[0]
    finally:
        pieces.close()
    try:
        return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(
            microseconds=int(json.loads(line)["__REALTIME_TIMESTAMP"]))
    except (ValueError, KeyError, TypeError):
        return None


def verify_failure(path: Path) -> str | None:
    """What `journalctl --verify` finds wrong with the file first, or None if it passes."""
    checked = _run("--file", str(path), "--verify", errors=True)
    if checked.returncode == 0:
        return None
    said = checked.stderr.decode("utf-8", "replace").splitlines()
    found = [line.strip() for line in said if "corruption detected" in line or line.startswith("FAIL")]
    return (found or said or [f"journalctl --verify exited with {checked.returncode}"])[0]


def _run(*arguments: str, errors: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run([journalctl(), *arguments, "--no-pager"], env=_environment(), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE if errors else subprocess.DEVNULL)


@dataclass(frozen=True)
class Facts:
    """What the text-versus-journal rule (`journal_coverage`) needs of a journal file: its hosts
    and the stretch it covers (first to last entry, from its header: whatever part was read)."""

    hosts: tuple[str, ...] = ()
    covers: Window | None = None


def facts(path: Path, compression: str) -> Facts:
    """A journal file's hosts and covered stretch (none for a file journalctl refuses, or a text file)."""
    if compression != "journal":
        return Facts()
    head = header(path)
    return Facts(hosts(path), (head.head, head.tail) if head.head and head.tail else None)


def hosts(path: Path) -> tuple[str, ...]:
    """The host names of the file's entries (`_HOSTNAME`, spaces as `_` as in the rewritten
    lines), sorted; none when `journalctl` cannot read the file."""
    listed = _run("--file", str(path), "--field=_HOSTNAME")
    names = listed.stdout.decode("utf-8", "replace").splitlines() if listed.returncode == 0 else []
    return tuple(sorted({name.replace(" ", "_") for name in names if name}))


def json_pieces(path: Path, damage: list[str] | None = None, window: Window | None = None) -> Iterator[bytes]:
    """`journalctl -o json` output of one file (or of its entries in `window`), piece by piece
    (whole lines, one per entry).

    A file `journalctl` cannot open or stops reading early raises DamagedJournal after its
    readable entries, or, given a `damage` list, has a note naming it appended there. A whole
    file is also held against its header's count and, unless still being written, `--verify`
    (a window is not: the inventory's whole read names that damage). A file this process
    cannot open raises OSError."""
    with open(path, "rb"):  # unreadable (chmod 000, gone) is not damage: raise it as such
        pass
    head = header(path) if window is None else Header()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command(path, window), stdout=subprocess.PIPE, stderr=errors,
                                   stdin=subprocess.DEVNULL, env=_environment())
        entries = 0
        try:
            for piece in iter(lambda: process.stdout.read(_READ_PIECE), b""):
                entries += piece.count(b"\n")
                yield piece
        finally:
            if process.poll() is None:
                process.kill()  # the reader stopped early
            process.stdout.close()
            code = process.wait()
        errors.seek(0)
        said = errors.read().decode("utf-8", "replace").strip()
    note = _damage(path, code, said, entries, head.entries)
    if note is None and window is None and head.state != "ONLINE" and (failure := verify_failure(path)):
        note = f"{str(path)!r}: journal damaged ({failure}); its {entries:,} entries read are kept"
    if note is None:
        return
    if damage is None:
        raise DamagedJournal(note)
    damage.append(note)


def _damage(path: Path, code: int, said: str, entries: int, declared: int | None) -> str | None:
    """What went wrong reading a journal file, or None when every declared entry was read."""
    reason = said.splitlines()[-1] if said else f"journalctl exited with {code}"
    if code != 0 and entries == 0:
        return f"{str(path)!r}: journal file journalctl cannot read ({reason}); no entries recovered"
    if code != 0:
        return f"{str(path)!r}: journal damaged, journalctl stopped ({reason}); {entries:,} entries recovered"
    if declared is not None and entries < declared:
        return (f"{str(path)!r}: journal damaged, {entries:,} of the {declared:,} entries its header declares "
                "could be read")
    return None


def _environment() -> dict[str, str]:
    return {**os.environ, **_ENV}
