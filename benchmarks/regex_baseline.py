"""The naive baseline: one compiled regex per line, in pure Python, over a plain or gzip syslog file.

What a few lines of Python would do instead of the parser: read the file line by line (bytes, no
decoding), match one compiled regex that pulls SRC, DST, PROTO and, when there is one, DPT out of
a kernel netfilter line, and keep the matches as a list of tuples (the parser keeps its records
too). No time stamps, no year inference, no validation, no rejects, no output file: a lower bound
on the work, not a parser. side_by_side.py runs it in a fresh process per run:

    .venv/bin/python benchmarks/regex_baseline.py FILE[.gz]    # prints the number of matches
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

# `kernel:` keeps other daemons' lines out; the DPT group is optional (ICMP has none).
NETFILTER = re.compile(rb"kernel: .*? SRC=(\S+) DST=(\S+) .*?PROTO=(\w+)(?: SPT=\d+ DPT=(\d+))?")


def matches(path: Path) -> list[tuple[bytes, ...]]:
    """The (src, dst, proto, dpt) of every netfilter line of `path`, read line by line."""
    opener = gzip.open if path.suffix == ".gz" else open
    found = []
    keep = found.append
    search = NETFILTER.search
    with opener(path, "rb") as handle:
        for line in handle:
            match = search(line)
            if match:
                keep(match.groups())
    return found


if __name__ == "__main__":
    print(len(matches(Path(sys.argv[1]))))
