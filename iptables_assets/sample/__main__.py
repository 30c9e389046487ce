"""``python -m iptables_assets.sample DIR``: write the synthetic /var/log folder with more knobs than the CLI."""

from __future__ import annotations

import argparse
import datetime as dt
import time

import iptables_assets.sample as sample
from iptables_assets.sample.fleet import generate_fleet
from iptables_assets.sample.varlog import generate_logs


def main(argv: list[str] | None = None) -> None:
    """Parse the knobs, generate, and print what was written and how long it took."""
    parser = argparse.ArgumentParser(prog="python -m iptables_assets.sample",
                                     description=sample.__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--events-per-day", type=int, default=2000)
    parser.add_argument("--host", default="gw01")
    parser.add_argument("--tz", default="UTC")
    parser.add_argument("--hosts", type=int, default=1, help="N > 1: a fleet under DIR/remote/<host>/")
    parser.add_argument("--digest-plants", action="store_true",
                        help="plant what the daily digest must find (truth under 'digest'; 30 days or more)")
    parser.add_argument("--workers", type=int, default=None, help="processes for a fleet (default: CPUs)")
    a = parser.parse_args(argv)
    t0 = time.perf_counter()
    if a.hosts > 1:
        truth = generate_fleet(a.out_dir, a.hosts, a.days, a.seed, a.start, a.events_per_day, a.tz, a.workers)
        print(f"{a.hosts} hosts, {sum(truth['records_per_day'].values())} records, "
              f"{len(truth['horizontal_scans'])} horizontal scans, "
              f"{len(truth['longterm_horizontal_scans'])} long-term, {time.perf_counter() - t0:.2f}s")
        return
    truth = generate_logs(a.out_dir, a.days, a.seed, a.start, a.events_per_day, a.host, a.tz,
                          digest_plants=a.digest_plants)
    print(f"{sum(truth['lines_per_file'].values())} lines in {len(truth['lines_per_file'])} files, "
          f"{sum(truth['records_per_day'].values())} records, {time.perf_counter() - t0:.2f}s")


if __name__ == "__main__":
    main()
