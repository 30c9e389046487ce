"""What `iptables-assets run` publishes, for tests that compare two runs byte for byte, and
the end of such a run in its own process."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

# A line of the journal that differs between any two runs: when it was made.
GENERATED_LINE = b"<p>Made by iptables_assets on "


def published(out: Path) -> dict[str, bytes]:
    """Every file of exports/ and journal/ (figures, frames, GIFs, the pages without the line
    saying when it was made), by path."""
    files = {}
    for folder in ("exports", "journal"):
        for path in sorted((out / folder).rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                if path.suffix == ".html":  # the journal, host and source pages
                    data = b"\n".join(line for line in data.split(b"\n") if not line.startswith(GENERATED_LINE))
                files[str(path.relative_to(out))] = data
    return files


def finished_run(process: subprocess.Popen, timeout: float) -> bytes:
    """The output of an `iptables-assets run` process once it ended well; killed, and the test
    failed, after `timeout` seconds (a lost Celery result would make it wait for ever)."""
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"`iptables-assets run` did not finish within {timeout} s:\n{output.decode()[-3000:]}")
    assert process.returncode == 0, output.decode()[-5000:]
    return output
