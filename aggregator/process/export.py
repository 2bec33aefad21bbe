"""Articles as JSON objects: what `inspect --json` and `articles export` print."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aggregator.models import Article

KEYS = (
    "url",
    "title",
    "published",
    "text",
    "text_status",
    "language",
    "relevant",
    "relevance_score",
    "relevance_reason",
    "matched_terms",
    "topics",
    "routes",
    "places",
    "org_mentions",
    "sentence",
)


def article_json(article: Article | Mapping[str, Any]) -> dict[str, Any]:
    """The public keys of an article (a value, or a row from the store)."""
    get = article.get if isinstance(article, Mapping) else lambda k: getattr(article, k)
    values = {key: get(key) for key in KEYS if key != "published"}
    values["published"] = _iso(get("published_at"))
    values["matched_terms"] = list(values["matched_terms"] or [])
    values["topics"] = list(values["topics"] or [])
    values["routes"] = list(values["routes"] or [])
    values["org_mentions"] = list(values["org_mentions"] or [])
    return {key: values[key] for key in KEYS}


def export_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """An article row of the store with its outlet and story."""
    return {
        **article_json(row),
        "outlet": row.get("source_name"),
        "outlets": list(row.get("outlets") or []),
        "story_id": row.get("story_id"),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
