"""The production profile against a real PostgreSQL server (CI starts one: scripts/ci_postgres.sh).

Materialises partitions through a DagsterInstance built from deploy/production/dagster.yaml
(configured by the DAGSTER_PG_* variables), then reads the runs and the materialisation events
back, through the instance and with plain SQL.
"""

import os
import shutil
import uuid
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

import graph
from graph import asset
from iptables_assets.sample import generate_logs

log_file_inventory = asset("log_file_inventory")
parsed_firewall_logs = asset("firewall_events")

PROFILE = Path(__file__).resolve().parents[2] / "deploy" / "production" / "dagster.yaml"
PG_ENV = ("DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_HOST", "DAGSTER_PG_DB", "DAGSTER_PG_PORT")
MISSING = [name for name in PG_ENV if not os.environ.get(name)]

if MISSING and os.environ.get("CI"):
    pytest.fail(f"CI must run the PostgreSQL test: {MISSING} not set (see .ci/run)", pytrace=False)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(MISSING), reason=f"no PostgreSQL configured ({', '.join(MISSING)} not set)"),
]


@pytest.fixture
def instance(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROFILE, home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        yield instance


def test_partitions_materialised_through_postgres(instance, tmp_path):
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)

    truth = generate_logs(tmp_path / "logs", days=3, seed=2, start=date(2026, 1, 3), events_per_day=200)
    resources = graph.resources(str(tmp_path / "logs"), str(tmp_path / "out"))
    marker = {"iptables_assets/test": uuid.uuid4().hex}
    assert graph.materialize([log_file_inventory], resources=resources, instance=instance, tags=marker).success
    days = truth["days"][:2]
    for day in days:
        result = graph.materialize(
            [log_file_inventory, parsed_firewall_logs], selection=[parsed_firewall_logs], resources=resources,
            instance=instance, partition_key=day, tags=marker,
        )
        assert result.success

    runs = instance.get_runs(filters=dg.RunsFilter(tags=marker))
    assert len(runs) == 3 and {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
    run_ids = {r.run_id for r in runs}
    records = instance.fetch_materializations(dg.AssetKey("firewall_events"), limit=1000).records
    ours = [r for r in records if r.run_id in run_ids]
    assert sorted(r.partition_key for r in ours) == days
    counts = {r.partition_key: r.asset_materialization.metadata["dagster/row_count"].value for r in ours}
    assert counts == {d: truth["records_per_day"][d] for d in days}

    # The same, straight from PostgreSQL.
    import psycopg2

    with psycopg2.connect(
        host=os.environ["DAGSTER_PG_HOST"], port=int(os.environ["DAGSTER_PG_PORT"]),
        user=os.environ["DAGSTER_PG_USERNAME"], password=os.environ["DAGSTER_PG_PASSWORD"],
        dbname=os.environ["DAGSTER_PG_DB"],
    ) as connection, connection.cursor() as cursor:
        cursor.execute("select count(*) from runs where run_id = any(%s) and status = 'SUCCESS'", (list(run_ids),))
        assert cursor.fetchone()[0] == 3
        cursor.execute(
            "select count(*) from event_logs where run_id = any(%s) and dagster_event_type = 'ASSET_MATERIALIZATION' "
            "and asset_key like %s", (list(run_ids), '%firewall_events%'),
        )
        assert cursor.fetchone()[0] == 2
