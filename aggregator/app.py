"""The facade: one object, built from a Config, that the CLI (and later the daemon and the web
app) calls. It wires the stages together and owns their resources; it holds no logic of its
own beyond choosing which sources a command is about."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from aggregator.config import Config
from aggregator.digest.desk import Desk
from aggregator.errors import ConfigError
from aggregator.fetch.articles import ArticleFetcher
from aggregator.fetch.guard import AddressPolicy
from aggregator.fetch.http import HttpClient, HttpOptions
from aggregator.fetch.parsing import parser_for
from aggregator.fetch.robots import RobotsCache
from aggregator.fetch.runner import FetchRun, Progress, RunOptions
from aggregator.fetch.source import Parse
from aggregator.models import FetchReport
from aggregator.process.analyse import Analyser
from aggregator.process.inspect import Inspection, inspect_inputs
from aggregator.process.llm import LlmOptions, LlmSummarizer
from aggregator.process.places import Gazetteer
from aggregator.process.run import ProcessReport, ProcessRun
from aggregator.process.run import Progress as ProcessProgress
from aggregator.process.taxonomy import load_taxonomy
from aggregator.sources import Source
from aggregator.store import SourceRow, Store
from aggregator.stories.memory import StoryMemory

ROBOTS_AGENT = "aggregator"  # the product token robots.txt rules are matched against

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
        self._analyser: Analyser | None = None
        self.stories = StoryMemory()  # the story index, kept between this process's runs
        self.parse: Parse | None = None  # a parser a long-lived process keeps (see keep_parser)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.config.settings.database_url)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    @contextmanager
    def keep_parser(self) -> Iterator[Parse]:
        """Keep the parser processes between fetches until the block ends (a daemon's or a
        worker's life): each fetch would otherwise start its own."""
        with parser_for(self.config.settings.fetch) as parse:
            self.parse = parse
            try:
                yield parse
            finally:
                self.parse = None

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
        client = HttpClient(self.http_options(), clock=self.clock)
        try:
            settings = self.config.settings.fetch
            run = FetchRun(self.store, client, settings, self.clock, self.rng, parse=self.parse)
            options = RunOptions(force=force, named=bool(names), due_only=due_only)
            return run.run(chosen, options, progress)
        finally:
            client.close()

    @property
    def desk(self) -> Desk:
        """Drafting, editing and publishing editions."""
        return Desk(self.store, self.config, self.clock)

    @property
    def analyser(self) -> Analyser:
        if self._analyser is None:
            settings = self.config.settings
            taxonomy = load_taxonomy(settings.taxonomy)
            self._analyser = Analyser(taxonomy, Gazetteer.load(), settings.organization)
        return self._analyser

    def process(
        self, limit: int | None = None, progress: ProcessProgress | None = None
    ) -> ProcessReport:
        """Process the entries that are new, changed, or analysed under other rules."""
        client = HttpClient(self.http_options(), clock=self.clock)
        summarizer = self._summarizer()
        try:
            run = ProcessRun(
                self.store,
                self.analyser,
                self.config.sources,
                self.config.settings.process,
                self.clock,
                fetcher=self.article_fetcher(client),
                summarizer=summarizer,
                stories=self.stories,
            )
            return run.run(limit, progress)
        finally:
            client.close()
            if summarizer:
                summarizer.close()

    def inspect(
        self, inputs: Sequence[str], *, url: str | None = None, outlet: str | None = None
    ) -> list[Inspection]:
        """Analyse HTML files or URLs as processing would; nothing is stored."""
        return inspect_inputs(self, inputs, url=url, outlet=outlet)

    def pending_count(self) -> int:
        since = self.clock() - self.config.settings.process.max_age
        return self.store.count_pending(self.analyser.rules_hash, since)

    def article_fetcher(self, client: HttpClient) -> ArticleFetcher:
        settings = self.config.settings
        robots = RobotsCache(client, ROBOTS_AGENT, clock=self.clock)
        return ArticleFetcher(
            client,
            robots,
            max_bytes=int(settings.fetch.max_page_bytes),
            workers=settings.process.workers,
            min_delay=settings.process.host_delay.total_seconds(),
            max_delay=settings.process.max_host_delay.total_seconds(),
        )

    def _summarizer(self) -> LlmSummarizer | None:
        llm = self.config.settings.llm
        if not llm.enabled or not llm.base_url or not llm.model:
            return None
        options = LlmOptions(
            base_url=llm.base_url,
            model=llm.model,
            api_key=llm.api_key,
            timeout=llm.timeout.total_seconds(),
            max_calls=llm.max_calls,
        )
        return LlmSummarizer(options, StoreCache(self.store, self.clock))

    def health(self) -> list[tuple[Source, SourceRow | None]]:
        """Every configured source with what the store knows of it."""
        rows = {row.state.url: row for row in self.store.source_rows()}
        return [(source, rows.get(source.url)) for source in self.config.sources]

    def http_options(self) -> HttpOptions:
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


class StoreCache:
    """The LLM summarizer's cache, kept in the store so it lasts between runs."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock

    def get(self, key: str) -> str | None:
        return self.store.summary(key)

    def put(self, key: str, value: str) -> None:
        self.store.save_summary(key, value, self.clock())
