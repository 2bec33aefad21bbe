"""Turning a fetched body into a ParsedFeed, here or in a separate parser process.

Parsing is the CPU-heavy part of a fetch. Threads share one core (the GIL), so a run with
many sources parses in a pool of processes while its threads keep the network busy. The pool
also contains a hostile document: each parser process has a cap on its address space, and a
document that needs more, or kills the process, fails that source alone.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import resource
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import TYPE_CHECKING

from aggregator.errors import ParseError, ParserUnavailable
from aggregator.models import HttpResult, ParsedFeed
from aggregator.sources import Kind, Source

log = logging.getLogger(__name__)
PARSES_PER_PROCESS = 2000  # documents a parser process takes before it is replaced

if TYPE_CHECKING:
    from aggregator.config import FetchSettings
    from aggregator.fetch.source import Parse


def parse_body(source: Source, result: HttpResult, first_seen: datetime) -> ParsedFeed:
    # Imported on first use: a run where nothing changed (all 304) parses nothing, and the
    # parser libraries are a fifth of the command's start-up time.
    from aggregator.fetch.feeds import parse_feed
    from aggregator.fetch.pages import parse_page

    if source.kind is Kind.PAGE:
        assert source.selectors is not None  # the schema requires them for pages
        return parse_page(result.body, result.final_url, source.selectors, first_seen)
    return parse_feed(result.body, result.headers, result.final_url, first_seen)


def _parse_in_child(source: Source, result: HttpResult, first_seen: datetime) -> ParsedFeed:
    try:
        return parse_body(source, result, first_seen)
    except MemoryError:
        raise ParseError("parsing this document needs more memory than allowed") from None
    except RecursionError:
        raise ParseError("the document is nested too deeply to parse") from None


def _ping() -> bool:
    return True


def _limit_memory(max_bytes: int) -> None:
    if max_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))


class ParserPool:
    """Parser processes, replaced if one dies or overruns; thread-safe, used like
    ``parse_body``.

    At most one document per process is handed over at a time, so the time limit measures
    parsing, not waiting behind other documents, and a process that dies takes no queued
    documents with it.
    """

    def __init__(self, processes: int, memory_limit: int, timeout: float) -> None:
        self._processes = processes
        self._memory_limit = memory_limit
        self._timeout = timeout
        self._slots = threading.BoundedSemaphore(processes)
        self._lock = threading.Lock()
        self._generation = 0
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self._processes,
            mp_context=multiprocessing.get_context("spawn"),  # no fork of a threaded process
            # A daemon keeps its pool for months: renew a process now and then, so what a
            # parser leaks or fragments never adds up to its memory cap.
            max_tasks_per_child=PARSES_PER_PROCESS,
            initializer=_limit_memory,
            initargs=(self._memory_limit,),
        )

    def check(self) -> None:
        """Wait until the processes are up; ParserUnavailable if they cannot start.

        A process cannot start, for instance, when the program's main module cannot be
        imported again (a script read from standard input).
        """
        with self._lock:
            executor = self._executor
        try:
            for ping in [executor.submit(_ping) for _ in range(self._processes)]:
                ping.result(timeout=max(self._timeout, 30))
        except (BrokenProcessPool, TimeoutError) as exc:
            _kill(executor)
            raise ParserUnavailable(f"parser processes cannot start: {exc!r}") from exc

    def __call__(self, source: Source, result: HttpResult, first_seen: datetime) -> ParsedFeed:
        for attempt in (1, 2):  # another document may have killed the process under us
            with self._slots:
                with self._lock:
                    executor, generation = self._executor, self._generation
                future = executor.submit(_parse_in_child, source, result, first_seen)
                try:
                    return future.result(timeout=self._timeout)
                except BrokenProcessPool:
                    self._restart(generation)
                    log.debug("parser process died (attempt %d) on %s", attempt, source.url)
                except TimeoutError:
                    # A running parse cannot be cancelled: its process is killed and replaced.
                    self._restart(generation)
                    raise ParseError(f"parsing took longer than {self._timeout:g}s") from None
        raise ParseError("the parser process died on this document")

    def _restart(self, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return  # another thread already replaced it
            log.warning("replacing the parser process")
            _kill(self._executor)
            self._executor = self._start()
            self._generation += 1
        with contextlib.suppress(ParserUnavailable):
            self.check()  # start-up is not parse time; a failure shows on the next document

    def close(self) -> None:
        with self._lock:
            self._executor.shutdown(wait=True, cancel_futures=True)


def _kill(executor: ProcessPoolExecutor) -> None:
    # Python 3.14 has ProcessPoolExecutor.kill_workers(); before it, the processes are only
    # reachable through this attribute.
    for process in list(getattr(executor, "_processes", {}).values()):
        process.kill()
    executor.shutdown(wait=False, cancel_futures=True)


@contextlib.contextmanager
def parser_for(settings: FetchSettings) -> Iterator[Parse]:
    """Parser processes as the settings ask (``fetch.parse_processes``), or parsing in the
    fetching threads when there are none or they cannot start. A long-lived process (the
    daemon, a worker) keeps one for its life: starting processes costs 0.4-0.7 s."""
    if settings.parse_processes == 0:
        yield parse_body
        return
    pool = ParserPool(
        settings.parse_processes, int(settings.parse_memory), settings.parse_timeout.total_seconds()
    )
    try:
        pool.check()
    except ParserUnavailable as exc:
        log.warning("%s; parsing in the fetching threads instead", exc)
        pool.close()
        yield parse_body
        return
    try:
        yield pool
    finally:
        pool.close()
