"""The journal's digest sections: "Today" (the newest day's findings, opening the page) and each
day's findings under "Day by day", newest first; addresses redacted when asked, as elsewhere."""

from __future__ import annotations

import polars as pl

from iptables_assets.analysis.digest import ALL, DigestRule
from iptables_assets.publish.journal import SECTIONS, Section, cell, table
from iptables_assets.publish.redaction import Redactor

# Findings whose subject is a source address (redacted like every address of the page).
ADDRESS_FINDINGS = frozenset({"new_scanner", "returning_scanner", "new_top_source"})
# Each finding in words, one and several.
FINDING_NAMES = {
    "port_surge": ("port far above its baseline", "ports far above their baselines"),
    "new_port": ("port dropped for the first time", "ports dropped for the first time"),
    "country_surge": ("country far above its baseline", "countries far above their baselines"),
    "new_scanner": ("new per-day scanner", "new per-day scanners"),
    "returning_scanner": ("returning scanner", "returning scanners"),
    "new_top_source": ("new source among the top", "new sources among the top"),
    "sshd_surge": ("kind of sshd line far above its baseline", "kinds of sshd lines far above their baselines"),
}


def rule_in_words(rule: DigestRule) -> str:
    """What the digest flags, with the thresholds in force."""
    return (f"Each day is compared with the {rule.window_days} days before it. A port, a country or an sshd kind "
            f"stands out when its count is at least {rule.min_events:,}, at least {rule.ratio:g} times its median "
            f"over those days (a day without it counts 0) and more than {rule.spread:g} deviations above it (the "
            f"median absolute deviation ×1.4826, never less than √(median + 1)). Also named: ports dropped for the "
            f"first time ({rule.new_port_min:,} drops or more), per-day scanners seen for the first time or back "
            f"after {rule.return_gap_days} days or more, and sources among the day's top {rule.top_sources} not seen "
            f"in the window. With fewer than {rule.min_history_days} earlier days nothing is flagged.")


def digest_sections(digests: pl.DataFrame, stored: list, rule: DigestRule, redactor: Redactor) -> list[Section]:
    """"Today" and "Day by day" from the digests of the `stored` days (a quiet day has no rows;
    both sections empty without a stored day)."""
    today, days = Section("today", SECTIONS["today"]), Section("digest", SECTIONS["digest"])
    if not stored:
        return [today, days]
    newest = max(stored)
    today.paragraphs.append(f"{cell(newest)}: {_summary(digests.filter(pl.col('day') == newest))}")
    today.tables.extend(_tables(digests.filter(pl.col("day") == newest), redactor, "What stands out"))
    days.paragraphs.append(rule_in_words(rule) + " Every day's findings are in exports/daily_digest.csv.")
    newest_first = sorted(stored, reverse=True)
    overview = pl.DataFrame({"day": [cell(d) for d in newest_first],
                             "in short": [_summary(digests.filter(pl.col("day") == d)) for d in newest_first]})
    days.tables.append(table("Every day, newest first", overview, limit=len(newest_first)))
    for day in newest_first:
        of_day = digests.filter(pl.col("day") == day)
        if of_day.filter(pl.col("finding") != "not_enough_history").height:
            days.tables.extend(_tables(of_day, redactor, cell(day)))
    return [today, days]


def _summary(of_day: pl.DataFrame) -> str:
    """A day's findings in a sentence."""
    waiting = of_day.filter(pl.col("finding") == "not_enough_history")
    if waiting.height:
        return _sentence(str(waiting["note"][0]))
    found = of_day.filter(pl.col("scope") == ALL)
    if found.height == 0:
        return "Nothing stands out against the days before."
    counts = found.group_by("finding").len()
    parts = [f"{n} {FINDING_NAMES[f][n > 1]}"
             for f, n in sorted(counts.iter_rows(), key=lambda r: list(FINDING_NAMES).index(r[0]))]
    return _sentence(", ".join(parts))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _tables(of_day: pl.DataFrame, redactor: Redactor, title: str):
    """A day's findings, a table per scope (all hosts first), subjects that are addresses redacted."""
    found = of_day.filter(pl.col("finding") != "not_enough_history")
    for scope in sorted(found["scope"].unique().to_list(), key=lambda s: (s != ALL, s)):
        rows = found.filter(pl.col("scope") == scope)
        subjects = [redactor.address(s) if f in ADDRESS_FINDINGS else s
                    for f, s in zip(rows["finding"].to_list(), rows["subject"].to_list())]
        shown = pl.DataFrame({"finding": [FINDING_NAMES[f][0] for f in rows["finding"].to_list()],
                              "subject": subjects, "what": rows["note"].to_list()})
        label = title if scope == ALL else f"{title}, host {redactor.host(scope)}"
        yield table(label, shown)
