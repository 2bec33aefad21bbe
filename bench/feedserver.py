"""A local server of generated RSS feeds for the fetch benchmark.

Run as its own process so that its CPU time is not counted against the fetcher::

    python bench/feedserver.py --port 8765 --feeds 1000 --items 75 --latency 0.1

``/feed/<i>.xml`` serves a deterministic RSS 2.0 document for feed ``i`` (built once at start)
with an ETag and a Last-Modified; a matching If-None-Match (or, without it, an
If-Modified-Since not older than Last-Modified) gets a 304 with no body. Every feed response,
304s included, waits ``--latency`` seconds first. ``/stats`` returns the counters as JSON.
The server listens on 0.0.0.0, so every address in 127.0.0.0/8 reaches it, and writes
``ready`` on stdout once it accepts connections.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import re
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

EPOCH = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
# Characters of HTML description per item. The issue asks for feeds of about 40-50 KB with
# 75 items, i.e. ~600 bytes an item; the other item elements take ~300 of those.
DESCRIPTION_CHARS = (180, 360)
FEED_PATH = re.compile(r"^/feed/(\d+)\.xml$")
_VOCABULARY = (
    "asylum border migrants refugees policy ministry court ruling deportation visa labour "
    "integration camp crossing coast guard rescue humanitarian agency report statistics "
    "parliament reform quota applications detention returns shelter children families "
    "minister election regional council funding housing language employment schools "
    "citizenship residence permit appeal hearing agreement corridor route arrivals record "
    "survey researchers community local mayor volunteers winter summer season weekly"
)
WORDS = tuple(_VOCABULARY.split())
# Other news, with no migration word: what most items of a general outlet's feed are about.
OTHER_WORDS = tuple(
    "market shares investors football league match goals coach budget inflation bank rates "
    "energy prices weather storm festival film music concert museum technology startup "
    "software orchestra harvest farmers tourism hotels airline stadium championship theatre "
    "novel author gallery smartphone battery factory exports earnings quarter profits tennis "
    "cycling marathon recipe restaurant wine fashion design climate forecast rainfall".split()
)
CATEGORIES = ("Migration", "Asylum", "Politics", "Europe", "Society", "Labour", "Courts")
AUTHORS = ("Ana Silva", "Jonas Weber", "Marie Dubois", "Luca Rossi", "Sara Nowak", "Omar Haddad")


@dataclass(frozen=True)
class Feed:
    body: bytes
    etag: str
    last_modified: datetime

    @property
    def last_modified_header(self) -> str:
        return format_datetime(self.last_modified, usegmt=True)


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.not_modified = 0

    def count(self, *, not_modified: bool) -> None:
        with self._lock:
            self.requests += 1
            self.not_modified += int(not_modified)

    def as_json(self) -> bytes:
        with self._lock:
            data = {"requests": self.requests, "not_modified": self.not_modified}
        return json.dumps(data).encode()


def sentence(rng: random.Random, words: int, vocabulary: tuple[str, ...] = WORDS) -> str:
    text = " ".join(rng.choices(vocabulary, k=words))
    return text[0].upper() + text[1:]


def description(rng: random.Random, vocabulary: tuple[str, ...] = WORDS) -> str:
    """A few paragraphs with a little HTML, DESCRIPTION_CHARS long, never cut inside a tag."""
    target = rng.randint(*DESCRIPTION_CHARS)
    text = f"<p>{sentence(rng, 8, vocabulary)}, <b>{sentence(rng, 2, vocabulary)}</b>.</p>"
    while True:
        extra = f"<p>{sentence(rng, rng.randint(6, 14), vocabulary)}.</p>"
        if len(text) + len(extra) > target:
            room = target - len(text) - len("<p>.</p>")
            if room < 20:
                return text
            last = sentence(rng, 40, vocabulary)[:room].rsplit(" ", 1)[0]
            return f"{text}<p>{last}.</p>"
        text += extra


def item_xml(feed: int, n: int, rng: random.Random, published: datetime) -> str:
    url = f"https://news{feed}.example.org/{published:%Y/%m}/{n}-{rng.randrange(10**6):06d}"
    return (
        "<item>"
        f"<title>{escape(sentence(rng, rng.randint(5, 9)))}</title>"
        f"<link>{url}?utm_source=rss</link>"
        f"<guid>{url}</guid>"
        f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>"
        f"<description><![CDATA[{description(rng)}]]></description>"
        f"<dc:creator>{rng.choice(AUTHORS)}</dc:creator>"
        f"<category>{rng.choice(CATEGORIES)}</category>"
        "</item>\n"
    )


def build_feed(feed: int, items: int) -> Feed:
    rng = random.Random(feed)
    newest = EPOCH - timedelta(minutes=feed)
    entries = [item_xml(feed, n, rng, newest - timedelta(hours=n)) for n in range(items)]
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>'
        f"<title>Bench feed {feed}</title><link>https://news{feed}.example.org/</link>"
        f"<description>Generated feed {feed} for the fetch benchmark</description>"
        f"<language>en</language><lastBuildDate>{format_datetime(newest, usegmt=True)}"
        "</lastBuildDate>\n" + "".join(entries) + "</channel>\n</rss>\n"
    )
    body = xml.encode()
    return Feed(body, f'"{hashlib.sha1(body).hexdigest()}"', newest)


def not_modified(feed: Feed, if_none_match: str | None, if_modified_since: str | None) -> bool:
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or feed.etag in tags
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    return since.tzinfo is not None and since >= feed.last_modified


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 60
    feeds: tuple[Feed, ...] = ()
    latency = 0.0
    counters = Counters()

    def do_GET(self) -> None:
        if self.path == "/stats":
            self._send(HTTPStatus.OK, self.counters.as_json(), {"Content-Type": "application/json"})
            return
        time.sleep(self.latency)
        match = FEED_PATH.match(self.path.split("?", 1)[0])
        index = int(match.group(1)) if match else -1
        if not 0 <= index < len(self.feeds):
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", {"Content-Type": "text/plain"})
            return
        self._send_feed(self.feeds[index])

    def _send_feed(self, feed: Feed) -> None:
        headers = {"ETag": feed.etag, "Last-Modified": feed.last_modified_header}
        fresh = not_modified(
            feed, self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
        )
        self.counters.count(not_modified=fresh)
        if fresh:
            self._send(HTTPStatus.NOT_MODIFIED, None, headers)
            return
        headers["Content-Type"] = "application/rss+xml; charset=utf-8"
        self._send(HTTPStatus.OK, feed.body, headers)

    def _send(self, status: HTTPStatus, body: bytes | None, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body is not None:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request access log."""


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=75)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds before each response")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    Handler.feeds = tuple(build_feed(i, args.items) for i in range(args.feeds))
    Handler.latency = args.latency
    with Server(("0.0.0.0", args.port), Handler) as server:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


if __name__ == "__main__":
    main()
