"""``generate_fleet``: many hosts' ``/var/log`` as a central rsyslog/syslog-ng log host keeps them.

Layout: ``out/remote/<host>/`` holds each host's ``messages``, ``kern.log`` and ``secure`` families with
their rotation, exactly as ``generate_logs`` writes a single host (and that host's own
``ground_truth.json``); ``out/ground_truth.json`` holds the fleet truth (``fleet_truth``). Hosts are
``web01`` … ``webNN``, zero-padded to the width of N so that they sort.

Each host is simulated like the single host, from its own seed (derived from ``seed`` and its index,
never from ``hash()``), with its name in every syslog header; on top of its own traffic it gets its
share of the fleet's shared attackers (``fleet_plan``). Hosts are independent once the plan is drawn,
so they are written in parallel processes; the results are gathered in host order, so the bytes do not
depend on the number of workers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from iptables_assets.sample.fleet_plan import plan_fleet
from iptables_assets.sample.fleet_truth import Key, build_fleet_truth, counted_keys
from iptables_assets.sample.simulation import DEFAULT_START
from iptables_assets.sample.varlog import generate_host, write_json

HOST_PREFIX = "web"


def host_names(hosts: int) -> list[str]:
    """``web1``..``web9`` for up to 9 hosts, ``web01``..``web20`` for 20: sortable as text."""
    width = len(str(hosts))
    return [f"{HOST_PREFIX}{i:0{width}d}" for i in range(1, hosts + 1)]


def host_seed(seed: int, index: int) -> int:
    """A host's own seed: stable across runs and Python versions, different for every host."""
    return int.from_bytes(hashlib.sha256(f"{seed}:fleet-host:{index}".encode()).digest()[:6], "big")


def generate_fleet(out_dir: str | Path, hosts: int, days: int, seed: int, start: dt.date | None = None,
                   events_per_day: int = 2000, tz: str = "UTC", workers: int | None = None) -> dict:
    """Write ``out/remote/<host>/…`` for ``hosts`` hosts and ``out/ground_truth.json``; return the truth.

    ``workers``: processes to write hosts in (default: one per CPU, at most one per host; 1 = here).
    """
    if hosts < 1:
        raise ValueError("hosts must be >= 1")
    if days < 1:
        raise ValueError("days must be >= 1")
    out, start = Path(out_dir), start or DEFAULT_START
    names = host_names(hosts)
    seeds = [host_seed(seed, i) for i in range(hosts)]
    plan = plan_fleet(names, [(start + dt.timedelta(days=i)).isoformat() for i in range(days)], seed)
    jobs = [(out / "remote" / name, days, s, start, events_per_day, name, tz, visits)
            for name, s, visits in zip(names, seeds, plan.visits)]
    workers = min(hosts, workers or os.cpu_count() or 1)
    if workers == 1:
        results = [_host_job(job) for job in jobs]
    else:  # spawn: no forked copies of a caller's threads (Dagster, test runners)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_host_job, jobs))
    params = {"hosts": hosts, "days": days, "seed": seed, "start": start.isoformat(),
              "events_per_day": events_per_day, "tz": tz, "layout": "remote"}
    truth = build_fleet_truth(params, names, seeds, [t for t, _ in results], [k for _, k in results], plan)
    end = (out / "remote" / names[0] / "ground_truth.json").stat().st_mtime_ns // 10**9  # the window's end
    write_json(out / "ground_truth.json", truth, end)
    return truth


def _host_job(job: tuple) -> tuple[dict, set[Key]]:
    """One host: its files, its truth, and the keys the fleet truth needs (a set, cheap to send back)."""
    out, days, seed, start, events_per_day, name, tz, visits = job
    truth, sim = generate_host(out, days, seed, start, events_per_day, name, tz, visits)
    return truth, counted_keys(sim)
