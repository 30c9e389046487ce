"""`python -m iptables_assets.tables [--write README.md]`: print the README's column tables, or
replace them in the README between their markers."""

import sys
from pathlib import Path

from iptables_assets.tables import README_BEGIN, README_END, readme_section


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--write":
        readme = Path(argv[1])
        text = readme.read_text()
        start, end = text.index(README_BEGIN), text.index(README_END) + len(README_END)
        readme.write_text(text[:start] + readme_section() + text[end:])
        return 0
    print(readme_section())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
