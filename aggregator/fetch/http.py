"""The one HTTP client: a pooled requests Session behind every safety limit we promise.

``HttpClient.get`` follows at most ``max_redirects`` hops itself (so each hop's scheme is
checked and permanent moves are noticed), sends conditional-GET validators, reads the body
as a stream and stops at the decoded-size cap (so a gzip bomb costs at most the cap), and
maps every failure to a :mod:`aggregator.errors` class.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from aggregator.errors import (
    AggregatorError,
    ConnectError,
    DNSError,
    FetchError,
    HTTPStatusError,
    InvalidURL,
    ParseError,
    RedirectError,
    TimeoutError_,
    TLSError,
    TooLarge,
)
from aggregator.fetch.guard import POOL_CLASSES, AddressPolicy, guarded
from aggregator.models import HttpResult, Validators

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9,"
    " application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class HttpOptions:
    user_agent: str
    connect_timeout: float = 10.0
    deadline: float = 30.0
    max_redirects: int = 5
    policy: AddressPolicy = field(default_factory=AddressPolicy)
    pool_hosts: int = 64
    per_host: int = 2


class _BlockCookies(requests.cookies.cookielib.DefaultCookiePolicy):
    """The shared session keeps no cookies: sources must not see each other's."""

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False


class HttpClient:
    def __init__(self, options: HttpOptions, clock: Callable[[], datetime] | None = None) -> None:
        self.options = options
        self._clock = clock or (lambda: datetime.now(UTC))
        self.session = requests.Session()
        self.session.cookies.set_policy(_BlockCookies())
        self._headers = {**self.session.headers, "User-Agent": options.user_agent}
        self.session.trust_env = False  # no proxy or netrc surprises from the environment
        for scheme in ("http://", "https://"):
            adapter = HTTPAdapter(
                pool_connections=options.pool_hosts, pool_maxsize=options.per_host
            )
            adapter.poolmanager.pool_classes_by_scheme = POOL_CLASSES
            self.session.mount(scheme, adapter)

    def close(self) -> None:
        self.session.close()

    def get(
        self,
        url: str,
        *,
        max_bytes: int,
        accept: str = FEED_ACCEPT,
        validators: Validators | None = None,
    ) -> HttpResult:
        """GET ``url``: a 2xx or 304 result, or a FetchError saying what went wrong."""
        started = time.monotonic()
        with guarded(self.options.policy, self.options.deadline) as scope:
            try:
                result = self._get(url, max_bytes, accept, validators, started)
            except AggregatorError:
                if scope.expired:
                    raise self._timeout(url) from None
                raise
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                raise (self._timeout(url) if scope.expired else translate(exc)) from exc
            if scope.expired:  # a cut connection can look like a short, complete answer
                raise self._timeout(url)
            return result

    def _get(
        self, url: str, max_bytes: int, accept: str, validators: Validators | None, started: float
    ) -> HttpResult:
        # Prepared here rather than by Session.request: the session has nothing to merge
        # (no cookies, auth or proxies by design) and merging costs a third of a 304's CPU.
        headers = {**self._headers, "Accept": accept, **_conditional(validators)}
        current, seen, permanent = url, [url], None
        jar = requests.cookies.RequestsCookieJar()
        for hop in range(self.options.max_redirects + 1):
            _check_scheme(current)
            response = self.session.send(
                requests.Request("GET", current, headers, cookies=jar).prepare(),
                stream=True,
                allow_redirects=False,
                timeout=(self.options.connect_timeout, self.options.deadline),
            )
            with response:
                location = _redirect_target(response, current)
                if location is None:
                    return self._result(url, current, response, max_bytes, permanent, started)
                jar.update(response.cookies)
            if hop == 0 and response.status_code in (301, 308):
                permanent = location
            if location in seen:
                raise RedirectError(f"redirect loop: {' -> '.join([*seen, location])}")
            seen.append(location)
            current = location
        raise RedirectError(f"more than {self.options.max_redirects} redirects from {url}")

    def _result(
        self,
        url: str,
        final: str,
        response: requests.Response,
        max_bytes: int,
        permanent: str | None,
        started: float,
    ) -> HttpResult:
        status = response.status_code
        headers = {k.lower(): v for k, v in response.headers.items()}
        if status >= 400 or (status >= 300 and status != 304) or status < 200:
            retry_after = parse_retry_after(headers.get("retry-after"), self._clock())
            wait = f" (Retry-After: {retry_after:%Y-%m-%d %H:%M:%S} UTC)" if retry_after else ""
            raise HTTPStatusError(
                f"HTTP {status} {response.reason or ''}".strip() + wait, status, retry_after
            )
        body = b"" if status == 304 else read_capped(response, max_bytes)
        return HttpResult(url, final, status, headers, body, permanent, time.monotonic() - started)

    def _timeout(self, url: str) -> FetchError:
        return TimeoutError_(
            f"no complete response within the {self.options.deadline:g}s deadline ({url})"
        )


def translate(exc: BaseException) -> FetchError:
    """Name the cause of a requests/urllib3/socket failure."""
    for cause in _chain(exc):
        if isinstance(cause, FetchError):
            return cause
        if isinstance(cause, urllib3.exceptions.NameResolutionError):
            return DNSError(f"cannot resolve host: {cause}")
        if isinstance(cause, requests.exceptions.SSLError | urllib3.exceptions.SSLError):
            return TLSError(f"TLS error: {_short(cause)}")
        if isinstance(cause, requests.ConnectTimeout | urllib3.exceptions.ConnectTimeoutError):
            return TimeoutError_(f"connect timeout: {_short(cause)}")
        if isinstance(cause, requests.ReadTimeout | urllib3.exceptions.ReadTimeoutError):
            return TimeoutError_(f"read timeout: {_short(cause)}")
        if isinstance(cause, requests.exceptions.ContentDecodingError):
            return ParseError(f"the body could not be decompressed: {_short(cause)}")
        if isinstance(cause, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema):
            return InvalidURL(str(cause))
    return ConnectError(f"connection failed: {_short(exc)}")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop(0)
        if item is None or item in seen:
            continue
        seen.append(item)
        todo += [item.__cause__, item.__context__, getattr(item, "reason", None)]
        todo += [arg for arg in getattr(item, "args", ()) if isinstance(arg, BaseException)]
    return seen


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _check_scheme(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidURL(
            f"only http and https are fetched, not {parts.scheme or 'no scheme'}: {url}"
        )
    if not parts.hostname:
        raise InvalidURL(f"no host name in {url}")


def _conditional(validators: Validators | None) -> dict[str, str]:
    headers = {}
    if validators and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def _redirect_target(response: requests.Response, current: str) -> str | None:
    if response.status_code not in _REDIRECTS:
        return None
    location = response.headers.get("location", "").strip()
    if not location:
        raise RedirectError(f"HTTP {response.status_code} without a Location header")
    return urljoin(current, location)


def read_capped(response: requests.Response, max_bytes: int) -> bytes:
    """Read the decoded body; refuse it as soon as it passes ``max_bytes``."""
    declared = response.headers.get("content-length", "")
    if (
        declared.isdigit()
        and int(declared) > max_bytes
        and not response.headers.get("content-encoding")
    ):
        raise TooLarge(f"body of {int(declared)} bytes is over the {max_bytes}-byte cap")
    chunks, total = [], 0
    for chunk in response.raw.stream(_CHUNK, decode_content=True):
        total += len(chunk)
        if total > max_bytes:
            raise TooLarge(f"body is over the {max_bytes}-byte cap (after decompression)")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """Retry-After as an absolute UTC time: delay-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when.astimezone(UTC), now)
