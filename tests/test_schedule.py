"""The pure fetch decisions: no server, no database, an injected clock and random source."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from aggregator.config import FetchSettings
from aggregator.fetch.schedule import backoff, decide, next_state
from aggregator.models import FetchOutcome, FetchStatus, SourceState, Validators
from aggregator.sources import Source

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
SOURCE = Source(name="IOM", url="https://www.iom.int/rss.xml", interval="1h")
SETTINGS = FetchSettings()


def outcome(status: FetchStatus, **fields) -> FetchOutcome:
    return FetchOutcome(SOURCE.url, status, NOW, 0.1, **fields)


def after(state: SourceState, result: FetchOutcome) -> SourceState:
    return next_state(state, result, SOURCE, SETTINGS, random.Random(1))


def test_a_new_source_is_fetched():
    assert decide(SOURCE, None, NOW).fetch


def test_a_source_disabled_in_the_file_is_skipped_unless_named():
    off = SOURCE.model_copy(update={"enabled": False})
    assert decide(off, None, NOW).status is FetchStatus.DISABLED
    assert decide(off, None, NOW, named=True).fetch


def test_manual_fetch_ignores_the_schedule_but_the_daemon_waits():
    state = SourceState(SOURCE.url, next_fetch_at=NOW + timedelta(minutes=20))
    assert decide(SOURCE, state, NOW).fetch
    waiting = decide(SOURCE, state, NOW, due_only=True)
    assert not waiting.fetch and "not due until" in (waiting.reason or "")


def test_retry_after_is_honoured_unless_forced():
    state = SourceState(SOURCE.url, retry_after_until=NOW + timedelta(minutes=5))
    decision = decide(SOURCE, state, NOW)
    assert decision.status is FetchStatus.SKIPPED and "Retry-After" in (decision.reason or "")
    assert decide(SOURCE, state, NOW, force=True).fetch
    assert decide(SOURCE, state, NOW + timedelta(minutes=6)).fetch


def test_gone_source_stays_disabled_until_forced():
    state = after(
        SourceState(SOURCE.url),
        outcome(FetchStatus.ERROR, http_status=410, error="HTTP 410 Gone", error_kind="http"),
    )
    assert state.disabled_reason == "HTTP 410 Gone"
    assert decide(SOURCE, state, NOW + timedelta(days=3)).status is FetchStatus.DISABLED
    assert decide(SOURCE, state, NOW, force=True).fetch
    revived = after(state, outcome(FetchStatus.OK))
    assert revived.disabled_at is None and revived.error_count == 0


def test_success_resets_errors_and_keeps_validators():
    failing = SourceState(SOURCE.url, error_count=3, etag='"old"', last_error="boom")
    state = after(
        failing, outcome(FetchStatus.OK, validators=Validators('"new"', None), body_hash="abc")
    )
    assert (state.error_count, state.etag, state.body_hash) == (0, '"new"', "abc")
    assert state.last_success_at == NOW and state.last_error == "boom"  # history kept
    assert timedelta(minutes=54) <= state.next_fetch_at - NOW <= timedelta(minutes=66)


def test_not_modified_keeps_the_old_validators():
    state = after(
        SourceState(SOURCE.url, etag='"v"', last_modified="Mon"),
        outcome(FetchStatus.NOT_MODIFIED, validators=Validators(None, None)),
    )
    assert (state.etag, state.last_modified) == ('"v"', "Mon")


def test_errors_back_off_exponentially_up_to_the_ceiling():
    hour = timedelta(hours=1)
    assert [backoff(hour, n, timedelta(hours=24)) for n in (1, 2, 3, 4, 5, 6)] == [
        hour,
        2 * hour,
        4 * hour,
        8 * hour,
        16 * hour,
        24 * hour,
    ]
    state = SourceState(SOURCE.url)
    for _ in range(4):
        state = after(
            state, outcome(FetchStatus.ERROR, error="HTTP 500", error_kind="http", http_status=500)
        )
    assert state.error_count == 4 and state.last_error_kind == "http"
    assert timedelta(hours=7) < state.next_fetch_at - NOW < timedelta(hours=9)


def test_an_error_keeps_the_validators_of_the_last_good_body():
    good = SourceState(SOURCE.url, etag='"good"', body_hash="h1")
    state = after(good, outcome(FetchStatus.ERROR, error="bad XML", error_kind="parse"))
    assert (state.etag, state.body_hash) == ('"good"', "h1")


def test_429_sets_retry_after_capped():
    far = NOW + timedelta(days=30)
    state = after(
        SourceState(SOURCE.url),
        outcome(
            FetchStatus.ERROR, http_status=429, error="HTTP 429", error_kind="http", retry_after=far
        ),
    )
    assert state.retry_after_until == NOW + SETTINGS.retry_after_cap


def test_503_without_retry_after_waits_the_backoff():
    state = after(
        SourceState(SOURCE.url),
        outcome(FetchStatus.ERROR, http_status=503, error="HTTP 503", error_kind="http"),
    )
    assert state.retry_after_until == NOW + timedelta(hours=1)
