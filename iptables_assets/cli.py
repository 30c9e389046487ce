"""The `iptables-assets` command: generate sample logs, parse logs, run the asset graph."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from iptables_assets import settings
from iptables_assets.atomic import CannotWrite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="iptables-assets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    gen = commands.add_parser("generate", help="write a synthetic /var/log-like folder and its ground truth")
    gen.add_argument("--out", required=True, type=Path)
    gen.add_argument("--days", type=int, default=settings.SAMPLE_DAYS)
    gen.add_argument("--seed", type=int, default=settings.SAMPLE_SEED)
    gen.add_argument("--start", type=date.fromisoformat, default=settings.SAMPLE_START, help="YYYY-MM-DD")
    gen.add_argument("--events-per-day", type=int, default=2000)
    gen.add_argument("--hosts", type=int, default=1,
                     help="1 (default): one host's /var/log in OUT; N > 1: a fleet as a central log host keeps it, "
                          "OUT/remote/web01 … with shared attackers and horizontal scans, fleet truth in OUT")
    gen.add_argument("--sources", choices=("text", "journal", "both"), default="text",
                     help="what the host keeps: rsyslog's text files (default), a systemd journal "
                          "(OUT/journal/<machine id>/, needs systemd-journal-remote), or both")
    gen.add_argument("--journal-from", type=date.fromisoformat, default=None,
                     help="YYYY-MM-DD: the journal's first day (default: the logs' first day)")
    gen.add_argument("--digest-plants", action="store_true",
                     help="one host, 30 days or more: also plant what the daily digest must find (a port spike, "
                          "a new port, a returning scanner, a country surge and their near misses; truth under "
                          "'digest' in ground_truth.json)")
    gen.set_defaults(func=_generate)

    parse = commands.add_parser("parse", help="parse log files/folders into firewall records")
    parse.add_argument("paths", nargs="+", type=Path)
    parse.add_argument("--format", choices=["jsonl", "parquet"], default="jsonl")
    parse.add_argument("-o", "--output", type=Path, help="output file (default: stdout for jsonl)")
    parse.add_argument("--summary", action="store_true", help="print counts instead of records")
    parse.add_argument("--rejects", type=Path, help="also write rejects (JSON lines) to this file")
    parse.add_argument("--tz", default=settings.DEFAULT_TZ, help="time zone the logs are written in")
    parse.add_argument("--trusted", default=None, help="comma-separated trusted syslog programs")
    parse.set_defaults(func=_parse)

    run = commands.add_parser(
        "run", help="materialise the asset graph for every day in the logs",
        description=_RUN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--logs", required=True, type=Path, metavar="DIR",
                     help="folder of syslog files, searched recursively (e.g. /var/log or a copy of it); "
                          "rotated and compressed copies (.1, -YYYYMMDD, .gz, .bz2, .xz) are read too")
    run.add_argument("--out", required=True, type=Path, metavar="OUT",
                     help="output folder: asset data, exports/ (CSV, Parquet), journal/ (HTML, PNG, GIF)")
    run.add_argument("--from", dest="first", type=date.fromisoformat, help="first day (YYYY-MM-DD)")
    run.add_argument("--to", dest="last", type=date.fromisoformat, help="last day (YYYY-MM-DD)")
    run.add_argument("--executor", choices=settings.EXECUTORS, default=None,
                     help=f"where steps run: default (this process; the frames in parallel processes) or "
                          f"celery (Dagster Celery workers; needs "
                          f"{settings.ENV_CELERY_BROKER} and {settings.ENV_CELERY_BACKEND}); "
                          f"default: {settings.ENV_EXECUTOR}, else default")
    run.add_argument("--fan-out", choices=settings.FAN_OUTS, default=None,
                     help="the per-day assets as none: one single-run backfill over the days (each log file read "
                          "once), or day: one run per day, several at once, each in a process of its own; "
                          f"default: {settings.ENV_FAN_OUT}, else none")
    run.add_argument("--parallel", type=int, default=None, metavar="N",
                     help="with --fan-out day: per-day runs at once (default: one per Celery worker that answers "
                          "with --executor celery, else one per core)")
    run.add_argument("--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                     help="a setting by name, e.g. --set scan_threshold=20 (repeatable; the list below)")
    run.set_defaults(func=_run)

    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except settings.ConfigError as error:
        print(f"iptables-assets: configuration error: {error}", file=sys.stderr)
        return 2


_RUN_HELP = f"""Materialise every asset for the days the logs hold: inventory, parsed events, countries,
daily aggregates, scans, figures, animations and the journal (OUT/journal/index.html).

Run history lives in the Dagster home folder: $DAGSTER_HOME if set, else OUT/dagster_home.
Point `dagster dev` at the same home and output folder to see the runs in the UI.

Settings: each an environment variable, or --set NAME=VALUE (wins over the environment);
none is needed:
{settings.described()}
"""


def _generate(args: argparse.Namespace) -> int:
    """One host (today's output, byte for byte) or, with --hosts N > 1, a fleet."""
    # Each command imports what it alone needs: `parse` starts without the generator or Dagster.
    from iptables_assets.sample import generate_fleet, generate_logs

    if args.hosts < 1:
        raise settings.ConfigError(f"--hosts {args.hosts} is not a number of hosts; use 1 or more")
    if args.hosts > 1 and args.sources != "text":
        raise settings.ConfigError("--sources journal/both is for one host; leave out --hosts")
    if args.hosts > 1 and args.digest_plants:
        raise settings.ConfigError("--digest-plants is for one host; leave out --hosts")
    if args.digest_plants and args.days < 30:
        raise settings.ConfigError(f"--digest-plants needs --days 30 or more (the digest's 28-day window), "
                                   f"not {args.days}")
    started = time.perf_counter()
    if args.hosts > 1:
        truth = generate_fleet(args.out, args.hosts, days=args.days, seed=args.seed, start=args.start,
                               events_per_day=args.events_per_day)
        files = sum(len(t["lines_per_file"]) for t in truth["per_host"].values())
        print(f"wrote {files} log files of {args.hosts} hosts, {sum(truth['records_per_day'].values())} firewall "
              f"events, {len(truth['horizontal_scans'])} horizontal scans over {len(truth['days'])} days to "
              f"{args.out} in {time.perf_counter() - started:.1f} s")
        return 0
    truth = generate_logs(args.out, days=args.days, seed=args.seed, start=args.start,
                          events_per_day=args.events_per_day, sources=args.sources, journal_from=args.journal_from,
                          digest_plants=args.digest_plants)
    events = sum(truth["records_per_day"].values())
    kept = [f"{len(truth['lines_per_file'])} log files"] if args.sources != "journal" else []
    kept += ["a systemd journal"] if args.sources != "text" else []
    print(f"wrote {' and '.join(kept)}, {events} firewall events over "
          f"{len(truth['days'])} days to {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


def _parse(args: argparse.Namespace) -> int:
    """Parse files/folders. A file that cannot be read stops with one line naming it (exit 1);
    unreadable paths found inside a folder and damaged compressed files are named on stderr
    (and in --summary) while the rest is parsed. Every file is read once into spill files in a
    temporary folder, then the outputs are written day by day (memory stays bounded)."""
    # Imported here: `generate` and `run` need none of the standalone parser's output code.
    from iptables_assets import parse_output
    from iptables_assets.ingest.files.finding import by_kind, find_logs
    from iptables_assets.ingest.records.firewall.parsing import DEFAULT_TRUSTED_PROGRAMS, ParseConfig, spill_logs

    # The imports (numba, polars) leave hundreds of thousands of objects that every full
    # collection would walk again during the parse (~2 % of its CPU): they live until exit.
    gc.freeze()
    tz = settings.check_timezone(args.tz, "--tz")
    trusted = tuple(p for p in args.trusted.split(",") if p) if args.trusted else DEFAULT_TRUSTED_PROGRAMS
    for path in args.paths:
        if not path.exists():
            raise settings.ConfigError(f"{str(path)!r} does not exist")
    if args.format == "parquet" and not args.output and not args.summary:
        raise settings.ConfigError("--format parquet needs -o FILE")
    blocked: list[tuple[str, str]] = []
    passed_over: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="iptables-assets-parse-") as scratch:
        try:
            files = [f for path in args.paths for f in find_logs(path, unreadable=blocked, passed_over=passed_over)]
            spilled = spill_logs(files, ParseConfig(tz=tz, trusted_programs=trusted), None, Path(scratch))
        except OSError as error:
            print(f"iptables-assets: cannot read {str(error.filename or '')!r}: {error.strerror or error}",
                  file=sys.stderr)
            return 1
        parse_output.write(spilled, args.output, args.format == "parquet", args.rejects, args.summary)
    for path, reason in {**dict(blocked), **spilled.counts.damaged_files}.items():
        print(f"iptables-assets: warning: {path}: {reason}", file=sys.stderr)
    for why, paths in by_kind(passed_over).items():
        print(f"iptables-assets: not read, {why}: {', '.join(paths)}", file=sys.stderr)
    if args.summary:
        print(json.dumps({**spilled.counts.summary(), "unreadable_paths": dict(blocked),
                          "passed_over": by_kind(passed_over)}, indent=2))
    return 0


PLANNED_EVENTS_AS_SUBSETS = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


def _run(args: argparse.Namespace) -> int:
    # Imported here: the other commands (parse, generate) need neither Dagster nor the definitions.
    from iptables_assets.defs.run.driver import run_everything

    if not args.logs.is_dir():
        raise settings.ConfigError(f"--logs {str(args.logs)!r} is not a folder (try `iptables-assets generate --out {args.logs}`)")
    os.environ.setdefault("DAGSTER_HOME", str((args.out / "dagster_home").resolve()))
    # Dagster's opt-in (dagster-io/dagster#29288, #32242): a single-run backfill records one
    # "planned" event per asset instead of one per asset and partition. Measured on a year of
    # daily partitions (13 per-day assets, SQLite instance): per-day stage 528 s -> 223 s. The
    # trade-off Dagster names: when such a run fails, its partitions show as missing rather than
    # failed in the UI (the run itself is failed, and `run` says so). =0 restores the default.
    os.environ.setdefault(PLANNED_EVENTS_AS_SUBSETS, "1")
    try:
        summary = run_everything(args.logs.resolve(), args.out.resolve(), args.first, args.last,
                                 executor=args.executor, fan_out=args.fan_out, parallel=args.parallel,
                                 settings_given=settings.assignments(args.settings))
    except CannotWrite as error:  # an output of the inventory, before any stage (a full disk)
        print(f"iptables-assets: stopped: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # the log folder itself, or the output folder, cannot be used
        print(f"iptables-assets: cannot use {str(error.filename or '')!r}: {error.strerror or error}", file=sys.stderr)
        return 1
    return 0 if summary["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
