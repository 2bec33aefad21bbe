"""A processing run: stored entries in, stored articles out, a batch at a time.

For each batch: fetch the article pages it needs (politely, see fetch/articles.py), extract
them, analyse every entry (pure), let the optional LLM rewrite the sentences of relevant
articles, and store the batch in one transaction. A crash loses at most the batch in hand;
the next run picks up what is not stored yet.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from aggregator.config import ProcessSettings
from aggregator.fetch.articles import ArticleFetcher, PageFetch
from aggregator.models import Article
from aggregator.process.analyse import Analyser, Page
from aggregator.process.extract import (
    Extraction,
    TextStatus,
    extract_article,
    needs_full_text,
    status_for_http,
)
from aggregator.process.llm import LlmSummarizer
from aggregator.sources import Source
from aggregator.store import Store
from aggregator.store.articles import Pending, for_clustering
from aggregator.stories.cluster import StoryIndex
from aggregator.stories.memory import StoryMemory

log = logging.getLogger(__name__)
BATCH = 100

Progress = Callable[[int], None]  # called with the number of entries just processed


@dataclass(slots=True)
class ProcessReport:
    processed: int = 0
    relevant: int = 0
    pages_fetched: int = 0
    text_status: Counter[str] = field(default_factory=Counter)
    llm_calls: int = 0


class ProcessRun:
    def __init__(
        self,
        store: Store,
        analyser: Analyser,
        sources: Sequence[Source],
        settings: ProcessSettings,
        clock: Callable[[], datetime],
        fetcher: ArticleFetcher | None = None,
        summarizer: LlmSummarizer | None = None,
        stories: StoryMemory | None = None,
    ) -> None:
        self.store, self.analyser, self.settings = store, analyser, settings
        # A long-lived process passes the one it keeps between runs.
        self.stories = StoryMemory() if stories is None else stories
        self.sources = {s.url: s for s in sources}
        self.clock, self.fetcher, self.summarizer = clock, fetcher, summarizer

    def run(self, limit: int | None = None, progress: Progress | None = None) -> ProcessReport:
        since = self.clock() - self.settings.max_age
        pending = self.store.pending_ids(self.analyser.rules_hash, since, limit)
        report = ProcessReport()
        stories = self.stories.index(self.store, self.clock()) if pending else None
        for start in range(0, len(pending), BATCH):
            batch = self.store.pending_entries(pending[start : start + BATCH])
            found = self._batch(batch, report)
            if stories is None:
                self.store.save_articles(found)
            else:
                self._store_clustered(stories, found)
            if progress:
                progress(len(batch))
        if self.summarizer:
            report.llm_calls = self.summarizer.calls
        return report

    def _store_clustered(self, stories: StoryIndex, found: list[Article]) -> None:
        """Cluster and store a batch; the kept index is dropped if that fails half-way (it
        may hold articles the store does not: the next run rebuilds it)."""
        try:
            found = self._cluster(stories, found)
            self.store.save_articles(found)
        except BaseException:
            self.stories.drop()
            raise
        self.stories.stored(
            [(a.entry_id, a.published_at, a.story_id) for a in found if a.story_id is not None]
        )

    def _cluster(self, stories: StoryIndex, found: list[Article]) -> list[Article]:
        """Relevant articles join (or open) a story; their signatures are stored."""
        clustered, signatures = [], []
        for article in sorted(found, key=lambda a: (a.published_at, a.entry_id)):
            if article.relevant:
                story_id = stories.add(for_clustering(article))
                signatures.append((article.entry_id, stories.signature(article.entry_id)))
                article = replace(article, story_id=story_id)
            clustered.append(article)
        self.store.save_signatures(signatures)
        return clustered

    def _batch(self, batch: Sequence[Pending], report: ProcessReport) -> list[Article]:
        pages = self._pages([p for p in batch if self._needs_page(p)], report)
        found = []
        for item in batch:
            page = pages.get(item.entry.entry_id)
            previous = None if item.entry_changed else item.previous_text
            source = self.sources.get(item.source_url)
            article = self.analyser.analyse(item.entry, source, page, self.clock(), previous)
            article = self._summarize(article)
            report.processed += 1
            report.relevant += article.relevant
            report.text_status[article.text_status] += 1
            found.append(article)
        return found

    def _needs_page(self, item: Pending) -> bool:
        source = self.sources.get(item.source_url)
        if self.fetcher is None or not item.entry.url or (source and source.fulltext is False):
            return False
        if item.previous_status is not None and not item.entry_changed:
            return False  # tried before (full text kept, or a failure not worth repeating)
        if source is not None and source.fulltext is True:
            return True
        short = needs_full_text(item.entry.summary, min_words=self.settings.fulltext_min_words)
        trusted = source is not None and source.trusted
        return short and (trusted or self.analyser.worth_a_page(item.entry))

    def _pages(self, items: Iterable[Pending], report: ProcessReport) -> dict[int, Page]:
        by_url: dict[str, list[int]] = {}
        for item in items:
            by_url.setdefault(item.entry.url or "", []).append(item.entry.entry_id)
        if not by_url or self.fetcher is None:
            return {}
        pages: dict[int, Page] = {}
        for fetched in self.fetcher.fetch_many(list(by_url)):
            report.pages_fetched += fetched.http_status is not None
            page = to_page(fetched, self.clock())
            for entry_id in by_url.get(fetched.url, ()):
                pages[entry_id] = page
        return pages

    def _summarize(self, article: Article) -> Article:
        if self.summarizer is None or not article.relevant or not article.sentence:
            return article
        summary = self.summarizer.summarize(
            outlets=article.outlets,
            title=article.title,
            text=article.text,
            language=article.language,
            fallback=article.sentence,
            published=article.published_at.date(),
        )
        return replace(
            article,
            sentence=summary.sentence,
            sentence_source=summary.source,
            sentence_error=summary.error,
        )


def to_page(fetched: PageFetch, now: datetime) -> Page:
    """A fetch result as the analyser sees it: an extraction, or why there is none."""
    if fetched.body is not None and fetched.error is None:
        extraction = extract_article(
            fetched.body,
            fetched.final_url or fetched.url,
            content_type=fetched.headers.get("content-type"),
        )
        return Page(extraction, now, fetched.http_status)
    if fetched.error_kind == "robots":
        failed = Extraction(TextStatus.BLOCKED, fetched.error or "disallowed by robots.txt")
    elif fetched.http_status is not None:
        failed = Extraction(
            status_for_http(fetched.http_status), f"HTTP {fetched.http_status} from the site"
        )
    else:
        failed = Extraction(TextStatus.ERROR, f"{fetched.error_kind}: {fetched.error}")
    log.info(
        "article page not used",
        extra={"url": fetched.url, "stage": "process", "error_kind": fetched.error_kind},
    )
    return Page(failed, now, fetched.http_status)
