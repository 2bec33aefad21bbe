"""The daemon: its jobs call the facade against a local feed, a failing job stops nothing,
one daemon per store (in this process, from another process, after a kill -9), SIGTERM to
a real daemon process, catching up after a restart, retention, the health file.

Jobs are run directly with an injected clock; the few tests that let the scheduler run use
one-second intervals and wait on events, never on the clock."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time as timer
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import create_engine, text

from aggregator.app import App
from aggregator.config import Config
from aggregator.daemon import run_daemon
from aggregator.daemon_health import HealthFile, daemon_health, health_lines, shown_store
from aggregator.daemon_jobs import Daemon
from aggregator.daemon_lock import DaemonRunning, FileLock, lock_for
from aggregator.daemon_settings import (
    DaemonSettings,
    DigestTimes,
    digest_times,
    parse_time_of_day,
)
from aggregator.digest.models import Status
from aggregator.errors import StoreError
from aggregator.store import Store
from aggregator.store.engine import normalise_url
from aggregator.store.retention import RetentionQueries
from aggregator.store.schema import entries
from tests.conftest import FakeClock, wire_config, write_config
from tests.test_process import ARTICLE, LONG, TRAP, rss

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
PARIS = "Europe/Paris"


@pytest.fixture(autouse=True)
def _store_prunes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Store gains ``prune`` by mixing in RetentionQueries; lend it until it does."""
    if not hasattr(Store, "prune"):
        monkeypatch.setattr(Store, "prune", RetentionQueries.prune, raising=False)


@pytest.fixture
def site(server):
    server.serve("/news/djibouti", ARTICLE.encode(), Content_Type="text/html")
    server.serve("/robots.txt", b"User-agent: *\nAllow: /\n")
    feed = rss(
        [
            ("Migrants rescued off Lampedusa", server.url("/news/lampedusa"), LONG),
            ("Dozens missing off Djibouti", server.url("/news/djibouti"), "Boat capsizes..."),
            ("Warblers arrive at Point Pelee", server.url("/news/birds"), TRAP),
        ]
    )
    server.serve("/feed.xml", feed, Content_Type="application/rss+xml")
    return server


make_config = wire_config


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[Any]:
    """Builds daemons whose scheduler is started paused (jobs are run by the test)."""
    built: list[Daemon] = []

    def build(config: Config, clock: FakeClock, times: DigestTimes | None = None, **kw: Any):
        app = App(config, clock=clock)
        health = HealthFile(tmp_path / "daemon.json", os.getpid(), clock(), "test store")
        daemon = Daemon(app, DaemonSettings(**kw), times or digest_times(config), health)
        daemon.start(paused=True)
        built.append(daemon)
        return daemon

    yield build
    for daemon in built:
        daemon.stop(0)
        daemon.app.close()


def health_of(daemon: Daemon) -> dict[str, Any]:
    return json.loads(daemon.health.path.read_text())


# -- the jobs --------------------------------------------------------------------------


def test_jobs_call_the_facade(tmp_path, site, db_url, daemons):
    clock = FakeClock(NOW)
    daemon = daemons(make_config(tmp_path, db_url, site), clock)
    store = daemon.app.store

    fetched = daemon.run("fetch")
    assert fetched.outcome == "ok" and "3 new entries" in fetched.detail
    assert store.count_entries() == 3
    woken = daemon.scheduler.get_job("process").next_run_time
    assert woken - datetime.now(UTC) < timedelta(seconds=5)  # processing runs next

    assert daemon.run("process").outcome == "ok"
    assert sum(1 for a in store.articles() if a["relevant"]) == 2

    drafted = daemon.run("draft")
    assert drafted.outcome == "ok", drafted.detail
    edition = store.edition(date(2026, 11, 25))
    assert edition is not None and edition.status is Status.DRAFT and edition.items()
    assert list((tmp_path / "data" / "digests").rglob("2026-11-25.html"))  # for review

    again = daemon.run("fetch")  # the source is not due again yet: not contacted
    assert "0 of 1 sources due" in again.detail and site.hits["/feed.xml"] == 1

    health = health_of(daemon)
    assert health["state"] == "running" and health["pid"] == os.getpid()
    assert {health["jobs"][j]["last"]["outcome"] for j in ("fetch", "process", "draft")} == {"ok"}
    next_draft = datetime.fromisoformat(health["jobs"]["draft"]["next_run_at"])
    assert next_draft.astimezone(UTC).time() == time(6, 0)  # the timezone is UTC here


def test_a_failing_job_is_logged_and_stops_nothing(tmp_path, site, db_url, daemons, caplog):
    daemon = daemons(make_config(tmp_path, db_url, site), FakeClock(NOW))

    def broken_store(**_: Any) -> None:
        raise StoreError("database write failed: disk I/O error")

    def bug(*_: Any) -> None:
        raise ZeroDivisionError("division by zero")

    daemon.app.fetch = broken_store  # type: ignore[method-assign]
    failed = daemon.run("fetch")
    assert failed.outcome == "error" and "disk I/O error" in failed.detail
    record = next(r for r in caplog.records if r.levelname == "ERROR")
    assert record.stage == "fetch" and record.error_kind == "StoreError"  # type: ignore[attr-defined]

    daemon.app.process = bug  # type: ignore[method-assign]
    crashed = daemon.run("process")
    assert crashed.outcome == "bug" and "ZeroDivisionError" in crashed.detail
    traced = [r for r in caplog.records if r.exc_info and r.exc_info[0] is ZeroDivisionError]
    assert traced and traced[0].stage == "process"  # type: ignore[attr-defined]

    assert daemon.run("draft").outcome == "ok"  # the others go on
    jobs = health_of(daemon)["jobs"]
    assert [jobs[j]["last"]["outcome"] for j in ("fetch", "process", "draft")] == [
        "error",
        "bug",
        "ok",
    ]


def test_the_scheduler_goes_on_after_a_bug(tmp_path, server):
    """A live scheduler: the first fetch (at start) crashes, the next tick still runs."""
    config = make_config(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", server)
    app = App(config, clock=FakeClock(NOW))
    calls: list[int] = []
    again = threading.Event()

    def fetch(**_: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        again.set()
        return SimpleNamespace(sources=(), new_entries=0, errors=0)

    app.fetch = fetch  # type: ignore[method-assign]
    app.process = lambda *a, **k: SimpleNamespace(processed=0, relevant=0)  # type: ignore[method-assign]
    health = HealthFile(tmp_path / "daemon.json", os.getpid(), NOW, "test")
    daemon = Daemon(app, DaemonSettings(tick="1s"), DigestTimes(time(23, 59)), health)
    daemon.start()
    try:
        assert again.wait(4), "the fetch tick did not run after the first fetch crashed"
    finally:
        assert daemon.stop(3) == 0
        app.close()
    assert health_of(daemon)["state"] == "stopped"


def test_the_schedule(tmp_path, site, daemons):
    config = make_config(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", site, timezone=PARIS)
    daemon = daemons(config, FakeClock(NOW), DigestTimes(time(6, 30), time(9, 0)))
    jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
    assert set(jobs) >= {"fetch", "process", "draft", "publish", "retention"}
    for job in jobs.values():
        assert job.max_instances == 1 and job.coalesce and job.misfire_grace_time is not None
    local = {name: jobs[name].next_run_time.astimezone(daemon.zone).time() for name in jobs}
    assert local["draft"] == time(6, 30) and local["publish"] == time(9, 0)
    assert local["retention"] == time(3, 30)
    assert jobs["fetch"].trigger.interval == timedelta(minutes=1)

    plain = daemons(config, FakeClock(NOW))  # publish_at unset: no publish job
    assert plain.scheduler.get_job("publish") is None
    assert plain.scheduler.get_job("draft").next_run_time.astimezone(plain.zone).time() == time(
        6, 0
    )


def test_publish_needs_an_approved_edition(tmp_path, site, db_url, daemons):
    daemon = daemons(
        make_config(tmp_path, db_url, site), FakeClock(NOW), DigestTimes(time(6), time(8))
    )
    day = date(2026, 11, 25)
    for job in ("fetch", "process", "draft"):
        assert daemon.run(job).outcome == "ok"

    assert "not approved" in daemon.run("publish").detail
    assert daemon.app.store.edition(day).status is Status.DRAFT

    daemon.app.desk.approve(day)
    published = daemon.run("publish")
    assert published.outcome == "ok" and "published" in published.detail
    assert daemon.app.store.edition(day).status is Status.PUBLISHED
    assert list((tmp_path / "data" / "digests").rglob("2026-11-25.json"))  # only publish writes it
    assert "already published" in daemon.run("draft").detail  # never reopened
    assert "already published" in daemon.run("publish").detail


def test_a_lost_lock_stops_the_daemon(tmp_path, site, daemons):
    daemon = daemons(make_config(tmp_path, f"sqlite:///{tmp_path / 'd.db'}", site), FakeClock(NOW))
    daemon.lock = SimpleNamespace(held=lambda: False)  # type: ignore[assignment]
    assert daemon.run("fetch").outcome == "error"
    assert daemon.stop_requested.is_set() and daemon.exit_status == 1
    assert site.hits["/feed.xml"] == 0


def test_entries_arriving_during_processing_are_processed_in_that_run(
    tmp_path, site, db_url, daemons
):
    daemon = daemons(make_config(tmp_path, db_url, site), FakeClock(NOW))
    real, calls = daemon.app.process, []

    def process(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            assert "3 new entries" in daemon.run("fetch").detail  # while processing runs
        return real(*args, **kwargs)

    daemon.app.process = process  # type: ignore[method-assign]
    assert daemon.run("process").detail == "3 processed, 2 relevant"
    assert len(calls) == 2


# -- restarts ----------------------------------------------------------------------------


def test_a_restart_drafts_the_missed_edition(tmp_path, site, db_url, daemons):
    config = make_config(tmp_path, db_url, site, timezone=PARIS)
    day = date(2026, 11, 25)
    clock = FakeClock(datetime(2026, 11, 25, 4, 30, tzinfo=UTC))  # 05:30 in Paris
    first = daemons(config, clock)
    assert first.run("catch_up").detail == "nothing missed"  # draft time not reached
    assert first.app.store.edition(day) is None
    first.stop(1)

    clock.advance(minutes=40)  # 06:10 in Paris: the draft was due at 06:00, while it was down
    second = daemons(config, clock)
    assert second.run("catch_up").detail == "draft: ok"
    drafted = second.app.store.edition(day)
    assert drafted is not None and drafted.items()
    assert site.hits["/feed.xml"] == 1  # the source was not due again

    clock.advance(minutes=10)
    third = daemons(config, clock)
    assert third.run("catch_up").detail == "nothing missed"
    assert third.app.store.edition(day).updated_at == drafted.updated_at


# -- retention ---------------------------------------------------------------------------


def test_retention_keeps_what_editions_refer_to(tmp_path, site, db_url, daemons):
    clock = FakeClock(NOW)
    daemon = daemons(make_config(tmp_path, db_url, site), clock)
    for job in ("fetch", "process", "draft"):
        daemon.run(job)
    store = daemon.app.store
    edition = store.edition(date(2026, 11, 25))
    used = {i.url for i in (*edition.items(), *edition.alternates)}
    assert used and store.count_entries() == 3

    clock.advance(days=30)
    assert "pruned 0 entries" in daemon.run("retention").detail  # nothing is old enough

    clock.advance(days=70)
    pruned = daemon.run("retention")
    assert pruned.outcome == "ok", pruned.detail
    kept = {row["url"] for row in store.entries_of(site.url("/feed.xml"))}
    assert used <= kept  # what the edition shows stays
    assert site.url("/news/birds") not in kept  # the rest goes
    assert {a["url"] for a in store.articles()} == kept  # articles go with their entries
    assert store.edition(date(2026, 11, 25)).items() == edition.items()
    assert f"pruned {3 - len(kept)} entries" in pruned.detail


def test_retention_spares_entries_seen_recently(tmp_path, site, db_url):
    """An old article first seen yesterday is not pruned (a late-listed story)."""
    config = make_config(tmp_path, db_url, site)
    with App(config, clock=FakeClock(NOW)) as app:
        app.fetch()
        with app.store.write() as conn:
            conn.execute(entries.update().values(published_at=NOW - timedelta(days=400)))
        assert RetentionQueries.prune(app.store, NOW - timedelta(days=90)).entries == 0
        assert RetentionQueries.prune(app.store, NOW + timedelta(days=1)).entries == 3


# -- one daemon per store ----------------------------------------------------------------


def test_a_second_daemon_is_refused_in_process(tmp_path, site, db_url):
    config = make_config(tmp_path, db_url, site)
    holder = lock_for(db_url, NOW)
    holder.acquire()
    try:
        with pytest.raises(DaemonRunning) as refused:
            run_daemon(config, stop=threading.Event(), health_path=tmp_path / "h.json")
        message = str(refused.value)
        assert f"pid {os.getpid()}" in message and "started at 2026-11-25T09:00:00Z" in message
        assert message.endswith("; stop it first")
        if db_url.startswith("sqlite"):
            assert f"holds {tmp_path / 'test.db'};" in message
    finally:
        holder.release()
    again = lock_for(db_url, NOW)
    again.acquire()  # free once released
    again.release()


HOLD = """
import sys
from datetime import datetime, UTC
from aggregator.daemon_lock import lock_for
lock = lock_for(sys.argv[1], datetime.now(UTC))
lock.acquire()
print("held", flush=True)
sys.stdin.read()
lock.release()
"""


def _holder(db_url: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, db_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


def test_the_lock_is_refused_to_a_second_process_and_freed_when_it_dies(tmp_path, db_url):
    child = _holder(db_url)
    try:
        with pytest.raises(DaemonRunning, match=f"pid {child.pid}"):
            lock_for(db_url, NOW).acquire()
    finally:
        if db_url.startswith("sqlite"):
            child.send_signal(signal.SIGKILL)  # no chance to clean up: the OS frees the lock
        else:
            child.communicate("", timeout=5)  # the server frees it when the session ends
        child.wait(5)
    lock = lock_for(db_url, NOW)
    lock.acquire()
    lock.release()


def test_a_dropped_postgresql_lock_is_noticed(db_url):
    if db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's advisory lock")
    holder = lock_for(db_url, NOW)
    holder.acquire()
    try:
        assert holder.held()
        backend = holder._connection.scalar(text("SELECT pg_backend_pid()"))  # type: ignore[union-attr]
        admin = create_engine(normalise_url(db_url))
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": backend})
        admin.dispose()
        assert not holder.held()  # the daemon stops on its next tick
        successor = lock_for(db_url, NOW)
        successor.acquire()  # and another may take the store
        successor.release()
    finally:
        holder.release()


def test_the_lock_file_names_its_holder(tmp_path):
    path = tmp_path / "aggregator.db.daemon.lock"
    lock = FileLock(path, tmp_path / "aggregator.db", NOW)
    lock.acquire()
    assert json.loads(path.read_text()) == {
        "pid": os.getpid(),
        "started_at": "2026-11-25T09:00:00Z",
    }
    lock.release()
    assert path.read_text() == ""  # released: it names nobody


# -- a real daemon process ---------------------------------------------------------------

DAEMON = """
import sys
from pathlib import Path
from aggregator import logs
from aggregator.config import load_config
from aggregator.daemon import run_daemon
from aggregator.daemon_settings import DaemonSettings
logs.configure(True)
settings = DaemonSettings(shutdown_timeout=sys.argv[2], health_file=sys.argv[3])
sys.exit(run_daemon(load_config(Path(sys.argv[1]), env={}), settings=settings))
"""


class Daemonised:
    """A daemon subprocess whose log lines the test can wait for."""

    def __init__(self, config: Config, health: Path, shutdown: str) -> None:
        args = [sys.executable, "-c", DAEMON, str(config.path), shutdown, str(health)]
        self.process = subprocess.Popen(
            args, stderr=subprocess.PIPE, text=True, cwd=config.path.parent
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 4) -> str:
        deadline = timer.monotonic() + timeout
        while (left := deadline - timer.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no log line with {text!r}; got:\n{''.join(self.seen)}")

    def terminate(self, timeout: float) -> tuple[int, float]:
        began = timer.monotonic()
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout)
        return status, timer.monotonic() - began


def test_sigterm_stops_a_real_daemon(tmp_path, site, db_url):
    health = tmp_path / "daemon.json"
    daemon = Daemonised(make_config(tmp_path, db_url, site), health, "30s")
    try:
        daemon.wait_for("catch_up:")  # started, fetched, processed
        running = daemon_health(health)
        assert running is not None and running["state"] == "running"
        assert running["pid"] == daemon.process.pid
        status, took = daemon.terminate(10)
    finally:
        daemon.process.kill()
    assert status == 0 and took < 5
    stopped = daemon_health(health)
    assert stopped["state"] == "stopped" and stopped["stopped_at"]
    assert stopped["jobs"]["fetch"]["last"]["outcome"] == "ok"
    lines = health_lines(stopped)
    assert lines[0].startswith(f"daemon: stopped (pid {daemon.process.pid}, started ")
    assert any(line.startswith("  fetch: ok at ") and "; next " in line for line in lines)
    assert site.hits["/feed.xml"] == 1


def test_sigterm_abandons_a_hung_job_in_time(tmp_path, server):
    asked, release = threading.Event(), threading.Event()

    def hang(handler: Any) -> None:
        asked.set()
        release.wait(10)
        handler.send_response(503)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    server.routes["/feed.xml"] = hang
    config = make_config(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", server)
    health = tmp_path / "daemon.json"
    daemon = Daemonised(config, health, "0.5s")
    try:
        assert asked.wait(4), "the daemon did not fetch at start"
        status, took = daemon.terminate(5)
    finally:
        release.set()
        daemon.process.kill()
    assert status == 0 and took < 3
    assert daemon_health(health)["state"] == "stopped"
    store = Store(config.settings.database_url)
    try:
        assert store.count_entries() == 0  # nothing half-written
    finally:
        store.close()


# -- health file and settings ------------------------------------------------------------


def test_daemon_health_reads_the_file(tmp_path):
    path = tmp_path / "daemon.json"
    assert daemon_health(path) is None
    path.write_text("{not json")
    assert daemon_health(path) is None

    health = HealthFile(path, os.getpid(), NOW, "sqlite:///data/aggregator.db")
    health.state("running", NOW)
    assert daemon_health(path)["state"] == "running"

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    dead = HealthFile(path, int(gone.stdout), NOW, "x")
    dead.state("running", NOW)
    assert daemon_health(path)["state"] == "dead"  # says running, but its process is gone
    assert not list(tmp_path.glob(".daemon.json.*"))  # no temporary file left behind


def test_status_shows_only_the_daemon_of_its_own_store(tmp_path, runner):
    from aggregator.cli import app as cli

    ours = f"sqlite:///{tmp_path / 'ours.db'}"
    config = write_config(tmp_path / "sources.yaml", [], database_url=ours)
    health = HealthFile(tmp_path / "data" / "daemon.json", os.getpid(), NOW, shown_store(ours))
    health.state("running", NOW)

    def shown(url: str) -> str:
        args = ["status", "-c", str(config), "--db", url]
        return runner.invoke(cli, args).stdout

    assert "daemon: running" in shown(ours)
    assert "daemon: not running" in shown(f"sqlite:///{tmp_path / 'other.db'}")


def test_daemon_settings():
    settings = DaemonSettings(tick="30s", process_every="5m", shutdown_timeout=20)
    assert settings.tick == timedelta(seconds=30) and settings.process_every == timedelta(minutes=5)
    assert settings.retention_days == 90 and settings.health_file == Path("data/daemon.json")
    assert DaemonSettings(retention_at="04:15").retention_at == time(4, 15)
    with pytest.raises(ValidationError):
        DaemonSettings(tick="0s")
    with pytest.raises(ValidationError):
        DaemonSettings(retention_days=0)


def test_times_of_day():
    assert parse_time_of_day("6:05") == time(6, 5)
    assert parse_time_of_day(" 18:30:15 ") == time(18, 30, 15)
    for wrong in ("24:00", "6h", "06:60", "", 360):
        with pytest.raises(ValueError, match="invalid time of day"):
            parse_time_of_day(wrong)
    assert DaemonSettings(retention_at="4:00").model_dump(mode="json")["retention_at"] == "04:00"


def test_digest_times_until_and_after_the_settings_exist():
    bare = SimpleNamespace(digest=SimpleNamespace())
    assert digest_times(bare) == DigestTimes(time(6, 0), None)
    given = SimpleNamespace(digest=SimpleNamespace(draft_at="7:15", publish_at=time(9, 30)))
    assert digest_times(given) == DigestTimes(time(7, 15), time(9, 30))
    with pytest.raises(ValueError):
        digest_times(SimpleNamespace(digest=SimpleNamespace(draft_at="noon")))
