"""A full disk (issue 22 §4): `iptables-assets run` with its output folder on a small tmpfs stops
at the first stage that cannot write, with one line naming the file and the cause and no
traceback; later stages do not start; what was stored stays verifiable; a run after the disk
is made larger completes and publishes exactly what a run on a roomy disk publishes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from iptables_assets import storage
from iptables_assets.sample import generate_logs
from published import published

pytestmark = pytest.mark.slow

CLI = Path(sys.executable).parent / "iptables-assets"
STOPPED = re.compile(r"^iptables-assets: stopped: (?P<stage>[a-zA-Z -]+) failed: cannot write '(?P<path>[^']+)': "
                     r"No space left on device \(run [0-9a-f-]+; its event log has the details\)$")


def _run(logs: Path, out: Path, home: Path) -> subprocess.CompletedProcess:
    home.mkdir(exist_ok=True)
    return subprocess.run([str(CLI), "run", "--logs", str(logs), "--out", str(out)], capture_output=True, text=True,
                          env={**os.environ, "DAGSTER_HOME": str(home)}, timeout=600)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, Path, int]:
    """The logs, a run's output on the ordinary disk, and its size in bytes."""
    root = tmp_path_factory.mktemp("full_disk")
    generate_logs(root / "logs", days=4, seed=9, start=date(2025, 6, 1), events_per_day=300)
    done = _run(root / "logs", root / "clean", root / "home-clean")
    assert done.returncode == 0, done.stderr[-3000:]
    size = sum(p.stat().st_size for p in (root / "clean").rglob("*") if p.is_file())
    return root / "logs", root / "clean", size


@pytest.fixture
def small_disk(tmp_path):
    """mount(size) -> a tmpfs of that many bytes (unmounted afterwards); `remount(size)` grows it."""
    mounted: list[Path] = []

    def mount(size: int) -> Path:
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                              capture_output=True, text=True)
        if made.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({made.stderr.strip()}): needs root with CAP_SYS_ADMIN")
        mounted.append(point)
        return point

    def remount(point: Path, size: int) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(point)], check=True)

    yield mount, remount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


@pytest.mark.parametrize("share", [0.1, 0.8])
def test_a_full_disk_stops_the_run_in_one_line_and_a_rerun_completes(clean, small_disk, tmp_path, share):
    logs, roomy, size = clean
    mount, remount = small_disk
    disk = mount(int(size * share))
    out = disk / "out"
    failed = _run(logs, out, tmp_path / "home")
    assert failed.returncode == 1
    assert "Traceback" not in failed.stdout + failed.stderr
    stopped = failed.stderr.strip().splitlines()[-1]
    found = STOPPED.match(stopped)
    assert found, stopped
    assert Path(found["path"]).is_relative_to(out)
    assert not (out / "journal" / "index.html").exists()  # the last stage never started
    for path in out.rglob("*.parquet"):  # what was stored is whole (or was never put in place)
        if storage.sidecar(path).exists():
            storage.verified_bytes(path, unverified_ok=False)
    remount(disk, size * 3)
    again = _run(logs, out, tmp_path / "home")
    assert again.returncode == 0, again.stderr[-3000:]
    assert published(out) == published(roomy)
