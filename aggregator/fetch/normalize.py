"""Normalising what feeds and pages say into clean, comparable values.

Pure functions: canonical URLs, plain text from feed HTML, sane UTC dates, stable keys.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import urljoin, urlsplit, urlunsplit

from aggregator.models import DateFallback, Entry

# Query parameters that only track the reader; they never change the article.
TRACKING_PARAMS = frozenset(
    """fbclid gclid dclid msclkid yclid mc_cid mc_eid igshid _ga ocid cmpid cmp at_medium
    at_campaign at_custom1 at_custom2 at_custom3 at_custom4 smid ito sr_share traffic_source
    wt_mc wt_zmc xtor ns_mchannel ns_source ns_campaign ns_linkname ns_fee""".split()
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]")
_SPACE = re.compile(r"\s+")
_DEFAULT_PORT = {"http": 80, "https": 443}
_ABSOLUTE = re.compile(r"https?://", re.IGNORECASE)
# Already canonical but for a fragment: lower-case scheme and host, no port, user or
# character references. Most links are like this and skip the general path.
_PLAIN_URL = re.compile(
    r"(https?://[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(/[^\s?#&\\\x00-\x1f\x7f-\x9f]*)?"
    r"(\?[^\s#\\\x00-\x1f\x7f-\x9f]*)?(?:#.*)?",
    re.DOTALL,
)
_UNTIDY = re.compile(r"[\x00-\x20\x7f-\x9f&]")
_WHITESPACE_IN_URL = re.compile(r"[\t\r\n]")
_TRACKER = re.compile(
    r"(?:^|(?<=&))(?:utm_[^=&]*|" + "|".join(sorted(TRACKING_PARAMS)) + r")(?:=|&|$)",
    re.IGNORECASE,
)
_CHAR_REF = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_TAGLIKE = re.compile(r"<[A-Za-z/!?]")
EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(minutes=10)  # clock skew between us and a publisher
MAX_SUMMARY = 2000
MAX_CONTENT = 512 * 1024


@lru_cache(maxsize=32768)
def canonical_url(href: str | None, base: str | None = None) -> str | None:
    """Absolute http(s) URL without fragment or tracking parameters; None if there is none.

    Everything else is kept as the publisher wrote it (parameter order, percent-encoding).
    Cached: a feed's links repeat on every fetch, and a GUID is often its link.
    """
    if not href:
        return None
    plain = _PLAIN_URL.fullmatch(href)
    if plain and not _CHAR_REF.search(href):
        query = (plain.group(3) or "?")[1:]
        if _TRACKER.search(query):
            query = _drop_trackers(query)
        return plain.group(1) + (plain.group(2) or "/") + (f"?{query}" if query else "")
    return _canonical(href, base)


def _canonical(href: str, base: str | None) -> str | None:
    text = _tidy_href(href) if _UNTIDY.search(href) else href
    try:  # a malformed host ("//[", "//[]") makes urllib raise: it is not a link
        if not _ABSOLUTE.match(text):
            text = urljoin(base, text) if base else text
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    if port and port != _DEFAULT_PORT[scheme]:
        host = f"{host}:{port}"
    if "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[0] + "@" + host
    query = _drop_trackers(parts.query) if _TRACKER.search(parts.query) else parts.query
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def _tidy_href(href: str) -> str:
    # Browsers drop tabs and newlines inside URLs, which hides "java\tscript:" schemes, and
    # feeds escape twice, which hides "&#106;avascript:".
    return _WHITESPACE_IN_URL.sub("", _unescape_refs(_CONTROL.sub("", href))).strip()


def _drop_trackers(query: str) -> str:
    kept = [
        part for part in query.split("&") if not _TRACKER.fullmatch(part.split("=", 1)[0] + "=")
    ]
    return "&".join(kept)


def _unescape_refs(value: str) -> str:
    """Decode character references that end in ';' only: "&section=" is a query parameter,
    not the legacy entity "&sect" followed by "ion"."""
    return _CHAR_REF.sub(lambda m: html.unescape(m.group(0)), value)


def clean_text(value: str | None, limit: int | None = None) -> str:
    """Plain text from feed HTML: no markup, entities decoded, no control characters."""
    if not value:
        return ""
    text = _CONTROL.sub("", value)
    if "<" in text or "&" in text:
        text = _strip_markup(text)
        if _TAGLIKE.search(text):  # markup that was escaped twice
            text = _strip_markup(text.replace("&", "&amp;"))
    text = _SPACE.sub(" ", text).strip()
    if limit and len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
    return text


def _strip_markup(text: str) -> str:
    """Markup to text the way a browser shows it: dropped elements vanish with their content,
    block elements separate words, inline ones do not, references are decoded."""
    text = _DROPPED_ELEMENTS.sub(" ", _COMMENT.sub("", text))
    text = _TAG.sub(lambda m: " " if m.group(1).lower() in _BLOCKS else "", text)
    return html.unescape(text)


_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_DROPPED_ELEMENTS = re.compile(
    r"<(script|style|noscript|template|head|title)\b.*?(?:</\1\s*>|$)", re.DOTALL | re.IGNORECASE
)
# A tag, with quoted attribute values that may hold ">"; group 1 is its name.
_TAG = re.compile(r"""</?\s*([A-Za-z][A-Za-z0-9:-]*|!|\?)(?:[^>"']|"[^"]*"|'[^']*')*>""")
_BLOCKS = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote tr td th table figure figcaption "
    "section article header footer aside dd dt hr pre ! ?".split()
)


def sane_date(value: datetime | None, first_seen: datetime) -> tuple[datetime, DateFallback | None]:
    """The published time in UTC, or the first-seen time with the reason why."""
    if value is None:
        return first_seen, DateFallback.MISSING
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if value > first_seen + FUTURE_SLACK:
        return first_seen, DateFallback.FUTURE
    if value < EARLIEST:
        return first_seen, DateFallback.TOO_OLD
    return value, None


@dataclass(frozen=True, slots=True)
class RawItem:
    """An item as a parser saw it, before normalisation."""

    title: str | None = None
    link: str | None = None
    guid: str | None = None
    summary_html: str | None = None
    content_html: str | None = None
    author: str | None = None
    published: datetime | None = None
    categories: tuple[str, ...] = ()
    image: str | None = None


def to_entry(item: RawItem, base: str, first_seen: datetime) -> Entry | None:
    """Normalise one item; None when it carries nothing to show (no title, text or link)."""
    url = canonical_url(item.link, base)
    title = clean_text(item.title, 1000)
    summary = clean_text(item.summary_html or item.content_html, MAX_SUMMARY)
    if not (title or summary or url):
        return None
    guid = _clean_attr(item.guid)
    published, fallback = sane_date(item.published, first_seen)
    content = item.content_html or item.summary_html
    content = content[:MAX_CONTENT] if content else None
    image = canonical_url(item.image, base)
    return Entry(
        key=entry_key(guid, url, base, title, summary),
        guid=guid,
        url=url,
        title=title,
        summary=summary,
        content_html=content,
        author=clean_text(item.author, 300) or None,
        published_at=published,
        date_fallback=fallback,
        categories=tuple(dict.fromkeys(c for c in map(clean_text, item.categories) if c))[:20],
        image_url=image,
        # What the publisher wrote; a first-seen fallback date is ours, so it is left out.
        content_hash=_hash(title, url, summary, content, None if fallback else published, image),
    )


def entry_key(guid: str | None, url: str | None, base: str, title: str, summary: str) -> str:
    """Identity of an item within its source: GUID, else canonical URL, else a content hash.

    A GUID that is a URL is canonicalised like a link, so a feed that switches between
    ``<guid isPermaLink="true">`` and a bare ``<link>`` keeps its items' identity.
    """
    if guid:
        as_url = canonical_url(guid, base) if guid.lower().startswith(("http:", "https:")) else None
        return as_url or f"guid:{guid}"
    if url:
        return url
    digest = hashlib.sha1(f"{title}\n{summary}".encode(), usedforsecurity=False).hexdigest()
    return f"hash:{digest[:24]}"


def _clean_attr(value: str | None) -> str | None:
    text = _CONTROL.sub("", value or "").strip()
    return text[:2000] or None


def _hash(*parts: object) -> str:
    text = "\x1f".join("" if part is None else str(part) for part in parts)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()
