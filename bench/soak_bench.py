"""Soak benchmark of the daemon: 1,000 local feeds over a simulated day.

    python bench/soak_bench.py                     # 1,000 feeds, 24 simulated hours
    python bench/soak_bench.py --feeds 200 --hours 6

The daemon's jobs (:class:`aggregator.daemon.Daemon`) run in this process on a simulated
clock that skips idle time: while a job runs the clock goes at real speed, and between jobs
it jumps straight to the next scheduled time (the next ``daemon.tick``, ``process_every``,
``draft_at`` or ``retention_at``, coalesced as the scheduler does). So the jobs see the same
times and take the same real durations as under ``aggregator daemon``; only the waiting is
cut out. The one difference: jobs run one after another here (the scheduler may run
``process`` next to ``fetch``).

The feeds are served by another process (``feedserver.py``'s documents and conditional
requests, plus change over time): feed *i* publishes an item every 2-6 simulated hours and
shows its newest ``--items``; the server reads the simulated clock from shared memory and logs
the simulated time of every request. Item links point at the feed server too, and the
sources are ``fulltext: false``: nothing leaves 127.0.0.0/8 (any request other than a feed
is counted and fails the run).

Checks: every source fetched as often as its interval says (gaps between two requests within
the interval's +/-10% jitter, plus one tick and the longest fetch job; no due time left
unserved at the end), exactly one draft per simulated day, the daemon's RSS sampled every
simulated hour (under 300 MB, at most +10% over the second half), and the wall time.
Exit status 0 when every target passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import multiprocessing
import os
import random
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from email.utils import format_datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import feedserver
from feedserver import (
    AUTHORS,
    CATEGORIES,
    OTHER_WORDS,
    WORDS,
    Feed,
    description,
    not_modified,
    sentence,
)

from aggregator.app import App
from aggregator.config import load_config
from aggregator.daemon_health import HealthFile, JobRun
from aggregator.daemon_jobs import Daemon
from aggregator.daemon_settings import daemon_settings, digest_times

HOSTS_PER_SUBNET = 250
FEED_PATH = re.compile(r"^/feed/(\d+)\.xml$")
JITTER = 0.1  # the fetch schedule's +/-10% (aggregator.fetch.schedule.JITTER)
RSS_LIMIT_MB = 300.0
RSS_GROWTH = 0.10
HOUR = timedelta(hours=1)
CORE_WORDS = ("migrants", "refugees", "asylum", "deportation", "migration", "displaced")
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"] + ["ar", "el", "on", "ust"]


def pseudo_word(rng: random.Random) -> str:
    """A made-up name (a place, a person): what tells one event from another."""
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


# --- the simulated clock (shared with the feed server) -----------------------------------


class SimClock:
    """Real time shifted by the idle time skipped so far; ``skipped`` is shared memory."""

    def __init__(self, start: datetime, skipped: Any, origin: float) -> None:
        self.start, self.skipped, self.origin = start, skipped, origin

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed())

    def elapsed(self) -> float:
        return time.monotonic() - self.origin + self.skipped.value

    def skip_to(self, moment: datetime) -> None:
        ahead = (moment - self()).total_seconds()
        if ahead > 0:
            self.skipped.value += ahead


# --- the feed server -----------------------------------------------------------------------


def host(index: int, port: int) -> str:
    """Each feed on its own loopback address, so the per-host limit does not serialise."""
    subnet, last = divmod(index, HOSTS_PER_SUBNET)
    return f"http://127.0.{subnet}.{last + 1}:{port}"


@dataclass
class Book:
    """What the server serves and what it saw; one lock for all, requests are short."""

    port: int
    items: int
    clock: SimClock
    migration_share: float = 1.0
    feeds: int = 1000
    lock: threading.Lock = field(default_factory=threading.Lock)
    cache: dict[int, tuple[int, Feed]] = field(default_factory=dict)
    seen: dict[int, list[float]] = field(default_factory=dict)  # simulated seconds
    modified: int = 0
    other: int = 0

    def period(self, index: int) -> float:
        return 3600.0 * (2 + index % 5)

    def published(self, index: int, n: int) -> datetime:
        phase = (index * 420.0) % self.period(index)
        return self.clock.start + timedelta(seconds=phase + n * self.period(index))

    def feed(self, index: int) -> Feed:
        """Item n is published at phase + n * period; the newest ``items`` are shown."""
        phase = (index * 420.0) % self.period(index)
        count = math.floor((self.clock.elapsed() - phase) / self.period(index)) + 1
        with self.lock:
            cached = self.cache.get(index)
        if cached is not None and cached[0] == count:
            return cached[1]
        built = self.build(index, count)
        with self.lock:
            self.cache[index] = (count, built)
        return built

    def build(self, index: int, count: int) -> Feed:
        numbers = range(count - 1, count - 1 - self.items, -1)
        body = "".join(self.item(index, n) for n in numbers)
        newest = self.published(index, count - 1)
        xml = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>'
            f"<title>Soak feed {index}</title><link>{host(index, self.port)}/</link>"
            f"<description>Generated feed {index}</description><language>en</language>\n"
            f"{body}</channel>\n</rss>\n"
        )
        return Feed(xml.encode(), f'"{index}-{count}"', newest)

    def item(self, index: int, n: int) -> str:
        rng = random.Random(index * 1_000_003 + n)
        url = f"{host(index, self.port)}/article/{index}/{n}"
        published = format_datetime(self.published(index, n), usegmt=True)
        about_migration = rng.random() < self.migration_share
        words = self.event_words(index, n, rng) if about_migration else OTHER_WORDS
        category = rng.choice(CATEGORIES) if about_migration else "Business"
        return (
            f"<item><title>{escape(sentence(rng, rng.randint(5, 9), words))}</title>"
            f"<link>{url}?utm_source=rss</link><guid>{url}</guid><pubDate>{published}</pubDate>"
            f"<description><![CDATA[{description(rng, words)}]]></description>"
            f"<dc:creator>{rng.choice(AUTHORS)}</dc:creator>"
            f"<category>{category}</category></item>\n"
        )

    def event_words(self, index: int, n: int, rng: random.Random) -> tuple[str, ...]:
        """The words of the item's event: a few migration words and its own names. Events
        are drawn per 6-hour slot, about one for every three migration items, so a story
        is carried by a few feeds, as news is."""
        slot = int(self.published(index, n).timestamp() // (6 * 3600))
        events = max(1, round(self.feeds * self.migration_share * 6 / 3.5 / 3))
        event = random.Random(f"{slot}-{rng.randrange(events)}")
        core = event.sample(CORE_WORDS, 2)  # what makes it a migration story
        return (*core, *event.sample(WORDS, 4), *(pseudo_word(event) for _ in range(24)))

    def stats(self) -> bytes:
        with self.lock:
            data = {"seen": self.seen, "modified": self.modified, "other": self.other}
            return json.dumps(data).encode()


class Handler(feedserver.Handler):
    """feedserver's handler (HTTP/1.1, replies, quiet log), over feeds that change."""

    book: Book
    latency = 0.0

    def do_GET(self) -> None:
        if self.path == "/stats":
            self._send(HTTPStatus.OK, self.book.stats(), {"Content-Type": "application/json"})
            return
        match = FEED_PATH.match(self.path.split("?", 1)[0])
        index = int(match.group(1)) if match else -1
        if index not in self.book.seen:
            with self.book.lock:
                self.book.other += 1
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", {"Content-Type": "text/plain"})
            return
        time.sleep(self.latency)
        self._feed(index)

    def _feed(self, index: int) -> None:
        feed = self.book.feed(index)
        fresh = not_modified(
            feed, self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
        )
        with self.book.lock:
            self.book.seen[index].append(self.book.clock.elapsed())
            self.book.modified += not fresh
        headers = {"ETag": feed.etag, "Last-Modified": feed.last_modified_header}
        if fresh:
            self._send(HTTPStatus.NOT_MODIFIED, None, headers)
            return
        headers["Content-Type"] = "application/rss+xml; charset=utf-8"
        self._send(HTTPStatus.OK, feed.body, headers)


Server = feedserver.Server


def serve(args: argparse.Namespace, port: int, clock: SimClock, ready: Any) -> None:
    """The feed server's process (spawned: it shares only the clock's skipped seconds)."""
    Handler.book = Book(port, args.items, clock, args.migration_share, args.feeds)
    Handler.book.seen = {i: [] for i in range(args.feeds)}
    Handler.latency = args.latency
    with Server(("0.0.0.0", port), Handler) as server:
        ready.set()
        server.serve_forever()


def server_stats(port: int) -> dict[str, Any]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/stats", timeout=60) as resp:
        return dict(json.load(resp))


# --- the daemon, stepped ---------------------------------------------------------------------


class SteppedDaemon(Daemon):
    """The daemon's jobs without its scheduler: the bench calls them at their times."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wanted = False
        self.runs: list[tuple[str, JobRun]] = []

    def _wake_processing(self) -> None:
        self.wanted = True  # the scheduler would run "process" now

    def run(self, name: str) -> JobRun:
        done = super().run(name)
        self.runs.append((name, done))
        return done


def next_daily(after: datetime, at: time_of_day, zone: ZoneInfo) -> datetime:
    local = after.astimezone(zone)
    moment = datetime.combine(local.date(), at, zone)
    if moment <= after:
        moment = datetime.combine(local.date() + timedelta(days=1), at, zone)
    return moment.astimezone(UTC)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Soak:
    daemon: SteppedDaemon
    clock: SimClock
    end: datetime
    rss: list[float] = field(default_factory=list)

    def next_times(self, now: datetime) -> dict[str, datetime]:
        settings, times, zone = self.daemon.settings, self.daemon.times, self.daemon.zone
        return {
            "fetch": now + settings.tick,
            "process": now + settings.process_every,
            "draft": next_daily(now, times.draft_at, zone),
            "retention": next_daily(now, settings.retention_at, zone),
        }

    def drive(self) -> None:
        start = self.clock()
        self.daemon.run("catch_up")
        self.rss.append(rss_mb())
        due, sample = self.next_times(start), start + HOUR
        while True:
            name = min(due, key=lambda job: due[job])
            if min(due[name], sample) >= self.end:
                break
            if sample <= due[name]:
                self.clock.skip_to(sample)
                self.rss.append(rss_mb())
                sample += HOUR
                continue
            self.clock.skip_to(due[name])
            self.step(name, due)
        self.clock.skip_to(self.end)
        self.rss.append(rss_mb())

    def step(self, name: str, due: dict[str, datetime]) -> None:
        self.daemon.run(name)
        now = self.clock()
        if name in ("fetch", "process"):
            settings = self.daemon.settings
            every = settings.tick if name == "fetch" else settings.process_every
            while due[name] <= now:  # coalesced: one run however late, then the next slot
                due[name] += every
        else:
            due[name] = self.next_times(now)[name]
        if name == "fetch" and self.daemon.wanted:
            self.daemon.wanted = False
            woken = self.clock()
            self.daemon.run("process")
            due["process"] = woken + self.daemon.settings.process_every


# --- the run -------------------------------------------------------------------------------


def write_config(work: Path, port: int, args: argparse.Namespace) -> Path:
    lines = [
        "settings:",
        "  timezone: UTC",
        "  contact: https://example.invalid/soak",
        f"  database_url: sqlite:///{work / 'soak.db'}",
        "  fetch:",
        "    allow_private_addresses: true",
        f"    concurrency: {args.concurrency}",
        f"    interval: {args.interval}m",
        f"    parse_processes: {args.parse_processes}",
        "  daemon:",
        f"    tick: {args.tick}s",
        f"    health_file: {work / 'daemon.json'}",
        "digest:",
        f"  output_dir: {work / 'digests'}",
        '  draft_at: "06:00"',
        "sources:",
    ]
    for i in range(args.feeds):
        url = f"{host(i, port)}/feed/{i}.xml"
        lines.append(f'  - {{name: "Feed {i}", url: "{url}", fulltext: false}}')
    path = work / "sources.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])


def run_soak(args: argparse.Namespace, work: Path) -> int:
    ctx = multiprocessing.get_context("spawn")
    start = datetime.fromisoformat(args.start).astimezone(UTC)
    clock = SimClock(start, ctx.Value("d", 0.0), time.monotonic())
    port, ready = free_port(), ctx.Event()
    server = ctx.Process(target=serve, args=(args, port, clock, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(60):
            raise SystemExit("the feed server did not start")
        return soak(args, work, port, clock)
    finally:
        server.terminate()
        server.join(10)


def soak(args: argparse.Namespace, work: Path, port: int, clock: SimClock) -> int:
    config = load_config(write_config(work, port, args), env={})
    settings = daemon_settings(config)
    began = time.perf_counter()
    with App(config, clock=clock) as app, app.keep_parser():  # as run_daemon does
        health = HealthFile(settings.health_file, os.getpid(), clock(), "soak")
        daemon = SteppedDaemon(app, settings, digest_times(config), health)
        run = Soak(daemon, clock, clock.start + timedelta(hours=args.hours))
        run.drive()
        wall = time.perf_counter() - began
        stats = server_stats(port)
        editions = {day: app.store.edition(day) for day in drafted_days(daemon.runs, daemon.zone)}
        states = {row.state.url: row.state.next_fetch_at for row in app.store.source_rows()}
    results = [
        fetch_check(args, run, stats, states, port),
        draft_check(daemon, run, editions),
        memory_check(args, run.rss),
    ]
    print_wall(args, run, wall)
    return 0 if all(results) else 1


# --- the checks ----------------------------------------------------------------------------


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def job_seconds(runs: list[tuple[str, JobRun]], name: str) -> list[float]:
    return [done.duration for job, done in runs if job == name]


def fetch_check(
    args: argparse.Namespace,
    run: Soak,
    stats: dict[str, Any],
    states: dict[str, datetime | None],
    port: int,
) -> bool:
    interval, tick = args.interval * 60.0, args.tick
    slowest = max(job_seconds(run.daemon.runs, "fetch"), default=0.0)
    low, high = interval * (1 - JITTER) - slowest, interval * (1 + JITTER) + tick + slowest
    hours = args.hours * 3600.0
    seen = {int(i): times for i, times in stats["seen"].items()}
    counts = [len(times) for times in seen.values()]
    short = sum(1 for times in seen.values() if min(gaps(times), default=low) < low)
    starved = [i for i, times in seen.items() if starving(times, hours, high)]
    unserved = sum(1 for i in seen if left_due(states.get(f"{host(i, port)}/feed/{i}.xml"), run))
    failed = sum(int(m[1]) for m in failures(run.daemon.runs))
    all_gaps = [g for times in seen.values() for g in gaps(times)]
    passed = not (short or starved or unserved or failed or stats["other"])
    print(f"Fetching: {len(seen)} sources, interval {args.interval} min +/-10%, tick {tick} s")
    print(f"  requests per source: min {min(counts)}, median {statistics.median(counts):g},"
          f" max {max(counts)}; due times in {args.hours} h: "
          f"{math.floor(hours / high) + 1} to {math.floor(hours / low) + 1}")  # fmt: skip
    shortest, longest = min(all_gaps, default=0) / 60, max(all_gaps, default=0) / 60
    print(f"  gap between fetches: min {shortest:.1f} min (limit {low / 60:.1f}),"
          f" max {longest:.1f} min (limit {high / 60:.1f})")  # fmt: skip
    print(f"  {stats['modified']} answered 200 (changed), {sum(counts) - stats['modified']} 304;"
          f" {stats['other']} requests other than feeds; {failed} failed fetches")  # fmt: skip
    print(f"  sources fetched too often: {short}; starved: {len(starved)}; due but not fetched"
          f" at the end: {unserved}  -> {verdict(passed)}")  # fmt: skip
    return passed


def gaps(times: list[float]) -> list[float]:
    ordered = sorted(times)
    return [b - a for a, b in itertools.pairwise(ordered)]


def starving(times: list[float], hours: float, high: float) -> bool:
    """No first fetch at the start, a gap too long, or nothing for too long at the end."""
    if not times:
        return True
    ordered = sorted(times)
    return ordered[0] > high or hours - ordered[-1] > high or max(gaps(ordered), default=0) > high


def left_due(next_fetch_at: datetime | None, run: Soak) -> bool:
    """Due a tick (plus the slowest fetch) before the end and still not fetched."""
    if next_fetch_at is None:
        return True
    slowest = max(job_seconds(run.daemon.runs, "fetch"), default=0.0)
    late = run.daemon.settings.tick + timedelta(seconds=slowest)
    return next_fetch_at.replace(tzinfo=next_fetch_at.tzinfo or UTC) + late < run.end


def failures(runs: list[tuple[str, JobRun]]) -> list[re.Match[str]]:
    found = (re.search(r"(\d+) failed", done.detail) for job, done in runs if job == "fetch")
    return [m for m in found if m]


def drafted_days(runs: list[tuple[str, JobRun]], zone: ZoneInfo) -> set[Any]:
    return {done.started_at.astimezone(zone).date() for job, done in runs if job == "draft"}


def expected_days(run: Soak, start: datetime) -> list[Any]:
    """Days whose draft time falls in the run, and the first day if the run starts after it."""
    zone, at = run.daemon.zone, run.daemon.times.draft_at
    days = [start.astimezone(zone).date()] if start.astimezone(zone).time() >= at else []
    moment = next_daily(start, at, zone)
    while moment < run.end:
        days.append(moment.astimezone(zone).date())
        moment = next_daily(moment, at, zone)
    return days


def draft_check(daemon: SteppedDaemon, run: Soak, editions: dict[Any, Any]) -> bool:
    zone = daemon.zone
    drafts = [done for job, done in daemon.runs if job == "draft"]
    per_day: dict[Any, list[JobRun]] = {}
    for done in drafts:
        per_day.setdefault(done.started_at.astimezone(zone).date(), []).append(done)
    wanted = expected_days(run, run.clock.start)
    passed = sorted(per_day) == wanted and all(
        len(runs) == 1 and runs[0].outcome == "ok" for runs in per_day.values()
    )
    print(f"Drafting: {len(drafts)} draft run(s) for {len(wanted)} simulated day(s)"
          f" ({', '.join(map(str, wanted))})")  # fmt: skip
    for day, runs in sorted(per_day.items()):
        stored = editions.get(day)
        items = len(stored.items()) if stored else 0
        print(f"  {day}: {len(runs)} run(s), {runs[0].outcome}, {runs[0].duration:.2f} s,"
              f" {items} items stored; {runs[0].detail}")  # fmt: skip
    print(f"  exactly one draft per day -> {verdict(passed)}")
    return passed


def memory_check(args: argparse.Namespace, rss: list[float]) -> bool:
    half = rss[len(rss) // 2 :]
    slope = fitted_slope(half)
    growth = slope * (len(half) - 1) / half[0] if half[0] else 0.0
    passed = max(rss) < RSS_LIMIT_MB and growth <= RSS_GROWTH
    print(f"Memory (daemon RSS, {len(rss)} samples, one per simulated hour):"
          f" first {rss[0]:.0f} MB, max {max(rss):.0f} MB, last {rss[-1]:.0f} MB")  # fmt: skip
    print(f"  second half: {half[0]:.0f} -> {half[-1]:.0f} MB, fitted trend {growth:+.1%}"
          f" ({slope:+.2f} MB/h)")  # fmt: skip
    print(f"  max < {RSS_LIMIT_MB:.0f} MB and trend <= +{RSS_GROWTH:.0%} -> {verdict(passed)}")
    return passed


def fitted_slope(values: list[float]) -> float:
    """Least-squares slope per sample (0 for fewer than two)."""
    if len(values) < 2:
        return 0.0
    return statistics.linear_regression(range(len(values)), values).slope


def print_wall(args: argparse.Namespace, run: Soak, wall: float) -> None:
    jobs: dict[str, list[float]] = {}
    for name, done in run.daemon.runs:
        jobs.setdefault(name, []).append(done.duration)
    busy = ", ".join(f"{n} {len(d)}x {sum(d):.0f} s" for n, d in sorted(jobs.items()))
    print(f"Wall time: {wall:.0f} s for {args.hours} simulated hours"
          f" ({wall / args.hours:.1f} s per simulated hour); jobs: {busy}")  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hours", type=int, default=24, help="simulated hours")
    parser.add_argument("--items", type=int, default=75, help="items shown per feed")
    parser.add_argument("--interval", type=int, default=60, help="fetch interval, minutes")
    parser.add_argument("--tick", type=int, default=60, help="daemon.tick, seconds")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per feed response")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--parse-processes", type=int, default=1, help="fetch.parse_processes")
    parser.add_argument("--start", default="2026-03-02T00:00:00+00:00", help="simulated start")
    parser.add_argument(
        "--migration-share",
        type=float,
        default=0.25,
        help="share of items about migration (the others are other news)",
    )
    parser.add_argument("--keep", type=Path, help="work in this directory and keep the store")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print(f"Soak: {args.feeds} feeds x {args.items} items ({args.migration_share:.0%} about"
          f" migration), {args.hours} simulated hours, feed latency {args.latency} s")  # fmt: skip
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        return run_soak(args, args.keep)
    with tempfile.TemporaryDirectory(prefix="soak-") as work:
        return run_soak(args, Path(work))


if __name__ == "__main__":
    sys.exit(main())
