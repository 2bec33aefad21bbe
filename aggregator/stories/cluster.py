"""Grouping articles into stories: one story per event, every outlet that carried it.

An article joins a story through the first layer that matches:

1. **Same article**: the same canonical URL (tracking parameters, fragment, scheme, ``www.``
   and a trailing slash ignored) or the same GUID, at any age.
2. **Same headline**: the same normalised title (case, accents, punctuation, an outlet suffix
   such as " - Reuters" or " | AP News", a wire prefix such as "UPDATE 2-" removed; four words
   at least) published within ``title_window`` (48 h).
3. **Same event**: MinHash LSH proposes live articles with similar term sets; the 24 with the
   highest MinHash estimate are verified (``match.score``) on the full sets: at least 3 terms
   in common and a Jaccard similarity of ``min_similarity`` (0.15; ``min_similarity_across``,
   0.10, between languages), published within ``window`` (3 days), no disagreeing counts in
   the text or in the headlines ("61 dead" vs "12 dead"; a round figure covers its rounding
   unit, "over 400" agrees with "412"), no disjoint place codes. The article joins the story
   of the best verified candidate. Stories are never merged afterwards, so an id once handed
   to the store stays valid.

Terms (the shingles) are the words of the cleaned title and lead, accents folded, cut to their
first five letters (so "migrants"/"migrantes", "deportation"/"deportación" meet), EN/FR/ES
stopwords dropped, plus the counts and the place codes. Measured on
``tests/fixtures/stories/events.jsonl`` (320 articles, 67 stories, EN/FR/ES, 16 pairs of
look-alike events), pairwise precision / recall / F1::

    chosen: terms, 96 permutations in 48 bands of 2 rows    P 0.988  R 0.949  F1 0.968
    the same without the count veto                         P 0.730  R 0.953  F1 0.827
    the same without the place veto                         P 0.988  R 0.949  F1 0.968
    128 permutations in 64 bands                            P 0.988  R 0.965  F1 0.976
    min_similarity 0.10 / 0.25                              F1 0.962 (P 0.975) / 0.956 (R 0.927)
    min_similarity_across 0.15                              F1 0.956 (R 0.926)
    every pair verified, no LSH, Jaccard of word unigrams   P 0.76   R 0.85   F1 0.80
      ... word 2-grams / 3-grams (best threshold, 0.05)     F1 0.63 (R 0.46) / 0.44 (R 0.28)

Word n-grams only find wire copy: rewritten ledes and translations share stems, names and
figures but few n-grams. Term Jaccard of same-event pairs: median 0.44 within a language, 0.20
across languages; of different events within the window: median 0.02, 90th percentile 0.08.
The count veto carries the precision (two shipwrecks off Libya are worded alike); the place
veto adds nothing on this set but guards articles without figures. 48 bands of 2 rows make a
pair at Jaccard 0.15 a candidate with probability 0.66, at 0.25 with 0.95; a miss costs recall
only when no other member of the story is found either. 64 bands gain 0.008 F1 and cost a
quarter more time (bench/cluster_bench.py: 100,000 articles in about 54 s with 48 bands, 65-70 s
with 64).

The story's representative is its earliest article (ties: the smaller id): for wire copy that
is usually the agency's original. A story's id is the id of the article that opened it.
"""

from __future__ import annotations

import heapq
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from aggregator.stories.match import MatchRules, Profile, score
from aggregator.stories.sketch import Buckets, Signature, SignatureTable, Sketcher
from aggregator.stories.text import compact, features, url_key

# Candidates whose MinHash estimate is this far below the threshold are not verified: at 96
# permutations the estimate's standard deviation is about 0.035 at these similarities.
ESTIMATE_MARGIN = 0.05
# At most this many candidates are verified, the most similar first: wire boilerplate can make
# hundreds of look-alikes collide, and the story's own copies are the closest of them.
MAX_VERIFIED = 24
RECENT_SIGNATURES = 1024  # kept even when not live, so a late article can be persisted


@dataclass(frozen=True, slots=True)
class ArticleForClustering:
    id: int
    url: str | None
    guid: str | None
    title: str
    text: str
    outlet: str
    published: datetime
    language: str
    places: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Story:
    id: int
    representative: int  # the earliest article
    members: tuple[int, ...]  # by publication time
    outlets: tuple[str, ...]  # each once, in the order they first carried the story
    first_seen: datetime


@dataclass(slots=True)
class _Members:
    rows: list[tuple[datetime, int, str]] = field(default_factory=list)

    def freeze(self, story_id: int) -> Story:
        rows = sorted(self.rows)
        return Story(
            id=story_id,
            representative=rows[0][1],
            members=tuple(article_id for _, article_id, _ in rows),
            outlets=tuple(dict.fromkeys(outlet for _, _, outlet in rows)),
            first_seen=rows[0][0],
        )


class StoryIndex:
    """Assigns articles to stories one at a time; rebuildable from stored rows.

    Only articles published within ``window + late`` of the newest one are kept in the LSH
    tables (an article published up to ``late`` before the newest still sees everything it
    could match), so memory and time per article stay flat however long the archive grows.
    """

    def __init__(
        self,
        *,
        window: timedelta = timedelta(days=3),
        title_window: timedelta = timedelta(hours=48),
        late: timedelta = timedelta(days=1),
        min_similarity: float = 0.15,
        min_similarity_across: float = 0.10,
        use_numbers: bool = True,
        use_places: bool = True,
        num_perm: int = 96,
        bands: int = 48,
    ) -> None:
        self.rules = MatchRules(
            window=window,
            min_similarity=min_similarity,
            min_similarity_across=min_similarity_across,
            use_numbers=use_numbers,
            use_places=use_places,
        )
        self.title_window = title_window
        self.late = late  # how far behind the newest article an arrival may still be published
        self._sketcher = Sketcher(num_perm)
        self._buckets = Buckets(num_perm, bands)
        self._table = SignatureTable(num_perm)
        self._languages: dict[str, int] = {"": -1}  # unknown language: compared as another one
        self._story_of: dict[int, int] = {}
        self._members: dict[int, _Members] = {}
        self._by_key: dict[str, int] = {}  # canonical URL or GUID -> article id
        self._by_title: dict[str, list[tuple[datetime, int]]] = {}
        self._live: dict[int, Profile] = {}
        self._recent: OrderedDict[int, bytes] = OrderedDict()
        self._expiry: list[tuple[datetime, int]] = []  # heap of live articles by published
        self._recorded: list[tuple[datetime, int, tuple[str, ...]]] = []  # all, for forget()
        self._newest: datetime | None = None

    # -- public API -------------------------------------------------------------------

    def add(self, article: ArticleForClustering) -> int:
        """Assign ``article`` to a story (an existing one or a new one); return the story id."""
        if article.id in self._story_of:  # processed again (a changed entry, new rules)
            if article.id not in self._recent:  # its signature, to store with it again
                terms = features(article.title, article.text, article.outlet, article.places)
                self._remember(
                    article.id, self._sketcher.to_bytes(self._sketcher.minhash(terms.terms))
                )
            return self._story_of[article.id]
        published = _utc(article.published)
        profile = self._profile(article, published)
        sketch = self._sketcher.minhash(profile.features.terms)
        story_id = self._known_copy(article) or self._same_title(profile)
        if story_id is None:
            story_id = self._best_candidate(profile, self._candidates(profile, sketch))
        story_id = self._new_story_id(article.id) if story_id is None else story_id
        self._record(article, published, story_id)
        signature = self._sketcher.to_bytes(sketch)
        self._index(profile, sketch)
        self._remember(article.id, signature)
        return story_id

    def story_of(self, article_id: int) -> int:
        return self._story_of[article_id]

    def stories(self) -> dict[int, tuple[int, ...]]:
        """Story id -> its article ids, by publication time."""
        return {sid: tuple(a for _, a, _ in sorted(m.rows)) for sid, m in self._members.items()}

    def story(self, story_id: int) -> Story:
        return self._members[story_id].freeze(story_id)

    def all_stories(self) -> list[Story]:
        return [members.freeze(sid) for sid, members in self._members.items()]

    def signature(self, article_id: int) -> bytes:
        """The article's MinHash signature, to store next to it (kept while it is live)."""
        found = self._recent.get(article_id)
        if found is None:
            live = self._table.get(article_id)
            if live is None:
                raise KeyError(f"no signature for article {article_id}: unknown or expired")
            found = self._sketcher.to_bytes(live)
        return found

    @classmethod
    def restore(
        cls,
        rows: Iterable[tuple[ArticleForClustering, int, bytes]],
        newest: datetime | None = None,
        **options: object,
    ) -> StoryIndex:
        """Rebuild from stored (article, story id, signature) rows; no text is hashed again.

        Give the rows of at least the last ``window + late``; older rows are welcome (their URLs
        and story membership are kept) but are not indexed for matching. With ``newest``, the
        rows are streamed in publication order (see :meth:`absorb`).
        """
        index = cls(**options)  # type: ignore[arg-type]
        index.absorb(rows, newest)
        return index

    def absorb(
        self,
        rows: Iterable[tuple[ArticleForClustering, int, bytes]],
        newest: datetime | None = None,
    ) -> None:
        """Take in stored rows (another process clustered them, or a restore): articles
        already known are skipped, the others keep the story the row gives. Given the
        newest publication time among them, the rows are taken as they come (a stream in
        publication order); otherwise they are gathered and sorted first."""
        if newest is None:
            ordered = sorted(rows, key=lambda row: (_utc(row[0].published), row[0].id))
            if not ordered:
                return
            rows, newest = ordered, ordered[-1][0].published
        newest = max(_utc(newest), self._newest) if self._newest else _utc(newest)
        for article, story_id, signature in rows:
            if article.id in self._story_of:
                continue
            published = _utc(article.published)
            self._record(article, published, story_id)
            self._remember(article.id, signature)
            if self._is_live(published, newest):
                sketch = self._sketcher.from_bytes(signature)
                self._index(self._profile(article, published), sketch)

    def forget(self, before: datetime) -> None:
        """Drop what is known of articles published before ``before`` that are no longer
        live, so an index kept between runs holds the days a restored one would."""
        cutoff, kept = _utc(before), []
        gone: dict[int, set[int]] = {}  # story id -> its forgotten articles
        while self._recorded and self._recorded[0][0] < cutoff:
            entry = heapq.heappop(self._recorded)
            _, article_id, keys = entry
            if article_id in self._live:
                kept.append(entry)  # still matchable: forgotten once it has expired
                continue
            gone.setdefault(self._story_of.pop(article_id), set()).add(article_id)
            for key in keys:
                if self._by_key.get(key) == article_id:
                    del self._by_key[key]
        for entry in kept:
            heapq.heappush(self._recorded, entry)
        for story_id, articles in gone.items():  # one pass per story, however large
            members = self._members[story_id]
            members.rows = [row for row in members.rows if row[1] not in articles]
            if not members.rows:
                del self._members[story_id]

    def __len__(self) -> int:
        """How many articles the index knows (live or not)."""
        return len(self._story_of)

    # -- the layers ---------------------------------------------------------------------

    def _known_copy(self, article: ArticleForClustering) -> int | None:
        for key in _identity_keys(article):
            if key in self._by_key:
                return self._story_of[self._by_key[key]]
        return None

    def _same_title(self, profile: Profile) -> int | None:
        key = profile.features.title_key
        for published, article_id in self._by_title.get(key, []) if key else []:
            if abs(published - profile.published) <= self.title_window:
                return self._story_of[article_id]
        return None

    def _candidates(self, profile: Profile, sketch: Signature) -> list[int]:
        found = self._buckets.query(sketch)
        if not found:
            return found
        floors = (
            self.rules.min_similarity - ESTIMATE_MARGIN,
            self.rules.min_similarity_across - ESTIMATE_MARGIN,
        )
        group = self._language_code(profile.language)
        return self._table.closest(found, sketch, group, floors, MAX_VERIFIED)

    def _language_code(self, language: str) -> int:
        return self._languages.setdefault(language, len(self._languages))

    def _best_candidate(self, profile: Profile, candidates: list[int]) -> int | None:
        best: tuple[float, int] | None = None
        for article_id in candidates:
            similarity = score(profile, self._live[article_id], self.rules)
            if similarity is None:
                continue
            story_id = self._story_of[article_id]
            if best is None or (similarity, -story_id) > (best[0], -best[1]):
                best = (similarity, story_id)
        return best[1] if best else None

    # -- bookkeeping --------------------------------------------------------------------

    def _profile(self, article: ArticleForClustering, published: datetime) -> Profile:
        found = features(article.title, article.text, article.outlet, article.places)
        places = frozenset(code.upper() for code in article.places)
        language = article.language.lower().split("-")[0]
        return Profile(article.id, published, language, found, places)

    @staticmethod
    def _new_story_id(article_id: int) -> int:
        # The opener's id: unique, and stable whichever process opens the story. Were a
        # story of that id known already, the article opened it before (it was forgotten
        # since): it rejoins its own story.
        return article_id

    def _record(self, article: ArticleForClustering, published: datetime, story_id: int) -> None:
        self._story_of[article.id] = story_id
        self._members.setdefault(story_id, _Members()).rows.append(
            (published, article.id, article.outlet)
        )
        keys = _identity_keys(article)
        for key in keys:
            self._by_key[key] = article.id  # the newest holder: forget() keeps it longest
        heapq.heappush(self._recorded, (published, article.id, tuple(keys)))

    def _index(self, profile: Profile, sketch: Signature) -> None:
        if self._newest is None or profile.published > self._newest:
            self._newest = profile.published
        self._expire()
        if not self._is_live(profile.published, self._newest):
            return
        self._live[profile.article_id] = replace(profile, features=compact(profile.features))
        row = self._table.put(profile.article_id, sketch, self._language_code(profile.language))
        self._buckets.insert(row, sketch)
        if profile.features.title_key:
            self._by_title.setdefault(profile.features.title_key, []).append(
                (profile.published, profile.article_id)
            )
        heapq.heappush(self._expiry, (profile.published, profile.article_id))

    def _remember(self, article_id: int, signature: bytes) -> None:
        self._recent[article_id] = signature
        if len(self._recent) > RECENT_SIGNATURES:
            self._recent.popitem(last=False)

    def _is_live(self, published: datetime, newest: datetime) -> bool:
        return published >= _utc(newest) - self.rules.window - self.late

    def _expire(self) -> None:
        assert self._newest is not None
        while self._expiry and not self._is_live(self._expiry[0][0], self._newest):
            _, article_id = heapq.heappop(self._expiry)
            profile = self._live.pop(article_id)
            row = self._table.drop(article_id)
            if row is not None:
                self._buckets.remove(row)
            self._drop_title(profile)

    def _drop_title(self, profile: Profile) -> None:
        key = profile.features.title_key
        if not key:
            return
        kept = [row for row in self._by_title[key] if row[1] != profile.article_id]
        if kept:
            self._by_title[key] = kept
        else:
            del self._by_title[key]


def cluster(articles: Iterable[ArticleForClustering], **options: object) -> StoryIndex:
    """Batch clustering: the articles in publication order, through one new index."""
    index = StoryIndex(**options)  # type: ignore[arg-type]
    for article in sorted(articles, key=lambda a: (_utc(a.published), a.id)):
        index.add(article)
    return index


def pairwise_scores(
    predicted: Mapping[int, int], gold: Mapping[int, int]
) -> tuple[float, float, float]:
    """Precision, recall and F1 over pairs of articles (article id -> cluster id maps).

    Pairs are counted over the articles of ``gold``; each needs a predicted cluster. With no
    predicted pair precision is 1.0, with no gold pair recall is 1.0.
    """
    missing = [article_id for article_id in gold if article_id not in predicted]
    if missing:
        raise ValueError(f"{len(missing)} gold articles have no prediction, e.g. {missing[0]}")
    both = Counter((predicted[a], gold[a]) for a in gold)
    true_pairs = sum(_pairs(n) for n in both.values())
    predicted_pairs = sum(_pairs(n) for n in Counter(predicted[a] for a in gold).values())
    gold_pairs = sum(_pairs(n) for n in Counter(gold.values()).values())
    precision = true_pairs / predicted_pairs if predicted_pairs else 1.0
    recall = true_pairs / gold_pairs if gold_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def _identity_keys(article: ArticleForClustering) -> list[str]:
    keys = [f"url:{key}" for key in [url_key(article.url)] if key]
    if article.guid and article.guid.strip():
        keys.append(f"guid:{article.guid.strip()}")
    return keys


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


__all__ = [
    "ArticleForClustering",
    "Story",
    "StoryIndex",
    "cluster",
    "pairwise_scores",
]
