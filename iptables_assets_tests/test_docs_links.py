"""The README and the pages under docs/ link to each other: every relative link names a file that
exists and, with a `#fragment`, a heading of that file (GitHub's anchors), so the docs cannot rot
when a page or a heading moves. A fast unit test: reads markdown only."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted([REPO / "README.md", REPO / "benchmarks" / "README.md", *(REPO / "docs").glob("*.md")])

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
_CODE = re.compile(r"(`+).*?\1", re.S)
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
_HTML_ID = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")


def _prose(text: str) -> str:
    """The text without fenced code blocks and inline code (links there are not links)."""
    text = _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return _CODE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: inline markup dropped, lower case, punctuation removed
    (letters, digits, `_`, `-` and spaces kept), spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
    text = re.sub(r"<[^>]+>", "", text).lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LMN")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor of a markdown file: its headings' slugs (repeats numbered -1, -2 …) and
    explicit `<a name=…>` / `<a id=…>`."""
    text = path.read_text()
    text_outside_fences = _FENCE.sub("", text)
    seen: dict[str, int] = {}
    found = set(_HTML_ID.findall(text))
    for _, title in _HEADING.findall(text_outside_fences):
        base = slug(title)
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def broken_links(page: Path) -> list[str]:
    """The relative links of `page` whose file or anchor does not exist."""
    broken = []
    for target in _LINK.findall(_prose(page.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto: …
            continue
        path_part, _, fragment = target.partition("#")
        file = (page.parent / path_part).resolve() if path_part else page
        shown = file.relative_to(REPO) if file.is_relative_to(REPO) else file
        if not file.exists():
            broken.append(f"{target}: no file {shown}")
        elif fragment and file.suffix == ".md" and fragment not in anchors(file):
            broken.append(f"{target}: no heading with anchor #{fragment} in {shown}")
    return broken


def test_slugs_are_githubs():
    assert slug("The daily run: where the seconds go") == "the-daily-run-where-the-seconds-go"
    assert slug("Fleets: many hosts on a central log host") == "fleets-many-hosts-on-a-central-log-host"
    assert slug("`log_file_inventory` — key: `path`") == "log_file_inventory--key-path"
    assert slug("The daily partitions are the logs' days") == "the-daily-partitions-are-the-logs-days"
    assert slug("Parse: fixed cost, marginal lines/s, 4 M lines") == "parse-fixed-cost-marginal-liness-4-m-lines"


def test_a_missing_anchor_or_file_is_found(tmp_path):
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Other\n\n## A section\n")
    page.write_text("# Page\n\n[ok](other.md#a-section) [ok](#page) [ok](other.md) `[code](#nowhere)`\n"
                    "[bad](other.md#nowhere) [bad](missing.md) [bad](#nowhere)\n```\n[code](#nowhere)\n```\n")
    assert [b.split(":")[0] for b in broken_links(page)] == ["other.md#nowhere", "missing.md", "#nowhere"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_and_anchor_resolves(page):
    assert broken_links(page) == []


def test_every_docs_page_is_linked_from_the_readme_and_the_docs_index():
    readme = (REPO / "README.md").read_text()
    index = (REPO / "docs" / "README.md").read_text()
    for page in (REPO / "docs").glob("*.md"):
        if page.name != "README.md":
            assert f"docs/{page.name}" in readme, f"README.md does not link docs/{page.name}"
            assert f"]({page.name}" in index, f"docs/README.md does not link {page.name}"


def test_the_files_the_readme_names_exist():
    """The README's "Where do I change…" answers name files by their path from the repository's
    root: each must exist (a moved module shows here, not in a newcomer's editor)."""
    named = re.findall(r"`((?:iptables_assets|iptables_assets_tests|benchmarks|scripts|docs|deploy)/[^`\s]*)`",
                       (REPO / "README.md").read_text())
    assert named
    assert [path for path in named if not (REPO / path).exists()] == []
