"""The daily digest and the source pages on an existing output folder: seconds for one day's
digest and for the last N days', and for choosing and writing the source pages (default 100),
medians of `--runs` (the package's own functions, as the assets call them, without Dagster).

    .venv/bin/python benchmarks/digest_benchmark.py --out data/out --runs 3
    .venv/bin/python benchmarks/digest_benchmark.py --out benchmarks/_work/backfill/out-365d   # a year

Prints one `RESULT {json}` line last. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from harness import machine_info, timed
from iptables_assets.analysis import digest
from iptables_assets.defs.digest import WINDOW_TABLES, history_for
from iptables_assets.publish import source_pages


def _days(out: Path, name: str) -> dict[str, pl.LazyFrame]:
    return {p.stem: pl.scan_parquet(p) for p in sorted((out / name).glob("*.parquet"))}


def digests(out: Path, days: list[date]) -> int:
    rule = digest.DigestRule()
    history = history_for(days, rule, *(_days(out, name) for name in WINDOW_TABLES))  # as the asset reads
    return sum(frame.height for frame in digest.digests(days, history, rule).values())


def pages(out: Path, limit: int, folder: Path) -> int:
    summaries = _days(out, "daily_source_summary")
    drops = pl.concat([f.select("src_ip", "packets") for f in summaries.values()]).collect().group_by("src_ip").agg(
        pl.col("packets").sum())
    scans, longterm = pl.read_parquet(out / "port_scans.parquet"), pl.read_parquet(out / "longterm_port_scans.parquet")
    chosen = source_pages.choose(drops, scans, longterm, pl.read_parquet(out / "sshd_top_sources.parquet"), limit)
    wanted = chosen["src_ip"].implode()
    columns = ["day", "host", "src_ip", "packets", "dst_ports", "country_code", "country_name", "first_seen",
               "last_seen"]
    days = pl.concat([f.select(columns).filter(pl.col("src_ip").is_in(wanted)) for f in summaries.values()]).collect()
    sshd = pl.concat([f.select("src_ip", "kind").filter(pl.col("src_ip").is_in(wanted))
                      for f in _days(out, "sshd_events").values()]).collect()
    keys = sorted(summaries)
    views = source_pages.views(chosen, days, scans, longterm, sshd, (date.fromisoformat(keys[0]),
                                                                    date.fromisoformat(keys[-1])))
    site = source_pages.PageSite("example.org", False, ("example.org",), "disclaimer", ("credits",),
                                 datetime.now(timezone.utc))
    redactor = source_pages.redactor_for(site, chosen)
    for view in views:
        (folder / f"{view.rank:03d}.html").write_text(source_pages.render(view, site, redactor))
    return len(views)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("data/out"), help="an output folder of `iptables-assets run`")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--days", type=int, default=30, help="the last N days' digests, as a backfill makes them")
    parser.add_argument("--pages", type=int, default=100)
    args = parser.parse_args(argv)
    stored = sorted(date.fromisoformat(p.stem) for p in (args.out / "daily_port_counts").glob("*.parquet"))
    if not stored:
        parser.error(f"{args.out} holds no daily tables: run `iptables-assets run` first")
    one, _, _ = timed(lambda: digests(args.out, stored[-1:]), args.runs)
    many, _, _ = timed(lambda: digests(args.out, stored[-args.days:]), args.runs)
    with tempfile.TemporaryDirectory() as folder:
        seconds, written, _ = timed(lambda: pages(args.out, args.pages, Path(folder)), args.runs)
    result = {"stored_days": len(stored), "digest_one_day_s": round(one, 3), "digest_days": min(args.days, len(stored)),
              "digest_days_s": round(many, 3), "source_pages": written, "source_pages_s": round(seconds, 3)}
    for line in machine_info("polars"):
        print(line)
    print(f"{len(stored)} stored days: one day's digest {one:.2f} s, the last {result['digest_days']} days' "
          f"{many:.2f} s; {written} source pages chosen and written in {seconds:.2f} s (medians of {args.runs})")
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
