"""Whole fetch runs against a local server, on SQLite and on PostgreSQL.

Every good fixture and every bad input at once: each bad input gets its own clear error,
the run ends in time, every other source is stored, nothing stored is lost, and fetching
again adds nothing.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler

import psutil
import pytest

from aggregator.app import App
from aggregator.models import FetchStatus
from tests.conftest import FIXTURES

FEEDS = FIXTURES / "feeds"
EXPECTED = json.loads((FEEDS / "expected.json").read_text(encoding="utf-8"))
GOOD = sorted(n for n, s in EXPECTED.items() if "entries" in s and "selectors" not in s)


def serve_fixtures(server) -> list[dict]:
    sources = []
    for name in GOOD:
        server.serve(
            f"/feeds/{name}",
            (FEEDS / name).read_bytes(),
            Content_Type=EXPECTED[name]["content_type"],
        )
        sources.append({"name": name, "url": server.url(f"/feeds/{name}")})
    listing = EXPECTED["listing.html"]
    server.serve("/listing", (FEEDS / "listing.html").read_bytes(), Content_Type="text/html")
    sources.append(
        {
            "name": "listing",
            "url": server.url("/listing"),
            "kind": "page",
            "selectors": listing["selectors"],
        }
    )
    return sources


def serve_bad_inputs(server, stop: threading.Event) -> dict[str, tuple[str, str]]:
    """Bad inputs by source name, with the error kind and a phrase its message must hold."""

    def trickle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", "10000")
        request.end_headers()
        while not stop.wait(0.25):
            request.wfile.write(b"<")
            request.wfile.flush()

    server.handle("/trickle", trickle)
    server.serve("/huge", b"<rss>" + b" " * (16 << 20))
    bomb = gzip.compress(b"\0" * (1 << 20), compresslevel=9) * 1024  # 1 GiB unpacked
    server.serve("/bomb", bomb, Content_Encoding="gzip", Content_Type="application/rss+xml")
    server.serve("/empty", b"", Content_Type="application/rss+xml")
    server.serve("/html", (FEEDS / "html-page.html").read_bytes(), Content_Type="text/html")
    server.serve("/entities", (FEEDS / "entities.xml").read_bytes(), Content_Type="text/xml")
    server.serve("/missing", b"gone", status=404)
    server.serve("/busy", b"", status=429, Retry_After="3600")
    server.serve("/loop-a", status=302, Location="/loop-b")
    server.serve("/loop-b", status=302, Location="/loop-a")
    server.serve(
        "/to-private", status=302, Location=f"http://127.0.0.1:{server.port}/feeds/rss20.xml"
    )
    return {
        "trickle": ("timeout", "deadline"),
        "huge": ("too_large", "cap"),
        "bomb": ("too_large", "after decompression"),
        "empty": ("parse", "empty"),
        "html": ("not_a_feed", "HTML page"),
        "entities": ("parse", "entities"),
        "missing": ("http", "404"),
        "busy": ("http", "429"),
        "loop-a": ("redirect", "loop"),
        "to-private": ("forbidden_address", "127.0.0.1"),
        "nowhere": ("dns", "resolve"),
    }


@pytest.fixture
def stop():
    event = threading.Event()
    yield event
    event.set()


def bad_sources(server, bad) -> list[dict]:
    urls = {name: server.url(f"/{name}") for name in bad}
    urls["nowhere"] = "http://no-such-host.invalid/feed"
    return [{"name": name, "url": url} for name, url in urls.items()]


def test_fetch_everything_good_and_bad(server, make_config, clock, stop):
    good = serve_fixtures(server)
    bad = serve_bad_inputs(server, stop)
    config = make_config(
        good + bad_sources(server, bad), fetch={"deadline": "3s", "parse_processes": 1}
    )
    started = time.monotonic()
    rss_before = psutil.Process().memory_info().rss
    with App(config, clock=clock) as app:
        report = app.fetch()
        elapsed = time.monotonic() - started
        assert psutil.Process().memory_info().rss - rss_before < 300 << 20
        by_name = {r.name: r for r in report.sources}
        for name in GOOD:
            want = len(EXPECTED[name]["entries"])
            assert by_name[name].status is FetchStatus.OK, by_name[name].error
            assert by_name[name].new_entries >= want, name
        assert by_name["listing"].new_entries == len(EXPECTED["listing.html"]["entries"])
        for name, (kind, phrase) in bad.items():
            assert by_name[name].status is FetchStatus.ERROR, name
            assert by_name[name].error_kind == kind, (name, by_name[name].error)
            assert phrase in by_name[name].error, (name, by_name[name].error)
        assert elapsed < 30
        stored = app.store.count_entries()
        assert stored == report.new_entries

        clock.advance(minutes=5)
        again = app.fetch()
        assert again.new_entries == 0
        assert app.store.count_entries() == stored
        assert {r.name: r.status for r in again.sources}["busy"] is FetchStatus.SKIPPED


def test_second_fetch_uses_validators_and_stores_nothing_twice(server, make_config, clock):
    def conditional(request: BaseHTTPRequestHandler) -> None:
        body = (FEEDS / "rss20.xml").read_bytes()
        if request.headers.get("If-None-Match") == '"r1"':
            request.send_response(304)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        request.send_response(200)
        request.send_header("ETag", '"r1"')
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    url = server.handle("/conditional", conditional)
    plain = server.serve("/plain", (FEEDS / "atom10.xml").read_bytes())
    config = make_config([{"name": "C", "url": url}, {"name": "P", "url": plain}])
    with App(config, clock=clock) as app:
        first = {r.name: r for r in app.fetch().sources}
        second = {r.name: r for r in app.fetch().sources}
        assert first["C"].new_entries == 8 and first["P"].new_entries == 5
        assert second["C"].status is FetchStatus.NOT_MODIFIED
        assert second["P"].status is FetchStatus.UNCHANGED  # same body: not parsed again
        assert app.store.count_entries() == 13


def test_a_feed_that_breaks_loses_nothing_already_stored(server, make_config, clock):
    url = server.serve("/feed", (FEEDS / "rss20.xml").read_bytes())
    config = make_config([{"name": "Feed", "url": url}])
    with App(config, clock=clock) as app:
        app.fetch()
        server.serve("/feed", (FEEDS / "broken.xml").read_bytes()[:40])
        clock.advance(hours=1)
        report = app.fetch()
        assert report.sources[0].status is FetchStatus.ERROR
        assert app.store.count_entries() == 8
        ((_, row),) = app.health()
        assert row.state.error_count == 1 and row.state.last_success_at is not None
        assert len(app.store.events_of(url)) == 2


def test_updated_items_are_updated_not_duplicated(server, make_config, clock):
    body = (FEEDS / "rss20.xml").read_bytes()
    url = server.serve("/feed", body)
    config = make_config([{"name": "Feed", "url": url}])
    with App(config, clock=clock) as app:
        app.fetch()
        edited = body.replace(b"Coast guard rescues 143 people", b"Coast guard rescues 150 people")
        server.serve("/feed", edited)
        clock.advance(hours=1)
        report = app.fetch()
        assert (report.sources[0].new_entries, report.sources[0].updated_entries) == (0, 1)
        titles = [e["title"] for e in app.store.entries_of(url)]
        assert len(titles) == 8 and any("150 people" in t for t in titles)


def test_gone_source_is_disabled_and_force_tries_again(server, make_config, clock):
    url = server.serve("/gone", b"", status=410)
    config = make_config([{"name": "Gone", "url": url}])
    with App(config, clock=clock) as app:
        assert app.fetch().sources[0].error_kind == "http"
        assert app.fetch().sources[0].status is FetchStatus.DISABLED
        assert server.hits["/gone"] == 1
        server.serve("/gone", (FEEDS / "rss092.xml").read_bytes())
        revived = app.fetch(force=True).sources[0]
        assert revived.status is FetchStatus.OK and revived.new_entries == 3


def test_retry_after_is_honoured_until_it_passes(server, make_config, clock):
    url = server.serve("/busy", b"", status=503, Retry_After="600")
    config = make_config([{"name": "Busy", "url": url}])
    with App(config, clock=clock) as app:
        app.fetch()
        assert app.fetch().sources[0].status is FetchStatus.SKIPPED
        assert server.hits["/busy"] == 1
        clock.advance(minutes=11)
        server.serve("/busy", (FEEDS / "rss092.xml").read_bytes())
        assert app.fetch().sources[0].status is FetchStatus.OK


def test_named_sources_only(server, make_config, clock):
    a = server.serve("/a", (FEEDS / "rss092.xml").read_bytes())
    b = server.serve("/b", (FEEDS / "rss091.xml").read_bytes())
    config = make_config([{"name": "A", "url": a}, {"name": "B", "url": b}])
    with App(config, clock=clock) as app:
        report = app.fetch(["a"])
        assert [r.name for r in report.sources] == ["A"]
        assert server.hits["/b"] == 0


def test_per_host_limit_is_respected(server, make_config, clock):
    in_flight, peak, lock = [0], [0], threading.Lock()
    body = (FEEDS / "rss092.xml").read_bytes()

    def slow(request: BaseHTTPRequestHandler) -> None:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.2)
        with lock:
            in_flight[0] -= 1
        request.send_response(200)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    sources = [{"name": f"S{i}", "url": server.handle(f"/s{i}", slow)} for i in range(8)]
    config = make_config(sources, fetch={"per_host": 2, "concurrency": 8})
    with App(config, clock=clock) as app:
        started = time.monotonic()
        report = app.fetch()
        assert all(r.status is FetchStatus.OK for r in report.sources)
        assert peak[0] == 2
        assert time.monotonic() - started >= 0.8  # 8 requests, 2 at a time, 0.2 s each


def test_external_dtd_and_entities_are_never_fetched(server, make_config, clock):
    canary = server.serve("/canary.dtd", b'<!ENTITY secret "leaked">')
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{canary}">'
        '<rss version="2.0"><channel><title>T</title><item><title>Item</title>'
        "<link>http://e.org/a</link></item></channel></rss>"
    ).encode()
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "{canary}">]>'
        '<rss version="2.0"><channel><title>&x;</title></channel></rss>'
    ).encode()
    sources = [
        {"name": "dtd", "url": server.serve("/dtd.xml", body)},
        {"name": "xxe", "url": server.serve("/xxe.xml", xxe)},
    ]
    with App(make_config(sources, fetch={"parse_processes": 1}), clock=clock) as app:
        report = {r.name: r for r in app.fetch().sources}
    assert report["dtd"].status is FetchStatus.OK and report["dtd"].new_entries == 1
    assert report["xxe"].error_kind == "parse"
    assert server.hits["/canary.dtd"] == 0


def test_a_kept_parser_serves_every_fetch_of_a_long_lived_process(
    server, make_config, clock, monkeypatch
):
    from aggregator.fetch import parsing

    started = []
    real = parsing.ParserPool.__init__

    def counted(pool, *args, **kwargs):
        started.append(pool)
        real(pool, *args, **kwargs)

    monkeypatch.setattr(parsing.ParserPool, "__init__", counted)
    feeds = [
        {"name": f"F{i}", "url": server.serve(f"/kept{i}", (FEEDS / "rss20.xml").read_bytes())}
        for i in range(2)
    ]
    with App(make_config(feeds, fetch={"parse_processes": 1}), clock=clock) as app:
        app.fetch(["F0"])
        assert len(started) == 1  # a one-off fetch starts its own processes
        with app.keep_parser():
            for name in ("F0", "F1"):
                report = app.fetch([name], force=True)
                assert report.sources[0].status in (FetchStatus.OK, FetchStatus.UNCHANGED)
        assert len(started) == 2  # one pool for both fetches in the block
        assert app.parse is None
