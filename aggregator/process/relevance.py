"""Is an item about migration, why, what about, and along which route.

The rule, with the weights in the taxonomy's ``scoring`` block:

1. Every core word and topic keyword found counts its weight: in the title ``title_weight``,
   in the first ``lead_words`` words of the text 1.0, further down ``body_weight``. A phrase
   counts once, where it weighs most.
2. An ambiguous term counts only with context within ``window`` words of the same field
   (anywhere in a title): 0.7 times its weight next to a core word, a keyword, a context word
   ("bound for", "nationals", "IOM") or a route; 0.35 times next to a mere people word
   ("people", "passengers", "families"). People words alone never make an item relevant:
   it needs a core word, a keyword, an ambiguous term with real context (an anchor), or
   ambiguous terms of two topics ("fled" and "border": displacement and border crossing).
3. Each trap phrase (birds, databases, football ...) subtracts ``trap_weight`` times its
   positional weight, and so does a trap section in the URL path ("/sport/").
4. Relevant when the score reaches ``threshold``, unless vetoed: ``veto_traps`` trap phrases
   or more, no topic keyword, and more traps than core words ("refugees from Twitter flock
   to Bluesky", "spring migrants: birders count 20 species of warblers").

A trusted source's items are relevant whatever the score; a source's ``exclude`` phrases
reject an item and its ``include`` phrases, when given, must match. Topics and routes are
reported for relevant items only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from urllib.parse import urlsplit

from aggregator.process.matcher import Hit, PhraseIndex, Tokens, is_case_sensitive, tokenize
from aggregator.process.taxonomy import Scoring, Taxonomy

MAX_WORDS = 1500  # deeper than this a hit would weigh next to nothing
LEDE_WORDS = 40  # a title's ambiguous terms may find their context this far into the text
AMBIGUOUS_WEIGHT = 0.7
PEOPLE_WEIGHT = 0.35
TOPIC_MIN = 0.7
MAX_TOPICS = 5


class Role(StrEnum):
    CORE = "core"
    KEYWORD = "keyword"
    AMBIGUOUS = "ambiguous"
    CONTEXT = "context"
    PEOPLE = "people"  # generic people words: weak context
    TRAP = "trap"
    ROUTE = "route"
    NEUTRAL = "neutral"  # hides the shorter terms inside it ("se trata de"), weighs nothing


@dataclass(frozen=True, slots=True)
class Term:
    phrase: str
    role: Role
    group: str | None = None  # topic, trap family or route id


@dataclass(frozen=True, slots=True)
class Match:
    """One taxonomy phrase found in the item: the explanation of a decision."""

    term: str  # as listed in the taxonomy
    text: str  # as written in the item
    role: Role
    group: str | None
    where: str  # "title", "lead" or "body"
    weight: float  # what it added to (or, for traps, took from) the score; 0 if not counted
    anchor: bool = False  # evidence of human mobility on its own (see the module's rule 2)

    def as_dict(self) -> dict[str, object]:
        return {
            "term": self.term,
            "text": self.text,
            "kind": self.role.value,
            "group": self.group,
            "where": self.where,
            "weight": round(self.weight, 2),
        }


@dataclass(frozen=True, slots=True)
class Relevance:
    relevant: bool
    score: float
    reason: str
    matches: tuple[Match, ...]
    topics: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()

    @property
    def traps(self) -> tuple[Match, ...]:
        return tuple(m for m in self.matches if m.role is Role.TRAP)


@dataclass(frozen=True, slots=True)
class Rules:
    """A source's own settings that bear on relevance."""

    trusted: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


class Classifier:
    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self.scoring: Scoring = taxonomy.scoring
        self.index: PhraseIndex[Term] = _build_index(taxonomy)
        # Routes are matched apart: "Rohingya boat" tags a route and leaves "boat" its sense.
        self.routes: PhraseIndex[Term] = PhraseIndex()
        for route in taxonomy.routes:
            for phrase in route.aliases:
                self.routes.add(phrase, Term(phrase, Role.ROUTE, route.id))
        self._sections = tuple(s.strip("/").casefold() for s in taxonomy.trap_sections)

    def classify(
        self, title: str, text: str, *, url: str | None = None, rules: Rules | None = None
    ) -> Relevance:
        rules = rules or Rules()
        title_tokens, text_tokens = tokenize(title), tokenize(text, MAX_WORDS)
        text_hits = self._scan(text_tokens)
        lede = [h for h in text_hits if h.start < LEDE_WORDS]
        title_hits = self._scan(title_tokens)
        matches = self._field("title", title, title_tokens, title_hits, lede)
        matches += self._field("text", text, text_tokens, text_hits, [])
        matches += self._section_trap(url)
        matches = _distinct(matches)
        score = sum(m.weight for m in matches if m.role is not Role.TRAP) - sum(
            m.weight for m in matches if m.role is Role.TRAP
        )
        relevant, reason = self._decide(matches, score)
        relevant, reason = _apply_rules(rules, relevant, reason, title, text)
        if not relevant:
            return Relevance(False, round(score, 3), reason, tuple(matches))
        return Relevance(
            True, round(score, 3), reason, tuple(matches), _topics(matches), _routes(matches)
        )

    def _scan(self, tokens: Tokens) -> list[Hit[Term]]:
        return self.index.scan(tokens) + self.routes.scan(tokens)

    def _decide(self, matches: list[Match], score: float) -> tuple[bool, str]:
        counted = [m for m in matches if m.weight > 0 and m.role is not Role.TRAP]
        traps = [m for m in matches if m.role is Role.TRAP]
        keywords = [m for m in counted if m.role is Role.KEYWORD]
        core = [m for m in counted if m.role is Role.CORE]
        if len(traps) >= self.scoring.veto_traps and not keywords and len(traps) > len(core):
            families = sorted({m.group or "" for m in traps})
            return False, f"vetoed: {len(traps)} trap terms ({', '.join(families)})"
        topics = {m.group for m in counted if m.role is Role.AMBIGUOUS}
        anchored = any(m.anchor for m in counted) or len(topics) >= 2
        if score >= self.scoring.threshold and not anchored:
            return False, "only ambiguous terms of one topic next to generic people words"
        if score >= self.scoring.threshold:
            terms = ", ".join(dict.fromkeys(m.term for m in counted))
            return True, f"score {score:.2f} >= {self.scoring.threshold}: {terms}"
        if not counted:
            weak = sorted({m.term for m in matches if m.role is Role.AMBIGUOUS})
            if weak:
                return False, f"ambiguous terms without context: {', '.join(weak)}"
            return False, "no migration term"
        return False, f"score {score:.2f} < {self.scoring.threshold}"

    def _field(
        self, name: str, text: str, tokens: Tokens, hits: list[Hit[Term]], lede: list[Hit[Term]]
    ) -> list[Match]:
        """Matches of one field; a title's ambiguous terms may take context from the lede."""
        near = _positions(hits, _SENSE), _positions(hits, (Role.PEOPLE,))
        if _positions(lede, _SENSE):
            near = ([*near[0], -1], near[1])  # -1: "somewhere in the lede", always in reach
        elif _positions(lede, (Role.PEOPLE,)):
            near = (near[0], [*near[1], -1])
        return [m for hit in hits for m in self._matches(name, text, tokens, hit, near)]

    def _matches(
        self,
        name: str,
        text: str,
        tokens: Tokens,
        hit: Hit[Term],
        near: tuple[list[int], list[int]],
    ) -> list[Match]:
        where, weight = self._position(name, hit.start)
        written = tokens.span(text, hit.start, hit.end)
        found = []
        for term in hit.values:
            if term.role in (Role.CONTEXT, Role.NEUTRAL, Role.PEOPLE):
                continue
            counted = 0.0 if term.role is Role.ROUTE else weight
            anchor = term.role in (Role.CORE, Role.KEYWORD)
            if term.role is Role.AMBIGUOUS:
                whole = name == "title"
                anchor = self._near(hit, near[0], whole)
                factor = AMBIGUOUS_WEIGHT if anchor else PEOPLE_WEIGHT
                counted = weight * factor if anchor or self._near(hit, near[1], whole) else 0.0
            elif term.role is Role.TRAP:
                counted = weight * self.scoring.trap_weight
            found.append(Match(term.phrase, written, term.role, term.group, where, counted, anchor))
        return found

    def _position(self, name: str, start: int) -> tuple[str, float]:
        if name == "title":
            return "title", self.scoring.title_weight
        if start < self.scoring.lead_words:
            return "lead", 1.0
        return "body", self.scoring.body_weight

    def _near(self, hit: Hit[Term], near: list[int], whole: bool) -> bool:
        """One of ``near`` within the window (anywhere, in a title)."""
        window = self.scoring.window
        return any(
            p != hit.start and (whole or hit.start - window <= p <= hit.end + window) for p in near
        )

    def _section_trap(self, url: str | None) -> list[Match]:
        if not url or not self._sections:
            return []
        path = urlsplit(url).path.casefold().strip("/")
        segments = "/" + path + "/"
        for section in self._sections:
            if f"/{section}/" in segments:
                weight = self.scoring.trap_weight
                return [Match(section, url, Role.TRAP, "section", "url", weight)]
        return []


def _build_index(taxonomy: Taxonomy) -> PhraseIndex[Term]:
    """Every phrase once per meaning: a keyword outranks the same phrase listed as core, and
    both outrank it as ambiguous (one phrase must not count twice)."""
    index: PhraseIndex[Term] = PhraseIndex()
    core_topic = {p: tid for tid, phrases in taxonomy.core_topics.items() for p in phrases}
    evidence: dict[str, Term] = {}
    for topic in taxonomy.topics:
        for _, phrase in topic.keywords.items():
            evidence.setdefault(_key(phrase), Term(phrase, Role.KEYWORD, topic.id))
    for _, phrase in taxonomy.core.items():
        evidence.setdefault(_key(phrase), Term(phrase, Role.CORE, core_topic.get(phrase)))
    for topic in taxonomy.topics:
        for _, phrase in topic.ambiguous.items():
            evidence.setdefault(_key(phrase), Term(phrase, Role.AMBIGUOUS, topic.id))
    for term in evidence.values():
        index.add(term.phrase, term)
    for role, lists in ((Role.CONTEXT, taxonomy.context), (Role.PEOPLE, taxonomy.people)):
        for _, phrase in lists.items():
            index.add(phrase, Term(phrase, role))
    for trap in taxonomy.traps:
        for _, phrase in trap.terms.items():
            index.add(phrase, Term(phrase, Role.TRAP, trap.id))
    for _, phrase in taxonomy.neutral.items():
        index.add(phrase, Term(phrase, Role.NEUTRAL))
    return index


def _key(phrase: str) -> str:
    tokens = tokenize(phrase)
    return " ".join(tokens.raw if is_case_sensitive(phrase) else tokens.folded)


_SENSE = (Role.CORE, Role.KEYWORD, Role.CONTEXT, Role.ROUTE)  # give an ambiguous term its sense


def _positions(hits: list[Hit[Term]], roles: tuple[Role, ...]) -> list[int]:
    return [h.start for h in hits if any(t.role in roles for t in h.values)]


def _distinct(matches: list[Match]) -> list[Match]:
    """Each (phrase, role, group) once, where it weighs most; order of first appearance."""
    best: dict[tuple[str, Role, str | None], Match] = {}
    for match in matches:
        key = (match.term, match.role, match.group)
        if key not in best or match.weight > best[key].weight:
            best[key] = match
    return list(best.values())


def _apply_rules(
    rules: Rules, relevant: bool, reason: str, title: str, text: str
) -> tuple[bool, str]:
    if rules.exclude and (found := _find_any(rules.exclude, title, text)):
        return False, f"excluded by the source's rule {found!r}"
    if rules.include and not _find_any(rules.include, title, text):
        return False, "no include rule of the source matched"
    if rules.trusted and not relevant:
        return True, f"trusted source ({reason})"
    return relevant, reason


def _find_any(phrases: tuple[str, ...], title: str, text: str) -> str | None:
    index = _rule_index(phrases)
    for field in (title, text):
        hits = index.scan(tokenize(field))
        if hits:
            return hits[0].values[0]
    return None


@lru_cache(maxsize=256)
def _rule_index(phrases: tuple[str, ...]) -> PhraseIndex[str]:
    """A source's include/exclude phrases, indexed once rather than for every item."""
    index: PhraseIndex[str] = PhraseIndex()
    for phrase in phrases:
        index.add(phrase, phrase)
    return index


def _topics(matches: list[Match]) -> tuple[str, ...]:
    totals: dict[str, float] = {}
    for m in matches:
        if m.group and m.weight > 0 and m.role in (Role.CORE, Role.KEYWORD, Role.AMBIGUOUS):
            totals[m.group] = totals.get(m.group, 0.0) + m.weight
    ranked = sorted(totals.items(), key=lambda item: -item[1])
    return tuple(tid for tid, total in ranked if total >= TOPIC_MIN)[:MAX_TOPICS]


def _routes(matches: list[Match]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.group for m in matches if m.role is Role.ROUTE and m.group))
