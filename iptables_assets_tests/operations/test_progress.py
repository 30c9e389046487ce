"""Progress of long work: plain periodic lines when not on a terminal, nothing unless asked,
per-stage times in the run's summary."""

from __future__ import annotations

import io
import re

import pytest

from iptables_assets import progress

pytestmark = pytest.mark.xdist_group("journal_run")


@pytest.fixture
def shown():
    stream = io.StringIO()
    progress.show_on(stream, interval=0)
    yield stream
    progress.show_on(None)


def test_plain_lines_say_done_of_total_rate_and_eta(shown):
    with progress.track("geo-tagging", 4, "days") as work:
        for _ in range(4):
            work.update()
    lines = shown.getvalue().splitlines()
    assert len(lines) == 5  # one per update (interval 0) and the closing one
    assert re.search(r"geo-tagging: 2/4 days \(50%\) \[\d\d:\d\d<\d\d:\d\d, .*days/s\]$", lines[1])
    assert re.search(r"geo-tagging: 4/4 days \(100%\)", lines[-1])


def test_bytes_are_scaled(shown):
    with progress.track("reading logs", 3 << 20, "B") as work:
        work.update(3 << 20)
    assert "reading logs: 3.15M/3.15M B (100%)" in shown.getvalue()


def test_nothing_is_shown_unless_asked():
    progress.show_on(None)
    stream = io.StringIO()
    with progress.track("quiet", 2) as work:
        work.update(2)
    assert stream.getvalue() == ""


def test_run_shows_progress_and_stage_times(journal_run):
    _out, _truth, stdout = journal_run
    assert re.search(r"reading logs: [\d.]+[kM]?/[\d.]+[kM]? B \(100%\)", stdout)
    assert re.search(r"animation frames: 135/135 frames \(100%\)", stdout)  # 45 days x 3 films
    assert re.search(r"stage seconds: \{'inventory': [\d.]+, 'per-day assets': [\d.]+, 'whole history and "
                     r"figures': [\d.]+, 'animation frames': [\d.]+, 'GIFs and journal': [\d.]+\}", stdout)
    assert "DEBUG" not in stdout and "STEP_WORKER_STARTED" not in stdout
