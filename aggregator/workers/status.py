"""What `aggregator status` shows of the workers: read from procrastinate's own tables.

Ages are computed by the database (``now()``), the clock the workers' heartbeats and the
stalled-job check use, so a skewed clock on the machine asking does not mark workers stale.
Succeeded jobs are not counted: the workers delete them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from aggregator.errors import StoreError
from aggregator.workers.queue import PostgresRequired, conninfo
from aggregator.workers.stalled import StalledCheck

STATUSES = ("todo", "doing", "failed")

_WORKERS = """
SELECT id, last_heartbeat, extract(epoch FROM now() - last_heartbeat)::float8
FROM procrastinate_workers ORDER BY id
"""
_JOBS = """
SELECT task_name, status::text, count(*) FROM procrastinate_jobs
WHERE status::text = ANY(%s) GROUP BY task_name, status ORDER BY task_name
"""
# A todo job waits from its last (re)queueing or its scheduled time, whichever is later;
# jobs scheduled for later are not waiting yet.
_OLDEST_TODO = """
SELECT extract(epoch FROM now() - min(ready))::float8 FROM (
    SELECT greatest(j.scheduled_at, max(e.at)) AS ready
    FROM procrastinate_jobs j LEFT JOIN procrastinate_events e ON e.job_id = j.id
        AND e.type IN ('deferred', 'deferred_for_retry', 'retried')
    WHERE j.status = 'todo' GROUP BY j.id
) waiting WHERE ready <= now()
"""


@dataclass(frozen=True, slots=True)
class LiveWorker:
    id: int
    last_heartbeat: datetime
    heartbeat_age: float  # seconds
    stale: bool  # silent longer than the stalled-job check allows: its jobs will be retried


@dataclass(frozen=True, slots=True)
class QueueStatus:
    workers: tuple[LiveWorker, ...]
    jobs: dict[str, dict[str, int]]  # task name -> status -> count, for STATUSES
    oldest_todo_age: float | None  # seconds the longest-waiting runnable job has waited
    stale_after: float

    def as_json(self) -> dict[str, Any]:
        return {
            "stale_after": self.stale_after,
            "workers": [
                {
                    "id": w.id,
                    "last_heartbeat": w.last_heartbeat.astimezone(UTC).isoformat(),
                    "heartbeat_age": round(w.heartbeat_age, 1),
                    "stale": w.stale,
                }
                for w in self.workers
            ],
            "jobs": self.jobs,
            "oldest_todo_age": _round(self.oldest_todo_age),
        }


def queue_status(database_url: str, *, stale_after: float | None = None) -> QueueStatus | None:
    """The workers and the queue; None on SQLite or before any worker created the queue."""
    try:
        info = conninfo(database_url)
    except PostgresRequired:
        return None
    after = StalledCheck().after if stale_after is None else stale_after
    try:
        with psycopg.connect(info) as conn:
            found = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if found is None or found[0] is None:
                return None
            workers = conn.execute(_WORKERS).fetchall()
            counts = conn.execute(_JOBS, (list(STATUSES),)).fetchall()
            oldest = conn.execute(_OLDEST_TODO).fetchone()
    except psycopg.Error as exc:
        raise StoreError(f"cannot read the job queue: {exc}") from exc
    jobs: dict[str, dict[str, int]] = {}
    for task, status, count in counts:
        jobs.setdefault(task, dict.fromkeys(STATUSES, 0))[status] = count
    return QueueStatus(
        workers=tuple(LiveWorker(i, beat, age, age > after) for i, beat, age in workers),
        jobs=jobs,
        oldest_todo_age=oldest[0] if oldest else None,
        stale_after=after,
    )


def queue_lines(found: QueueStatus) -> list[str]:
    """What `aggregator status` prints of :func:`queue_status`, line by line."""
    stale = sum(w.stale for w in found.workers)
    head = f"workers: {len(found.workers) - stale} live"
    head += f", {stale} stale (no heartbeat for {found.stale_after:g} s)" if stale else ""
    lines = [head]
    for w in found.workers:
        mark = " (stale: its jobs will be retried)" if w.stale else ""
        lines.append(f"  worker {w.id}: heartbeat {w.heartbeat_age:.0f} s ago{mark}")
    waited = found.oldest_todo_age
    lines.append(
        "queue: none waiting" if waited is None else f"queue: oldest waiting {waited:.0f} s"
    )
    for task, counts in found.jobs.items():
        lines.append(f"  {task}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return lines


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
