"""Jobs of dead workers: put back in the queue (or dropped when one waits already).

A worker writes a heartbeat every few seconds; procrastinate lists the running jobs of
workers whose heartbeat is older than ``after`` seconds as stalled. Every worker checks now
and then and retries them. Each job is taken under a row lock and only while it is still
running on the worker that was found dead, so two workers checking at once, or a job picked
up again meanwhile, never make it run twice. A job whose queueing lock is held by a waiting
job (the next fetch of the same source is queued already) is marked aborted instead: the
waiting job does the same work. A job that stalled ``max_attempts`` times (it kills its
worker, say) is marked failed too, and logged.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from enum import Enum

import procrastinate
import psycopg
from procrastinate.jobs import Job
from psycopg.rows import tuple_row

log = logging.getLogger(__name__)


class Outcome(Enum):
    RETRIED = "retried"
    DROPPED = "dropped"  # a waiting job with the same queueing lock does the work
    GAVE_UP = "gave up"  # stalled too often
    GONE = "gone"  # finished or retried by someone else meanwhile


@dataclass(frozen=True, slots=True)
class StalledCheck:
    after: float = 30.0  # seconds without heartbeat before a worker counts as dead
    every: float = 10.0  # seconds between checks
    max_attempts: int = 5


async def retry_stalled(queue: procrastinate.App, check: StalledCheck) -> list[Outcome]:
    """Retry the jobs of workers without a recent heartbeat; one outcome per job found."""
    found = await queue.job_manager.get_stalled_jobs(seconds_since_heartbeat=check.after)
    outcomes = []
    for job in found:
        outcome = await _retry(queue, job, check.max_attempts)
        outcomes.append(outcome)
        if outcome is not Outcome.GONE:
            log.warning(
                "job %s of a dead worker: %s", job.call_string, outcome.value,
                extra={"stage": "worker", "job_id": job.id},
            )  # fmt: skip
    return outcomes


async def _retry(queue: procrastinate.App, job: Job, max_attempts: int) -> Outcome:
    pool = queue.connector.pool  # type: ignore[attr-defined]
    async with pool.connection() as conn, conn.transaction():
        cursor = conn.cursor(row_factory=tuple_row)
        await cursor.execute(
            "SELECT status, worker_id FROM procrastinate_jobs WHERE id = %s FOR UPDATE",
            (job.id,),
        )
        if await cursor.fetchone() != ("doing", job.worker_id):
            return Outcome.GONE
        if job.attempts + 1 >= max_attempts:
            await _finish(cursor, job, "failed")
            return Outcome.GAVE_UP
        try:
            async with conn.transaction():  # a savepoint: a conflict undoes only this
                await cursor.execute(
                    "SELECT procrastinate_retry_job_v2(%s, now(), NULL, NULL, NULL)", (job.id,)
                )
        except psycopg.errors.UniqueViolation:
            await _finish(cursor, job, "aborted")
            return Outcome.DROPPED
    return Outcome.RETRIED


async def _finish(cursor: psycopg.AsyncCursor, job: Job, status: str) -> None:
    await cursor.execute("SELECT procrastinate_finish_job_v1(%s, %s, false)", (job.id, status))


async def keep_retrying(queue: procrastinate.App, check: StalledCheck) -> None:
    """Check for stalled jobs every ``check.every`` seconds, until cancelled."""
    while True:
        try:
            await retry_stalled(queue, check)
        except (procrastinate.exceptions.ProcrastinateException, psycopg.Error) as exc:
            log.error("checking for stalled jobs failed: %s", exc, extra={"stage": "worker"})
        await asyncio.sleep(check.every)
