"""Issue 24: declare what is imported, import what is declared. Every third-party module the
package imports comes from a pinned dependency (an optional extra's for the optional imports:
Celery, PostgreSQL); every dependency is imported by the package, or named here with why it is
declared; what the tests, benchmarks and scripts import besides comes from the `test` extra."""

from __future__ import annotations

import ast
import functools
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Declared without an import in the package, and why.
NOT_IMPORTED = {
    "dagster-webserver": "the UI: `dagster dev` (make ui) serves it",
}


@functools.cache
def _owners() -> dict[str, list[str]]:
    return packages_distributions()


def _name(requirement: str) -> str:
    """The normalised distribution name of a pinned requirement (`polars==2.1.0` -> polars)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[=<>~!\[; ]", requirement, maxsplit=1)[0]).lower()


def _pinned(requirements: list[str]) -> set[str]:
    assert all("==" in r for r in requirements), [r for r in requirements if "==" not in r]
    return {_name(r) for r in requirements}


def _imported(*folders: str) -> dict[str, set[str]]:
    """Third-party distributions imported by the modules under `folders`, with a file of each."""
    owners = _owners()
    local = {p.stem for folder in folders for p in (ROOT / folder).rglob("*")} | {"iptables_assets", "__future__"}
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
                for module in (n.split(".")[0] for n in names):
                    if module in sys.stdlib_module_names or module in local:
                        continue
                    for distribution in owners.get(module, [f"<no distribution for {module}>"]):
                        found.setdefault(_name(distribution), set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_package_imports_only_what_it_declares_and_declares_only_what_it_imports():
    declared = _pinned(PROJECT["dependencies"])
    optional = {name for extra, reqs in PROJECT["optional-dependencies"].items() if extra != "test"
                for name in _pinned(reqs)}
    imported = _imported("iptables_assets")
    assert {d: sorted(files) for d, files in imported.items() if d not in declared | optional} == {}
    assert declared - set(imported) == set(NOT_IMPORTED)


def test_tests_benchmarks_and_scripts_import_what_the_test_extra_declares():
    declared = _pinned(PROJECT["dependencies"]) | _pinned(PROJECT["optional-dependencies"]["test"])
    imported = _imported("iptables_assets_tests", "benchmarks", "scripts")
    assert {d: sorted(files) for d, files in imported.items() if d not in declared} == {}


def test_a_missing_declaration_is_caught(tmp_path, monkeypatch):
    """The check can fail: a module importing an undeclared distribution is named."""
    (tmp_path / "iptables_assets").mkdir()
    (tmp_path / "iptables_assets" / "uses_yaml.py").write_text("import yaml\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert set(_imported("iptables_assets")) == {"pyyaml"}
