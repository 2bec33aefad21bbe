"""A fetch run: many sources at once, politely, with one writer.

Worker threads do the network and hand bodies to the parser processes (or parse themselves
when ``parse_processes`` is 0); this thread hands them work and records results in the store
as they arrive, a transaction per batch (SQLite wants a single writer, and a crash loses
nothing already recorded). Work is handed out so that no host has more than ``per_host``
fetches in flight, without parking threads on a lock.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from aggregator.config import FetchSettings
from aggregator.fetch.http import HttpClient
from aggregator.fetch.parsing import parse_body, parser_for
from aggregator.fetch.schedule import Decision, decide, next_state
from aggregator.fetch.source import Parse, fetch_source
from aggregator.models import FetchOutcome, FetchReport, FetchStatus, SourceReport, SourceState
from aggregator.sources import Source
from aggregator.store import Store

log = logging.getLogger(__name__)

Progress = Callable[[SourceReport], None]


@dataclass(frozen=True)
class RunOptions:
    force: bool = False
    named: bool = False
    due_only: bool = False


class FetchRun:
    def __init__(
        self,
        store: Store,
        client: HttpClient,
        settings: FetchSettings,
        clock: Callable[[], datetime],
        rng: random.Random,
        parse: Parse | None = None,
    ) -> None:
        """``parse``: a parser the caller keeps alive across runs (a worker's); without
        one, each run with work starts its own parser processes."""
        self.store, self.client, self.settings = store, client, settings
        self.clock, self.rng, self.parse = clock, rng, parse

    def run(
        self, chosen: Sequence[Source], options: RunOptions, progress: Progress | None = None
    ) -> FetchReport:
        ids = self.store.sync_sources(chosen, self.clock())
        states = self.store.states([s.url for s in chosen])
        reports: dict[str, SourceReport] = {}
        todo = []
        for source, decision in self._decide(chosen, states, options):
            if decision.fetch:
                todo.append(source)
                continue
            assert decision.status is not None
            reports[source.url] = SourceReport(
                source.name, source.url, decision.status, error=decision.reason
            )
            _tell(progress, reports[source.url])
        with self._parser(todo) as parse:
            for batch in self._fetch_all(todo, states, parse):
                for report in self._record(batch, ids, states):
                    reports[report.url] = report
                    _tell(progress, report)
        return FetchReport(tuple(reports[s.url] for s in chosen))

    def _decide(
        self, chosen: Sequence[Source], states: dict[str, SourceState], options: RunOptions
    ) -> Iterator[tuple[Source, Decision]]:
        now = self.clock()
        for source in chosen:
            yield (
                source,
                decide(
                    source,
                    states.get(source.url),
                    now,
                    force=options.force,
                    named=options.named,
                    due_only=options.due_only,
                ),
            )

    @contextmanager
    def _parser(self, todo: Sequence[Source]) -> Iterator[Parse]:
        """The caller's parser, else one for this run if it has work."""
        if self.parse is not None:
            yield self.parse
        elif not todo:
            yield parse_body
        else:
            with parser_for(self.settings) as parse:
                yield parse

    def _fetch_all(
        self, todo: Sequence[Source], states: dict[str, SourceState], parse: Parse
    ) -> Iterator[list[tuple[Source, FetchOutcome]]]:
        """Yields the fetches that completed together, as they complete."""
        queue = _HostQueue(todo, self.settings.per_host)
        with ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="fetch") as pool:
            running: dict[Future[FetchOutcome], Source] = {}
            while queue or running:
                while len(running) < self.settings.concurrency and (source := queue.take()):
                    future = pool.submit(
                        fetch_source,
                        self.client,
                        source,
                        states.get(source.url),
                        self.settings,
                        self.clock(),
                        parse,
                    )
                    running[future] = source
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                batch = []
                for future in done:
                    source = running.pop(future)
                    queue.release(source)
                    batch.append((source, future.result()))
                yield batch

    def _record(
        self,
        batch: Sequence[tuple[Source, FetchOutcome]],
        ids: dict[str, int],
        states: dict[str, SourceState],
    ) -> list[SourceReport]:
        rows = []
        for source, outcome in batch:
            before = states.get(source.url) or SourceState(source.url)
            rows.append(
                (
                    ids[source.url],
                    outcome,
                    next_state(before, outcome, source, self.settings, self.rng),
                )
            )
            _log(source, outcome)
        counts = self.store.record_fetches(rows)
        return [
            SourceReport(
                source.name,
                source.url,
                outcome.status,
                new,
                updated,
                outcome.duration,
                outcome.error,
                outcome.error_kind,
                outcome.http_status,
            )
            for (source, outcome), (new, updated) in zip(batch, counts, strict=True)
        ]


def _log(source: Source, outcome: FetchOutcome) -> None:
    keys = {
        "source": source.name,
        "url": source.url,
        "stage": "fetch",
        "status": outcome.status.value,
        "duration": outcome.duration,
    }
    if outcome.status is FetchStatus.ERROR:
        keys.update(error_kind=outcome.error_kind, http_status=outcome.http_status)
        log.info("fetch failed: %s", outcome.error, extra=keys)  # the report shows it too
    else:
        log.info("fetched", extra=keys)


class _HostQueue:
    """Sources waiting to be fetched, handed out only while their host has room."""

    def __init__(self, sources: Sequence[Source], per_host: int) -> None:
        self._waiting: dict[str, deque[Source]] = {}
        for source in sources:
            self._waiting.setdefault(source.host, deque()).append(source)
        self._busy: dict[str, int] = {}
        self._per_host = per_host

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def take(self) -> Source | None:
        for host, waiting in self._waiting.items():
            if self._busy.get(host, 0) < self._per_host:
                source = waiting.popleft()
                if not waiting:
                    del self._waiting[host]
                self._busy[host] = self._busy.get(host, 0) + 1
                return source
        return None

    def release(self, source: Source) -> None:
        self._busy[source.host] -= 1


def _tell(progress: Progress | None, report: SourceReport) -> None:
    if progress is not None:
        progress(report)
