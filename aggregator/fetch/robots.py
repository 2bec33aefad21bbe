"""robots.txt (RFC 9309), fetched once per origin and kept for a while.

What the answer to ``GET /robots.txt`` means:

* 2xx: the rules are parsed (protego: wildcards, ``$``, longest match, Crawl-delay).
* 4xx, including 401 and 403: the file is "unavailable", so everything is allowed.
  429 is the exception: it says we are too fast, so it counts as unreachable.
* 5xx, 429, timeouts, DNS, connection, TLS and redirect failures: "unreachable", so
  everything is disallowed until the entry expires and the file is asked for again.
* A file over ``max_bytes``: the client stops reading and raises ``TooLarge``; nothing of
  it is kept, so everything is allowed (RFC 9309 only asks parsers to read 500 KiB).

Redirects are followed by the client (up to its ``max_redirects``; the RFC asks for five).
The rules of the User-agent group whose name matches ``agent_token`` apply, else ``*``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from protego import Protego

from aggregator.errors import FetchError, HTTPStatusError, InvalidURL, TooLarge
from aggregator.fetch.http import HttpClient

log = logging.getLogger(__name__)

ROBOTS_ACCEPT = "text/plain, */*;q=0.5"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Origin:
    """Scheme, host and port: the scope of one robots.txt."""

    scheme: str
    host: str
    port: int

    @property
    def robots_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if _DEFAULT_PORTS[self.scheme] == self.port else f":{self.port}"
        return f"{self.scheme}://{host}{port}/robots.txt"


def origin_of(url: str) -> Origin:
    """The origin of an http(s) URL; InvalidURL for anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"malformed URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidURL(f"only http and https are fetched, not {scheme or 'no scheme'}: {url}")
    if not parts.hostname:
        raise InvalidURL(f"no host name in {url}")
    return Origin(scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme])


@dataclass(frozen=True, slots=True)
class RobotsDecision:
    allowed: bool
    reason: str | None = None  # why not, when not allowed
    crawl_delay: float | None = None


@dataclass(frozen=True, slots=True)
class _Entry:
    rules: Protego | None  # None: no rules apply (allow_all tells which way)
    allow_all: bool
    reason: str | None  # why everything is disallowed
    expires: datetime


class RobotsCache:
    def __init__(
        self,
        client: HttpClient,
        agent_token: str,
        *,
        max_bytes: int = 512 * 1024,
        ttl: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime],
    ) -> None:
        if not agent_token.strip():
            raise ValueError("agent_token must be a non-empty product token")
        self._client, self._token = client, agent_token.strip()
        self._max_bytes, self._ttl, self._clock = max_bytes, ttl, clock
        self._entries: dict[Origin, _Entry] = {}
        self._fetching: dict[Origin, threading.Lock] = {}
        self._lock = threading.Lock()

    def allowed(self, url: str) -> bool:
        return self.check(url).allowed

    def crawl_delay(self, url: str) -> float | None:
        return self.check(url).crawl_delay

    def check(self, url: str) -> RobotsDecision:
        """May ``url`` be fetched, and how long to wait between requests to its host."""
        entry = self._entry(origin_of(url))
        if entry.rules is None:
            return RobotsDecision(entry.allow_all, entry.reason)
        delay = entry.rules.crawl_delay(self._token)
        if entry.rules.can_fetch(url, self._token):
            return RobotsDecision(True, crawl_delay=delay)
        return RobotsDecision(False, "disallowed by robots.txt", delay)

    def _entry(self, origin: Origin) -> _Entry:
        with self._lock:
            entry = self._fresh(origin)
            if entry is not None:
                return entry
            fetching = self._fetching.setdefault(origin, threading.Lock())
        # One caller fetches; the others for this origin wait for its answer.
        with fetching:
            with self._lock:
                entry = self._fresh(origin)
            if entry is None:
                entry = self._load(origin)
                with self._lock:
                    self._entries[origin] = entry
            return entry

    def _fresh(self, origin: Origin) -> _Entry | None:
        entry = self._entries.get(origin)
        return entry if entry is not None and entry.expires > self._clock() else None

    def _load(self, origin: Origin) -> _Entry:
        url = origin.robots_url
        expires = self._clock() + self._ttl
        try:
            result = self._client.get(url, max_bytes=self._max_bytes, accept=ROBOTS_ACCEPT)
        except FetchError as exc:
            allow_all = _unavailable(exc)
            if not allow_all:
                log.info("robots.txt unreachable, not fetching from %s: %s", url, exc)
            reason = None if allow_all else f"robots.txt unreachable ({exc})"
            return _Entry(None, allow_all, reason, expires)
        text = result.body.decode("utf-8", errors="replace").lstrip("\ufeff")
        log.debug("robots.txt read: %s (%d bytes)", url, len(result.body))
        return _Entry(Protego.parse(text), True, None, expires)


def _unavailable(exc: FetchError) -> bool:
    """True when the failure means "no robots.txt" (allow all) rather than "unreachable"."""
    if isinstance(exc, HTTPStatusError):
        return 400 <= exc.status < 500 and exc.status != 429
    return isinstance(exc, TooLarge)
