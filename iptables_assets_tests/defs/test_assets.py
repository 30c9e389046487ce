"""The Dagster layer: materialise the ingestion assets on generated logs, compare with ground truth."""

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
from iptables_assets.defs.automation import RANGE_END_TAG as ASSET_PARTITION_RANGE_END_TAG
from iptables_assets.defs.automation import RANGE_START_TAG as ASSET_PARTITION_RANGE_START_TAG
from iptables_assets.sample import generate_logs

log_file_inventory = asset("log_file_inventory")
parsed_firewall_logs = asset("firewall_events")

START = date(2025, 12, 24)
DAYS = 12  # crosses New Year


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict]:
    logs = tmp_path_factory.mktemp("logs")
    truth = generate_logs(logs, days=DAYS, seed=7, start=START, events_per_day=300)
    return logs, truth


def _resources(logs: Path, out: Path) -> dict:
    return graph.resources(str(logs), str(out))


def _materialize(logs: Path, out: Path, **kwargs) -> dg.ExecuteInProcessResult:
    resources = _resources(logs, out)
    graph.materialize([log_file_inventory], resources=resources)
    return graph.materialize(
        [log_file_inventory, parsed_firewall_logs],
        selection=[parsed_firewall_logs],
        resources=resources,
        **kwargs,
    )


def _day_file(out: Path, asset: str, day: str) -> pl.DataFrame:
    return pl.read_parquet(out / asset / f"{day}.parquet")


def test_one_partition_matches_ground_truth(sample, tmp_path):
    logs, truth = sample
    day = "2026-01-01"
    result = _materialize(logs, tmp_path, partition_key=day)
    assert result.success
    events = _day_file(tmp_path, "firewall_events", day)
    assert events.height == truth["records_per_day"][day]
    assert events["timestamp"].dt.date().unique().to_list() == [date(2026, 1, 1)]
    rejects = _day_file(tmp_path, "firewall_rejects", day)
    expected = {k: v for k, v in truth["rejects_per_day"].get(day, {}).items() if v}
    assert dict(rejects.group_by("reason").len().iter_rows()) == expected
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["events_fall_in_their_partition"] and checks["events_have_addresses_and_action"]


def test_partition_range_in_one_run_matches_ground_truth(sample, tmp_path):
    logs, truth = sample
    first, last = truth["days"][0], truth["days"][-1]
    tags = {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}
    result = _materialize(logs, tmp_path, tags=tags)
    assert result.success
    for day in truth["days"]:
        events = _day_file(tmp_path, "firewall_events", day)
        assert events.height == truth["records_per_day"][day], day
        drops = events.filter(pl.col("action").is_in(["drop", "reject"]) & (pl.col("out_iface") == ""))
        assert drops.height == truth["input_drops_per_day"][day], day
    materialized = {
        (m.asset_key.path[-1], m.partition) for m in result.asset_materializations_for_node("parsed_firewall_logs")
    }
    assert {p for a, p in materialized if a == "firewall_events"} == set(truth["days"])


def test_rematerialising_a_partition_gives_the_same_file(sample, tmp_path):
    logs, _ = sample
    day = "2025-12-31"
    _materialize(logs, tmp_path, partition_key=day)
    first = (tmp_path / "firewall_events" / f"{day}.parquet").read_bytes()
    _materialize(logs, tmp_path, partition_key=day)
    assert (tmp_path / "firewall_events" / f"{day}.parquet").read_bytes() == first
    leftovers = [p.name for p in (tmp_path / "firewall_events").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_inventory_lists_every_file_with_its_span(sample, tmp_path):
    logs, truth = sample
    result = graph.materialize([log_file_inventory], resources=_resources(logs, tmp_path))
    table = result.output_for_node("log_file_inventory")
    assert sorted(table["relative"].to_list()) == sorted(truth["lines_per_file"])
    assert dict(zip(table["relative"], table["lines"])) == truth["lines_per_file"]
    spans = {r["relative"]: r for r in table.iter_rows(named=True)}
    for name, span in truth["files"].items():
        assert spans[name]["first_timestamp"].isoformat() == _utc(span["first"]), name
        assert spans[name]["last_timestamp"].isoformat() == _utc(span["last"]), name


def _utc(text: str) -> str:
    from datetime import datetime, timezone

    return datetime.fromisoformat(text).astimezone(timezone.utc).isoformat()


def test_missing_log_dir_is_a_config_error(tmp_path):
    with pytest.raises(Exception, match="does not exist: set IPTABLES_ASSETS_LOG_DIR"):
        graph.materialize([log_file_inventory], resources=_resources(tmp_path / "nope", tmp_path))


def test_definitions_load_from_workspace():
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=repo, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_cli_run_materialises_every_day(journal_run):
    """`iptables-assets run` (the suite's shared run: 45 days across New Year, exit status 0)."""
    out, truth, output = journal_run
    assert f"events: {sum(truth['records_per_day'].values())}" in output
    written = sorted(p.stem for p in (out / "firewall_events").glob("*.parquet"))
    assert written == truth["days"]
    instance_runs = list((out.parent / "home").glob("history/runs.db"))
    assert instance_runs, "the run used a persistent instance under DAGSTER_HOME"


def test_geotagged_countries_match_ground_truth(sample, tmp_path):
    """Per-country INPUT drops equal the generator's per-source truth looked up independently
    (with geoip2's own reader) in the bundled database."""
    import ipaddress
    from collections import Counter

    import geoip2.database
    import geoip2.errors

    geotagged_events = asset("geotagged_events")
    from iptables_assets.enrich.geo import BUNDLED_COUNTRY_DB

    logs, truth = sample
    first, last = truth["days"][0], truth["days"][-1]
    tags = {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}
    resources = _resources(logs, tmp_path)
    graph.materialize([log_file_inventory], resources=resources)
    result = graph.materialize(
        [log_file_inventory, parsed_firewall_logs, geotagged_events],
        selection=[parsed_firewall_logs, geotagged_events],
        resources=resources,
        tags=tags,
    )
    assert result.success
    tagged = pl.concat([_day_file(tmp_path, "geotagged_events", d) for d in truth["days"]])
    drops = tagged.filter(pl.col("action").is_in(["drop", "reject"]) & (pl.col("out_iface") == ""))
    got = Counter(dict(drops.group_by("country_code").len().iter_rows()))

    expected: Counter = Counter()
    with geoip2.database.Reader(str(BUNDLED_COUNTRY_DB)) as reader:
        for source, count in truth["input_drops_per_source"].items():
            address = ipaddress.ip_address(source)
            try:
                code = reader.country(str(address)).country.iso_code if address.is_global else None
            except geoip2.errors.AddressNotFoundError:
                code = None
            expected[code] += count
    assert got == expected
    assert sum(got.values()) == sum(truth["input_drops_per_day"].values())


def test_a_vanished_log_file_fails_naming_it(sample, tmp_path):
    """A file listed by the inventory but gone when the partition is parsed (mid-rotation): the
    failure names it, and the asset's retry policy would read again later."""
    logs, truth = sample
    copy = tmp_path / "logs"
    shutil.copytree(logs, copy)
    resources = _resources(copy, tmp_path / "out")
    graph.materialize([log_file_inventory], resources=resources)
    victim = sorted(copy.glob("messages*"))[0]
    victim.unlink()
    result = graph.materialize(
        [log_file_inventory, parsed_firewall_logs], selection=[parsed_firewall_logs], resources=resources,
        partition_key=truth["days"][-1], raise_on_error=False,
    )
    assert not result.success
    retried = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retried) == 2  # read again twice before giving up
    (failure,) = result.get_step_failure_events()
    assert f"cannot read log file {str(victim)!r}" in str(failure.step_failure_data.error.to_string())
