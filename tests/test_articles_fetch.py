"""Article pages against a local server: robots.txt, per-host spacing, errors, duplicates."""

from __future__ import annotations

import itertools
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler

import pytest

from aggregator.errors import HTTPStatusError
from aggregator.fetch.articles import ArticleFetcher, PageFetch
from aggregator.fetch.guard import AddressPolicy
from aggregator.fetch.http import HttpClient, HttpOptions
from aggregator.fetch.robots import RobotsCache, origin_of
from aggregator.models import HttpResult
from tests.conftest import FakeClock
from tests.server import FixtureServer, Reply

HOSTS = ("localhost", "127.0.0.1")


class FakeTime:
    """Injected monotonic/sleep: sleeping moves time on; the caller threads are recorded."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        self.sleepers: set[str] = set()
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.sleepers.add(threading.current_thread().name)
            self.now += seconds


@pytest.fixture
def client() -> Iterator[HttpClient]:
    options = HttpOptions(
        user_agent="aggregator/0 (+https://example.org/contact)",
        deadline=3.0,
        connect_timeout=1.0,
        policy=AddressPolicy(allow_hosts=frozenset(HOSTS)),
    )
    http = HttpClient(options)
    yield http
    http.close()


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def make_robots(client: HttpClient, clock: FakeClock, token: str = "aggregator", **kw):
    return RobotsCache(client, token, clock=clock, **kw)


def make_fetcher(client, robots, fake: FakeTime, **kw) -> ArticleFetcher:
    return ArticleFetcher(
        client, robots, max_bytes=10_000, monotonic=fake.monotonic, sleep=fake.sleep, **kw
    )


def timed_pages(server: FixtureServer, fake: FakeTime, paths: list[str]) -> list[tuple]:
    """Serve ``paths``; each hit records (host, path, fake time at arrival)."""
    log: list[tuple[str, str, float]] = []

    def page(request: BaseHTTPRequestHandler) -> None:
        log.append((request.headers["Host"].split(":")[0], request.path, fake.monotonic()))
        FixtureServer._send(request, _html(request.path))

    for path in paths:
        server.handle(path, page)
    return log


def _html(path: str) -> Reply:
    return Reply(f"<html><title>{path}</title></html>".encode(), 200, {"Content-Type": "text/html"})


def starts(log: list[tuple], host: str) -> list[float]:
    return [when for h, _, when in log if h == host]


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def by_url(results: Iterator[PageFetch]) -> dict[str, PageFetch]:
    found: dict[str, PageFetch] = {}
    for page in results:
        assert page.url not in found, f"{page.url} reported twice"
        found[page.url] = page
    return found


# --- robots.txt ---------------------------------------------------------------------------


def test_robots_allows_and_denies_by_path_with_wildcards(client, server, clock):
    server.serve("/robots.txt", b"User-agent: *\nDisallow: /private/\nDisallow: /*.pdf$\n")
    robots = make_robots(client, clock)
    assert robots.allowed(server.url("/news/story-1"))
    assert not robots.allowed(server.url("/private/story-2"))
    assert not robots.allowed(server.url("/files/report.pdf"))
    assert robots.allowed(server.url("/files/report.pdf?page=2"))


def test_robots_group_is_chosen_by_agent_token(client, server, clock):
    server.serve(
        "/robots.txt",
        b"User-agent: aggregator\nDisallow: /\nCrawl-delay: 4\n\nUser-agent: *\nAllow: /\n",
    )
    url = server.url("/news/story")
    ours, other = make_robots(client, clock), make_robots(client, clock, "otherbot")
    assert (ours.allowed(url), ours.crawl_delay(url)) == (False, 4.0)
    assert (other.allowed(url), other.crawl_delay(url)) == (True, None)


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_robots_4xx_allows_everything(client, server, clock, status):
    server.serve("/robots.txt", b"User-agent: *\nDisallow: /\n", status=status)
    assert make_robots(client, clock).allowed(server.url("/news/story"))


@pytest.mark.parametrize("status", [429, 500, 503])
def test_robots_unreachable_disallows_until_the_entry_expires(client, server, clock, status):
    server.serve("/robots.txt", b"", status=status)
    robots = make_robots(client, clock, ttl=timedelta(hours=1))
    url = server.url("/news/story")
    assert not robots.allowed(url)
    assert "unreachable" in (robots.check(url).reason or "")
    server.serve("/robots.txt", b"User-agent: *\nDisallow: /private/\n")
    clock.advance(minutes=59)
    assert not robots.allowed(url)  # cached for the ttl
    clock.advance(minutes=2)
    assert robots.allowed(url)
    assert server.hits["/robots.txt"] == 2


def test_robots_connection_failure_disallows(client, clock):
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    robots = make_robots(client, clock)
    assert not robots.allowed(f"http://localhost:{port}/news/story")


def test_robots_over_the_size_cap_allows_everything(client, server, clock):
    server.serve("/robots.txt", b"User-agent: *\nDisallow: /\n" + b"# padding\n" * 50)
    assert make_robots(client, clock, max_bytes=100).allowed(server.url("/news/story"))
    assert not make_robots(client, clock).allowed(server.url("/news/story"))


def test_robots_is_fetched_once_per_origin_even_by_concurrent_callers(client, server, clock):
    def slow_robots(request: BaseHTTPRequestHandler) -> None:
        threading.Event().wait(0.2)  # server latency: the other callers arrive meanwhile
        FixtureServer._send(request, _reply(b"User-agent: *\nDisallow: /private/\n"))

    server.handle("/robots.txt", slow_robots)
    robots = make_robots(client, clock)
    barrier = threading.Barrier(8)
    answers: list[bool] = []

    def ask(i: int) -> None:
        barrier.wait()
        answers.append(robots.allowed(server.url(f"/news/{i}")))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert answers == [True] * 8
    assert not robots.allowed(server.url("/private/x"))
    assert server.hits["/robots.txt"] == 1


def test_robots_origins_differ_by_host_and_port(client, server, clock):
    server.serve("/robots.txt", b"User-agent: *\nDisallow: /private/\n")
    robots = make_robots(client, clock)
    for host in HOSTS:
        assert not robots.allowed(server.url("/private/a", host))
    assert server.hits["/robots.txt"] == 2
    assert origin_of("HTTPS://Example.org/a").robots_url == "https://example.org/robots.txt"
    assert origin_of("http://[::1]:8080/a").robots_url == "http://[::1]:8080/robots.txt"


def _reply(body: bytes) -> Reply:
    return Reply(body, 200, {"Content-Type": "text/plain"})


# --- article pages ------------------------------------------------------------------------


def test_pages_are_fetched_and_robots_disallowed_ones_are_not(client, server, clock, fake):
    server.serve("/robots.txt", b"User-agent: aggregator\nDisallow: /private/\n")
    good = server.serve("/news/1", b"<html>story</html>", Content_Type="text/html")
    banned = server.serve("/private/2", b"<html>secret</html>")
    fetcher = make_fetcher(client, make_robots(client, clock), fake, min_delay=0.0)
    results = by_url(fetcher.fetch_many([good, banned]))
    page = results[good]
    assert (page.http_status, page.body, page.final_url) == (200, b"<html>story</html>", good)
    assert page.headers["content-type"] == "text/html" and page.error is None
    assert results[banned] == PageFetch(
        banned, error="disallowed by robots.txt", error_kind="robots"
    )
    assert server.hits["/private/2"] == 0


def test_robots_404_allows_and_500_blocks_pages(client, server, clock, fake):
    page = server.serve("/news/1", b"<html>story</html>")
    server.serve("/robots.txt", b"", status=404)
    fetcher = make_fetcher(client, make_robots(client, clock), fake)
    assert next(fetcher.fetch_many([page])).http_status == 200
    server.serve("/robots.txt", b"", status=500)
    fetcher = make_fetcher(client, make_robots(client, clock), fake)
    result = next(fetcher.fetch_many([page]))
    assert (result.error_kind, result.body, result.http_status) == ("robots", None, None)
    assert server.hits["/news/1"] == 1


def test_robots_is_read_once_for_many_pages_of_an_origin(client, server, clock, fake):
    server.serve("/robots.txt", b"User-agent: *\nAllow: /\n")
    urls = [server.serve(f"/news/{i}", b"<html/>") for i in range(6)]
    fetcher = make_fetcher(client, make_robots(client, clock), fake, min_delay=0.5)
    assert {p.http_status for p in fetcher.fetch_many(urls)} == {200}
    assert server.hits["/robots.txt"] == 1


def test_requests_to_one_host_are_spaced_by_min_delay(client, server, clock, fake):
    paths = [f"/news/{i}" for i in range(4)]
    log = timed_pages(server, fake, paths)
    fetcher = make_fetcher(client, make_robots(client, clock), fake, min_delay=2.0)
    list(fetcher.fetch_many([server.url(p) for p in paths]))
    times = starts(log, "localhost")
    assert gaps(times) == [2.0, 2.0, 2.0]
    assert fake.sleeps == [2.0, 2.0, 2.0]
    assert fake.sleepers == {threading.current_thread().name}  # never a worker


@pytest.mark.parametrize(("crawl_delay", "expected"), [("5", 5.0), ("60", 10.0), ("0.1", 1.0)])
def test_crawl_delay_is_honoured_within_bounds(client, server, clock, fake, crawl_delay, expected):
    server.serve("/robots.txt", f"User-agent: *\nCrawl-delay: {crawl_delay}\n".encode())
    paths = ["/news/1", "/news/2", "/news/3"]
    log = timed_pages(server, fake, paths)
    fetcher = make_fetcher(client, make_robots(client, clock), fake, min_delay=1.0, max_delay=10.0)
    list(fetcher.fetch_many([server.url(p) for p in paths]))
    times = starts(log, "localhost")
    assert gaps(times) == [expected, expected]


def test_two_hosts_run_side_by_side(client, server, clock, fake):
    paths = ["/news/1", "/news/2", "/news/3"]
    log = timed_pages(server, fake, paths)
    urls = [server.url(p, host) for p in paths for host in HOSTS]
    fetcher = make_fetcher(client, make_robots(client, clock), fake, workers=2, min_delay=5.0)
    assert len(list(fetcher.fetch_many(urls))) == 6
    for host in HOSTS:
        assert starts(log, host) == [100.0, 105.0, 110.0]
    assert sum(fake.sleeps) == 10.0  # the hosts waited together, not one after the other


def test_a_waiting_host_does_not_hold_up_a_ready_one(client, server, clock, fake):
    paths = ["/news/1", "/news/2", "/other/1"]
    log = timed_pages(server, fake, paths)
    urls = [server.url("/news/1"), server.url("/news/2"), server.url("/other/1", "127.0.0.1")]
    fetcher = make_fetcher(client, make_robots(client, clock), fake, workers=1, min_delay=3.0)
    list(fetcher.fetch_many(urls))
    assert starts(log, "127.0.0.1") == [100.0]
    assert starts(log, "localhost") == [100.0, 103.0]


def test_http_errors_keep_their_status(client, server, clock, fake):
    forbidden = server.serve("/news/403", b"no", status=403)
    missing = server.serve("/news/404", b"gone", status=404)
    fetcher = make_fetcher(client, make_robots(client, clock), fake, min_delay=0.0)
    results = by_url(fetcher.fetch_many([forbidden, missing]))
    for url, status in ((forbidden, 403), (missing, 404)):
        page = results[url]
        assert (page.http_status, page.error_kind, page.body) == (status, "http", None)
        assert f"HTTP {status}" in (page.error or "")


def test_too_many_requests_slows_the_host_down(client, server, clock, fake):
    log: list[tuple[str, str, float]] = []

    def busy(request: BaseHTTPRequestHandler) -> None:
        log.append(("localhost", request.path, fake.monotonic()))
        FixtureServer._send(request, _reply(b"") if request.path != "/a" else _busy_reply())

    for path in ("/a", "/b"):
        server.handle(path, busy)
    fetcher = make_fetcher(client, make_robots(client, clock), fake, min_delay=1.0, max_delay=8.0)
    results = by_url(fetcher.fetch_many([server.url("/a"), server.url("/b")]))
    assert results[server.url("/a")].http_status == 429
    assert [when for _, _, when in log] == [100.0, 108.0]


def _busy_reply() -> Reply:
    return Reply(b"slow down", 429, {"Retry-After": "30"})


def test_duplicate_urls_are_fetched_once(client, server, clock, fake):
    first = server.serve("/news/1", b"<html/>")
    second = server.serve("/news/2", b"<html/>")
    fetcher = make_fetcher(client, make_robots(client, clock), fake, min_delay=0.0)
    results = list(fetcher.fetch_many([first, second, first, first, second]))
    assert sorted(p.url for p in results) == [first, second]
    assert (server.hits["/news/1"], server.hits["/news/2"]) == (1, 1)


def test_invalid_urls_are_reported_without_a_request(client, server, clock, fake):
    fetcher = make_fetcher(client, make_robots(client, clock), fake)
    results = by_url(fetcher.fetch_many(["ftp://example.org/a", "http:///nohost", "http://x:y/"]))
    assert {p.error_kind for p in results.values()} == {"invalid_url"}
    assert not server.hits


def test_a_bug_in_a_worker_is_raised(client, server, clock, fake):
    class Broken(HttpClient):
        def get(self, url: str, **kwargs: object) -> HttpResult:
            if url.endswith("/robots.txt"):
                raise HTTPStatusError("HTTP 404", 404)
            raise RuntimeError("bug")

    broken = Broken(client.options)
    fetcher = make_fetcher(broken, make_robots(broken, clock), fake)
    with pytest.raises(RuntimeError, match="bug"):
        list(fetcher.fetch_many([server.url("/news/1")]))
    broken.close()
