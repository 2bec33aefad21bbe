"""The daemon's health file (``data/daemon.json`` by default).

The daemon rewrites it after every job: its pid and start time, whether it is running or
stopped, and per job the last run, its outcome and the next run. The file is replaced
atomically (a temporary file renamed over it), so a reader never sees half of it.
``aggregator status`` reads it with :func:`daemon_health`.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from aggregator.store.engine import normalise_url

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobRun:
    """One run of one job, as the health file shows it."""

    started_at: datetime
    duration: float
    outcome: str  # ok | error | bug | missed
    detail: str

    def to_json(self) -> dict[str, Any]:
        values = asdict(self)
        values["started_at"] = _iso(self.started_at)
        values["duration"] = round(self.duration, 3)
        return values


class HealthFile:
    """What the daemon is doing, kept in memory and written out whole on every change."""

    def __init__(self, path: Path, pid: int, started_at: datetime, store: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {
            "pid": pid,
            "state": "starting",
            "started_at": _iso(started_at),
            "stopped_at": None,
            "store": store,
            "updated_at": _iso(started_at),
            "jobs": {},
        }

    def state(self, state: str, now: datetime) -> None:
        with self._lock:
            self._state["state"] = state
            if state == "stopped":
                self._state["stopped_at"] = _iso(now)
            self._write(now)

    def record(
        self, job: str, run: JobRun | None, next_runs: dict[str, datetime | None], now: datetime
    ) -> None:
        """Store ``job``'s last run (if any) and every job's next run time, then write."""
        with self._lock:
            jobs = self._state["jobs"]
            if run is not None:
                jobs.setdefault(job, {})["last"] = run.to_json()
            for name, when in next_runs.items():
                jobs.setdefault(name, {})["next_run_at"] = _iso(when) if when else None
            self._write(now)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self._state))

    def _write(self, now: datetime) -> None:
        self._state["updated_at"] = _iso(now)
        try:
            write_atomically(self.path, json.dumps(self._state, indent=2) + "\n")
        except OSError as exc:  # health is advisory: a full disk must not stop the jobs
            log.warning("cannot write %s: %s", self.path, exc, extra={"stage": "daemon"})


def write_atomically(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # readable by `aggregator status` run as another user
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def daemon_health(path: Path) -> dict[str, Any] | None:
    """The daemon's last health report, or None when there is none (never ran, unreadable).

    When the file says "running" but its process is gone (killed with -9, host rebooted),
    ``state`` is reported as "dead" so that a stale file does not pass for a live daemon.
    """
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(found, dict):
        return None
    if found.get("state") in ("starting", "running") and not _alive(found.get("pid")):
        found["state"] = "dead"
    return found


def shown_store(database_url: str) -> str:
    """The store as the health file names it (no password)."""
    return make_url(normalise_url(database_url)).render_as_string(hide_password=True)


def health_of_store(found: dict[str, Any] | None, database_url: str) -> dict[str, Any] | None:
    """The health report if it is of the daemon of this store, else None (a health file
    left by a daemon of another store, e.g. SQLite's, when status asks about PostgreSQL)."""
    if found is None or found.get("store") not in (None, shown_store(database_url)):
        return None
    return found


def health_lines(found: dict[str, Any]) -> list[str]:
    """What `aggregator status` prints of :func:`daemon_health`'s report, line by line."""
    state = found.get("state", "?")
    head = f"daemon: {state} (pid {found.get('pid')}, started {found.get('started_at')}"
    head += f", stopped {found['stopped_at']})" if found.get("stopped_at") else ")"
    lines = [head]
    for name, job in sorted((found.get("jobs") or {}).items()):
        last = job.get("last") or {}
        ran = f"{last.get('outcome')} at {last.get('started_at')}" if last else "not run yet"
        detail = f": {last['detail']}" if last.get("detail") else ""
        after = f"; next {job['next_run_at']}" if job.get("next_run_at") else ""
        lines.append(f"  {name}: {ran}{detail}{after}")
    return lines


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")
