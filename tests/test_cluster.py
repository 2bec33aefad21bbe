"""Story clustering: labelled EN/FR/ES events, look-alike events, incremental use, restore."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.stories import ArticleForClustering, StoryIndex, cluster, pairwise_scores
from aggregator.stories.match import numbers_conflict
from aggregator.stories.text import clean_title, features, title_key, url_key

EVENTS = Path(__file__).parent / "fixtures" / "stories" / "events.jsonl"
T0 = datetime(2025, 5, 5, 8, 0, tzinfo=UTC)

# Gold stories that look alike (same kind of event, same region, days apart) and must stay apart.
LOOKALIKES = [
    (1, 2, "two shipwrecks off Libya, 61 and 12 dead"),
    (1, 63, "a shipwreck and coast guard interceptions off Libya"),
    (3, 4, "mass arrivals and a capsizing at Lampedusa"),
    (5, 6, "bodies recovered off Sfax, camps cleared near Sfax"),
    (7, 8, "two boats reaching the Canary Islands"),
    (9, 10, "two Rohingya boats landing in Aceh"),
    (15, 16, "rescue off Crete, deaths off Lesbos"),
    (19, 20, "deportation flights to Guatemala and Honduras"),
    (19, 62, "deportation flights to Guatemala and Venezuela"),
    (21, 22, "German deportation flights to Afghanistan and Iraq"),
    (23, 24, "two caravans leaving southern Mexico"),
    (34, 64, "a transfer to Albania and a court freeing migrants held there"),
    (25, 61, "Darien crossings falling and a deportation flight from Panama"),
    (46, 47, "Sudanese arrivals in Chad and ration cuts in Chad"),
    (48, 49, "fire in a Rohingya camp and the Rohingya funding appeal"),
    (59, 67, "expulsions to Niger and returns from Niger"),
]


def load_events() -> tuple[list[ArticleForClustering], dict[int, int]]:
    articles, gold = [], {}
    for line in EVENTS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        articles.append(
            ArticleForClustering(
                id=row["id"],
                url=row["url"],
                guid=None,
                title=row["title"],
                text=row["text"],
                outlet=row["outlet"],
                published=datetime.fromisoformat(row["published"].replace("Z", "+00:00")),
                language=row["language"],
                places=tuple(row["places"]),
            )
        )
        gold[row["id"]] = row["story"]
    return articles, gold


@pytest.fixture(scope="module")
def events() -> tuple[list[ArticleForClustering], dict[int, int]]:
    return load_events()


@pytest.fixture(scope="module")
def batch(events: tuple[list[ArticleForClustering], dict[int, int]]) -> StoryIndex:
    return cluster(events[0])


def assignments(index: StoryIndex, articles: list[ArticleForClustering]) -> dict[int, int]:
    return {article.id: index.story_of(article.id) for article in articles}


def by_time(articles: list[ArticleForClustering]) -> list[ArticleForClustering]:
    return sorted(articles, key=lambda a: (a.published, a.id))


def article(article_id: int, title: str, text: str = "", **fields: object) -> ArticleForClustering:
    values: dict[object, object] = {
        "url": f"https://example.org/{article_id}",
        "guid": None,
        "outlet": "Outlet",
        "published": T0,
        "language": "en",
        "places": (),
        **fields,
    }
    return ArticleForClustering(article_id, title=title, text=text, **values)  # type: ignore[arg-type]


# -- the labelled events ------------------------------------------------------------------


def test_fixture_is_large_and_multilingual(events):
    articles, gold = events
    assert len(articles) >= 300
    assert len(set(gold.values())) >= 60
    assert {a.language for a in articles} == {"en", "fr", "es"}


def test_pairwise_f1_on_labelled_events(events, batch):
    articles, gold = events
    precision, recall, f1 = pairwise_scores(assignments(batch, articles), gold)
    assert f1 >= 0.85, (precision, recall, f1)
    assert precision >= 0.9


@pytest.mark.parametrize(("first", "second", "what"), LOOKALIKES)
def test_lookalike_events_stay_apart(events, batch, first, second, what):
    articles, gold = events
    stories_of = defaultdict(set)
    for a in articles:
        stories_of[gold[a.id]].add(batch.story_of(a.id))
    assert stories_of[first].isdisjoint(stories_of[second]), what


def test_channel_deaths_two_days_apart_keep_their_wire_originals_apart(events, batch):
    # A follow-up citing both incidents may join either; the originals may not meet.
    articles, gold = events
    originals = [
        min((a for a in articles if gold[a.id] == g), key=lambda a: a.published) for g in (11, 12)
    ]
    assert batch.story_of(originals[0].id) != batch.story_of(originals[1].id)


def test_translations_join_the_wire_story(events, batch):
    articles, gold = events
    wreck = [a for a in articles if gold[a.id] == 1]
    languages = {a.language for a in wreck if batch.story_of(a.id) == batch.story_of(wreck[0].id)}
    assert languages == {"en", "fr", "es"}


def test_fixture_url_duplicates_join_their_original(events, batch):
    articles, _ = events
    first_by_url: dict[str, int] = {}
    duplicates = 0
    for a in by_time(articles):
        key = url_key(a.url)
        assert key is not None
        if key in first_by_url:
            duplicates += 1
            assert batch.story_of(a.id) == batch.story_of(first_by_url[key])
        first_by_url.setdefault(key, a.id)
    assert duplicates >= 5


# -- incremental use and restore --------------------------------------------------------


def test_incremental_runs_give_the_batch_result(events, batch):
    articles, _ = events
    index = StoryIndex()
    ordered = by_time(articles)
    for start in range(0, len(ordered), 37):  # a fetch run brings a few dozen articles
        for a in ordered[start : start + 37]:
            index.add(a)
    assert index.stories() == batch.stories()


def test_arrival_order_within_a_day_barely_matters(events):
    articles, gold = events
    rng = random.Random(3)
    by_day: dict[object, list[ArticleForClustering]] = defaultdict(list)
    for a in articles:
        by_day[a.published.date()].append(a)
    index = StoryIndex()
    for day in sorted(by_day):
        todays = by_day[day]
        rng.shuffle(todays)
        for a in todays:
            index.add(a)
    assert pairwise_scores(assignments(index, articles), gold)[2] >= 0.85


def test_restore_from_signatures_continues_like_the_original(events):
    articles, _ = events
    ordered = by_time(articles)
    first, rest = ordered[:160], ordered[160:]
    original = StoryIndex()
    rows = [(a, original.add(a), original.signature(a.id)) for a in first]
    restored = StoryIndex.restore(rows)
    assert restored.stories() == original.stories()
    for a in rest:
        assert restored.add(a) == original.add(a)
    assert restored.stories() == original.stories()


def test_restore_uses_the_stored_signatures(events):
    articles, _ = events
    ordered = by_time(articles)[:40]
    original = StoryIndex()
    rows = [(a, original.add(a), original.signature(a.id)) for a in ordered]
    restored = StoryIndex.restore(rows)
    assert all(restored.signature(a.id) == sig for a, _, sig in rows)
    with pytest.raises(ValueError, match="signature"):
        StoryIndex.restore([(ordered[0], ordered[0].id, b"\x00" * 7)])


def test_restore_keeps_story_ids_given_by_the_store():
    wreck = article(1, "At least 61 migrants drown off Libya", "The boat sank off Zuwara.")
    index = StoryIndex()
    index.add(wreck)
    restored = StoryIndex.restore([(wreck, 900, index.signature(1))])
    copy = replace(wreck, id=2, url="https://other.example/2", outlet="Other")
    assert restored.add(copy) == 900
    fresh = article(3, "Court blocks the Rwanda scheme", "Judges ruled on appeal in London.")
    assert restored.add(fresh) == 3


def test_signature_is_bytes_of_num_perm_values():
    index = StoryIndex(num_perm=64, bands=32)
    index.add(article(1, "Migrants rescued off Lampedusa", "Forty people were rescued."))
    assert len(index.signature(1)) == 64 * 4
    with pytest.raises(KeyError):
        index.signature(2)


def test_old_articles_leave_the_window_but_keep_their_story():
    index = StoryIndex(window=timedelta(days=3), late=timedelta(days=1))
    index.add(article(1, "Boat with 61 migrants sinks off Zuwara in Libya", "IOM said 61 died."))
    for day in range(1, 12):
        index.add(
            article(
                day + 1,
                f"Council meeting number {day} on housing",
                f"Topic {day}",
                published=T0 + timedelta(days=day),
            )
        )
    assert index.story_of(1) == 1
    late_copy = article(
        99,
        "Boat with 61 migrants sinks off Zuwara in Libya",
        "IOM said 61 died.",
        url="https://other.example/99",
        published=T0 + timedelta(days=11),
    )
    assert index.add(late_copy) == 99  # eleven days later it is news again, not the same story


# -- the layers -------------------------------------------------------------------------


def test_same_url_variants_are_one_story():
    index = StoryIndex()
    first = article(1, "Migrants rescued off Lampedusa", url="https://www.example.org/a/1/")
    again = article(
        2,
        "Completely different headline after an edit",
        url="http://example.org/a/1?utm_source=rss#comments",
        published=T0 + timedelta(days=20),
    )
    assert index.add(first) == index.add(again) == 1


def test_same_guid_is_one_story():
    index = StoryIndex()
    index.add(article(1, "Caravan leaves Tapachula", guid="tag:wire,2025:123", url=None))
    other = article(2, "Update on the caravan", guid="tag:wire,2025:123", url=None)
    assert index.add(other) == 1


def test_same_title_from_other_outlets_within_48_hours():
    index = StoryIndex()
    title = "Greek coast guard rescues 442 migrants south of Crete"
    index.add(article(1, f"{title} - Reuters", "Lede one.", outlet="Reuters"))
    later = T0 + timedelta(hours=30)
    assert (
        index.add(article(2, f"{title} | AP News", "Lede two.", outlet="AP", published=later)) == 1
    )
    week = T0 + timedelta(days=5)
    assert index.add(article(3, title, "Another lede.", outlet="AFP", published=week)) == 3


def test_short_titles_do_not_match_on_title_alone():
    index = StoryIndex()
    index.add(article(1, "Live updates", "Boats arrive at Lampedusa after a calm night at sea."))
    other = article(2, "Live updates", "A court in Berlin ruled on border rejections today.")
    assert index.add(other) == 2


def test_disagreeing_tolls_split_otherwise_identical_copy():
    index = StoryIndex()
    text = "migrants drowned when their dinghy sank off Zuwara in western Libya, the IOM said."
    index.add(article(1, "61 migrants drown off Libya", f"At least 61 {text}", places=("LY",)))
    other = article(2, "12 migrants drown off Libya", f"At least 12 {text}", places=("LY",))
    assert index.add(other) == 2


def test_disjoint_places_split_otherwise_identical_copy():
    index = StoryIndex()
    text = "A deportation flight carrying deported nationals landed on Wednesday, officials said."
    index.add(article(1, "Deportation flight lands", text, places=("GT",)))
    assert index.add(article(2, "Deportation flight lands today", text, places=("HN",))) == 2
    assert index.add(article(3, "Deportation flight landed", text, places=("GT", "US"))) == 1


def test_representative_outlets_and_first_seen():
    index = StoryIndex()
    lede = "At least 61 migrants drowned off Zuwara in Libya, the IOM said on Monday."
    index.add(article(5, "61 migrants drown off Libya", lede, outlet="AP", published=T0))
    index.add(
        article(
            4,
            "61 migrants drown off Libya - AFP",
            lede,
            outlet="AFP",
            published=T0 - timedelta(hours=2),
        )
    )
    index.add(
        article(6, "Libya shipwreck: 61 dead", lede, outlet="AP", published=T0 + timedelta(hours=1))
    )
    story = index.story(5)
    assert story.members == (4, 5, 6)
    assert story.representative == 4
    assert story.outlets == ("AFP", "AP")
    assert story.first_seen == T0 - timedelta(hours=2)
    assert index.stories() == {5: (4, 5, 6)}


def test_adding_an_article_twice_returns_its_story():
    index = StoryIndex()
    first = article(1, "Migrants rescued off Lampedusa")
    assert index.add(first) == index.add(first) == 1
    assert index.stories() == {1: (1,)}


# -- text features ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "outlet", "expected"),
    [
        ("Boat sinks off Libya - Reuters", "Reuters", "Boat sinks off Libya"),
        ("Boat sinks off Libya | AP News", "AP", "Boat sinks off Libya"),
        ("UPDATE 2-Boat sinks off Libya", "Reuters", "Boat sinks off Libya"),
        ("Boat sinks off Libya (updated)", "X", "Boat sinks off Libya"),
        ("Libya: boat sinks - a survivor's story", "X", "Libya: boat sinks - a survivor's story"),
    ],
)
def test_clean_title(raw, outlet, expected):
    assert clean_title(raw, outlet) == expected


def test_title_key_folds_case_accents_and_punctuation():
    assert title_key("Naufrage au large de Sfax : 27 morts") == title_key(
        "NAUFRAGE au large de SFAX, 27 morts!"
    )
    assert title_key("Méditerranée : un drame à Lampedusa") == "mediterranee un drame a lampedusa"
    assert title_key("Live updates") == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("More than 1,500 arrived", {1500.0}),
        ("Plus de 1 500 arrivées", {1500.0}),
        ("Más de 1.500 llegadas", {1500.0}),
        ("Quatre-vingt-trois personnes", {83.0}),
        ("Twenty-five survivors and nine missing", {25.0, 9.0}),
        ("$685 billion", {685e9}),
        ("685.000 millones de dólares", {685e9}),
        ("83,4 millions de déplacés", {83.4e6}),
        ("on 3 May 2025, one of the deadliest", set()),
    ],
)
def test_numbers_in_three_languages(text, expected):
    assert features(text, "", "", ()).numbers == expected


def test_round_figures_agree_with_precise_counts():
    assert not numbers_conflict({400.0}, {412.0})
    assert not numbers_conflict({1100.0}, {1195.0})
    assert numbers_conflict({61.0}, {12.0})
    assert numbers_conflict({1000.0}, {1500.0})
    assert not numbers_conflict(set(), {12.0})


def test_url_key_ignores_tracking_scheme_www_and_slash():
    assert url_key("https://www.example.org/a/?utm_source=x#top") == url_key("http://example.org/a")
    assert url_key("https://example.org/a?id=2") != url_key("https://example.org/a?id=3")
    assert url_key("mailto:someone@example.org") is None
    assert url_key(None) is None


# -- the score ----------------------------------------------------------------------------


def test_pairwise_scores_on_a_small_example():
    gold = {1: 1, 2: 1, 3: 1, 4: 2, 5: 2}
    predicted = {1: 10, 2: 10, 3: 20, 4: 20, 5: 20}
    precision, recall, f1 = pairwise_scores(predicted, gold)
    assert precision == pytest.approx(2 / 4)  # true pairs (1,2) and (4,5) of 4 predicted pairs
    assert recall == pytest.approx(2 / 4)
    assert f1 == pytest.approx(0.5)


def test_pairwise_scores_needs_a_prediction_for_every_gold_article():
    with pytest.raises(ValueError, match="no prediction"):
        pairwise_scores({1: 1}, {1: 1, 2: 1})


@given(st.dictionaries(st.integers(0, 50), st.integers(0, 5), min_size=1))
def test_pairwise_scores_of_gold_itself_is_perfect(gold):
    relabelled = {article_id: story + 100 for article_id, story in gold.items()}
    assert pairwise_scores(relabelled, gold) == (1.0, 1.0, 1.0)


@given(st.dictionaries(st.integers(0, 50), st.integers(0, 5), min_size=2))
def test_pairwise_scores_are_between_zero_and_one(gold):
    singletons = {article_id: article_id for article_id in gold}
    precision, recall, f1 = pairwise_scores(singletons, gold)
    assert precision == 1.0
    assert 0.0 <= recall <= 1.0 and 0.0 <= f1 <= 1.0


def test_a_shared_background_figure_does_not_join_two_shipwrecks():
    background = " More than 1,400 people have died on the route this year, IOM says."
    first = ArticleForClustering(
        1, "https://a.example/1", None, "Boat capsizes off Lampedusa",
        "At least 27 people drowned when a boat carrying migrants capsized off Lampedusa in"
        " the central Mediterranean on Monday, rescuers said." + background,
        "The Guardian", datetime(2026, 11, 24, 9, tzinfo=UTC), "en", ("IT", "LY"),
    )  # fmt: skip
    second = ArticleForClustering(
        2, "https://b.example/2", None, "Boat capsizes off Zuwara",
        "At least 61 people are missing after a boat carrying migrants capsized off Zuwara in"
        " the central Mediterranean on Tuesday, rescuers said." + background,
        "IOM", datetime(2026, 11, 25, 9, tzinfo=UTC), "en", ("LY",),
    )  # fmt: skip
    index = StoryIndex()
    assert index.add(first) != index.add(second)


# --- the signatures and the band index -----------------------------------------------------


def test_signatures_equal_datasketch_affine32_value_for_value():
    import zlib

    from datasketch import MinHash

    from aggregator.stories.sketch import SEED, Sketcher

    sketcher = Sketcher(96)
    rng = random.Random(7)
    for size in (1, 3, 40, 300):
        terms = {f"t{rng.randrange(10**6)}" for _ in range(size)}
        reference = MinHash(num_perm=96, seed=SEED, hashfunc=zlib.crc32, scheme="affine32")
        reference.update_batch([t.encode() for t in terms])
        ours = sketcher.minhash(sorted(terms))
        assert ours.tolist() == reference.hashvalues.tolist()
        assert sketcher.from_bytes(sketcher.to_bytes(ours)).tolist() == ours.tolist()
    empty = MinHash(num_perm=96, seed=SEED, hashfunc=zlib.crc32, scheme="affine32")
    assert sketcher.minhash([]).tolist() == empty.hashvalues.tolist()


def test_buckets_find_rows_sharing_a_band_and_forget_removed_ones():
    from aggregator.stories.sketch import Buckets, Sketcher

    sketcher, buckets = Sketcher(96), Buckets(96, 48)
    base = [f"w{i}" for i in range(30)]
    signatures = {row: sketcher.minhash(base[:20] + [f"r{row}-{i}" for i in range(10)])
                  for row in range(10000)}  # fmt: skip
    for row, signature in signatures.items():  # spans two sealed segments and the buffer
        buckets.insert(row, signature)
    probe = sketcher.minhash(base)
    found = set(buckets.query(probe))
    shares_a_band = {
        row for row, sig in signatures.items()
        if (sig.reshape(48, 2) == probe.reshape(48, 2)).all(axis=1).any()
    }  # fmt: skip
    assert found == shares_a_band and len(found) > 100
    unrelated = sketcher.minhash([f"x{i}" for i in range(30)])
    assert buckets.query(unrelated) == []

    gone = sorted(found)[:50]
    for row in gone:
        buckets.remove(row)
    assert set(buckets.query(probe)) == found - set(gone)
    buckets.insert(gone[0], unrelated)  # a reused row answers for its new signature only
    assert gone[0] not in buckets.query(probe)
    assert buckets.query(unrelated) == [gone[0]]


def test_buckets_drop_a_removed_row_still_in_the_buffer():
    from aggregator.stories.sketch import Buckets, Sketcher

    sketcher, buckets = Sketcher(96), Buckets(96, 48)
    story = sketcher.minhash(["migrants", "rescued", "lampedusa"])
    other = sketcher.minhash(["court", "ruling", "rwanda"])
    buckets.insert(1, story)
    buckets.insert(2, story)
    buckets.remove(1)
    buckets.insert(1, other)  # row 1 reused at once, before any sealing
    assert buckets.query(story) == [2]
    assert buckets.query(other) == [1]
