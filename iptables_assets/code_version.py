"""The version of what some code makes, as a digest of that code's source and the versions of the
libraries it uses: a cache keyed by it is never used once that code changes (no number to bump
by hand). Used by the parse cache (`ingest.parse_cache.parsing_code`) and the static store of
figures (`publish.static_store.drawing_code`)."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Iterable, Sequence

PACKAGE = Path(__file__).resolve().parent  # iptables_assets/


def library_versions(names: Sequence[str]) -> list[str]:
    """The installed versions of the distributions `names`, in order."""
    return [metadata.version(name) for name in names]


def code_digest(salt: object, paths: Iterable[Path], root: Path = PACKAGE) -> str:
    """SHA-256 (hex) of `salt` (JSON: a format number, library versions) and of the files `paths`
    under `root`, in path order: each by its path relative to `root` and its bytes (a module) or
    its size (a data file: large, and replaced whole when it changes). Missing paths are skipped."""
    digest = hashlib.sha256(json.dumps(salt).encode())
    for path in sorted(paths):
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest() if path.suffix == ".py" else
                          str(path.stat().st_size).encode())
    return digest.hexdigest()
