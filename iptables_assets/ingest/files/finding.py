"""Every file under the log folder accounted for: the logs to read, and what each other file is.

`discover` takes the files whose names are those of firewall and sshd logs. Every other file is
looked at here, never passed over in silence: a file whose first 64 KiB hold a firewall line as
the parser reads it (an `iptables.log` an rsyslog rule writes, a log under a name of its own) is
read too; the rest is listed with why it is not read, by kind: login records and other binary
files, other programs' logs, sshd lines under a name the sshd stage does not read, empty files,
symbolic links (not followed, so nothing is read twice or outside the folder).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from pathlib import Path
from typing import Sequence

from iptables_assets.ingest.records.firewall.classify import classify_chunk
from iptables_assets.ingest.files.logfiles import (
    DEFAULT_PATTERNS, LogFile, decompressed_pieces, describe, detect_compression, discover, rotation_key,
)
from iptables_assets.ingest.parse_config import ParseConfig
from iptables_assets.ingest.records.sshd import SSHD_PROGRAMS

SAMPLE_BYTES = 64 << 10
LOGIN_RECORDS = ("wtmp", "btmp", "utmp", "lastlog", "faillog")  # binary records of logins, not syslog

LOGIN = "login records (binary, not syslog)"
BINARY = "binary file"
EMPTY = "empty file"
LINK = "symbolic link (not followed)"
OTHER = "another program's log (no firewall line in its first 64 KiB)"
COPY = "copy of another file (the same content, read once from the other)"  # (`dating`)
SSHD_ELSEWHERE = "sshd lines under a name the sshd stage does not read (it reads secure*, auth.log* and journals)"


def find_logs(root: Path | str, patterns: Sequence[str] = DEFAULT_PATTERNS,
              unreadable: list[tuple[str, str]] | None = None,
              passed_over: list[tuple[str, str]] | None = None) -> list[LogFile]:
    """The log files under `root` (`discover`'s and the other files that hold firewall lines);
    every other file goes to `passed_over` as (path relative to `root`, why it is not read)."""
    root = Path(root)
    others: list[Path] = []
    problems: list[tuple[str, str]] = [] if unreadable is None else unreadable
    files = discover(root, patterns, problems, others)
    base = root if root.is_dir() else root.parent
    for path in others:
        try:
            why = why_not_read(path)
        except OSError as error:
            problems.append((str(path), error.strerror or str(error)))
            continue
        if why is None:
            files.append(describe(path, base))
        elif passed_over is not None:
            passed_over.append((str(path.relative_to(base)), why))
    return sorted(files, key=lambda f: f.relative)


def why_not_read(path: Path) -> str | None:
    """Why a file whose name is not a log's is not read (None: it holds firewall lines, read it).
    Judged once per content as stat sees it: the new-logs sensor asks at every look."""
    if path.is_symlink():
        return LINK
    if rotation_key(path.name)[0] in LOGIN_RECORDS:
        return LOGIN
    stat = path.stat()
    return _judged(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _judged(name: str, _size: int, _mtime_ns: int) -> str | None:
    """`why_not_read` of a regular file by its sample (the size and mtime key the cache)."""
    path = Path(name)
    compression = detect_compression(path)
    if compression == "journal":
        return None
    sample = _first_bytes(path, compression)
    if not sample:
        return EMPTY
    if b"\0" in sample[:4096]:
        return BINARY
    lines = sample[: sample.rfind(b"\n") + 1] or sample
    rows = classify_chunk(lines, 1, ParseConfig(threads=1))
    if (rows["kind"] == "record").any():
        return None
    if rows["program"].is_in(SSHD_PROGRAMS).any():
        return SSHD_ELSEWHERE
    return OTHER


def _first_bytes(path: Path, compression: str) -> bytes:
    """Up to SAMPLE_BYTES of the file's content (decompressed; damage just ends the sample)."""
    sample = b""
    pieces = decompressed_pieces(path, compression, [])
    try:
        for piece in pieces:
            sample += piece
            if len(sample) >= SAMPLE_BYTES:
                break
    finally:
        pieces.close()
    return sample[:SAMPLE_BYTES]


def by_kind(passed_over: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """{why: [paths]}, kinds and paths sorted: how summaries list what was not read."""
    kinds: dict[str, list[str]] = defaultdict(list)
    for path, why in passed_over:
        kinds[why].append(path)
    return {why: sorted(paths) for why, paths in sorted(kinds.items())}
