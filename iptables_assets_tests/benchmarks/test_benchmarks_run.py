"""Every script in benchmarks/ runs once at a tiny size, so none rots: exit status 0 and the line
that shows it measured what it measures. Sizes are the smallest that still take each code path
(the timings themselves mean nothing here). Each script works in its own temporary folder
(BENCHMARKS_WORKDIR), never in benchmarks/_work, and nothing writes README.md or docs/performance.md. Tools the project
does not install (psad, fwlogwatch, systemd-python) are left out by the scripts themselves.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "benchmarks"
JOURNAL_TOOLS = bool(shutil.which("journalctl")) and Path("/lib/systemd/systemd-journal-remote").exists()
FAILED = re.compile(r"Traceback|\bFAILED\b|MISMATCH")


def bench(tmp_path: Path, script: str, *args: str, timeout: float = 600) -> str:
    """`python benchmarks/SCRIPT ARGS` in a temporary work folder: its output, after checking it
    exited 0 with no failed run or mismatch reported."""
    env = {**os.environ, "BENCHMARKS_WORKDIR": str(tmp_path / "work"), "DAGSTER_HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    pages = [REPO / "README.md", REPO / "docs" / "performance.md"]  # what `--write` would rewrite
    before = [page.stat().st_mtime_ns for page in pages]
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=timeout)
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"{script} exited {done.returncode}:\n{out[-4000:]}"
    assert not FAILED.search(out), out[-4000:]
    assert [page.stat().st_mtime_ns for page in pages] == before, f"{script} wrote the README or docs/performance.md"
    return out


def test_parse_benchmark(tmp_path):
    out = bench(tmp_path, "parse_benchmark.py", "--lines", "3000", "--runs", "1", "--smoke")
    assert re.search(r"generated .*syslog \(3,000 lines", out), out
    assert re.search(r"plain: parquet rows = [\d,]+ \[OK\]", out), out


def test_side_by_side_parse_peers_journal_frames(tmp_path):
    parts = "parse,peers,frames" + (",journal" if JOURNAL_TOOLS else "")
    out = bench(tmp_path, "side_by_side.py", "--parts", parts, "--runs", "1", "--lines", "3000",
                "--slice-lines", "1000", "--journal-days", "1", "--journal-events-per-day", "50",
                "--frames-days", "2")
    assert "| `iptables-assets parse` plain → Parquet |" in out, out
    assert re.search(r"plain → Parquet: \d+ records, expected [\d,]+ \[OK\]", out), out
    assert "| `iptables-assets parse` → Parquet |" in out  # peers
    assert "| drops_map |" in out or "drops_map" in out.split("[frames]")[1], out
    if JOURNAL_TOOLS:
        assert re.search(r"journal → Parquet: \d+ records, expected [\d,]+ \[OK\]", out), out


def test_side_by_side_daily_and_year(tmp_path):
    out = bench(tmp_path, "side_by_side.py", "--parts", "daily,year", "--runs", "1", "--daily-days", "2",
                "--daily-events-per-day", "100", "--year-days", "2", "--events-per-day", "100")
    for case in ("fresh clone", "again (warm)", "the last day again", "a new day"):
        assert re.search(rf"\| {re.escape(case)} \| \*\*[\d.]+ s\*\* \|", out), (case, out)
    assert "| **whole run** (fresh process, Python start-up included) |" in out, out
    assert "| the last day again on that output" in out, out


@pytest.mark.parametrize("script, option", [
    ("daily_benchmark.py", "--events-per-day"), ("backfill_benchmark.py", "--days"), ("ui_benchmark.py", "--logs")])
def test_command_lines_of_the_scripts_measured_elsewhere(tmp_path, script, option):
    """Their measurements run above or in the UI tests: daily_benchmark's `measure_daily` and
    backfill_benchmark's `backfill` are side_by_side's daily and year parts, ui_benchmark's steps are
    test_ui_backfill's helpers (each more `iptables-assets run`s or a `dagster dev`); here their own
    command lines and imports."""
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), "--help"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0 and option in done.stdout, done.stdout + done.stderr


def test_fleet_benchmark(tmp_path):
    out = bench(tmp_path, "fleet_benchmark.py", "--hosts", "2", "--days", "1", "--events-per-day", "50",
                "--max-load", "1000", "--load-wait", "0")
    assert re.search(r"2 hosts × 1 days: ok,", out), out


def test_frames_benchmark(tmp_path):
    out = bench(tmp_path, "frames_benchmark.py", "--runs", "1", "--old-days", "1", "--days", "2")
    assert re.search(r"\[(PASS|MISS)\] drops_map recoloured >= \d+ frames/s", out), out
    assert re.search(r"2 days x 3 films, frames \+ GIFs", out), out


def test_gif_benchmark(tmp_path):
    out = bench(tmp_path, "gif_benchmark.py", "--days", "2", "--runs", "1")
    assert out.count("decoded frames identical: True   durations identical: True") == 2, out


def test_geo_benchmark(tmp_path):
    out = bench(tmp_path, "geo_benchmark.py", "--events", "3000", "--sources", "300", "--runs", "1",
                "--asn-db", "synthetic")
    assert re.search(r"events: 3,000  distinct sources: ", out), out
    assert "events/s:" in out, out


def test_history_benchmark(tmp_path):
    out = bench(tmp_path, "history_benchmark.py", "--days", "3", "--events-per-day", "200", "--runs", "1", "--smoke",
                "--steps", "daily,history,incremental")
    assert "[OK] daily_country_counts: 3 partition files (expected 3)" in out, out
    assert out.count("[OK] one-day scanner 198.51.100.12 on 2025-11-03: [65535] ports") == 2, out
    assert "after the incremental step:" in out, out


@pytest.mark.skipif(not JOURNAL_TOOLS, reason="journalctl / systemd-journal-remote not installed")
def test_journal_reader_benchmark(tmp_path):
    out = bench(tmp_path, "journal_reader_benchmark.py", "--days", "1", "--events-per-day", "50", "--runs", "1",
                "--workdir", str(tmp_path / "work"))
    assert re.search(r'"entries_per_s": \d+', out), out


def test_digest_benchmark(tmp_path, journal_run):
    out = bench(tmp_path, "digest_benchmark.py", "--out", str(journal_run[0]), "--runs", "1", "--days", "5",
                "--pages", "10")
    assert '"source_pages": 10' in out and '"digest_days": 5' in out
