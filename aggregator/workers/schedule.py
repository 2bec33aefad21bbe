"""When the periodic tasks run: cron lines for procrastinate, and the local-time test.

procrastinate evaluates cron lines in UTC, while the edition's times are local
(``settings.timezone``) and move against UTC twice a year. So a daily task is deferred on
every quarter hour that carries the local minute (every real zone's offset is a multiple of
15 minutes) and does its work only when its scheduled instant, read in the local zone, is
the configured time. Deferral stays exactly once per instant; the no-op runs cost a row each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from aggregator.daemon_settings import DaemonSettings, DigestTimes


@dataclass(frozen=True, slots=True)
class Plan:
    """The periodic schedule of the workers, from the configuration."""

    zone: ZoneInfo
    scan_cron: str
    process_cron: str
    draft_at: time
    publish_at: time | None
    retention_at: time
    retention_days: int


def plan_for(settings: DaemonSettings, times: DigestTimes, timezone: str) -> Plan:
    return Plan(
        zone=ZoneInfo(timezone),
        scan_cron=every(settings.tick),
        process_cron=every(settings.process_every),
        draft_at=times.draft_at,
        publish_at=times.publish_at,
        retention_at=settings.retention_at,
        retention_days=settings.retention_days,
    )


def every(interval: timedelta) -> str:
    """A cron line for "every ``interval``", rounded to whole minutes (cron's resolution)
    and, past an hour, to whole hours."""
    minutes = max(1, round(interval.total_seconds() / 60))
    if minutes == 1:
        return "* * * * *"
    if minutes < 60:
        return f"*/{minutes} * * * *"
    hours = min(24, max(1, round(minutes / 60)))
    return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"


def daily(at: time) -> str:
    """The quarter hours (UTC) on which local time ``at`` can fall, whatever the offset."""
    first = at.minute % 15
    return f"{','.join(str(first + 15 * k) for k in range(4))} * * * *"


def is_local_time(timestamp: float, at: time, zone: ZoneInfo) -> bool:
    """Whether the scheduled instant ``timestamp`` is ``at`` (to the minute) in ``zone``."""
    local = datetime.fromtimestamp(timestamp, zone)
    return (local.hour, local.minute) == (at.hour, at.minute)
