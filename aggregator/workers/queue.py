"""The job queue: procrastinate on the store's own PostgreSQL database (no other service).

:func:`build_queue` makes the procrastinate ``App`` with the aggregator's tasks registered
(see :mod:`aggregator.workers.tasks`); :func:`apply_schema` creates procrastinate's tables
next to the store's, once, however many workers start together.
"""

from __future__ import annotations

import logging

import procrastinate
import psycopg
from procrastinate.schema import SchemaManager
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from aggregator.config import Config
from aggregator.daemon_settings import daemon_settings, digest_times
from aggregator.errors import ConfigError, StoreError
from aggregator.store.engine import normalise_url
from aggregator.workers.schedule import plan_for
from aggregator.workers.tasks import register

log = logging.getLogger(__name__)

_SCHEMA_LOCK = 0x61677771  # advisory lock key: one worker creates the queue's tables
POSTGRES_ONLY = (
    "several workers need PostgreSQL (--db postgresql://user@host/db);"
    " on one machine run `aggregator daemon`"
)


class PostgresRequired(ConfigError):
    """The workers were pointed at a store that is not PostgreSQL."""


def conninfo(database_url: str) -> str:
    """The libpq connection string of a store URL (``postgresql+psycopg://`` accepted)."""
    try:
        url = make_url(normalise_url(database_url))
    except ArgumentError as exc:
        raise ConfigError(f"invalid database URL {database_url!r}: {exc}") from exc
    if url.get_backend_name() != "postgresql":
        raise PostgresRequired(POSTGRES_ONLY)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def build_queue(config: Config, *, pool_size: int = 4) -> procrastinate.App:
    """The procrastinate app for ``config``'s store, tasks and schedule registered."""
    settings = config.settings
    plan = plan_for(daemon_settings(config), digest_times(config), settings.timezone)
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(settings.database_url), min_size=1, max_size=max(2, pool_size)
    )
    queue = procrastinate.App(connector=connector, periodic_defaults={"max_delay": 6 * 3600})
    register(queue, plan)
    return queue


def apply_schema(database_url: str) -> bool:
    """Create procrastinate's tables unless they exist; True when they were created."""
    schema = SchemaManager.get_schema()
    try:
        with psycopg.connect(conninfo(database_url)) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            found = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if found and found[0] is not None:
                return False
            conn.execute(schema)  # no parameters: its "%" signs are not placeholders
    except psycopg.Error as exc:
        raise StoreError(f"cannot create the job queue's tables: {exc}") from exc
    log.info("created the job queue's tables", extra={"stage": "worker"})
    return True
