"""Parser processes: same results as in-thread parsing, and a hostile document fails alone."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime

import pytest

from aggregator.app import App
from aggregator.errors import ParseError, ParserUnavailable
from aggregator.fetch import parsing
from aggregator.fetch.parsing import ParserPool, parse_body
from aggregator.models import HttpResult
from aggregator.sources import Source
from tests.conftest import FIXTURES

SEEN = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
SOURCE = Source(name="Feed", url="http://fixtures.example/feed.xml")


def result(body: bytes) -> HttpResult:
    return HttpResult(SOURCE.url, SOURCE.url, 200, {"content-type": "application/rss+xml"}, body)


def big_feed(items: int) -> bytes:
    rows = "".join(
        f"<item><title>Item {i}</title><link>http://e.org/{i}</link>"
        f"<description>{'text ' * 40}</description></item>"
        for i in range(items)
    )
    head = '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>'
    return f"{head}{rows}</channel></rss>".encode()


SMALL = result((FIXTURES / "feeds" / "rss20.xml").read_bytes())


@pytest.fixture
def pool():
    parser = ParserPool(1, 1 << 30, timeout=30)
    yield parser
    parser.close()


def test_pool_parses_like_the_thread(pool):
    assert pool(SOURCE, SMALL, SEEN) == parse_body(SOURCE, SMALL, SEEN)


def test_parse_errors_come_back_as_parse_errors(pool):
    with pytest.raises(ParseError, match="empty"):
        pool(SOURCE, result(b"  "), SEEN)


def test_a_parse_over_time_is_stopped_and_the_pool_recovers():
    parser = ParserPool(1, 1 << 30, timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(ParseError, match=r"took longer than 0\.5s"):
            parser(SOURCE, result(big_feed(60_000)), SEEN)
        assert time.monotonic() - started < 5
        assert len(parser(SOURCE, SMALL, SEEN).entries) == 8
    finally:
        parser.close()


def test_a_document_over_the_memory_cap_fails_alone():
    parser = ParserPool(1, 160 << 20, timeout=5)  # over the cap: MemoryError, or a stuck parser
    try:
        with pytest.raises(ParseError):
            parser(SOURCE, result(big_feed(60_000)), SEEN)
        assert len(parser(SOURCE, SMALL, SEEN).entries) == 8
    finally:
        parser.close()


def test_a_killed_parser_process_is_replaced_and_the_document_retried(pool):
    pool(SOURCE, SMALL, SEEN)  # the process is up
    victim = next(iter(pool._executor._processes.values()))
    threading.Timer(0.5, victim.kill).start()
    parsed = pool(SOURCE, result(big_feed(30_000)), SEEN)
    assert len(parsed.entries) == 30_000
    assert victim.exitcode is not None


def _die(_memory_limit: int) -> None:
    os._exit(3)  # a parser process that cannot start


def test_parser_processes_that_cannot_start_are_reported(monkeypatch):
    monkeypatch.setattr(parsing, "_limit_memory", _die)
    pool = ParserPool(1, 1 << 30, timeout=10)
    with pytest.raises(ParserUnavailable):
        pool.check()


def test_a_run_parses_in_threads_when_processes_cannot_start(
    monkeypatch, server, make_config, clock, caplog
):
    monkeypatch.setattr(parsing, "_limit_memory", _die)
    url = server.serve("/feed", SMALL.body)
    config = make_config([{"name": "Feed", "url": url}], fetch={"parse_processes": 1})
    with App(config, clock=clock) as app:
        (report,) = app.fetch().sources
    assert report.new_entries == 8
    assert "parsing in the fetching threads instead" in caplog.text
