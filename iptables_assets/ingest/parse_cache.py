"""Files already read, kept as their day pieces so that a later run links them instead of
reading the file again.

A file is read into day pieces (firewall records: `day_routing.spill_file`; sshd records:
`records.sshd.spill_sshd_file`) the same way whatever run reads it; only the pieces' names (their
place in the run's reading order) differ. So the pieces of a file are kept under `<cache>/<key>/`,
keyed by what determines them (the file's path, size and modification time, its year anchor, the
time zone, the trusted programs, the kind of records, and the parser's version: `parsing_code`, a
digest of the parsing code's source), with a SHA-256 of every piece. A run that needs the file
again (the next day's run, one run per day fanned out over workers, a fleet to which a host was
added, whose other hosts' files did not change) verifies and hard-links the pieces under its own
names. An entry that fails verification is read again, never trusted. Entries appear atomically
(written to a temporary folder, then renamed), so runs on several workers can fill the cache at
once.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shutil
import uuid
from datetime import datetime
from pathlib import Path
from typing import Callable

from iptables_assets import storage
from iptables_assets.code_version import PACKAGE, code_digest, library_versions
from iptables_assets.ingest.files.logfiles import LogFile
from iptables_assets.ingest.parse_config import ParseConfig
from iptables_assets.ingest.records.firewall.day_routing import spill_file
from iptables_assets.ingest.records.firewall.parse_types import FileCounts

FORMAT = 1  # of an entry (pieces and manifest); the parsing code's own changes need no bump
# The code that decides what a line becomes, and what this cache keeps of it: every module of
# these packages (files, lines, records and this cache; the tables' columns and types). A new
# log format's module under `ingest/records/` is covered by being there.
PARSING_PACKAGES = ("ingest", "tables")
# Libraries whose behaviour shapes the pieces: decoding, the compiled scan, regexes, Arrow IPC / Parquet.
PARSING_LIBRARIES = ("isal", "numba", "numpy", "polars", "pyarrow")
_TAG = "f"  # the name prefix of an entry's pieces; a run renames it to its reading order
_MANIFEST = "manifest.json"
CACHE_PARTS = ("_cache", "parsed")


def parsing_sources(root: Path = PACKAGE) -> list[Path]:
    """The modules whose source is the parsing code (`PARSING_PACKAGES`, under `root`)."""
    return sorted(path for package in PARSING_PACKAGES for path in (root / package).rglob("*.py"))


@functools.lru_cache(maxsize=None)
def parsing_code(root: Path = PACKAGE) -> str:
    """The parser's version: a digest of its source (`parsing_sources`), the libraries' versions
    and the entry format. Any edit to the parsing code leaves older entries unused (and pruned
    by the next inventory); nothing to bump by hand."""
    return code_digest([FORMAT, *library_versions(PARSING_LIBRARIES)], parsing_sources(root), root)


def folder_for(out_dir: str | Path) -> Path:
    """The cache of an output folder (pieces are linked, so they must be local)."""
    return storage.local_cache(out_dir, CACHE_PARTS[-1])


@dataclasses.dataclass(frozen=True)
class Held:
    """A file's facts (JSON, `facts_to_json`) and whether its pieces came from the cache."""

    facts: dict
    linked: bool


@dataclasses.dataclass(frozen=True)
class ParseCache:
    """A folder of parsed files; `spill` is `spill_file` (firewall records) that reads each file
    only once, `pieces` the same for any kind of record (`records.sshd`)."""

    folder: Path
    linked: list[str] = dataclasses.field(default_factory=list, compare=False)  # files not read again

    def spill(self, file: LogFile, anchor: datetime, config: ParseConfig, target: Path, tag: str) -> FileCounts:
        """`spill_file(file, anchor, config, target, tag)` (firewall records), from the cache when
        it holds the file."""
        facts = self.pieces(entry_key(file, anchor, config), target, tag,
                            lambda folder, name: facts_to_json(spill_file(file, anchor, config, folder, name)))
        if facts.linked:
            self.linked.append(file.relative)
        return FileCounts(file=file, **facts_from_json(facts.facts))

    def pieces(self, key: str, target: Path, tag: str, read: Callable[[Path, str], dict]) -> Held:
        """A file's day pieces under `target/<day>/`, named from `tag`, and its facts (JSON):
        linked from the entry `key` when the cache holds a sound one, else made by
        `read(folder, tag)` (which leaves the pieces under `folder/<day>/` and returns the facts)
        and kept under `key`."""
        entry = self.folder / key
        manifest = _verified(entry)
        try:
            facts = _link(entry, manifest, target, tag) if manifest else None
        except OSError:  # the entry went away while linking (replaced by another run)
            facts = None
        if facts is not None:
            return Held(facts, linked=True)
        return Held(self._fill(entry, target, tag, read), linked=False)

    def _fill(self, entry: Path, target: Path, tag: str, read: Callable[[Path, str], dict]) -> dict:
        """Read the file into a temporary entry (the manifest written last), link its pieces,
        then put it in place unless a sound entry is already there."""
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f".tmp-{uuid.uuid4().hex}"
        try:
            temporary.mkdir()
            manifest = {"counts": read(temporary, _TAG), "pieces": _checksums(temporary)}
            (temporary / _MANIFEST).write_text(json.dumps(manifest, sort_keys=True))
            linked = _link(temporary, manifest, target, tag)
            if _verified(entry) is None:
                shutil.rmtree(entry, ignore_errors=True)  # damaged (or absent)
                try:
                    os.rename(temporary, entry)
                except OSError:  # another run put its entry in place meanwhile: as good as ours
                    pass
            return linked
        finally:
            shutil.rmtree(temporary, ignore_errors=True)

    def prune(self, keep: set[str]) -> list[str]:
        """Remove the entries (and stale temporary folders) whose key is not in `keep`."""
        removed = []
        for child in sorted(self.folder.iterdir()) if self.folder.is_dir() else []:
            if child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child.name)
        return removed


def entry_key(file: LogFile, anchor: datetime, config: ParseConfig, records: str = "firewall") -> str:
    """What determines a file's pieces of `records` (firewall, sshd), hashed (the chunk size and
    threads do not)."""
    what = {
        "relative": file.relative, "size": file.size, "mtime": file.mtime, "anchor": anchor.isoformat(),
        "tz": config.tz, "trusted": list(config.trusted_programs), "parser": parsing_code(), "records": records,
    }
    if file.compression == "journal" and config.window:  # read by time: the window is what was read
        what["window"] = [moment.isoformat() for moment in config.window]
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:32]


def _verified(entry: Path) -> dict | None:
    """The entry's manifest if every piece it lists is there with its checksum, else None."""
    try:
        manifest = json.loads((entry / _MANIFEST).read_text())
        return manifest if _checksums(entry) == manifest["pieces"] else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _checksums(entry: Path) -> dict[str, str]:
    """SHA-256 of every piece, by its path inside the entry."""
    pieces = sorted(p for p in entry.rglob("*") if p.is_file() and p.name != _MANIFEST and p.parent != entry)
    return {str(p.relative_to(entry)): _sha256(p) for p in pieces}


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _link(entry: Path, manifest: dict, target: Path, tag: str) -> dict:
    """The entry's pieces under `target/<day>/`, renamed for this run's reading order."""
    for relative in manifest["pieces"]:
        day, name = relative.split("/")
        destination = target / day / (tag + name.removeprefix(_TAG))
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.unlink(missing_ok=True)  # left by a link that failed half-way
        try:
            os.link(entry / relative, destination)
        except (FileNotFoundError, FileExistsError):
            raise
        except OSError:  # another file system, or links not allowed: a copy does as well
            shutil.copyfile(entry / relative, destination)
    return manifest["counts"]


def facts_to_json(counts) -> dict:
    """What a read found of a file (a dataclass with its `file`: FileCounts, sshd's), as JSON."""
    fields = {f.name: getattr(counts, f.name) for f in dataclasses.fields(counts) if f.name != "file"}
    fields["covers"] = [moment.isoformat() for moment in fields["covers"]] if fields.get("covers") else None
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}


def facts_from_json(fields: dict) -> dict:
    """`facts_to_json`'s fields back (without the file)."""
    fields = {k: datetime.fromisoformat(v) if k in ("first", "last") and v else v for k, v in fields.items()}
    covers = fields.get("covers")
    return {**fields, "hosts": tuple(fields.get("hosts", ())),
            "covers": tuple(datetime.fromisoformat(v) for v in covers) if covers else None}
