"""Where steps run: the jobs' own executors (the default) or Dagster's Celery executor
(`IPTABLES_ASSETS_EXECUTOR=celery`), whose workers pick each step off a broker queue.

The broker and result backend are read by Dagster from the environment of the driver and of
every worker (`DAGSTER_CELERY_BROKER_URL`, `DAGSTER_CELERY_BACKEND_URL`), never baked into the
definitions or the settings that travel with each run, so a password in a URL is not stored.
"""

from __future__ import annotations

import dagster as dg

from iptables_assets.settings import ENV_CELERY_BACKEND, ENV_CELERY_BROKER, ENV_EXECUTOR, ConfigError, Settings

CELERY_EXECUTOR_NAME = "celery_redis"
# The queue dagster-celery routes its tasks to; the workers must listen on it (-Q dagster).
CELERY_QUEUE = "dagster"


def executor_for(config: Settings) -> dg.ExecutorDefinition | None:
    """The Celery executor when the settings ask for it, else None (each job keeps its own)."""
    if config.executor != "celery":
        return None
    try:
        from dagster_celery import celery_executor
    except ImportError:
        raise ConfigError(f"{ENV_EXECUTOR}=celery needs dagster-celery and redis: "
                          "pip install '.[celery]' (in the driver's and every worker's environment)") from None
    return celery_executor.configured(
        {"broker": {"env": ENV_CELERY_BROKER}, "backend": {"env": ENV_CELERY_BACKEND}}, name=CELERY_EXECUTOR_NAME)


def celery_workers(broker: str, backend: str, timeout: float = 5.0, every: bool = False) -> list[str]:
    """The names of the Celery workers that answer a ping on `broker` within `timeout` seconds:
    one name (it stops at the first answer), or with `every` all that answer (it then always
    waits the whole timeout: nobody knows how many will); an empty list: no worker listens.

    A run submitted with no worker listening waits for ever (its tasks sit in the queue), so
    `iptables-assets run` asks first and stops with a message instead; its per-day fan-out
    starts as many runs at once as workers answer."""
    from celery import Celery  # the optional `celery` extra: only a Celery run gets here

    app = Celery("iptables_assets_ping", broker=broker, backend=backend)
    app.conf.broker_connection_retry_on_startup = False
    app.conf.broker_transport_options = {"max_retries": 1}
    try:
        answers = app.control.ping(timeout=timeout, limit=None if every else 1) or []
    except Exception as error:  # kombu/redis raise their own connection errors
        raise ConfigError(f"cannot reach the Celery broker {ENV_CELERY_BROKER}={_safe(broker)}: {error}") from None
    finally:
        app.close()
    return sorted(name for answer in answers for name in answer)


def _safe(url: str) -> str:
    """A broker URL without its password, for messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
