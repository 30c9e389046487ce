"""One declaration of every table: schemas, typed empty frames, the blocking schema check, the
columns in the UI and the column tables of docs/tables.md all come from it."""

from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

import graph
from iptables_assets import tables
from iptables_assets.defs.table_checks import SCHEMA_CHECK, schema_check, stored, table_of

DOCS_TABLES = Path(__file__).resolve().parents[2] / tables.DOCS_PAGE


def test_every_stored_asset_has_a_declared_table_and_a_blocking_schema_check():
    defs = graph.definitions("logs", "out")
    specs = {(s.asset_key.to_user_string(), s.name): s for a in defs.assets for s in a.check_specs}
    stored_assets = {k.to_user_string() for k in defs.resolve_all_asset_keys()} - {"journal_report"}
    for asset in stored_assets:
        assert table_of(asset) in tables.TABLES, asset
        assert specs[(asset, SCHEMA_CHECK)].blocking, asset
        columns = defs.resolve_assets_def(asset).specs_by_key[dg.AssetKey(asset)].metadata["dagster/column_schema"]
        assert [c.name for c in columns.columns][: len(tables.TABLES[table_of(asset)].columns)] == list(
            tables.TABLES[table_of(asset)].columns), asset


def test_every_field_is_used_and_every_empty_frame_is_typed():
    used = {c for t in tables.TABLES.values() for c in (*t.columns, *t.optional)}
    assert used == set(tables.FIELDS)
    for name in tables.TABLES:
        assert tables.empty(name, "Europe/Berlin").schema == tables.schema(name, "Europe/Berlin"), name
        assert tables.problems(name, tables.empty(name)) == [], name


def test_problems_name_what_is_wrong():
    good = pl.DataFrame({"day": [date(2026, 1, 1)] * 2, "host": ["gw"] * 2, "proto": ["TCP", "UDP"], "dst_port": [22, 22],
                         "events": [3, 4]}, schema=tables.schema("daily_port_counts"))
    assert tables.problems("daily_port_counts", good) == []
    assert tables.problems("daily_port_counts", good.with_columns(pl.col("dst_port").cast(pl.Int64))) == [
        "column dst_port is Int64, declared Int32"]
    assert tables.problems("daily_port_counts", good.drop("proto").with_columns(pl.lit("x").alias("extra"))) == [
        "missing column proto", "unexpected column extra"]
    assert tables.problems("daily_port_counts", pl.concat([good, good])) == [
        "2 rows repeat a key (day, host, proto, dst_port)"]
    stamped = tables.empty("firewall_rejects", "UTC")
    assert tables.problems("firewall_rejects", stamped, tz="Europe/Berlin") == [
        "column timestamp is Datetime(time_unit='us', time_zone='UTC'), declared "
        "Datetime(time_unit='us', time_zone='Europe/Berlin')"]


def test_a_frame_that_breaks_its_declaration_blocks_what_follows():
    @dg.asset(name="port_totals", check_specs=[schema_check("port_totals")])
    def wrong_port_totals():
        return stored("port_totals", pl.DataFrame({"dst_port": [22], "events": [1.5]}), {})

    @dg.asset(deps=["port_totals"])
    def reader() -> None:
        """Would succeed if it ran: it must not, after a failed blocking check."""

    result = dg.materialize([wrong_port_totals, reader], raise_on_error=False,
                            resources={"io_manager": dg.mem_io_manager})
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed
    assert "column events is Float64, declared Int64" in check.description
    assert not result.success
    assert "reader" not in {e.step_key for e in result.get_step_success_events()}


def test_docs_column_tables_are_the_declaration():
    text = DOCS_TABLES.read_text()
    assert tables.docs_section() in text, f"run: python -m iptables_assets.tables --write {tables.DOCS_PAGE}"


@pytest.mark.parametrize("name", ["firewall_events", "daily_source_summary", "sshd_scanners"])
def test_docs_table_lists_every_column_with_its_type(name):
    lines = tables.markdown(name).splitlines()[2:]
    assert [line.split("`")[1] for line in lines] == [*tables.TABLES[name].columns, *tables.TABLES[name].optional]
