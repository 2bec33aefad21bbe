"""Article page -> honest main text and metadata, or a status saying why there is none.

trafilatura extracts once per page with its benchmarked defaults (fallback extractors on,
comments off). Around it this module decides what the page *is*, in this order:

1. Bytes are decoded: UTF-8; else the Content-Type header's charset, if the bytes decode
   with it; else the page's declared charset; else UTF-8 with stray bytes read as cp1252
   (the common "declared utf-8, saved as Windows-1252"). Binary is ERROR.
2. A bot challenge or access-denied page served with 200 is BLOCKED (strong markers only,
   short pages only: ``page_signals.blocked_reason``).
3. A paywall marker (JSON-LD ``isAccessibleForFree: false``, microdata, a locked content
   tier, a paywall element) with short or cut text is PAYWALL and keeps the partial text
   less a trailing "subscribe" prompt; with the whole text the page is FULL, the reason
   naming the marker. A paywall element alone is weighed after step 4.
4. A home, section, tag or search page (``page_signals.listing_reason``), or one with fewer
   than ``MIN_ARTICLE_WORDS`` words of text, is NOT_ARTICLE. Everything else is FULL.

The text is trafilatura's, lines stripped, a headline repeated as first line dropped;
nothing is added. Title, author and site name are trafilatura's; the date the page's
declared one, else htmldate's; caption and credit from ``lead_image``. The page is parsed
once; trafilatura works on its own copy.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import lxml.html
import trafilatura
from htmldate import find_date
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.metadata import (
    META_URL,
    examine_meta,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import Document, Extractor

from aggregator.errors import ExtractionError
from aggregator.process.lead_image import absolute_url, lead_image
from aggregator.process.page_signals import (
    Declared,
    Layout,
    blocked_reason,
    listing_reason,
    may_have_byline,
    read_declared,
    squash,
    to_utc,
)

log = logging.getLogger(__name__)
# trafilatura logs a WARNING ("discarding data") for every page it finds no text in, and
# listing, empty and video pages are routine here: the verdict already says so, once.
logging.getLogger("trafilatura").setLevel(logging.ERROR)

MIN_ARTICLE_WORDS = 40
PAYWALL_MAX_WORDS = 250  # behind a paywall marker, less text than this is a teaser
FUTURE_SLACK = timedelta(days=1)
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_HTMLDATE = {  # the page's own timestamps before a date in its URL
    "original_date": True,
    # Only the page's structured dates (meta, JSON-LD, <time>, URL): the extensive search
    # reads dates out of teasers and sidebars, and runs dateparser for seconds on some pages.
    "extensive_search": False,
    "deferred_url_extractor": True,
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
}


class TextStatus(StrEnum):
    FULL = "full"
    SUMMARY_ONLY = "summary_only"
    BLOCKED = "blocked"
    PAYWALL = "paywall"
    NOT_ARTICLE = "not_article"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Extraction:
    status: TextStatus
    reason: str  # why, for people: "403 from server", "listing page: 64 links, ..."
    text: str = ""  # main text, one paragraph a line; only for FULL and PAYWALL
    title: str | None = None
    published: datetime | None = None  # aware UTC
    author: str | None = None
    site_name: str | None = None
    image_url: str | None = None  # absolute
    image_caption: str | None = None
    image_credit: str | None = None
    language: str | None = None  # two lower-case letters


def status_for_http(status: int) -> TextStatus:
    """The status of an article whose page fetch failed with HTTP ``status`` (>= 400)."""
    if status < 400:
        raise ValueError(f"HTTP {status} is not a failure")
    if status in (401, 403, 429, 451):
        return TextStatus.BLOCKED
    return TextStatus.PAYWALL if status == 402 else TextStatus.ERROR


def http_failure(status: int) -> Extraction:
    """The extraction recorded for a page that answered with HTTP error ``status``."""
    return Extraction(status_for_http(status), f"{status} from server")


_SPACES = re.compile(r"\s+")
_TRUNCATED = re.compile(
    r"""(?:…|\.\.\.|\[\s*(?:…|\.\.\.)\s*\]|\(\s*(?:…|\.\.\.)\s*\)
    |\b(?:read|see|view)\s+(?:more|the\s+(?:full|whole|rest\s+of\s+the)\s+(?:story|article|post))
    |\bcontinue\s+reading(?:\s+\S+){0,6}|\bkeep\s+reading|\blire\s+(?:la\s+suite|plus)
    |\ben\s+savoir\s+plus|\bleer\s+m[aá]s|\b(?:seguir|sigue|continuar|contin[uú]e)\s+leyendo
    |\bver\s+m[aá]s|\bweiterlesen|\bmehr\s+lesen|\bleggi\s+(?:tutto|di\s+più)|\bler\s+mais
    )[\s.:»›>→\])]*$""",
    re.IGNORECASE | re.VERBOSE,
)
# WordPress feed footers: "The post X appeared first on Y." and their FR/ES translations.
_FEED_FOOTER = re.compile(
    r"(?:\bthe\s+post\s+.+\s+appeared\s+first\s+on|\bl[’']article\s+.+\s+est\s+apparu\s+en"
    r"\s+premier\s+sur|\bla\s+entrada\s+.+\s+se\s+public[oó]\s+primero\s+en)\s+\S.*$",
    re.IGNORECASE | re.DOTALL,
)


def needs_full_text(summary: str, *, min_words: int = 60) -> bool:
    """True if a feed summary is short or visibly cut, so the article page is worth a fetch."""
    text = _SPACES.sub(" ", summary or "").strip()
    if len(text.split()) < min_words:
        return True
    return bool(_TRUNCATED.search(text) or _FEED_FOOTER.search(text))


def extract_article(
    html: bytes | str, url: str, *, now: datetime | None = None, content_type: str | None = None
) -> Extraction:
    """Text and metadata of one fetched page. Never raises: a broken page is an ERROR.

    ``now`` (aware; default the clock) bounds the published date: more than a day ahead
    is dropped. ``content_type`` is the response's Content-Type header, whose charset
    decodes ``html`` bytes that are not UTF-8.
    """
    now = now or datetime.now(UTC)
    try:
        # Only a str can hold a lone surrogate: a decode never makes one.
        text = _decode(html, content_type) if isinstance(html, bytes) else _without_surrogates(html)
        return _extract(text, url, now if now.tzinfo else now.replace(tzinfo=UTC))
    except ExtractionError as exc:
        log.info("no text from %s: %s", url, exc)
        return Extraction(TextStatus.ERROR, str(exc))
    except Exception as exc:  # a hostile page must not stop the run; the log keeps the trace
        log.warning("extraction of %s failed", url, exc_info=True)
        return Extraction(TextStatus.ERROR, f"extraction failed: {type(exc).__name__}")


def _extract(text: str, url: str, now: datetime) -> Extraction:
    if not text or text.isspace():
        return Extraction(TextStatus.NOT_ARTICLE, "empty page")
    tree = _parse(text)
    _defuse_footers(tree)
    declared, layout = read_declared(tree), Layout(tree)
    blocked = blocked_reason(declared, layout, text)
    if blocked:
        return Extraction(TextStatus.BLOCKED, blocked)
    body = _main_text(tree)
    doc = _trafilatura_metadata(tree, declared, url)
    title = clean_title(squash(doc.title) or declared.title or None, doc.sitename)
    status, reason, kept = _classify(_clean_text(body, title), declared, layout, url)
    has_text = status in (TextStatus.FULL, TextStatus.PAYWALL)
    return Extraction(
        status, reason, kept, title, **_metadata(tree, doc, declared, url, now, has_text)
    )


# --- decoding and parsing ---------------------------------------------------------------

_CHARSET = r"""charset\s*=\s*["']?\s*([\w.:-]{1,40})"""
_META_CHARSET = re.compile(rb"<meta[^>]{0,300}?" + _CHARSET.encode(), re.I)
_HEADER_CHARSET = re.compile(_CHARSET, re.I)
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\ufffd]")
_BINARY_SAMPLE = 4096  # binary is binary throughout: a short sample tells it cheaply
_UNPARSEABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def _cp1252_bytes(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("cp1252", "replace"), exc.end


codecs.register_error("aggregator-cp1252", _cp1252_bytes)


def _decode(raw: bytes, content_type: str | None) -> str:
    """UTF-8 first: bytes that decode as UTF-8 are UTF-8, whatever a server's default
    header claims (often ISO-8859-1). The header's charset next, as browsers rank it
    above the page's own, but only if the bytes decode with it."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", "replace")
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    header = _HEADER_CHARSET.search(content_type or "")
    charset = _charset(header[1]) if header else None
    if charset and charset != "utf-8":
        try:
            return raw.decode(charset)
        except UnicodeDecodeError:
            log.debug("bytes do not decode as %s from the Content-Type header", charset)
    meta = _META_CHARSET.search(raw[:4096])
    declared = _charset(meta[1].decode("ascii", "replace")) if meta else None
    if declared and declared != "utf-8":
        return raw.decode(declared, "replace")
    return raw.decode("utf-8", "aggregator-cp1252")  # declared UTF-8, or nothing declared


def _charset(label: str) -> str | None:
    """Python's codec for a charset label, read as browsers read it (WHATWG labels)."""
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    if name in ("iso8859-1", "ascii"):
        return "cp1252"
    return "utf-8" if name.startswith(("utf-16", "utf-32")) else name


def _parse(text: str) -> HtmlElement:
    """The page's tree, parsed as trafilatura parses it so its extraction is unchanged."""
    sample = text[:_BINARY_SAMPLE]
    if len(_BINARY.findall(sample)) > max(8, len(sample) // 100):
        raise ExtractionError("binary content, not an HTML page")
    if text.find("<", 0, 65536) < 0:
        raise ExtractionError("not an HTML page: no markup")
    tree = trafilatura.load_html(text)  # it drops the control characters lxml refuses
    if tree is None:  # trafilatura refuses fragments without an <html> start
        try:
            tree = lxml.html.document_fromstring(_UNPARSEABLE.sub("", text))
        except (etree.ParserError, ValueError) as exc:
            raise ExtractionError(f"the page cannot be parsed as HTML: {exc}") from exc
    return tree


def _without_surrogates(text: str) -> str:
    """lxml stops reading a str at a lone surrogate (one decoded with "surrogateescape",
    say). A UTF-8 encode finds one faster than a regex scan."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("", text)
    return text


# --- extraction ---------------------------------------------------------------------------

MAX_FOOTER_LINKS = 3000
_ALL_LINKS = etree.XPath("count(//a)")


def _defuse_footers(tree: HtmlElement) -> None:
    """Drop footer blocks holding thousands of links: they cost trafilatura seconds on a
    5 MB page (its licence probe, skipped here, minutes), and they are never the article."""
    if _ALL_LINKS(tree) <= MAX_FOOTER_LINKS:  # no footer can hold more than the page
        return
    footers = [
        el
        for el in tree.iter("footer", "div")
        if el.tag == "footer" or "footer" in f"{el.get('class', '')} {el.get('id', '')}".lower()
    ]
    if sum(1 for footer in footers for _ in footer.iter("a")) > MAX_FOOTER_LINKS:
        for footer in footers:
            footer.drop_tree()


# trafilatura's defaults but comments, built once (each build reads its settings anew).
# Without a URL: trafilatura uses it only for links and images, both off here.
_TEXT_OPTIONS = Extractor(output_format="python", comments=False)


def _main_text(tree: HtmlElement) -> str:
    """trafilatura's main text (it copies the tree). Metadata is read apart, see below."""
    try:
        document = trafilatura.bare_extraction(tree, options=_TEXT_OPTIONS)
    except (ValueError, TypeError, LookupError, RecursionError, etree.LxmlError) as exc:
        raise ExtractionError(f"trafilatura cannot read the page: {exc}") from exc
    return (document.text or "") if isinstance(document, Document) else ""


# --- metadata -----------------------------------------------------------------------------


def _trafilatura_metadata(tree: HtmlElement, declared: Declared, url: str) -> Document:
    """trafilatura's ``extract_metadata`` without the parts this module never reads
    (categories, tags, licence) or reads apart (the date, see ``_publication``), and with
    its author search, a regex scan of the whole tree on a copy, run only where the page
    can hold a byline: together they cost more than the text extraction itself. Follows
    trafilatura 2.3 step by step."""
    doc = examine_meta(tree)
    if doc.author and " " not in doc.author:
        doc.author = None  # as trafilatura: a single word is a handle, not a name
    try:
        doc = extract_meta_json(tree, doc)
    except Exception:  # as trafilatura: its JSON-LD reader has bugs of its own
        log.debug("trafilatura's JSON-LD reader failed on %s", url, exc_info=True)
    doc.title = doc.title or extract_title(tree)
    if not doc.author and may_have_byline(tree, declared):
        doc.author = _byline(tree)
    doc.url = doc.url or extract_url(tree, url)
    doc.sitename = _site_name(doc.sitename or extract_sitename(tree), doc.url)
    doc.clean_and_trim()
    return doc


_BYLINE = etree.XPath(
    "//*[@rel='author' or @itemprop='author' or contains(@class, 'byline')"
    " or contains(@class, 'author') or contains(@class, 'autor')][normalize-space()][1]"
)
_BY = re.compile(r"^(?:by|par|por|de)\s+", re.IGNORECASE)


def _byline(tree: HtmlElement) -> str | None:
    """The first byline element's text ("By Jane Doe" -> "Jane Doe"). trafilatura's own
    author search scans the whole tree with regexes and cost more than the text itself."""
    for element in _BYLINE(tree):
        text = _BY.sub("", " ".join(element.text_content().split()))
        if 3 <= len(text) <= 80 and " " in text:
            return text
    return None


def _site_name(name: str | None, url: str | None) -> str | None:
    if name:
        name = name.lstrip("@")
        return name.title() if name and "." not in name and not name[0].isupper() else name
    match = META_URL.match(url or "")
    return match[1] if match else None


def _metadata(
    tree: HtmlElement, doc: Document, declared: Declared, url: str, now: datetime, dated: bool
) -> dict[str, Any]:
    image_url = absolute_url(declared.og_image or doc.image, url)
    image = lead_image(tree, declared, image_url, url)
    published = declared.published
    if dated:  # a listing's dates are its teasers', and a page without text is not used
        published = _publication(tree, doc.url or url, published, now)
    elif published and not EARLIEST <= published <= now + FUTURE_SLACK:
        published = None
    return {
        "published": published,
        "author": squash(doc.author),
        "site_name": squash(doc.sitename),
        "image_url": image_url or image.url,
        "image_caption": image.caption,
        "image_credit": image.credit,
        "language": declared.language,
    }


def _publication(
    tree: HtmlElement, url: str, declared: datetime | None, now: datetime
) -> datetime | None:
    """The page's declared publication time (article:published_time, JSON-LD
    datePublished) if plausible: htmldate reads those first too, and its search of the
    rest of the page can cost more than the text extraction. Else htmldate's date, made
    precise by the declared time when they agree; its bare 1 January is a guess from a
    copyright line, not a date.
    """
    if declared and EARLIEST <= declared <= now + FUTURE_SLACK:
        return declared
    latest = (now + FUTURE_SLACK).strftime("%Y-%m-%d")
    found = find_date(tree, url=url, max_date=latest, **_HTMLDATE)
    stamp = to_utc(found)
    if stamp and re.fullmatch(r"[\d-]+T00:00:00", found or ""):  # a day, no time
        if declared and abs(declared - stamp) <= FUTURE_SLACK:
            stamp = declared
        elif (stamp.month, stamp.day) == (1, 1):
            stamp = None
    stamp = stamp or declared
    return stamp if stamp and EARLIEST <= stamp <= now + FUTURE_SLACK else None


# --- verdict ------------------------------------------------------------------------------


def _classify(
    text: str, declared: Declared, layout: Layout, url: str
) -> tuple[TextStatus, str, str]:
    """(status, reason, the text kept).

    Publisher-declared paywalls (JSON-LD, microdata, content tier) are checked before the
    listing test; a paywall element alone after it, as listings badge premium teasers.
    """
    marker = declared.paywall_marker
    if marker is not None and not marker.startswith("paywall element"):
        return _paywall(text, marker)
    words = len(text.split())
    listing = listing_reason(declared, layout, words, url)
    if listing:
        return TextStatus.NOT_ARTICLE, listing, ""
    if marker:
        return _paywall(text, marker)
    if words < MIN_ARTICLE_WORDS:
        return TextStatus.NOT_ARTICLE, f"no article text: {words} words", ""
    if len(_TEMPLATE.findall(text)) >= 2:
        return TextStatus.NOT_ARTICLE, "an unrendered page template ({{ ... }})", ""
    return TextStatus.FULL, f"article text: {words} words", text


def _paywall(text: str, marker: str) -> tuple[TextStatus, str, str]:
    words = len(text.split())
    if words < PAYWALL_MAX_WORDS or re.search(r"(?:…|\.\.\.|\[…\])\s*$", text):
        text = _without_prompts(text)
        return TextStatus.PAYWALL, f"paywall: {marker} and {len(text.split())} words", text
    return TextStatus.FULL, f"full text despite paywall marker ({marker}): {words} words", text


_PROMPT = re.compile(
    r"subscri|sign (?:in|up)|log ?in|register|already a member|unlimited access|abonn|inscri"
    r"|suscr|reg[ií]str|inicia sesi[oó]n|hazte socio|zugang|abo\b",
    re.IGNORECASE,
)


def _without_prompts(text: str) -> str:
    """The teaser without the subscription prompt trafilatura may keep after it."""
    lines = text.split("\n")
    while lines and len(lines[-1].split()) <= 30 and _PROMPT.search(lines[-1]):
        lines.pop()
    return "\n".join(lines)


def clean_title(title: str | None, site: str | None) -> str | None:
    """The headline without the site's suffix: "Uncork the Ahr | DW | 10.06.2013" and
    "Story - The Site" lose their tails; a dash inside a headline stays."""
    if not title:
        return title
    parts = [p.strip() for p in title.split(" | ")]
    first = len(parts[0].split())
    if len(parts) > 1 and all(len(p.split()) <= min(4, first - 1) for p in parts[1:]):
        title = parts[0]
    site_key = (site or "").casefold().strip()
    for dash in (" - ", " – ", " — "):
        head, sep, tail = title.rpartition(dash)
        if sep and head and site_key and tail.casefold().strip() in (site_key, f"the {site_key}"):
            return head.strip()
    return title


_TEMPLATE = re.compile(r"\{\{[^{}]{1,200}\}\}")
# Lines that point elsewhere inside an article body ("Read more: ...", "Lea también: ...").
_POINTER = re.compile(
    r"^(?:read (?:more|also)|also read|see also|related|more on this|watch|listen"
    r"|lire aussi|à lire aussi|a lire aussi|voir aussi|lire la suite|à voir aussi"
    r"|lea (?:también|más)?|lee también|leer más|ver también|te puede interesar"
    r"|le puede interesar|relacionad[oa]s?)\s*[:：|»>-]",
    re.IGNORECASE,
)
_COPYRIGHT = re.compile(r"^(?:©|\(c\)|copyright\b)", re.IGNORECASE)


def _clean_text(text: str, title: str | None) -> str:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line and not _POINTER.match(line)]
    if title:  # trafilatura keeps the <h1>; the title is a field of its own
        head = [line for line in lines[:3] if line.casefold() != title.casefold()]
        lines = head + lines[3:]
    while lines and _COPYRIGHT.match(lines[-1]):
        lines.pop()
    return "\n".join(lines)
