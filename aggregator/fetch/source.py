"""Fetching one source: HTTP, then the parser its kind needs, into a FetchOutcome."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime

from aggregator.config import FetchSettings
from aggregator.errors import FetchError, HTTPStatusError
from aggregator.fetch.http import FEED_ACCEPT, PAGE_ACCEPT, HttpClient
from aggregator.fetch.parsing import parse_body
from aggregator.models import (
    FetchOutcome,
    FetchStatus,
    HttpResult,
    ParsedFeed,
    SourceState,
    Validators,
)
from aggregator.sources import Kind, Source

Parse = Callable[[Source, HttpResult, datetime], ParsedFeed]


def fetch_source(
    client: HttpClient,
    source: Source,
    state: SourceState | None,
    settings: FetchSettings,
    started_at: datetime,
    parse: Parse = parse_body,
) -> FetchOutcome:
    """Fetch and parse ``source``; a failure becomes an ERROR outcome, never an exception."""
    clock = time.monotonic()
    page = source.kind is Kind.PAGE
    try:
        result = client.get(
            source.url,
            max_bytes=int(settings.max_page_bytes if page else settings.max_feed_bytes),
            accept=PAGE_ACCEPT if page else FEED_ACCEPT,
            validators=state.validators if state else None,
        )
        return _outcome(source, state, result, started_at, clock, parse)
    except FetchError as exc:
        status = exc.status if isinstance(exc, HTTPStatusError) else None
        return FetchOutcome(
            source.url,
            FetchStatus.ERROR,
            started_at,
            time.monotonic() - clock,
            http_status=status,
            error=str(exc),
            error_kind=exc.kind,
            retry_after=exc.retry_after if isinstance(exc, HTTPStatusError) else None,
        )


def _outcome(
    source: Source,
    state: SourceState | None,
    result: HttpResult,
    started_at: datetime,
    clock: float,
    parse: Parse,
) -> FetchOutcome:
    duration = time.monotonic() - clock
    validators = Validators(result.headers.get("etag"), result.headers.get("last-modified"))
    common = {
        "http_status": result.status,
        "validators": validators,
        "moved_to": result.permanent_redirect,
        "byte_count": len(result.body),
    }
    if result.status == 304:
        return FetchOutcome(source.url, FetchStatus.NOT_MODIFIED, started_at, duration, **common)
    body_hash = hashlib.sha256(result.body).hexdigest()
    if state is not None and state.body_hash == body_hash:
        return FetchOutcome(
            source.url, FetchStatus.UNCHANGED, started_at, duration, body_hash=body_hash, **common
        )
    feed = parse(source, result, started_at)
    duration = time.monotonic() - clock
    return FetchOutcome(
        source.url, FetchStatus.OK, started_at, duration, body_hash=body_hash, feed=feed, **common
    )
