"""Queries of the processing stage: entries waiting to be processed, articles, summaries."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, delete, func, insert, or_, select

from aggregator.models import Article, EntryInput
from aggregator.store.schema import articles, entries, signatures, sources, summaries
from aggregator.stories.cluster import ArticleForClustering

CLUSTER_TEXT = 1500  # characters of an article's text its story signature is made from

_ARTICLE_FIELDS = tuple(f.name for f in fields(Article))


@dataclass(frozen=True, slots=True)
class Pending:
    """An entry to process, with what an earlier processing of it kept."""

    entry: EntryInput
    source_url: str
    previous_text: str | None  # full text fetched earlier, reused when only the rules changed
    previous_status: str | None
    entry_changed: bool


class ArticleQueries:
    """Mixed into Store, which provides ``read`` and ``write``."""

    def read(self) -> AbstractContextManager[Connection]: ...  # pragma: no cover
    def write(self) -> AbstractContextManager[Connection]: ...  # pragma: no cover

    def pending_ids(self, rules_hash: str, since: datetime, limit: int | None = None) -> list[int]:
        """Entries published since ``since`` never processed, changed, or processed under
        other rules, newest first: their ids, so that a run loads them a batch at a time
        (:meth:`pending_entries`) and a backlog of any size costs memory for one batch."""
        query = _pending_where(select(entries.c.id), rules_hash, since)
        query = query.order_by(entries.c.published_at.desc(), entries.c.id).limit(limit)
        with self.read() as conn:
            return list(conn.scalars(query))

    def count_pending(self, rules_hash: str, since: datetime) -> int:
        query = _pending_where(select(func.count()).select_from(entries), rules_hash, since)
        with self.read() as conn:
            return int(conn.scalar(query) or 0)

    def pending_entries(self, ids: Sequence[int]) -> list[Pending]:
        """The entries ``ids`` with what their earlier processing kept, in the order given."""
        if not ids:
            return []
        query = (
            select(
                entries,
                sources.c.url.label("source_url"),
                articles.c.entry_hash.label("done"),
                articles.c.text.label("previous_text"),
                articles.c.text_status.label("previous_status"),
            )
            .join(sources, sources.c.id == entries.c.source_id)
            .outerjoin(articles, articles.c.entry_id == entries.c.id)
            .where(entries.c.id.in_(ids))
        )
        with self.read() as conn:
            found = {row["id"]: _pending(row) for row in conn.execute(query).mappings()}
        return [found[i] for i in ids if i in found]  # an entry pruned meanwhile is skipped

    def save_articles(self, found: Sequence[Article]) -> None:
        if not found:
            return
        rows = [_article_row(a) for a in found]
        with self.write() as conn:
            ids = [a.entry_id for a in found]
            conn.execute(delete(articles).where(articles.c.entry_id.in_(ids)))
            conn.execute(insert(articles), rows)

    def articles(
        self,
        *,
        since: datetime | None = None,
        relevant_only: bool = False,
        limit: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Articles with their outlet's name, newest first."""
        query = select(articles, sources.c.name.label("source_name")).join(
            sources, sources.c.id == articles.c.source_id
        )
        if since is not None:
            query = query.where(articles.c.published_at >= since)
        if relevant_only:
            query = query.where(articles.c.relevant.is_(True))
        query = query.order_by(articles.c.published_at.desc(), articles.c.entry_id).limit(limit)
        with self.read() as conn:
            yield from (dict(row) for row in conn.execute(query).mappings())

    def cluster_rows(
        self, since: datetime, ids: Sequence[int] | None = None
    ) -> Iterator[tuple[ArticleForClustering, int, bytes]]:
        """Clustered articles published since ``since`` (only ``ids`` when given), oldest
        first, to restore the story index: streamed, with only what clustering reads."""
        query = (
            select(
                articles.c.entry_id,
                articles.c.url,
                articles.c.title,
                func.substr(articles.c.text, 1, CLUSTER_TEXT).label("text"),
                articles.c.outlets,
                articles.c.published_at,
                articles.c.language,
                articles.c.places,
                articles.c.story_id,
                entries.c.guid,
                signatures.c.signature,
            )
            .join(entries, entries.c.id == articles.c.entry_id)
            .join(signatures, signatures.c.entry_id == articles.c.entry_id)
            .where(articles.c.story_id.is_not(None), articles.c.published_at >= since)
            .order_by(articles.c.published_at, articles.c.entry_id)
            .execution_options(yield_per=500)
        )
        if ids is not None:
            query = query.where(articles.c.entry_id.in_(ids))
        with self.read() as conn:
            for row in conn.execute(query).mappings():
                yield for_clustering(row, row["guid"]), row["story_id"], row["signature"]

    def clustered_since(self, since: datetime) -> dict[int, tuple[datetime, int]]:
        """Id -> (publication time, story id) of :meth:`cluster_rows`' articles: what an
        index kept in memory checks itself against before a run."""
        query = (
            select(articles.c.entry_id, articles.c.published_at, articles.c.story_id)
            .join(signatures, signatures.c.entry_id == articles.c.entry_id)
            .where(articles.c.story_id.is_not(None), articles.c.published_at >= since)
        )
        with self.read() as conn:
            return {entry: (published, story) for entry, published, story in conn.execute(query)}

    def save_signatures(self, found: Sequence[tuple[int, bytes]]) -> None:
        if not found:
            return
        with self.write() as conn:
            conn.execute(delete(signatures).where(signatures.c.entry_id.in_([i for i, _ in found])))
            conn.execute(insert(signatures), [{"entry_id": i, "signature": s} for i, s in found])

    def summary(self, key: str) -> str | None:
        with self.read() as conn:
            return conn.scalar(select(summaries.c.sentence).where(summaries.c.key == key))

    def save_summary(self, key: str, sentence: str, now: datetime) -> None:
        with self.write() as conn:
            conn.execute(delete(summaries).where(summaries.c.key == key))
            conn.execute(insert(summaries).values(key=key, sentence=sentence, created_at=now))


def for_clustering(
    article: Article | Mapping[str, Any], guid: str | None = None
) -> ArticleForClustering:
    """An article (a value, or a row of the store) as the story index sees it."""
    data: Mapping[str, Any] = (
        article
        if isinstance(article, Mapping)
        else {name: getattr(article, name) for name in _ARTICLE_FIELDS}
    )
    outlets = data["outlets"] or ()
    return ArticleForClustering(
        id=data["entry_id"],
        url=data["url"],
        guid=guid,
        title=data["title"],
        text=(data["text"] or "")[:CLUSTER_TEXT],
        outlet=outlets[0] if outlets else "",
        published=data["published_at"],
        language=data["language"],
        places=tuple((data["places"] or {}).get("mentioned") or ()),
    )


def _pending_where(query: Select[Any], rules_hash: str, since: datetime) -> Select[Any]:
    """Entries since ``since`` with no article, a changed content, or other rules."""
    return (
        query.outerjoin(articles, articles.c.entry_id == entries.c.id)
        .where(entries.c.published_at >= since)
        .where(
            or_(
                articles.c.entry_id.is_(None),
                articles.c.entry_hash != entries.c.content_hash,
                articles.c.rules_hash != rules_hash,
            )
        )
    )


def _pending(row: Any) -> Pending:
    entry = EntryInput(
        entry_id=row["id"],
        source_id=row["source_id"],
        entry_hash=row["content_hash"],
        title=row["title"],
        summary=row["summary"],
        url=row["url"],
        author=row["author"],
        published_at=row["published_at"],
        date_is_fallback=row["date_fallback"] is not None,
        image_url=row["image_url"],
    )
    changed = row["done"] is not None and row["done"] != row["content_hash"]
    return Pending(entry, row["source_url"], row["previous_text"], row["previous_status"], changed)


def _article_row(article: Article) -> dict[str, Any]:
    row = {name: getattr(article, name) for name in _ARTICLE_FIELDS}
    for name in ("matched_terms", "topics", "routes", "org_mentions", "outlets"):
        row[name] = list(row[name])
    return row
