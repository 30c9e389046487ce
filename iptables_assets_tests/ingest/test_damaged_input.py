"""Damaged or unreadable input is read as far as it goes and named, never skipped in silence."""

from __future__ import annotations

import bz2
import gzip
import itertools
import json
import lzma
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

import graph
from graph import asset
from iptables_assets import cli
from iptables_assets.ingest.files import logfiles
from iptables_assets.ingest.files.logfiles import discover, iter_line_chunks
from iptables_assets.ingest.records.firewall.parsing import parse_paths
from iptables_assets.sample import generate_logs

log_file_inventory = asset("log_file_inventory")
parsed_firewall_logs = asset("firewall_events")

N_LINES = 20_000
OPENERS = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}
PACKERS = {"gzip": lambda b: gzip.compress(b, 6), "bz2": bz2.compress, "xz": lzma.compress}
SUFFIX = {"gzip": ".gz", "bz2": ".bz2", "xz": ".xz"}


def _lines(n: int = N_LINES) -> bytes:
    """n distinct kernel netfilter lines (distinct IDs, so none is a duplicate of another)."""
    return b"".join(
        b"Dec 30 %02d:%02d:%02d fw kernel: [UFW BLOCK] IN=eth0 OUT= SRC=192.0.2.%d DST=198.51.100.7 "
        b"LEN=40 TOS=0x00 PREC=0x00 TTL=50 ID=%d PROTO=TCP SPT=%d DPT=22 WINDOW=1024 RES=0x00 SYN URGP=0\n"
        % (i // 3600 % 24, i // 60 % 60, i % 60, i % 250 + 1, i, 1024 + i % 60000)
        for i in range(n)
    )


def _stdlib_complete_lines(path: Path, compression: str) -> int:
    """Complete lines Python's own streaming reader returns before the damage stops it."""
    count = 0
    try:
        with OPENERS[compression](path, "rb") as handle:
            for line in handle:
                count += line.endswith(b"\n")
    except (EOFError, OSError, lzma.LZMAError):
        pass
    return count


def _zcat_complete_lines(path: Path) -> int:
    """Complete lines `zcat` writes before it gives up (it exits non-zero on damage)."""
    out = subprocess.run(["zcat", str(path)], capture_output=True).stdout
    return out.count(b"\n")


def _read(path: Path) -> tuple[bytes, list[str]]:
    damage: list[str] = []
    data = b"".join(chunk for _first, chunk in iter_line_chunks(path, None, 1 << 20, damage))
    return data, damage


@pytest.mark.parametrize("compression", ["gzip", "bz2", "xz"])
def test_truncated_file_yields_every_recoverable_line(tmp_path, compression):
    """Cut at several points (three inside the first 64 KiB): every complete line the stdlib
    streaming reader (and for gzip `zcat`) recovers comes out, in order, and the damage
    names the file and the bytes recovered."""
    original = _lines()
    packed = PACKERS[compression](original)
    cuts = [50, 3_000, 40_000, len(packed) // 2, len(packed) - 3]
    for cut in cuts:
        path = tmp_path / f"messages.1{SUFFIX[compression]}"
        path.write_bytes(packed[:cut])
        data, damage = _read(path)
        expected = _stdlib_complete_lines(path, compression)
        if compression == "gzip":
            assert _zcat_complete_lines(path) == expected, cut
        assert data.count(b"\n") == expected, (cut, compression)
        assert original.startswith(data), cut  # nothing invented, nothing reordered
        assert len(damage) == 1, cut
        assert repr(str(path)) in damage[0] and f"{len(data):,} bytes recovered" in damage[0], damage


def test_truncated_gzip_under_a_mebibyte_is_not_lost(tmp_path, accounted):
    """The case that used to yield nothing: a small truncated gzip. Its final partial line is
    still read as a line (and parsed: here it becomes a reject or a record), the file named."""
    original = _lines(3_000)
    packed = gzip.compress(original)
    path = tmp_path / "messages.2.gz"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    complete = _stdlib_complete_lines(path, "gzip")
    assert complete > 1_000
    result = accounted(parse_paths([path]))
    summary = result.summary()
    data, _ = _read(path)
    partial = 0 if data.endswith(b"\n") else 1
    assert summary["lines_read"] == complete + partial
    assert summary["record_lines"] + summary["reject_lines"] == complete + partial
    assert list(summary["damaged_files"]) == ["messages.2.gz"]
    assert "messages.2.gz" in summary["damaged_files"]["messages.2.gz"]


def _first_inflate_error(packed: bytes) -> int:
    """A byte position whose flip makes inflate fail (not just the final CRC check)."""
    import zlib

    for position in range(len(packed) // 2, len(packed) - 8, 97):
        broken = bytearray(packed)
        broken[position] ^= 0xFF
        decoder = zlib.decompressobj(wbits=31)
        try:
            decoder.decompress(bytes(broken))
        except zlib.error as error:
            if "check" not in str(error):
                return position
    raise AssertionError("no flip broke the stream")


def test_flipped_byte_in_gzip_keeps_lines_before_it(tmp_path):
    """A corrupt gzip (inflate error mid-file, or only a CRC mismatch at the end): the lines
    before the damage come out as written, the damage names the file."""
    original = _lines()
    packed = gzip.compress(original, 6)
    for position in (_first_inflate_error(packed), len(packed) // 3):
        broken = bytearray(packed)
        broken[position] ^= 0xFF
        path = tmp_path / "kern.log.1.gz"
        path.write_bytes(bytes(broken))
        data, damage = _read(path)
        by_zcat = subprocess.run(["zcat", str(path)], capture_output=True).stdout
        # the lines zcat gets right up to the damage, and no fewer lines than zcat gets at all
        pairs = zip(original.splitlines(), by_zcat.splitlines())
        intact = sum(1 for _ in itertools.takewhile(lambda pair: pair[0] == pair[1], pairs))
        assert data.splitlines()[:intact] == original.splitlines()[:intact]
        assert data.count(b"\n") >= by_zcat.count(b"\n") and intact > 1_000
        assert len(damage) == 1 and repr(str(path)) in damage[0]


def test_multi_member_gzip_with_padding_reads_whole(tmp_path):
    """Concatenated members (and trailing zero padding) are one file, as `zcat` reads them; a
    cut inside the second member keeps all of the first."""
    original = _lines()
    half = original.index(b"\n", len(original) // 2) + 1
    first, second = gzip.compress(original[:half]), gzip.compress(original[half:])
    path = tmp_path / "syslog.1.gz"
    path.write_bytes(first + second + b"\0" * 512)
    assert _read(path) == (original, [])
    path.write_bytes(first + second[: len(second) // 2])
    data, damage = _read(path)
    assert data.startswith(original[:half]) and len(data) > half and len(damage) == 1
    assert data.count(b"\n") == _zcat_complete_lines(path) == _stdlib_complete_lines(path, "gzip")


def test_healthy_files_are_read_exactly(tmp_path):
    original = _lines(5_000)
    for compression in ("gzip", "bz2", "xz"):
        path = tmp_path / f"messages.3{SUFFIX[compression]}"
        path.write_bytes(PACKERS[compression](original))
        assert _read(path) == (original, [])


# --- the assets name damaged and unreadable input ------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict]:
    logs = tmp_path_factory.mktemp("logs")
    truth = generate_logs(logs, days=8, seed=11, start=date(2025, 12, 1), events_per_day=200)
    return logs, truth


def _copy(sample, tmp_path: Path) -> tuple[Path, dict]:
    logs, truth = sample
    copy = tmp_path / "logs"
    shutil.copytree(logs, copy)
    return copy, truth


def _resources(logs: Path, out: Path) -> dict:
    return graph.resources(str(logs), str(out))


def _checks(result) -> dict:
    return {c.check_name: c for c in result.get_asset_check_evaluations()}


def test_damaged_log_file_is_named_in_inventory_events_and_check(sample, tmp_path):
    logs, _truth = _copy(sample, tmp_path)
    victim = sorted(logs.glob("*.gz"))[0]
    packed = victim.read_bytes()
    stat = victim.stat()
    victim.write_bytes(packed[: len(packed) * 3 // 4])
    os.utime(victim, (stat.st_atime, stat.st_mtime))
    resources = _resources(logs, tmp_path / "out")
    inventory = graph.materialize([log_file_inventory], resources=resources)
    assert inventory.success
    table = inventory.output_for_node("log_file_inventory")
    relative = victim.name
    damage = dict(table.select("relative", "damage").iter_rows())
    assert damage[relative] and str(victim) in damage[relative]
    assert [r for r, d in damage.items() if d] == [relative]
    metadata = inventory.get_asset_materialization_events()[0].materialization.metadata
    assert list(metadata["damaged_files"].data) == [relative]
    row = table.filter(pl.col("relative") == relative).row(0, named=True)
    day = row["last_timestamp"].date().isoformat()
    result = graph.materialize(
        [log_file_inventory, parsed_firewall_logs], selection=[parsed_firewall_logs], resources=resources,
        partition_key=day,
    )
    assert result.success
    events = [m for m in result.get_asset_materialization_events()
              if m.materialization.asset_key.path[-1] == "firewall_events"]
    assert list(events[0].materialization.metadata["damaged_files"].data) == [relative]
    check = _checks(result)["log_files_intact"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert relative in check.description and str(victim) in check.description


def _refuse_listing(monkeypatch, folder: Path) -> None:
    """os.scandir of `folder` fails as it would without permission (the tests run as root)."""
    real = os.scandir

    def scandir(path="."):
        # shutil.rmtree lists by file descriptor (an int): those folders are not the one refused
        if not isinstance(path, int) and os.fspath(path) == str(folder):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def _refuse_opening(monkeypatch, victim: Path) -> None:
    """Opening `victim` in the log-file code fails with EACCES, as for a chmod 000 file."""

    def opener(path, *args, **kwargs):
        if Path(path) == victim:
            raise PermissionError(13, "Permission denied", str(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(logfiles, "open", opener, raising=False)


def test_unreadable_folder_and_file_are_named_and_the_rest_is_read(sample, tmp_path, monkeypatch):
    logs, truth = _copy(sample, tmp_path)
    hidden = logs / "archive"
    hidden.mkdir()
    shutil.copy(sorted(logs.glob("messages*"))[0], hidden / "messages.9")
    victim = sorted(logs.glob("secure*"))[0]
    resources = _resources(logs, tmp_path / "out")
    _refuse_listing(monkeypatch, hidden)
    _refuse_opening(monkeypatch, victim)
    result = graph.materialize([log_file_inventory], resources=resources)
    assert result.success
    table = result.output_for_node("log_file_inventory")
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["unreadable_paths"].data == {str(hidden): "Permission denied", str(victim): "Permission denied"}
    check = _checks(result)["log_files_readable"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert str(hidden) in check.description and str(victim) in check.description
    expected = {k: v for k, v in truth["lines_per_file"].items() if k != victim.name}
    assert dict(zip(table["relative"], table["lines"])) == expected


def test_every_path_readable_passes_the_check(sample, tmp_path):
    logs, _ = sample
    result = graph.materialize([log_file_inventory], resources=_resources(logs, tmp_path))
    check = _checks(result)["log_files_readable"]
    assert check.passed and check.metadata["unreadable_paths"].data == {}
    assert result.get_asset_materialization_events()[0].materialization.metadata["damaged_files"].data == {}


def test_a_listed_file_that_becomes_unreadable_fails_with_one_line(sample, tmp_path, monkeypatch):
    logs, truth = _copy(sample, tmp_path)
    resources = _resources(logs, tmp_path / "out")
    graph.materialize([log_file_inventory], resources=resources)
    victim = sorted(logs.glob("messages*"))[0]
    _refuse_opening(monkeypatch, victim)
    result = graph.materialize(
        [log_file_inventory, parsed_firewall_logs], selection=[parsed_firewall_logs], resources=resources,
        partition_key=truth["days"][-1], raise_on_error=False,
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    message = failure.step_failure_data.user_failure_data.description
    assert message == f"cannot read log file {str(victim)!r}: Permission denied"


def test_discover_reports_unreadable_paths(tmp_path, monkeypatch, caplog):
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "messages").write_text("x\n")
    (tmp_path / "kern.log").write_text("y\n")
    (tmp_path / "syslog").write_text("z\n")
    _refuse_listing(monkeypatch, tmp_path / "locked")
    _refuse_opening(monkeypatch, tmp_path / "syslog")
    found: list = []
    assert [f.relative for f in discover(tmp_path, unreadable=found)] == ["kern.log"]
    assert found == [(str(tmp_path / "locked"), "Permission denied"), (str(tmp_path / "syslog"), "Permission denied")]
    with caplog.at_level("WARNING"):
        assert [f.relative for f in discover(tmp_path)] == ["kern.log"]
    assert str(tmp_path / "locked") in caplog.text and str(tmp_path / "syslog") in caplog.text


def test_cli_names_an_unreadable_file_and_exits_1(tmp_path, monkeypatch, capsys):
    victim = tmp_path / "messages"
    victim.write_bytes(_lines(10))
    _refuse_opening(monkeypatch, victim)
    assert cli.main(["parse", str(victim), "--summary"]) == 1
    err = capsys.readouterr().err
    assert err == f"iptables-assets: cannot read {str(victim)!r}: Permission denied\n"


def test_cli_warns_about_unreadable_and_damaged_paths_in_a_folder(tmp_path, monkeypatch, capsys):
    (tmp_path / "messages").write_bytes(_lines(10))
    packed = gzip.compress(_lines(2_000))
    (tmp_path / "messages.1.gz").write_bytes(packed[: len(packed) // 2])
    (tmp_path / "old").mkdir()
    _refuse_listing(monkeypatch, tmp_path / "old")
    assert cli.main(["parse", str(tmp_path), "--summary"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["unreadable_paths"] == {str(tmp_path / "old"): "Permission denied"}
    assert list(summary["damaged_files"]) == ["messages.1.gz"]
    assert f"{tmp_path / 'old'}: Permission denied" in captured.err and "messages.1.gz" in captured.err


def _as_ordinary_user(probe: Path) -> list[str]:
    """A command prefix under which chmod 000 really denies access: none for an ordinary user;
    for root (CI), setpriv without the capabilities that bypass file permissions. Skips the
    test when neither works here (the simulated tests above still run)."""
    if os.geteuid() != 0:
        return []
    caps = "-dac_override,-dac_read_search"
    prefix = [shutil.which("setpriv") or "setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}"]
    try:
        denied = subprocess.run([*prefix, "cat", str(probe)], capture_output=True).returncode != 0
    except OSError:
        denied = False
    if not denied:
        pytest.skip("cannot drop root's file-permission override here")
    return prefix


def test_real_chmod_000_folder_and_file(tmp_path):
    (tmp_path / "messages").write_bytes(_lines(10))
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "kern.log").write_bytes(_lines(10))
    closed = tmp_path / "syslog"
    closed.write_bytes(_lines(10))
    locked.chmod(0)
    closed.chmod(0)
    try:
        prefix = _as_ordinary_user(closed)
        cli_run = [*prefix, sys.executable, "-m", "iptables_assets.cli", "parse"]
        run = subprocess.run([*cli_run, str(closed)], capture_output=True, text=True)
        assert (run.returncode, run.stderr) == (1, f"iptables-assets: cannot read {str(closed)!r}: Permission denied\n")
        run = subprocess.run([*cli_run, str(tmp_path), "--summary"], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        summary = json.loads(run.stdout)
        assert summary["unreadable_paths"] == {str(locked): "Permission denied", str(closed): "Permission denied"}
        assert summary["files"] == 1 and summary["lines_read"] == 10
    finally:
        locked.chmod(0o755)
        closed.chmod(0o644)


def test_unreadable_log_folder_itself_fails_naming_it(tmp_path, monkeypatch):
    """Nothing at all can be read: that is a failure naming the folder, not an empty inventory."""
    (tmp_path / "messages").write_bytes(_lines(10))
    _refuse_listing(monkeypatch, tmp_path)
    with pytest.raises(PermissionError) as raised:
        discover(tmp_path)
    assert raised.value.filename == str(tmp_path)
    result = graph.materialize([log_file_inventory], resources=_resources(tmp_path, tmp_path / "out"), raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert failure.step_failure_data.user_failure_data.description == (
        f"cannot read log file {str(tmp_path)!r}: Permission denied"
    )
