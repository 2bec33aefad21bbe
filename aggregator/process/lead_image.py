"""The lead image of an article page: its address, caption and photo credit.

The caption and credit come from the ``<figure>`` showing the og:image (same file name,
any size), else the first figure with a caption; then JSON-LD ``image``; then
``og:image:alt``. A credit is its own element when the page marks one (a "credit" or
"copyright" class), else the tail of the caption in one of the forms newsrooms use:
"Photo: Jane Doe/AFP", "(AFP)", "© John Smith", "REUTERS/Mohamed Azakir".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml.html import HtmlElement

from aggregator.process.page_signals import Declared, as_list, squash

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
_SIZE_SUFFIX = re.compile(r"(?:[-_@](?:\d+x\d*|\d+w|large|medium|small|thumb|scaled))+$")


@dataclass(frozen=True, slots=True)
class LeadImage:
    url: str | None = None  # absolute
    caption: str | None = None
    credit: str | None = None


def absolute_url(href: str | None, base: str) -> str | None:
    """``href`` resolved against ``base``; None unless it is http(s)."""
    if not href or not href.strip():
        return None
    try:
        absolute = urljoin(base, href.strip())
    except ValueError:
        return None
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def lead_image(tree: HtmlElement, declared: Declared, image_url: str | None, url: str) -> LeadImage:
    """The lead image's caption and credit, and an address for it found on the way
    (callers prefer the og:image they already hold)."""
    ld = _ld_image(declared, url)
    found = _lead_figure(tree, image_url) if tree.find(".//figure") is not None else None
    if found is None:
        return LeadImage(ld.url, ld.caption or declared.og_image_alt, ld.credit)
    figure, sources = found
    caption, credit = _figure_texts(figure)
    src = absolute_url(sources[0].split()[0], url)
    return LeadImage(src, caption or ld.caption or declared.og_image_alt, credit or ld.credit)


def _lead_figure(tree: HtmlElement, image_url: str | None) -> tuple[HtmlElement, list[str]] | None:
    """The figure showing the og:image, else the first with a caption; with its sources."""
    figures = [(f, s) for f in _FIGURES(tree) if (s := [x for x in _SOURCES(f) if x.strip()])]
    key = _image_key(image_url) if image_url else ""
    for figure, sources in figures if key else ():
        if any(_image_key(c) == key for s in sources for c in s.split(",")):
            return figure, sources
    return next(((f, s) for f, s in figures if _caption_element(f) is not None), None)


def _image_key(src: str) -> str:
    """The file name without extension and size suffix: CMSs serve one photo at many sizes."""
    path = urlsplit(src.strip().split(" ")[0]).path if src.strip() else ""
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    return _SIZE_SUFFIX.sub("", stem)


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
    return squash(caption), squash(_STRIP_LABEL.sub("", credit)) if credit else None


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
    return " ".join(element.text_content().split()) if element is not None else ""


def _ld_image(declared: Declared, base: str) -> LeadImage:
    """The first image object of the page's JSON-LD article, with its credit if named."""
    for image in declared.ld_images:
        credit = image.get("creditText") or _name(image.get("copyrightHolder"))
        credit = credit or _name(image.get("author")) or _name(image.get("creator"))
        url = image.get("url") or image.get("contentUrl")
        caption = image.get("caption")
        return LeadImage(
            absolute_url(url, base) if isinstance(url, str) else None,
            squash(caption) if isinstance(caption, str) else None,
            squash(credit) if isinstance(credit, str) else None,
        )
    return LeadImage()


def _name(value: Any) -> str | None:
    for item in as_list(value):
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and name.strip():
            return name
    return None
