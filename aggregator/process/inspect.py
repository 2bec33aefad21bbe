"""`aggregator inspect`: analyse pages given by path or URL exactly as processing would.

A file is read from disk (``--url`` says where it came from, for its links and robots);
a URL goes through the article fetcher (robots.txt, SSRF guard, size and time caps).
Nothing is stored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aggregator.errors import ConfigError
from aggregator.fetch.http import HttpClient
from aggregator.models import Article, EntryInput
from aggregator.process.analyse import Page
from aggregator.process.extract import extract_article
from aggregator.process.outlets import outlet_name
from aggregator.process.run import to_page
from aggregator.sources import Source

if TYPE_CHECKING:
    from aggregator.app import App


@dataclass(frozen=True, slots=True)
class Inspection:
    input: str
    article: Article | None = None
    error: str | None = None  # why this input could not be read
    date_known: bool = True  # False: the page gave no date, and none is shown


def inspect_inputs(
    app: App, inputs: Sequence[str], *, url: str | None = None, outlet: str | None = None
) -> list[Inspection]:
    """One result per input, in order; an unreadable file does not stop the others."""
    urls = [i for i in inputs if _is_url(i)]
    pages = _fetch(app, urls) if urls else {}
    results = []
    for item in inputs:
        try:
            page = pages[item] if _is_url(item) else _read(Path(item), url)
        except ConfigError as exc:
            results.append(Inspection(item, error=str(exc)))
            continue
        address = item if _is_url(item) else url
        article = _analyse(app, page, address, outlet)
        results.append(Inspection(item, article, date_known=page.extraction.published is not None))
    return results


def _is_url(value: str) -> bool:
    return urlsplit(value).scheme in ("http", "https")


def _fetch(app: App, urls: Sequence[str]) -> dict[str, Page]:
    client = HttpClient(app.http_options(), clock=app.clock)
    try:
        fetcher = app.article_fetcher(client)
        return {f.url: to_page(f, app.clock()) for f in fetcher.fetch_many(list(urls))}
    finally:
        client.close()


def _read(path: Path, url: str | None) -> Page:
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return Page(extract_article(body, url or path.resolve().as_uri()))


def _analyse(app: App, page: Page, url: str | None, outlet: str | None) -> Article:
    found = page.extraction
    now = app.clock()
    entry = EntryInput(
        entry_id=0,
        source_id=0,
        entry_hash="",
        title=found.title or "",
        summary="",
        url=url,
        author=found.author,
        published_at=found.published or now,
        date_is_fallback=found.published is None,
        image_url=found.image_url,
    )
    name = outlet or _configured_name(app, url) or outlet_name(url) or _site(found.site_name)
    name = name or _host(url)
    source = Source.model_construct(name=name, url=url or "", language=found.language)
    return app.analyser.analyse(entry, source, page, now)


def _site(name: str | None) -> str | None:
    """A page's own site name, made printable: "DW.COM" -> "DW" (when known), and
    "100% Noticias | Nicaragua - Con Primicias" -> "100% Noticias"."""
    if not name:
        return None
    if "." in name and " " not in name:
        return outlet_name(f"https://{name}") or name
    return re.split(r"\s+[|–—-]\s+", name)[0].strip() or name


def _configured_name(app: App, url: str | None) -> str | None:
    host = _host(url)
    for source in app.config.sources:
        if host and source.host.removeprefix("www.") == host:
            return source.name
    return None


def _host(url: str | None) -> str | None:
    if not url:
        return None
    return (urlsplit(url).hostname or "").removeprefix("www.") or None
