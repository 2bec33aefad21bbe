"""The facade: one object, built from a Config, that the CLI (and later the daemon and the web
app) calls. It wires the stages together and owns their resources; it holds no logic of its
own beyond choosing which sources a command is about."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from aggregator.config import Config
from aggregator.errors import ConfigError
from aggregator.fetch.guard import AddressPolicy
from aggregator.fetch.http import HttpClient, HttpOptions
from aggregator.fetch.runner import FetchRun, Progress, RunOptions
from aggregator.models import FetchReport
from aggregator.sources import Source
from aggregator.store import SourceRow, Store

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class App:
    def __init__(
        self, config: Config, *, clock: Clock = utc_now, rng: random.Random | None = None
    ) -> None:
        self.config = config
        self.clock = clock
        self.rng = rng or random.Random()
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.config.settings.database_url)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def select(self, names: Sequence[str] = ()) -> list[Source]:
        """Sources named (by display name, case-insensitive, or URL), else all enabled ones."""
        if not names:
            return [s for s in self.config.sources if s.enabled]
        chosen: list[Source] = []
        for name in names:
            found = [
                s for s in self.config.sources if name.casefold() in (s.name.casefold(), s.url)
            ]
            if not found:
                raise ConfigError(
                    f"no source named {name!r} in {self.config.path}; see `aggregator sources list`"
                )
            chosen += [s for s in found if s not in chosen]
        return chosen

    def fetch(
        self,
        names: Sequence[str] = (),
        *,
        force: bool = False,
        due_only: bool = False,
        progress: Progress | None = None,
    ) -> FetchReport:
        chosen = self.select(names)
        client = HttpClient(self._http_options(), clock=self.clock)
        try:
            run = FetchRun(self.store, client, self.config.settings.fetch, self.clock, self.rng)
            options = RunOptions(force=force, named=bool(names), due_only=due_only)
            return run.run(chosen, options, progress)
        finally:
            client.close()

    def health(self) -> list[tuple[Source, SourceRow | None]]:
        """Every configured source with what the store knows of it."""
        rows = {row.state.url: row for row in self.store.source_rows()}
        return [(source, rows.get(source.url)) for source in self.config.sources]

    def _http_options(self) -> HttpOptions:
        fetch = self.config.settings.fetch
        return HttpOptions(
            user_agent=self.config.settings.agent,
            connect_timeout=fetch.connect_timeout.total_seconds(),
            deadline=fetch.deadline.total_seconds(),
            max_redirects=fetch.max_redirects,
            policy=AddressPolicy(fetch.allow_private_addresses, frozenset(fetch.allow_hosts)),
            pool_hosts=max(64, fetch.concurrency * 2),
            per_host=fetch.per_host,
        )
