"""The hardened HTTP client against a real local server: limits, guards, redirects."""

from __future__ import annotations

import gzip
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

import psutil
import pytest

from aggregator.errors import (
    DNSError,
    ForbiddenAddress,
    HTTPStatusError,
    InvalidURL,
    RedirectError,
    TimeoutError_,
    TooLarge,
)
from aggregator.fetch.guard import AddressPolicy
from aggregator.fetch.http import HttpClient, HttpOptions, parse_retry_after
from aggregator.models import Validators

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


@pytest.fixture
def client():
    options = HttpOptions(
        user_agent="aggregator-test (+https://example.org/contact)",
        deadline=2.0,
        connect_timeout=1.0,
        policy=AddressPolicy(allow_hosts=frozenset({"localhost"})),
    )
    http = HttpClient(options, clock=lambda: NOW)
    yield http
    http.close()


def test_get_returns_body_headers_and_sends_user_agent(client, server):
    url = server.serve("/feed", b"<rss/>", ETag='"v1"', Content_Type="application/rss+xml")
    result = client.get(url, max_bytes=1000)
    assert (result.status, result.body, result.headers["etag"]) == (200, b"<rss/>", '"v1"')
    assert server.headers_of("/feed")[0]["user-agent"].startswith("aggregator-test (+https://")


def test_conditional_get_sends_validators_and_accepts_304(client, server):
    def handler(request: BaseHTTPRequestHandler) -> None:
        matched = request.headers.get("If-None-Match") == '"v1"'
        request.send_response(304 if matched else 200)
        request.send_header("Content-Length", "0")
        request.end_headers()

    url = server.handle("/feed", handler)
    result = client.get(url, max_bytes=1000, validators=Validators('"v1"', "Mon, 23 Nov 2026"))
    assert result.status == 304 and result.body == b""
    assert server.headers_of("/feed")[0]["if-modified-since"] == "Mon, 23 Nov 2026"


def test_trickled_body_is_cut_at_the_deadline(client, server):
    stop = threading.Event()

    def trickle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", "100000")
        request.end_headers()
        while not stop.wait(0.2):
            request.wfile.write(b"x")
            request.wfile.flush()

    url = server.handle("/slow", trickle)
    started = time.monotonic()
    with pytest.raises(TimeoutError_, match="deadline"):
        client.get(url, max_bytes=10**6)
    stop.set()
    assert 1.9 < time.monotonic() - started < 3.5


def test_trickled_headers_are_cut_at_the_deadline(client, server):
    stop = threading.Event()

    def trickle(request: BaseHTTPRequestHandler) -> None:
        request.wfile.write(b"HTTP/1.1 200 OK\r\n")
        while not stop.wait(0.2):
            request.wfile.write(b"X-Slow: 1\r\n")
            request.wfile.flush()

    url = server.handle("/slow-headers", trickle)
    started = time.monotonic()
    with pytest.raises(TimeoutError_):
        client.get(url, max_bytes=10**6)
    stop.set()
    assert time.monotonic() - started < 3.5


def test_declared_oversize_body_is_refused_before_reading(client, server):
    url = server.serve("/big", b"x" * 5000)
    with pytest.raises(TooLarge, match="5000 bytes"):
        client.get(url, max_bytes=4096)


def test_endless_chunked_body_stops_at_the_cap(client, server):
    def endless(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        chunk = b"y" * 65536
        for _ in range(2000):  # 128 MiB if nobody stops reading
            request.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        request.wfile.write(b"0\r\n\r\n")

    url = server.handle("/endless", endless)
    with pytest.raises(TooLarge):
        client.get(url, max_bytes=1 << 20)


def test_gzip_bomb_stops_at_the_decoded_cap_quickly_and_small(client, server):
    member = gzip.compress(b"\0" * (1 << 20), compresslevel=9)
    bomb = member * 1024  # 1 GiB of zeros as 1,024 gzip members, about 1 MB on the wire
    url = server.serve("/bomb", bomb, Content_Encoding="gzip")
    before = psutil.Process().memory_info().rss
    started = time.monotonic()
    with pytest.raises(TooLarge, match="after decompression"):
        client.get(url, max_bytes=15 << 20)
    assert time.monotonic() - started < 1.0
    assert psutil.Process().memory_info().rss - before < 100 << 20


def test_redirect_chain_up_to_the_limit_is_followed(client, server):
    for hop in range(5):
        server.serve(f"/r{hop}", status=302, Location=f"/r{hop + 1}")
    server.serve("/r5", b"done")
    result = client.get(server.url("/r0"), max_bytes=100)
    assert result.body == b"done" and result.final_url.endswith("/r5")


def test_one_redirect_too_many_is_an_error(client, server):
    for hop in range(6):
        server.serve(f"/r{hop}", status=302, Location=f"/r{hop + 1}")
    server.serve("/r6", b"done")
    with pytest.raises(RedirectError, match="more than 5 redirects"):
        client.get(server.url("/r0"), max_bytes=100)


def test_redirect_loop_is_named(client, server):
    server.serve("/a", status=301, Location="/b")
    server.serve("/b", status=302, Location="/a")
    with pytest.raises(RedirectError, match="loop"):
        client.get(server.url("/a"), max_bytes=100)


def test_permanent_redirect_is_reported(client, server):
    server.serve("/old", status=301, Location="/new")
    server.serve("/new", b"moved")
    result = client.get(server.url("/old"), max_bytes=100)
    assert result.permanent_redirect == server.url("/new")


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/secret",
        "http://127.1:{port}/secret",
        "http://0x7f000001:{port}/secret",
        "http://[::1]:{port}/secret",
        "http://[::ffff:127.0.0.1]:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://0.0.0.0:{port}/secret",
    ],
)
def test_redirect_into_a_private_address_is_refused(client, server, target):
    server.serve("/secret", b"internal data")
    server.serve("/jump", status=302, Location=target.format(port=server.port))
    with pytest.raises(ForbiddenAddress, match="refused"):
        client.get(server.url("/jump"), max_bytes=100)
    assert server.hits["/secret"] == 0


def test_private_address_is_refused_without_a_setting(server):
    strict = HttpClient(HttpOptions(user_agent="t"))
    with pytest.raises(ForbiddenAddress):
        strict.get(server.url("/x"), max_bytes=100)
    assert server.hits["/x"] == 0


def test_allow_private_addresses_reaches_the_local_server(server):
    url = server.serve("/feed", b"ok")
    lenient = HttpClient(HttpOptions(user_agent="t", policy=AddressPolicy(allow_private=True)))
    assert lenient.get(server.url("/feed", host="127.0.0.1"), max_bytes=100).body == b"ok"
    assert url


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/feed", "gopher://example.org/", "javascript:x"]
)
def test_only_http_and_https_are_fetched(client, url):
    with pytest.raises(InvalidURL):
        client.get(url, max_bytes=100)


def test_redirect_to_a_file_url_is_refused(client, server):
    server.serve("/to-file", status=302, Location="file:///etc/passwd")
    with pytest.raises(InvalidURL, match="file"):
        client.get(server.url("/to-file"), max_bytes=100)


def test_unknown_host_is_a_dns_error(client):
    with pytest.raises(DNSError):
        client.get("http://no-such-host.invalid/feed", max_bytes=100)


def test_error_status_carries_retry_after(client, server):
    url = server.serve("/busy", b"", status=429, Retry_After="120")
    with pytest.raises(HTTPStatusError) as caught:
        client.get(url, max_bytes=100)
    assert caught.value.status == 429
    assert caught.value.retry_after == NOW + timedelta(seconds=120)


def test_retry_after_forms():
    assert parse_retry_after("30", NOW) == NOW + timedelta(seconds=30)
    assert parse_retry_after("Wed, 25 Nov 2026 07:00:00 GMT", NOW) == NOW + timedelta(hours=1)
    assert parse_retry_after("Wed, 25 Nov 2026 05:00:00 GMT", NOW) == NOW  # in the past
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_cookies_from_one_source_never_reach_another(client, server):
    server.serve("/set", b"a", Set_Cookie="session=secret; Path=/")
    server.serve("/other", b"b")
    client.get(server.url("/set"), max_bytes=100)
    client.get(server.url("/other"), max_bytes=100)
    assert "cookie" not in server.headers_of("/other")[0]
