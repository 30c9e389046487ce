"""Daily partitions in the logs' time zone, starting at a configurable date."""

import dagster as dg

from .. import settings

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=settings.start_date(),
    timezone=settings.timezone_name(),
    # Today's partition exists too: the live log already holds part of it.
    end_offset=1,
)
