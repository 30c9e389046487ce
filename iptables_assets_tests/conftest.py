"""Shared fixtures: write small log files into tmp_path and parse them with the real parser."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

os.environ.setdefault("IPTABLES_ASSETS_READ_RETRY_SECONDS", "0")  # retried reads without the wait

from iptables_assets import progress
from iptables_assets.ingest.records.firewall.parsing import ParseConfig, ParseResult, parse_paths

# Default file mtime: the last hour of 2024 (a leap year), so an RFC 3164 line of any day
# of the year lands in 2024 unless a test says otherwise.
DEFAULT_MTIME = datetime(2024, 12, 31, 23, 0, tzinfo=timezone.utc)
_COMPRESSORS = {"plain": lambda b: b, "gzip": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}


@pytest.fixture(autouse=True)
def progress_hidden_afterwards():
    """`run_everything` in-process shows progress on this test's stdout, which pytest closes:
    hidden again after every test, so no later test writes to a closed stream."""
    yield
    progress.show_on(None)


@pytest.fixture
def write_log(tmp_path):
    """write_log(name, lines, mtime=datetime, compression="plain"|"gzip"|"bz2"|"xz") -> Path.

    `lines` is a list of str (joined with "\\n", final newline added) or raw bytes.
    """

    def write(name: str, lines, *, mtime: datetime = DEFAULT_MTIME, compression: str = "plain") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = lines if isinstance(lines, bytes) else "".join(f"{line}\n" for line in lines).encode()
        path.write_bytes(_COMPRESSORS[compression](data))
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
        return path

    return write


@pytest.fixture
def accounted():
    """accounted(result) asserts that every line read is a record line, ignored or a reject."""

    def check(result: ParseResult) -> ParseResult:
        s = result.summary()
        assert s["lines_read"] == s["record_lines"] + s["ignored_lines"] + s["reject_lines"], s
        assert s["rejects"] + s["reject_duplicates_removed"] == s["reject_lines"], s
        assert sum(s["rejects_by_reason"].values()) == s["rejects"], s
        # events = record lines + extra events of "message repeated N times" - duplicates
        events = s["record_lines"] + s["repeated_message_extra_events"] - s["duplicates_removed"]
        assert s["records"] == events, s
        return result

    return check


@pytest.fixture
def parse_lines(write_log, accounted):
    """parse_lines(lines, name="messages", mtime=..., **ParseConfig kw) -> accounted ParseResult."""

    def parse(lines, *, name: str = "messages", mtime: datetime = DEFAULT_MTIME, **config) -> ParseResult:
        path = write_log(name, lines, mtime=mtime)
        return accounted(parse_paths([path], ParseConfig(**config)))

    return parse


@pytest.fixture
def one_record(parse_lines):
    """one_record(line, **kw) -> the single record parsed from one line, as a dict."""

    def parse(line: str, **kw) -> dict:
        result = parse_lines([line], **kw)
        assert result.rejects.height == 0, result.rejects.to_dicts()
        assert result.records.height == 1, result.summary()
        return result.records.to_dicts()[0]

    return parse


@pytest.fixture(scope="session")
def journal_run(tmp_path_factory):
    """`iptables-assets run` on 45 generated days (the planted scanners land inside); returns the
    output folder, the ground truth and the run's output (stdout, then stderr). Tests using it are grouped on one
    xdist worker (`--dist loadgroup`) so the run happens once."""
    import subprocess
    import sys
    from datetime import date

    from iptables_assets.sample import generate_logs

    root = tmp_path_factory.mktemp("journal_run")
    truth = generate_logs(root / "logs", days=45, seed=5, start=date(2025, 12, 10), events_per_day=400)
    env = {**os.environ, "DAGSTER_HOME": str(root / "home")}
    cli = Path(sys.executable).parent / "iptables-assets"
    done = subprocess.run([str(cli), "run", "--logs", str(root / "logs"), "--out", str(root / "out")],
                          capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root / "out", truth, done.stdout + done.stderr
