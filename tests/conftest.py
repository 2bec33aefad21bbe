from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from aggregator.config import Config, load_config
from aggregator.store.engine import normalise_url
from aggregator.yamlfile import dump
from tests.server import FixtureServer

POSTGRES_URL = os.environ.get("AGGREGATOR_TEST_POSTGRES_URL")
FIXTURES = Path(__file__).parent / "fixtures"


class FakeClock:
    """An injected clock: tests move time forward instead of sleeping."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 25, 6, 0, tzinfo=UTC))


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    fixture = FixtureServer()
    yield fixture
    fixture.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend; PostgreSQL only where CI provides one."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("AGGREGATOR_TEST_POSTGRES_URL is not set")
    yield from _postgres_database(POSTGRES_URL)


def _postgres_database(url: str) -> Iterator[str]:
    admin = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    name = f"aggregator_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalise_url(url)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def write_config(path: Path, sources: list[dict[str, Any]], **settings: Any) -> Path:
    fetch = {
        "allow_hosts": ["localhost"],
        "deadline": "4s",
        "connect_timeout": "2s",
        "parse_processes": 0,  # a process per test run is slow; the pool has tests of its own
        **settings.pop("fetch", {}),
    }
    document = {
        "settings": {"contact": "https://example.org/contact", "fetch": fetch, **settings},
        "sources": sources,
    }
    dump(document, path)
    return path


def wire_config(tmp_path: Path, db_url: str, site: FixtureServer, **settings: Any) -> Config:
    """The config of the processing and daemon tests: one wire feed at ``/feed.xml``."""
    path = write_config(
        tmp_path / "sources.yaml",
        [{"name": "Example Wire", "url": site.url("/feed.xml"), "language": "en"}],
        database_url=db_url,
        process={"host_delay": "0s"},
        **settings,
    )
    return load_config(path, env={})


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    """A CLI runner in an empty directory, with no configuration from the environment."""
    monkeypatch.chdir(tmp_path)
    for name in ("AGGREGATOR_CONFIG", "AGGREGATOR_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


@pytest.fixture
def make_config(tmp_path: Path, db_url: str):
    """Write a sources.yaml for the given sources (test defaults) and load it."""

    def make(sources: list[dict[str, Any]], **settings: Any) -> Config:
        path = write_config(tmp_path / "sources.yaml", sources, database_url=db_url, **settings)
        return load_config(path, env={})

    return make
