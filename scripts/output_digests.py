"""SHA-256 of every file an `iptables-assets run` leaves in an output folder, one line each, so
that a refactoring can show its outputs byte-identical (stored tables, exports, figures, frames,
GIFs, the journal). Caches (`_cache/`) and the run's Dagster home are left out: they are not
outputs. The journal pages' "Made by iptables_assets on <time>" line says when they were made:
it is hashed as "Made by iptables_assets on <time>", so two runs at different times compare equal.

    .venv/bin/python scripts/output_digests.py data/out > /tmp/before.txt
    ... change the code, run again into a fresh folder ...
    .venv/bin/python scripts/output_digests.py /tmp/out-after > /tmp/after.txt && diff /tmp/before.txt /tmp/after.txt
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

SKIPPED = ("_cache", "dagster_home")
MADE_AT = re.compile(rb"Made by iptables_assets on [^<]*")


def digests(folder: Path) -> list[str]:
    """`<sha256>  <path relative to folder>` for every output file, sorted by path."""
    lines = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder)
        if relative.parts[0] in SKIPPED:
            continue
        data = path.read_bytes()
        if path.suffix == ".html":
            data = MADE_AT.sub(b"Made by iptables_assets on <time>", data)
        lines.append(f"{hashlib.sha256(data).hexdigest()}  {relative.as_posix()}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="an output folder of `iptables-assets run`")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    sys.stdout.write("".join(line + "\n" for line in digests(args.folder)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
