"""The `iptables-assets` command: generate sample logs, parse logs, run the asset graph."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

from iptables_assets import settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="iptables-assets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    gen = commands.add_parser("generate", help="write a synthetic /var/log-like folder and its ground truth")
    gen.add_argument("--out", required=True, type=Path)
    gen.add_argument("--days", type=int, default=settings.SAMPLE_DAYS)
    gen.add_argument("--seed", type=int, default=settings.SAMPLE_SEED)
    gen.add_argument("--start", type=date.fromisoformat, default=settings.SAMPLE_START, help="YYYY-MM-DD")
    gen.add_argument("--events-per-day", type=int, default=2000)
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

Settings (environment variables; none is needed):
  {settings.ENV_TZ}            time zone the logs are written in (default UTC)
  {settings.ENV_START_DATE}    first daily partition (default: the first day in the logs)
  {settings.ENV_SITE_NAME}     name in titles (default {settings.DEFAULT_SITE_NAME})
  {settings.ENV_REDACT}        1: replace addresses and host names in the journal
  {settings.ENV_GEOIP_DB}      GeoIP2/GeoLite2/DB-IP country or city .mmdb (default: bundled)
  {settings.ENV_ASN_DB}        optional ASN .mmdb
  {settings.ENV_READ_RETRY_SECONDS}  first wait before a failed log read is retried (0-3600, default 20)
"""


def _generate(args: argparse.Namespace) -> int:
    from iptables_assets.sample import generate_logs

    started = time.perf_counter()
    truth = generate_logs(args.out, days=args.days, seed=args.seed, start=args.start,
                          events_per_day=args.events_per_day)
    events = sum(truth["records_per_day"].values())
    print(f"wrote {len(truth['lines_per_file'])} log files, {events} firewall events over "
          f"{len(truth['days'])} days to {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


def _parse(args: argparse.Namespace) -> int:
    """Parse files/folders. A file that cannot be read stops with one line naming it (exit 1);
    unreadable paths found inside a folder and damaged compressed files are named on stderr
    (and in --summary) while the rest is parsed. Output files are replaced atomically."""
    from iptables_assets.atomic import write_atomic
    from iptables_assets.ingest.parsing import DEFAULT_TRUSTED_PROGRAMS, ParseConfig, parse_paths

    tz = settings.check_timezone(args.tz, "--tz")
    trusted = tuple(p for p in args.trusted.split(",") if p) if args.trusted else DEFAULT_TRUSTED_PROGRAMS
    for path in args.paths:
        if not path.exists():
            raise settings.ConfigError(f"{str(path)!r} does not exist")
    blocked: list[tuple[str, str]] = []
    try:
        result = parse_paths(args.paths, ParseConfig(tz=tz, trusted_programs=trusted), unreadable=blocked)
    except OSError as error:
        print(f"iptables-assets: cannot read {str(error.filename or '')!r}: {error.strerror or error}", file=sys.stderr)
        return 1
    problems = {**dict(blocked), **result.damaged_files}
    for path, reason in problems.items():
        print(f"iptables-assets: warning: {path}: {reason}", file=sys.stderr)

    def write(target: Path, writer) -> None:
        """Regular files are replaced atomically; /dev/stdout, pipes and the like written directly."""
        if target.exists() and not target.is_file():
            writer(str(target))
        else:
            write_atomic(target, writer)

    if args.rejects:
        write(args.rejects, result.rejects.write_ndjson)
    if args.summary:
        print(json.dumps({**result.summary(), "unreadable_paths": dict(blocked)}, indent=2))
        return 0
    if args.format == "parquet":
        if not args.output:
            raise settings.ConfigError("--format parquet needs -o FILE")
        write(args.output, lambda target: result.records.write_parquet(target, compression="zstd"))
        return 0
    records = result.records.with_columns(
        result.records["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S%.6f%:z").alias("timestamp")
    )
    if args.output:
        write(args.output, records.write_ndjson)
    else:
        sys.stdout.write(records.write_ndjson())
    return 0


def _run(args: argparse.Namespace) -> int:
    from iptables_assets.runner import run_everything

    if not args.logs.is_dir():
        raise settings.ConfigError(f"--logs {str(args.logs)!r} is not a folder (try `iptables-assets generate --out {args.logs}`)")
    os.environ.setdefault("DAGSTER_HOME", str((args.out / "dagster_home").resolve()))
    try:
        summary = run_everything(args.logs.resolve(), args.out.resolve(), args.first, args.last)
    except OSError as error:  # the log folder itself, or the output folder, cannot be used
        print(f"iptables-assets: cannot use {str(error.filename or '')!r}: {error.strerror or error}", file=sys.stderr)
        return 1
    return 0 if summary["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
