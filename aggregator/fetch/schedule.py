"""Pure decisions about fetching: whether to contact a source now, and its state afterwards.

No I/O and no clock of its own: ``now`` and the random source for jitter are passed in, so
every rule here is tested without a server or a database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from aggregator.config import FetchSettings
from aggregator.models import FetchOutcome, FetchStatus, SourceState
from aggregator.sources import Source

JITTER = 0.1  # +/-10% on every interval, so sources added together drift apart


@dataclass(frozen=True, slots=True)
class Decision:
    fetch: bool
    status: FetchStatus | None = None  # why not, when fetch is False
    reason: str | None = None


GO = Decision(True)


def decide(
    source: Source,
    state: SourceState | None,
    now: datetime,
    *,
    force: bool = False,
    named: bool = False,
    due_only: bool = False,
) -> Decision:
    """Should ``source`` be fetched now?

    A manual fetch (``due_only=False``) ignores the schedule but still honours a server's
    Retry-After and a 410 Gone unless forced; the daemon (``due_only=True``) also waits
    for the next fetch time, which includes the error backoff.
    """
    if not source.enabled and not named:
        return Decision(False, FetchStatus.DISABLED, "disabled in sources.yaml")
    if state is None or force:
        return GO
    if state.disabled_at is not None:
        return Decision(
            False,
            FetchStatus.DISABLED,
            f"{state.disabled_reason or 'disabled'} on {_when(state.disabled_at)};"
            " fetch with --force to try again",
        )
    if state.retry_after_until is not None and state.retry_after_until > now:
        return Decision(
            False,
            FetchStatus.SKIPPED,
            f"the server asked us to wait until {_when(state.retry_after_until)}"
            " (Retry-After); --force fetches anyway",
        )
    if due_only and state.next_fetch_at is not None and state.next_fetch_at > now:
        return Decision(False, FetchStatus.SKIPPED, f"not due until {_when(state.next_fetch_at)}")
    return GO


def next_state(
    state: SourceState,
    outcome: FetchOutcome,
    source: Source,
    settings: FetchSettings,
    rng: random.Random,
) -> SourceState:
    """The source's state after ``outcome`` (which must come from an actual fetch)."""
    now = outcome.started_at
    interval = source.interval or settings.interval
    common = replace(
        state,
        last_fetched_at=now,
        last_status=outcome.status.value,
        last_http_status=outcome.http_status,
        moved_to=outcome.moved_to or (None if outcome.status is FetchStatus.OK else state.moved_to),
    )
    if outcome.status is FetchStatus.ERROR:
        return _after_error(common, outcome, interval, settings, rng)
    validators = outcome.validators
    return replace(
        common,
        etag=validators.etag if validators and validators.etag else state.etag,
        last_modified=(
            validators.last_modified
            if validators and validators.last_modified
            else state.last_modified
        ),
        body_hash=outcome.body_hash or state.body_hash,
        last_success_at=now,
        error_count=0,
        next_fetch_at=now + _jitter(interval, rng),
        retry_after_until=None,
        disabled_at=None,
        disabled_reason=None,
    )


def _after_error(
    state: SourceState,
    outcome: FetchOutcome,
    interval: timedelta,
    settings: FetchSettings,
    rng: random.Random,
) -> SourceState:
    now = outcome.started_at
    errors = state.error_count + 1
    delay = backoff(interval, errors, settings.backoff_max)
    retry_until = None
    if outcome.http_status in (429, 503):
        asked = outcome.retry_after - now if outcome.retry_after else delay
        retry_until = now + min(max(asked, timedelta(0)), settings.retry_after_cap)
        delay = max(delay, retry_until - now)
    gone = outcome.http_status == 410
    return replace(
        state,
        last_error=outcome.error,
        last_error_kind=outcome.error_kind,
        last_error_at=now,
        error_count=errors,
        next_fetch_at=now + _jitter(delay, rng),
        retry_after_until=retry_until,
        disabled_at=now if gone else state.disabled_at,
        disabled_reason="HTTP 410 Gone" if gone else state.disabled_reason,
    )


def backoff(interval: timedelta, errors: int, ceiling: timedelta) -> timedelta:
    """The interval, doubled for each error after the first, up to ``ceiling``."""
    return min(interval * (2 ** min(max(errors - 1, 0), 20)), max(ceiling, interval))


def _jitter(delay: timedelta, rng: random.Random) -> timedelta:
    return delay * (1 + rng.uniform(-JITTER, JITTER))


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
