"""Daily partitions in the logs' time zone, from the first day the logs hold to today.

The first day is, in this order: the start date setting (IPTABLES_ASSETS_START_DATE) when set;
else the first day of the output folder's log inventory (written by `iptables-assets run` or
the `log_file_inventory` asset), so the UI and the daemon show every day of old logs without a
setting; else DEFAULT_START_DATE (a fresh output folder: materialise the inventory, then
reload the code location).
"""

import dagster as dg

from iptables_assets.ingest import inventory
from iptables_assets.settings import DEFAULT_START_DATE, Settings


def first_partition_day(config: Settings) -> str:
    """The first daily partition, as YYYY-MM-DD (see the module docstring for the order)."""
    if config.start_date:
        return config.start_date
    known = inventory.first_day(config.out_dir, config.timezone)
    return known.isoformat() if known else DEFAULT_START_DATE


def daily_partitions(config: Settings) -> dg.DailyPartitionsDefinition:
    """One partition per calendar day of the logs' time zone, today's included (the live log
    already holds part of it)."""
    return dg.DailyPartitionsDefinition(start_date=first_partition_day(config), timezone=config.timezone, end_offset=1)
