"""What the workers' tasks do, as plain methods on the facade (:class:`aggregator.app.App`)
so that they run, and are tested, without a worker.

Every job is idempotent, so a job run twice (a worker died after doing the work but before
saying so) changes nothing the second time:

* ``fetch_source`` fetches one source only if it is still due (its next fetch time lives in
  the store and moves on once a fetch is recorded); entries are upserted on (source, key).
* ``process_pending`` processes what is pending under the current rules; nothing twice.
* ``draft_today`` keeps the editors' changes and leaves a published edition alone.
* ``publish_today`` publishes only an approved, unpublished edition.
* ``prune`` deletes what is older than the cut-off; a second run finds nothing.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from aggregator.app import App
from aggregator.fetch.http import HttpClient
from aggregator.fetch.parsing import parse_body
from aggregator.fetch.runner import FetchRun, RunOptions
from aggregator.fetch.schedule import decide
from aggregator.fetch.source import Parse
from aggregator.models import FetchReport
from aggregator.sources import Source

log = logging.getLogger(__name__)

FETCH = "aggregator.fetch_source"
PROCESS = "aggregator.process_pending"
PROCESS_LOCK = "process"


def fetch_lock(url: str) -> str:
    return f"fetch:{url}"


def defer(queue: procrastinate.App, task: str, *, lock: str, **kwargs: Any) -> bool:
    """Queue ``task`` unless a job with the same lock is already waiting; True if queued.

    ``lock`` is both the queueing lock (at most one waiting job) and the running lock (at
    most one running job at a time, across all workers).
    """
    try:
        queue.configure_task(task, queueing_lock=lock, lock=lock).defer(**kwargs)
    except AlreadyEnqueued:
        return False
    return True


class Jobs:
    """The jobs of one worker process: its facade, HTTP client and parser, and the queue
    it adds follow-up jobs to."""

    def __init__(self, app: App, queue: procrastinate.App, *, parse: Parse = parse_body) -> None:
        self.app, self.queue, self.parse = app, queue, parse
        self.client = HttpClient(app.http_options(), clock=app.clock)
        self._by_url = {source.url: source for source in app.config.sources}

    def close(self) -> None:
        self.client.close()

    def scan_due(self) -> str:
        """Queue a fetch for every enabled source that is due (at most one waits per source)."""
        enabled = [source for source in self.app.config.sources if source.enabled]
        now = self.app.clock()
        self.app.store.sync_sources(enabled, now)
        states = self.app.store.states()
        due = [s for s in enabled if decide(s, states.get(s.url), now, due_only=True).fetch]
        queued = sum(defer(self.queue, FETCH, lock=fetch_lock(s.url), url=s.url) for s in due)
        return f"{len(due)} of {len(enabled)} sources due, {queued} queued"

    def fetch_source(self, url: str) -> str:
        """Fetch one source if it is (still) enabled and due; queue processing on news."""
        source = self._by_url.get(url)
        if source is None or not source.enabled:
            return f"{url}: no longer an enabled source; nothing to do"
        report = self._fetch(source).sources[0]
        if report.new_entries or report.updated_entries:
            defer(self.queue, PROCESS, lock=PROCESS_LOCK, limit=None)
        return (
            f"{source.name}: {report.status.value}, {report.new_entries} new,"
            f" {report.updated_entries} updated"
        )

    def _fetch(self, source: Source) -> FetchReport:
        app = self.app
        settings = app.config.settings.fetch
        run = FetchRun(app.store, self.client, settings, app.clock, random.Random(), self.parse)
        return run.run([source], RunOptions(named=True, due_only=True))

    def process_pending(self, limit: int | None = None) -> str:
        report = self.app.process(limit)
        return f"{report.processed} processed, {report.relevant} relevant"

    def draft_today(self) -> str:
        return self.app.desk.scheduled_draft()

    def publish_today(self) -> str:
        return self.app.desk.scheduled_publish()

    def prune(self, retention_days: int) -> str:
        cutoff = self.app.clock() - timedelta(days=retention_days)
        pruned = self.app.store.prune(cutoff)
        return f"pruned {pruned.entries} entries and {pruned.fetch_events} fetch events"
