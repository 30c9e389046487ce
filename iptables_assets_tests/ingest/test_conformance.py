"""Conformance on the shared corpus of real-world netfilter logs (skipped when it is absent).

Every line must be accounted for (record, ignored or reject) and fewer than 0.1 % of the
netfilter candidate lines may be rejects. Set IPTABLES_ASSETS_CORPUS to use another folder.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

import polars as pl
import pytest

from iptables_assets.ingest.files.logfiles import describe
from iptables_assets.ingest.records.firewall.parsing import ParseConfig, parse_files

CORPUS = Path(os.environ.get("IPTABLES_ASSETS_CORPUS")
              or Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus").resolve()
SKIP_SUFFIXES = {".md", ".yaml", ".assert"}
_WAZUH_LOG = re.compile(r"^log \d+ pass = (.*)$", re.M)

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no conformance corpus at {CORPUS}")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """(ParseResult, {relative name: path}) for every log file of the corpus."""
    extracted = tmp_path_factory.mktemp("corpus")
    files = []
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file() or path.suffix in SKIP_SUFFIXES:
            continue
        if path.suffix == ".ini":  # wazuh decoder tests: the log lines follow "log N pass = "
            lines = _WAZUH_LOG.findall(path.read_text(errors="replace"))
            target = extracted / path.relative_to(CORPUS).with_suffix(".log")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("".join(f"{line}\n" for line in lines))
            files.append(describe(target, extracted))
        else:
            files.append(describe(path, CORPUS))
    assert files, f"{CORPUS} holds no log file"
    result = parse_files(files, ParseConfig())
    return result, {f.relative: f.path for f in files}


def _by_file(result, name_part: str) -> pl.DataFrame:
    return result.records.filter(pl.col("source_file").str.contains(name_part, literal=True))


def test_every_line_is_accounted_for(corpus):
    result, _ = corpus
    for fp in result.files:
        assert fp.lines == fp.record_lines + fp.ignored + fp.rejects.height, fp.file.relative
        assert fp.damage is None
    s = result.summary()
    assert s["lines_read"] == s["record_lines"] + s["ignored_lines"] + s["reject_lines"]
    assert s["lines_read"] > 20_000


def test_reject_rate_below_0_1_percent(corpus):
    result, _ = corpus
    candidates = result.record_lines + result.reject_lines
    rate = result.reject_lines / candidates
    assert rate < 0.001, (result.rejects_by_reason(), result.rejects["raw_line"].to_list())


def test_outer_addresses_and_ports_match_an_independent_reading(corpus):
    """For every record, SRC/DST/PROTO/DPT equal a plain regex reading of the line's outer
    packet (the text before any quoted inner `[SRC=` header)."""
    result, paths = corpus
    lines = {name: path.read_text(errors="replace").splitlines() for name, path in paths.items()}
    field = {k: re.compile(rf"(?<![\w\[]){k}=(\S*)") for k in ("SRC", "DST", "PROTO", "DPT")}
    checked = 0
    for src, dst, proto, dpt, name, number in result.records.select(
        "src_ip", "dst_ip", "proto", "dst_port", "source_file", "line_number"
    ).iter_rows():
        outer = lines[name][number - 1].split("[SRC=")[0]
        got = {k: (m.group(1) if (m := rx.search(outer)) else None) for k, rx in field.items()}
        assert src == str(ipaddress.ip_address(got["SRC"])), (name, number)
        assert dst == str(ipaddress.ip_address(got["DST"])), (name, number)
        if got["PROTO"] in ("TCP", "UDP", "ICMP", "ICMPv6"):
            assert proto == got["PROTO"], (name, number)
        if proto in ("TCP", "UDP") and got["DPT"] and got["DPT"].isdigit():
            assert dpt == int(got["DPT"]), (name, number)
        if proto in ("ICMP", "ICMPv6"):
            assert dpt is None, (name, number)
        checked += 1
    assert checked == result.records.height


def test_psad_icmp_lines_keep_outer_packet_fields(corpus):
    result, _ = corpus
    rows = _by_file(result, "invalid_icmp_type_code").sort("line_number")
    assert rows.select("src_ip", "dst_ip", "proto", "icmp_type", "icmp_code", "icmp_id", "tcp_seq", "src_port").unique().rows() == [
        ("192.168.10.55", "192.168.10.1", "ICMP", 8, 2, 2158, None, None)
    ]
    assert rows["ip_id"].to_list() == [18443, 59523, 25427, 43658, 28135]
    assert rows["icmp_seq"].to_list() == [512, 768, 1024, 1280, 1536]
    # No ICMP record anywhere in the corpus has transport ports (those would come from an
    # inner header).
    icmp = result.records.filter(pl.col("proto").is_in(["ICMP", "ICMPv6"]))
    assert icmp.height > 0
    assert icmp["src_port"].null_count() == icmp.height and icmp["udp_length"].null_count() == icmp.height


def test_psad_special_lines(corpus):
    result, _ = corpus
    assert _by_file(result, "ipv4_igmp")["proto"].unique().to_list() == ["IGMP"]
    iso = _by_file(result, "syslog_time_fmt1.log").sort("line_number")
    assert iso["timestamp"][0].isoformat() == "2015-03-07T03:09:30.045015+00:00"
    assert _by_file(result, "fwknop_spa_pkt").select("proto", "dst_port", "udp_length").rows() == [("UDP", 62201, 169)]
    v6 = _by_file(result, "topera_ipv6_syn_scan")
    assert v6.height > 2000 and set(v6["ip_version"].unique()) == {6}
    assert all("0000" not in ip for ip in v6["src_ip"].unique())  # compressed form
    incomplete = _by_file(result, "proto_scan").filter(pl.col("incomplete_bytes").is_not_null())
    assert incomplete.height > 0
    assert set(_by_file(result, "xmas_scan")["tcp_flags"].unique()) == {"URG PSH FIN"}
    assert set(_by_file(result, "null_scan").filter(pl.col("proto") == "TCP")["tcp_flags"].unique()) == {""}


def test_crowdsec_proxmox_and_unifi(corpus):
    result, _ = corpus
    pve = _by_file(result, "proxmox-iptables.log")
    assert pve.height == 10
    assert set(pve["program"]) == {"pve-firewall"}
    assert pve.filter(pl.col("in_iface").is_null())["out_iface"].to_list() == ["vmbr0.94"]
    assert pve["timestamp"].min().isoformat() == "2022-06-20T11:09:14+00:00"
    unifi = _by_file(result, "unifi-logs.log").sort("line_number")
    assert unifi.select("program", "action", "host", "src_ip", "mark").rows() == [
        ("unifi", "drop", "UDMP-DTC", "192.168.1.1", 0x1A0000),
        ("unifi", "drop", "UDMP-DTC", "192.168.1.1", 0x1A0000),
        ("unifi", "accept", "UDMP-DTC", "192.168.1.2", 0x1A0000),
    ]


def test_real_host_logs(corpus):
    result, _ = corpus
    adrien = _by_file(result, "AdrienRE__iptablogs")
    out = adrien.filter(pl.col("prefix") == "[netfilter-OUTPUT]")
    assert out.height > 0 and out["mac"].null_count() == out.height and set(out["in_iface"]) == {""}
    dunneja = _by_file(result, "dunneja__py-fw-log")
    assert set(dunneja["action"]) == {"drop"} and set(dunneja["prefix"]) == {"IPTABLES:BLOCKED-CONN:"}
    wazuh = _by_file(result, "wazuh")
    assert "DROP(src wan)" in set(wazuh["prefix"])
    assert set(wazuh.filter(pl.col("prefix") == "[UFW BLOCK]")["action"]) == {"drop"}
