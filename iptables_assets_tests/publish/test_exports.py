"""Exports safe to open and to read: formula-like CSV cells neutralised, long attacker text cut
where it is shown (CSV, journal), every value kept as it is in Parquet."""

import csv
import io
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from iptables_assets.defs.exports import export_table
from iptables_assets.defs.resources import OutputFolder
from iptables_assets.publish.exports import FORMULA_STARTS, csv_frame, cut_text
from iptables_assets.publish.redaction import Redactor

HOSTILE = ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(1)", "\tx", "\rx", "normal text"]
NEUTRALISED = ["'=cmd|' /C calc'!A0", "'+1", "'-2", "'@SUM(1)", "'\tx", "'\rx", "normal text"]


def _read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _export(folder: str, frame: pl.DataFrame, name: str = "t") -> tuple[list[dict], pl.DataFrame]:
    export_table(OutputFolder(base_path=folder), name, frame)
    exports = Path(folder) / "exports"
    assert not [p.name for p in exports.iterdir() if p.name.startswith(".")]  # no temporary left behind
    return _read_csv(exports / f"{name}.csv"), pl.read_parquet(exports / f"{name}.parquet")


def test_formula_cells_are_neutralised_in_csv_and_raw_in_parquet(tmp_path):
    frame = pl.DataFrame({
        "text": HOSTILE,
        "number": [-5, 1, -2, 3, 4, 5, 6],
        "ratio": [-0.5, 0.0, 1.5, 2.0, 3.0, 4.0, 5.0],
        "users": [["-x", "ok"], ["=1"], [], None, ["@a"], ["b"], ["c"]],
    })
    rows, parquet = _export(str(tmp_path), frame)
    assert [r["text"] for r in rows] == NEUTRALISED
    assert [r["number"] for r in rows] == ["-5", "1", "-2", "3", "4", "5", "6"]  # numbers stay numbers
    assert rows[0]["ratio"] == "-0.5"
    assert [r["users"] for r in rows] == ["'-x ok", "'=1", "", "", "'@a", "b", "c"]
    assert parquet.equals(frame)  # Parquet keeps every value as it was


def test_long_text_is_cut_in_csv_and_kept_in_parquet(tmp_path):
    prefix = "Bad protocol version identification '"
    line = prefix + "A" * (10_485_760 - len(prefix))
    assert len(line) == 10_485_760
    ports = list(range(1, 5001))  # a long list of numbers is data, never cut
    frame = pl.DataFrame({"message": [line, "short"], "users": [["u" * 400, "root"], ["admin"]],
                          "dst_ports": [ports, [22]]})
    rows, parquet = _export(str(tmp_path), frame)
    assert rows[0]["message"] == line[:300] + " … [cut, 10,485,760 characters]"
    assert rows[1]["message"] == "short"
    assert rows[0]["users"] == "u" * 300 + " … [cut, 400 characters] root"
    assert rows[0]["dst_ports"] == " ".join(map(str, ports))
    assert parquet["message"][0] == line and parquet["dst_ports"][0].to_list() == ports


def test_empty_frames_export(tmp_path):
    rows, parquet = _export(str(tmp_path), pl.DataFrame(schema={"a": pl.String, "n": pl.Int64}))
    assert rows == [] and parquet.columns == ["a", "n"]


@settings(max_examples=150, deadline=None)
@given(cells=st.lists(st.text(max_size=40), min_size=1, max_size=8), numbers=st.integers(-10**6, 10**6))
def test_no_csv_string_cell_begins_with_a_dangerous_character(cells, numbers):
    frame = pl.DataFrame({"text": cells, "list": [[c, c] for c in cells], "number": [numbers] * len(cells)})
    with tempfile.TemporaryDirectory() as folder:
        rows, parquet = _export(folder, frame)
    assert len(rows) == len(cells)
    for row in rows:
        for column in ("text", "list"):
            assert not row[column].startswith(FORMULA_STARTS), row
        assert row["number"] == str(numbers)
    assert parquet["text"].to_list() == cells


def test_csv_frame_leaves_non_strings_alone():
    frame = pl.DataFrame({"n": [-1], "flag": [True], "s": ["-1"]})
    assert csv_frame(frame).to_dicts() == [{"n": -1, "flag": True, "s": "'-1"}]
    buffer = io.BytesIO()
    csv_frame(frame).write_csv(buffer)
    assert buffer.getvalue().decode() == "n,flag,s\n-1,true,'-1\n"


def test_cut_text_exact():
    assert cut_text(None) is None
    assert cut_text("x" * 300) == "x" * 300
    assert cut_text("x" * 301) == "x" * 300 + " … [cut, 301 characters]"
    assert cut_text("abcdef", limit=3) == "abc … [cut, 6 characters]"


def test_cut_text_redacts_before_cutting_and_only_a_window_of_huge_text():
    redact = Redactor(True).text
    assert cut_text("a 1.2.3.4 b", limit=8, transform=redact) == "a [IP-1] … [cut, 11 characters]"
    exploded = "2001:0db8:0000:0000:0000:0000:0000:0001"  # 39 characters, shown as its 6-character pseudonym
    assert cut_text(exploded, limit=10, transform=redact) == "[IP-2]"
    # a huge text: the transform sees a window of it (64 x the limit), the marker the full length
    assert cut_text("y" * 10_485_760, transform=lambda t: f"<{len(t)}>") == "<19200> … [cut, 10,485,760 characters]"


def test_cut_never_shows_an_address_split_by_the_window():
    """Exploded IPv6 addresses shrink 6.5-fold when redacted: what is shown still comes from text
    that was redacted whole."""
    address = "2001:0db8:85a3:0000:0000:8a2e:0370:7334 "
    text = address * 2000
    shown = cut_text(text, transform=Redactor(True).text)
    assert shown == ("[IP-1] " * 43)[:300] + f" … [cut, {len(text):,} characters]"
