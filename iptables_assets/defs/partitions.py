"""Daily partitions in the logs' time zone, from the first day the logs hold to today.

The first day is, in this order: IPTABLES_ASSETS_START_DATE when set; else the first day of
the output folder's log inventory (written by `iptables-assets run` or the
`log_file_inventory` asset), so the UI and the daemon show every day of old logs without a
setting; else DEFAULT_START_DATE (a fresh output folder: materialise the inventory, then
reload the code location).
"""

import dagster as dg

from iptables_assets import settings
from iptables_assets.ingest import inventory


def first_partition_day() -> str:
    """The first daily partition, as YYYY-MM-DD (see the module docstring for the order)."""
    override = settings.start_date_override()
    if override:
        return override
    known = inventory.first_day(settings.out_dir(), settings.timezone_name())
    return known.isoformat() if known else settings.DEFAULT_START_DATE


daily_partitions = dg.DailyPartitionsDefinition(
    start_date=first_partition_day(),
    timezone=settings.timezone_name(),
    # Today's partition exists too: the live log already holds part of it.
    end_offset=1,
)
