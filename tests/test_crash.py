"""A crash in the middle of processing loses nothing: a process killed with SIGKILL while it
stores articles, then a normal run, leave the same articles as a run without the crash (on
SQLite, whose file also passes its integrity check, and on PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from aggregator.app import App
from aggregator.config import load_config
from aggregator.store.engine import normalise_url
from tests.conftest import FakeClock, write_config

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ITEMS = 1500


def big_feed() -> bytes:
    lede = (
        "Coast guard vessels rescued {n} migrants from an overcrowded boat south of Lampedusa,"
        " officials said, as departures from Libya and Tunisia continued despite the weather"
        " and a new agreement on patrols along the coast, which rights groups criticised."
    )
    items = "".join(
        f"<item><title>Rescue number {n} off Lampedusa</title>"
        f"<link>https://news.example/{n}</link><guid>https://news.example/{n}</guid>"
        f"<pubDate>Tue, 24 Nov 2026 10:00:00 GMT</pubDate>"
        f"<description>{lede.format(n=n + 20)}</description></item>"
        for n in range(ITEMS)
    )
    channel = f"<channel><title>T</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


KILLED_RUN = """
import sys
from datetime import UTC, datetime
from aggregator.app import App
from aggregator.config import load_config
config = load_config(__import__("pathlib").Path(sys.argv[1]), env={})
with App(config, clock=lambda: datetime(2026, 11, 25, 9, 0, tzinfo=UTC)) as app:
    print("processing", flush=True)
    app.process()
"""


def counts(url: str) -> tuple[int, int, int]:
    engine = create_engine(normalise_url(url))
    with engine.connect() as conn:
        found = tuple(
            conn.scalar(text(f"SELECT count(*) FROM {table}"))
            for table in ("entries", "articles", "signatures")
        )
    engine.dispose()
    return found  # type: ignore[return-value]


def test_a_killed_processing_run_loses_nothing(tmp_path, server, db_url):
    feed = server.serve("/big.xml", big_feed())
    path = write_config(
        tmp_path / "sources.yaml",
        [{"name": "Wire", "url": feed, "fulltext": False}],
        database_url=db_url,
    )
    config = load_config(path, env={})
    with App(config, clock=FakeClock(NOW)) as application:
        application.fetch()

    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(path)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).parents[1],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert child.stdout is not None and child.stdout.readline().strip() == b"processing"
    deadline = time.monotonic() + 30
    while counts(db_url)[1] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # wait for the first stored batch, then kill mid-run
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    entries, articles, _ = counts(db_url)
    assert entries == ITEMS and 0 < articles < ITEMS, "the kill did not land mid-run"

    with App(config, clock=FakeClock(NOW)) as application:
        report = application.process()
    assert report.processed == ITEMS - articles  # only what the killed run had not stored
    assert counts(db_url) == (ITEMS, ITEMS, ITEMS)  # every article, clustered once

    if db_url.startswith("sqlite"):
        engine = create_engine(db_url)
        with engine.connect() as conn:
            assert conn.scalar(text("PRAGMA integrity_check")) == "ok"
        engine.dispose()
