"""`aggregator daemon`: the whole loop on a schedule, one daemon per store.

:func:`run_daemon` takes the store's lock (see :mod:`aggregator.daemon_lock`), starts the
jobs (see :mod:`aggregator.daemon_jobs`), writes the health file
(:mod:`aggregator.daemon_health`) and runs until SIGTERM or SIGINT, or until ``stop`` is set.
Then it takes no new job, gives the running ones ``daemon.shutdown_timeout`` to finish,
marks the health file "stopped", and returns 0. A job still running then is abandoned: the
store writes in transactions, so it loses nothing recorded, and the process ends at once
rather than waiting on its network calls.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from aggregator.app import App, Clock, utc_now
from aggregator.config import Config
from aggregator.daemon_health import HealthFile, daemon_health, shown_store
from aggregator.daemon_jobs import Daemon
from aggregator.daemon_lock import DaemonRunning, lock_for
from aggregator.daemon_settings import (
    DaemonSettings,
    daemon_settings,
    digest_times,
)
from aggregator.daemon_settings import (
    health_path as default_health_path,
)
from aggregator.units import format_duration

__all__ = ["Daemon", "DaemonRunning", "DaemonSettings", "daemon_health", "run_daemon"]

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run_daemon(
    config: Config,
    *,
    clock: Clock = utc_now,
    stop: threading.Event | None = None,
    health_path: Path | None = None,
    settings: DaemonSettings | None = None,
) -> int:
    """Run the daemon until a stop signal (or ``stop`` is set); returns the exit status.

    Raises DaemonRunning (another daemon holds the store), ConfigError or StoreError before
    anything runs; the CLI reports them as it does for every command.
    """
    settings = settings or daemon_settings(config)
    stop = stop or threading.Event()
    started = clock()
    lock = lock_for(config.settings.database_url, started)
    lock.acquire()
    try:
        with App(config, clock=clock) as app, app.keep_parser(), _signals(stop):
            path = health_path or default_health_path(config, settings)
            store = shown_store(config.settings.database_url)
            health = HealthFile(path, os.getpid(), started, store)
            daemon = Daemon(app, settings, digest_times(config), health, lock=lock, stop=stop)
            return _serve(daemon, path)
    finally:
        lock.release()


def _serve(daemon: Daemon, path: Path) -> int:
    _prepare(daemon.app)
    daemon.start()
    _announce(daemon, path)
    daemon.stop_requested.wait()
    log.info("stopping: no new jobs", extra={"stage": "daemon"})
    timeout = daemon.settings.shutdown_timeout
    abandoned = daemon.stop(timeout.total_seconds())
    if abandoned:
        log.warning(
            "abandoning %d running job(s) after %s", abandoned, format_duration(timeout),
            extra={"stage": "daemon"},
        )  # fmt: skip
        _exit_now(daemon.exit_status)
    log.info("stopped", extra={"stage": "daemon"})
    return daemon.exit_status


def _prepare(app: App) -> None:
    """Open the store and load the rules now, in this thread: a bad database or taxonomy
    fails the start instead of every job, and the jobs never race to build them."""
    _ = app.store
    _ = app.analyser


def _announce(daemon: Daemon, path: Path) -> None:
    times = daemon.times
    publish = f", publish at {times.publish_at:%H:%M}" if times.publish_at else ""
    log.info(
        "daemon started (pid %d): fetch every %s, draft at %s%s %s; health in %s",
        os.getpid(), format_duration(daemon.settings.tick), f"{times.draft_at:%H:%M}", publish,
        daemon.zone.key, path, extra={"stage": "daemon"},
    )  # fmt: skip


@contextmanager
def _signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` (only the main thread may install handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name, extra={"stage": "daemon"})
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _exit_now(status: int) -> None:
    """End the process without waiting for abandoned jobs' threads (Python would join
    their HTTP worker threads at exit, each up to its request deadline)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
