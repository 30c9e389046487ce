"""What changed today: a day's counts against the trailing weeks' (plain polars).

A count stands out when it is far above its own baseline, robustly: the baseline of a port (a
country, an sshd kind) is the median of its daily counts over the window's days (a day without
it counts 0), its spread the median absolute deviation (MAD, ×1.4826 to be comparable to a
standard deviation) but never below the Poisson noise of the median, √(median + 1). A count c
with median m and spread s is a surge when

    c ≥ min_events  and  c ≥ ratio · m  and  c − m > spread · s

so a steady port does not surge by its own noise, a quiet one needs a real number of packets,
and one outlier in the window moves neither the median nor the MAD. Besides surges the digest
names ports dropped for the first time (with at least `new_port_min` drops: a single probe of a
random high port is not news), per-day scanners seen for the first time or back after
`return_gap_days` days or more without a scan, and sources new among the day's top `top_sources`
(not seen in the window, and with at least `min_events` drops). With fewer than
`min_history_days` earlier days in the window it says so (`not_enough_history`) and flags
nothing: every count would be new.

Each finding keeps its numbers (today's count, the baseline's median and MAD, the days it was
computed from) and a note without the subject (an address or a port), so the journal can name
the subject as it names it elsewhere (redacted or not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from iptables_assets import tables

ALL = "all"  # the scope of findings about every host (the only scope of a single host)
FINDINGS = ("not_enough_history", "port_surge", "new_port", "country_surge", "new_scanner", "returning_scanner",
            "new_top_source", "sshd_surge")
COLUMNS = tables.schema("daily_digest")


@dataclass(frozen=True)
class DigestRule:
    """The thresholds of the digest (settings: `digest_*`)."""

    window_days: int = 28
    min_history_days: int = 7
    min_events: int = 50
    ratio: float = 3.0
    spread: float = 4.0
    new_port_min: int = 10
    return_gap_days: int = 7
    top_sources: int = 5

    def is_surge(self, count: float, median: float, mad: float) -> bool:
        """The rule of the module doc for one count."""
        noise = max(1.4826 * mad, math.sqrt(median + 1))
        return count >= self.min_events and count >= self.ratio * median and count - median > self.spread * noise


@dataclass(frozen=True)
class History:
    """What a day is compared with: the stored days up to it, and the daily tables of those days
    (the window is cut from them), each with `day` and `host`; sshd events as counts per day,
    host and kind."""

    days: list[date]
    port_counts: pl.DataFrame  # day, host, proto, dst_port, events
    country_counts: pl.DataFrame  # day, host, country_code, country_name, events
    source_summary: pl.DataFrame  # day, host, src_ip, country_code, packets
    port_scans: pl.DataFrame  # day, host, src_ip, country_code, distinct_ports
    sshd_kinds: pl.DataFrame  # day, host, kind, events


def sshd_kind_counts(events: pl.DataFrame) -> pl.DataFrame:
    """sshd events per day, host and kind (what the digest compares)."""
    return (events.group_by(pl.col("timestamp").dt.date().alias("day"), "host", "kind")
            .agg(pl.len().cast(pl.Int64).alias("events")))


def digest(day: date, history: History, rule: DigestRule = DigestRule()) -> pl.DataFrame:
    """The findings of `day` (its rows are in `history` too), for all hosts and, with more than
    one host, for each; sorted by scope, finding and how far each stands out."""
    return digests([day], history, rule)[day]


def digests(days: list[date], history: History, rule: DigestRule = DigestRule()) -> dict[date, pl.DataFrame]:
    """`digest` of each of `days`, the history prepared once (a backfill's days cost a window's
    work each, not a whole history's)."""
    hosts_of = {d: sorted(h for h in hs if h) for d, hs in history.port_counts.group_by("day").agg(
        pl.col("host").unique()).iter_rows()}
    scopes = {day: [ALL, *(hosts_of.get(day, []) if len(hosts_of.get(day, [])) > 1 else [])] for day in days}
    needed = (min(days) - timedelta(days=rule.window_days), max(days))
    prepared = {scope: _Prepared.of(_scoped(history, scope), needed)
                for scope in dict.fromkeys(s for day in days for s in scopes[day])}
    return {day: pl.concat([_findings(day, prepared[scope], scope, rule) for scope in scopes[day]], how="vertical")
            for day in days}


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=COLUMNS)


def _scoped(history: History, scope: str) -> History:
    """`history` of one host, or of all hosts (their counts added up)."""
    def one(frame: pl.DataFrame, key: list[str], total: pl.Expr, first: tuple[str, ...] = ()) -> pl.DataFrame:
        if scope != ALL:
            return frame.filter(pl.col("host") == scope)
        return frame.group_by("day", *key).agg(total, *(pl.col(c).first() for c in first))

    return History(
        days=history.days,
        port_counts=one(history.port_counts, ["proto", "dst_port"], pl.col("events").sum()),
        country_counts=one(history.country_counts, ["country_code"], pl.col("events").sum(), ("country_name",)),
        source_summary=one(history.source_summary, ["src_ip"], pl.col("packets").sum(), ("country_code",)),
        # a scan is one source reaching many ports of one host: across hosts, its largest
        port_scans=one(history.port_scans, ["src_ip"], pl.col("distinct_ports").max(), ("country_code",)),
        sshd_kinds=one(history.sshd_kinds, ["kind"], pl.col("events").sum()),
    )


_DAILY = ("port_counts", "country_counts", "source_summary", "sshd_kinds")


@dataclass
class _Prepared:
    """One scope's history, once: each table by day, the first day of every port, each day's
    scanners with the day of their scan before, the countries' names."""

    days: list[date]
    by_day: dict[str, dict[date, pl.DataFrame]]
    empty: dict[str, pl.DataFrame]
    port_first_day: pl.DataFrame  # proto, dst_port, first
    scans: pl.DataFrame  # day, src_ip, distinct_ports, previous
    country_names: dict

    @classmethod
    def of(cls, history: History, needed: tuple[date, date]) -> "_Prepared":
        """Prepared for the days `needed` (the digests' days and their windows)."""
        tables = {name: getattr(history, name).filter(pl.col("day").is_between(*needed)) for name in _DAILY}
        by_day = {name: {d: f for (d,), f in frame.partition_by("day", as_dict=True).items()}
                  for name, frame in tables.items()}
        ports = history.port_counts.filter(pl.col("dst_port").is_not_null())
        scans = (history.port_scans.group_by("day", "src_ip").agg(pl.col("distinct_ports").max()).sort("src_ip", "day")
                 .with_columns(pl.col("day").shift(1).over("src_ip").alias("previous")))
        names = dict(tables["country_counts"].select("country_code", "country_name").unique("country_code").iter_rows())
        return cls(sorted(set(history.days)), by_day, {name: frame.clear() for name, frame in tables.items()},
                   ports.group_by("proto", "dst_port").agg(pl.col("day").min().alias("first")), scans, names)

    def today(self, name: str, day: date) -> pl.DataFrame:
        return self.by_day[name].get(day, self.empty[name])

    def window(self, name: str, days: list[date]) -> pl.DataFrame:
        frames = [self.by_day[name][d] for d in days if d in self.by_day[name]]
        return pl.concat(frames) if frames else self.empty[name]


def _findings(day: date, history: _Prepared, scope: str, rule: DigestRule) -> pl.DataFrame:
    start = day - timedelta(days=rule.window_days)
    window_days = [d for d in history.days if start <= d < day]
    if len(window_days) < rule.min_history_days:
        note = (f"{len(window_days)} earlier day{'s' if len(window_days) != 1 else ''} in the last {rule.window_days}, "
                f"{rule.min_history_days} needed: not enough history yet, nothing is flagged")
        return _rows(day, scope, [("not_enough_history", "", 0, None, None, note)], len(window_days))

    def surges(name, key, value, finding, subject, unit, exclude=None):
        return _surges(history.today(name, day), history.window(name, window_days), key, value, window_days, rule,
                       finding, subject, unit, exclude)

    new_ports = _new_port_keys(day, history, rule)
    names = history.country_names
    found = [
        *surges("port_counts", ["proto", "dst_port"], "events", "port_surge", _port, "drops", exclude=new_ports),
        *_new_ports(new_ports),
        *surges("country_counts", ["country_code"], "events", "country_surge",
                lambda row: f"{row['country_code']} ({names.get(row['country_code']) or 'unknown'})", "drops"),
        *_scanners(day, history.scans, rule),
        *_new_top_sources(history.today("source_summary", day), history.window("source_summary", window_days),
                          len(window_days), rule),
        *surges("sshd_kinds", ["kind"], "events", "sshd_surge", lambda row: row["kind"], "lines"),
    ]
    return _rows(day, scope, found, len(window_days))


def _rows(day: date, scope: str, found: list[tuple], history_days: int) -> pl.DataFrame:
    rows = [{"day": day, "scope": scope, "finding": f, "subject": s, "events": int(n), "baseline_median": m,
             "baseline_mad": d, "history_days": history_days, "note": note} for f, s, n, m, d, note in found]
    return pl.DataFrame(rows, schema=COLUMNS)


def _baselines(window: pl.DataFrame, key: list[str], value: str, days: int) -> pl.DataFrame:
    """Per key seen in the window: the median and MAD of its daily counts (0 on window days without it)."""
    window = window.group_by(key).agg(pl.col(value).alias("counts"))
    zeros = pl.lit(0, dtype=pl.Int64).repeat_by(days - pl.col("counts").list.len())
    counts = pl.concat_list(pl.col("counts").cast(pl.List(pl.Int64)), zeros)
    window = window.with_columns(counts.alias("counts")).with_columns(pl.col("counts").list.median().alias("median"))
    deviations = pl.col("counts").list.eval((pl.element() - pl.element().median()).abs()).list.median()
    return window.with_columns(deviations.alias("mad")).select(*key, "median", "mad")


def _surges(today, window, key, value, window_days, rule, finding, name, unit, exclude=None) -> list[tuple]:
    today = today.group_by(key).agg(pl.col(value).sum()).filter(pl.col(value) >= rule.min_events)
    if exclude is not None and exclude.height:
        today = today.join(exclude.select(key), on=key, how="anti", nulls_equal=True)
    if today.height == 0:
        return []
    found = today.join(_baselines(window, key, value, len(window_days)), on=key, how="left",
                       nulls_equal=True).with_columns(pl.col("median").fill_null(0.0), pl.col("mad").fill_null(0.0))
    out = []
    for row in found.iter_rows(named=True):
        if rule.is_surge(row[value], row["median"], row["mad"]):
            note = (f"{row[value]:,} {unit}; median of the {len(window_days)} days before {_number(row['median'])} "
                    f"(MAD {_number(row['mad'])})")
            out.append((finding, name(row), row[value], row["median"], row["mad"], note))
    return sorted(out, key=lambda f: -(f[2] - f[3]))


def _new_port_keys(day: date, history: _Prepared, rule: DigestRule) -> pl.DataFrame:
    """(proto, dst_port, events) dropped today at least `new_port_min` times and on no earlier day."""
    today = history.today("port_counts", day).filter(pl.col("dst_port").is_not_null()).group_by(
        "proto", "dst_port").agg(pl.col("events").sum())
    firsts = history.port_first_day.filter(pl.col("first") == day).select("proto", "dst_port")
    return today.filter(pl.col("events") >= rule.new_port_min).join(firsts, on=["proto", "dst_port"], how="semi")


def _new_ports(new: pl.DataFrame) -> list[tuple]:
    new = new.sort("events", "dst_port", descending=[True, False])
    return [("new_port", _port(row), row["events"], None, None, f"{row['events']:,} drops, never dropped before")
            for row in new.iter_rows(named=True)]


def _scanners(day: date, scans: pl.DataFrame, rule: DigestRule) -> list[tuple]:
    """Today's per-day scanners seen for the first time, or back after `return_gap_days` or more."""
    out = []
    for row in scans.filter(pl.col("day") == day).sort("distinct_ports", "src_ip",
                                                       descending=[True, False]).iter_rows(named=True):
        ports = f"{row['distinct_ports']:,} ports"
        if row["previous"] is None:
            out.append(("new_scanner", row["src_ip"], row["distinct_ports"], None, None,
                        f"scanned {ports}: its first scan seen"))
        elif (gap := (day - row["previous"]).days) >= rule.return_gap_days:
            out.append(("returning_scanner", row["src_ip"], row["distinct_ports"], None, None,
                        f"scanned {ports}: back after {gap} days (last scan {row['previous']})"))
    return out


def _new_top_sources(today: pl.DataFrame, window: pl.DataFrame, window_days: int, rule: DigestRule) -> list[tuple]:
    today = today.group_by("src_ip").agg(pl.col("packets").sum())
    top = today.sort("packets", "src_ip", descending=[True, False]).head(rule.top_sources).with_row_index("rank", 1)
    top = top.filter(pl.col("packets") >= rule.min_events)
    new = top.join(window.select("src_ip").unique(), on="src_ip", how="anti").sort("rank")
    return [("new_top_source", row["src_ip"], row["packets"], None, None,
             f"{row['packets']:,} drops, #{row['rank']} today, not seen in the {window_days} days before")
            for row in new.iter_rows(named=True)]


def _port(row: dict) -> str:
    return f"{row['dst_port']}/{row['proto']}" if row["dst_port"] is not None else str(row["proto"])


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
