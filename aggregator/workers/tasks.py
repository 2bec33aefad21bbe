"""The procrastinate tasks: thin wrappers that find the worker's :class:`Jobs` in the job
context and call it. Registered at run time (:func:`register`) because the periodic
schedule comes from the configuration.

Locks: a job's ``lock`` lets at most one job with that lock run at a time across all
workers; its ``queueing_lock`` lets at most one wait. Fetches are locked per source
(``fetch:<url>``), the other jobs per kind.

Periodic tasks are deferred by every worker's periodic deferrer, but the database lets
only one deferral per (task, scheduled instant) through (``procrastinate_periodic_defers``
is unique on it), so each runs once per due time whatever the number of workers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import time
from typing import Any

import procrastinate
from procrastinate import JobContext, RetryStrategy

from aggregator.errors import AggregatorError
from aggregator.workers.jobs import FETCH, PROCESS, PROCESS_LOCK, Jobs
from aggregator.workers.schedule import Plan, daily, is_local_time

log = logging.getLogger(__name__)

JOBS_KEY = "aggregator_jobs"  # where the worker puts its Jobs in the job context
# A known failure (the database is unreachable ...) is tried again; a bug is not.
DAILY_LOCKS = {"draft": "edition", "publish": "edition", "retention": "prune"}
RETRY = RetryStrategy(max_attempts=3, wait=10, retry_exceptions={AggregatorError})


def jobs_of(context: JobContext) -> Jobs:
    return context.additional_context[JOBS_KEY]


def register(queue: procrastinate.App, plan: Plan) -> None:
    """Register the tasks and their periodic schedule on ``queue``."""
    _one_offs(queue)
    _periodic(queue, plan)


def _one_offs(queue: procrastinate.App) -> None:
    @queue.task(name=FETCH, pass_context=True, retry=RETRY)
    def fetch_source(context: JobContext, url: str) -> str:
        return _logged("fetch", jobs_of(context).fetch_source, url)

    @queue.task(name=PROCESS, pass_context=True, retry=RETRY, lock=PROCESS_LOCK)
    def process_pending(context: JobContext, limit: int | None = None) -> str:
        return _logged("process", jobs_of(context).process_pending, limit)

    @queue.task(name="aggregator.draft_today", pass_context=True, retry=RETRY, lock="edition")
    def draft_today(context: JobContext) -> str:
        return _logged("draft", jobs_of(context).draft_today)

    @queue.task(name="aggregator.publish_today", pass_context=True, retry=RETRY, lock="edition")
    def publish_today(context: JobContext) -> str:
        return _logged("publish", jobs_of(context).publish_today)

    @queue.task(name="aggregator.prune", pass_context=True, retry=RETRY, lock="prune")
    def prune(context: JobContext, retention_days: int) -> str:
        return _logged("retention", jobs_of(context).prune, retention_days)


def _periodic(queue: procrastinate.App, plan: Plan) -> None:
    @queue.periodic(cron=plan.scan_cron, periodic_id="scan")
    @queue.task(name="aggregator.scan_due", pass_context=True, queueing_lock="scan", lock="scan")
    def scan_due(context: JobContext, timestamp: int) -> str:
        return _logged("scan", jobs_of(context).scan_due)

    @queue.periodic(cron=plan.process_cron, periodic_id="process")
    @queue.task(
        name="aggregator.process_every", pass_context=True, queueing_lock=PROCESS_LOCK,
        lock=PROCESS_LOCK,
    )  # fmt: skip
    def process_every(context: JobContext, timestamp: int) -> str:
        return _logged("process", jobs_of(context).process_pending)

    _daily(queue, "draft", plan.draft_at, plan, lambda jobs: jobs.draft_today())
    if plan.publish_at is not None:
        _daily(queue, "publish", plan.publish_at, plan, lambda jobs: jobs.publish_today())
    days = plan.retention_days
    _daily(queue, "retention", plan.retention_at, plan, lambda jobs: jobs.prune(days))


def _daily(
    queue: procrastinate.App, name: str, at: time, plan: Plan, body: Callable[[Jobs], str]
) -> None:
    """A task deferred on every quarter hour that works only at local time ``at``."""
    lock = DAILY_LOCKS[name]

    @queue.periodic(cron=daily(at), periodic_id=name)
    @queue.task(name=f"aggregator.daily_{name}", pass_context=True, retry=RETRY, lock=lock)
    def run_daily(context: JobContext, timestamp: int) -> str:
        if not is_local_time(timestamp, at, plan.zone):
            return f"not {at:%H:%M} in {plan.zone.key}: nothing to do"
        return _logged(name, body, jobs_of(context))


def _logged(stage: str, body: Callable[..., str], *args: Any) -> str:
    detail = body(*args)
    log.info("%s: %s", stage, detail, extra={"stage": stage})
    return detail
