"""The runs' console logger: Dagster's `console`, but a failure in one line.

A step that fails logs its error with the whole stack of every process it passed through (a full
disk: ~200 lines for one `No space left on device`). The console keeps each record's first line,
what failed and where; the stack stays in the run's event log, shown in the UI, and the command
line names the cause in one line of its own (`defs/run/summary.py`). Replaces the default `console` logger of
every job of the code location, with the same configuration (`log_level`, `name`)."""

from __future__ import annotations

import logging
import sys

import dagster as dg


class FirstLineFormatter(logging.Formatter):
    """Every record as one line: its message up to the first line break."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).split("\n", 1)[0]


@dg.logger(
    {"log_level": dg.Field(str, is_required=False, default_value="INFO"),
     "name": dg.Field(str, is_required=False, default_value="dagster")},
    description="Dagster's console logger with each record in one line (stacks stay in the event log).",
)
def console(init_context: dg.InitLoggerContext) -> logging.Logger:
    config = init_context.logger_config
    logger = logging.Logger(config["name"], level=logging.getLevelName(config["log_level"].upper()))
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(FirstLineFormatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
    logger.addHandler(handler)
    return logger
