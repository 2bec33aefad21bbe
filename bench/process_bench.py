"""Processing speed, against trafilatura alone, in one run.

1. Pages: N article pages of about 100 KB (navigation, scripts, related links, a figure,
   eight to twelve paragraphs) go through the whole processing of one article (our
   extraction with status and metadata, then language, relevance, places, organisation
   mentions and the sentence), and through ``trafilatura.extract`` alone. Target: our work
   beyond extraction adds at most 50%.
2. Summaries: M summary-only entries (headline and a 40-80 word lede, EN/FR/ES) through
   the analyser. Target: at least 500 entries per second on one core.

    python bench/process_bench.py [--pages 1000] [--entries 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import trafilatura

from aggregator.config import OrganizationSettings
from aggregator.models import EntryInput
from aggregator.process.analyse import Analyser, Page
from aggregator.process.extract import extract_article
from aggregator.process.places import Gazetteer
from aggregator.process.taxonomy import load_taxonomy
from aggregator.sources import Source

ROOT = Path(__file__).resolve().parents[1]
LEDES = [json.loads(line) for line in (ROOT / "tests/fixtures/relevance/dev.jsonl").open()]
NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)
FILLER = (
    "Officials said the figures would be reviewed next week, while aid groups called for more"
    " support for families in the region and local authorities promised new measures."
)


def page(rng: random.Random, size: int = 100_000) -> str:
    """A news page as sites make them: most of its 100 KB is markup (menus, teasers, link
    farms, widgets), not one script blob, so the DOM is as large as a real page's."""
    story = rng.sample(LEDES, 12)
    lang = story[0]["language"]
    paragraphs = "".join(
        f'<p class="article__paragraph" data-index="{i}">{s["text"]} {FILLER}</p>'
        + (_teaser_box(rng) if i in (3, 7) else "")
        for i, s in enumerate(story)
    )
    head = (
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
        f"<title>{story[0]['title']} | Example News</title>"
        "<meta property='og:type' content='article'>"
        "<meta property='og:image' content='https://example.org/img/lead.jpg'>"
        "<meta property='article:published_time' content='2026-11-24T08:00:00Z'>"
        "<style>.a{color:red}.b{margin:0}</style><script>window.dataLayer=[];</script></head>"
    )
    article = (
        f"<main><article class='article'><header><h1 class='headline'>{story[0]['title']}</h1>"
        "<div class='byline'>By <a href='/authors/jane'>Jane Doe</a></div>"
        "<time datetime='2026-11-24T08:00:00Z'>24 Nov 2026</time></header>"
        "<figure><img src='https://example.org/img/lead.jpg' alt='Lead'>"
        "<figcaption>A caption. <span class='credit'>Photo: Jane Doe/AFP</span></figcaption>"
        f"</figure><div class='article__body'>{paragraphs}</div></article>"
    )
    html = head + "<body>" + _menu(rng) + article
    while len(html) < size - 2_000:
        html += _widget(rng)
    return html + "</main><footer>Subscribe to our newsletter</footer></body></html>"


def _menu(rng: random.Random) -> str:
    items = "".join(
        f"<li class='menu__item'><a class='menu__link' href='/section/{i}'>Section {i}</a>"
        f"<ul class='submenu'>{''.join(_link(rng) for _ in range(6))}</ul></li>"
        for i in range(12)
    )
    return f"<header class='site-header'><nav class='menu'><ul>{items}</ul></nav></header>"


def _link(rng: random.Random) -> str:
    title = rng.choice(LEDES)["title"]
    return f"<li><a href='/story/{rng.randrange(10**6)}' data-track='nav'>{title}</a></li>"


def _teaser_box(rng: random.Random) -> str:
    links = "".join(_link(rng) for _ in range(3))
    return f"<aside class='related'><h3>Read more</h3><ul>{links}</ul></aside>"


def _widget(rng: random.Random) -> str:
    """A sidebar or footer block: "most read" teasers with images and dates."""
    teasers = "".join(
        f"<div class='teaser'><a href='/story/{rng.randrange(10**6)}'>"
        f"<img src='/img/{rng.randrange(999)}.jpg' alt=''><h4>{item['title']}</h4></a>"
        f"<span class='teaser__date'>24 Nov 2026</span></div>"
        for item in rng.sample(LEDES, 6)
    )
    return f"<section class='widget'><h3>Most read</h3><div class='grid'>{teasers}</div></section>"


def analyser() -> Analyser:
    return Analyser(load_taxonomy(), Gazetteer.load(), OrganizationSettings())


def bench_pages(count: int) -> None:
    rng = random.Random(1)
    pages = [page(rng) for _ in range(count)]
    size = statistics.mean(len(p) for p in pages) / 1000
    work = analyser()
    source = Source(name="Example", url="https://example.org/feed")

    started = time.process_time()
    for html in pages:
        trafilatura.extract(html)
    baseline = time.process_time() - started

    started = time.process_time()
    for n, html in enumerate(pages):
        found = extract_article(html, f"https://example.org/story/{n}")
        entry = EntryInput(n, 1, "", found.title or "", "", None, None, NOW)
        work.analyse(entry, source, Page(found), NOW)
    ours = time.process_time() - started
    print(f"pages: {count} of {size:.0f} KB")
    print(f"  trafilatura.extract alone: {baseline:.2f} s CPU ({baseline / count * 1000:.1f} ms)")
    print(f"  whole processing:          {ours:.2f} s CPU ({ours / count * 1000:.1f} ms)")
    print(f"  overhead beyond extraction: {(ours / baseline - 1) * 100:+.0f}% (target <= +50%)")


def bench_entries(count: int) -> None:
    rng = random.Random(2)
    work = analyser()
    sources = {
        lang: Source(name=f"Outlet {lang}", url=f"https://example.org/{lang}", language=lang)
        for lang in ("en", "fr", "es")
    }
    entries = []
    for n in range(count):
        item, extra = rng.choice(LEDES), rng.choice(LEDES)
        summary = f"{item['text']} {extra['text']}"
        entries.append((EntryInput(n, 1, "", item["title"], summary, None, None, NOW), item))
    work.analyse(entries[0][0], sources["en"], None, NOW)  # warm the caches
    started = time.process_time()
    for entry, item in entries:
        work.analyse(entry, sources[item["language"]], None, NOW)
    spent = time.process_time() - started
    print(f"summary-only entries: {count} in {spent:.2f} s CPU = {count / spent:.0f}/s")
    print("  target: >= 500 entries per second on one core")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=10000)
    args = parser.parse_args()
    bench_entries(args.entries)
    bench_pages(args.pages)


if __name__ == "__main__":
    main()
