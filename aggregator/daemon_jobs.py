"""The daemon's jobs on an APScheduler 3 ``BackgroundScheduler``: each is a short call into
the facade (:class:`aggregator.app.App`); everything they decide lives in the store.

* ``fetch``      every ``daemon.tick``: fetch the sources that are due (each source's
                 schedule, backoff and Retry-After live in the store).
* ``process``    after a fetch that found new or changed entries, and every
                 ``daemon.process_every``.
* ``draft``      daily at ``digest.draft_at`` (``settings.timezone``): draft today's edition.
* ``publish``    daily at ``digest.publish_at`` when set: publish today's edition if approved.
* ``retention``  daily at ``daemon.retention_at``: prune raw entries older than
                 ``daemon.retention_days`` that no edition refers to.
* ``catch_up``   once at start: fetch, process, then draft (and publish) today's edition if
                 its time has passed and it was not done, so a restart misses nothing.

A job that raises an AggregatorError is logged (``stage=<job> error_kind=...``) and recorded
as "error"; any other exception is a bug, logged with its traceback and recorded as "bug";
either way the daemon goes on.
"""

from __future__ import annotations

import logging
import threading
import time as timer
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from aggregator.app import App
from aggregator.daemon_health import HealthFile, JobRun
from aggregator.daemon_lock import DaemonLock, NoLock
from aggregator.daemon_settings import DaemonSettings, DigestTimes
from aggregator.digest.models import Status
from aggregator.errors import AggregatorError
from aggregator.models import FetchStatus

log = logging.getLogger(__name__)

DAILY_GRACE = 6 * 3600  # a daily job late by less than this (host asleep, busy) still runs
NOT_CONTACTED = (FetchStatus.SKIPPED, FetchStatus.DISABLED)


class LockLost(AggregatorError):
    """The daemon's store lock went away (its PostgreSQL connection dropped)."""


class Daemon:
    def __init__(
        self,
        app: App,
        settings: DaemonSettings,
        times: DigestTimes,
        health: HealthFile,
        *,
        lock: DaemonLock | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.app, self.settings, self.times, self.health = app, settings, times, health
        self.lock = lock or NoLock()
        self.stop_requested = stop or threading.Event()
        self.exit_status = 0
        self.zone = ZoneInfo(app.config.settings.timezone)
        self._fetching, self._processing = threading.Lock(), threading.Lock()
        self._more = threading.Event()  # new entries arrived while processing ran
        self._running = 0
        self._idle = threading.Condition()
        self.bodies: dict[str, Callable[[], str]] = {
            "fetch": self.fetch,
            "process": self.process,
            "draft": self.draft,
            "publish": self.publish,
            "retention": self.retention,
            "catch_up": self.catch_up,
        }
        self.scheduler = BackgroundScheduler(
            timezone=self.zone,
            executors={"default": ThreadPoolExecutor(len(self.bodies))},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self._add_jobs()
        self.scheduler.add_listener(self._missed, EVENT_JOB_MISSED)

    # -- the schedule ---------------------------------------------------------------------

    def _add_jobs(self) -> None:
        tick = max(1, int(self.settings.tick.total_seconds()))
        every = max(1, int(self.settings.process_every.total_seconds()))
        self._add("fetch", IntervalTrigger(seconds=tick, timezone=self.zone), tick)
        self._add("process", IntervalTrigger(seconds=every, timezone=self.zone), every)
        self._add("draft", self._daily(self.times.draft_at), DAILY_GRACE)
        if self.times.publish_at is not None:
            self._add("publish", self._daily(self.times.publish_at), DAILY_GRACE)
        self._add("retention", self._daily(self.settings.retention_at), DAILY_GRACE)
        self._add("catch_up", None, DAILY_GRACE)  # no trigger: once, as the scheduler starts

    def _add(self, name: str, trigger: object | None, grace: int) -> None:
        self.scheduler.add_job(
            self.job, trigger, args=[name], id=name, name=name, misfire_grace_time=grace
        )

    def _daily(self, at: time) -> CronTrigger:
        return CronTrigger(hour=at.hour, minute=at.minute, second=at.second, timezone=self.zone)

    def next_runs(self) -> dict[str, datetime | None]:
        return {job.id: getattr(job, "next_run_time", None) for job in self.scheduler.get_jobs()}

    def start(self, *, paused: bool = False) -> None:
        self.scheduler.start(paused=paused)
        self.health.state("running", self.app.clock())
        self.health.record("", None, self.next_runs(), self.app.clock())

    def stop(self, timeout: float) -> int:
        """Take no new job, give the running ones ``timeout`` seconds; returns how many are
        still running (abandoned: the store writes in transactions, so they lose nothing
        recorded)."""
        self.stop_requested.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        with self._idle:
            self._idle.wait_for(lambda: self._running == 0, timeout)
            abandoned = self._running
        self.health.state("stopped", self.app.clock())
        return abandoned

    # -- running a job --------------------------------------------------------------------

    def job(self, name: str) -> None:
        """What the scheduler calls: one job, counted so that stop() can wait for it."""
        with self._busy():
            if not self.stop_requested.is_set():  # submitted just before the stop: drop it
                self.run(name)

    @contextmanager
    def _busy(self) -> Iterator[None]:
        with self._idle:
            self._running += 1
        try:
            yield
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    def run(self, name: str) -> JobRun:
        """Run job ``name`` now; log and record its outcome whatever it is."""
        started, begun = self.app.clock(), timer.monotonic()
        outcome, detail = "ok", ""
        try:
            detail = self.bodies[name]()
        except AggregatorError as exc:
            outcome, detail = "error", str(exc)
            kind = getattr(exc, "kind", type(exc).__name__)
            log.error("%s job failed: %s", name, exc, extra={"stage": name, "error_kind": kind})
        except Exception as exc:  # a bug: say so loudly, with the traceback, and go on
            outcome, detail = "bug", f"{type(exc).__name__}: {exc}"
            log.exception(
                "%s job crashed", name, extra={"stage": name, "error_kind": type(exc).__name__}
            )
        duration = timer.monotonic() - begun
        if outcome == "ok":
            log.info("%s: %s", name, detail, extra={"stage": name, "duration": duration})
        run = JobRun(started, duration, outcome, detail)
        self.health.record(name, run, self.next_runs(), self.app.clock())
        return run

    def _missed(self, event: JobExecutionEvent) -> None:
        log.warning("%s job missed its time", event.job_id, extra={"stage": event.job_id})
        run = JobRun(self.app.clock(), 0.0, "missed", f"scheduled at {event.scheduled_run_time}")
        self.health.record(event.job_id, run, self.next_runs(), self.app.clock())

    # -- the jobs -------------------------------------------------------------------------

    def fetch(self) -> str:
        if not self.lock.held():  # another daemon may take the store now: stop, exit 1
            self.exit_status = 1
            self.stop_requested.set()
            raise LockLost("the daemon lost its lock on the store; stopping")
        with self._fetching:
            report = self.app.fetch(due_only=True)
        changed = sum(s.new_entries + s.updated_entries for s in report.sources)
        if changed:
            self._wake_processing()
        contacted = sum(1 for s in report.sources if s.status not in NOT_CONTACTED)
        return (
            f"{contacted} of {len(report.sources)} sources due, {report.new_entries} new"
            f" entries, {report.errors} failed"
        )

    def _wake_processing(self) -> None:
        if self._processing.locked():
            self._more.set()  # the run in progress goes round once more
            return
        with suppress(JobLookupError):  # gone: shutting down
            self.scheduler.modify_job("process", next_run_time=datetime.now(self.zone))

    def process(self) -> str:
        processed = relevant = 0
        with self._processing:
            while True:
                self._more.clear()
                report = self.app.process()
                processed, relevant = processed + report.processed, relevant + report.relevant
                if not self._more.is_set() or self.stop_requested.is_set():
                    break
        return f"{processed} processed, {relevant} relevant"

    def draft(self) -> str:
        return self.app.desk.scheduled_draft()

    def publish(self) -> str:
        return self.app.desk.scheduled_publish()

    def retention(self) -> str:
        cutoff = self.app.clock() - timedelta(days=self.settings.retention_days)
        pruned = self.app.store.prune(cutoff)
        return (
            f"pruned {pruned.entries} entries and {pruned.fetch_events} fetch events"
            f" from before {cutoff:%Y-%m-%d}"
        )

    def catch_up(self) -> str:
        """Fetch and process first (the edition wants fresh articles), then do what the
        day's schedule says should already be done."""
        for name in ("fetch", "process"):
            if self.stop_requested.is_set():
                return "stopped"
            self.run(name)
        now = self.app.clock().astimezone(self.zone)
        stored = self.app.store.edition(now.date())
        done = []
        if stored is None and now.time() >= self.times.draft_at:
            done.append(f"draft: {self.run('draft').outcome}")
        publish_at = self.times.publish_at
        unpublished = stored is None or stored.status is not Status.PUBLISHED
        if publish_at is not None and now.time() >= publish_at and unpublished:
            done.append(f"publish: {self.run('publish').outcome}")
        return "; ".join(done) or "nothing missed"
