"""`aggregator worker`: one of several worker processes sharing the store's PostgreSQL.

:func:`run_worker` creates the job queue's tables if needed, then runs a procrastinate
worker: it takes jobs from the queue (``concurrency`` at a time, in threads), defers the
periodic ones (once per due time across all workers), writes a heartbeat, and retries the
jobs of workers whose heartbeat stopped. SIGTERM or SIGINT (or ``stop``) stops it: it takes
no new job and gives the running ones ``shutdown_timeout`` to finish.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from contextlib import suppress
from dataclasses import dataclass, field

import procrastinate
from procrastinate.worker import Worker

from aggregator.app import App, Clock, utc_now
from aggregator.config import Config
from aggregator.workers.jobs import Jobs
from aggregator.workers.queue import apply_schema, build_queue, conninfo
from aggregator.workers.stalled import StalledCheck, keep_retrying
from aggregator.workers.tasks import JOBS_KEY

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    concurrency: int = 4  # jobs at once (threads): fetches mostly wait on the network
    heartbeat: float = 10.0  # seconds between heartbeats
    stalled: StalledCheck = field(default_factory=StalledCheck)
    poll_interval: float = 5.0  # fallback when a LISTEN/NOTIFY wake-up is missed
    shutdown_timeout: float = 30.0
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")


def run_worker(
    config: Config,
    *,
    concurrency: int = 4,
    stop: threading.Event | None = None,
    settings: WorkerSettings | None = None,
    clock: Clock = utc_now,
) -> int:
    """Run a worker until a stop signal (or ``stop`` is set); returns the exit status.

    Raises PostgresRequired (a ConfigError) on a SQLite store, StoreError when the database
    cannot be reached, before anything runs.
    """
    database_url = config.settings.database_url
    conninfo(database_url)  # PostgresRequired before anything else
    settings = settings or WorkerSettings(concurrency=concurrency)
    stop = stop or threading.Event()
    apply_schema(database_url)
    queue = build_queue(config, pool_size=settings.concurrency + 4)
    with App(config, clock=clock) as app, app.keep_parser() as parse:
        _ = app.store, app.analyser  # fail now, not in every job; no race to build them
        jobs = Jobs(app, queue, parse=parse)
        try:
            asyncio.run(_serve(queue, jobs, settings, stop))
        finally:
            jobs.close()
    return 0


async def _serve(
    queue: procrastinate.App, jobs: Jobs, settings: WorkerSettings, stop: threading.Event
) -> None:
    async with queue.open_async():
        worker = Worker(
            app=queue,
            name=settings.name,
            concurrency=settings.concurrency,
            additional_context={JOBS_KEY: jobs},
            update_heartbeat_interval=settings.heartbeat,
            stalled_worker_timeout=settings.stalled.after,
            fetch_job_polling_interval=settings.poll_interval,
            shutdown_graceful_timeout=settings.shutdown_timeout,
            install_signal_handlers=threading.current_thread() is threading.main_thread(),
            delete_jobs="successful",  # failed jobs stay, for `procrastinate` to inspect
        )
        checker = asyncio.create_task(keep_retrying(queue, settings.stalled))
        threading.Thread(target=_stop_when_set, args=(stop, worker), daemon=True).start()
        log.info(
            "worker %s started: %d job(s) at once", settings.name, settings.concurrency,
            extra={"stage": "worker"},
        )  # fmt: skip
        try:
            await worker.run()
        finally:
            stop.set()  # ends the watching thread
            checker.cancel()
            with suppress(asyncio.CancelledError):
                await checker
    log.info("worker %s stopped", settings.name, extra={"stage": "worker"})


def _stop_when_set(stop: threading.Event, worker: Worker) -> None:
    stop.wait()
    worker.stop()  # safe from another thread: it wakes the worker's loop
