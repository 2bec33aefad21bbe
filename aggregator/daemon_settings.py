"""Settings of `aggregator daemon`: the ``daemon:`` block of ``settings:`` and the times of
day at which the edition is drafted and published (``digest.draft_at``, ``digest.publish_at``).

Kept apart from the daemon itself so that reading the configuration never imports the
scheduler.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, field_validator

from aggregator.sources import StrictModel
from aggregator.units import Duration

DEFAULT_DRAFT_AT = time(6, 0)
_TIME_OF_DAY = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")


def parse_time_of_day(value: object) -> time:
    """Accept a time, or text such as ``06:00``, ``6:00`` or ``18:30:15``."""
    if isinstance(value, time):
        return value
    if isinstance(value, str) and (found := _TIME_OF_DAY.fullmatch(value.strip())):
        return time(int(found[1]), int(found[2]), int(found[3] or 0))
    raise ValueError(f"invalid time of day {value!r} (use HH:MM, e.g. 06:00)")


TimeOfDay = Annotated[
    time,
    BeforeValidator(parse_time_of_day),
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str),
]


class DaemonSettings(StrictModel):
    tick: Duration = Field(
        timedelta(minutes=1),
        description="How often the daemon asks the store which sources are due.",
    )
    process_every: Duration = Field(
        timedelta(minutes=15),
        description="Processing runs after a fetch that finds new entries, and this often anyway.",
    )
    retention_days: int = Field(
        90, ge=1, description="Raw entries older than this are pruned unless an edition uses them."
    )
    retention_at: TimeOfDay = Field(time(3, 30), description="Local time of the daily pruning.")
    health_file: Path = Field(
        Path("data/daemon.json"),
        description="Health file rewritten after every job (relative to sources.yaml's folder).",
    )
    shutdown_timeout: Duration = Field(
        timedelta(seconds=30),
        description="Time a running job gets to finish on SIGTERM before it is abandoned.",
    )

    @field_validator("tick", "process_every")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError("must be at least 1s")
        return value


@dataclass(frozen=True, slots=True)
class DigestTimes:
    """When the daemon drafts (and optionally publishes) the day's edition, local time."""

    draft_at: time = DEFAULT_DRAFT_AT
    publish_at: time | None = None


def daemon_settings(config: Any) -> DaemonSettings:
    """``settings.daemon`` once it is a field of Settings; the defaults until then."""
    found = getattr(config.settings, "daemon", None)
    return found if isinstance(found, DaemonSettings) else DaemonSettings()


def digest_times(config: Any) -> DigestTimes:
    """``digest.draft_at`` and ``digest.publish_at`` (times or "HH:MM" text)."""
    draft_at = _as_time(getattr(config.digest, "draft_at", None)) or DEFAULT_DRAFT_AT
    return DigestTimes(draft_at, _as_time(getattr(config.digest, "publish_at", None)))


def _as_time(value: object) -> time | None:
    return None if value is None else parse_time_of_day(value)


def health_path(config: Any, settings: DaemonSettings) -> Path:
    """The health file, relative paths taken from the folder of sources.yaml."""
    path = settings.health_file
    return path if path.is_absolute() else Path(config.path).parent / path
