"""Listing page bytes -> ParsedFeed, for sites without a feed (``kind: page``).

beautifulsoup4 with lxml reads the page; the source's CSS selectors pick the items. The
``link`` selector may match the item itself (``item: "a.story"`` with ``link: "a"``). A
selector that matches nothing is an error: the site has most likely changed its layout.
"""

from __future__ import annotations

from datetime import datetime

import soupsieve
from bs4 import BeautifulSoup, Tag
from bs4.exceptions import ParserRejectedMarkup
from soupsieve import SelectorSyntaxError

from aggregator.errors import ParseError
from aggregator.fetch.feeds import parse_date_text
from aggregator.fetch.normalize import RawItem, canonical_url, clean_text, to_entry
from aggregator.models import Entry, ParsedFeed
from aggregator.sources import Selectors


def parse_page(body: bytes, url: str, selectors: Selectors, first_seen: datetime) -> ParsedFeed:
    if not body.strip():
        raise ParseError("the page is empty")
    try:
        soup = BeautifulSoup(body, "lxml")
        items = soup.select(selectors.item)
    except SelectorSyntaxError as exc:
        raise ParseError(f"invalid CSS selector {selectors.item!r}: {exc}") from exc
    except ParserRejectedMarkup as exc:
        raise ParseError(f"the page cannot be parsed: {exc}") from exc
    if not items:
        raise ParseError(
            f"selector item={selectors.item!r} matched nothing on the page"
            " (has the layout changed?)"
        )
    base = _base_url(soup, url)
    entries: dict[str, Entry] = {}
    for item in items:
        entry = to_entry(_raw_item(item, selectors), base, first_seen)
        if entry is not None and entry.url and entry.key not in entries:
            entries[entry.key] = entry
    if not entries:
        raise ParseError(
            f"selector link={selectors.link!r} found no http(s) link in the"
            f" {len(items)} item(s) matched by {selectors.item!r}"
        )
    title = soup.title.get_text() if soup.title else None
    return ParsedFeed(
        clean_text(title) or None, url, _language(soup), tuple(entries.values()), "page"
    )


def _raw_item(item: Tag, selectors: Selectors) -> RawItem:
    link = _first(item, selectors.link)
    title = _first(item, selectors.title) if selectors.title else link
    summary = _first(item, selectors.summary) if selectors.summary else None
    date = _first(item, selectors.date) if selectors.date else None
    return RawItem(
        title=title.get_text(" ") if title else None,
        link=_attr(link, "href"),
        summary_html=summary.get_text(" ") if summary else None,
        published=_date(date),
    )


def _first(item: Tag, selector: str) -> Tag | None:
    try:
        if soupsieve.match(selector, item):  # the item itself is the link, say
            return item
        return item.select_one(selector)
    except SelectorSyntaxError as exc:
        raise ParseError(f"invalid CSS selector {selector!r}: {exc}") from exc


def _attr(tag: Tag | None, name: str) -> str | None:
    if tag is None:
        return None
    value = tag.get(name)
    if value is None and tag.name != "a":
        inner = tag.find("a", href=True)
        value = inner.get(name) if isinstance(inner, Tag) else None
    return str(value) if value else None


def _date(tag: Tag | None) -> datetime | None:
    if tag is None:
        return None
    for value in (tag.get("datetime"), tag.get("content"), tag.get_text(" ")):
        if value and (stamp := parse_date_text(str(value))):
            return stamp
    return None


def _base_url(soup: BeautifulSoup, url: str) -> str:
    base = soup.find("base", href=True)
    href = base.get("href") if isinstance(base, Tag) else None
    return canonical_url(str(href), url) or url if href else url


def _language(soup: BeautifulSoup) -> str | None:
    html = soup.find("html")
    lang = html.get("lang") if isinstance(html, Tag) else None
    return str(lang).split("-")[0].lower() if lang else None
