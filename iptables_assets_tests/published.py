"""What `iptables-assets run` publishes, for tests that compare two runs byte for byte."""

from __future__ import annotations

from pathlib import Path

# A line of the journal that differs between any two runs: when it was made.
GENERATED_LINE = b"<p>Made by iptables_assets on "


def published(out: Path) -> dict[str, bytes]:
    """Every file of exports/ and journal/ (figures, frames, GIFs, the page without the line
    saying when it was made), by path."""
    files = {}
    for folder in ("exports", "journal"):
        for path in sorted((out / folder).rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                if path.name == "index.html":
                    data = b"\n".join(line for line in data.split(b"\n") if not line.startswith(GENERATED_LINE))
                files[str(path.relative_to(out))] = data
    return files
