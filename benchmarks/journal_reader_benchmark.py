"""How to read a systemd journal: spawning `journalctl -o json` (what the product does) against
libsystemd in the process (the `systemd-python` bindings' `journal.Reader`, as a reader that
links libsystemd would), on the same generated journal, each in a fresh process, interleaved.

Both give the same text lines (`<ISO time> <host> <tag>: <message>`, the kernel tag only for the
kernel transport); entries/s is what each costs up to there. libsystemd is optional: pass the
Python of a venv that has `systemd-python` (Debian: `apt-get install libsystemd-dev pkg-config`,
then `pip install systemd-python`); it is not a dependency of the product.

    .venv/bin/python benchmarks/journal_reader_benchmark.py --libsystemd-python /tmp/sdvenv/bin/python
    .venv/bin/python benchmarks/journal_reader_benchmark.py --days 60 --events-per-day 10000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from harness import CLI, WORK as WORK_ROOT, machine_info, measure, median

THROUGH_JOURNALCTL = """
import sys
from pathlib import Path
from iptables_assets.ingest.files.logfiles import iter_line_chunks
from iptables_assets.ingest.lines.syslog import journal_json_chunk
lines = 0
for path in sys.argv[1:]:
    for _first, chunk in iter_line_chunks(Path(path), "journal", 8 << 20, []):
        lines += journal_json_chunk(chunk)[0].count(b"\\n")
print(lines)
"""

THROUGH_LIBSYSTEMD = """
import sys
from datetime import timezone
from systemd import journal
lines = 0
reader = journal.Reader(files=sys.argv[1:])
for entry in reader:
    message = entry.get("MESSAGE", "")
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    tag = "kernel" if entry.get("_TRANSPORT") == "kernel" else entry.get("SYSLOG_IDENTIFIER", "unknown")
    when = entry["__REALTIME_TIMESTAMP"].astimezone(timezone.utc).isoformat()
    text = f"{when} {entry.get('_HOSTNAME', '-')} {tag}: {str(message).replace(chr(10), ' ')}"
    lines += 1
print(lines)
"""


def _journal(days: int, events: int, work: Path) -> list[str]:
    folder = work / f"journal-{days}d-{events}"
    if not (folder / "ground_truth.json").exists():
        subprocess.run([str(CLI), "generate", "--out", str(folder), "--sources", "journal", "--days", str(days),
                        "--events-per-day", str(events)], check=True, stdout=subprocess.DEVNULL)
    return sorted(str(p) for p in folder.rglob("*.journal"))


def _timed(python: str, code: str, files: list[str], out: Path) -> tuple[float, int]:
    with open(out, "wb") as handle:
        run = measure([python, "-c", code, *files], stdout=handle, stderr=subprocess.DEVNULL)
    lines = int(out.read_text().strip() or -1) if run.ok else -1
    return (run.wall_s if run.ok else float("nan")), lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--events-per-day", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--libsystemd-python", help="a Python with systemd-python installed")
    parser.add_argument("--workdir", type=Path, default=WORK_ROOT)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    files = _journal(args.days, args.events_per_day, args.workdir)
    print("\n".join(machine_info()))
    ways = {"journalctl -o json, rewritten (the product)": (sys.executable, THROUGH_JOURNALCTL)}
    if args.libsystemd_python:
        ways["libsystemd in the process (systemd-python)"] = (args.libsystemd_python, THROUGH_LIBSYSTEMD)
    walls: dict[str, list[float]] = {name: [] for name in ways}
    counted = {}
    for _ in range(args.runs):
        for name, (python, code) in ways.items():
            wall, counted[name] = _timed(python, code, files, args.workdir / "journal-reader.out")
            walls[name].append(wall)
            print(f"  {name}: {wall:.2f} s, {counted[name]:,} entries", flush=True)
    print(json.dumps({name: {"entries": counted[name], "median_s": round(median(w), 2),
                             "entries_per_s": round(counted[name] / median(w))} for name, w in walls.items()}, indent=2))


if __name__ == "__main__":
    main()
