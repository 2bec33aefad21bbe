"""Several workers on PostgreSQL: the whole loop as jobs on a procrastinate queue kept in the
store's own database. See docs/workers.md."""

from aggregator.workers.queue import PostgresRequired, apply_schema, build_queue, conninfo
from aggregator.workers.worker import WorkerSettings, run_worker

__all__ = [
    "PostgresRequired",
    "WorkerSettings",
    "apply_schema",
    "build_queue",
    "conninfo",
    "run_worker",
]
