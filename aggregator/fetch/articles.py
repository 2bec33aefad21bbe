"""Article pages, fetched politely: robots.txt, one request at a time per host, a delay.

``fetch_many`` runs on the caller's thread as a scheduler: it hands a page to a worker only
when that page's host has nothing in flight and its delay has passed, and otherwise waits
for a worker to finish or, when none is busy, sleeps until the next host is due. Workers
never sleep, so a host that must wait never holds up the others.

The delay between the starts of two requests to one host is ``min_delay``, or the host's
robots.txt Crawl-delay when that is longer, capped at ``max_delay``; after a 429 or 503 it is
``max_delay``. The robots.txt request itself (made once per origin by ``RobotsCache``) is
not spaced from the first page request.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from aggregator.errors import FetchError, HTTPStatusError
from aggregator.fetch.http import PAGE_ACCEPT, HttpClient
from aggregator.fetch.robots import RobotsCache, origin_of

log = logging.getLogger(__name__)

ROBOTS_KIND = "robots"
_SLOW_DOWN = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class PageFetch:
    url: str
    final_url: str | None = None
    http_status: int | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    error_kind: str | None = None  # FetchError.kind, or "robots" when robots.txt forbids it
    elapsed: float = 0.0


@dataclass(frozen=True, slots=True)
class _Done:
    page: PageFetch
    started: float | None  # when the request started; None when none was made
    delay: float  # before the host's next request


class ArticleFetcher:
    def __init__(
        self,
        client: HttpClient,
        robots: RobotsCache,
        *,
        max_bytes: int,
        workers: int = 8,
        min_delay: float = 1.0,
        max_delay: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if workers < 1 or min_delay < 0 or max_delay < min_delay:
            raise ValueError("need workers >= 1 and 0 <= min_delay <= max_delay")
        self._client, self._robots, self._max_bytes = client, robots, max_bytes
        self._workers, self._min_delay, self._max_delay = workers, min_delay, max_delay
        self._monotonic, self._sleep = monotonic, sleep

    def fetch_many(self, urls: Sequence[str]) -> Iterator[PageFetch]:
        """One PageFetch per distinct URL, yielded as each completes (not in input order)."""
        hosts = _Hosts()
        for url in dict.fromkeys(urls):
            try:
                hosts.add(origin_of(url).host, url)
            except FetchError as exc:
                yield PageFetch(url, error=str(exc), error_kind=exc.kind)
        with ThreadPoolExecutor(self._workers, thread_name_prefix="article") as pool:
            running: dict[Future[_Done], str] = {}
            while hosts or running:
                self._dispatch(pool, hosts, running)
                if running:
                    done, _ = wait(running, self._pause(hosts, running), FIRST_COMPLETED)
                    pages = self._finish(done, running, hosts)
                    self._dispatch(pool, hosts, running)  # keep workers busy while the caller works
                    yield from pages
                else:  # nothing in flight: only this thread waits for the next host
                    self._sleep(hosts.pause(self._monotonic()) or 0.0)

    def _dispatch(
        self, pool: ThreadPoolExecutor, hosts: _Hosts, running: dict[Future[_Done], str]
    ) -> None:
        while len(running) < self._workers and (taken := hosts.take(self._monotonic())):
            host, url = taken
            running[pool.submit(self._fetch, url)] = host

    def _pause(self, hosts: _Hosts, running: dict[Future[_Done], str]) -> float | None:
        """How long to wait for a completion before a waiting host falls due."""
        if len(running) >= self._workers:
            return None  # only a completion can start anything new
        return hosts.pause(self._monotonic())

    def _finish(
        self, done: set[Future[_Done]], running: dict[Future[_Done], str], hosts: _Hosts
    ) -> list[PageFetch]:
        pages = []
        for future in done:
            host = running.pop(future)
            result = future.result()  # anything but a FetchError is a bug: let it out
            hosts.release(host, None if result.started is None else result.started + result.delay)
            pages.append(result.page)
        return pages

    def _fetch(self, url: str) -> _Done:
        decision = self._robots.check(url)
        if not decision.allowed:
            page = PageFetch(url, error=decision.reason, error_kind=ROBOTS_KIND)
            return _Done(page, None, 0.0)
        delay = max(self._min_delay, min(decision.crawl_delay or 0.0, self._max_delay))
        started = self._monotonic()
        try:
            result = self._client.get(url, max_bytes=self._max_bytes, accept=PAGE_ACCEPT)
        except FetchError as exc:
            return _Done(self._failed(url, exc, started), started, self._after_error(exc, delay))
        page = PageFetch(
            url,
            result.final_url,
            result.status,
            result.body,
            result.headers,
            elapsed=self._monotonic() - started,
        )
        return _Done(page, started, delay)

    def _failed(self, url: str, exc: FetchError, started: float) -> PageFetch:
        status = exc.status if isinstance(exc, HTTPStatusError) else None
        log.info("article fetch failed: %s", exc, extra={"url": url, "error_kind": exc.kind})
        return PageFetch(
            url,
            http_status=status,
            error=str(exc),
            error_kind=exc.kind,
            elapsed=self._monotonic() - started,
        )

    def _after_error(self, exc: FetchError, delay: float) -> float:
        """The host asked us to slow down: wait as long as we are willing to."""
        if isinstance(exc, HTTPStatusError) and exc.status in _SLOW_DOWN:
            return self._max_delay
        return delay


class _Hosts:
    """Pages waiting, by host; a host is due when idle and its delay has passed."""

    def __init__(self) -> None:
        self._waiting: dict[str, deque[str]] = {}
        self._busy: set[str] = set()
        self._due: dict[str, float] = {}

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def add(self, host: str, url: str) -> None:
        self._waiting.setdefault(host, deque()).append(url)

    def take(self, now: float) -> tuple[str, str] | None:
        for host, waiting in self._waiting.items():
            if host not in self._busy and self._due.get(host, now) <= now:
                url = waiting.popleft()
                if not waiting:
                    del self._waiting[host]
                self._busy.add(host)
                return host, url
        return None

    def release(self, host: str, due: float | None) -> None:
        self._busy.discard(host)
        if due is not None:
            self._due[host] = due

    def pause(self, now: float) -> float | None:
        """Seconds until the next idle host is due; None when no idle host is waiting."""
        dues = [self._due.get(h, now) for h in self._waiting if h not in self._busy]
        return max(0.0, min(dues) - now) if dues else None
