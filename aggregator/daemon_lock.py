"""One daemon per store.

SQLite: an exclusive ``flock`` on ``<database>.daemon.lock``, a file holding the holder's pid
and start time. The OS drops the lock when the process ends, however it ends, so a crash
never leaves a stale lock; the file itself stays (deleting it would let two processes lock
two different files of the same name).

PostgreSQL: a session-level advisory lock taken on a dedicated connection kept open for the
daemon's life; the server drops it when that connection goes. The holder's pid and start
time travel in the connection's ``application_name`` so a second daemon can name them.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from aggregator.errors import AggregatorError, StoreError
from aggregator.store.engine import normalise_url

ADVISORY_KEY = 0x61676764  # "aggd": any constant shared by every daemon of this application
_APP_NAME = re.compile(r"aggregator daemon pid=(\d+) at=(\S+) host=(\S*)")


class DaemonRunning(AggregatorError):
    """Another daemon holds the store."""


@dataclass(frozen=True, slots=True)
class Holder:
    pid: int | None
    started_at: str | None
    host: str | None = None

    def describe(self) -> str:
        where = f" on {self.host}" if self.host and self.host != socket.gethostname() else ""
        return f"pid {self.pid or '?'}{where}, started at {self.started_at or '?'}"


class DaemonLock(Protocol):
    def acquire(self) -> None: ...
    def held(self) -> bool: ...
    def release(self) -> None: ...


def lock_for(database_url: str, started_at: datetime) -> DaemonLock:
    """The lock that fits the store at ``database_url``."""
    try:
        url = make_url(normalise_url(database_url))
    except ArgumentError as exc:
        raise StoreError(f"invalid database URL {database_url!r}: {exc}") from exc
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return NoLock()  # a private in-memory store: nobody else can open it
        return FileLock(Path(url.database + ".daemon.lock"), Path(url.database), started_at)
    return AdvisoryLock(database_url, started_at)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class NoLock:
    def acquire(self) -> None:
        pass

    def held(self) -> bool:
        return True

    def release(self) -> None:
        pass


class FileLock:
    def __init__(self, path: Path, database: Path, started_at: datetime) -> None:
        self.path, self.database, self.started_at = path, database, started_at
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._holder(fd)
            os.close(fd)
            raise DaemonRunning(
                f"another daemon ({holder.describe()}) holds {self.database}; stop it first"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise StoreError(f"cannot lock {self.path}: {exc}") from exc
        self._fd = fd
        self._write(fd)

    def _write(self, fd: int) -> None:
        record = {"pid": os.getpid(), "started_at": _stamp(self.started_at)}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)

    @staticmethod
    def _holder(fd: int) -> Holder:
        try:
            record = json.loads(os.pread(fd, 4096, 0) or b"{}")
        except (OSError, ValueError):
            record = {}  # the holder may be writing it this very moment
        if not isinstance(record, dict):
            record = {}
        return Holder(record.get("pid"), record.get("started_at"))

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)  # an unlocked file names nobody
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


class AdvisoryLock:
    def __init__(self, database_url: str, started_at: datetime) -> None:
        self.url = make_url(normalise_url(database_url))
        self.started_at = started_at
        self._connection: Connection | None = None

    def _name(self) -> str:
        host = socket.gethostname()
        name = f"aggregator daemon pid={os.getpid()} at={_stamp(self.started_at)} host={host}"
        return name[:63]  # PostgreSQL truncates application_name there anyway

    def acquire(self) -> None:
        engine = create_engine(
            self.url, poolclass=NullPool, connect_args={"application_name": self._name()}
        )
        try:
            connection = engine.connect()
            connection.execution_options(isolation_level="AUTOCOMMIT")
            taken = connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY})
            holder = None if taken else self._holder(connection)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot take the daemon lock on {self._shown()}: {exc}") from exc
        if holder is not None:
            connection.close()
            raise DaemonRunning(
                f"another daemon ({holder.describe()}) holds {self._shown()}; stop it first"
            )
        self._connection = connection

    def _holder(self, connection: Connection) -> Holder:
        name = connection.scalar(
            text(
                "SELECT a.application_name FROM pg_locks l"
                " JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted"
                " AND l.classid = 0 AND l.objid = :k AND l.objsubid = 1"
            ),
            {"k": ADVISORY_KEY},
        )
        found = _APP_NAME.match(name or "")
        if found is None:
            return Holder(None, None)
        return Holder(int(found[1]), found[2], found[3] or None)

    def held(self) -> bool:
        """Whether the lock's connection still lives (a server restart drops the lock)."""
        if self._connection is None:
            return False
        try:
            return bool(
                self._connection.scalar(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid()"
                        " AND locktype = 'advisory' AND objid = :k AND granted"
                    ),
                    {"k": ADVISORY_KEY},
                )
            )
        except SQLAlchemyError:
            return False

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
        except SQLAlchemyError:
            pass  # closing the connection below drops it anyway
        finally:
            self._connection.close()
            self._connection = None

    def _shown(self) -> str:
        return self.url.render_as_string(hide_password=True)
