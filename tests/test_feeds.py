"""Parsing every feed format and odd encoding, against expectations written with the fixtures."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from aggregator.errors import NotAFeed, ParseError
from aggregator.fetch.feeds import parse_feed, refuse_entities
from aggregator.fetch.pages import parse_page
from aggregator.sources import Selectors
from tests.conftest import FIXTURES

FEEDS = FIXTURES / "feeds"
EXPECTED = json.loads((FEEDS / "expected.json").read_text(encoding="utf-8"))
BASE = "http://fixtures.example"
SEEN = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
ERRORS = {"not_a_feed": NotAFeed, "parse": ParseError}


def parse(name: str):
    spec = EXPECTED[name]
    body = (FEEDS / name).read_bytes()
    url = f"{BASE}/feeds/{name}"
    if "selectors" in spec:
        return parse_page(body, url, Selectors(**spec["selectors"]), SEEN)
    return parse_feed(body, {"content-type": spec["content_type"]}, url, SEEN)


def rss(item: bytes) -> bytes:
    """An RSS 2.0 document (with the media namespace) holding one item."""
    return (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">'
        b"<channel><title>T</title><item>" + item + b"</item></channel></rss>"
    )


def test_every_fixture_has_an_expectation():
    assert {p.name for p in FEEDS.iterdir()} - {"expected.json"} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(n for n, s in EXPECTED.items() if "entries" in s))
def test_fixture_entries(name):
    spec = EXPECTED[name]
    feed = parse(name)
    wanted = spec["entries"]
    got = list(feed.entries)
    if "min_entries" in spec:  # a truncated document: what can be recovered, in order
        assert len(got) >= spec["min_entries"]
        got = got[: len(wanted)]
    assert [e.title for e in got] == [w["title"] for w in wanted]
    assert [e.url for e in got] == [_url(w["url"]) for w in wanted]
    for entry, want in zip(got, wanted, strict=True):
        if want["published"] is None:
            assert entry.date_fallback is not None and entry.published_at == SEEN
        else:
            assert entry.date_fallback is None
            assert entry.published_at == datetime.fromisoformat(want["published"])
        _check_guid(entry, want)


def _url(value: str | None) -> str | None:
    return value.replace("{base}", BASE) if value else None


def _check_guid(entry, want) -> None:
    # fastfeedparser reports the link as the id of an item without a GUID; the entry's key
    # (its identity) is the canonical URL either way.
    if want["guid"] is None:
        assert entry.guid in (None, entry.url) or entry.guid == _raw_link(entry)
    else:
        assert entry.guid == want["guid"]


def _raw_link(entry) -> str | None:
    return entry.guid if entry.guid and entry.guid.startswith(("http:", "https:", "/")) else None


@pytest.mark.parametrize("name", sorted(n for n, s in EXPECTED.items() if "error" in s))
def test_fixture_errors(name):
    with pytest.raises(ERRORS[EXPECTED[name]["error"]]):
        parse(name)


def test_html_page_error_names_the_cause():
    with pytest.raises(NotAFeed, match="HTML page"):
        parse("html-page.html")


def test_entity_declaration_is_refused_with_a_clear_message():
    with pytest.raises(ParseError, match="declares XML entities"):
        parse("entities.xml")


def test_quadratic_blowup_is_refused_fast():
    entity = "x" * 100_000
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{entity}">]>'
        f'<rss version="2.0"><channel><title>{"&a;" * 10_000}</title></channel></rss>'
    ).encode()
    with pytest.raises(ParseError, match="entities"):
        parse_feed(body, {}, f"{BASE}/bomb", SEEN)


def test_entity_refusal_reads_utf16():
    body = '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE r [<!ENTITY a "b">]><rss/>'
    with pytest.raises(ParseError):
        refuse_entities(body.encode("utf-16"))


def test_entity_text_inside_content_is_not_refused():
    body = rss(b"<title>On &lt;!ENTITY&gt; attacks</title><link>http://e.org/a</link>")
    (entry,) = parse_feed(body, {}, f"{BASE}/f", SEEN).entries
    assert entry.url == "http://e.org/a"


def test_feed_metadata_is_kept():
    feed = parse("rss20.xml")
    assert feed.title and feed.parser in ("fastfeedparser", "feedparser")


def test_mislabelled_encodings_fall_back_to_the_forgiving_parser():
    assert parse("wrong-declaration.xml").parser == "feedparser"
    assert parse("latin1-undeclared.xml").parser == "feedparser"
    assert parse("rss20.xml").parser == "fastfeedparser"


def test_rich_items_keep_author_categories_and_image():
    entries = parse("rss20.xml").entries
    assert any(e.author for e in entries)
    assert any(e.categories for e in entries)
    assert any(e.image_url and e.image_url.startswith("http") for e in entries)
    assert all(e.content_html for e in entries)


def test_listing_selector_that_matches_nothing_is_an_error():
    body = (FEEDS / "listing.html").read_bytes()
    with pytest.raises(ParseError, match="matched nothing"):
        parse_page(body, BASE, Selectors(item="div.gone", link="a"), SEEN)


def test_listing_invalid_selector_is_an_error():
    body = (FEEDS / "listing.html").read_bytes()
    with pytest.raises(ParseError, match="invalid CSS selector"):
        parse_page(body, BASE, Selectors(item="article[", link="a"), SEEN)


def test_listing_item_can_be_the_link_itself():
    body = (
        b'<ul><li><a class="s" href="/a">Alpha story</a></li>'
        b'<li><a class="s" href="/b">Beta</a></li></ul>'
    )
    feed = parse_page(body, f"{BASE}/list", Selectors(item="a.s", link="a"), SEEN)
    assert [(e.title, e.url) for e in feed.entries] == [
        ("Alpha story", f"{BASE}/a"),
        ("Beta", f"{BASE}/b"),
    ]


def test_raw_markup_in_a_description_is_kept_as_text():
    body = rss(
        b"<title>Study of engineers</title><link>http://e.org/a</link>"
        b"<description><p>Empirical data from <b>288</b> engineers.</p></description>"
    )
    (entry,) = parse_feed(body, {}, f"{BASE}/f", SEEN).entries
    assert entry.summary == "Empirical data from 288 engineers."


def test_media_description_and_media_images_are_used():
    body = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"'
        b' xmlns:media="http://search.yahoo.com/mrss/"><title>Channel</title>'
        b"<entry><id>yt:video:1</id><title>Video</title>"
        b'<link rel="alternate" href="https://video.example/watch?v=1"/>'
        b"<published>2026-11-20T10:00:00+00:00</published>"
        b'<media:group><media:content url="https://video.example/v/1" type="application/x-flash"/>'
        b"<media:description>Aid workers describe the crossing.</media:description></media:group>"
        b"</entry></feed>"
    )
    (entry,) = parse_feed(body, {}, f"{BASE}/f", SEEN).entries
    assert entry.summary == "Aid workers describe the crossing."
    photo_item = rss(
        b"<title>Photo story</title><link>http://e.org/p</link>"
        b'<media:content width="140" url="https://i.example/pic.jpg?w=140"/>'
    )
    (photo,) = parse_feed(photo_item, {}, f"{BASE}/f", SEEN).entries
    assert photo.image_url == "https://i.example/pic.jpg?w=140"
