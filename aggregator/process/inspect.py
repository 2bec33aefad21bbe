"""`aggregator inspect`: analyse pages given by path or URL exactly as processing would.

A file is read from disk (``--url`` says where it came from, for its links and robots);
a URL goes through the article fetcher (robots.txt, SSRF guard, size and time caps).
Nothing is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aggregator.errors import ConfigError
from aggregator.fetch.http import HttpClient
from aggregator.models import Article, EntryInput
from aggregator.process.analyse import Page
from aggregator.process.extract import extract_article
from aggregator.process.run import to_page
from aggregator.sources import Source

if TYPE_CHECKING:
    from aggregator.app import App


def inspect_inputs(
    app: App, inputs: Sequence[str], *, url: str | None = None, outlet: str | None = None
) -> list[tuple[str, Article]]:
    urls = [i for i in inputs if _is_url(i)]
    pages = _fetch(app, urls) if urls else {}
    results = []
    for item in inputs:
        page = pages[item] if _is_url(item) else _read(Path(item), url)
        address = item if _is_url(item) else url
        results.append((item, _analyse(app, page, address, outlet)))
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
    name = outlet or _configured_name(app, url) or found.site_name or _host(url)
    source = Source.model_construct(name=name, url=url or "", language=found.language)
    return app.analyser.analyse(entry, source, page, now)


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
