"""Settings: checked before any work with a message that says what to fix; the daily
partitions are the logs' days, none before IPTABLES_ASSETS_START_DATE when it is set."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

import graph
from iptables_assets import settings
from iptables_assets.defs import partitions
from iptables_assets.defs.jobs import DAILY_JOB, INVENTORY_JOB
from iptables_assets.defs.resources import Analysis
from iptables_assets.sample import generate_logs

CLI = str(Path(sys.executable).parent / "iptables-assets")


@pytest.fixture(scope="module")
def old_logs(tmp_path_factory) -> Path:
    logs = tmp_path_factory.mktemp("old_logs")
    generate_logs(logs, days=3, seed=11, start=date(2019, 3, 20), events_per_day=50)
    return logs


def _days_added_by_the_inventory(logs: Path, out: Path, **overrides) -> list[str]:
    """The daily partitions an instance holds after the inventory job ran (as the UI runs it)."""
    defs = graph.definitions(logs, out, **overrides)
    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def(INVENTORY_JOB).execute_in_process(instance=instance).success
        return partitions.known_days(instance)


def test_the_partitions_are_the_logs_days_added_by_the_inventory(old_logs, tmp_path):
    assert _days_added_by_the_inventory(old_logs, tmp_path / "a") == [
        "2019-03-20", "2019-03-21", "2019-03-22"]
    # the start date setting only narrows: no day before it
    assert _days_added_by_the_inventory(old_logs, tmp_path / "b", start_date="2019-03-22") == ["2019-03-22"]
    assert _days_added_by_the_inventory(old_logs, tmp_path / "c", start_date="2019-04-01") == []


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "1e9", "soon"])
def test_retry_delay_must_be_a_bounded_number(monkeypatch, value):
    monkeypatch.setenv(settings.ENV_READ_RETRY_SECONDS, value)
    with pytest.raises(settings.ConfigError, match=rf"{settings.ENV_READ_RETRY_SECONDS}='{value}' is not a number "
                                                  r"of seconds from 0 to 3600"):
        settings.Settings.from_environment()


def test_retry_delay_zero_and_default(monkeypatch):
    monkeypatch.setenv(settings.ENV_READ_RETRY_SECONDS, "0")
    assert settings.Settings.from_environment().read_retry_seconds == 0
    monkeypatch.delenv(settings.ENV_READ_RETRY_SECONDS)
    assert settings.Settings.from_environment().read_retry_seconds == 20


def test_start_date_override_must_be_a_date(monkeypatch):
    monkeypatch.setenv(settings.ENV_START_DATE, "2019-13-01")
    with pytest.raises(settings.ConfigError, match="is not a date; use YYYY-MM-DD"):
        settings.Settings.from_environment()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"actions": ["drop", "dropp"]}, r"Analysis: actions \['drop', 'dropp'\]: each must be one of drop, reject, "
                                         r"accept, audit, unknown \('dropp' is not\)"),
        ({"actions": []}, r"Analysis: actions \[\]: .* \(none given\)"),
        ({"direction": "inbound"}, r"Analysis: direction 'inbound' is not one of input, output, forward, any"),
        ({"scan_threshold": 0}, r"Analysis.scan_threshold=0: must be at least 1"),
        ({"big_scan_threshold": 10}, r"Analysis.big_scan_threshold=10: must be at least scan_threshold \(50\)"),
        ({"reject_rate_warn": 1.5}, r"Analysis.reject_rate_warn=1.5: must be a share from 0 to 1"),
    ],
)
def test_analysis_settings_are_checked(fields, message):
    with pytest.raises(settings.ConfigError, match=message):
        Analysis(**fields).checked()


def test_default_analysis_is_valid():
    assert Analysis().checked().traffic().actions == ("drop", "reject")


def test_bad_geoip_database_stops_the_cli_before_reading_logs(old_logs, tmp_path):
    bad = tmp_path / "country.mmdb"
    bad.write_bytes(b"not a MaxMind database" * 100)
    env = {**os.environ, settings.ENV_GEOIP_DB: str(bad), "DAGSTER_HOME": str(tmp_path / "home")}
    done = subprocess.run([CLI, "run", "--logs", str(old_logs), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("iptables-assets: configuration error: ")
    assert str(bad) in errors[0] and settings.ENV_GEOIP_DB in errors[0]
    assert "inventory of" not in done.stdout  # no log was read
    assert not (tmp_path / "out").exists()


def test_bad_geoip_database_fails_a_run_before_parsing(old_logs, tmp_path, monkeypatch):
    """Through Dagster (the UI's path): the daily job stops when its resources start."""
    bad = tmp_path / "country.mmdb"
    bad.write_bytes(b"\x00" * 4096)
    monkeypatch.setenv(settings.ENV_GEOIP_DB, str(bad))
    defs = graph.definitions(old_logs, tmp_path / "out")
    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def(INVENTORY_JOB).execute_in_process(instance=instance).success
        result = defs.resolve_job_def(DAILY_JOB).execute_in_process(
            partition_key="2019-03-20", instance=instance, raise_on_error=False)
    assert not result.success
    assert any(str(bad) in str(event.event_specific_data) for event in result.all_events)
    assert not (tmp_path / "out" / "firewall_events").exists()  # no log was parsed


def test_the_definitions_module_reads_no_environment_at_import():
    """A wrong setting does not break importing the code; building the definitions (what
    `dagster dev` does when it loads the location) stops with the setting's name."""
    code = ("import iptables_assets.defs.definitions as m\n"
            "print('imported')\n"
            "m.defs()\n")
    env = {**os.environ, settings.ENV_TZ: "Mars/Base"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert done.stdout.strip() == "imported"
    assert "IPTABLES_ASSETS_TZ='Mars/Base' is not a time zone name" in done.stderr


def test_settings_come_from_the_mapping_given_and_overrides_win():
    config = settings.Settings.from_environment(
        {settings.ENV_TZ: "Europe/Berlin", settings.ENV_SITE_NAME: "gw.example", settings.ENV_REDACT: "yes"},
        out_dir="/srv/out")
    assert (config.timezone, config.site_name, config.redact, config.out_dir) == (
        "Europe/Berlin", "gw.example", True, "/srv/out")
    assert config.schedule_zone() == "Europe/Berlin" and config.schedule_cron() == "15 2 * * *"
    with pytest.raises(settings.ConfigError, match="IPTABLES_ASSETS_REDACT='maybe' is not a yes/no value"):
        settings.Settings.from_environment({settings.ENV_REDACT: "maybe"})


def test_resources_take_their_defaults_from_the_core():
    from iptables_assets.analysis.aggregates import DEFAULT_SCAN_THRESHOLD, TrafficFilter
    from iptables_assets.defs.resources import Publication
    from iptables_assets.publish import figures

    assert Analysis().scan_threshold == DEFAULT_SCAN_THRESHOLD
    assert tuple(Analysis().actions) == TrafficFilter().actions
    assert tuple(Publication().map_ports) == figures.DEFAULT_MAP_PORTS
    assert Publication().truncate_at == figures.DEFAULT_TRUNCATE_AT


def test_the_runner_leaves_the_environment_as_it_was(old_logs, tmp_path, monkeypatch):
    from iptables_assets.defs.run import driver

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    before = dict(os.environ)
    summary = driver.run_everything(old_logs, tmp_path / "out", None, None)
    assert summary["success"] and summary["days"] == 3
    assert dict(os.environ) == before


def test_the_executor_is_checked_and_celery_needs_its_broker_and_backend():
    assert settings.Settings.from_environment({}).executor == "default"
    with pytest.raises(settings.ConfigError, match="IPTABLES_ASSETS_EXECUTOR='dask' is not an executor"):
        settings.Settings.from_environment({settings.ENV_EXECUTOR: "dask"})
    with pytest.raises(settings.ConfigError, match="needs DAGSTER_CELERY_BROKER_URL and DAGSTER_CELERY_BACKEND_URL"):
        settings.Settings.from_environment({settings.ENV_EXECUTOR: "celery"})
    with pytest.raises(settings.ConfigError, match="needs DAGSTER_CELERY_BACKEND_URL: set"):  # --executor celery
        settings.Settings.from_environment({settings.ENV_CELERY_BROKER: "redis://127.0.0.1:6379/0"}, executor="celery")
    urls = {settings.ENV_CELERY_BROKER: "redis://127.0.0.1:6379/0",
            settings.ENV_CELERY_BACKEND: "redis://127.0.0.1:6379/1"}
    config = settings.Settings.from_environment({settings.ENV_EXECUTOR: "Celery", **urls})
    assert config.executor == "celery"
    assert "redis://" not in repr(config)  # the settings travel with every run: no URL, no password in them


def test_the_celery_executor_runs_every_job_and_the_default_keeps_each_jobs_own():
    pytest.importorskip("dagster_celery")
    from iptables_assets.defs.definitions import build_definitions
    from iptables_assets.defs.jobs import JOBS

    urls = {settings.ENV_CELERY_BROKER: "redis://127.0.0.1:6379/0",
            settings.ENV_CELERY_BACKEND: "redis://127.0.0.1:6379/1"}
    celery = build_definitions(settings.Settings.from_environment({settings.ENV_EXECUTOR: "celery", **urls}))
    assert {celery.resolve_job_def(job.name).executor_def.name for job in JOBS} == {"celery_redis"}
    assert celery.resolve_implicit_global_asset_job_def().executor_def.name == "celery_redis"
    default = build_definitions(settings.Settings.from_environment({}))
    assert default.resolve_job_def("frames_job").executor_def is dg.multiprocess_executor
    assert default.resolve_job_def(DAILY_JOB).executor_def.name == "in_process"


def test_celery_with_no_worker_listening_stops_the_cli_before_reading_logs(old_logs, tmp_path, monkeypatch):
    pytest.importorskip("dagster_celery")
    from iptables_assets.cli import main

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(settings.ENV_CELERY_BROKER, f"redis://127.0.0.1:{port}/0")
    monkeypatch.setenv(settings.ENV_CELERY_BACKEND, f"redis://127.0.0.1:{port}/1")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert main(["run", "--logs", str(old_logs), "--out", str(tmp_path / "out"), "--executor", "celery"]) == 2
    assert not (tmp_path / "out" / "_cache").exists()


# --- issue 24: every setting in the settings object, from the environment or --set ---------------

def _resources(config: settings.Settings) -> dict:
    from iptables_assets.defs.resources import from_settings

    return from_settings(config)


@pytest.mark.parametrize(("name", "text", "resource", "field", "value"), [
    ("scan_threshold", "20", "analysis", "scan_threshold", 20),
    ("big_scan_threshold", "400", "analysis", "big_scan_threshold", 400),
    ("fleet_scan_hosts", "4", "analysis", "fleet_scan_hosts", 4),
    ("fleet_longterm_hosts", "9", "analysis", "fleet_longterm_hosts", 9),
    ("reject_rate_warn", "0.05", "analysis", "reject_rate_warn", 0.05),
    ("counted_actions", "drop, reject,accept", "analysis", "actions", ["drop", "reject", "accept"]),
    ("direction", "Any", "analysis", "direction", "any"),
    ("map_ports", "22,3389", "publication", "map_ports", [22, 3389]),
    ("timeline_ymax", "0", "publication", "timeline_ymax", 0),
    ("truncate_at", "500", "publication", "truncate_at", 500),
    ("map_resolution", "50m", "publication", "map_resolution", "50m"),
    ("journal_folder", "/srv/www/journal", "publication", "folder", "/srv/www/journal"),
    ("figure_cache", "/var/cache/iptables-assets", "output_folder", "figure_cache", "/var/cache/iptables-assets"),
    ("trusted_programs", "kernel,ulogd", "log_source", "trusted_programs", ["kernel", "ulogd"]),
    ("log_patterns", "fw.log*", "log_source", "patterns", ["fw.log*"]),
])
def test_every_threshold_and_knob_reaches_its_resource_from_the_environment_and_from_set(
        name, text, resource, field, value):
    variable = settings.SETTINGS[name].variable
    from_env = settings.Settings.from_environment({variable: text})
    from_set = settings.Settings.from_environment({}, **settings.assignments([f"{name}={text}"]))
    by_variable = settings.Settings.from_environment({}, **settings.assignments([f"{variable}={text}"]))
    assert from_env == from_set == by_variable
    assert getattr(_resources(from_env)[resource], field) == value
    assert settings.Settings(**from_env.carried()) == from_env  # what travels to other processes


def test_set_wins_over_the_environment_and_unset_keeps_the_cores_default():
    from iptables_assets.analysis.aggregates import DEFAULT_SCAN_THRESHOLD

    config = settings.Settings.from_environment({"IPTABLES_ASSETS_SCAN_THRESHOLD": "30"},
                                                **settings.assignments(["scan_threshold=40"]))
    assert _resources(config)["analysis"].scan_threshold == 40
    assert _resources(settings.Settings.from_environment({}))["analysis"].scan_threshold == DEFAULT_SCAN_THRESHOLD


@pytest.mark.parametrize(("pairs", "environ", "message"), [
    (["scan_threshold=abc"], {}, r"--set scan_threshold='abc' is not a whole number"),
    (["scan_threshold=0"], {}, r"IPTABLES_ASSETS_SCAN_THRESHOLD=0: must be at least 1"),
    ([], {"IPTABLES_ASSETS_SCAN_THRESHOLD": "0"}, r"IPTABLES_ASSETS_SCAN_THRESHOLD=0: must be at least 1"),
    (["scan_threshold=60", "big_scan_threshold=10"], {},
     r"IPTABLES_ASSETS_BIG_SCAN_THRESHOLD=10: must be at least scan_threshold \(60\)"),
    ([], {"IPTABLES_ASSETS_REJECT_RATE_WARN": "nan"}, r"IPTABLES_ASSETS_REJECT_RATE_WARN='nan' is not a number"),
    ([], {"IPTABLES_ASSETS_COUNTED_ACTIONS": "drop,dropp"}, r"actions \['drop', 'dropp'\]: .* \('dropp' is not\)"),
    (["direction=inbound"], {}, r"direction 'inbound' is not one of input, output, forward, any"),
    (["map_ports=22,70000"], {}, r"--set map_ports='22,70000' is not a comma-separated list of ports"),
    (["threshold=5"], {}, r"--set 'threshold=5': use --set NAME=VALUE with NAME one of log_dir, "),
    (["scan_threshold"], {}, r"--set 'scan_threshold': use --set NAME=VALUE"),
    (["celery_broker=redis://x"], {}, r"\(celery_broker is read from the environment only\)"),
])
def test_a_wrong_setting_says_which_and_how_to_fix_it(pairs, environ, message):
    with pytest.raises(settings.ConfigError, match=message):
        settings.Settings.from_environment(environ, **settings.assignments(pairs))


def test_the_help_states_the_defaults_the_resources_use():
    """The `run --help` list says "(default X)"; X must be what an unset setting gives."""
    made = _resources(settings.Settings.from_environment({}))
    shown = {"scan_threshold": ("analysis", "scan_threshold"), "big_scan_threshold": ("analysis", "big_scan_threshold"),
             "fleet_scan_hosts": ("analysis", "fleet_scan_hosts"),
             "fleet_longterm_hosts": ("analysis", "fleet_longterm_hosts"),
             "reject_rate_warn": ("analysis", "reject_rate_warn"), "counted_actions": ("analysis", "actions"),
             "direction": ("analysis", "direction"), "map_ports": ("publication", "map_ports"),
             "timeline_ymax": ("publication", "timeline_ymax"), "truncate_at": ("publication", "truncate_at"),
             "trusted_programs": ("log_source", "trusted_programs")}
    for name, (resource, field) in shown.items():
        value = getattr(made[resource], field)
        text = ",".join(map(str, value)) if isinstance(value, list) else f"{value:g}" if isinstance(value, float) \
            else str(value)
        assert f"(default {text})" in settings.SETTINGS[name].meaning, name


def test_the_cli_passes_set_to_the_run(tmp_path, monkeypatch):
    from iptables_assets import cli
    from iptables_assets.defs.run import driver

    got = {}
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(driver, "run_everything", lambda *a, **k: got.update(k) or {"success": True})
    (tmp_path / "logs").mkdir()
    assert cli.main(["run", "--logs", str(tmp_path / "logs"), "--out", str(tmp_path / "out"),
                     "--set", "scan_threshold=12", "--set", "IPTABLES_ASSETS_MAP_PORTS=22"]) == 0
    assert got["settings_given"] == {"scan_threshold": 12, "map_ports": (22,)}
    assert cli.main(["run", "--logs", str(tmp_path / "logs"), "--out", str(tmp_path / "out"),
                     "--set", "scan_threshold=x"]) == 2


def test_only_the_settings_module_reads_the_environment():
    """One place reads the settings' variables; the others named here touch Dagster's own
    (DAGSTER_HOME, its planned-events switch) or hand the environment to journalctl."""
    root = Path(settings.__file__).parent
    allowed = {"settings.py", "cli.py", "execute.py", "journal_files.py"}
    readers = {path.name for path in root.rglob("*.py")
               if ("os.environ" in path.read_text() or "getenv" in path.read_text()) and path.name not in allowed}
    assert readers == set()
    assert not [path for path in root.rglob("*.py") if path.name != "settings.py"
                and any(f'"{s.variable}"' in path.read_text() for s in settings.SETTINGS.values())]
