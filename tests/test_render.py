from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

import jinja2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from lxml import html as lxml_html

from aggregator.digest import render as render_module
from aggregator.digest.models import Edition, Item, Section, Status
from aggregator.digest.render import (
    FORMATS,
    clean_text,
    edition_json,
    render,
    render_atom,
    safe_url,
    uk_date,
)
from aggregator.errors import ConfigError

ATOM = "{http://www.w3.org/2005/Atom}"
DAY = date(2026, 11, 25)
BASE = "https://digest.example.org/editions"
FEED = "https://digest.example.org/feed.atom"
EVIL_ATTR = '"><img src=x onerror=alert(1)>'
SCRIPT = "<script>alert(1)</script>"
MD_LINK = "[x](javascript:alert(1))"
CONTROL = "\x00\x07\x1b[31m\u202e\x85"

FEATURED = Item(
    1,
    "featured",
    1,
    "Geneva (IOM) – IOM has launched a website that tracks migrants who die or go missing "
    "on migration routes, with data going back to 2014.",
    "https://www.iom.int/news/missing-migrants-website",
    ("IOM",),
    title="New Missing Migrants Website Tracks Deaths on Migration Routes",
    image_url="https://www.iom.int/sites/default/files/lead.jpg",
    image_credit="Muse Mohammed/IOM 2026",
)
NEWS = (
    Item(
        2,
        "news",
        1,
        "AFP and DPA reported that Gambian migrants who suffered abuses in Libya have formed a "
        "group to warn young people about the dangers of the journey.",
        "https://www.france24.com/en/africa/gambian-returnees",
        ("AFP", "DPA"),
        ("returns", "trafficking"),
        ("Gambia", "Libya"),
        datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
        41,
    ),
    Item(
        3,
        "news",
        2,
        "Le Monde a rapporté que des élèves exilés à Marseille réclament l’accès à l’école, "
        "selon l’association Médecins du Monde.",
        "https://www.lemonde.fr/societe/article/2026/11/24/eleves-exiles.html",
        ("Le Monde",),
        ("education",),
        ("France",),
        datetime(2026, 11, 24, 18, 5),  # naive: read as UTC
        42,
    ),
    Item(
        4,
        "news",
        3,
        "EFE reported that 1,200 migrants arrived in the Canary Islands over the weekend, "
        "according to Spain's interior ministry.",
        "https://www.efe.com/espana/canarias",
        ("EFE",),
    ),
)
TRENDING = Item(
    5,
    "trending",
    1,
    "BBC shared the story of Amina Diallo, a 24-year-old Guinean refugee who opened a bakery "
    "in Lyon that now employs six other newcomers.",
    "https://www.bbc.com/news/articles/amina-bakery",
    ("BBC",),
)
ALTERNATE = Item(9, "alternates", 1, "Reuters reported that an unused candidate exists.", None)


def edition(status: Status = Status.PUBLISHED, day: date = DAY, **changes: Any) -> Edition:
    values: dict[str, Any] = {
        "day": day,
        "status": status,
        "sections": (
            Section("featured", "Featured", (FEATURED,)),
            Section("news", "Migration in the News", NEWS),
            Section("trending", "Trending on the Internet", (TRENDING,)),
            Section("quotes", "Quote of the Day"),  # empty
        ),
        "alternates": (ALTERNATE,),
        "created_at": datetime(2026, 11, 25, 5, 0, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 25, 7, 45, tzinfo=UTC),
        "published_at": datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
    }
    values.update(changes)
    return Edition(**values)


def hostile_edition() -> Edition:
    bad = Item(
        1,
        "news",
        1,
        f"AFP reported that {SCRIPT} {EVIL_ATTR} {MD_LINK} <b>bold</b>{CONTROL} end.",
        "javascript:alert(1)",
        (f"Evil{EVIL_ATTR}", f"{MD_LINK}{SCRIPT}"),
        (SCRIPT,),
        (EVIL_ATTR,),
    )
    featured = Item(
        2,
        "featured",
        1,
        f"# Teaser {SCRIPT}\n- not a list",
        "data:text/html,<script>alert(1)</script>",
        title=f"Headline {EVIL_ATTR} {MD_LINK}",
        image_url="javascript:alert(1)//.jpg",
        image_credit=f"{EVIL_ATTR}",
    )
    mixed = Item(
        3, "news", 2, "1. ![img](http://x/a.png) | a | b | ~~s~~ `code`", " JaVaScRiPt:alert(1)"
    )
    return Edition(
        DAY,
        Status.PUBLISHED,
        (
            Section("featured", f"Featured {SCRIPT}", (featured,)),
            Section("news", f"News {EVIL_ATTR}", (bad, mixed)),
        ),
        title=f"Digest {SCRIPT}{MD_LINK}",
    )


def links_of(tree: Any) -> list[str]:
    return [value for attr in ("href", "src") for value in tree.xpath(f"//@{attr}")]


def assert_html_inert(document: str) -> Any:
    """No element, attribute or URL from the feeds became live markup."""
    tree = lxml_html.fromstring(document)
    assert not tree.xpath("//script | //iframe | //object | //embed | //form | //b")
    for element in tree.iter(etree.Element):
        for name in element.attrib:
            assert not name.lower().startswith("on"), (element.tag, name)
    for url in links_of(tree):
        assert re.match(r"(https?://|mailto:)", url), url
    for img in tree.xpath("//img"):
        assert img.get("src") != "x"
    return tree


# --- values -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 25), "25 November 2026"),
        (date(2027, 1, 1), "1 January 2027"),
        (date(2024, 2, 29), "29 February 2024"),
    ],
)
def test_uk_date(day: date, expected: str) -> None:
    assert uk_date(day) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.bbc.com/news/x?a=1#top", "https://www.bbc.com/news/x?a=1#top"),
        ("HTTP://Example.org/a", "http://Example.org/a"),
        ("  https://example.org/a b  ", "https://example.org/a%20b"),
        ("javascript:alert(1)", None),
        (" JaVaScRiPt:alert(1)", None),
        ("java\nscript:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("data:text/html;base64,PHNjcmlwdD4=", None),
        ("vbscript:msgbox(1)", None),
        ("ftp://example.org/file", None),
        ("/relative/path", None),
        ("//example.org/no-scheme", None),
        ("https://user:pw@example.org/", None),
        ("https://bbc.com@evil.example/", None),
        ("https:\\\\evil.example", None),
        ("https://", None),
        ("https://example.org:99999/", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_url(url: str | None, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_clean_text_drops_controls_and_bidi_overrides_and_composes_accents() -> None:
    decomposed = "e\u0301le\u0300ve"  # "élève" written with combining accents
    assert clean_text(f" {decomposed}\x00\x1b\u202e\n\t ok\x85 ") == "élève ok"
    assert clean_text("\ud800lone surrogate") == "lone surrogate"
    assert clean_text(None) == ""


# --- HTML -------------------------------------------------------------------


def test_html_email_layout_sections_and_items() -> None:
    document = render(edition(), "html", contact="editor@example.org", base_url=BASE)
    tree = assert_html_inert(document)
    tables = tree.xpath("//table")
    assert tables and all(t.get("role") == "presentation" for t in tables)
    assert "max-width:640px" in document and 'width="640"' in document
    assert [h.text_content() for h in tree.xpath("//h2")] == [
        "Featured",
        "Migration in the News",
        "Trending on the Internet",
    ]  # the empty "Quote of the Day" section is left out
    assert "Quote of the Day" not in document
    assert "25 November 2026" in tree.xpath("//h1/following-sibling::p")[0].text_content()
    preheader = tree.xpath("//body/div")[0]
    assert "display:none" in preheader.get("style")
    assert preheader.text_content().startswith(FEATURED.title)
    online = tree.xpath("//a[contains(., 'View this edition')]")[0]
    assert online.get("href") == f"{BASE}/2026-11-25.html"


def test_html_featured_block_has_headline_image_credit_and_read_more() -> None:
    tree = lxml_html.fromstring(render(edition(), "html"))
    assert tree.xpath("//h3")[0].text_content() == FEATURED.title
    img = tree.xpath("//img")[0]
    assert img.get("src") == FEATURED.image_url
    assert img.get("width") == "592" and img.get("alt") == FEATURED.title
    assert tree.xpath("//td[. = 'Photo: Muse Mohammed/IOM 2026']")
    read_more = tree.xpath("//a[. = 'Read more']")
    assert [a.get("href") for a in read_more] == [FEATURED.url]


def test_html_news_sentences_link_to_their_article() -> None:
    tree = lxml_html.fromstring(render(edition(), "html"))
    anchors = {a.text_content(): a for a in tree.xpath("//a")}
    for item in (*NEWS, TRENDING):
        anchor = anchors[item.text]  # accents kept, the whole sentence is the link text
        assert anchor.get("href") == item.url
        assert anchor.get("target") == "_blank" and anchor.get("rel") == "noopener"
        assert anchor.get("title") == ", ".join(item.outlets)
    assert ALTERNATE.text not in render(edition(), "html")


def test_html_footer_contact_only_when_given() -> None:
    with_contact = lxml_html.fromstring(render(edition(), "html", contact="editor@example.org"))
    footer = with_contact.xpath("//p[starts-with(., 'Comments/questions:')]")[0]
    assert footer.xpath(".//a/@href") == ["mailto:editor@example.org"]
    assert "Comments/questions" not in render(edition(), "html")


def test_html_hostile_feed_text_is_inert_and_visible_as_text() -> None:
    document = render(hostile_edition(), "html", contact=f"x{EVIL_ATTR}")
    tree = assert_html_inert(document)
    text = tree.text_content()
    assert SCRIPT in text and EVIL_ATTR in text and "<b>bold</b>" in text
    assert "javascript:" not in " ".join(links_of(tree)).lower()
    assert not tree.xpath("//img")  # the only image had a javascript: URL
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202e]", document)


# --- Markdown -------------------------------------------------------------------


def test_markdown_structure() -> None:
    text = render(edition(), "md", contact="editor@example.org")
    lines = text.splitlines()
    assert lines[0] == "# Migration in the News — 25 November 2026"
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == ["## Featured", "## Migration in the News", "## Trending on the Internet"]
    first = NEWS[0]
    assert f"- {first.text} ([Read more]({first.url}))" in lines
    assert f"### {FEATURED.title}" in lines
    assert f"![{FEATURED.title}]({FEATURED.image_url})" in lines
    assert lines[-1] == "Comments/questions: editor@example.org"
    assert "élèves exilés" in text


def markdown_to_html(text: str) -> str:
    markdown_it = pytest.importorskip("markdown_it")
    return markdown_it.MarkdownIt("commonmark").render(text)


def test_markdown_renders_to_the_expected_links_only() -> None:
    tree = lxml_html.fromstring(markdown_to_html(render(edition(), "md")))
    hrefs = tree.xpath("//a/@href")
    assert hrefs == [FEATURED.url, *(item.url for item in NEWS), TRENDING.url]
    assert [li.text_content().removesuffix(" (Read more)") for li in tree.xpath("//li")] == [
        item.text for item in (*NEWS, TRENDING)
    ]


def test_markdown_hostile_text_cannot_make_links_html_or_blocks() -> None:
    text = render(hostile_edition(), "md")
    rendered = markdown_to_html(text)
    tree = assert_html_inert(f"<div>{rendered}</div>")
    assert tree.xpath("//a") == [] and tree.xpath("//img") == []
    assert "javascript:" not in " ".join(links_of(tree))
    assert tree.xpath("//li")[0].text_content().startswith("AFP reported that <script>")
    assert len(tree.xpath("//ol")) == 0 and len(tree.xpath("//h1")) == 1


def test_markdown_urls_cannot_close_the_link_early() -> None:
    url = "https://example.org/a_(b)<c>"
    item = Item(1, "news", 1, "AFP reported that a URL has brackets.", url)
    text = render(Edition(DAY, Status.DRAFT, (Section("news", "News", (item,)),)), "md")
    tree = lxml_html.fromstring(markdown_to_html(text))
    assert tree.xpath("//a/@href") == ["https://example.org/a_%28b%29%3Cc%3E"]


# --- plain text ------------------------------------------------------------------


def test_plain_text_wrapping_underlines_and_urls() -> None:
    text = render(edition(), "txt", base_url=BASE)
    lines = text.splitlines()
    assert lines[0] == "Migration in the News — 25 November 2026"
    assert lines[1] == "=" * len(lines[0])
    for title in ("Featured", "Migration in the News", "Trending on the Internet"):
        index = lines.index(title, 2)
        assert lines[index + 1] == "-" * len(title)
    assert "Quote of the Day" not in text
    for line in lines:
        assert len(line) <= 78 or " " not in line.strip(), line
    for item in (*NEWS, TRENDING):
        url_line = lines.index(f"  {item.url}")
        item_lines = " ".join(line.strip(" *") for line in lines[url_line - 3 : url_line])
        assert item.text in item_lines.strip()
    assert f"Read more: {FEATURED.url}" in lines


def test_plain_text_hostile_has_no_controls_or_unsafe_urls() -> None:
    text = render(hostile_edition(), "txt")
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", text)
    assert "javascript:" not in text.lower().replace(MD_LINK.lower(), "")
    assert "data:text" not in text
    assert SCRIPT in text  # text stays readable; a text file runs nothing


# --- JSON -------------------------------------------------------------------------

ISO = "iso8601"
SCHEMA: dict[str, Any] = {
    "version": int,
    "edition": str,
    "status": str,
    "title": str,
    "published_at": (ISO, None),
    "sections": [
        {
            "id": str,
            "title": str,
            "items": [
                {
                    "text": str,
                    "outlets": [str],
                    "url": (str, None),
                    "topics": [str],
                    "places": [str],
                    "published": (ISO, None),
                    "story_id": (int, None),
                    "title": (str, None),
                    "image_url": (str, None),
                    "image_credit": (str, None),
                }
            ],
        }
    ],
}


def is_aware_iso(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def check(value: Any, schema: Any, path: str = "$") -> None:
    """A small structural validator: dict = exact keys, [s] = list of s, tuple = any of."""
    if isinstance(schema, tuple):
        errors = []
        for option in schema:
            try:
                check(value, option, path)
                return
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{path}: {errors}")
    if schema is None:
        assert value is None, f"{path}: expected null"
    elif schema == ISO:
        assert isinstance(value, str) and is_aware_iso(value), f"{path}: {value!r}"
    elif isinstance(schema, dict):
        assert isinstance(value, dict) and set(value) == set(schema), f"{path}: {value!r}"
        for key, sub in schema.items():
            check(value[key], sub, f"{path}.{key}")
    elif isinstance(schema, list):
        assert isinstance(value, list), path
        for index, element in enumerate(value):
            check(element, schema[0], f"{path}[{index}]")
    else:
        assert type(value) is schema, f"{path}: {type(value).__name__} is not {schema.__name__}"


def test_check_rejects_wrong_documents() -> None:
    document = edition_json(edition())
    with pytest.raises(AssertionError):
        check({**document, "extra": 1}, SCHEMA)
    with pytest.raises(AssertionError):
        check({**document, "published_at": "yesterday"}, SCHEMA)


def test_json_matches_schema_and_values() -> None:
    document = json.loads(render(edition(), "json"))
    check(document, SCHEMA)
    assert document == edition_json(edition())
    assert document["edition"] == "2026-11-25" and document["status"] == "published"
    assert [s["id"] for s in document["sections"]] == ["featured", "news", "trending", "quotes"]
    assert document["sections"][3]["items"] == []
    news = document["sections"][1]["items"]
    assert [n["text"] for n in news] == [item.text for item in NEWS]
    assert news[0]["outlets"] == ["AFP", "DPA"] and news[0]["story_id"] == 41
    assert news[0]["published"] == "2026-11-24T09:30:00+00:00"
    assert news[1]["published"] == "2026-11-24T18:05:00+00:00"  # naive stamps are UTC
    assert news[2]["published"] is None
    assert ALTERNATE.text not in json.dumps(document)


def test_json_hostile_values_are_data_and_urls_are_dropped() -> None:
    serialized = render(hostile_edition(), "json")
    assert "<" not in serialized and ">" not in serialized  # safe inside an HTML page too
    document = json.loads(serialized)
    check(document, SCHEMA)
    item = document["sections"][1]["items"][0]
    assert SCRIPT in item["text"] and item["url"] is None
    assert item["outlets"][0] == f"Evil{EVIL_ATTR}"
    assert document["sections"][0]["items"][0]["image_url"] is None
    assert not re.search(r"[\x00-\x1f\u202e]", json.dumps(document, ensure_ascii=False))


# --- Atom ------------------------------------------------------------------------------


def parse_atom(text: str) -> Any:
    return etree.fromstring(text.encode("utf-8"))


def test_atom_feed_of_published_editions_newest_first() -> None:
    days = [date(2026, 11, 23), date(2026, 11, 25), date(2026, 11, 24)]
    editions = [edition(day=day, updated_at=None, published_at=None) for day in days]
    draft = edition(Status.DRAFT, day=date(2026, 11, 26))
    feed = parse_atom(render_atom([*editions, draft], feed_url=FEED, base_url=BASE))
    assert feed.tag == f"{ATOM}feed" and feed.findtext(f"{ATOM}id") == FEED
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == FEED
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        "Migration in the News — 25 November 2026",
        "Migration in the News — 24 November 2026",
        "Migration in the News — 23 November 2026",
    ]
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == 3 and all(i.startswith("tag:digest.example.org,") for i in ids)
    assert entries[0].find(f"{ATOM}link").get("href") == f"{BASE}/2026-11-25.html"
    assert feed.findtext(f"{ATOM}updated") == "2026-11-25T05:00:00+00:00"


def test_atom_entry_content_is_the_escaped_edition_body() -> None:
    text = render_atom([edition()], feed_url=FEED)
    entry = parse_atom(text).find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}updated") == "2026-11-25T08:00:00+00:00"
    assert entry.findtext(f"{ATOM}published") == "2026-11-25T08:00:00+00:00"
    assert entry.find(f"{ATOM}link") is None  # no base_url, no link
    content = entry.find(f"{ATOM}content")
    assert content.get("type") == "html" and "&lt;h2&gt;Featured&lt;/h2&gt;" in text
    body = lxml_html.fromstring(f"<div>{content.text}</div>")
    assert [a.get("href") for a in body.xpath("//li/a")] == [i.url for i in (*NEWS, TRENDING)]
    assert body.xpath("//img/@src") == [FEATURED.image_url]


def test_atom_ids_are_stable_across_renders() -> None:
    first = parse_atom(render_atom([edition()], feed_url=FEED))
    again = parse_atom(
        render_atom([edition(updated_at=datetime(2026, 11, 25, 9, tzinfo=UTC))], feed_url=FEED)
    )
    assert first.findtext(f"{ATOM}entry/{ATOM}id") == again.findtext(f"{ATOM}entry/{ATOM}id")
    single = parse_atom(render(edition(), "atom", base_url=BASE))
    assert single.findtext(f"{ATOM}entry/{ATOM}id") == first.findtext(f"{ATOM}entry/{ATOM}id")
    assert single.findtext(f"{ATOM}id") != single.findtext(f"{ATOM}entry/{ATOM}id")
    anonymous = parse_atom(render(edition(), "atom"))
    assert anonymous.findtext(f"{ATOM}entry/{ATOM}id").startswith("urn:uuid:")


def test_atom_hostile_edition_escapes_and_stays_well_formed() -> None:
    text = render(hostile_edition(), "atom", base_url=BASE)
    feed = parse_atom(text)
    assert not feed.xpath("//*[local-name()='script' or local-name()='img']")
    entry = feed.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title").startswith(f"Digest {SCRIPT}")
    body = assert_html_inert(f"<div>{entry.findtext(f'{ATOM}content')}</div>")
    assert SCRIPT in body.text_content()


# --- API ------------------------------------------------------------------------------


def test_every_format_renders_and_unknown_ones_fail() -> None:
    for fmt in FORMATS:
        assert "25 November 2026" in render(edition(), fmt) or fmt == "json"
    with pytest.raises(ConfigError, match="unknown digest format"):
        render(edition(), "pdf")


def test_bad_urls_in_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        render(edition(), "html", base_url="javascript:alert(1)")
    with pytest.raises(ConfigError):
        render_atom([edition()], feed_url="/feed.atom")


def test_base_url_may_name_where_the_day_goes() -> None:
    html = render(edition(), "html", base_url="https://example.org/digest/{day}/")
    assert 'href="https://example.org/digest/2026-11-25/"' in html


def test_an_edition_with_no_items_says_so() -> None:
    empty = Edition(DAY, Status.DRAFT, (Section("news", "Migration in the News"),))
    for fmt in ("html", "md", "txt"):
        text = render(empty, fmt)
        assert "No stories in this edition." in text and "Migration in the News —" in text


def test_templates_load_from_the_package() -> None:
    files = resources.files("aggregator.digest").joinpath("templates")
    names = {entry.name for entry in files.iterdir()}
    assert {"edition.html.j2", "edition.md.j2", "edition.txt.j2", "fragment.html.j2"} <= names
    assert isinstance(render_module._environment().loader, jinja2.PackageLoader)


# --- any feed text -------------------------------------------------------------------

feed_text = st.text(
    alphabet=st.sampled_from(list("<>\"'&=/\\()[]!#*_`|-:.;\n\x00\x1b ajvscriptonerr1")),
    max_size=60,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=feed_text, title=feed_text, outlet=feed_text, url=feed_text)
def test_any_feed_text_renders_inert(text: str, title: str, outlet: str, url: str) -> None:
    items = (
        Item(1, "featured", 1, text, url, (outlet,), title=title, image_url=url),
        Item(2, "news", 1, text, "https://example.org/" + url, (outlet,), title=title),
    )
    hostile = Edition(
        DAY,
        Status.PUBLISHED,
        (Section("featured", title, items[:1]), Section("news", outlet, items[1:])),
        title=title,
    )
    assert_html_inert(render(hostile, "html"))
    md = lxml_html.fromstring(f"<div>{markdown_to_html(render(hostile, 'md'))}</div>")
    assert not md.xpath("//script | //img") and all(
        h.startswith("https://example.org/") for h in md.xpath("//a/@href")
    )
    check(json.loads(render(hostile, "json")), SCHEMA)
    entry = parse_atom(render(hostile, "atom")).find(f"{ATOM}entry")
    assert_html_inert(f"<div>{entry.findtext(f'{ATOM}content')}</div>")
