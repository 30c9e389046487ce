"""The parse cache's version is a digest of the parsing code's source and libraries: an edit to
any parsing module (or a new one) changes it by itself, and entries made under another version
are never used."""

from __future__ import annotations

import datetime as dt
import shutil

from iptables_assets import code_version
from iptables_assets.ingest import parse_cache
from iptables_assets.ingest.files.logfiles import discover
from iptables_assets.ingest.parse_cache import ParseCache
from iptables_assets.ingest.parse_config import ParseConfig
from iptables_assets.ingest.records.firewall.parsing import parse_days
from iptables_assets.sample import generate_logs

CONFIG = ParseConfig(tz="UTC", chunk_bytes=64 << 10)
DAYS = [dt.date(2026, 1, 10) + dt.timedelta(days=i) for i in range(3)]


def _copy_of_the_code(tmp_path):
    """The parsing packages copied under a root of their own."""
    root = tmp_path / "package"
    for package in parse_cache.PARSING_PACKAGES:
        shutil.copytree(code_version.PACKAGE / package, root / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_the_version_is_a_digest_of_the_parsing_source(tmp_path):
    root = _copy_of_the_code(tmp_path)
    version = parse_cache.parsing_code()
    assert parse_cache.parsing_code.__wrapped__(root) == version  # the same source: the same version
    assert any(p.name == "sshd.py" for p in parse_cache.parsing_sources())
    assert any(p.name == "scanner.py" for p in parse_cache.parsing_sources())

    sshd = root / "ingest" / "records" / "sshd.py"
    sshd.write_bytes(sshd.read_bytes() + b"\n# an edit\n")
    edited = parse_cache.parsing_code.__wrapped__(root)
    assert edited != version
    (root / "ingest" / "records" / "new_format.py").write_text('"""A new log format."""\n')
    assert parse_cache.parsing_code.__wrapped__(root) not in (version, edited)


def test_the_version_follows_the_libraries(tmp_path, monkeypatch):
    root = _copy_of_the_code(tmp_path)
    version = parse_cache.parsing_code.__wrapped__(root)
    real = parse_cache.library_versions
    monkeypatch.setattr(parse_cache, "library_versions", lambda names: [*real(names)[:-1], "0.0.1"])
    assert parse_cache.parsing_code.__wrapped__(root) != version


def test_entries_of_another_version_are_not_used(tmp_path, monkeypatch):
    logs = tmp_path / "logs"
    generate_logs(logs, days=3, seed=8, start=DAYS[0], events_per_day=80)
    files = discover(logs)
    reads: list[str] = []
    real = parse_cache.spill_file

    def counting(file, *args):
        reads.append(file.relative)
        return real(file, *args)

    monkeypatch.setattr(parse_cache, "spill_file", counting)
    cache = ParseCache(tmp_path / "cache")
    parse_days(files, CONFIG, None, DAYS, tmp_path / "a", cache)
    old_keys = {p.name for p in (tmp_path / "cache").iterdir()}
    parse_days(files, CONFIG, None, DAYS, tmp_path / "b", cache)
    assert len(reads) == len(files)  # same version: every file linked

    monkeypatch.setattr(parse_cache, "parsing_code", lambda: "the parsing code, edited")
    again = ParseCache(tmp_path / "cache")
    parse_days(files, CONFIG, None, DAYS, tmp_path / "c", again)
    assert len(reads) == 2 * len(files) and again.linked == []  # every file read again
    new_keys = {p.name for p in (tmp_path / "cache").iterdir()} - old_keys
    assert len(new_keys) == len(files)
    assert sorted(again.prune(new_keys)) == sorted(old_keys)  # the old entries go at the next prune
