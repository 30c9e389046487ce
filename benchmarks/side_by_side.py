"""Issue 14's side-by-side, in one run: the parse against simple tools, frames/s per film, the year.

Parts (`--parts`, all by default), each reusing another benchmark's measurement:

  parse   on the same generated syslog (netfilter_sample.py, `--lines`): `iptables-assets parse`
          of the plain and the gzip file, `wc -l`, `zcat | wc -l` and a one-regex-per-line Python
          loop (regex_baseline.py) on both, each a fresh process per run, interleaved;
          lines/s and the ratio to `zcat | wc -l` (parse_benchmark.py's runners).
  peers   psad (`-A` analysis mode) and fwlogwatch, when installed, on the file's first
          `--slice-lines` lines, next to `iptables-assets parse` and the regex loop on that slice.
  journal a generated host's systemd journal (`--journal-days` at `--journal-events-per-day`,
          made by `iptables-assets generate --sources journal`): `iptables-assets parse` of its
          folder against `journalctl -o export > /dev/null` and `journalctl -o json > /dev/null`
          (what the parse spawns) on the same files; entries/s and the ratio to the export's.
  frames  recoloured frames/s per film over `--frames-days` days, in one fresh process
          (frames_benchmark.py's measurement).
  year    `iptables-assets run` over generated logs of `--year-days` days at `--events-per-day`,
          per-stage seconds and the process tree's peak RSS (backfill_benchmark.py's run).

Every figure is the median of `--runs` (`--year-runs` for the year); peak RSS is the largest.
Ends with the markdown tables; `--write docs/performance.md` puts them between that page's
`<!-- performance:begin -->` and `<!-- performance:end -->` markers, replacing only the parts run
(`--write-readme` is the option's former name, from when the tables were in README.md).

    .venv/bin/python benchmarks/side_by_side.py                          # everything (long: the year)
    .venv/bin/python benchmarks/side_by_side.py --parts parse,peers --write docs/performance.md
    .venv/bin/python benchmarks/side_by_side.py --lines 20000 --runs 1 --year-days 5 --events-per-day 1000

See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from backfill_benchmark import backfill, logs_for, measured_run
from daily_benchmark import measure_daily, sample_size, table_lines
from harness import (
    CLI, WORK as WORK_ROOT, Run, load, machine_info, measure, median, package_dir, source_fingerprint, warn_if_changed,
)
from netfilter_sample import prepare, warm_cache
from parse_benchmark import run_baseline, run_parser

HERE = Path(__file__).resolve().parent
PARTS = ("parse", "peers", "journal", "daily", "frames", "year")
PARSE_GOAL = 0.5  # issue 23: parse >= 0.5x `zcat | wc -l` (gzip and plain)
YEAR_GOAL_S, YEAR_RSS_GOAL, YEAR_DAY_GOAL_S = 120.0, 2e9, 15.0
BEGIN, END = "<!-- performance:begin -->", "<!-- performance:end -->"
PART_MARK = "<!-- performance:part {} -->"


@dataclass
class Row:
    """One command measured `runs` times on `lines` input lines; `check` is its sanity verdict."""
    label: str
    lines: int
    runs: list[Run] = field(default_factory=list)
    check: str = ""

    def wall(self) -> float:
        return median(r.wall_s for r in self.runs if r.ok)

    def rate(self) -> float:
        return self.lines / self.wall() if any(r.ok for r in self.runs) else float("nan")

    def cells(self, reference: float) -> list[str]:
        good = [r for r in self.runs if r.ok]
        if not good:
            return [self.label, "failed: " + (self.runs[-1].note if self.runs else "no runs"), "", "", "", ""]
        peak = max(good, key=lambda r: r.maxrss_bytes)
        rss = f"{peak.maxrss_bytes / 1e6:,.0f} MB" if peak.own_rss() else f"≤ {peak.parent_peak_rss_bytes / 1e6:,.0f} MB"
        return [self.label, f"{self.wall():.2f} s", f"{self.rate():,.0f}", f"{self.rate() / reference:.2f}",
                f"{median(r.cpu_s for r in good):.2f} s", rss]


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table; `|` in a cell escaped."""
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"
    return [line(header), "|" + "---|" * len(header), *(line(r) for r in rows)]


def say(row: Row, run: Run) -> None:
    rss = ("" if run.own_rss() else "≤ ") + f"{run.maxrss_bytes / 1e6:,.0f} MB"
    status = f"{run.wall_s:.3f} s, CPU {run.cpu_s:.2f} s, {rss}" if run.ok else run.note
    print(f"  {row.label:<36} {status}", flush=True)


def interleaved(commands, runs: int, title: str) -> list[Row]:
    """Each (row, command) run `runs` times, one of each in turn (so load drifts hit all alike)."""
    print(f"\n{title}, {runs} run(s) each, interleaved; load average {load()}")
    for _ in range(runs):
        for row, command in commands:
            row.runs.append(command())
            say(row, row.runs[-1])
    return [row for row, _ in commands]


def regex_loop(path: Path, expected: int, count: Path) -> Run:
    """regex_baseline.py over `path` in a fresh process; it must find every netfilter line."""
    argv = [sys.executable, str(HERE / "regex_baseline.py"), str(path)]
    return run_baseline(shlex.join(argv), expected, count)


def run_tool(argv: list[str], out: Path, pattern: str, report: Path | None = None) -> Run:
    """A peer tool in a fresh process, stdout and stderr to `out`; `pattern` found in `report` (or
    `out`) is its check, kept as the run's note."""
    report = report or out
    report.unlink(missing_ok=True)
    with open(out, "wb") as handle:
        run = measure(argv, stdout=handle, stderr=subprocess.STDOUT, cwd=out.parent)
    found = re.search(pattern, report.read_text(errors="replace")) if report.exists() else None
    run.note = found.group(0) if found else f"exit {run.exit_code}, no '{pattern}' in {report}"
    run.ok = run.ok and found is not None
    return run


def dataset(args, work: Path):
    """parse_benchmark.py's input, generated (or found) by a child so this process stays small
    (its children's peak RSS is exact only above its own), then described here."""
    if measure([sys.executable, str(HERE / "parse_benchmark.py"), "--runs", "0", "--lines", str(args.lines),
                "--workdir", str(work)], stdout=subprocess.DEVNULL).exit_code:
        sys.exit("generating the input failed: run parse_benchmark.py --runs 0 to see why")
    return prepare(work, args.lines)


def parquet_rows(path: Path) -> int | None:
    """Rows of a Parquet file, counted by a child: polars would add ~30 MB to this process."""
    code = "import sys, polars as pl; print(pl.scan_parquet(sys.argv[1]).select(pl.len()).collect().item())"
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    return int(done.stdout) if done.returncode == 0 else None


# --------------------------------------------------------------------------- parts


def part_parse(args, work: Path) -> list[str]:
    data = dataset(args, work)
    warm_cache(data.plain, data.gz)
    q = shlex.quote
    commands = (
        (Row("`iptables-assets parse` plain → Parquet", data.lines),
         lambda: run_parser(data.plain, work / "sbs-plain.parquet", work / "sbs-plain.log")),
        (Row("`iptables-assets parse` gzip → Parquet", data.lines),
         lambda: run_parser(data.gz, work / "sbs-gzip.parquet", work / "sbs-gzip.log")),
        (Row("`wc -l`", data.lines), lambda: run_baseline(f"wc -l < {q(str(data.plain))}", data.lines, work / "sbs.out")),
        (Row("`zcat | wc -l`", data.lines),
         lambda: run_baseline(f"zcat {q(str(data.gz))} | wc -l", data.lines, work / "sbs.out")),
        (Row("Python, one regex a line, plain", data.lines),
         lambda: regex_loop(data.plain, data.netfilter_lines, work / "sbs.out")),
        (Row("Python, one regex a line, gzip", data.lines),
         lambda: regex_loop(data.gz, data.netfilter_lines, work / "sbs.out")),
    )
    rows = interleaved(commands, args.runs, f"[parse] {data.lines:,} lines ({data.netfilter_lines:,} netfilter)")
    for row, name in zip(rows, ("plain", "gzip")):
        records = parquet_rows(work / f"sbs-{name}.parquet")
        row.check = "OK" if records == data.netfilter_lines else f"MISMATCH: {records} records"
        print(f"  {row.label}: {records} records, expected {data.netfilter_lines:,} [{row.check}]")
    zcat = rows[3].rate()
    size = f"{data.plain.stat().st_size / 1e6:,.0f} MB plain, {data.gz.stat().st_size / 1e6:,.0f} MB gzip"
    return [f"The same generated syslog file, {data.lines:,} lines ({data.netfilter_lines:,} netfilter; {size}); "
            "each command a fresh process:", "",
            *table(["command", "wall", "lines/s", "lines/s ÷ `zcat | wc -l`'s", "CPU", "peak RSS"],
                   [row.cells(zcat) for row in rows]), "",
            "The regex loop (`benchmarks/regex_baseline.py`) keeps SRC, DST, PROTO and DPT of each netfilter line "
            "in a list: no time stamps, checks, rejects or output file, a lower bound rather than a parser. "
            "`≤`: smaller than the measuring process, so not measurable by `wait4`.", "",
            *(f"Goal (issue 23): {row.label} ≥ {PARSE_GOAL}× `zcat | wc -l`: {row.rate() / zcat:.2f}× "
              f"({'met' if row.rate() / zcat >= PARSE_GOAL else '**not met**'})." for row in rows[:2])]


def part_daily(args, work: Path) -> list[str]:
    print(f"\n[daily] the bundled sample: whole run cold and warm, one day again, a new day; {args.runs} round(s); "
          f"load average {load()}", flush=True)
    rows = measure_daily(args.runs, work / "daily", sample_size(args.daily_days, args.daily_events_per_day))
    return ["What a user waits for on the bundled sample (60 days, ~124,000 events; `make demo`'s logs): "
            "`iptables-assets run`, a fresh process each, Python start-up and Dagster's bookkeeping included "
            "(`benchmarks/daily_benchmark.py`: *fresh clone* = new output folder, Dagster home and numba cache; "
            "*again* = the same command on that output; *the last day again* = `--from D --to D` on it; "
            "*a new day* = `--from D --to D` on an output holding every day before D):", "",
            *table_lines(rows)]


def part_journal(args, work: Path) -> list[str]:
    folder = work / f"journal-{args.journal_days}d-{args.journal_events_per_day}"
    truth_file = folder / "ground_truth.json"
    if not truth_file.exists():
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([str(CLI), "generate", "--out", str(folder), "--sources", "journal", "--days",
                        str(args.journal_days), "--events-per-day", str(args.journal_events_per_day)],
                       check=True, stdout=subprocess.DEVNULL)
    events = sum(json.loads(truth_file.read_text())["records_per_day"].values())
    files = sorted(str(p) for p in folder.rglob("*.journal"))
    count = subprocess.run(["journalctl", "--no-pager", "-o", "export", *(f"--file={f}" for f in files)],
                           capture_output=True, check=True).stdout.count(b"\n__CURSOR=") + 1
    journalctl = shlex.join(["journalctl", "--no-pager", *(f"--file={f}" for f in files)])
    commands = (
        (Row("`iptables-assets parse` journal → Parquet", count),
         lambda: run_parser(folder, work / "sbs-journal.parquet", work / "sbs-journal.log")),
        (Row("`journalctl -o export > /dev/null`", count),
         lambda: measure(["sh", "-c", f"{journalctl} -o export > /dev/null"])),
        (Row("`journalctl -o json > /dev/null`", count),
         lambda: measure(["sh", "-c", f"{journalctl} -o json --all > /dev/null"])),
    )
    rows = interleaved(commands, args.runs, f"[journal] {count:,} entries ({events:,} firewall events) in "
                                            f"{len(files)} file(s)")
    records = parquet_rows(work / "sbs-journal.parquet")
    rows[0].check = "OK" if records == events else f"MISMATCH: {records} records"
    print(f"  {rows[0].label}: {records} records, expected {events:,} [{rows[0].check}]")
    size = sum(Path(f).stat().st_size for f in files) / 1e6
    return [f"A generated host's systemd journal, {count:,} entries ({events:,} firewall events; {len(files)} "
            f"file(s), {size:,.0f} MB); each command a fresh process:", "",
            *table(["command", "wall", "entries/s", "entries/s ÷ `journalctl -o export`'s", "CPU", "peak RSS"],
                   [row.cells(rows[1].rate()) for row in rows])]


def tool_version(name: str) -> str:
    """`psad v2.4.6`, `fwlogwatch 1.4`: the version line of `name -V`."""
    if not shutil.which(name):
        return name
    done = subprocess.run([name, "-V"], capture_output=True, text=True)
    found = re.search(rf"{name} v?[\d.]+", done.stdout + done.stderr)
    return found.group(0) if found else name


def psad_argv(folder: Path, log: Path) -> list[str]:
    """psad's offline analysis of `log` with a private copy of its config: its state under `folder`."""
    conf = Path("/etc/psad/psad.conf").read_text()
    settings = {"HOSTNAME": "web01", "PSAD_DIR": folder / "log", "PSAD_RUN_DIR": folder / "run",
                "PSAD_FIFO_DIR": folder / "lib", "IPT_SYSLOG_FILE": log, "ENABLE_WHOIS_LOOKUPS": "N",
                "ENABLE_DNS_LOOKUPS": "N", "ALERTING_METHODS": "noemail,nosyslog"}
    for key, value in settings.items():
        conf = re.sub(rf"^{key}\s+.*;$", f"{key}    {value};", conf, flags=re.M)
        (folder / "log" if key == "PSAD_DIR" else folder).mkdir(parents=True, exist_ok=True)
    for sub in ("run", "lib"):
        (folder / sub).mkdir(exist_ok=True)
    # The generator's prefixes instead of the default DROP.
    conf = re.sub(r"^FW_MSG_SEARCH\s+.*;$\n", "", conf, flags=re.M)
    conf += "\nFW_MSG_SEARCH    IPTables-Dropped;\nFW_MSG_SEARCH    UFW BLOCK;\n"
    (folder / "psad.conf").write_text(conf)
    return ["psad", "-c", str(folder / "psad.conf"), "-A", "-m", str(log),
            "--no-whois", "--no-rdns", "--no-netstat", "--no-fwcheck"]


def part_peers(args, work: Path) -> list[str]:
    data = dataset(args, work)
    n = min(args.slice_lines, data.lines)
    folder = work / f"slice-{n}"
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "syslog"
    with open(data.plain, "rb") as src, open(log, "wb") as dst:
        dst.writelines(itertools.islice(src, n))
    stamp = data.plain.stat().st_mtime
    os.utime(log, (stamp, stamp))  # the parser's year anchor, as for the whole file
    with open(log, "rb") as handle:
        netfilter = sum(b"SRC=" in line for line in handle)
    ours = Row("`iptables-assets parse` → Parquet", n)
    rows: list[tuple[Row, object]] = [
        (ours, lambda: run_parser(log, folder / "out.parquet", folder / "parse.log")),
        (Row("Python, one regex a line", n), lambda: regex_loop(log, netfilter, folder / "count.out"))]
    missing = []
    if shutil.which("psad"):
        rows.append((Row("psad -A (offline analysis)", n),
                     lambda: run_tool(psad_argv(folder / "psad", log), folder / "psad.out",
                                      rf"Found {netfilter} iptables log messages out of {n}\b")))
    else:
        missing.append("psad")
    if shutil.which("fwlogwatch"):
        rows.append((Row("fwlogwatch (summary)", n),
                     lambda: run_tool(["fwlogwatch", "-c", "/dev/null", "-P", "n", "-o", str(folder / "fw.txt"), str(log)],
                                      folder / "fwlogwatch.out", rf"\b{netfilter} of {n} entries", folder / "fw.txt")))
    else:
        missing.append("fwlogwatch")
    print(f"\n[peers] the first {n:,} lines ({netfilter:,} netfilter); not installed: {', '.join(missing) or 'none'}")
    for _ in range(args.runs):
        for row, command in rows:
            row.runs.append(command())
            say(row, row.runs[-1])
    for row, _ in rows[2:]:
        note = next((r.note for r in row.runs if r.ok), row.runs[-1].note if row.runs else "")
        print(f"  {row.label}: {note} (expected {netfilter:,} of {n:,})")
    reference = ours.rate()
    lines = [f"The first {n:,} lines of that file ({netfilter:,} netfilter); each tool a fresh process, "
             "÷ our parse:", "",
             *table(["tool", "wall", "lines/s", "lines/s ÷ our parse's", "CPU", "peak RSS"],
                    [row.cells(reference) for row, _ in rows])]
    if len(rows) > 2:
        lines += ["", f"{tool_version('psad')} `-A -m FILE`: offline analysis (parses, matches its signatures, "
                  f"assigns danger levels, prints a report), with a private copy of its config. "
                  f"{tool_version('fwlogwatch')} `-P n`: netfilter parser, default summary written to a file. "
                  "Each run counted; a row whose tool did not report every netfilter line of the slice is failed."]
    if missing:
        lines += ["", f"Not installed here: {', '.join(missing)}."]
    return lines


def frames_child(days: int, runs: int) -> None:
    """In a fresh process: recoloured frames/s per film and its static part's seconds, as JSON."""
    import io

    from frames_benchmark import FIRST, FILMS, day_counts, frames_per_second, recoloured_frame, static_part_seconds
    from PIL import Image

    result = {}
    for name in FILMS:
        static = static_part_seconds(name, runs)
        fps, times = frames_per_second(recoloured_frame, name, days, runs)
        size = Image.open(io.BytesIO(recoloured_frame(name, day_counts(name, 0), FIRST))).size
        result[name] = {"fps": fps, "times": times, "static_s": median(static), "size": list(size)}
        print(f"  {name}: {fps:.1f} frames/s (runs s: {[round(t, 2) for t in times]}), static part {median(static):.2f} s",
              flush=True)
    print(json.dumps(result))


def part_frames(args, work: Path) -> list[str]:
    print(f"\n[frames] recoloured frames over {args.frames_days} days per film, {args.runs} run(s), one fresh process; "
          f"load average {load()}", flush=True)
    out = work / "frames.out"
    with open(out, "w") as handle:
        run = measure([sys.executable, __file__, "--frames-child", "--frames-days", str(args.frames_days),
                       "--runs", str(args.runs)], stdout=handle)
    text = out.read_text()
    print(text.rsplit("\n", 2)[0])
    if not run.ok:
        return [f"frames: failed (exit {run.exit_code}), see {out}"]
    films = json.loads(text.strip().splitlines()[-1])
    rows = [[name, "×".join(map(str, f["size"])), f"{f['fps']:.1f}", f"{f['static_s']:.2f} s"] for name, f in films.items()]
    return [f"Animation frames recoloured from the film's static part, {args.frames_days} days a film, PNG written "
            f"in memory; one process, peak RSS {run.maxrss_bytes / 1e6:,.0f} MB:", "",
            *table(["film", "pixels", "frames/s", "static part drawn once"], rows)]


def part_year(args, work: Path) -> list[str]:
    runs = args.year_runs if args.year_runs is not None else args.runs
    print(f"\n[year] `iptables-assets run` over {args.year_days} days x {args.events_per_day:,} events, "
          f"{runs} run(s); load average {load()}", flush=True)
    results = []
    for _ in range(runs):
        results.append(backfill(args.year_days, args.events_per_day, args.seed))
        r = results[-1]
        print(f"  {'ok' if r['ok'] else 'FAILED (' + r['log'] + ')'}: {r['wall_s']:.1f} s, "
              f"{r['peak_rss'] / 1e6:,.0f} MB, {r['events']:,} events, stages {r['stages']}", flush=True)
    good = [r for r in results if r["ok"]] or results
    stages = list(dict.fromkeys(name for r in good for name in r["stages"]))
    wall = median(r["wall_s"] for r in good)
    events = median(r["events"] for r in good)
    rows = [[name, f"{median(r['stages'][name] for r in good if name in r['stages']):.1f} s"] for name in stages]
    rows.append(["**whole run** (fresh process, Python start-up included)", f"**{wall:.1f} s**"])
    last = good[-1]
    day = re.search(r"days (\S+)\.\.(\S+) in the logs", Path(last["log"]).read_text())
    again = measured_run(logs_for(args.year_days, args.events_per_day, args.seed), "year-last-day",
                         args=("--from", day.group(2), "--to", day.group(2)), out=Path(last["out"])) if day else None
    peak = max(r["peak_rss"] for r in good)
    goals = [f"whole run < {YEAR_GOAL_S:.0f} s: {'met' if wall < YEAR_GOAL_S else '**not met**'}",
             f"peak RSS < {YEAR_RSS_GOAL / 1e9:.0f} GB: {'met' if peak < YEAR_RSS_GOAL else '**not met**'}"]
    if again and again["ok"]:
        rows.append([f"the last day again on that output (`--from {day.group(2)} --to {day.group(2)}`)",
                     f"{again['wall_s']:.1f} s"])
        goals.append(f"a day on the year's output < {YEAR_DAY_GOAL_S:.0f} s: "
                     f"{'met' if again['wall_s'] < YEAR_DAY_GOAL_S else '**not met**'}")
    failed = len(results) - sum(r["ok"] for r in results)
    return [f"The year end to end: `iptables-assets run` over generated logs of {args.year_days} days "
            f"({args.events_per_day:,} events a day, {events:,.0f} events), fresh output folder and instance; "
            f"{events / wall:,.0f} events/s, peak RSS of the process tree "
            f"{max(r['peak_rss'] for r in good) / 1e6:,.0f} MB" + (f"; {failed} run(s) FAILED" if failed else "") + ":",
            "", *table(["stage", "seconds"], rows), "", "Goals (issue 23): " + "; ".join(goals) + "."]


# --------------------------------------------------------------------------- report


def write_performance(path: Path, sections: dict[str, list[str]]) -> None:
    """Replace the parts just measured between the page's markers; keep the other parts' text."""
    text = path.read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"{path}: no {BEGIN} ... {END} markers")
    head, rest = text.split(BEGIN, 1)
    block, tail = rest.split(END, 1)
    pieces = re.split(r"(?m)^<!-- performance:part (\w+) -->\n", block)  # [text before, name, body, name, body…]
    old = dict(zip(pieces[1::2], pieces[2::2]))
    new = {name: "\n".join(lines) + "\n\n" for name, lines in sections.items()}
    merged = "".join(PART_MARK.format(name) + "\n" + (new.get(name) or old[name])
                     for name in PARTS if name in new or name in old)
    path.write_text(f"{head}{BEGIN}\n{merged}{END}{tail}")
    print(f"\nwrote {', '.join(new)} into {path}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    ap.add_argument("--runs", type=int, default=3, help="runs per command; medians")
    ap.add_argument("--lines", type=int, default=1_000_000, help="lines of the generated syslog file (parse, peers)")
    ap.add_argument("--slice-lines", type=int, default=100_000, help="the peers' slice of that file")
    ap.add_argument("--journal-days", type=int, default=60, help="days of the generated journal")
    ap.add_argument("--journal-events-per-day", type=int, default=10_000)
    ap.add_argument("--daily-days", type=int, help="daily: a smaller sample, `generate --days N` (default: the "
                    "bundled sample)")
    ap.add_argument("--daily-events-per-day", type=int, help="daily: with --daily-days, `generate --events-per-day`")
    ap.add_argument("--frames-days", type=int, default=365, help="recoloured frames per film per run")
    ap.add_argument("--year-days", type=int, default=365)
    ap.add_argument("--events-per-day", type=int, default=25_000)
    ap.add_argument("--seed", type=int, default=3, help="of the year's generated logs")
    ap.add_argument("--year-runs", type=int, help="runs of the year (default: --runs)")
    ap.add_argument("--workdir", type=Path, default=WORK_ROOT, help="git-ignored")
    ap.add_argument("--write", "--write-readme", dest="write", type=Path, metavar="PAGE",
                    help="replace the parts run in its performance block (docs/performance.md)")
    ap.add_argument("--frames-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.frames_child:
        frames_child(args.frames_days, args.runs)
        return 0
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if unknown := set(parts) - set(PARTS):
        ap.error(f"unknown parts: {', '.join(sorted(unknown))}")
    if not CLI.exists():
        sys.exit(f"console script not found: {CLI} (is the project installed in this venv?)")
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    machine = machine_info("dagster", "matplotlib")
    print("\n".join(machine) + f"\niptables_assets imported from {package_dir()}\nload average before: {load()}")
    fingerprint = source_fingerprint()
    command = "benchmarks/side_by_side.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    runners = {"parse": part_parse, "peers": part_peers, "journal": part_journal, "daily": part_daily,
               "frames": part_frames, "year": part_year}
    stamp = f"Measured {time.strftime('%Y-%m-%d')} with `{command}`, medians of {args.runs} run(s)"
    sections = {}
    for name in (p for p in PARTS if p in parts):
        started = time.perf_counter()
        body = runners[name](args, work)
        sections[name] = [*body, "", f"{stamp}, load average after {load()} (the part took "
                          f"{time.perf_counter() - started:.0f} s). " + "; ".join(machine) + "."]
    print("\n" + "=" * 100 + "\n")
    for lines in sections.values():
        print("\n".join(lines) + "\n")
    if args.write:
        write_performance(args.write, sections)
    warn_if_changed(fingerprint)
    return 0


if __name__ == "__main__":
    sys.exit(main())
