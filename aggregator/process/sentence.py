"""Write the digest sentence: "<Outlet> reported that <clause>."

The clause comes from the article's lead: its full text when there is one, else the feed
summary. Steps, all pure and fast (well under a millisecond for a feed summary):

1. **Clean** the lead area (:mod:`.sentence_clean`): markup, bylines, captions and photo
   credits, "Updated ..." stamps, timestamps, "Advertisement", "Read more", share prompts;
   then drop the dateline (:func:`.dateline.split_dateline`).
2. **Split** the first sentences (:mod:`.sentence_split`), which survives "U.S.", "Mr.",
   "Nov. 24", "No. 10", "J. Smith", "EE.UU." and decimals.
3. **Pick** the clause, 14 to 45 words. The cascade, first hit wins:

   a. the lead sentence as it is;
   b. the lead sentence cut at a clause boundary (", who", ", which", "; ", " — ",
      ", as", ", while", ", after", ", but", ", according to" ...), keeping a dropped
      "according to ..." attribution when it fits; a cut that leaves quotes or brackets
      open is refused;
   c. a later sentence of the lead area (the first five), as it is or cut, that is not a
      question, a pure quote ("\"We have nothing,\" she said."), a caption or truncated;
   d. fallbacks: the lead sentence cut at any comma or "and"; then the longest usable
      sentence even if short; then a long sentence cut at its last comma or conjunction
      before the 45th word (else at the 45th word); then the title;
   e. ``None`` only when there is no usable text at all.

4. **Dates**: relative day words become dates from ``published`` or are dropped
   (:mod:`.sentence_dates`); "according to ..." is kept.
5. **Case**: the first word is lowered unless it is a name (:mod:`.sentence_case`).
6. **Verb** (``trending=True``): a lead that introduces a named person,
   "Amina Diallo, a 24-year-old Guinean refugee, opened ..." (or "Amina Diallo, 24,
   fled ...", "Amina Diallo is a ..."), gives ``SHARED_STORY``: "shared the story of Amina
   Diallo, a 24-year-old Guinean refugee who opened ..."; else a title that is a
   wh-clause and no question ("How refugee chefs are ...") gives ``REPORTED_ABOUT``:
   "reported about how refugee chefs are ..."; else "reported that".

:func:`compose` renders the clause in the language's template (en "reported that", fr
"a/ont rapporté que", es "informó/informaron que"), joins several outlets ("DPA and AFP",
"EFE y AFP"), ends the sentence with exactly one full stop and may add the organisation
sentence from :func:`org_sentence` ("It cited IOM figures.").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from aggregator.process.dateline import Dateline, split_dateline
from aggregator.process.sentence_case import adjust_first_word, function_words
from aggregator.process.sentence_clean import (
    ends_with_abbreviation,
    finish_clause,
    lead_paragraphs,
    normalise,
    strip_markup,
)
from aggregator.process.sentence_dates import resolve_relative_dates
from aggregator.process.sentence_split import split_sentences, word_count
from aggregator.process.sentence_story import SITE_SUFFIX, about_clause, story_clause

__all__ = [
    "Clause", "Verb", "compose", "join_outlets", "lead_clause", "lead_dateline",
    "org_sentence", "word_count",
]  # fmt: skip

log = logging.getLogger(__name__)

MIN_WORDS, MAX_WORDS = 14, 45
_IDEAL = range(18, 36)
_LEAD_SENTENCES = 5
_LANGUAGES = ("en", "fr", "es")


class Verb(StrEnum):
    REPORTED_THAT = "reported_that"
    SHARED_STORY = "shared_story"
    REPORTED_ABOUT = "reported_about"


@dataclass(frozen=True, slots=True)
class Clause:
    text: str  # no outlet, no final full stop, first word case-adjusted
    verb: Verb
    source: str  # the sentence it came from, for explanation


_VERBS = {
    "en": {Verb.REPORTED_THAT: ("reported that",) * 2,
           Verb.SHARED_STORY: ("shared the story of",) * 2,
           Verb.REPORTED_ABOUT: ("reported about",) * 2},
    "fr": {Verb.REPORTED_THAT: ("a rapporté que", "ont rapporté que"),
           Verb.SHARED_STORY: ("a partagé l'histoire de", "ont partagé l'histoire de"),
           Verb.REPORTED_ABOUT: ("a raconté", "ont raconté")},
    "es": {Verb.REPORTED_THAT: ("informó que", "informaron que"),
           Verb.SHARED_STORY: ("compartió la historia de", "compartieron la historia de"),
           Verb.REPORTED_ABOUT: ("informó sobre", "informaron sobre")},
}  # fmt: skip
_AND = {"en": "and", "fr": "et", "es": "y"}
_ORG = {
    "en": {"cited_figures": "It cited {org} figures.", "quoted": "It quoted {org}'s {person}.",
           "quoted_org": "It quoted {org}.", "referenced": "It referenced {org}."},
    "fr": {"cited_figures": "L'article cite des chiffres {de_org}.",
           "quoted": "L'article cite {person}, {de_org}.", "quoted_org": "L'article cite {org}.",
           "referenced": "L'article mentionne {org}."},
    "es": {"cited_figures": "El artículo citó cifras {de_org}.",
           "quoted": "El artículo citó a {person}, {de_org}.",
           "quoted_org": "El artículo citó a {org}.",
           "referenced": "El artículo mencionó a {org}."},
}  # fmt: skip

_STRICT_CUTS = {
    "en": r", (?:who|which|whose|where|as|while|after|but|according to|amid|despite|although"
    r"|though|following|saying|adding|citing|with|including|and|before|when|since)\b",
    "fr": r", (?:qui|dont|où|alors que|après|mais|selon|tandis que|malgré|avant de|a-t-il"
    r"|a-t-elle|ont-ils|indique|affirme|précise|et|lorsque|car)\b",
    "es": r", (?:que|quien|quienes|donde|mientras|tras|pero|según|aunque|después de|informó"
    r"|dijo|señaló|afirmó|con|y|cuando|ya que)\b",
}
_CUT_MARKS = r"|; | — | – | - | \("
_LOOSE_CUTS = r", | (?:and|et|y|but|mais|pero) "
_ATTRIBUTION = re.compile(r", (?:according to|selon|según) [^,;()]+", re.IGNORECASE)
_SAID = re.compile(r", (?P<who>(?:the )?[^,;]{2,60}?) (?:said|says|reported|announced)\W*$")
_QUOTES = "\"«'"
_CAPTION = re.compile(
    r"^(?:file photo|photo|picture|image|foto)\b|\b(?:in this (?:file |handout )?(?:photo|"
    r"picture|image)|photo taken on|REUTERS/|AFP/|AP Photo|Getty Images)\b",
    re.IGNORECASE,
)


def lead_clause(
    text: str,
    *,
    language: str = "en",
    published: datetime | None = None,
    proper_words: Collection[str] = frozenset(),
    title: str = "",
    trending: bool = False,
    frame_words: int = 0,
) -> Clause | None:
    """The clause for the digest sentence, or None when there is no usable text.

    ``frame_words``: the words compose() will put around it ("AFP reported that" is 3), so
    that the whole sentence, not the clause alone, keeps to MIN_WORDS-MAX_WORDS.
    """
    lang = language if language in _LANGUAGES else "en"
    size = _Size(max(4, MIN_WORDS - frame_words), max(8, MAX_WORDS - frame_words))
    title = normalise(strip_markup(title)).replace("\n", " ")
    sentences, context = _lead_sentences(text, title)
    context = f"{context}\n{title}" if _sentence_case(title) else context
    day = published.date() if published is not None else None
    clause = None
    if trending:
        clause = _trending(sentences, title, lang, day, proper_words, size)
    if clause is None:
        clause = _reported_that(sentences, title, lang, day, size)
    if clause is None:
        return None
    text_out = finish_clause(clause.text)
    if clause.verb is Verb.REPORTED_THAT:
        text_out = adjust_first_word(
            text_out, language=lang, proper_words=proper_words, context=context
        )
    if word_count(text_out) == 0:
        return None
    return Clause(text=text_out, verb=clause.verb, source=clause.source)


def compose(
    outlets: Sequence[str],
    clause: Clause,
    *,
    language: str = "en",
    org_mention: str | None = None,
) -> str:
    """One digest sentence (plus the optional organisation sentence)."""
    lang = language if language in _LANGUAGES else "en"
    subject = join_outlets(outlets, lang)
    if not subject:
        raise ValueError("compose() needs at least one outlet name")
    body = finish_clause(clause.text) or "…"
    verb = _VERBS[lang][clause.verb][len(_unique(outlets)) > 1]
    sentence = f"{subject} {_attach(verb, body, lang)}"
    if not ends_with_abbreviation(sentence):
        sentence += "."
    if org_mention and org_mention.strip():
        mention = org_mention.strip()
        sentence += " " + (mention if mention.endswith(".") else mention + ".")
    return sentence


def join_outlets(outlets: Sequence[str], language: str = "en") -> str:
    """ "AFP", "DPA and AFP", "Xinhua, ANSA and Sputnik" (fr "et", es "y"/"e")."""
    names = _unique(outlets)
    if len(names) <= 1:
        return names[0] if names else ""
    conjunction = _AND.get(language, "and")
    if conjunction == "y" and re.match(r"(?i)h?i(?!e)", names[-1]):
        conjunction = "e"  # "EFE e Infobae"
    return f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


def org_sentence(
    kind: str, org: str = "IOM", person: str | None = None, language: str = "en"
) -> str:
    """ "It cited IOM figures." / "It quoted IOM's Joel Millman." / "It referenced IOM."

    ``org`` is the display name as it reads in the language ("IOM", "l'OIM", "la OIM").
    """
    templates = _ORG.get(language, _ORG["en"])
    if kind not in {"cited_figures", "quoted", "referenced"}:
        raise ValueError(f"unknown organisation mention {kind!r}")
    key = "quoted_org" if kind == "quoted" and not person else kind
    return templates[key].format(org=org, person=person, de_org=_de(org, language))


def lead_dateline(text: str) -> Dateline:
    """The dateline of a raw lead (HTML or text, bylines and captions first are skipped).

    ``rest`` is the cleaned lead area after the dateline, paragraphs joined by newlines.
    """
    paragraphs = lead_paragraphs(text or "")
    if not paragraphs:
        return Dateline(place=None, agencies=(), rest="")
    found = split_dateline(paragraphs[0])
    rest = "\n".join([found.rest, *paragraphs[1:]]).strip()
    return Dateline(place=found.place, agencies=found.agencies, rest=rest, date=found.date)


# -- picking the clause ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Size:
    """Bounds on the clause's words, the frame's words taken off the sentence's."""

    least: int
    most: int


def _trending(
    sentences: list[str],
    title: str,
    lang: str,
    day: date | None,
    proper: Collection[str],
    size: _Size,
) -> Clause | None:
    story = story_clause(sentences, lang, day, proper, size.most)
    if story:
        return Clause(story[0], Verb.SHARED_STORY, story[1])
    about = about_clause(title, size.most)
    return Clause(about, Verb.REPORTED_ABOUT, title) if about else None


def _lead_sentences(text: str, title: str) -> tuple[list[str], str]:
    paragraphs = lead_paragraphs(text or "")
    if (
        paragraphs
        and title
        and paragraphs[0].strip(" .").casefold() == title.strip(" .").casefold()
    ):
        paragraphs = paragraphs[1:]  # the headline repeated as the first paragraph
    if not paragraphs:
        return [], ""
    paragraphs[0] = split_dateline(paragraphs[0]).rest
    sentences: list[str] = []
    for paragraph in paragraphs:
        sentences.extend(split_sentences(paragraph))
        if len(sentences) >= _LEAD_SENTENCES:
            break
    return sentences[:_LEAD_SENTENCES], "\n".join(paragraphs)


def _reported_that(
    sentences: list[str], title: str, lang: str, day: date | None, size: _Size
) -> Clause | None:
    resolved = [resolve_relative_dates(s, day, lang) for s in sentences]
    usable = [(r, s) for r, s in zip(resolved, sentences, strict=True) if _kind(s) == "ok"]
    for text, source in usable:  # a-c: the first sentence that fits, as it is or cut
        fitted = text if size.least <= word_count(text) <= size.most else _cut(text, lang, size)
        if fitted:
            return Clause(fitted, Verb.REPORTED_THAT, source)
    for text, source in [(r, s) for r, s in zip(resolved, sentences, strict=True)
                         if _kind(s) == "truncated"]:  # fmt: skip
        fitted = _cut(finish_clause(text), lang, size)
        if fitted:
            return Clause(fitted, Verb.REPORTED_THAT, source)
    return _fallback(usable, title, lang, size)


def _fallback(usable: list[tuple[str, str]], title: str, lang: str, size: _Size) -> Clause | None:
    if usable:
        text, source = usable[0]
        loose = _cut(text, lang, size, loose=True)
        if loose:
            return Clause(loose, Verb.REPORTED_THAT, source)
        short = [(t, s) for t, s in usable if 4 <= word_count(t) <= size.most]
        if short:
            text, source = max(short, key=lambda pair: word_count(pair[0]))
            return Clause(text, Verb.REPORTED_THAT, source)
        log.debug("lead sentence has no clause boundary; cutting at word %d", size.most)
        return Clause(_hard_cut(text, lang, size), Verb.REPORTED_THAT, source)
    headline = SITE_SUFFIX.sub("", title).strip()
    if word_count(headline) >= 4 and _kind(headline) == "ok":
        return Clause(headline, Verb.REPORTED_THAT, title)
    return None


_PROMPT = re.compile(
    r"^(?:submit|sign up|subscribe|click|tap|follow us|download|share this|register|log in"
    r"|watch|listen|read more|inscrivez-vous|abonnez-vous|suscríbete|regístrate)\b",
    re.IGNORECASE,
)


def _kind(sentence: str) -> str:
    """ "question", "quote", "caption", "truncated", "debris" or "ok"."""
    if _PROMPT.match(sentence) or not (sentence[:1].isalnum() or sentence[:1] in _QUOTES + "“‘"):
        return "debris"  # a call to action, or a fragment ("& Jane Doe, Director ...")
    bare = sentence.rstrip(" \"'»)")
    if bare.endswith("?") or sentence.startswith("¿"):
        return "question"
    if bare.endswith(("…", "...")):
        return "truncated"
    if _CAPTION.search(sentence):
        return "caption"
    return "quote" if _pure_quote(sentence) else "ok"


def _pure_quote(sentence: str) -> bool:
    """Opens with a quote, and the quoted words are most of the sentence."""
    if not sentence or sentence[0] not in _QUOTES + "—":
        return False
    closing = {"«": "»", "—": "—"}.get(sentence[0], sentence[0])
    end = sentence.find(closing, 1)
    if end < 0:
        return True
    return word_count(sentence[: end + 1]) * 2 >= word_count(sentence)


def _cut(sentence: str, lang: str, size: _Size, *, loose: bool = False) -> str | None:
    """The best prefix of 14-45 words ending at a clause boundary, or None.

    Best: one that keeps a dropped attribution ("according to ..."), then one of 18-35
    words, then the longest.
    """
    pattern = _LOOSE_CUTS if loose else _STRICT_CUTS[lang] + _CUT_MARKS
    options = []
    for match in re.finditer(pattern, sentence):
        prefix = sentence[: match.start()].rstrip(" ,;:")
        if size.least <= word_count(prefix) <= size.most and _balanced(prefix):
            full, kept = _keep_attribution(sentence, prefix, lang, size)
            options.append((kept, word_count(full) in _IDEAL, word_count(full), full))
    return max(options)[3] if options else None


def _keep_attribution(sentence: str, prefix: str, lang: str, size: _Size) -> tuple[str, bool]:
    """The prefix with the attribution it dropped, if that fits; and whether none is lost."""
    found = _ATTRIBUTION.search(sentence, len(prefix))
    tail = found.group(0).rstrip(" .") if found else None
    said = _SAID.search(sentence) if lang == "en" and not found else None
    if said and said.start() >= len(prefix):
        tail = f", according to {said.group('who')}"
    if not tail:
        return prefix, True
    if word_count(prefix) + word_count(tail) <= size.most and _balanced(tail):
        return prefix + tail, True
    return prefix, False


def _hard_cut(sentence: str, lang: str, size: _Size) -> str:
    words = sentence.split()[: size.most]
    text = " ".join(words)
    comma = max(text.rfind(", "), text.rfind("; "))
    if comma > 0 and word_count(text[:comma]) >= size.least:
        return text[:comma]
    closed = function_words(lang)
    while len(words) > 1 and words[-1].strip(",;:").casefold() in closed:
        words.pop()
    return " ".join(words).rstrip(",;:")


def _balanced(text: str) -> bool:
    return (
        text.count('"') % 2 == 0
        and text.count("(") == text.count(")")
        and text.count("«") == text.count("»")
    )


# -- composing -----------------------------------------------------------------------------


def _attach(verb: str, body: str, lang: str) -> str:
    if re.match(r"(?i)(?:according to|selon|según)\b", body) and verb.endswith(("that", "que")):
        return f"{verb}, {body}"  # "reported that, according to IOM, ..."
    first = body.split(None, 1)[0]
    if lang == "fr" and verb.endswith((" que", " de")) and _vowel_start(first):
        return f"{verb[:-1]}'{body}"  # "qu'il", "l'histoire d'Amina"
    return f"{verb} {body}"


def _vowel_start(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return bool(letters) and letters[0].casefold() in "aeiouyéèêàâîôûœ" and not word.isupper()


def _de(org: str, lang: str) -> str:
    lowered = org.casefold()
    if lang == "fr":
        if lowered.startswith("le "):
            return f"du {org[3:]}"
        if lowered.startswith("les "):
            return f"des {org[4:]}"
        return f"d'{org}" if _vowel_start(org) else f"de {org}"
    if lang == "es" and lowered.startswith("el "):
        return f"del {org[3:]}"
    return f"de {org}"


def _unique(outlets: Sequence[str]) -> list[str]:
    seen: dict[str, str] = {}
    for outlet in outlets:
        name = " ".join(str(outlet).split())
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
    return list(seen.values())


def _sentence_case(title: str) -> bool:
    long_words = [w for w in title.split() if len(w) > 3 and w[0].isalpha()]
    return bool(long_words) and sum(w[0].isupper() for w in long_words) * 2 < len(long_words)
