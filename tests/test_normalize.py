"""Normalisation of URLs, text and dates: examples plus properties over arbitrary input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.fetch.normalize import (
    RawItem,
    _canonical,
    canonical_url,
    clean_text,
    sane_date,
    to_entry,
)
from aggregator.models import DateFallback

SEEN = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("href", "base", "expected"),
    [
        (
            "HTTPS://WWW.Example.ORG:443/a?id=3&utm_source=rss#top",
            None,
            "https://www.example.org/a?id=3",
        ),
        (
            "/news/1.html?fbclid=x&page=2&gclid=y",
            "http://example.org/feed.xml",
            "http://example.org/news/1.html?page=2",
        ),
        ("story.html", "https://example.org/world/rss", "https://example.org/world/story.html"),
        ("http://example.org:8080/x", None, "http://example.org:8080/x"),
        ("https://example.org", None, "https://example.org/"),
        ("https://example.org/a?CMP=share&at_medium=RSS&ocid=1", None, "https://example.org/a"),
        ("https://e.org/a?traffic_source=rss&id=2&xtor=RSS-3208", None, "https://e.org/a?id=2"),
        ("javascript:alert(1)", None, None),
        ("java\tscript:alert(1)", None, None),
        ("&#106;avascript:alert(1)", None, None),
        ("data:text/html,<script>", None, None),
        ("mailto:x@example.org", None, None),
        ("", None, None),
        ("http://[::1", None, None),
        (
            "https://e.org/a?smid=tw&section=world&amp;x=1",
            None,
            "https://e.org/a?section=world&x=1",
        ),
    ],
)
def test_canonical_url(href, base, expected):
    assert canonical_url(href, base) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<b>Migrants</b> rescued", "Migrants rescued"),
        ("Boats &amp; borders &#233;t&eacute;", "Boats & borders été"),
        ("<script>alert(1)</script>Asylum claims rise", "Asylum claims rise"),
        ("<img src=x onerror=alert(1)>Asylum claims rise", "Asylum claims rise"),
        ("&lt;img src=x onerror=alert(1)&gt;Asylum claims rise", "Asylum claims rise"),
        ("<p>One</p><p>two</p>", "One two"),
        ("Bad\x01 control\x1b chars\x08", "Bad control chars"),
        ("  spaced \n\t out  ", "spaced out"),
        ("5 < 10 and 3 > 2", "5 < 10 and 3 > 2"),
        (None, ""),
    ],
)
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


def test_clean_text_limit_cuts_at_a_word():
    assert clean_text("one two three four", limit=10) == "one two…"


@given(st.text())
def test_clean_text_leaves_no_control_characters_or_tags(value):
    cleaned = clean_text(value)
    assert not any(ord(c) < 32 for c in cleaned)
    assert cleaned == cleaned.strip()
    assert clean_text(cleaned) == cleaned or "<" in cleaned or "&" in cleaned


@pytest.mark.parametrize("href", ["//[", "//[]", "//[::1", "http://[x]/"])
def test_a_malformed_host_is_no_link(href):
    assert canonical_url(href, "http://example.org/feed") is None


@given(st.text(), st.sampled_from(["http://example.org/feed", "https://a.example/x/y?z=1"]))
def test_canonical_url_is_idempotent_and_http(href, base):
    url = canonical_url(href, base)
    if url is not None:
        assert url.startswith(("http://", "https://"))
        assert "#" not in url
        assert canonical_url(url) == url


@given(
    st.from_regex(
        r"\Ahttps?://[a-zA-Z0-9.-]{1,20}(:[0-9]{1,5})?(/[a-zA-Z0-9._~%/-]{0,20})?"
        r"(\?([a-zA-Z_]{1,8}=[a-zA-Z0-9%&;#]{0,8}&?){0,3})?(#[a-z]{0,5})?\Z"
    )
)
def test_the_fast_path_agrees_with_the_general_one(url):
    assert canonical_url(url) == _canonical(url, None)


def test_dates_in_the_future_or_too_old_fall_back_to_first_seen():
    assert sane_date(None, SEEN) == (SEEN, DateFallback.MISSING)
    assert sane_date(SEEN + timedelta(days=2), SEEN) == (SEEN, DateFallback.FUTURE)
    assert sane_date(datetime(1970, 1, 1, tzinfo=UTC), SEEN) == (SEEN, DateFallback.TOO_OLD)
    earlier = SEEN - timedelta(hours=3)
    assert sane_date(earlier, SEEN) == (earlier, None)
    naive = datetime(2026, 11, 24, 12, 0)
    assert sane_date(naive, SEEN) == (naive.replace(tzinfo=UTC), None)


def test_entry_key_prefers_guid_then_url_then_content():
    base = "https://example.org/feed"
    with_guid = to_entry(RawItem(title="T", link="/a", guid="urn:1"), base, SEEN)
    with_link = to_entry(RawItem(title="T", link="/a?utm_source=x"), base, SEEN)
    permalink = to_entry(RawItem(title="T", guid="https://example.org/a#x"), base, SEEN)
    bare = to_entry(RawItem(title="T", summary_html="S"), base, SEEN)
    assert with_guid.key == "guid:urn:1"
    assert with_link.key == permalink.key == "https://example.org/a"
    assert bare.key.startswith("hash:")
    assert bare.key == to_entry(RawItem(title="T", summary_html="S"), base, SEEN).key


def test_an_item_with_nothing_to_show_is_dropped():
    assert to_entry(RawItem(title="  ", link="javascript:x"), "https://e.org/", SEEN) is None


def test_content_hash_ignores_the_fallback_date():
    item = RawItem(title="Undated", link="https://e.org/u")
    first = to_entry(item, "https://e.org/", SEEN)
    later = to_entry(item, "https://e.org/", SEEN + timedelta(hours=5))
    assert first.content_hash == later.content_hash
    changed = to_entry(
        RawItem(title="Undated (updated)", link="https://e.org/u"), "https://e.org/", SEEN
    )
    assert changed.content_hash != first.content_hash
