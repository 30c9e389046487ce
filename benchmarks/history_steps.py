"""history_benchmark.py's Dagster side: where a run's data lives, and one measured step in a child.

`Layout` names the work folder's files for one (first day, days, events/day); `child` runs one
step (`daily`, `history`, `incremental`, `figures`, `animation`, `setup`, a `baseline-*` read) in
the fresh process that history_benchmark.py starts as `history_benchmark.py --step STEP`, and
prints `RESULT {json}` last. See benchmarks/README.md.
"""

from __future__ import annotations

import cProfile
import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from harness import own_peak_rss_bytes, print_profile

DAILY_ASSETS = ("daily_country_counts", "daily_port_counts", "daily_country_port_counts", "daily_source_summary",
                "daily_port_scans")
HISTORY_FILES = ("country_totals", "top_country_daily_series", "port_totals", "port_scans",
                 "longterm_port_scans", "scan_summary")
BENCH_DAILY_JOB = "bench_daily_aggregates"
BENCH_SETUP_JOB = "bench_country_reference"
BENCH_HISTORY_JOB = "bench_history"
BENCH_FIGURES_JOB = "bench_figures"
BENCH_FRAMES_JOB = "bench_frames"
BENCH_FILMS_JOB = "bench_films"
# The columns of geotagged_events that the daily aggregates use.
USED_COLUMNS = ("timestamp", "action", "in_iface", "out_iface", "src_ip", "dst_ip", "proto", "dst_port",
                "tcp_flags", "country_code", "country_name")
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Layout:
    root: Path
    first_day: date
    days: int
    events_per_day: int

    @property
    def data(self) -> Path:  # everything for one (first day, days, events/day)
        return self.root / f"{self.first_day}_{self.days}d_{self.events_per_day}"

    @property
    def out(self) -> Path:
        return self.data / "out"

    @property
    def logs(self) -> Path:  # an empty log folder: the selected jobs never read logs
        return self.data / "logs"

    @property
    def geo(self) -> Path:
        return self.out / "geotagged_events"

    @property
    def new_day(self) -> date:
        return self.first_day + timedelta(days=self.days)

    @property
    def new_day_source(self) -> Path:  # day 366's geo-tagged file, copied in by the incremental step
        return self.data / "new_day" / f"{self.new_day}.parquet"

    @property
    def manifest(self) -> Path:
        return self.data / "manifest.json"

    @property
    def sample(self) -> Path:
        return self.root / "schema_sample"

    def year_files(self) -> list[Path]:
        return [self.geo / f"{self.first_day + timedelta(days=i)}.parquet" for i in range(self.days)]


def child_env(layout: Layout) -> dict[str, str]:
    """Environment of every child: partitions from the first generated day, UTC, no telemetry."""
    env = dict(os.environ)
    env.update({
        "IPTABLES_ASSETS_START_DATE": layout.first_day.isoformat(),
        "IPTABLES_ASSETS_TZ": "UTC",
        "IPTABLES_ASSETS_LOG_DIR": str(layout.logs),
        "IPTABLES_ASSETS_OUT_DIR": str(layout.out),
        "DAGSTER_HOME": str(layout.root / "dagster_home"),
        "PYTHONWARNINGS": "ignore",
    })
    return env


def clean_outputs(layout: Layout) -> None:
    """Back to 'only geotagged_events exists' for the year: no daily aggregates, no history
    assets, no exports, no day 366."""
    for name in DAILY_ASSETS:
        shutil.rmtree(layout.out / name, ignore_errors=True)
    for name in HISTORY_FILES:
        (layout.out / f"{name}.parquet").unlink(missing_ok=True)
    shutil.rmtree(layout.out / "exports", ignore_errors=True)
    (layout.geo / f"{layout.new_day}.parquet").unlink(missing_ok=True)


def reset_new_day(layout: Layout) -> None:
    """State before an incremental run: the year is aggregated, day 366's events just arrived."""
    for name in DAILY_ASSETS:
        (layout.out / name / f"{layout.new_day}.parquet").unlink(missing_ok=True)
    shutil.copyfile(layout.new_day_source, layout.geo / f"{layout.new_day}.parquet")


def du(path: Path, pattern: str = "**/*") -> tuple[int, int]:
    files = [p for p in path.glob(pattern) if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


# --------------------------------------------------------------------------- child steps


def _definitions(layout: Layout):
    import dagster as dg

    from iptables_assets.defs.definitions import build_definitions
    from iptables_assets.defs.analysis import DAILY_TABLES
    from iptables_assets.settings import Settings

    defs = build_definitions(Settings.from_environment(log_dir=str(layout.logs), out_dir=str(layout.out)))
    extra = dg.Definitions(jobs=[
        dg.define_asset_job(BENCH_DAILY_JOB, selection=dg.AssetSelection.assets(*DAILY_TABLES)),
        dg.define_asset_job(BENCH_SETUP_JOB, selection=dg.AssetSelection.assets("country_reference", "log_file_inventory")),
        dg.define_asset_job(BENCH_HISTORY_JOB, selection=dg.AssetSelection.assets(*HISTORY_FILES)),
        dg.define_asset_job(BENCH_FIGURES_JOB, selection=dg.AssetSelection.tag("journal", "figure")),
        dg.define_asset_job(BENCH_FRAMES_JOB, selection=dg.AssetSelection.tag("journal", "frames"),
                            executor_def=dg.in_process_executor),
        # the GIFs (the journal also needs the sshd tables, which this benchmark does not make)
        dg.define_asset_job(BENCH_FILMS_JOB, selection=dg.AssetSelection.tag("journal", "film")),
    ])
    return dg.Definitions.merge(defs, extra)


def child(step: str, layout: Layout, cprofile_top: int = 0, chunk_days: int = 0, instance_kind: str = "ephemeral") -> int:
    """One measured step, in this (fresh) process; prints `RESULT {json}` last."""
    t_start = time.perf_counter()
    result: dict = {"step": step}
    if step.startswith("baseline"):
        import polars as pl

        glob = str(layout.geo / "*.parquet")
        t0 = time.perf_counter()
        if step == "baseline-count":
            result["rows"] = pl.scan_parquet(glob).select(pl.len()).collect().item()
        elif step == "baseline-columns":
            result["rows"] = pl.scan_parquet(glob).select(USED_COLUMNS).collect().height
        else:
            result["rows"] = pl.scan_parquet(glob).collect().height
        result["work_s"] = time.perf_counter() - t0
    else:
        import dagster as dg

        from iptables_assets.defs.automation import RANGE_END_TAG as ASSET_PARTITION_RANGE_END_TAG
        from iptables_assets.defs.automation import RANGE_START_TAG as ASSET_PARTITION_RANGE_START_TAG

        defs = _definitions(layout)
        for name in (BENCH_DAILY_JOB, BENCH_SETUP_JOB, BENCH_HISTORY_JOB, BENCH_FIGURES_JOB, BENCH_FRAMES_JOB,
                     BENCH_FILMS_JOB):
            defs.resolve_job_def(name)  # build the asset graph before the clock starts
        instance = dg.DagsterInstance.get() if instance_kind == "sqlite" else dg.DagsterInstance.ephemeral()
        # The daily partitions are the logs' days, which the CLI or the inventory adds to the instance;
        # here there are no logs, so the generated days (and day 366 for the incremental step) are added.
        from iptables_assets.defs import partitions as log_days

        log_days.add_days(instance, [layout.first_day + timedelta(days=i)
                                     for i in range(layout.days + (step == "incremental"))])
        result["startup_s"] = time.perf_counter() - t_start

        def run(job: str, **kwargs) -> float:
            t0 = time.perf_counter()
            outcome = defs.resolve_job_def(job).execute_in_process(instance=instance, run_config=QUIET, **kwargs)
            if not outcome.success:
                raise SystemExit(f"{job} failed")
            elapsed = time.perf_counter() - t0
            result["step_s"] = {
                s.step_key: round(s.end_time - s.start_time, 2)
                for s in instance.get_run_step_stats(outcome.run_id) if s.end_time and s.start_time
            }
            return elapsed

        profiler = cProfile.Profile() if cprofile_top else None
        if profiler:
            profiler.enable()
        if step == "setup":
            result["work_s"] = run(BENCH_SETUP_JOB)
        elif step == "daily":
            # One single-run backfill of every day (or, with --daily-chunk-days, several in a row).
            chunk = chunk_days or layout.days
            result["work_s"] = 0.0
            for offset in range(0, layout.days, chunk):
                first = layout.first_day + timedelta(days=offset)
                last = layout.first_day + timedelta(days=min(offset + chunk, layout.days) - 1)
                result["work_s"] += run(BENCH_DAILY_JOB, tags={
                    ASSET_PARTITION_RANGE_START_TAG: first.isoformat(),
                    ASSET_PARTITION_RANGE_END_TAG: last.isoformat(),
                })
            result["runs"] = -(-layout.days // chunk)
        elif step == "history":
            result["work_s"] = run(BENCH_HISTORY_JOB)
        elif step == "figures":
            result["work_s"] = run(BENCH_FIGURES_JOB)
        elif step == "animation":
            result["frames_s"] = run(BENCH_FRAMES_JOB, tags={
                ASSET_PARTITION_RANGE_START_TAG: layout.first_day.isoformat(),
                ASSET_PARTITION_RANGE_END_TAG: (layout.new_day - timedelta(days=1)).isoformat(),
            })
            result["frame_steps_s"] = result["step_s"]
            frames_metadata = {
                key.path[-1]: instance.get_latest_materialization_event(key).asset_materialization.metadata
                for key in (dg.AssetKey(f"{n}_frames") for n in ("drops_map", "well_known_ports", "top_ports"))
            }
            result["per_frame_s"] = {k: m["median_seconds_per_frame"].value for k, m in frames_metadata.items()}
            result["frames_per_second"] = {k: m["frames_per_second"].value for k, m in frames_metadata.items()
                                           if "frames_per_second" in m}
            result["films_s"] = run(BENCH_FILMS_JOB)
            result["gif_bytes"] = {p.stem: p.stat().st_size for p in (layout.out / "journal" / "animations").glob("*.gif")}
            result["work_s"] = result["frames_s"] + result["films_s"]
        elif step == "incremental":
            result["daily_s"] = run(BENCH_DAILY_JOB, partition_key=layout.new_day.isoformat())
            result["history_s"] = run(BENCH_HISTORY_JOB)
            result["work_s"] = result["daily_s"] + result["history_s"]
        else:
            raise SystemExit(f"unknown step {step!r}")
        if profiler:
            profiler.disable()
            print_profile(profiler, cprofile_top, f"step {step}: {result['work_s']:.2f} s in the job(s)")
    result["self_maxrss_bytes"] = own_peak_rss_bytes()
    result["total_s"] = time.perf_counter() - t_start
    print("RESULT " + json.dumps(result), flush=True)
    return 0
