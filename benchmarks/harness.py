"""What the benchmarks share: the machine and code they measured, and how they time things.

The scripts next to this file import it as `harness` (Python puts a script's own folder first on
`sys.path`, also for the children that history_benchmark.py starts from its own file).
"""

from __future__ import annotations

import cProfile
import hashlib
import importlib
import importlib.metadata
import importlib.util
import io
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterable, Mapping, Sequence, TypeVar

REPO = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).parent / "iptables-assets"
# Where the scripts keep generated inputs and outputs (git-ignored); BENCHMARKS_WORKDIR moves it
# (the smoke test of iptables_assets_tests/benchmarks runs every script in a temporary folder).
WORK = Path(os.environ.get("BENCHMARKS_WORKDIR") or REPO / "benchmarks" / "_work")
CHANGED_WARNING = ("WARNING: iptables_assets/*.py changed while the benchmark ran; the runs may have measured "
                   "different code. Run it again.")

T = TypeVar("T")


# --------------------------------------------------------------------------- machine and code


def _proc_value(path: str, key: str) -> str | None:
    """The value of the first `key` line of a /proc file; None off Linux, where it does not exist."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _usable_cpus() -> int | None:
    """CPUs this process may run on, which can be fewer than the machine has (containers, taskset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


def _git_revision() -> str:
    """Short HEAD of this checkout, marked when tracked files differ, to tie numbers to code."""
    def git(*argv: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), *argv], capture_output=True, text=True).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except OSError:
        return "?"
    return head + (" + uncommitted changes" if dirty else "")


def version(module: str) -> str:
    """A module's version, '?' when it does not import: the machine lines are informational only.

    Read from the installed distribution's metadata when there is one, so that a benchmark's own
    process stays small: a child started from it inherits its RSS as a floor (see `measure`)."""
    try:
        return importlib.metadata.version(module)
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        return importlib.import_module(module).__version__
    except Exception:  # noqa: BLE001
        return "?"


def machine_info(*modules: str, executable: bool = False) -> list[str]:
    """Two lines on the machine, Python, polars (and `modules`), so numbers are compared knowingly."""
    cpu = _proc_value("/proc/cpuinfo", "model name") or "?"
    kib = _proc_value("/proc/meminfo", "MemTotal:")
    mem = f"{int(kib.split()[0]) / 1024 ** 2:.1f} GiB" if kib else "?"
    python = platform.python_version() + (f" ({sys.executable})" if executable else "")
    versions = "".join(f", {name} {version(name)}" for name in ("polars", *modules))
    return [
        f"machine: nproc={_usable_cpus()} (cpu_count={os.cpu_count()}), {cpu}, RAM {mem}, "
        f"{platform.system()} {platform.release()}",
        f"python {python}{versions}, POLARS_MAX_THREADS={os.environ.get('POLARS_MAX_THREADS', 'unset')}, "
        f"git {_git_revision()}",
    ]


def package_dir() -> Path:
    """The iptables_assets package the children import (the checkout, or one put first on PYTHONPATH)."""
    spec = importlib.util.find_spec("iptables_assets")
    if spec.origin:
        return Path(spec.origin).parent
    return Path(next(iter(spec.submodule_search_locations)))  # editable install seen through its path hook


def source_fingerprint() -> str:
    """Hash of the package's Python sources, to notice code edited while the benchmark runs."""
    digest = hashlib.sha256()
    root = package_dir()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        try:
            digest.update(path.read_bytes())
        except OSError:
            pass
    return digest.hexdigest()[:12]


def warn_if_changed(before: str, after: str | None = None) -> None:
    """Warn when the sources changed during the benchmark: its runs may have measured different code."""
    if (after or source_fingerprint()) != before:
        print(CHANGED_WARNING)


def load() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine skews every timing."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


# --------------------------------------------------------------------------- measuring


@dataclass
class Run:
    """One child process: wall time around it, its own CPU time and peak RSS, and how it ended."""
    wall_s: float
    cpu_s: float
    maxrss_bytes: int
    exit_code: int
    ok: bool = True
    note: str = ""
    result: dict = field(default_factory=dict)  # what the child reported about itself, if anything
    parent_peak_rss_bytes: int = 0  # the measuring process's peak RSS when it started the child

    def own_rss(self) -> bool:
        """False when `maxrss_bytes` may be the parent's, not the child's (the child used less)."""
        return self.maxrss_bytes > self.parent_peak_rss_bytes


def cold_figures(environment: Mapping[str, str]) -> dict[str, str]:
    """`environment` without a shared figure cache (the figure_cache setting): a measured run
    keeps its static parts in its own output folder, as a fresh clone's first run does."""
    from iptables_assets.settings import SETTINGS

    return {name: value for name, value in environment.items() if name != SETTINGS["figure_cache"].variable}


def measure(argv: Sequence[str], *, stdout: IO | int | None = None, stderr: IO | int | None = None,
            env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """Run `argv` in a fresh process: `os.wait4` gives that child's own CPU time and exact peak RSS.

    Exact only above the parent's own peak RSS: Linux starts a child's `ru_maxrss` from the
    memory of the process it was forked from, before the exec (`Run.own_rss`)."""
    parent = own_peak_rss_bytes()
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=env, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux.
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, code, ok=code == 0,
               parent_peak_rss_bytes=parent)


def own_peak_rss_bytes() -> int:
    """Peak RSS of this process so far, for benchmarks that measure in-process."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def median(values: Iterable[float]) -> float:
    """Median that is NaN for no values, so a step whose runs all failed still prints a row."""
    values = list(values)
    return statistics.median(values) if values else float("nan")


def timed(function: Callable[[], T], runs: int) -> tuple[float, T, list[float]]:
    """Median seconds of `runs` in-process calls, the last call's result, and every run's seconds."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result, times


def print_profile(profiler: cProfile.Profile, top: int, title: str) -> None:
    """The top cumulative entries, then the project's own functions only (where to look first)."""
    print(f"cProfile of {title} (polars' Rust work shows up inside the Python calls that trigger it)")
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).strip_dirs().sort_stats("cumulative").print_stats(top)
    print(buffer.getvalue().rstrip())
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(r"iptables_assets[/\\]", top)
    text = buffer.getvalue().rstrip().replace(str(package_dir().parent) + os.sep, "")
    print("\nproject functions only (iptables_assets/*), by cumulative time:")
    print(text[text.find("   ncalls"):] if "   ncalls" in text else text, flush=True)
