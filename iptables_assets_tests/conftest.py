"""Shared fixtures: write small log files into tmp_path and parse them with the real parser.

Also the suite's split (`make test-quick` runs `-m unit`, `make test` everything): every test is
`integration` or `unit`, decided here, in one place (`INTEGRATION`, `INTEGRATION_FIXTURES`), never
in the test files. Integration tests run Dagster (`materialize`, jobs, `iptables-assets run`,
`dagster dev`), services (Celery, Redis, PostgreSQL, Chromium), the journal tools, the CLI in a
subprocess, worker processes or the benchmarks; every other test is a unit test, and a unit test
that starts a Dagster run, the CLI, dagster or a service fails, saying to list it in `INTEGRATION`.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

os.environ.setdefault("IPTABLES_ASSETS_READ_RETRY_SECONDS", "0")  # retried reads without the wait

from iptables_assets import progress
from iptables_assets.publish import static_store
from iptables_assets.settings import SETTINGS
from iptables_assets.ingest.records.firewall.parsing import ParseConfig, ParseResult, parse_paths

# Default file mtime: the last hour of 2024 (a leap year), so an RFC 3164 line of any day
# of the year lands in 2024 unless a test says otherwise.
DEFAULT_MTIME = datetime(2024, 12, 31, 23, 0, tzinfo=timezone.utc)
_COMPRESSORS = {"plain": lambda b: b, "gzip": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}


FIGURE_CACHE = SETTINGS["figure_cache"].variable


@pytest.fixture(scope="session")
def session_folder(tmp_path_factory) -> Path:
    """A folder of this session that every xdist worker sees (without xdist, the session's own)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session", autouse=True)
def shared_figure_cache(session_folder):
    """Every run of the session keeps the figures' static parts in one folder every worker sees
    (the figure_cache setting): drawn once, not once per test's output folder (~3.5 s of CPU a
    run). Tests of the default place, `<out>/_cache/static`, remove the variable."""
    folder = session_folder / "figure_cache"
    folder.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(FIGURE_CACHE, str(folder))
        yield folder


@pytest.fixture(autouse=True)
def static_store_forgotten_afterwards():
    """An in-process run points the process's static store at its folder (`static_store.use`):
    forgotten after every test, so no later test draws from, or is drawn from, another's folder."""
    yield
    static_store.use(None)


@pytest.fixture(autouse=True)
def progress_hidden_afterwards():
    """`run_everything` in-process shows progress on this test's stdout, which pytest closes:
    hidden again after every test, so no later test writes to a closed stream."""
    yield
    progress.show_on(None)


@pytest.fixture
def write_log(tmp_path):
    """write_log(name, lines, mtime=datetime, compression="plain"|"gzip"|"bz2"|"xz") -> Path.

    `lines` is a list of str (joined with "\\n", final newline added) or raw bytes.
    """

    def write(name: str, lines, *, mtime: datetime = DEFAULT_MTIME, compression: str = "plain") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = lines if isinstance(lines, bytes) else "".join(f"{line}\n" for line in lines).encode()
        path.write_bytes(_COMPRESSORS[compression](data))
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
        return path

    return write


@pytest.fixture
def accounted():
    """accounted(result) asserts that every line read is a record line, ignored or a reject."""

    def check(result: ParseResult) -> ParseResult:
        s = result.summary()
        assert s["lines_read"] == s["record_lines"] + s["ignored_lines"] + s["reject_lines"], s
        assert s["rejects"] + s["reject_duplicates_removed"] == s["reject_lines"], s
        assert sum(s["rejects_by_reason"].values()) == s["rejects"], s
        # events = record lines + extra events of "message repeated N times" - duplicates
        events = s["record_lines"] + s["repeated_message_extra_events"] - s["duplicates_removed"]
        assert s["records"] == events, s
        return result

    return check


@pytest.fixture
def parse_lines(write_log, accounted):
    """parse_lines(lines, name="messages", mtime=..., **ParseConfig kw) -> accounted ParseResult."""

    def parse(lines, *, name: str = "messages", mtime: datetime = DEFAULT_MTIME, **config) -> ParseResult:
        path = write_log(name, lines, mtime=mtime)
        return accounted(parse_paths([path], ParseConfig(**config)))

    return parse


@pytest.fixture
def one_record(parse_lines):
    """one_record(line, **kw) -> the single record parsed from one line, as a dict."""

    def parse(line: str, **kw) -> dict:
        result = parse_lines([line], **kw)
        assert result.rejects.height == 0, result.rejects.to_dicts()
        assert result.records.height == 1, result.summary()
        return result.records.to_dicts()[0]

    return parse


@pytest.fixture(scope="session")
def journal_run(tmp_path_factory):
    """`iptables-assets run` on 45 generated days (the planted scanners land inside); returns the
    output folder, the ground truth and the run's output (stdout, then stderr). Tests using it are grouped on one
    xdist worker (`--dist loadgroup`) so the run happens once."""
    import subprocess
    import sys
    from datetime import date

    from iptables_assets.sample import generate_logs

    root = tmp_path_factory.mktemp("journal_run")
    truth = generate_logs(root / "logs", days=45, seed=5, start=date(2025, 12, 10), events_per_day=400)
    # The default place of the static parts (<out>/_cache/static): the daily run's test checks them.
    env = {**os.environ, "DAGSTER_HOME": str(root / "home")}
    env.pop(FIGURE_CACHE)
    cli = Path(sys.executable).parent / "iptables-assets"
    done = subprocess.run([str(cli), "run", "--logs", str(root / "logs"), "--out", str(root / "out")],
                          capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root / "out", truth, done.stdout + done.stderr


# --------------------------------------------------------------------------- unit / integration

ALL = "*"
# Module (relative to this folder) -> ALL, or the names of its integration tests (the rest are unit).
INTEGRATION: dict[str, str | set[str]] = {
    "analysis/test_aggregates.py": {
        "test_planted_scanners_are_found_by_the_right_detector", "test_port_and_country_totals_match_ground_truth",
        "test_a_single_hosts_summary_line_is_its_view_of_every_daily_table"},
    "analysis/test_per_host.py": {"test_a_hosts_inventory_is_its_own_folder_or_all_shared_files"},
    "analysis/test_sshd.py": {"test_run_publishes_sshd_findings", "test_run_finds_the_scanners_that_talked_to_sshd"},
    "defs/test_assets.py": ALL,
    "defs/test_automation.py": ALL,
    "defs/test_io_manager.py": ALL,
    "defs/test_parse_cache_runs.py": ALL,
    "defs/test_sshd_parse_cache_runs.py": ALL,
    "defs/test_run_health.py": ALL,
    "defs/test_settings.py": {
        "test_bad_geoip_database_stops_the_cli_before_reading_logs",
        "test_bad_geoip_database_fails_a_run_before_parsing",
        "test_the_definitions_module_reads_no_environment_at_import",
        "test_the_runner_leaves_the_environment_as_it_was",
        "test_celery_with_no_worker_listening_stops_the_cli_before_reading_logs",
        "test_the_partitions_are_the_logs_days_added_by_the_inventory"},
    "defs/test_stored_data.py": ALL,
    "defs/test_tables.py": {"test_a_frame_that_breaks_its_declaration_blocks_what_follows"},
    "enrich/test_geo.py": {"test_geotagged_events_asset_counts_match_lookup"},
    "ingest/test_damaged_input.py": {
        "test_damaged_log_file_is_named_in_inventory_events_and_check",
        "test_unreadable_folder_and_file_are_named_and_the_rest_is_read", "test_every_path_readable_passes_the_check",
        "test_a_listed_file_that_becomes_unreadable_fails_with_one_line", "test_real_chmod_000_folder_and_file",
        "test_unreadable_log_folder_itself_fails_naming_it"},
    "ingest/test_finding.py": ALL,
    "ingest/test_repeated_messages.py": {"test_cli_parse_summary_counts_hostile_repeat_lines_as_rejects"},
    "ingest/test_streaming.py": {"test_peak_memory_of_a_streamed_parse_hardly_grows_with_the_input"},
    "ingest/test_systemd_journal.py": ALL,
    "operations/test_celery_engine.py": ALL,
    "operations/test_cli_parse.py": {"test_console_script_entry_point",
                                     "test_run_records_planned_events_per_asset_unless_told_otherwise"},
    "operations/test_daily_increment.py": ALL,
    "operations/test_fan_out.py": ALL,
    "operations/test_full_disk.py": ALL,
    "operations/test_production_instance.py": ALL,
    "operations/test_progress.py": {"test_run_shows_progress_and_stage_times"},
    "operations/test_run_driver.py": ALL,
    "operations/test_ui.py": ALL,
    "operations/test_ui_backfill.py": ALL,
    "publish/test_animation.py": {
        "test_run_made_one_frame_per_day_and_the_gifs", "test_rematerialising_one_day_changes_only_that_frame",
        "test_missing_day_is_an_empty_frame_and_stale_top_ports_are_flagged"},
    "publish/test_fleet_journal.py": ALL,
    "publish/test_host_pages.py": {  # pages drawn by worker processes
        "test_pages_drawn_in_processes_equal_pages_drawn_here",
        "test_a_failed_page_fails_the_writers_and_a_daemon_draws_in_turn"},
    "publish/test_journal.py": {"test_run_publishes_the_journal_with_every_figure",
                                "test_materialised_figures_carry_small_previews"},
    "sample/test_fleet.py": {"test_cli_generate_hosts_writes_a_fleet"},
    "benchmarks/test_benchmarks_run.py": ALL,
}
# A test using one of these fixtures is an integration test wherever it is.
INTEGRATION_FIXTURES = {"journal_run"}
# What a unit test must not start (subprocess argv[0]'s name). Not the journal tools: the parser
# asks journalctl about any file that looks like a journal, random bytes included.
INTEGRATION_PROGRAMS = {
    "iptables-assets", "dagster", "dagster-webserver", "dagster-daemon", "celery", "redis-server", "chromium",
    "chromium-browser", "pg_ctlcluster", "psql", "createdb", "su",
}
# The `dagster dev` tests mostly wait on the daemon's ticks (a UI backfill test used 25 s of CPU in
# 240 s): each in its own xdist group, run first, side by side, one per worker, while the other
# workers' cores compute everything else (one after the other they were the suite's longest path;
# last, they ran alone at the end).
DAGSTER_DEV_MODULES = {"operations/test_ui.py", "operations/test_ui_backfill.py"}
_HERE = Path(__file__).parent


def _module(item: pytest.Item) -> str:
    """The test's module, relative to this folder (`operations/test_ui.py`)."""
    return Path(str(item.fspath)).relative_to(_HERE).as_posix()


def _is_integration(item: pytest.Item) -> bool:
    module = _module(item)
    listed = INTEGRATION.get(module, ())
    name = getattr(item, "originalname", item.name)
    return listed == ALL or name in listed or bool(INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())))


def _uses_a_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    return info is not None and any(
        defs and defs[-1].scope == "module" for defs in (info.name2fixturedefs.get(n) for n in info.names_closure))


# Started right after them: a test whose own worker processes (Celery's) use the cores they leave.
OWN_WORKERS_MODULES = {"operations/test_celery_engine.py"}


def _start_order(item: pytest.Item) -> int:
    module = _module(item)
    if module in DAGSTER_DEV_MODULES:
        return 0
    if module in OWN_WORKERS_MODULES:
        return 1
    return 2 if item.get_closest_marker("integration") else 3


def _workers(config) -> int:
    """The number of xdist workers (on a worker: from the controller; 1 without xdist)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return int(workerinput.get("workercount", 1))
    return int(getattr(config.option, "numprocesses", None) or 1)


def _name_its_group(config, item: pytest.Item) -> None:
    """On an xdist worker with `--dist loadgroup`: the test's id ends in `@group`, which is how the
    controller keeps a group on one worker. xdist 3.8 sets `item._nodeid` for this, which pytest 9
    no longer reads (a node's id is `item._id`), so without this every group was split across the
    workers and each built the group's fixtures again (the 45-day `journal_run` twice)."""
    if not getattr(config.option, "loadgroup", False) or "@" in item.nodeid:
        return
    groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                     for m in item.iter_markers("xdist_group")})
    if groups and hasattr(item, "_id"):
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Mark every test `integration` or `unit`; a name in INTEGRATION that no longer exists fails
    the collection (a renamed test would silently become a unit test).

    And a module's tests that share a module-scoped fixture (a generated sample, a run) go to one
    xdist worker (`xdist_group`, kept together by `--dist loadgroup`), or every worker that runs one
    of them would build the fixture again; so do the users of the session's `journal_run` and the
    `dagster dev` tests, each in its own; a test already in a group keeps its group."""
    names: dict[str, set[str]] = {}
    for item in items:
        module = _module(item)
        names.setdefault(module, set()).add(getattr(item, "originalname", item.name))
        item.add_marker(pytest.mark.integration if _is_integration(item) else pytest.mark.unit)
        grouped = item.get_closest_marker("xdist_group") is not None
        if not grouped and module in DAGSTER_DEV_MODULES:
            item.add_marker(pytest.mark.xdist_group(f"dagster_dev_{getattr(item, 'originalname', item.name)}"))
        elif not grouped and "journal_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("journal_run"))  # the session's run, built once
        elif not grouped and _uses_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(module))
        _name_its_group(config, item)
    # The order work is handed out in (`make test` keeps it: `--no-loadscope-reorder`): the
    # `dagster dev` tests first, one per worker, waiting while the other workers compute; the Celery
    # test; then the integration tests (seconds to minutes each); the unit tests last, filling the
    # workers' ends.
    items.sort(key=_start_order)
    stale = [f"{module}::{name}" for module, listed in INTEGRATION.items() if module in names and listed != ALL
             for name in sorted(listed - names[module])]
    if stale:
        raise pytest.UsageError(f"conftest.py INTEGRATION names tests that do not exist: {', '.join(stale)}")


def _refuse(what: str):
    raise RuntimeError(f"a unit test {what}: list it in INTEGRATION in iptables_assets_tests/conftest.py "
                       "(or use an integration fixture), so `make test-quick` stays quick")


@pytest.fixture(autouse=True)
def unit_tests_stay_in_process(request, monkeypatch):
    """A unit test that starts a Dagster run, `iptables-assets`, dagster or a service fails."""
    if request.node.get_closest_marker("unit") is None:
        yield
        return
    from dagster._core.instance.runs.run_domain import RunDomain  # every run is created here

    def no_run(*args, **kwargs):
        _refuse("started a Dagster run")

    popen_init = subprocess.Popen.__init__

    def guarded_init(self, args, *rest, **kwargs):
        argv = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args)
        program = Path(os.fsdecode(argv[0])).name if argv else ""
        if kwargs.get("shell") and isinstance(args, (str, bytes)):
            program = os.fsdecode(args).split()[0].rsplit("/", 1)[-1] if args.strip() else ""
        if program in INTEGRATION_PROGRAMS or (
                Path(os.fsdecode(argv[0])) == Path(sys.executable) and "iptables_assets" in argv[1:3]):
            _refuse(f"started `{' '.join(map(os.fsdecode, argv))}`")
        popen_init(self, args, *rest, **kwargs)

    monkeypatch.setattr(RunDomain, "create_run", no_run)
    monkeypatch.setattr(subprocess.Popen, "__init__", guarded_init)
    yield
