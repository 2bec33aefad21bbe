"""Render a digest edition as an HTML e-mail, Markdown, plain text, JSON or Atom.

Every string that came from a feed (item texts, headlines, outlets, URLs, credits) is untrusted:

* :func:`clean_text` drops control characters (C0, C1, bidi overrides, lone surrogates),
  collapses whitespace and normalises to NFC, for every format;
* :func:`safe_url` keeps only absolute ``http(s)`` URLs with a host and no user name;
  anything else (``javascript:``, ``data:``, relative links) is dropped, never printed;
* HTML templates autoescape everything and allow no markup from feeds; Markdown escapes its
  significant characters; Atom is built with lxml, which escapes the HTML it carries.

Templates live in ``aggregator/digest/templates`` and are loaded from the package, so they
work from an installed wheel. Empty sections are omitted in the human formats (HTML,
Markdown, text, Atom) and kept with ``"items": []`` in JSON. The layout of each format is
described in ``docs/digest-json.md``.
"""

from __future__ import annotations

import json
import re
import textwrap
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import jinja2
from lxml import etree

from aggregator.digest.models import Edition, Item, Section, Status
from aggregator.errors import ConfigError

FORMATS = ("html", "md", "txt", "json", "atom")
JSON_VERSION = 1
FEATURED = "featured"  # the section printed as blocks (headline, image, teaser, Read more)
WIDTH = 78  # plain-text column limit
IMAGE_WIDTH = 592  # 640 px e-mail minus 2 x 24 px padding

_MONTHS = (
    "January February March April May June July August September October November December"
).split()
# C0/C1 controls, bidi embeddings/overrides/isolates (spoofing), surrogates, noncharacters.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)
_SPACE = re.compile(r"\s+")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#])")
_MD_LINE_START = re.compile(r"^([-+=]|\d{1,9}[.)])")
_MD_URL_UNSAFE = re.compile(r"[ ()<>\\\"'`]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ATOM = "http://www.w3.org/2005/Atom"


def clean_text(value: str | None) -> str:
    """Feed text made printable: no control or bidi-override characters, one line, NFC."""
    if not value:
        return ""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", value))
    return _SPACE.sub(" ", text).strip()


def safe_url(value: str | None) -> str | None:
    """An absolute http(s) URL fit for a link, or None (other schemes, no host, credentials)."""
    text = _INVISIBLE.sub("", value or "").strip().replace(" ", "%20")
    if not text or any(char.isspace() for char in text):  # browsers drop tabs and newlines
        return None
    try:
        parts = urlsplit(text)
        host, _port = parts.hostname, parts.port  # .port raises on a bad port
    except ValueError:  # a bad port or IPv6 literal
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or "@" in parts.netloc:
        return None
    return urlunsplit(parts._replace(scheme=parts.scheme.lower()))


def uk_date(day: date) -> str:
    """ "25 November 2026", whatever the locale."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


@dataclass(frozen=True, slots=True)
class Entry:
    """One item as the templates see it: cleaned strings, safe URLs only."""

    text: str
    title: str
    url: str | None
    outlets: tuple[str, ...]
    image_url: str | None
    image_credit: str


@dataclass(frozen=True, slots=True)
class Block:
    id: str
    title: str
    featured: bool
    entries: tuple[Entry, ...]


def _entry(item: Item) -> Entry | None:
    text, title = clean_text(item.text), clean_text(item.title)
    if not text and not title:
        return None
    return Entry(
        text=text,
        title=title,
        url=safe_url(item.url),
        outlets=tuple(name for name in map(clean_text, item.outlets) if name),
        image_url=safe_url(item.image_url),
        image_credit=_credit(clean_text(item.image_credit)),
    )


def _credit(credit: str) -> str:
    """ "Photo: IOM/Muse Mohammed", unless the credit already says what it is."""
    if not credit or credit.lower().startswith(("photo", "image", "credit", "©", "(c)")):
        return credit
    return f"Photo: {credit}"


def _blocks(sections: Sequence[Section]) -> tuple[Block, ...]:
    blocks = []
    for section in sections:
        entries = tuple(entry for entry in map(_entry, section.items) if entry)
        if entries:  # an empty section prints nothing, not even its title
            featured = section.id == FEATURED
            blocks.append(Block(section.id, clean_text(section.title), featured, entries))
    return tuple(blocks)


def edition_url(base_url: str | None, day: date) -> str | None:
    """Where the edition is published: ``base_url`` with ``{day}`` filled in, else
    ``<base_url>/<YYYY-MM-DD>.html``."""
    if base_url is None:
        return None
    url = base_url.replace("{day}", day.isoformat()) if "{day}" in base_url else None
    url = url or f"{base_url.rstrip('/')}/{day.isoformat()}.html"
    checked = safe_url(url)
    if checked is None:
        raise ConfigError(f"base_url must be an absolute http(s) URL, not {base_url!r}")
    return checked


def _preheader(blocks: Sequence[Block], limit: int = 110) -> str:
    """The inbox preview line: the first headline or sentence, cut at a word."""
    if not blocks:
        return ""
    first = blocks[0].entries[0]
    text = first.title or first.text
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def _contact(contact: str | None) -> dict[str, str] | None:
    text = re.sub(r"^mailto:", "", clean_text(contact), flags=re.IGNORECASE)
    if not text:
        return None
    href = safe_url(text) or (f"mailto:{text}" if _EMAIL.match(text) else None)
    return {"text": text, "href": href or ""}


def _context(edition: Edition, contact: str | None, base_url: str | None) -> dict[str, Any]:
    blocks = _blocks(edition.sections)
    return {
        "title": clean_text(edition.title) or "Migration in the News",
        "date": uk_date(edition.day),
        "day": edition.day.isoformat(),
        "blocks": blocks,
        "preheader": _preheader(blocks),
        "contact": _contact(contact),
        "edition_url": edition_url(base_url, edition.day),
        "image_width": IMAGE_WIDTH,
    }


def md_escape(text: str) -> str:
    """Markdown-significant characters escaped, so feed text stays text (no links, no HTML)."""
    escaped = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_LINE_START.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], escaped)


def md_url(url: str) -> str:
    """A safe URL that cannot end a Markdown link destination early."""
    return _MD_URL_UNSAFE.sub(lambda m: quote(m.group(0), safe=""), url)


def wrap(text: str, first: str = "", rest: str = "") -> str:
    """Text wrapped at 78 columns; a URL or long word is never broken."""
    lines = textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return "\n".join(lines)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("aggregator.digest", "templates"),
        # HTML escapes everything; Markdown and text escape with their own filters.
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2",), disabled_extensions=("md.j2", "txt.j2"), default=True
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(md=md_escape, md_url=md_url, wrap=wrap)
    return env


def _template(name: str, context: dict[str, Any]) -> str:
    return _environment().get_template(name).render(context)


def render(
    edition: Edition, fmt: str, *, contact: str | None = None, base_url: str | None = None
) -> str:
    """The edition in one of :data:`FORMATS`. ``contact`` prints "Comments/questions: ...";
    ``base_url`` adds a link to the edition online (see :func:`edition_url`)."""
    if fmt == "json":
        return dumps_json(edition_json(edition))
    if fmt == "atom":
        return _atom_document([edition], None, clean_text(edition.title), base_url)
    names = {"html": "edition.html.j2", "md": "edition.md.j2", "txt": "edition.txt.j2"}
    if fmt not in names:
        raise ConfigError(f"unknown digest format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return _template(names[fmt], _context(edition, contact, base_url))


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # naive means UTC
    return aware.astimezone(UTC).isoformat()


def _item_json(item: Item) -> dict[str, Any]:
    return {
        "text": clean_text(item.text),
        "outlets": [name for name in map(clean_text, item.outlets) if name],
        "url": safe_url(item.url),
        "topics": [clean_text(topic) for topic in item.topics],
        "places": [clean_text(place) for place in item.places],
        "published": _iso(item.published),
        "story_id": item.story_id,
        "title": clean_text(item.title) or None,
        "image_url": safe_url(item.image_url),
        "image_credit": clean_text(item.image_credit) or None,
    }


def edition_json(edition: Edition) -> dict[str, Any]:
    """The published JSON document (docs/digest-json.md); alternates are not in it."""
    return {
        "version": JSON_VERSION,
        "edition": edition.day.isoformat(),
        "status": edition.status.value,
        "title": clean_text(edition.title),
        "published_at": _iso(edition.published_at),
        "sections": [
            {
                "id": clean_text(section.id),
                "title": clean_text(section.title),
                "items": [_item_json(item) for item in section.items],
            }
            for section in edition.sections
        ],
    }


def dumps_json(document: dict[str, Any]) -> str:
    """JSON that is also safe to paste inside an HTML <script> element."""
    text = json.dumps(document, ensure_ascii=False, indent=2)
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text + "\n"


def render_atom(
    editions: Sequence[Edition],
    *,
    feed_url: str,
    title: str = "Migration in the News",
    base_url: str | None = None,
) -> str:
    """An Atom 1.0 feed of the published editions, newest first (drafts are left out).
    ``base_url`` links each entry to its edition online."""
    if safe_url(feed_url) is None:
        raise ConfigError(f"feed_url must be an absolute http(s) URL, not {feed_url!r}")
    published = [edition for edition in editions if edition.status is Status.PUBLISHED]
    return _atom_document(published, feed_url, clean_text(title), base_url)


def _atom_document(
    editions: Sequence[Edition], feed_url: str | None, title: str, base_url: str | None
) -> str:
    latest: dict[date, Edition] = {}
    for edition in editions:  # one entry per day: the edition updated last
        kept = latest.get(edition.day)
        if kept is None or _updated(edition) >= _updated(kept):
            latest[edition.day] = edition
    ordered = sorted(latest.values(), key=lambda e: e.day, reverse=True)
    authority = urlsplit(feed_url or base_url or "").hostname
    feed = etree.Element(f"{{{_ATOM}}}feed", nsmap={None: _ATOM})
    _child(feed, "id", _feed_id(ordered, feed_url, authority, title))
    _child(feed, "title", title or "Migration in the News")
    newest = max((_updated(e) for e in ordered), default=datetime(1970, 1, 1, tzinfo=UTC))
    _child(feed, "updated", _iso(newest))
    if feed_url:
        _child(feed, "link", rel="self", type="application/atom+xml", href=safe_url(feed_url))
    _child(_child(feed, "author"), "name", title or "Migration in the News")
    _child(feed, "generator", "aggregator")
    for edition in ordered:
        feed.append(_atom_entry(edition, authority, base_url))
    body = etree.tostring(feed, encoding="unicode", pretty_print=True)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body


def _atom_entry(edition: Edition, authority: str | None, base_url: str | None) -> etree._Element:
    entry = etree.Element(f"{{{_ATOM}}}entry")
    context = _context(edition, None, base_url)
    _child(entry, "id", _entry_id(edition, authority))
    _child(entry, "title", f"{context['title']} — {context['date']}")
    _child(entry, "updated", _iso(_updated(edition)))
    if edition.published_at:
        _child(entry, "published", _iso(edition.published_at))
    if context["edition_url"]:
        _child(entry, "link", rel="alternate", type="text/html", href=context["edition_url"])
    body = _template("fragment.html.j2", context)
    _child(entry, "content", body, type="html")  # lxml escapes the HTML as text
    return entry


def _feed_id(
    editions: Sequence[Edition], feed_url: str | None, authority: str | None, title: str
) -> str:
    if feed_url:
        return feed_url
    if editions:  # a single-edition document: its own id, distinct from the entry's
        return _entry_id(editions[0], authority, "feed")
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, title or "digest"))


def _child(parent: etree._Element, tag: str, text: str | None = None, **attrs: Any) -> Any:
    element = etree.SubElement(parent, f"{{{_ATOM}}}{tag}", attrs)
    element.text = text
    return element


def _updated(edition: Edition) -> datetime:
    stamps = [edition.updated_at, edition.published_at, edition.created_at]
    aware = [s if s.tzinfo else s.replace(tzinfo=UTC) for s in stamps if s is not None]
    return max(aware, default=datetime.combine(edition.day, time(), tzinfo=UTC))


def _entry_id(edition: Edition, authority: str | None, suffix: str = "") -> str:
    """A stable id: ``tag:<host>,<day>:<title-slug>`` when a host is known, else a UUID
    derived from the title and the day."""
    slug = re.sub(r"[^a-z0-9]+", "-", clean_text(edition.title).lower()).strip("-") or "digest"
    specific = f"{slug}/{suffix}" if suffix else slug
    if authority:
        return f"tag:{authority},{edition.day.isoformat()}:{specific}"
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{specific}/{edition.day}"))
