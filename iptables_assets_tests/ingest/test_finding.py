"""Every file under the log folder accounted for (issue 22 §3): read, or listed with why not."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

from iptables_assets.ingest.files import finding
from iptables_assets.ingest.files.finding import by_kind, find_logs
from iptables_assets.ingest.records.firewall.parsing import parse_paths

NF = ("Jan 10 10:00:{:02d} gw01 kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:11 SRC=203.0.113.9 DST=10.0.0.1 LEN=40 "
      "PROTO=TCP SPT=4000 DPT={} WINDOW=1024 SYN URGP=0\n")
SSHD = "Jan 10 10:00:00 gw01 sshd[1]: Invalid user admin from 198.51.100.4 port 5000\n"


def _tree(root: Path) -> Path:
    """A /var/log as hosts keep it: logs under known names, a firewall log under a name of its
    own, other programs' logs (one compressed), login records, a binary, an empty file, links."""
    files = {
        "kern.log": NF.format(1, 22),
        "iptables.log": NF.format(2, 23),  # an rsyslog rule's own file
        "remote/fw/firewall-2025.log.gz": gzip.compress(NF.format(3, 24).encode()),
        "dpkg.log": "2025-01-10 10:00:00 install foo:amd64 <none> 1.0\n",
        "apt/history.log.1.gz": gzip.compress(b"Start-Date: 2025-01-10  10:00:00\nCommandline: apt upgrade\n"),
        "nginx/access.log": '203.0.113.9 - - [10/Jan/2025:10:00:00 +0000] "GET /?IN=eth0 SRC=1.2.3.4 DST=5.6.7.8" 404\n',
        "sshd.log": SSHD,
        "wtmp": b"\x07\x00\x00\x00" + bytes(380),
        "btmp.1": b"\x06\x00\x00\x00" + bytes(380),
        "private/blob.bin": b"\x00\x01\x02 not text",
        "empty.log": "",
    }
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    (root / "kern.log.link").symlink_to(root / "kern.log")
    (root / "elsewhere").symlink_to(root / "remote", target_is_directory=True)
    return root


def test_every_file_is_read_or_listed_with_why_not(tmp_path):
    root = _tree(tmp_path / "logs")
    unreadable, passed_over = [], []
    files = find_logs(root, unreadable=unreadable, passed_over=passed_over)
    assert [f.relative for f in files] == ["iptables.log", "kern.log", "remote/fw/firewall-2025.log.gz"]
    assert unreadable == []
    assert by_kind(passed_over) == {
        finding.OTHER: ["apt/history.log.1.gz", "dpkg.log", "nginx/access.log"],
        finding.BINARY: ["private/blob.bin"],
        finding.EMPTY: ["empty.log"],
        finding.LOGIN: ["btmp.1", "wtmp"],
        finding.SSHD_ELSEWHERE: ["sshd.log"],
        finding.LINK: ["elsewhere", "kern.log.link"],
    }
    # nothing under the folder is left out
    everything = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}
    assert everything == {f.relative for f in files} | {path for path, _ in passed_over}
    assert parse_paths([root]).records["dst_port"].to_list() == [22, 23, 24]


def test_a_folder_with_no_usable_log_says_what_it_found(tmp_path):
    root = tmp_path / "logs"
    root.mkdir()
    (root / "wtmp").write_bytes(bytes(384))
    (root / "dpkg.log").write_text("2025-01-10 10:00:00 install foo:amd64 <none> 1.0\n")
    cli = Path(sys.executable).parent / "iptables-assets"
    done = subprocess.run([str(cli), "run", "--logs", str(root), "--out", str(tmp_path / "out")], capture_output=True,
                          text=True, env={**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"not read, {finding.LOGIN}: wtmp" in done.stdout
    assert f"not read, {finding.OTHER}: dpkg.log" in done.stdout
    assert f"no timestamped log lines found in {root} (2 other files, listed above, and 0 it cannot read); " \
           "nothing to do" in done.stdout


def test_parse_summary_lists_what_was_not_read(tmp_path):
    root = _tree(tmp_path / "logs")
    cli = Path(sys.executable).parent / "iptables-assets"
    done = subprocess.run([str(cli), "parse", str(root), "--summary"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"iptables-assets: not read, {finding.LOGIN}: btmp.1, wtmp" in done.stderr
    assert '"passed_over": {' in done.stdout and '"nginx/access.log"' in done.stdout
