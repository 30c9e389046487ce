"""`iptables-assets run`: check the settings, then go through the stages (`stages.STAGES`) in
order, stopping at the first that fails, and sum up."""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

from iptables_assets import progress, settings
from iptables_assets.defs.automation import CLI_TRIGGER, TRIGGER_TAG
from iptables_assets.defs.definitions import build_definitions
from iptables_assets.defs.run import checks, execute
from iptables_assets.defs.run.say import say
from iptables_assets.defs.run.stages import STAGES, Run
from iptables_assets.defs.run.summary import per_day_totals, stopped, summarise
from iptables_assets.defs.run_health import mark_dead_runs_failed, this_process_tags


def run_everything(log_dir: Path, out_dir: Path, first: date | None, last: date | None,
                   executor: str | None = None, fan_out: str | None = None, parallel: int | None = None,
                   settings_given: dict | None = None) -> dict:
    """Inventory the logs, then materialise every asset for the days they hold, stage by stage.
    `settings_given` (--set) override the environment's settings, `executor`
    IPTABLES_ASSETS_EXECUTOR ("default" or "celery") and `fan_out` IPTABLES_ASSETS_FAN_OUT ("none"
    or "day") override both; `parallel`: per-day runs at once (fan-out only)."""
    started, seconds = time.perf_counter(), {}
    progress.show_on(sys.stdout)
    overrides = {name: value for name, value in (("executor", executor), ("fan_out", fan_out)) if value}
    config = settings.Settings.from_environment(**{**(settings_given or {}), "log_dir": str(log_dir),
                                                   "out_dir": str(out_dir), **overrides})
    checks.check_parallel(config, parallel)
    checks.check_settings(config)
    instance = execute.instance()
    for line in mark_dead_runs_failed(instance):
        say(f"marked failed, its process is gone: {line}")
    run = Run(config, build_definitions(config), instance, {TRIGGER_TAG: CLI_TRIGGER, **this_process_tags()},
              (first, last), checks.runs_at_once(config, parallel))
    runs: dict[str, list] = {}
    for stage in STAGES:
        began = time.perf_counter()
        runs[stage.title] = stage.execute(run, stage.job)
        seconds[stage.title] = round(time.perf_counter() - began, 1)
        if failed := [result.run_id for result in runs[stage.title] if not result.success]:
            return stopped(instance, stage.title, failed, seconds)
        if run.window is None:
            return _nothing_to_do(run)
    summary = summarise(per_day_totals(instance, runs["per-day assets"]), runs, run.window, out_dir,
                        run.found.problems, time.perf_counter() - started)
    summary["stage seconds"] = seconds
    for key, value in summary.items():
        say(f"{key}: {value}")
    return summary


def _nothing_to_do(run: Run) -> dict:
    """The logs hold no timestamped line: what was found instead, and success."""
    problems = run.found.problems
    passed = sum(len(paths) for paths in problems["passed over"].values())
    say(f"no timestamped log lines found in {run.config.log_dir} ({passed} other files, listed above, and "
        f"{len(problems['unreadable paths'])} it cannot read); nothing to do")
    return {"success": True, "days": 0, **{what: found for what, found in problems.items() if found}}
