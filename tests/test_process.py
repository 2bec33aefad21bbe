"""Processing end to end: a local server serves a feed, article pages and robots.txt;
entries are fetched, processed, stored, re-processed only when something changed, and
shown by the CLI (process, inspect, articles export, eval relevance)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.app import App
from aggregator.cli import app as cli
from tests.conftest import FakeClock, wire_config

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

ARTICLE = """<!doctype html><html lang="en"><head><title>Dozens missing off Djibouti</title>
<meta property="og:type" content="article">
<meta property="og:site_name" content="Example Wire">
<meta property="article:published_time" content="2026-11-24T08:00:00Z">
</head><body><nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>Dozens missing after migrant boat capsizes off Djibouti</h1>
<p class="byline">By Jane Reporter</p>
<p>DJIBOUTI (Example Wire) - At least 45 migrants are missing after a boat carrying
Ethiopians bound for Yemen capsized in rough seas off the coast of Obock, the International
Organization for Migration said on Tuesday.</p>
<p>"The sea was very rough and the boat was overcrowded," said Tanja Pacifico, IOM's chief
of mission in Djibouti, adding that 32 survivors had been taken to a local clinic.</p>
<p>The route across the Gulf of Aden to Yemen and on to Saudi Arabia is one of the busiest
and most dangerous migration routes in the world, according to IOM, which counted more than
97,000 crossings last year.</p>
<p>Local fishermen joined the search on Wednesday morning, and the coast guard said the
operation would continue for several days despite the weather.</p>
</article><footer>Subscribe to our newsletter</footer></body></html>"""


def rss(items: list[tuple[str, str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>Tue, 24 Nov 2026 10:00:00 GMT</pubDate><description>{d}</description></item>"
        for t, link, d in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{body}</channel></rss>'
    ).encode()


LONG = (
    "Italian coast guard vessels rescued 120 migrants from an overcrowded fishing boat south of"
    " Lampedusa on Monday, officials said, the latest in a series of rescues in the central"
    " Mediterranean as departures from Libya and Tunisia continue despite the winter weather"
    " and a new agreement between Rome and Tripoli on patrols along the Libyan coast, which"
    " rights groups have criticised as pushing people back to abuse."
)
TRAP = (
    "Birders at Point Pelee counted twenty species of warblers on Sunday as the spring"
    " migration peaked, with rare migrants including a Kirtland's warbler drawing crowds of"
    " birdwatchers and photographers to the park's southern tip for the long weekend."
)


@pytest.fixture
def site(server):
    article = server.serve("/news/djibouti", ARTICLE.encode(), Content_Type="text/html")
    server.serve("/robots.txt", b"User-agent: *\nDisallow: /private/\n")
    private = server.url("/private/story")
    feed = rss(
        [
            ("Migrants rescued off Lampedusa", server.url("/news/lampedusa"), LONG),
            ("Dozens missing off Djibouti", article, "Boat capsizes..."),
            ("Warblers arrive at Point Pelee", server.url("/news/birds"), TRAP),
            ("Refugees stranded at border", private, "Short summary."),
        ]
    )
    server.serve("/feed.xml", feed, Content_Type="application/rss+xml")
    return server


@pytest.fixture
def config(tmp_path, site, db_url):
    return wire_config(tmp_path, db_url, site)


def run(config, clock=None):
    with App(config, clock=clock or FakeClock(NOW)) as application:
        application.fetch()
        report = application.process()
        rows = {row["title"]: row for row in application.store.articles()}
    return report, rows


def test_fetch_then_process_stores_explained_articles(config, site):
    report, rows = run(config)
    assert report.processed == 4 and report.relevant == 3

    lampedusa = rows["Migrants rescued off Lampedusa"]
    assert lampedusa["relevant"] and lampedusa["text_status"] == "summary_only"
    assert "central_mediterranean" in lampedusa["routes"]
    assert {"IT"} <= set(lampedusa["places"]["mentioned"])
    assert lampedusa["sentence"].startswith("Example Wire reported that ")
    assert site.hits["/news/lampedusa"] == 0  # a long summary needs no page

    djibouti = rows["Dozens missing off Djibouti"]
    assert djibouti["text_status"] == "full" and "Obock" in djibouti["text"]
    assert "Subscribe" not in djibouti["text"]
    assert djibouti["relevant"] and "missing_migrants_sar" in djibouti["topics"]
    assert djibouti["places"]["dateline"] == "DJ"
    assert djibouti["org_mentions"][0]["kind"] == "quoted"
    assert djibouti["org_mentions"][0]["person"] == "Tanja Pacifico"
    assert djibouti["sentence"].endswith("It quoted IOM's Tanja Pacifico.")
    assert "DJIBOUTI" not in djibouti["sentence"]

    birds = rows["Warblers arrive at Point Pelee"]
    assert not birds["relevant"] and "vetoed" in birds["relevance_reason"]
    terms = {m["term"] for m in birds["matched_terms"]}
    assert {"migrants", "warblers", "birders"} <= terms

    stories = {rows[t]["story_id"] for t in rows if rows[t]["relevant"]}
    assert None not in stories and len(stories) == 3  # three different events
    assert birds["story_id"] is None  # only relevant articles are clustered

    private = rows["Refugees stranded at border"]
    assert private["text_status"] == "blocked" and "robots" in private["text_reason"]
    assert site.hits["/private/story"] == 0
    assert site.hits["/robots.txt"] == 1


def test_processing_again_changes_nothing_and_fetches_nothing(config, site):
    run(config)
    hits = sum(site.hits.values())
    report, _ = run(config)
    assert report.processed == 0
    assert sum(site.hits.values()) - hits == 1  # the feed alone (a 304 or same body)


def test_a_changed_taxonomy_reprocesses_without_refetching_pages(config, site, tmp_path):
    run(config)
    page_hits = site.hits["/news/djibouti"]
    packaged = Path(__file__).parents[1] / "aggregator" / "data" / "taxonomy.yaml"
    edited = packaged.read_text(encoding="utf-8").replace(
        "core:\n  en: [", "core:\n  en: [warblers, "
    )
    (tmp_path / "my-taxonomy.yaml").write_text(edited, encoding="utf-8")
    changed = config.settings.model_copy(update={"taxonomy": tmp_path / "my-taxonomy.yaml"})
    config = type(config)(config.path, changed, config.sources)
    report, rows = run(config)
    assert report.processed == 4
    assert site.hits["/news/djibouti"] == page_hits
    assert rows["Dozens missing off Djibouti"]["text_status"] == "full"


def test_cli_process_and_export(runner, config):
    assert runner.invoke(cli, ["fetch", "-c", str(config.path)]).exit_code == 0
    result = runner.invoke(cli, ["process", "-c", str(config.path)])
    assert result.exit_code == 0, result.output
    assert "4 entries processed, 3 relevant" in result.stdout
    exported = runner.invoke(cli, ["articles", "export", "--relevant-only", "-c", str(config.path)])
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(lines) == 3 and all(line["relevant"] for line in lines)
    assert {"outlet", "story_id", "sentence", "matched_terms", "places"} <= set(lines[0])
    assert lines[0]["outlet"] == "Example Wire"
    later = runner.invoke(
        cli, ["articles", "export", "--since", "2026-11-26", "-c", str(config.path)]
    )
    assert later.stdout == ""
    bad = runner.invoke(cli, ["articles", "export", "--since", "yesterday", "-c", str(config.path)])
    assert bad.exit_code == 2 and "expected a date" in bad.stderr


INSPECT_KEYS = {
    "input",
    "url",
    "title",
    "published",
    "text",
    "text_status",
    "language",
    "relevant",
    "relevance_score",
    "matched_terms",
    "topics",
    "routes",
    "places",
    "org_mentions",
    "sentence",
}


def test_cli_inspect_a_file_and_a_url(runner, tmp_path, site, config):
    page = tmp_path / "page.html"
    page.write_text(ARTICLE, encoding="utf-8")
    args = ["inspect", str(page), site.url("/news/djibouti"), "--json", "-c", str(config.path)]
    result = runner.invoke(cli, [*args, "--outlet", "AFP"])
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert set(first) >= INSPECT_KEYS
    assert first["input"] == str(page) and second["input"] == site.url("/news/djibouti")
    for found in (first, second):
        assert found["relevant"] and found["text_status"] == "full"
        assert found["language"] == "en" and found["places"]["dateline"] == "DJ"
        assert found["sentence"].startswith("AFP reported that ")
    table = runner.invoke(cli, ["inspect", str(page), "-c", str(config.path)])
    assert "relevant" in table.stdout and "missing_migrants_sar" in table.stdout


def test_cli_inspect_goes_on_past_a_missing_file_and_needs_no_config(runner, tmp_path):
    page = tmp_path / "page.html"
    page.write_text(ARTICLE, encoding="utf-8")
    args = ["inspect", "nowhere.html", str(page), "--json", "--url", "https://www.dw.com/x"]
    result = runner.invoke(cli, args)  # no sources.yaml in the working directory
    assert result.exit_code == 1 and "nowhere.html" in result.stderr
    missing, found = (json.loads(line) for line in result.stdout.splitlines())
    assert missing["input"] == "nowhere.html" and "cannot read" in missing["error"]
    assert found["relevant"] and found["sentence"].startswith("DW reported that ")


def test_cli_eval_relevance(runner, tmp_path):
    labels = tmp_path / "labels.jsonl"
    rows = [
        {"title": "Migrants rescued off Libya", "text": "", "language": "en", "label": True},
        {"title": "Warblers: spring migrants", "text": "Birders count species.", "label": False},
        {"title": "Budget approved", "text": "Parks and roads.", "language": "en", "label": True},
    ]
    labels.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    result = runner.invoke(cli, ["eval", "relevance", str(labels), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)["all"]
    assert (figures["tp"], figures["fn"], figures["tn"], figures["fp"]) == (1, 1, 1, 0)
    assert figures["precision"] == 1.0 and figures["recall"] == 0.5
    table = runner.invoke(cli, ["eval", "relevance", str(labels), "--errors"])
    assert "missed" in table.stdout and "Budget approved" in table.stdout


def test_an_aggregator_item_credits_its_own_outlet():
    from aggregator.process.analyse import split_publisher
    from aggregator.sources import Source

    google = Source(name="Google News", url="https://news.google.com/rss/search?q=migrants")
    other = Source(name="The Guardian", url="https://www.theguardian.com/world/rss")
    title = "Mexico remittances drop as migrants fear deportation - Bloomberg"
    assert split_publisher(title, google) == (
        "Mexico remittances drop as migrants fear deportation",
        "Bloomberg",
    )
    assert split_publisher(title, other) == (title, None)
