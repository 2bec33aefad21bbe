"""Typed values handed between stages: fetch -> parse -> store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class FetchStatus(StrEnum):
    OK = "ok"  # a new body, parsed and stored
    NOT_MODIFIED = "not_modified"  # 304 to our conditional GET
    UNCHANGED = "unchanged"  # 200, but the same body as last time: not parsed again
    ERROR = "error"
    SKIPPED = "skipped"  # Retry-After pending; not contacted
    DISABLED = "disabled"  # 410 Gone earlier, or disabled in sources.yaml


class DateFallback(StrEnum):
    """Why an entry's published time is its first-seen time."""

    MISSING = "missing"
    FUTURE = "future"
    TOO_OLD = "too_old"


@dataclass(frozen=True, slots=True)
class Entry:
    """One normalised feed item or listing-page item, ready to store."""

    key: str  # identity within its source: GUID, else canonical URL, else a content hash
    guid: str | None
    url: str | None  # canonical: absolute, no fragment, no tracking parameters
    title: str  # plain text
    summary: str  # plain text
    content_html: str | None  # the item's HTML as published: untrusted, sanitise to show it
    author: str | None
    published_at: datetime  # UTC
    date_fallback: DateFallback | None
    categories: tuple[str, ...] = ()
    image_url: str | None = None
    content_hash: str = ""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    link: str | None
    language: str | None
    entries: tuple[Entry, ...]
    parser: str  # which parser read it, for diagnosis


@dataclass(frozen=True, slots=True)
class Validators:
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class HttpResult:
    """A completed HTTP exchange (any status) with its capped, decoded body."""

    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    permanent_redirect: str | None = None  # target of a 301/308 on the first hop
    elapsed: float = 0.0


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the store remembers about fetching one source."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_fetched_at: datetime | None = None
    last_success_at: datetime | None = None
    last_status: str | None = None
    last_http_status: int | None = None
    last_error: str | None = None
    last_error_kind: str | None = None
    last_error_at: datetime | None = None
    error_count: int = 0
    next_fetch_at: datetime | None = None
    retry_after_until: datetime | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    moved_to: str | None = None

    @property
    def validators(self) -> Validators:
        return Validators(self.etag, self.last_modified)


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """What fetching one source produced; the store records it whatever it is."""

    url: str
    status: FetchStatus
    started_at: datetime
    duration: float
    http_status: int | None = None
    error: str | None = None
    error_kind: str | None = None
    retry_after: datetime | None = None
    validators: Validators | None = None
    body_hash: str | None = None
    moved_to: str | None = None
    byte_count: int = 0
    feed: ParsedFeed | None = None


@dataclass(frozen=True, slots=True)
class SourceReport:
    """One line of a fetch run's report."""

    name: str
    url: str
    status: FetchStatus
    new_entries: int = 0
    updated_entries: int = 0
    duration: float = 0.0
    error: str | None = None
    error_kind: str | None = None
    http_status: int | None = None


@dataclass(frozen=True, slots=True)
class FetchReport:
    sources: tuple[SourceReport, ...] = field(default_factory=tuple)

    @property
    def new_entries(self) -> int:
        return sum(s.new_entries for s in self.sources)

    @property
    def errors(self) -> int:
        return sum(1 for s in self.sources if s.status is FetchStatus.ERROR)


@dataclass(frozen=True, slots=True)
class EntryInput:
    """What processing reads of a stored entry."""

    entry_id: int
    source_id: int
    entry_hash: str
    title: str
    summary: str
    url: str | None
    author: str | None
    published_at: datetime
    date_is_fallback: bool = False
    image_url: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """What processing made of one entry; the store keeps one per entry."""

    entry_id: int
    source_id: int
    entry_hash: str
    rules_hash: str
    processed_at: datetime
    url: str | None
    title: str
    published_at: datetime
    author: str | None
    site_name: str | None
    image_url: str | None
    image_caption: str | None
    image_credit: str | None
    text: str  # the text analysed: the article's full text, else the feed summary
    text_status: str  # full, summary_only, blocked, paywall, not_article, error
    text_reason: str | None
    page_fetched_at: datetime | None
    page_http_status: int | None
    language: str
    relevant: bool
    relevance_score: float
    relevance_reason: str
    matched_terms: tuple[dict[str, object], ...]
    topics: tuple[str, ...]
    routes: tuple[str, ...]
    places: dict[str, object]  # {"dateline": code or None, "mentioned": [codes]}
    org_mentions: tuple[dict[str, str | None], ...]
    outlets: tuple[str, ...]  # who the sentence credits: the source, and a wire if named
    sentence: str | None
    sentence_source: str | None  # extractive, llm, cache
    sentence_error: str | None
    story_id: int | None = None  # the story it belongs to (relevant articles are clustered)
