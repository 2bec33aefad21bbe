"""Several workers on PostgreSQL: the schedule's arithmetic, the refusal of SQLite, the
periodic deferral (once per due time however many workers), the retry of a dead worker's
jobs, and real worker processes over hundreds of local feeds: every source fetched once per
cycle, nothing lost or duplicated, with 1 and 3 workers, and with a worker killed mid-cycle.

No test sleeps through a schedule: cycles are started by deferring the periodic scan
directly; the waits below poll for the workers' results, bounded by a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time as timer
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Status
from procrastinate.periodic import PeriodicDeferrer
from typer.testing import CliRunner

from aggregator.cli import app
from aggregator.config import Config, load_config
from aggregator.store import Store
from aggregator.workers import (
    PostgresRequired,
    WorkerSettings,
    apply_schema,
    build_queue,
    run_worker,
)
from aggregator.workers import conninfo as conninfo_of
from aggregator.workers.schedule import daily, every, is_local_time
from aggregator.workers.stalled import Outcome, StalledCheck, retry_stalled
from aggregator.workers.status import queue_lines, queue_status
from tests.conftest import POSTGRES_URL, _postgres_database, write_config

ROOT = Path(__file__).resolve().parent.parent
ZURICH = ZoneInfo("Europe/Zurich")
ENTRIES_PER_FEED = 2
FAST = StalledCheck(after=2.0, every=0.5)


# -- the schedule ---------------------------------------------------------------------------


def test_every_rounds_to_cron_resolution() -> None:
    assert every(timedelta(seconds=20)) == "* * * * *"
    assert every(timedelta(minutes=15)) == "*/15 * * * *"
    assert every(timedelta(hours=1)) == "0 * * * *"
    assert every(timedelta(hours=6)) == "0 */6 * * *"


@pytest.mark.parametrize("day", ["2026-01-15", "2026-07-15"])  # winter +01:00, summer +02:00
def test_a_daily_time_is_hit_exactly_once_a_day_across_daylight_saving(day: str) -> None:
    cron = daily(time(6, 0))
    minutes = {int(m) for m in cron.split()[0].split(",")}
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    hits = [
        instant
        for step in range(24 * 60)
        if (instant := start + timedelta(minutes=step)).minute in minutes
        and is_local_time(instant.timestamp(), time(6, 0), ZURICH)
    ]
    assert len(hits) == 1
    assert hits[0].astimezone(ZURICH).time() == time(6, 0)


def test_a_half_hour_zone_is_covered() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")  # +05:30: local 06:00 is 00:30 UTC
    minutes = {int(m) for m in daily(time(6, 0)).split()[0].split(",")}
    assert 30 in minutes
    assert is_local_time(datetime(2026, 3, 2, 0, 30, tzinfo=UTC).timestamp(), time(6), kolkata)
    assert not is_local_time(datetime(2026, 3, 2, 0, 0, tzinfo=UTC).timestamp(), time(6), kolkata)


# -- SQLite is refused ----------------------------------------------------------------------


def test_workers_refuse_sqlite(tmp_path: Path) -> None:
    path = write_config(tmp_path / "sources.yaml", [], database_url="sqlite:///x.db")
    config = load_config(path, env={})
    with pytest.raises(PostgresRequired, match="run `aggregator daemon`"):
        run_worker(config, stop=threading.Event())
    assert conninfo_of("postgresql+psycopg://u@h:5/db") == "postgresql://u@h:5/db"


# -- PostgreSQL -----------------------------------------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("AGGREGATOR_TEST_POSTGRES_URL is not set")
    yield from _postgres_database(POSTGRES_URL)


def make_config(tmp_path: Path, url: str, sources: list[dict[str, str]]) -> Config:
    path = write_config(tmp_path / "sources.yaml", sources, database_url=url)
    return load_config(path, env={})


def jobs_by_status(url: str, task: str) -> dict[str, int]:
    with psycopg.connect(conninfo_of(url)) as conn:
        rows = conn.execute(
            "SELECT status::text, count(*) FROM procrastinate_jobs WHERE task_name = %s"
            " GROUP BY status",
            (task,),
        ).fetchall()
    return dict(rows)


def test_schema_is_applied_once(pg_url: str) -> None:
    assert apply_schema(pg_url) is True
    assert apply_schema(pg_url) is False


def test_periodic_scan_is_deferred_once_per_due_time_by_many_workers(
    tmp_path: Path, pg_url: str
) -> None:
    apply_schema(pg_url)
    config = make_config(tmp_path, pg_url, [])
    due = datetime(2026, 11, 25, 6, 0, tzinfo=UTC).timestamp()

    async def three_deferrers() -> None:
        queue = build_queue(config)
        async with queue.open_async():
            for _ in range(3):  # what three workers' deferrers do at the same minute
                deferrer = PeriodicDeferrer(queue.periodic_registry, max_delay=600)
                await deferrer.defer_jobs(deferrer.get_previous_tasks(at=due + 1))

    asyncio.run(three_deferrers())
    assert jobs_by_status(pg_url, "aggregator.scan_due") == {"todo": 1}
    # 06:00 UTC is 07:00 in Zurich: the draft task is deferred, and will do nothing
    assert jobs_by_status(pg_url, "aggregator.daily_draft") == {"todo": 1}


def test_the_jobs_of_a_dead_worker_are_retried_once(tmp_path: Path, pg_url: str) -> None:
    apply_schema(pg_url)
    queue = build_queue(make_config(tmp_path, pg_url, []))

    async def scenario() -> tuple[list[Outcome], list[Outcome], list[Outcome]]:
        async with queue.open_async():
            manager = queue.job_manager
            for url in ("a", "b"):
                await queue.configure_task(
                    "aggregator.fetch_source", queueing_lock=f"fetch:{url}"
                ).defer_async(url=url)
            dead = await manager.register_worker()
            taken = [await manager.fetch_job(None, dead) for _ in range(2)]
            assert all(taken)
            # the next fetch of "b" is already waiting: the stalled one is dropped
            await queue.configure_task(
                "aggregator.fetch_source", queueing_lock="fetch:b"
            ).defer_async(url="b")
            alive = await retry_stalled(queue, FAST)  # its heartbeat is fresh: nothing
            await queue.connector.execute_query_async(
                "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'"
            )
            first = await retry_stalled(queue, FAST)
            second = await retry_stalled(queue, FAST)
            return alive, first, second

    alive, first, second = asyncio.run(scenario())
    assert alive == []
    assert sorted(o.value for o in first) == ["dropped", "retried"]
    assert second == []
    assert jobs_by_status(pg_url, "aggregator.fetch_source") == {"todo": 2, "aborted": 1}


# -- real worker processes over many local feeds --------------------------------------------


def feed(index: int) -> bytes:
    items = "".join(
        f"<item><title>Story {index}-{n}</title><link>http://example.org/{index}/{n}</link>"
        f"<guid>s{index}-{n}</guid><pubDate>Tue, 24 Nov 2020 10:00:00 GMT</pubDate>"
        f"<description>Item {n} of feed {index}.</description></item>"
        for n in range(ENTRIES_PER_FEED)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>F{index}</title>'
        f"{items}</channel></rss>"
    ).encode()


def slow(body: bytes, delay: float) -> Callable[[BaseHTTPRequestHandler], None]:
    """A feed that takes ``delay`` seconds to answer (a slow site, not a test sleep)."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        timer.sleep(delay)
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return handler


def serve_feeds(server, count: int, delay: float = 0.0) -> list[dict[str, str]]:
    sources = []
    for index in range(count):
        path = f"/feed/{index}.xml"
        if delay:
            server.handle(path, slow(feed(index), delay))
        else:
            server.serve(path, feed(index), Content_Type="application/rss+xml")
        sources.append({"name": f"Feed {index}", "url": server.url(path)})
    return sources


def worker_main(config_path: str, concurrency: int) -> None:
    """The worker process of the tests: short heartbeats so a death is noticed in seconds."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    settings = WorkerSettings(
        concurrency=concurrency, heartbeat=0.5, stalled=FAST, poll_interval=0.5,
        shutdown_timeout=5.0,
    )  # fmt: skip
    sys.exit(run_worker(load_config(Path(config_path), env={}), settings=settings))


def start_workers(config: Config, count: int, log_dir: Path) -> list[subprocess.Popen]:
    code = "import sys; from tests.test_workers import worker_main; worker_main(sys.argv[1], 4)"
    processes = []
    for n in range(count):
        log = (log_dir / f"worker{n}.log").open("wb")
        processes.append(
            subprocess.Popen(
                [sys.executable, "-c", code, str(config.path)], cwd=ROOT, stderr=log, stdout=log
            )
        )
    return processes


def stop_workers(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def prepare(url: str) -> None:
    """The store's and the queue's tables, so the test can look before a worker is up."""
    apply_schema(url)
    Store(url).close()


def start_cycle(config: Config) -> None:
    """What the periodic deferrer does every minute: defer a scan of the due sources."""
    queue = build_queue(config)
    # A worker's own periodic deferrer may have queued this minute's scan first: the same.
    with queue.open(), contextlib.suppress(AlreadyEnqueued):
        queue.configure_task("aggregator.scan_due").defer(timestamp=int(timer.time()))


def live_workers(url: str) -> int:
    with psycopg.connect(conninfo_of(url)) as conn:
        return conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()[0]


def fetched_sources(url: str) -> int:
    with psycopg.connect(conninfo_of(url)) as conn:
        row = conn.execute("SELECT count(*) FROM sources WHERE last_fetched_at IS NOT NULL")
        return row.fetchone()[0]


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = timer.monotonic() + timeout
    while not predicate():
        if timer.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        timer.sleep(0.1)  # polling the workers' progress, not waiting on a schedule


def cycle_done(url: str, count: int) -> Callable[[], bool]:
    def done() -> bool:
        busy = jobs_by_status(url, "aggregator.fetch_source")
        return fetched_sources(url) == count and not busy.get("todo") and not busy.get("doing")

    return done


def entry_counts(url: str) -> tuple[int, int]:
    with psycopg.connect(conninfo_of(url)) as conn:
        row = conn.execute("SELECT count(*), count(DISTINCT (source_id, key)) FROM entries")
        return row.fetchone()


def run_cycle(tmp_path: Path, url: str, server, workers: int, count: int) -> float:
    config = make_config(tmp_path, url, serve_feeds(server, count, delay=SITE_DELAY))
    prepare(url)
    processes = start_workers(config, workers, tmp_path)
    try:
        wait_for(lambda: live_workers(url) == workers, 30, "the workers to start")
        began = timer.monotonic()
        start_cycle(config)
        wait_for(cycle_done(url, count), 60, "the cycle")
        elapsed = timer.monotonic() - began
        start_cycle(config)  # a second scan in the same cycle finds nothing due
        wait_for(lambda: not jobs_by_status(url, "aggregator.scan_due").get("todo"), 10, "scan")
    finally:
        stop_workers(processes)
    assert [p.returncode for p in processes] == [0] * workers
    return elapsed


SOURCES = 500
SITE_DELAY = 0.05  # each site takes 50 ms to answer: fetching waits on the network


@pytest.mark.parametrize("workers", [1, 3])
def test_every_source_is_fetched_exactly_once_per_cycle(
    tmp_path: Path, pg_url: str, server, workers: int, capsys: pytest.CaptureFixture[str]
) -> None:
    elapsed = run_cycle(tmp_path, pg_url, server, workers, SOURCES)
    feeds = {path: hits for path, hits in server.hits.items() if path.startswith("/feed/")}
    assert len(feeds) == SOURCES
    assert set(feeds.values()) == {1}
    assert entry_counts(pg_url) == (SOURCES * ENTRIES_PER_FEED, SOURCES * ENTRIES_PER_FEED)
    with capsys.disabled():
        print(f"\n{workers} worker(s), {SOURCES} sources: cycle in {elapsed:.2f}s", end=" ")


def test_a_worker_killed_mid_cycle_loses_and_duplicates_nothing(
    tmp_path: Path, pg_url: str, server
) -> None:
    count = 120
    config = make_config(tmp_path, pg_url, serve_feeds(server, count, delay=0.1))
    prepare(pg_url)
    processes = start_workers(config, 3, tmp_path)
    try:
        start_cycle(config)
        wait_for(lambda: fetched_sources(pg_url) >= count // 4, 30, "a quarter of the cycle")
        os.kill(processes[0].pid, signal.SIGKILL)
        processes[0].wait()
        wait_for(cycle_done(pg_url, count), 60, "the cycle after the kill")
    finally:
        stop_workers(processes)
    feeds = {path: hits for path, hits in server.hits.items() if path.startswith("/feed/")}
    assert len(feeds) == count
    # only fetches in flight in the killed worker (4 at a time) may have been made again
    assert sum(feeds.values()) - count <= 4
    assert entry_counts(pg_url) == (count * ENTRIES_PER_FEED, count * ENTRIES_PER_FEED)
    assert "failed" not in jobs_by_status(pg_url, "aggregator.fetch_source")
    survivors = "".join((tmp_path / f"worker{n}.log").read_text() for n in (1, 2))
    assert "of a dead worker: retried" in survivors or "of a dead worker: dropped" in survivors


# -- what `aggregator status` shows of the workers ------------------------------------------


def test_queue_status_counts_the_jobs_of_each_task(tmp_path: Path, pg_url: str) -> None:
    assert queue_status(pg_url) is None  # no worker created the queue yet
    apply_schema(pg_url)
    queue = build_queue(make_config(tmp_path, pg_url, []))
    fetch = "aggregator.fetch_source"

    async def scenario(first: bool) -> int | None:
        async with queue.open_async():
            if first:  # only a job scheduled for later: nothing waits yet
                await queue.configure_task(fetch, schedule_in={"hours": 1}).defer_async(url="z")
                return None
            for url in ("a", "b", "c"):
                await queue.configure_task(fetch, queueing_lock=f"fetch:{url}").defer_async(url=url)
            await queue.configure_task("aggregator.scan_due").defer_async(timestamp=0)
            worker = await queue.job_manager.register_worker()
            running, failing = [await queue.job_manager.fetch_job(None, worker) for _ in range(2)]
            assert running and failing and failing.task_kwargs == {"url": "b"}
            await queue.job_manager.finish_job(failing, Status.FAILED, delete_job=False)
            return worker

    asyncio.run(scenario(first=True))
    waiting = queue_status(pg_url)
    assert waiting is not None and waiting.oldest_todo_age is None
    worker = asyncio.run(scenario(first=False))
    # queued long ago: the later one (not waiting), a and b (taken), the scan (waits 10 min)
    with psycopg.connect(conninfo_of(pg_url)) as conn:
        for url, ago in (("z", "3 hours"), ("a", "2 hours"), ("b", "2 hours"), (None, "10 min")):
            conn.execute(
                "UPDATE procrastinate_events SET at = now() - %s::interval WHERE job_id ="
                " (SELECT id FROM procrastinate_jobs WHERE args->>'url' IS NOT DISTINCT FROM %s)",
                (ago, url),
            )
    found = queue_status(pg_url)
    assert found is not None
    assert [(w.id, w.stale) for w in found.workers] == [(worker, False)]
    assert found.jobs == {
        fetch: {"todo": 2, "doing": 1, "failed": 1},  # c and the later one wait
        "aggregator.scan_due": {"todo": 1, "doing": 0, "failed": 0},
    }
    assert found.oldest_todo_age is not None and 600 <= found.oldest_todo_age < 660
    assert f"  {fetch}: 2 todo, 1 doing, 1 failed" in queue_lines(found)


def test_a_worker_silent_past_the_stalled_threshold_is_stale(pg_url: str) -> None:
    apply_schema(pg_url)
    with psycopg.connect(conninfo_of(pg_url)) as conn:
        for silent in (29, 31):  # the threshold is the stalled-job check's 30 s
            conn.execute(
                "INSERT INTO procrastinate_workers (last_heartbeat)"
                " VALUES (now() - make_interval(secs => %s))",
                (silent,),
            )
    found = queue_status(pg_url)
    assert found is not None and found.stale_after == StalledCheck().after == 30
    assert [w.stale for w in found.workers] == [False, True]
    assert found.oldest_todo_age is None
    assert queue_lines(found)[0] == "workers: 1 live, 1 stale (no heartbeat for 30 s)"


def status_json(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AGGREGATOR_DATABASE_URL", raising=False)
    path = write_config(tmp_path / "sources.yaml", [], database_url=url)
    result = CliRunner().invoke(app, ["status", "--json", "-c", str(path)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_status_shows_the_workers_on_postgresql(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert status_json(tmp_path, pg_url, monkeypatch)["workers"] is None  # no queue yet
    apply_schema(pg_url)
    with psycopg.connect(conninfo_of(pg_url)) as conn:
        conn.execute("INSERT INTO procrastinate_workers DEFAULT VALUES")
    workers = status_json(tmp_path, pg_url, monkeypatch)["workers"]
    assert [w["stale"] for w in workers["workers"]] == [False]
    assert (workers["jobs"], workers["oldest_todo_age"]) == ({}, None)
    text = CliRunner().invoke(app, ["status", "-c", str(tmp_path / "sources.yaml")]).stdout
    assert "workers: 1 live" in text and "queue: none waiting" in text


def test_status_shows_no_workers_on_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert status_json(tmp_path, url, monkeypatch)["workers"] is None
    text = CliRunner().invoke(app, ["status", "-c", str(tmp_path / "sources.yaml")]).stdout
    assert "daemon: not running" in text and "workers:" not in text


# -- the timed jobs outlive the process that deferred them ----------------------------------

DRAFT = "aggregator.daily_draft"
QUARTER = 15 * 60  # the daily tasks' cron step


def deferrer_main(config_path: str, start: int, clock: str, progress: str) -> None:
    """A worker's periodic deferrer on a simulated clock: the test writes the simulated
    quarter hour to ``clock`` (as wall clocks move together on every machine), the deferrer
    defers the daily draft task up to it (``get_previous_tasks(at=...)``) and writes the
    quarter it reached to ``progress``; ``-1`` ends it."""
    config = load_config(Path(config_path), env={})
    queue = build_queue(config)

    async def defer_all() -> None:
        async with queue.open_async():
            deferrer = PeriodicDeferrer(queue.periodic_registry, max_delay=600)
            quarter = 0
            while (now := read_step(Path(clock))) != -1:
                if now < quarter:
                    await asyncio.sleep(0.002)  # polling the test's clock, not a schedule
                    continue
                due = deferrer.get_previous_tasks(at=start + quarter * QUARTER + 1)
                await deferrer.defer_jobs([(t, ts) for t, ts in due if t.task.name == DRAFT])
                Path(progress).write_text(str(quarter))
                quarter += 1

    asyncio.run(defer_all())


def start_deferrer(config: Config, start: int, clock: Path, progress: Path) -> subprocess.Popen:
    code = (
        "import sys; from tests.test_workers import deferrer_main;"
        " deferrer_main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])"
    )
    args = [sys.executable, "-c", code, str(config.path), str(start), str(clock), str(progress)]
    return subprocess.Popen(args, cwd=ROOT)


def read_step(path: Path) -> int:
    text = path.read_text() if path.exists() else ""
    return int(text) if text.strip() else -2


def wait_until_reached(progress: list[Path], quarter: int) -> None:
    deadline = timer.monotonic() + 30
    while not all(read_step(p) >= quarter for p in progress):
        assert timer.monotonic() < deadline, f"no deferrer reached quarter {quarter}"
        timer.sleep(0.002)  # polling the deferrers' progress


def set_step(path: Path, hour: int) -> None:
    staged = path.with_suffix(".new")
    staged.write_text(str(hour))
    staged.replace(path)  # atomic: a reader never sees an empty file


def test_the_daily_draft_is_deferred_once_a_day_after_a_deferring_worker_is_killed(
    tmp_path: Path, pg_url: str
) -> None:
    from aggregator.daemon_settings import digest_times

    config = make_config(tmp_path, pg_url, [])
    apply_schema(pg_url)
    days, start = 2, int(datetime(2026, 11, 23, tzinfo=UTC).timestamp())
    clock = tmp_path / "clock"
    set_step(clock, 0)
    progress = [tmp_path / "first.progress", tmp_path / "second.progress"]
    killed, survivor = (start_deferrer(config, start, clock, p) for p in progress)
    try:
        for quarter in range(days * 96 + 1):
            set_step(clock, quarter)
            live = [p for p, proc in zip(progress, (killed, survivor), strict=True)
                    if proc.poll() is None]  # fmt: skip
            wait_until_reached(live, quarter)
            if quarter == 80:  # 20:00 on the first day
                killed.kill()  # SIGKILL: the deferrer of the first day dies without a word
                killed.wait(10)
        set_step(clock, -1)
        assert survivor.wait(30) == 0
    finally:
        for process in (killed, survivor):
            if process.poll() is None:
                process.kill()
    with psycopg.connect(conninfo_of(pg_url)) as conn:
        stamps = [
            int(row[0])
            for row in conn.execute(
                "SELECT args->>'timestamp' FROM procrastinate_jobs WHERE task_name = %s", (DRAFT,)
            )
        ]
    assert len(stamps) == len(set(stamps)) == days * 96 + 1  # every quarter hour, once
    zone, at = ZoneInfo(config.settings.timezone), digest_times(config).draft_at
    drafting = [s for s in stamps if is_local_time(s, at, zone)]
    local_days = {datetime.fromtimestamp(s, zone).date() for s in drafting}
    assert len(drafting) == len(local_days) == days  # one draft a day, on each day
