"""What a netfilter LOG prefix says was done with the packet: accept, drop, reject, audit or unknown."""

from __future__ import annotations

import polars as pl

# First match wins. Ubiquiti rule codes (A accept, D drop, R reject) come first: they beat the
# free-text description after them. Then whole words of the prefix (see `_prefix_words`), so
# `../../etc/passwd` or `BYPASS` is no accept and UFW's AUDIT is no drop. Each rule is
# (action, "code", regex on the raw prefix) or (action, "words", word forms).
ACTION_RULES = (
    ("accept", "code", r"^\[[^\]]*-(?:A-\d+|(?:\d+|default)-A)\]"),
    ("drop", "code", r"^\[[^\]]*-(?:D-\d+|(?:\d+|default)-D)\]"),
    ("reject", "code", r"^\[[^\]]*-(?:R-\d+|(?:\d+|default)-R)\]"),
    ("audit", "words", ("audit", "audits", "audited")),
    ("reject", "words", ("reject", "rejects", "rejected")),
    ("drop", "words", ("drop", "drops", "dropped", "deny", "denies", "denied", "block", "blocks", "blocked")),
    ("accept", "words", ("accept", "accepts", "accepted", "allow", "allows", "allowed", "pass", "passes",
                         "passed")),
)


def prefix_actions(prefixes: pl.Series) -> dict[str, str]:
    """Action of each distinct prefix (first matching rule of ACTION_RULES, else unknown)."""
    frame = pl.DataFrame({"prefix": prefixes.drop_nulls().unique()})
    frame = frame.with_columns(_prefix_words(pl.col("prefix")).alias("words"))
    action = pl.lit("unknown")
    for name, kind, pattern in reversed(ACTION_RULES):
        if kind == "words":
            hit = pl.col("words").str.contains(" (?:" + "|".join(pattern) + ") ")
        else:
            hit = pl.col("prefix").str.contains(pattern)
        action = pl.when(hit).then(pl.lit(name)).otherwise(action)
    return dict(frame.select("prefix", action.alias("action")).iter_rows())


def _prefix_words(prefix: pl.Expr) -> pl.Expr:
    """The prefix as lower-case words between single spaces (" iptables dropped "): words are
    split at every non-letter (`_`, `-`, `:`, digits, brackets) and at camel case
    (`IPTables` -> ip tables, `INext` -> i next), so action words match only whole."""
    camel = prefix.str.replace_all(r"([a-z])([A-Z])", "$1 $2").str.replace_all(r"([A-Z])([A-Z][a-z])", "$1 $2")
    return pl.concat_str(pl.lit(" "), camel.str.to_lowercase().str.replace_all(r"[^a-z]+", " "), pl.lit(" "))
