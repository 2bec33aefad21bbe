"""What an article page says about itself, read beside trafilatura to judge what the page is.

Two kinds of signal, priced differently:

* ``Declared``: what the publisher declares (meta tags, JSON-LD, ``<html lang>``, a paywall
  marker). Read once per page; every field is used.
* ``Layout``: measures of the body (visible words, links, teasers, the longest run of
  prose). Each is computed on first use and kept, and callers ask for the cheapest one
  that can settle their question first: on an ordinary article most are never computed.

On top of them: ``blocked_reason`` (a bot challenge or access-denied page served with 200)
and ``listing_reason`` (a home, section, tag or search page).
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from lxml.html import HtmlElement

BLOCK_MAX_WORDS = 300  # challenge and denial pages are short; articles are not
BLOCK_MAX_ARTICLE_WORDS = 80  # ... and shorter still when the page declares an article

ARTICLE_TYPES = frozenset(
    """article newsarticle reportagenewsarticle analysisnewsarticle opinionnewsarticle
    backgroundnewsarticle reviewnewsarticle blogposting liveblogposting report""".split()
)
COLLECTION_TYPES = frozenset({"collectionpage", "itemlist", "searchresultspage", "profilepage"})

_SPACES = re.compile(r"\s+")


def squash(value: str | None) -> str | None:
    """Whitespace runs made one space, trimmed; None for nothing left."""
    return (" ".join(value.split()) or None) if value else None


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def to_utc(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime (naive ones taken as UTC), or None."""
    try:
        stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
    if stamp is None:
        return None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


# --- declared signals ---------------------------------------------------------------------

_TYPED_SCRIPTS = etree.XPath("//script[@type]")  # a case-folding XPath is slow on many scripts
_PAYWALL_PATTERN = (
    r"pay-?wall|subscribers?-only|subscriber-content|premium-(?:content|wall|only)"
    r"|\breg-?wall|registration-wall|\btp-(?:modal|container|backdrop)|\bpiano-(?:inline|paywall"
    r"|offer|container|modal)|tinypass|(?:article|content)-locked|locked-content|metered-?content"
)
# Every alternative of _PAYWALL_PATTERN contains one of these: a page whose class and id
# values hold none of them cannot match, and the regex XPath below costs a full scan.
_PAYWALL_LITERALS = (
    "pay-wall", "paywall", "subscriber", "premium-", "reg-wall", "regwall", "registration-wall",
    "tp-", "piano-", "tinypass", "locked", "metered",
)  # fmt: skip
_PAYWALL_ELEMENTS = etree.XPath(
    "//body//*[re:test(@class, $p, 'i') or re:test(@id, $p, 'i')]"
    "[not(ancestor-or-self::a or ancestor::li or ancestor::aside or ancestor::nav)]",
    namespaces={"re": "http://exslt.org/regular-expressions"},
)
_CLASSES = etree.XPath("//@class", smart_strings=False)
_IDS = etree.XPath("//@id", smart_strings=False)
_LANGUAGE_TAG = re.compile(r"\s*([A-Za-z]{2})(?:[-_][A-Za-z0-9]+)*\s*$")


@dataclass(frozen=True, slots=True)
class Declared:
    """What the page declares about itself: meta tags, JSON-LD, ``<html lang>``."""

    title: str
    article_type: bool
    collection_type: bool
    paywall_marker: str | None
    published: datetime | None  # aware UTC; as declared, not yet checked against the clock
    og_image: str | None
    og_image_alt: str | None
    language: str | None
    ld_images: tuple[dict[str, Any], ...]
    names: str  # every class and id value, for cheap checks before costly XPaths


def read_declared(tree: HtmlElement) -> Declared:
    """The declared signals, from one pass over the meta tags and one over JSON-LD."""
    metas, content_language = _metas(tree)
    tops, nodes = _json_ld(tree)
    names = f"{' '.join(_CLASSES(tree))} {' '.join(_IDS(tree))}"
    types = {str(t).lower() for node in tops for t in as_list(node.get("@type"))}
    language_candidates = (
        tree.get("lang") or tree.get("xml:lang"),
        metas.get("og:locale"),
        content_language,
        _ld_value(tops, "inLanguage"),
    )
    return Declared(
        title=squash(tree.findtext(".//title")) or "",
        article_type="article" in metas.get("og:type", "").lower() or bool(types & ARTICLE_TYPES),
        collection_type=bool(types & COLLECTION_TYPES),
        paywall_marker=_paywall_marker(tree, metas, nodes, names.lower()),
        published=to_utc(
            metas.get("article:published_time")
            or _ld_value(tops, "datePublished")
            or metas.get("datePublished")
        ),
        og_image=metas.get("og:image") or metas.get("twitter:image"),
        og_image_alt=metas.get("og:image:alt") or metas.get("twitter:image:alt"),
        language=next(filter(None, map(_language_code, language_candidates)), None),
        ld_images=tuple(_ld_images(tops)),
        names=names,
    )


def _metas(tree: HtmlElement) -> tuple[dict[str, str], str | None]:
    """Every meta tag's content by its property, name and itemprop (the first non-empty
    wins), and the http-equiv content-language: one walk, not one XPath per name."""
    metas: dict[str, str] = {}
    content_language: str | None = None
    for meta in tree.iter("meta"):
        content = (meta.get("content") or "").strip()
        equiv = (meta.get("http-equiv") or "").lower()
        if content_language is None and equiv == "content-language" and "content" in meta.attrib:
            content_language = content
        if content:
            for key in (meta.get("property"), meta.get("name"), meta.get("itemprop")):
                if key is not None:
                    metas.setdefault(key, content)
    return metas, content_language


def _language_code(value: str | None) -> str | None:
    match = _LANGUAGE_TAG.match(value or "")
    return match[1].lower() if match else None


def _json_ld(tree: HtmlElement) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The page's own JSON-LD entities (top level, @graph, mainEntity), and every object
    of the scripts that can declare a paywall (the only use of the deep walk)."""
    tops: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    for script in _TYPED_SCRIPTS(tree):
        if "ld+json" not in script.get("type", "").lower():
            continue
        source = script.text or "null"
        try:
            data = json.loads(source, strict=False)
        except (ValueError, RecursionError):
            continue
        for top in (x for x in as_list(data) if isinstance(x, dict)):
            for entity in (top, *(x for x in as_list(top.get("@graph")) if isinstance(x, dict))):
                tops.append(entity)
                main = entity.get("mainEntity")
                tops.extend(x for x in as_list(main) if isinstance(x, dict))
        if "isAccessibleForFree" in source:
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


def _ld_value(tops: list[dict[str, Any]], key: str) -> str | None:
    values = [n.get(key) for n in tops if isinstance(n.get(key), str)]
    return values[0] if values else None


def _ld_images(tops: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for node in tops:
        if {str(t).lower() for t in as_list(node.get("@type"))} & ARTICLE_TYPES:
            yield from (i for i in as_list(node.get("image")) if isinstance(i, dict))


def _paywall_marker(
    tree: HtmlElement, metas: dict[str, str], nodes: list[dict[str, Any]], names: str
) -> str | None:
    """The publisher's paywall declaration, else a paywall element outside link lists."""
    for node in nodes:
        if str(node.get("isAccessibleForFree", "")).strip().lower() in ("false", "no"):
            return "isAccessibleForFree=false"
    if metas.get("isAccessibleForFree", "").lower() == "false":
        return "isAccessibleForFree=false"
    if metas.get("article:content_tier", "").lower() == "locked":
        return "content tier locked"
    if not any(literal in names for literal in _PAYWALL_LITERALS):
        return None
    for el in _PAYWALL_ELEMENTS(tree, p=_PAYWALL_PATTERN):
        attr = "class" if re.search(_PAYWALL_PATTERN, el.get("class", ""), re.I) else "id"
        return f'paywall element {attr}="{el.get(attr, "")[:40]}"'
    return None


# Every byline XPath of trafilatura's author search (trafilatura.xpaths.AUTHOR_XPATHS) needs
# one of these in a class or id, case-sensitively; or "author"/"Byline" in one of the
# attributes below; or an element named author or rel. The page's text cannot serve:
# "authorities" is in every other story.
_BYLINE_HINTS = (
    "uthor", "yline", "byl", "BBL", "username", "screenname", "writer", "zuozhe", "bianji",
    "xiaobian", "channel-name", "submitted-by", "posted-by", "journalist-name",
)  # fmt: skip
_BYLINE_ATTRIBUTES = etree.XPath(
    "//@rel | //@itemprop | //@data-testid | //@data-component", smart_strings=False
)


def may_have_byline(tree: HtmlElement, declared: Declared) -> bool:
    """False where trafilatura's costly author search cannot find anything."""
    if any(hint in declared.names for hint in _BYLINE_HINTS):
        return True
    if any("uthor" in value or "Byline" in value for value in _BYLINE_ATTRIBUTES(tree)):
        return True
    return tree.find(".//author") is not None or tree.find(".//rel") is not None


# --- layout measures ----------------------------------------------------------------------

_VISIBLE = etree.XPath(
    "//body//text()[not(ancestor::script or ancestor::style or ancestor::template)]"
)
_LINKS = etree.XPath("count(//body//a[@href])")
_HEADING = "self::h2 or self::h3 or self::h4"
# Two counts, not a union: libxml2 merges node sets in quadratic time.
_TEASERS = etree.XPath(
    f"count(//body//*[{_HEADING}][.//a[@href]]) + count(//body//a[@href][.//*[{_HEADING}]])"
)


@dataclass(frozen=True)
class Layout:
    """Measures of the page body, each computed when first asked for.

    The tree must not change while the measures are in use.
    """

    tree: HtmlElement

    @cached_property
    def _texts(self) -> list[str]:
        return [t for t in _VISIBLE(self.tree) if not t.isspace()]

    @cached_property
    def words(self) -> int:
        """Words of visible body text (not scripts, styles, templates)."""
        return sum(len(t.split()) for t in self._texts)

    @cached_property
    def visible(self) -> str:
        """The start of the visible text, lower-case, for block-page phrases."""
        return _SPACES.sub(" ", " ".join(self._texts)[:20000]).lower()

    @cached_property
    def links(self) -> int:
        return int(_LINKS(self.tree))

    @cached_property
    def teasers(self) -> int:
        """Headings holding a link, or links holding a heading: the cards of a listing."""
        return int(_TEASERS(self.tree))

    @cached_property
    def link_density(self) -> float:
        anchors = (a for a in self.tree.iter("a") if a.get("href"))
        link_words = sum(len(a.text_content().split()) for a in anchors)
        return link_words / self.words if self.words else 0.0

    @cached_property
    def block_words(self) -> int:
        """Words in the largest run of prose sharing a parent: articles hold their
        paragraphs in one parent, listings do not. All of it is visible text (bar a
        script inside a paragraph), so it is also a cheap lower bound of ``words``."""
        blocks: dict[HtmlElement, int] = {}
        for p in self.tree.iter("p"):
            parent = p.getparent()
            blocks[parent] = blocks.get(parent, 0) + len(p.text_content().split())
        for el in self.tree.iter("div", "td", "section", "article", "main"):  # between <br>s
            loose = len((el.text or "").split()) + sum(len((c.tail or "").split()) for c in el)
            if loose:
                blocks[el] = blocks.get(el, 0) + loose
        return max(blocks.values(), default=0)


# --- blocked pages ------------------------------------------------------------------------

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
MARKUP_SCAN = 300_000  # challenge markers sit near the top; a huge page is no wall anyway


def blocked_reason(declared: Declared, layout: Layout, markup: str) -> str | None:
    """Why the page is a bot wall or a denial, or None. Long pages are never walls.

    Only strong markers count (challenge scripts, vendor error pages, challenge titles),
    so an article quoting "Access Denied" stays an article.
    """
    limit = BLOCK_MAX_ARTICLE_WORDS if declared.article_type else BLOCK_MAX_WORDS
    if layout.block_words > limit or layout.words > limit:  # cheap bound first
        return None
    lowered = markup[:MARKUP_SCAN].lower()  # the patterns are lower-case: no re.I scans
    for pattern, reason in _CHALLENGE_MARKUP:  # first: they name the vendor
        if re.search(pattern, lowered) or re.search(pattern, layout.visible):
            return reason
    for pattern, reason in _CHALLENGE_TITLES:
        if re.fullmatch(pattern, declared.title, re.IGNORECASE):
            return reason
    visible = layout.visible.replace("’", "'")
    for pattern, reason in _CHALLENGE_PHRASES:
        if re.search(pattern, visible):
            return reason
    return None


# --- listing pages ------------------------------------------------------------------------

_LISTING_PATH = re.compile(
    r"^/*(?:[a-z]{2}(?:-[a-z]{2})?/?)?(?:index\.\w+)?$|/(?:section|sections|category"
    r"|categories|tag|tags|topic|topics|theme|themes|rubrique|seccion|search|buscar|recherche"
    r"|archive|archives|author|authors|auteur|autor|page)(?:/|$)|/index\.\w+$",
    re.IGNORECASE,
)


def listing_reason(declared: Declared, layout: Layout, words: int, url: str) -> str | None:
    """Why the page is a home, section, tag or search page (many teasers, no long run of
    prose), or None. ``words`` is the extracted text's length, for the reason.

    The URL path and a CollectionPage type only lower the bar; the page must show it.
    """
    hint = declared.collection_type or bool(_LISTING_PATH.search(urlsplit(url).path or "/"))
    if declared.article_type:  # the publisher says article: only an extreme page overrules it
        if not _extreme_listing(layout):
            return None
    elif not _plain_listing(layout, hint):
        return None
    return (
        f"listing page: {layout.links} links, {layout.teasers} teasers, longest text block"
        f" {layout.block_words} words, {words} words extracted"
    )


def _extreme_listing(layout: Layout) -> bool:
    """Fifteen teasers (many, with or without a hint), no run of prose, mostly links.
    The cheapest measure first: on an article it settles the question alone."""
    return layout.block_words < 60 and layout.teasers >= 15 and layout.link_density >= 0.4


def _plain_listing(layout: Layout, hint: bool) -> bool:
    many = layout.links >= (25 if hint else 40) or layout.teasers >= (5 if hint else 10)
    if not many:
        return False
    if layout.block_words < (250 if hint else 150):
        return True
    return layout.block_words < 300 and layout.link_density >= 0.5
