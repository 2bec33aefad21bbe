"""Article page -> honest main text and metadata, or a status saying why there is none.

trafilatura extracts, once per page, with its benchmarked defaults (fallback extractors on,
comments off). Around it this module decides what the page *is*, in this order:

1. bytes are decoded: UTF-8; else a declared legacy charset; else UTF-8 with stray bytes
   read as cp1252 (the common "declared utf-8, saved as Windows-1252"). Binary is ERROR.
2. A bot challenge or access-denied page served with 200 is BLOCKED: strong markers only
   (challenge scripts, vendor error pages, challenge titles), and only on short pages, so
   an article quoting "Access Denied" stays an article.
3. A paywall marker (JSON-LD ``isAccessibleForFree: false``, microdata, a locked content
   tier, a paywall element) with short or cut text is PAYWALL and keeps the partial text
   (less a trailing "subscribe" prompt). With the whole text present the page is FULL and
   the reason names the marker. A paywall element alone is weighed after step 4.
4. A home, section, tag or search page is NOT_ARTICLE, as is a page with fewer than
   ``MIN_ARTICLE_WORDS`` words of text. Everything else is FULL.

The text is trafilatura's, lines stripped, the headline dropped where it repeats as the
first line. Nothing is added. Sections below: decoding, page signals, blocked pages,
verdict, metadata, lead image; each could be its own module.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.settings import Document

from aggregator.errors import ExtractionError

log = logging.getLogger(__name__)

MIN_ARTICLE_WORDS = 40
PAYWALL_MAX_WORDS = 250  # behind a paywall marker, less text than this is a teaser
BLOCK_MAX_WORDS = 300  # challenge and denial pages are short; articles are not
FUTURE_SLACK = timedelta(days=1)
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)


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


def extract_article(html: bytes | str, url: str, *, now: datetime | None = None) -> Extraction:
    """Text and metadata of one fetched page. Never raises: a broken page is an ERROR.

    ``now`` (aware; default the clock) bounds the published date: more than a day ahead
    is dropped.
    """
    now = now or datetime.now(UTC)
    try:
        return _extract(html, url, now if now.tzinfo else now.replace(tzinfo=UTC))
    except ExtractionError as exc:
        log.info("no text from %s: %s", url, exc)
        return Extraction(TextStatus.ERROR, str(exc))
    except Exception as exc:  # a hostile page must not stop the run; the log keeps the trace
        log.warning("extraction of %s failed", url, exc_info=True)
        return Extraction(TextStatus.ERROR, f"extraction failed: {type(exc).__name__}")


def _extract(html: bytes | str, url: str, now: datetime) -> Extraction:
    text = _decode(html) if isinstance(html, bytes) else html
    if not text.strip():
        return Extraction(TextStatus.NOT_ARTICLE, "empty page")
    tree = _parse(text)
    page = _page(tree)
    blocked = _blocked(page, text[:300000])
    if blocked:
        return Extraction(TextStatus.BLOCKED, blocked)
    _defuse_footers(tree)
    document = _trafilatura(tree, url, now)
    meta = _metadata(document, tree, page, url, now)
    body = _clean_text(document.text if document else "", meta["title"])
    status, reason, kept = _classify(body, page, url)
    return Extraction(status, reason, kept, **meta)


# --- decoding and parsing ---------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]{0,300}?charset\s*=\s*["']?\s*([\w.:-]{1,40})""", re.I)
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\ufffd]")
_UNPARSEABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _cp1252_bytes(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("cp1252", "replace"), exc.end


codecs.register_error("aggregator-cp1252", _cp1252_bytes)


def _decode(raw: bytes) -> str:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", "replace")
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _declared_charset(raw[:4096])
    if declared and declared != "utf-8":
        return raw.decode(declared, "replace")
    return raw.decode("utf-8", "aggregator-cp1252")  # declared UTF-8, or nothing declared


def _declared_charset(head: bytes) -> str | None:
    match = _META_CHARSET.search(head)
    try:
        name = codecs.lookup(match[1].decode("ascii")).name if match else None
    except (LookupError, UnicodeDecodeError):
        return None
    if name in ("iso8859-1", "ascii"):  # as browsers do (WHATWG encoding labels)
        return "cp1252"
    return "utf-8" if name and name.startswith(("utf-16", "utf-32")) else name


def _parse(text: str) -> HtmlElement:
    sample = text[:65536]
    if len(_BINARY.findall(sample)) > max(8, len(sample) // 100):
        raise ExtractionError("binary content, not an HTML page")
    if "<" not in sample:
        raise ExtractionError("not an HTML page: no markup")
    text = _UNPARSEABLE.sub("", text)  # lxml refuses control characters in str input
    tree = trafilatura.load_html(text)
    if tree is None:  # trafilatura refuses fragments without an <html> start
        try:
            tree = lxml.html.document_fromstring(text)
        except (etree.ParserError, ValueError) as exc:
            raise ExtractionError(f"the page cannot be parsed as HTML: {exc}") from exc
    return tree


# --- what the page says about itself ----------------------------------------------------

_NOT_SHOWN = "not(ancestor::script or ancestor::style or ancestor::template)"
_VISIBLE = etree.XPath(f"//body//text()[{_NOT_SHOWN}]")
_LINKS = etree.XPath("count(//body//a[@href])")
_HEADING = "self::h2 or self::h3 or self::h4"
# Two counts, not a union: libxml2 merges node sets in quadratic time.
_TEASERS = etree.XPath(
    f"count(//body//*[{_HEADING}][.//a[@href]]) + count(//body//a[@href][.//*[{_HEADING}]])"
)
_META = etree.XPath("//meta[@property=$name or @name=$name or @itemprop=$name]/@content")
_LD_SCRIPTS = etree.XPath("//script[contains(translate(@type, 'LDJSON', 'ldjson'), 'ld+json')]")
_PAYWALL_PATTERN = (
    r"pay-?wall|subscribers?-only|subscriber-content|premium-(?:content|wall|only)"
    r"|\breg-?wall|registration-wall|\btp-(?:modal|container|backdrop)|\bpiano-(?:inline|paywall"
    r"|offer|container|modal)|tinypass|(?:article|content)-locked|locked-content|metered-?content"
)
_PAYWALL_ELEMENTS = etree.XPath(
    "//body//*[re:test(@class, $p, 'i') or re:test(@id, $p, 'i')]"
    "[not(ancestor-or-self::a or ancestor::li or ancestor::aside or ancestor::nav)]",
    namespaces={"re": "http://exslt.org/regular-expressions"},
)
ARTICLE_TYPES = frozenset(
    """article newsarticle reportagenewsarticle analysisnewsarticle opinionnewsarticle
    backgroundnewsarticle reviewnewsarticle blogposting liveblogposting report""".split()
)
COLLECTION_TYPES = frozenset({"collectionpage", "itemlist", "searchresultspage", "profilepage"})


@dataclass(frozen=True, slots=True)
class _Page:
    """The signals read from the page before and beside trafilatura."""

    title: str
    visible: str  # the start of the body's text, lower-case, for block markers
    words: int
    links: int
    link_density: float
    teasers: int
    block_words: int  # words in the largest run of paragraphs sharing a parent
    article_type: bool
    collection_type: bool
    paywall_marker: str | None
    published: str | None
    og_image: str | None
    og_image_alt: str | None
    language: str | None
    ld_images: tuple[dict[str, Any], ...]


def _page(tree: HtmlElement) -> _Page:
    texts = [t for t in _VISIBLE(tree) if not t.isspace()]
    words = sum(len(t.split()) for t in texts)
    link_words = sum(len(a.text_content().split()) for a in tree.iter("a") if a.get("href"))
    tops, nodes = _json_ld(tree)
    types = {str(t).lower() for node in tops for t in _as_list(node.get("@type"))}
    og_type = (_meta(tree, "og:type") or "").lower()
    title = tree.findtext(".//title") or ""
    return _Page(
        title=_SPACES.sub(" ", title).strip(),
        visible=_SPACES.sub(" ", " ".join(texts)[:20000]).lower(),
        words=words,
        links=int(_LINKS(tree)),
        link_density=link_words / words if words else 0.0,
        teasers=int(_TEASERS(tree)),
        block_words=_block_words(tree),
        article_type="article" in og_type or bool(types & ARTICLE_TYPES),
        collection_type=bool(types & COLLECTION_TYPES),
        paywall_marker=_paywall_marker(tree, nodes),
        published=_meta(tree, "article:published_time")
        or _ld_value(tops, "datePublished")
        or _meta(tree, "datePublished"),
        og_image=_meta(tree, "og:image") or _meta(tree, "twitter:image"),
        og_image_alt=_meta(tree, "og:image:alt") or _meta(tree, "twitter:image:alt"),
        language=_language(tree, tops),
        ld_images=tuple(_ld_images(tops)),
    )


def _meta(tree: HtmlElement, name: str) -> str | None:
    for value in _META(tree, name=name):
        if value.strip():
            return value.strip()
    return None


def _block_words(tree: HtmlElement) -> int:
    """Contiguous prose: articles hold their paragraphs in one parent, listings do not."""
    blocks: dict[HtmlElement, int] = {}
    for p in tree.iter("p"):
        parent = p.getparent()
        blocks[parent] = blocks.get(parent, 0) + len(p.text_content().split())
    for el in tree.iter("div", "td", "section", "article", "main"):  # text between <br>s
        loose = len((el.text or "").split()) + sum(len((c.tail or "").split()) for c in el)
        if loose:
            blocks[el] = blocks.get(el, 0) + loose
    return max(blocks.values(), default=0)


def _json_ld(tree: HtmlElement) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The page's own JSON-LD entities (top level, @graph, mainEntity), and every object."""
    tops: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    for script in _LD_SCRIPTS(tree):
        try:
            data = json.loads(script.text or "null", strict=False)
        except (ValueError, RecursionError):
            continue
        for top in (x for x in _as_list(data) if isinstance(x, dict)):
            for entity in (top, *(x for x in _as_list(top.get("@graph")) if isinstance(x, dict))):
                tops.append(entity)
                main = entity.get("mainEntity")
                tops.extend(x for x in _as_list(main) if isinstance(x, dict))
        nodes.extend(_walk(data))
    return tops, nodes


def _walk(data: Any, limit: int = 5000) -> Iterator[dict[str, Any]]:
    """Every object, breadth first, bounded; not the items a listing page lists."""
    queue, seen = deque([data]), 0
    while queue and seen < limit:
        item, seen = queue.popleft(), seen + 1
        if isinstance(item, dict):
            yield item
            queue.extend(v for k, v in item.items() if k != "itemListElement")
        elif isinstance(item, list):
            queue.extend(item)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _ld_value(tops: list[dict[str, Any]], key: str) -> str | None:
    values = [n.get(key) for n in tops if isinstance(n.get(key), str)]
    return values[0] if values else None


def _paywall_marker(tree: HtmlElement, nodes: list[dict[str, Any]]) -> str | None:
    for node in nodes:
        if str(node.get("isAccessibleForFree", "")).strip().lower() in ("false", "no"):
            return "isAccessibleForFree=false"
    if (_meta(tree, "isAccessibleForFree") or "").lower() == "false":
        return "isAccessibleForFree=false"
    if (_meta(tree, "article:content_tier") or "").lower() == "locked":
        return "content tier locked"
    for el in _PAYWALL_ELEMENTS(tree, p=_PAYWALL_PATTERN):
        attr = "class" if re.search(_PAYWALL_PATTERN, el.get("class", ""), re.I) else "id"
        return f'paywall element {attr}="{el.get(attr, "")[:40]}"'
    return None


def _language(tree: HtmlElement, tops: list[dict[str, Any]]) -> str | None:
    candidates = [
        tree.get("lang") or tree.get("xml:lang"),
        _meta(tree, "og:locale"),
        tree.xpath(
            "string(//meta[translate(@http-equiv, 'CONTENT-LAGU', 'content-lagu')"
            " = 'content-language']/@content)"
        ),
        _ld_value(tops, "inLanguage"),
    ]
    for value in candidates:
        match = re.match(r"\s*([A-Za-z]{2})(?:[-_][A-Za-z0-9]+)*\s*$", value or "")
        if match:
            return match[1].lower()
    return None


# --- blocked pages ----------------------------------------------------------------------

_CHALLENGE_TITLES = (
    (r"just a moment\W*|attention required!? \| cloudflare", "bot challenge page (Cloudflare)"),
    (r"ddos-guard", "bot challenge page (DDoS-Guard)"),
    (r"pardon our interruption\W*", "bot challenge page (Imperva)"),
    (r"access to this page has been denied\.?", "bot challenge page (PerimeterX)"),
    (
        r"(?:are you a (?:robot|human)|robot check|human verification|security check"
        r"|verifying you are human|one more step|please verify you are a human)\W*",
        "bot challenge page",
    ),
    (
        r"access denied|403 forbidden|forbidden|request rejected|you have been blocked",
        "access denied page",
    ),
)
_CHALLENGE_MARKUP = (  # present on challenge pages, never on the pages behind them
    (
        r"_cf_chl_opt|cf-chl-|/cdn-cgi/challenge-platform/h/\w/orchestrate|cf-browser-verification",
        "bot challenge page (Cloudflare)",
    ),
    (r"cf-error-details", "access denied page (Cloudflare)"),
    (r"captcha-delivery\.com", "bot challenge page (DataDome)"),
    (r"\bpx-captcha\b", "bot challenge page (PerimeterX)"),
    (r"incapsula incident id", "access denied page (Imperva)"),
    (r"errors\.edgesuite\.net|errors\.edgekey\.net", "access denied page (Akamai)"),
    (r"\bgokuprops\b", "bot challenge page (AWS WAF)"),
    (r"sucuri website firewall", "access denied page (Sucuri)"),
)
_CHALLENGE_PHRASES = (
    (
        r"checking your browser before accessing|enable javascript and cookies to continue"
        r"|why have i been blocked|performance (?:&|and) security by cloudflare",
        "bot challenge page (Cloudflare)",
    ),
    (r"you don't have permission to access .{0,300} on this server", "access denied page"),
    (r"press (?:&|and) hold to confirm you are a human", "bot challenge page (PerimeterX)"),
    (
        r"verify you are (?:a )?human|complete the security check to access"
        r"|your access to this site has been limited|sorry, you have been blocked",
        "bot challenge page",
    ),
)


def _blocked(page: _Page, markup: str) -> str | None:
    """Why the page is a bot wall or a denial, or None. Long pages are never walls."""
    if page.words > BLOCK_MAX_WORDS or (page.article_type and page.words > 80):
        return None
    for pattern, reason in _CHALLENGE_MARKUP:  # first: they name the vendor
        if re.search(pattern, markup, re.IGNORECASE) or re.search(pattern, page.visible):
            return reason
    for pattern, reason in _CHALLENGE_TITLES:
        if re.fullmatch(pattern, page.title, re.IGNORECASE):
            return reason
    for pattern, reason in _CHALLENGE_PHRASES:
        if re.search(pattern, page.visible.replace("’", "'")):
            return reason
    return None


# --- extraction and verdict -------------------------------------------------------------


def _trafilatura(tree: HtmlElement, url: str, now: datetime) -> Document | None:
    """One trafilatura pass (it copies the tree): text, metadata and htmldate's date."""
    dates = {
        "original_date": True,
        "extensive_search": True,
        "deferred_url_extractor": True,  # the page's own timestamps before a date in the URL
        "outputformat": "%Y-%m-%dT%H:%M:%S%z",
        "max_date": (now + FUTURE_SLACK).strftime("%Y-%m-%d"),
    }
    try:
        document = trafilatura.bare_extraction(
            tree, url=url, with_metadata=True, include_comments=False, date_extraction_params=dates
        )
    except (ValueError, TypeError, LookupError, RecursionError, etree.LxmlError) as exc:
        raise ExtractionError(f"trafilatura cannot read the page: {exc}") from exc
    return document if isinstance(document, Document) else None


MAX_FOOTER_LINKS = 3000


def _defuse_footers(tree: HtmlElement) -> None:
    """Drop footer blocks holding thousands of links: trafilatura's licence probe takes
    quadratic time on them (minutes for 5 MB), and their text is never the article."""
    footers = [
        el
        for el in tree.iter("footer", "div")
        if el.tag == "footer" or "footer" in f"{el.get('class', '')} {el.get('id', '')}".lower()
    ]
    if sum(1 for footer in footers for _ in footer.iter("a")) > MAX_FOOTER_LINKS:
        for footer in footers:
            footer.drop_tree()


def _classify(text: str, page: _Page, url: str) -> tuple[TextStatus, str, str]:
    """(status, reason, the text kept).

    Publisher-declared paywalls (JSON-LD, microdata, content tier) are checked before the
    listing test; a paywall element alone after it, as listings badge premium teasers.
    """
    marker = page.paywall_marker
    declared = marker is not None and not marker.startswith("paywall element")
    if declared:
        return _paywall(text, marker)
    words = len(text.split())
    listing = _listing(page, words, url)
    if listing:
        return TextStatus.NOT_ARTICLE, listing, ""
    if marker:
        return _paywall(text, marker)
    if words < MIN_ARTICLE_WORDS:
        return TextStatus.NOT_ARTICLE, f"no article text: {words} words", ""
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


_LISTING_PATH = re.compile(
    r"^/*(?:[a-z]{2}(?:-[a-z]{2})?/?)?(?:index\.\w+)?$|/(?:section|sections|category"
    r"|categories|tag|tags|topic|topics|theme|themes|rubrique|seccion|search|buscar|recherche"
    r"|archive|archives|author|authors|auteur|autor|page)(?:/|$)|/index\.\w+$",
    re.IGNORECASE,
)


def _listing(page: _Page, words: int, url: str) -> str | None:
    """A home, section, tag or search page: many teasers, no long run of prose.

    The URL path and a CollectionPage type only lower the bar; the page must show it.
    """
    hint = page.collection_type or bool(_LISTING_PATH.search(urlsplit(url).path or "/"))
    many = page.teasers >= (5 if hint else 10) or page.links >= (25 if hint else 40)
    if not many:
        return None
    if page.article_type:  # the publisher says article: only an extreme page overrules it
        listing = page.teasers >= 15 and page.block_words < 60 and page.link_density >= 0.4
    else:
        thin = page.block_words < (250 if hint else 150)
        listing = thin or (page.link_density >= 0.5 and page.block_words < 300)
    if not listing:
        return None
    return (
        f"listing page: {page.links} links, {page.teasers} teasers, longest text block"
        f" {page.block_words} words, {words} words extracted"
    )


def _clean_text(text: str, title: str | None) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in (text or "").splitlines()]
    lines = [line for line in lines if line]
    if lines and title and lines[0].casefold() == title.casefold():
        lines = lines[1:]  # trafilatura keeps the <h1>; the title is a field of its own
    return "\n".join(lines)


# --- metadata ---------------------------------------------------------------------------


def _metadata(
    document: Document | None, tree: HtmlElement, page: _Page, url: str, now: datetime
) -> dict[str, Any]:
    doc = document or Document()
    image_url = _absolute(page.og_image or doc.image, url)
    image = _lead_image(tree, image_url, page, url)
    return {
        "title": _clean(doc.title) or _clean(page.title),
        "published": _published(doc.date, page.published, now),
        "author": _clean(doc.author),
        "site_name": _clean(doc.sitename),
        "image_url": image_url or image.url,
        "image_caption": image.caption,
        "image_credit": image.credit,
        "language": page.language,
    }


def _published(found: str | None, declared: str | None, now: datetime) -> datetime | None:
    """htmldate's date, made precise by the page's declared timestamp when they agree.

    A bare 1 January from htmldate is its guess from a copyright line, not a date.
    """
    stamp, precise = _to_utc(found), _to_utc(declared)
    day_only = bool(found) and bool(re.fullmatch(r"[\d-]+T00:00:00", found or ""))
    if stamp and precise and day_only and abs(precise - stamp) <= FUTURE_SLACK:
        stamp = precise
    elif stamp and day_only and (stamp.month, stamp.day) == (1, 1):
        stamp = None
    stamp = stamp or precise
    return stamp if stamp and EARLIEST <= stamp <= now + FUTURE_SLACK else None


def _to_utc(value: str | None) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
    if stamp is None:
        return None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _clean(value: str | None) -> str | None:
    return (_SPACES.sub(" ", value).strip() or None) if value else None


def _absolute(href: str | None, base: str) -> str | None:
    if not href or not href.strip():
        return None
    try:
        absolute = urljoin(base, href.strip())
    except ValueError:
        return None
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


# --- lead image caption and credit -------------------------------------------------------

_FIGURES = etree.XPath("//body//figure[not(ancestor::aside or ancestor::nav or ancestor::footer)]")
_SOURCES = etree.XPath(
    ".//img/@src | .//img/@data-src | .//img/@data-lazy-src | .//img/@data-original"
    " | .//img/@srcset | .//source/@srcset"
)
_CREDIT_CLASS = re.compile(
    r"credit|copyright|photographer|attribution|byline|autor|author|fotograf|\bsource\b", re.I
)
_LABEL = (
    r"(?:photo(?:graph)?s?|pictures?|images?|fotos?|fotograf[íi]a|cr[ée]dits?(?:\s+photos?)?"
    r"|cr[ée]dito|bild|copyright)"
)
_AGENCY = (
    r"\b(?:AFP|Reuters|REUTERS|AP|EFE|EPA|ANSA|DPA|dpa|Getty Images|Anadolu(?: Agency)?|Xinhua"
    r"|SIPA|AAP|Europa Press|Shutterstock|Keystone|Belga|ANP|NurPhoto|Hans Lucas|MAXPPP)\b"
)
_STRIP_LABEL = re.compile(rf"^\W*(?:(?:©|\(c\))\s*|{_LABEL}\s*(?:[:：]|\bby\b|©)\s*)", re.I)
_CREDIT_TAILS = (  # each captures the credit at the end of a caption
    re.compile(r"\(\s*([^()]{2,120}?)\s*\)\s*\.?\s*$"),
    re.compile(
        rf"(?:^|(?<=[.!?])|\s[|–—/-])\s*({_LABEL}\s*(?:[:：]|\bby\b)\s*[^|]{{2,100}}?)\s*\.?\s*$",
        re.I,
    ),
    re.compile(r"((?:©|\(c\))\s*[^|©]{2,100}?)\s*\.?\s*$"),
    re.compile(
        rf"\s((?:[A-ZÀ-Ý][\w.'’-]*\s+){{0,3}}[A-ZÀ-Ý][\w.'’-]*\s*/\s*{_AGENCY}"
        rf"(?:\s+via\s+Getty\s+Images)?|{_AGENCY}\s*/\s*(?:[A-ZÀ-Ý][\w.'’-]*\s*){{1,4}})\s*\.?\s*$"
    ),
)


@dataclass(frozen=True, slots=True)
class _Image:
    url: str | None = None
    caption: str | None = None
    credit: str | None = None


def _lead_image(tree: HtmlElement, image_url: str | None, page: _Page, url: str) -> _Image:
    """The lead image's caption and credit: its <figure>, else JSON-LD, else og:image:alt."""
    ld = _ld_image(page)
    figure = _lead_figure(tree, image_url)
    if figure is None:
        return _Image(ld.url, ld.caption or page.og_image_alt, ld.credit)
    caption, credit = _figure_texts(figure)
    sources = [s for s in _SOURCES(figure) if s.strip()]
    src = _absolute(sources[0].split()[0], url) if sources else None
    return _Image(src, caption or ld.caption or page.og_image_alt, credit or ld.credit)


def _lead_figure(tree: HtmlElement, image_url: str | None) -> HtmlElement | None:
    """The figure showing the og:image (same file name, any size), else the first with a caption."""
    figures = [f for f in _FIGURES(tree) if _SOURCES(f)]
    key = _image_key(image_url) if image_url else ""
    for figure in figures if key else ():
        if any(_image_key(c) == key for s in _SOURCES(figure) for c in s.split(",")):
            return figure
    return next((f for f in figures if _caption_element(f) is not None), None)


def _image_key(src: str) -> str:
    path = urlsplit(src.strip().split(" ")[0]).path if src.strip() else ""
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    return re.sub(r"(?:[-_@](?:\d+x\d*|\d+w|large|medium|small|thumb|scaled))+$", "", stem)


def _caption_element(figure: HtmlElement) -> HtmlElement | None:
    found = figure.find(".//figcaption")
    if found is None:
        found = next(iter(figure.xpath(".//*[contains(@class, 'caption')]")), None)
    return found


def _figure_texts(figure: HtmlElement) -> tuple[str | None, str | None]:
    caption_el = _caption_element(figure)
    credit_el = next(
        (
            el
            for el in figure.iter(etree.Element)
            if el is not caption_el
            and el.tag not in ("img", "source", "picture")
            and _CREDIT_CLASS.search(f"{el.get('class', '')} {el.get('itemprop', '')}")
        ),
        None,
    )
    caption = _text(caption_el)
    credit = _text(credit_el)
    if credit:
        caption = caption.replace(credit, " ").strip(" -–—|,;·")
    elif caption:
        caption, credit = _split_credit(caption)
    return _clean(caption), _clean(_STRIP_LABEL.sub("", credit)) if credit else None


def _split_credit(caption: str) -> tuple[str, str]:
    """("Migrants land in Lampedusa.", "Marco Rossi / AFP") from a caption ending in a credit."""
    for tail in _CREDIT_TAILS:
        match = tail.search(caption)
        if match and _looks_like_credit(match[1]):
            return caption[: match.start()].strip(" -–—|,;·"), match[1]
    return caption, ""


def _looks_like_credit(text: str) -> bool:
    return bool(_STRIP_LABEL.match(text) or re.search(_AGENCY, text) or "/" in text)


def _text(element: HtmlElement | None) -> str:
    return _SPACES.sub(" ", element.text_content()).strip() if element is not None else ""


def _ld_images(tops: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for node in tops:
        if {str(t).lower() for t in _as_list(node.get("@type"))} & ARTICLE_TYPES:
            yield from (i for i in _as_list(node.get("image")) if isinstance(i, dict))


def _ld_image(page: _Page) -> _Image:
    for image in page.ld_images:
        credit = image.get("creditText") or _name(image.get("copyrightHolder"))
        credit = credit or _name(image.get("author")) or _name(image.get("creator"))
        url = image.get("url") or image.get("contentUrl")
        caption = image.get("caption")
        return _Image(
            url if isinstance(url, str) else None,
            _clean(caption) if isinstance(caption, str) else None,
            _clean(credit) if isinstance(credit, str) else None,
        )
    return _Image()


def _name(value: Any) -> str | None:
    for item in _as_list(value):
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and name.strip():
            return name
    return None
