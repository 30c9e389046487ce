"""The IO manager is the only way asset data is read: inputs come as polars, lazy polars or
pandas by their annotation, a range of days as a dict, missing days only when allowed."""

from datetime import date

import dagster as dg
import pandas as pd
import polars as pl
import pytest

from iptables_assets import storage, tables
from iptables_assets.defs.io_manager import TableIOManagerFactory

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_offset=1)
DAYS = ["2026-01-01", "2026-01-02", "2026-01-04"]  # 01-03 never materialised


def _counts(day: str, port: int, events: int) -> pl.DataFrame:
    return pl.DataFrame({"day": [date.fromisoformat(day)], "host": ["gw"], "proto": ["TCP"], "dst_port": [port],
                         "events": [events]}, schema=tables.schema("daily_port_counts"))


@pytest.fixture
def out(tmp_path):
    for i, day in enumerate(DAYS):
        frame = pl.concat([_counts(day, 22, 10 + i), _counts(day, 443, 5)])
        storage.write_parquet(tmp_path / "daily_port_counts" / f"{day}.parquet", frame)
    return tmp_path


def _stored_counts():
    @dg.asset(name="daily_port_counts", partitions_def=DAILY)
    def upstream() -> None:
        raise AssertionError("only loaded, never run here")
    return upstream


def test_an_analysts_pandas_asset_gets_every_stored_day(out):
    @dg.asset(ins={"daily_port_counts": dg.AssetIn(metadata={"allow_missing_partitions": True})})
    def ssh_share(daily_port_counts: dict[str, pd.DataFrame]) -> pd.DataFrame:
        assert all(isinstance(f, pd.DataFrame) for f in daily_port_counts.values())
        days = pd.concat(daily_port_counts.values())
        ssh = days[days.dst_port == 22].groupby("day").events.sum()
        return (ssh / days.groupby("day").events.sum()).rename("ssh_share").reset_index()

    result = dg.materialize([_stored_counts(), ssh_share], selection=[ssh_share],
                            resources={"io_manager": TableIOManagerFactory(base_path=str(out))})
    assert result.success
    shares = pl.read_parquet(out / "ssh_share.parquet")  # pandas output stored as Parquet too
    assert shares["ssh_share"].round(4).to_list() == [round(10 / 15, 4), round(11 / 16, 4), round(12 / 17, 4)]


def test_lazy_and_eager_polars_inputs_and_a_missing_day(out):
    seen = {}

    @dg.asset(ins={"daily_port_counts": dg.AssetIn(metadata={"allow_missing_partitions": True})})
    def lazily(daily_port_counts: dict[str, pl.LazyFrame]) -> None:
        seen["lazy"] = {k: type(v) for k, v in daily_port_counts.items()}
        seen["events"] = sum(v.select(pl.col("events").sum()).collect().item() for v in daily_port_counts.values())

    @dg.asset(ins={"daily_port_counts": dg.AssetIn()})
    def strictly(daily_port_counts: dict[str, pl.DataFrame]) -> None:
        raise AssertionError("a missing day must fail the input when it is not allowed")

    resources = {"io_manager": TableIOManagerFactory(base_path=str(out))}
    assert dg.materialize([_stored_counts(), lazily], selection=[lazily], resources=resources).success
    assert seen["lazy"] == {day: pl.LazyFrame for day in DAYS}
    assert seen["events"] == 10 + 11 + 12 + 3 * 5
    failed = dg.materialize([_stored_counts(), strictly], selection=[strictly], resources=resources,
                            raise_on_error=False)
    assert not failed.success
    (failure,) = failed.get_step_failure_events()
    assert "daily_port_counts has no partition 2026-01-03" in failure.step_failure_data.error.to_string()


def test_a_partitioned_step_gets_its_day_as_one_frame(out):
    seen = {}

    @dg.asset(partitions_def=DAILY)
    def one_day(daily_port_counts: pl.DataFrame) -> None:
        seen["frame"] = daily_port_counts

    resources = {"io_manager": TableIOManagerFactory(base_path=str(out))}
    assert dg.materialize([_stored_counts(), one_day], selection=[one_day], resources=resources,
                          partition_key="2026-01-02").success
    assert seen["frame"]["events"].to_list() == [11, 5]


def test_a_spilled_day_is_stored_like_a_frame_and_its_scratch_removed(tmp_path):
    """A step that spills each day to scratch gets the same stored bytes as returning the
    frame; the scratch file and its empty folders are gone; a dead run's scratch is removed
    by the next step that spills, a live one's is kept."""
    from iptables_assets import spill

    frame = pl.concat([_counts("2026-01-02", 22, 7), _counts("2026-01-02", 80, 1)])
    where = spill.folder(tmp_path / "out", "run-1")
    spilled = spill.spill(frame, where, "daily_port_counts/2026-01-02")

    @dg.asset(name="daily_port_counts", partitions_def=DAILY)
    def from_scratch():
        return spilled

    @dg.asset(name="daily_port_counts", partitions_def=DAILY)
    def from_memory():
        return frame

    for asset, out in ((from_scratch, tmp_path / "out"), (from_memory, tmp_path / "direct")):
        assert dg.materialize([asset], partition_key="2026-01-02",
                              resources={"io_manager": TableIOManagerFactory(base_path=str(out))}).success
    stored = (tmp_path / "out" / "daily_port_counts" / "2026-01-02.parquet").read_bytes()
    assert stored == (tmp_path / "direct" / "daily_port_counts" / "2026-01-02.parquet").read_bytes()
    assert not spilled.path.exists() and not (tmp_path / "out" / spill.SPILL_FOLDER).exists()

    for run in ("dead-run", "live-run"):
        spill.spill(frame, spill.folder(tmp_path / "out", run), "x")
    assert spill.remove_others(tmp_path / "out", {"live-run"}) == ["dead-run"]
    assert sorted(p.name for p in (tmp_path / "out" / spill.SPILL_FOLDER).iterdir()) == ["live-run"]
