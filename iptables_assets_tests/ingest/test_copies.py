"""Copies of logs elsewhere in the tree add no event and no day (issue 22 §2): exact copies (also
compressed), partial copies and rotated files copied into other folders, with fresh mtimes up
to years after their lines; every file says what dated it."""

from __future__ import annotations

import gzip
import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iptables_assets.days import days_between
from iptables_assets.ingest.files import dating, watching
from iptables_assets.ingest.files.finding import find_logs
from iptables_assets.ingest.files.inventory import build_inventory, days_covered, files_for_days, log_file_from_row
from iptables_assets.ingest.files.logfiles import decompressed_pieces
from iptables_assets.ingest.records.firewall.parsing import ParseConfig, parse_days
from iptables_assets.sample import generate_logs

START = date(2025, 11, 20)
DAYS = 16


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[Path, dict, list[str]]:
    """A generated host's /var/log, its truth and its text files."""
    root = tmp_path_factory.mktemp("copies") / "logs"
    truth = generate_logs(root, days=DAYS, seed=21, start=START, events_per_day=150)
    return root, truth, sorted(truth["lines_per_file"])


def _events_per_day(root: Path, scratch: Path) -> tuple[dict[str, int], tuple[date, date] | None, object]:
    """What a run reads: the inventory's files (copies aside, with its year anchors), every day."""
    config = ParseConfig()
    inventory = build_inventory(find_logs(root), config)
    span = days_covered(inventory, config.tz)
    rows = list(files_for_days(inventory, span[0], span[1], config.tz).iter_rows(named=True))
    result = parse_days([log_file_from_row(r) for r in rows], config, {r["relative"]: r["year_anchor"] for r in rows},
                        days_between(*span), scratch)
    return {d.isoformat(): n for d, n in result.events_per_day.items() if n}, span, inventory


copy_spec = st.tuples(
    st.integers(0, 1000),  # which text file
    st.sampled_from(["exact", "gzip", "partial"]),
    st.floats(0, 0.9), st.floats(0.05, 1.0),  # a partial copy's share of the lines: from, length
    st.sampled_from(["archive", "remote/gw01", "old/by/hand"]),
    st.booleans(),  # under its own name, or a name of its own
    st.one_of(st.sampled_from([0, 2, 364, 365, 366, 730]), st.integers(0, 900)),  # days its mtime is after the source's
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(copies=st.lists(copy_spec, min_size=1, max_size=3))
def test_copies_anywhere_add_no_event_and_no_day(base, tmp_path_factory, copies):
    root, truth, names = base
    tree = tmp_path_factory.mktemp("tree") / "logs"
    shutil.copytree(root, tree)
    for n, (which, kind, start, length, folder, same_name, later) in enumerate(copies):
        source = root / names[which % len(names)]
        content = b"".join(decompressed_pieces(source))
        if kind == "partial":
            lines = content.splitlines(keepends=True)
            first = int(len(lines) * start)
            content = b"".join(lines[first:first + max(1, int(len(lines) * length))])
        name = source.name.removesuffix(".gz") if same_name else f"{source.name.split('.')[0]}-copy{n}"
        target = tree / folder / str(n) / (name + (".gz" if kind == "gzip" else ""))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(gzip.compress(content, mtime=0) if kind == "gzip" else content)
        moment = source.stat().st_mtime + later * 86400
        os.utime(target, (moment, moment))
    per_day, span, inventory = _events_per_day(tree, tmp_path_factory.mktemp("days"))
    assert per_day == {d: n for d, n in truth["records_per_day"].items() if n}
    assert span == (START, START + timedelta(days=DAYS - 1))
    assert dating.dated_only_by_a_far_mtime(inventory) == {}
    assert inventory["year_evidence"].null_count() == 0


def test_every_file_says_what_dated_it_and_copies_name_the_file_read(base, tmp_path):
    root, truth, _names = base
    tree = tmp_path / "logs"
    shutil.copytree(root, tree)
    (tree / "archive").mkdir()
    shutil.copy(tree / "messages.1", tree / "archive" / "messages.1")  # a fresh mtime (a year on), no neighbour
    (tree / "archive" / "kern.log.gz").write_bytes(gzip.compress((tree / "kern.log").read_bytes()))
    lonely = tree / "elsewhere" / "messages"  # dated by nothing but a far mtime, sharing no line
    lonely.parent.mkdir()
    lonely.write_text("Mar  3 10:00:00 gw01 CRON[1]: (root) CMD (true)\n")
    moment = (tree / "messages").stat().st_mtime + 400 * 86400
    os.utime(lonely, (moment, moment))
    inventory = build_inventory(find_logs(tree), ParseConfig())
    evidence = dict(inventory.select("relative", "year_evidence").iter_rows())
    assert evidence["kern.log-20251125.gz"] == "rotation date 2025-11-25"
    assert evidence["messages.1"] == "newer rotation messages"
    assert evidence["messages"] == "mtime"
    assert evidence["archive/messages.1"] == "shared lines messages.1"
    assert dating.copies(inventory) == {"archive/kern.log.gz": "kern.log", "archive/messages.1": "messages.1"}
    (far,) = dating.dated_only_by_a_far_mtime(inventory).items()
    assert far[0] == "elsewhere/messages" and far[1].startswith("mtime, ") and far[1].endswith("days after its last line")


def test_the_sensor_dates_a_new_copy_as_the_run_does(base, tmp_path):
    root, truth, _names = base
    tree = tmp_path / "logs"
    shutil.copytree(root, tree)
    config = ParseConfig()
    state, _days, _changed = watching.look(find_logs(tree), {}, config)
    year_on = (tree / "messages").stat().st_mtime + 365 * 86400
    (tree / "archive").mkdir()
    (tree / "archive" / "kern.log.gz").write_bytes(gzip.compress((tree / "kern.log").read_bytes()))
    lines = (tree / "messages.1").read_bytes().splitlines(keepends=True)
    (tree / "archive" / "messages-part").write_bytes(b"".join(lines[len(lines) // 3: len(lines) // 2]))
    for path in (tree / "archive").iterdir():
        os.utime(path, (year_on, year_on))
    files = find_logs(tree)
    naive = watching.look(files, state, config)[1]
    _state, days, changed = watching.look(files, state, config, lambda: build_inventory(files, config))
    assert changed == ["archive/messages-part"]  # the exact copy brings nothing
    assert days and {d.isoformat() for d in days} <= set(truth["days"])
    assert min(naive) > max(days)  # dated by its mtime alone, the part would be a year late
