"""`python -m iptables_assets.tables [--write docs/tables.md]`: print the column tables, or
replace them in docs/tables.md (or the page given) between their markers."""

import sys
from pathlib import Path

from iptables_assets.tables import DOCS_BEGIN, DOCS_END, docs_section


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--write":
        page = Path(argv[1])
        text = page.read_text()
        start, end = text.index(DOCS_BEGIN), text.index(DOCS_END) + len(DOCS_END)
        page.write_text(text[:start] + docs_section() + text[end:])
        return 0
    print(docs_section())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
