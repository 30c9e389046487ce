"""Stored data is verified before it is read, and every write is atomic."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import polars as pl
import pytest
from upath import UPath

import graph
from graph import asset
from iptables_assets import atomic, storage
from iptables_assets.defs.io_manager import TableIOManager
from iptables_assets.sample import generate_logs

log_file_inventory = asset("log_file_inventory")
parsed_firewall_logs = asset("firewall_events")

DAY = "2025-12-03"


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> tuple[Path, Path]:
    """Logs and an output folder with firewall_events/rejects of DAY materialised."""
    logs = tmp_path_factory.mktemp("logs")
    generate_logs(logs, days=4, seed=5, start=date(2025, 12, 1), events_per_day=300)
    out = tmp_path_factory.mktemp("out")
    resources = graph.resources(str(logs), str(out))
    graph.materialize([log_file_inventory], resources=resources)
    result = graph.materialize(
        [log_file_inventory, parsed_firewall_logs], selection=[parsed_firewall_logs], resources=resources,
        partition_key=DAY,
    )
    assert result.success
    return logs, out


def _copy_out(stored, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(stored[1], out)
    return out


def _load(out: Path, asset: str = "firewall_events", partition: str = DAY, as_type=pl.DataFrame):
    """Load a partition through the IO manager, as a downstream step would."""
    manager = TableIOManager(base_path=UPath(out), timezone="UTC")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(graph.partitions().name, [partition])
        # entered, so that its resources (and their instance) close here, not whenever it is collected
        with dg.build_input_context(
            asset_key=dg.AssetKey(asset), partition_key=partition, asset_partitions_def=graph.partitions(),
            dagster_type=dg.PythonObjectDagsterType(as_type), instance=instance,
        ) as context:
            return manager.load_input(context)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for offset in (len(data) // 2, len(data) // 2 + 7, len(data) // 2 + 131):
        data[offset] ^= 0x10
    path.write_bytes(bytes(data))


def test_every_stored_file_has_a_matching_checksum(stored):
    _logs, out = stored
    for path in [*(out / "firewall_events").glob("*.parquet"), out / "_cache" / "log_file_inventory.parquet"]:
        side = Path(str(path) + ".sha256").read_text()
        assert side == f"{storage.digest(path.read_bytes())}  {path.name}\n"
    assert _load(out).height > 0


@pytest.mark.parametrize("damage", [_truncate, _flip], ids=["truncated", "flipped"])
def test_damaged_partition_fails_naming_file_and_partition(stored, tmp_path, damage):
    out = _copy_out(stored, tmp_path)
    path = out / "firewall_events" / f"{DAY}.parquet"
    damage(path)
    with pytest.raises(dg.Failure) as raised:
        _load(out)
    description = raised.value.description
    assert description.startswith(f"stored data of firewall_events partition {DAY} is damaged ({path}: ")
    assert "checksum mismatch" in description and description.endswith("re-materialise that partition")
    assert raised.value.metadata["partition"].value == DAY
    # lazy and pandas loading go through the same check
    for kind in (pl.LazyFrame, pd.DataFrame):
        with pytest.raises(dg.Failure, match=f"firewall_events partition {DAY} is damaged.*{path}"):
            _load(out, as_type=kind)


@pytest.mark.parametrize("damage", [_truncate, _flip], ids=["truncated", "flipped"])
def test_reading_damaged_data_never_kills_the_process(stored, tmp_path, damage):
    """In a fresh process (a native crash would show as a negative return code / 134)."""
    out = _copy_out(stored, tmp_path)
    damage(out / "firewall_events" / f"{DAY}.parquet")
    damage(out / "firewall_rejects" / f"{DAY}.parquet")
    script = textwrap.dedent(f"""
        import sys
        import dagster as dg
        import polars as pl
        from upath import UPath
        from iptables_assets.defs.io_manager import TableIOManager
        context = dg.build_input_context(asset_key=dg.AssetKey("firewall_events"), partition_key={DAY!r},
                                         asset_partitions_def=dg.DailyPartitionsDefinition(start_date="2025-01-01"),
                                         dagster_type=dg.PythonObjectDagsterType(pl.DataFrame))
        try:
            TableIOManager(base_path=UPath({str(out)!r}), timezone="UTC").load_input(context)
        except dg.Failure as failure:
            print(failure.description)
            sys.exit(1)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr
    assert f"firewall_events partition {DAY} is damaged" in run.stdout


def test_downstream_run_fails_with_the_message(stored, tmp_path):
    geotagged_events = asset("geotagged_events")

    logs, _ = stored
    out = _copy_out(stored, tmp_path)
    _flip(out / "firewall_events" / f"{DAY}.parquet")
    resources = graph.resources(str(logs), str(out))
    result = graph.materialize(
        [log_file_inventory, parsed_firewall_logs, geotagged_events], selection=[geotagged_events],
        resources=resources, partition_key=DAY, raise_on_error=False,
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    text = failure.step_failure_data.error.to_string()
    assert f"stored data of firewall_events partition {DAY} is damaged" in text


def test_files_written_before_checksums_still_load(stored, tmp_path):
    out = _copy_out(stored, tmp_path)
    Path(out / "firewall_events" / f"{DAY}.parquet.sha256").unlink()
    expected = pl.read_parquet(stored[1] / "firewall_events" / f"{DAY}.parquet")
    said = []
    assert storage.read_parquet(out / "firewall_events" / f"{DAY}.parquet", warn=said.append).equals(expected)
    assert "no checksum" in said[0]
    assert _load(out).equals(expected)  # the IO manager reads it too (its warning goes to the step's log)
    # ... but one that is not even whole Parquet is named, not handed to the reader
    _truncate(out / "firewall_events" / f"{DAY}.parquet")
    with pytest.raises(dg.Failure, match="not a complete Parquet file|footer"):
        _load(out)


def test_missing_partition_is_still_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        storage.read_parquet(UPath(tmp_path / "absent.parquet"))
    with pytest.raises(FileNotFoundError, match="firewall_events has no partition 2025-01-01: materialise it first"):
        _load(tmp_path, partition="2025-01-01")


def test_damaged_inventory_cache_is_discarded_and_rebuilt(stored, tmp_path):
    logs, _ = stored
    out = _copy_out(stored, tmp_path)
    cache = out / "_cache" / "log_file_inventory.parquet"
    expected = storage.read_parquet(UPath(cache))
    cache.write_bytes(b"PAR1 not a parquet file at all")
    resources = graph.resources(str(logs), str(out))
    instance = dg.DagsterInstance.ephemeral()
    result = graph.materialize([log_file_inventory], resources=resources, instance=instance)
    assert result.success
    logged = [e.user_message for e in instance.all_logs(result.run_id) if "inventory cache discarded" in e.user_message]
    assert len(logged) == 1 and str(cache) in logged[0]
    rebuilt = storage.read_parquet(UPath(cache), unverified_ok=False)
    assert rebuilt.drop("mtime").equals(expected.drop("mtime"))
    # and the next run is fine too
    assert graph.materialize([log_file_inventory], resources=resources).success


def test_failed_write_leaves_previous_file_and_no_temporary(tmp_path):
    path = UPath(tmp_path / "data.bin")
    atomic.write_bytes_atomic(path, b"previous content")

    def half_then_crash(handle):
        handle.write(b"half of the new")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        atomic.write_atomic(path, half_then_crash)
    assert Path(path).read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]


def test_failed_partition_write_keeps_previous_partition_verified(stored, tmp_path, monkeypatch):
    """Re-materialising a partition that fails mid-write: the old file and its checksum stay,
    both still verify, and no temporary file is left."""
    logs, _ = stored
    out = _copy_out(stored, tmp_path)
    folder = out / "firewall_events"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    real = atomic.write_atomic

    def partial_then_error(handle):
        handle.write(b"PAR1 partial")
        raise OSError(5, "Input/output error")

    def crash_on_data(path, write):
        real(path, partial_then_error if str(path).endswith(".parquet") else write)

    monkeypatch.setattr(atomic, "write_atomic", crash_on_data)
    resources = graph.resources(str(logs), str(out))
    result = graph.materialize(
        [log_file_inventory, parsed_firewall_logs], selection=[parsed_firewall_logs], resources=resources,
        partition_key=DAY, raise_on_error=False,
    )
    assert not result.success
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert after[f"{DAY}.parquet"] == before[f"{DAY}.parquet"]
    assert sorted(after) == sorted(before)  # no temporary file left behind
    assert _load(out).height > 0  # the sidecar still vouches for the old file


def test_crash_between_data_and_checksum_leaves_a_consistent_pair(tmp_path, monkeypatch):
    """Whichever atomic replacement a crash interrupts, data and sidecar still agree."""
    path = UPath(tmp_path / "t.parquet")
    old, new = pl.DataFrame({"a": [1, 2]}), pl.DataFrame({"a": [3, 4, 5]})
    real = atomic.write_bytes_atomic
    for crash_at in (1, 2, 3):
        storage.write_parquet(path, old)
        calls = []

        def crashing(target, data):
            calls.append(target)
            if len(calls) == crash_at:
                raise KeyboardInterrupt("killed")
            real(target, data)

        monkeypatch.setattr(storage, "write_bytes_atomic", crashing)
        with pytest.raises(KeyboardInterrupt):
            storage.write_parquet(path, new)
        monkeypatch.setattr(storage, "write_bytes_atomic", real)
        assert storage.read_parquet(path, unverified_ok=False).equals(old if crash_at <= 2 else new), crash_at
