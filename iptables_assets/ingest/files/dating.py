"""What dates each log file's year, and which files are copies of another (issue 22 §2).

A copy of a log elsewhere in the tree (an `archive/` folder, a log host's `remote/` folder, a
`cp` that gave it a fresh mtime and no date in its name) must add no event and no day:

- **Identical content is one file.** Files with the same decompressed content (a `.gz` and its
  plain original too) are read once: the one with the best dating evidence (then the first
  path); the inventory names the others as copies (`copy_of`) and no stage reads them.
- **A file dated only by its mtime, away from where it was written, takes its year from lines
  it shares with a dated file.** RFC 3164 lines have no year; a file with no rotation date in
  its name and no newer rotation beside it is dated by its mtime alone, which a copy made later
  moves forward by as much as it likes (a copy made a year later even looks fresh). For a file
  alone in its family, the newest of a family whose live file is missing, or one whose last
  line is more than `FAR` before its mtime, its lines (month, day, time and text: host, program, message, the kernel's uptime stamp) are
  looked up in the other files: where they appear in a file dated by better evidence, the years
  there (the most common difference) are the years here, and a copy holding part of a log
  counts as the duplicates it is.
- **Every file says what dated it** (`year_evidence`): `exact times` (ISO or journal stamps),
  `rotation date`, `newer rotation <file>`, `shared lines with <file>`, or `mtime` (with
  `, N days after its last line` when that far: the year may be too late).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Callable

import polars as pl

from iptables_assets.ingest.lines.timeline import shared_line_times
from iptables_assets.ingest.files.logfiles import LogFile
from iptables_assets.ingest.parse_config import ParseConfig

FAR = timedelta(days=7)  # an mtime this long after the file's last line is not when it was written
EXACT, ROTATION_DATE, NEWER, SHARED, MTIME = "exact times", "rotation date", "newer rotation", "shared lines", "mtime"
# Which copy of a content is read: the best dated; a file dated by the lines it shares with another
# is no better than that other (a live file beside its rotations is dated by its mtime).
_RANK = {EXACT: 0, ROTATION_DATE: 1, NEWER: 2, MTIME: 3, SHARED: 4}


def evidence(file: LogFile, year_less: int, newer: str | None, last: datetime | None) -> str:
    """What bounds the file's year (`syslog.year_anchor` takes the tightest of these bounds; the
    mtime is always one, and the only one that a copy can move): exact times if no line needs a
    year, else its rotation date, else its newer rotation, else its mtime alone."""
    if year_less == 0:
        return EXACT
    if file.rotation_date is not None:
        return f"{ROTATION_DATE} {file.rotation_date.isoformat()}"
    if newer is not None:
        return f"{NEWER} {newer}"
    gap = file.mtime_datetime - last if last is not None else timedelta(0)
    return MTIME + (f", {gap.days} days after its last line" if gap > FAR else "")


def rank(year_evidence: str | None) -> int:
    """How well a file is dated: lower is better (exact times first, a bare mtime last)."""
    text = year_evidence or MTIME
    if far_from_its_mtime(text):
        return max(_RANK.values()) + 1
    return next((value for name, value in _RANK.items() if text.startswith(name)), _RANK[MTIME])


def far_from_its_mtime(year_evidence: str | None) -> bool:
    """Dated only by an mtime that is far after its last line: the year may be too late."""
    return bool(year_evidence) and year_evidence.startswith(MTIME + ",")


def redate(frame: pl.DataFrame, files: dict[str, LogFile], config: ParseConfig,
           rescan: Callable[[LogFile, datetime], dict]) -> pl.DataFrame:
    """The inventory with each file dated only by an mtime that may not be when it was written
    (`_suspects`) re-dated by lines it shares with a better-dated file (`rescan(file, new
    anchor)` gives its row again); unchanged where no shared line is found."""
    suspect = _suspects(frame)
    if not suspect:
        return frame
    suspects = [r for r in frame.iter_rows(named=True) if r["relative"] in suspect]
    partners = [r for r in frame.iter_rows(named=True)  # a live file's mtime, near its last line, dates it too
                if r["relative"] not in suspect and r["compression"] != "journal" and r["lines"]]
    replaced = {}
    for row in suspects:
        days = _calendar_days(row)
        nearby = [p for p in partners if days & _calendar_days(p)]  # only they can share a line
        own = shared_line_times(files[row["relative"]], row["year_anchor"], None, config) if nearby else None
        if own is None or own.height == 0:
            continue
        years, partner = _years_apart(own, nearby, files, config)
        if partner is None:
            continue
        anchor = _shifted(row["year_anchor"], years)
        replaced[row["relative"]] = {**rescan(files[row["relative"]], anchor), "year_evidence": f"{SHARED} {partner}"}
    if not replaced:
        return frame
    rows = [replaced.get(r["relative"], r) for r in frame.iter_rows(named=True)]
    return pl.DataFrame(rows, schema=frame.schema)


def _suspects(frame: pl.DataFrame) -> set[str]:
    """The files whose year only their mtime gives and that are not where they were written: a
    file alone in its family, or the newest of a family whose live file is missing (a rotated
    file copied elsewhere), or any whose mtime is far after its last line; and the older
    rotations dated by one of them. (A live file beside its rotations is dated by its mtime.)"""
    rows = list(frame.iter_rows(named=True))
    members: dict[str, list[dict]] = {}
    for row in rows:
        members.setdefault(row["family"], []).append(row)
    suspect = {row["relative"] for row in rows if far_from_its_mtime(row["year_evidence"]) or (
        row["year_evidence"] == MTIME and (len(members[row["family"]]) == 1 or (
            row["rotation_index"] > 0 and all(m["rotation_index"] > 0 for m in members[row["family"]]))))}
    evidence = {row["relative"]: row["year_evidence"] or "" for row in rows}
    while True:
        more = {relative for relative, why in evidence.items()
                if why.startswith(NEWER) and why[len(NEWER) + 1:] in suspect} - suspect
        if not more:
            return suspect
        suspect |= more


def _calendar_days(row: dict) -> set[tuple[int, int]]:
    """The (month, day) pairs of a file's span: what its year-less lines can share with another."""
    if row["first_timestamp"] is None or row["last_timestamp"] is None:
        return set()
    first, last = row["first_timestamp"].date(), row["last_timestamp"].date()
    if (last - first).days >= 366:
        return {(m, d) for m in range(1, 13) for d in range(1, 32)}
    return {((first + timedelta(days=i)).month, (first + timedelta(days=i)).day) for i in range((last - first).days + 1)}


def _years_apart(own: pl.DataFrame, partners: list[dict], files: dict[str, LogFile],
                 config: ParseConfig) -> tuple[int, str | None]:
    """How many years the partner that shares most lines with `own` puts them later (or earlier),
    and that partner; (0, None) when none shares a line."""
    best: tuple[int, int, str | None] = (0, 0, None)
    wanted = own["key"].unique()
    for row in partners:
        theirs = shared_line_times(files[row["relative"]], row["year_anchor"], wanted, config)
        matched = own.join(theirs, on=["md", "key"], suffix="_theirs")
        if matched.height > best[0]:
            shifts = Counter((matched["ts_theirs"].dt.year() - matched["ts"].dt.year()).to_list())
            best = (matched.height, shifts.most_common(1)[0][0], row["relative"])
    return best[1], best[2]


def _shifted(anchor: datetime, years: int) -> datetime:
    """The anchor `years` later (Feb 29 of a common year: Feb 28)."""
    try:
        return anchor.replace(year=anchor.year + years)
    except ValueError:
        return anchor.replace(year=anchor.year + years, day=28)


def mark_copies(frame: pl.DataFrame) -> pl.DataFrame:
    """`copy_of` set on every file whose content another file has, pointing at the one read:
    the best dated, then the first by path. Empty files are no copies."""
    ranked = frame.with_columns(
        pl.col("year_evidence").map_elements(rank, return_dtype=pl.Int64).alias("__rank"),
    ).sort("__rank", "relative")
    kept = ranked.filter(pl.col("sha256").is_not_null() & (pl.col("lines") > 0)).group_by(
        "sha256", maintain_order=True).agg(pl.col("relative").first().alias("__kept"))
    marked = frame.join(kept, on="sha256", how="left").with_columns(
        pl.when(pl.col("__kept").is_not_null() & (pl.col("__kept") != pl.col("relative")))
        .then(pl.col("__kept")).alias("copy_of")
    ).drop("__kept")
    return marked.select(frame.columns)


def copies(frame: pl.DataFrame) -> dict[str, str]:
    """{copy: the file read instead} of an inventory."""
    return dict(frame.filter(pl.col("copy_of").is_not_null()).select("relative", "copy_of").iter_rows())


def dated_only_by_a_far_mtime(frame: pl.DataFrame) -> dict[str, str]:
    """{file: its evidence} of the files nothing but an mtime far after their lines dates (their
    year may be too late: no dated file shares a line with them)."""
    rows = frame.filter(pl.col("copy_of").is_null()).select("relative", "year_evidence").iter_rows()
    return {relative: why for relative, why in rows if far_from_its_mtime(why)}

