"""Places named in a story, as ISO 3166-1 alpha-2 codes (EN/FR/ES headlines and text).

``aggregator/data/places.yaml`` (its header documents the matching rules) is compiled once
into a dict keyed by tuples of folded words. ``find`` cuts a text into words once and, at
each word that can start a name, tries the longest name first; a hit must then pass the
name's rules (case, language, neighbouring words, person names), and ambiguous names are
settled against the story's other places. Only ``load`` does I/O.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from aggregator import yamlfile
from aggregator.errors import ConfigError, TaxonomyError

__all__ = ["DEFAULT_PATH", "Gazetteer", "Places"]

log = logging.getLogger(__name__)
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "places.yaml"
LANGUAGES = ("en", "fr", "es")
_CACHE_FORMAT = b"places-1"
_TOKEN = re.compile(r"(?:[^\W\d_]{1,2}\.){2,}|\w+")  # "U.S.", "EE.UU." stay whole
_JOIN = re.compile(r"\s{1,3}|[-‐‑'’]|")  # what may stand between the words of one name
_BREAK = re.compile(r"[.!?;:\"“”«»()\[\]\n|]")  # no neighbour across a sentence or clause end


def _plain_table() -> dict[int, str]:
    """One ASCII letter per accented Latin letter, so that offsets are kept (é -> e, ł -> l)."""
    table = {ord(a): b for a, b in zip("łŁıøØđĐħ’", "lLioOdDh'", strict=True)}
    for point in range(0xC0, 0x250):
        base = unicodedata.normalize("NFD", chr(point))[0]
        if base != chr(point) and base.isascii() and base.isalpha():
            table[point] = base
    return table


_PLAIN = str.maketrans(_plain_table())


def plain(text: str) -> str:
    return text if text.isascii() else text.translate(_PLAIN)


def _words(text: str) -> list[str]:
    return _TOKEN.findall(plain(text))


@dataclass(frozen=True, slots=True)
class Places:
    dateline: str | None  # ISO code of the dateline place (where the story was filed)
    mentioned: tuple[str, ...]  # places the story is about, most salient first
    evidence: tuple[tuple[str, str], ...]  # (code, term as matched), for explanations


@dataclass(frozen=True, slots=True)
class _Rule:
    person: bool = False
    not_after: frozenset[str] = frozenset()
    not_before: frozenset[str] = frozenset()
    after_preposition: bool = False
    languages: frozenset[str] = frozenset()
    caps: bool = True


@dataclass(frozen=True, slots=True)
class _Term:
    name: str  # this form as written or generated ("Syrians")
    codes: tuple[str, ...]  # () for a not-place; several (or a default) when ambiguous
    case: tuple[str | None, ...]  # per word: the capitalised spelling required, or None for any
    scope: str | None = None  # FR/ES demonyms: the only language they count in
    ambiguous: bool = False
    default: str | None = None
    place: bool = True  # False for demonyms: code_of resolves places only
    rule: _Rule = _Rule()


@dataclass(slots=True)
class _Hit:
    term: _Term
    surface: str
    position: int
    in_title: bool
    weak: bool  # counts only if the story names the same place otherwise


@dataclass(slots=True)
class _Text:
    """A text cut into words: as written (accents removed), folded, and their offsets."""

    text: str
    words: list[str]
    folded: list[str]
    spans: list[tuple[int, int]]

    @classmethod
    def of(cls, text: str) -> _Text:
        if not text.isascii() and not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)  # "e" + combining accent -> "é"
        matches = list(_TOKEN.finditer(plain(text)))
        words = [m.group() for m in matches]
        return cls(text, words, [w.lower() for w in words], [m.span() for m in matches])

    def gap(self, i: int) -> str:
        """The characters between word i and word i + 1."""
        return self.text[self.spans[i][1] : self.spans[i + 1][0]]

    def neighbour(self, j: int, edge: int) -> str | None:
        """Word j, folded, if no clause break separates it from the match's edge word."""
        if not 0 <= j < len(self.words) or _BREAK.search(self.gap(min(j, edge))):
            return None
        return self.folded[j]


@dataclass(frozen=True, slots=True)
class _Lists:
    prepositions: frozenset[str] = frozenset()
    titles: frozenset[str] = frozenset()
    abbreviations: frozenset[str] = frozenset()
    not_after: dict[str, frozenset[str]] = field(default_factory=dict)


class Gazetteer:
    def __init__(
        self, terms: Iterable[_Term], names: dict[str, dict[str, list[str]]], lists: _Lists
    ) -> None:
        self._index: dict[tuple[str, ...], list[_Term]] = {}
        self._first: dict[str, int] = {}  # first word -> words in the longest name it starts
        proper: set[str] = set()
        for term in terms:
            key = tuple(w.lower() for w in _words(term.name))
            self._index.setdefault(key, []).append(term)
            self._first[key[0]] = max(self._first.get(key[0], 0), len(key))
            if term.codes and term.name[:1].isupper():
                proper.update((term.name, plain(term.name)))
        for entries in self._index.values():
            entries.sort(key=lambda t: t.case.count(None))  # the case-bound spelling first
        self._proper = frozenset(proper)
        self._names = names
        self._lists = lists

    @classmethod
    def load(cls, path: Path | None = None, *, cache_dir: Path | None = None) -> Gazetteer:
        """The gazetteer in ``path`` (None: the packaged file, compiled once per process).

        ``cache_dir`` keeps the parsed file as JSON named by its hash, which skips the YAML
        parser (pure Python here, ~0.2 s for the packaged file) on later starts.
        """
        if path is None and cache_dir is None:
            return _default()
        return _build(path or DEFAULT_PATH, cache_dir)

    def proper_words(self) -> frozenset[str]:
        """Every capitalised name, demonym and city as written ("Syrians", "South Sudan")."""
        return self._proper

    def country_name(self, code: str, language: str = "en") -> str:
        """The display name of ``code`` in ``language`` (English, else the code itself)."""
        names = self._names.get(code.upper())
        if not names:
            return code
        return (names.get(_language(language) or "en") or names["en"])[0]

    def code_of(self, name: str) -> str | None:
        """Resolve a place name or dateline, in any case ("DAKAR, Senegal", "GENEVA").

        Of several parts the last that names a place wins: "Paris, Texas" -> US.
        """
        hits = []
        for part in re.split(r"[,(/]|\s[-–—]\s", name):
            found = self._scan(part, None, 0, in_title=False, dateline=True)
            hits += found[:1]
        strong = {h.term.codes[0] for h in hits if not h.term.ambiguous}
        codes = [_settle(h.term, strong) or h.term.codes[0] for h in hits]
        return codes[-1] if codes else None

    def find(
        self,
        *,
        title: str,
        text: str,
        dateline_place: str | None = None,
        language: str | None = None,
    ) -> Places:
        lang = _language(language)
        dateline = self.code_of(dateline_place) if dateline_place else None
        title, text = title or "", text or ""
        hits = self._scan(title, lang, 0, in_title=True)
        hits += self._scan(text, lang, len(title) + 1, in_title=False)
        strong = {h.term.codes[0] for h in hits if not h.weak}
        if dateline:
            strong.add(dateline)
        kept = []
        for hit in hits:
            code = _settle(hit.term, strong) if hit.weak else hit.term.codes[0]
            if code:
                kept.append((code, hit))
        return _rank(dateline, kept)

    def _scan(
        self, text: str, lang: str | None, offset: int, in_title: bool, dateline: bool = False
    ) -> list[_Hit]:
        doc = _Text.of(text)
        caps = dateline or _is_caps(text)
        titled = in_title and (caps or _is_title_case(doc.words))
        hits: list[_Hit] = []
        i, count = 0, len(doc.words)
        while i < count:
            size = self._first.get(doc.folded[i])
            found = self._longest(doc, i, size, caps, dateline) if size else None
            if found is None:
                i += 1
                continue
            term, end = found
            weak = False if dateline else self._verdict(term, doc, i, end, lang, titled)
            if term.codes and weak is not None:
                surface = text[doc.spans[i][0] : doc.spans[end - 1][1]]
                hits.append(_Hit(term, surface, offset + doc.spans[i][0], in_title, weak))
            i = end
        return hits

    def _longest(
        self, doc: _Text, i: int, size: int, caps: bool, dateline: bool
    ) -> tuple[_Term, int] | None:
        last = i
        while last + 1 < len(doc.words) and last - i + 1 < size and self._joins(doc, last):
            last += 1
        for end in range(last + 1, i, -1):
            for term in self._index.get(tuple(doc.folded[i:end]), ()):
                if _fits(term, doc, i, caps, dateline):
                    return term, end
        return None

    def _joins(self, doc: _Text, i: int) -> bool:
        gap = doc.gap(i)
        if _JOIN.fullmatch(gap):
            return True  # "St. Petersburg", "EE. UU."
        return gap[:1] == "." and not gap[1:].strip() and doc.words[i] in self._lists.abbreviations

    def _verdict(
        self, term: _Term, doc: _Text, i: int, end: int, lang: str | None, titled: bool
    ) -> bool | None:
        """None: not this place here; True: only if the story names it otherwise; False: counts."""
        rule = term.rule
        if (term.scope and lang not in (None, term.scope)) or (
            rule.languages and lang not in rule.languages
        ):
            return None
        prev, after = doc.neighbour(i - 1, i - 1), doc.neighbour(end, end - 1)
        if prev in rule.not_after or after in rule.not_before:
            return None
        if term.scope and prev in self._lists.not_after.get(term.scope, ()):
            return None  # "en français" is a language
        if rule.after_preposition and prev not in self._lists.prepositions:
            return None
        if rule.person and not titled and self._names_a_person(doc, i, end):
            return None
        return term.ambiguous or (rule.person and titled)

    def _names_a_person(self, doc: _Text, i: int, end: int) -> bool:
        """Next to a capitalised word that is neither a place nor a title: "Chad Smith"."""
        if end < len(doc.words) and _JOIN.fullmatch(doc.gap(end - 1)) and self._namelike(doc, end):
            return True
        if i < 2 or not _JOIN.fullmatch(doc.gap(i - 1)) or not self._namelike(doc, i - 1):
            return False
        return not _BREAK.search(doc.gap(i - 2))  # a sentence's first word is capitalised anyway

    def _namelike(self, doc: _Text, j: int) -> bool:
        word = doc.words[j]
        return (
            word[:1].isupper()
            and not word.isupper()
            and word not in self._lists.titles
            and doc.folded[j] not in self._first
        )


def _fits(term: _Term, doc: _Text, i: int, caps: bool, dateline: bool) -> bool:
    if dateline:
        return term.place  # in any case; a dateline is a place, not a demonym
    return term.rule.caps if caps else _case_ok(term, doc, i)


def _case_ok(term: _Term, doc: _Text, i: int) -> bool:
    """Capitals as in the file; accents may be missing in the text but not added ("Quitó")."""
    for k, spelled in enumerate(term.case):
        if spelled is None:
            continue
        word = doc.words[i + k]
        if plain(spelled) != word:
            return False
        written = doc.text[doc.spans[i + k][0] : doc.spans[i + k][1]]
        if written not in (word, spelled):
            return False
    return True


def _is_caps(text: str) -> bool:
    return text.isupper() and sum(c.isalpha() for c in text) > 8


def _is_title_case(words: list[str]) -> bool:
    long = [w for w in words if len(w) > 3 and w.isalpha()]
    return len(long) >= 3 and sum(w[0].isupper() for w in long) >= 0.8 * len(long)


def _language(language: str | None) -> str | None:
    return language[:2].lower() if language and language[:2].isalpha() else None


def _settle(term: _Term, strong: set[str]) -> str | None:
    """The code a weak name stands for, given the places the story names for sure."""
    return next((code for code in term.codes if code in strong), term.default)


def _rank(dateline: str | None, kept: list[tuple[str, _Hit]]) -> Places:
    """Title mentions first, then the number of mentions, then the first position."""
    stats: dict[str, list[int]] = {}
    for code, hit in kept:
        row = stats.setdefault(code, [0, 0, hit.position])
        row[0] -= hit.in_title
        row[1] -= 1
    order = sorted(stats, key=stats.__getitem__)
    rank = {code: n for n, code in enumerate(order)}
    first: dict[tuple[str, str], int] = {}
    for code, hit in kept:
        first.setdefault((code, hit.surface), hit.position)
    evidence = sorted(first, key=lambda pair: (rank[pair[0]], first[pair]))
    return Places(dateline, tuple(order), tuple(evidence))


@cache
def _default() -> Gazetteer:
    return _build(DEFAULT_PATH, None)


# ---- the file: reading, validation with line numbers, compilation ----------------------------

_SECTIONS = ("countries", "ambiguous", "rules", "not_places", "prepositions", "titles")
_SECTIONS += ("abbreviations", "demonym_not_after")
_COUNTRY_KEYS = ("en", "fr", "es", "also", "demonyms", "cities")
_RULE_KEYS = ("person", "after_preposition", "caps", "not_after", "not_before", "languages")
_CODE = re.compile(r"[A-Z]{2}")
Loc = tuple[str | int, ...]


def _build(path: Path, cache_dir: Path | None) -> Gazetteer:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TaxonomyError(f"{path}: cannot read the places file: {exc}") from exc
    digest = hashlib.sha256(_CACHE_FORMAT + raw).hexdigest()[:24]
    cached = cache_dir / f"places-{digest}.json" if cache_dir else None
    data = _read_cache(cached) if cached else None
    fresh = data is None
    if data is None:
        data = _parse(raw, path)
    builder = _Builder(data)
    gazetteer = builder.gazetteer()
    if builder.problems:
        raise _error(path, raw, builder.problems)
    if cached and fresh:
        _write_cache(cached, data)
    return gazetteer


def _parse(raw: bytes, path: Path) -> Any:
    try:
        return YAML(typ="safe").load(raw.decode("utf-8"))  # C parser if ruamel.yaml.clib is there
    except UnicodeDecodeError as exc:
        raise TaxonomyError(f"{path}: not UTF-8 text: {exc}") from exc
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise TaxonomyError(f"{path}{line}: {exc.problem or exc.context or 'bad YAML'}") from exc
    except YAMLError as exc:
        raise TaxonomyError(f"{path}: invalid YAML: {exc}") from exc


def _read_cache(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("places cache unreadable: %s", exc, extra={"path": str(path)})
        return None


def _write_cache(path: Path, data: Any) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # several workers may race
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        log.warning("places cache not written: %s", exc, extra={"path": str(path)})


def _error(path: Path, raw: bytes, problems: list[tuple[Loc, str]]) -> TaxonomyError:
    """Name file and line; the slower round-trip parser runs only when something is wrong."""
    try:
        root = yamlfile.loads(raw.decode("utf-8"), str(path))
    except ConfigError:
        root = None
    lines = []
    for loc, message in problems:
        line = yamlfile.line_of(root, loc) if root is not None else None
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        lines.append(f"{path}{f':{line}' if line else ''}: {where or 'file'}: {message}")
    more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
    return TaxonomyError(lines[0] + more, lines)


class _Builder:
    """Checks the parsed file and turns it into terms, keeping every problem with its place."""

    def __init__(self, data: Any) -> None:
        self.problems: list[tuple[Loc, str]] = []
        self.data = self.mapping(data, (), required=True)
        self.owner: dict[tuple[Any, ...], tuple[str, Loc]] = {}
        self.rules: dict[str, _Rule] = {}
        self.used: set[str] = set()

    def fail(self, loc: Loc, message: str) -> None:
        self.problems.append((loc, message))

    def gazetteer(self) -> Gazetteer:
        self.known(self.data, (), _SECTIONS)
        for name, value in self.mapping(self.data.get("rules"), ("rules",)).items():
            self.rules[plain(str(name))] = self.rule(value, ("rules", name))
        countries = self.mapping(self.data.get("countries"), ("countries",), required=True)
        terms = self.ambiguous(set(countries))
        skip = {term.name for term in terms}
        names = {code: self.country(code, value, skip, terms) for code, value in countries.items()}
        for name in self.strings(self.data.get("not_places", []), ("not_places",)):
            terms.append(_Term(name, (), _case(name), rule=self.rule_of(name)))
        for name in self.mapping(self.data.get("rules"), ("rules",)):
            if plain(str(name)) not in self.used:
                self.fail(("rules", name), f"'{name}' is not a name listed in this file")
        return Gazetteer(terms, names, self.lists())

    def mapping(self, value: Any, loc: Loc, required: bool = False) -> dict[Any, Any]:
        if isinstance(value, dict) or (value is None and not required):
            return value or {}
        self.fail(loc, "expected a mapping (key: value lines)")
        return {}

    def known(self, value: dict[Any, Any], loc: Loc, keys: tuple[str, ...]) -> None:
        for key in value:
            if key not in keys:
                self.fail((*loc, key), f"unknown key '{key}' (expected {', '.join(keys)})")

    def strings(self, value: Any, loc: Loc) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.fail(loc, "expected a name or a list of names")
            return []
        for n, item in enumerate(value):
            if not (isinstance(item, str) and _words(item)):
                self.fail((*loc, n), f"expected a name, got {item!r}")
        return [item.strip() for item in value if isinstance(item, str) and _words(item)]

    def words(self, value: Any, loc: Loc) -> frozenset[str]:
        return frozenset(plain(w).lower() for w in self.strings(value, loc))

    def lists(self) -> _Lists:
        get = self.data.get
        prepositions = self.mapping(get("prepositions"), ("prepositions",))
        markers = self.mapping(get("demonym_not_after"), ("demonym_not_after",))
        return _Lists(
            frozenset().union(
                *(self.words(v, ("prepositions", k)) for k, v in prepositions.items())
            ),
            frozenset(self.strings(get("titles", []), ("titles",))),
            frozenset(map(plain, self.strings(get("abbreviations", []), ("abbreviations",)))),
            {str(k): self.words(v, ("demonym_not_after", k)) for k, v in markers.items()},
        )

    def rule(self, value: Any, loc: Loc) -> _Rule:
        options = self.mapping(value, loc, required=True)
        self.known(options, loc, _RULE_KEYS)
        for key in ("person", "after_preposition", "caps"):
            if not isinstance(options.get(key, True), bool):
                self.fail((*loc, key), "expected true or false")
        lists = {k: self.words(options[k], (*loc, k)) for k in _RULE_KEYS[3:] if k in options}
        flags = {k: options[k] for k in _RULE_KEYS[:3] if isinstance(options.get(k), bool)}
        return _Rule(**flags, **lists)

    def rule_of(self, name: str) -> _Rule:
        self.used.add(plain(name))
        return self.rules.get(plain(name), _Rule())

    def ambiguous(self, codes: set[Any]) -> list[_Term]:
        terms = []
        for name, value in self.mapping(self.data.get("ambiguous"), ("ambiguous",)).items():
            loc: Loc = ("ambiguous", name)
            entry = self.mapping(value, loc, required=True)
            self.known(entry, loc, ("codes", "default"))
            listed = self.strings(entry.get("codes", []), (*loc, "codes"))
            for n, code in enumerate(listed):
                if code not in codes:
                    self.fail((*loc, "codes", n), f"'{code}' is not a country of this file")
            default = entry.get("default")
            if not listed or (default is not None and default not in listed):
                self.fail(loc, "needs 'codes: [..]', and a 'default' that is one of them")
            case, rule = _case(str(name)), self.rule_of(str(name))
            terms.append(_Term(str(name), tuple(listed), case, None, True, default, rule=rule))
        return terms

    def country(self, code: Any, value: Any, skip: set[str], terms: list[_Term]) -> dict[str, Any]:
        loc: Loc = ("countries", code)
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            self.fail(loc, f"'{code}' is not an ISO 3166-1 alpha-2 code (two capital letters)")
        entry = self.mapping(value, loc, required=True)
        self.known(entry, loc, _COUNTRY_KEYS)
        if "en" not in entry:
            self.fail(loc, "missing the English name ('en: ...')")
        keys = [key for key in (*LANGUAGES, "also", "cities") if key in entry]
        listed = {key: self.strings(entry[key], (*loc, key)) for key in keys}
        for key, items in listed.items():
            for n, name in enumerate(items):
                if name not in skip:
                    self.add(str(code), name, (*loc, key, n), None, terms)
        demonyms = self.mapping(entry.get("demonyms"), (*loc, "demonyms"))
        self.known(demonyms, (*loc, "demonyms"), LANGUAGES)
        for lang, bases in demonyms.items():
            for n, base in enumerate(self.strings(bases, (*loc, "demonyms", lang))):
                self.add(str(code), base, (*loc, "demonyms", lang, n), str(lang), terms)
        return {lang: listed[lang] for lang in LANGUAGES if listed.get(lang)}

    def add(self, code: str, name: str, loc: Loc, lang: str | None, terms: list[_Term]) -> None:
        rule, scope = self.rule_of(name), lang if lang in ("fr", "es") else None
        for form in _inflect(name, lang) if lang else (name,):
            case = tuple(None for _ in _words(form)) if scope else _case(form)
            owner = self.owner.setdefault((form.lower(), case, scope), (code, loc))
            if owner[0] != code:
                self.fail(loc, f"'{form}' is also a name of {owner[0]}: move it to 'ambiguous'")
            elif owner[1] == loc:
                terms.append(_Term(form, (code,), case, scope, place=lang is None, rule=rule))


def _case(name: str) -> tuple[str | None, ...]:
    """The words that must be capitalised as written; lower-case words match any case."""
    return tuple(w if any(c.isupper() for c in w) else None for w in _TOKEN.findall(name))


# Demonym endings: (endings of the base form, letters to drop, suffixes to add).
_ENDINGS = {
    "fr": (
        (("en", "on"), 0, ("ne", "s", "nes", "e", "es")),
        (("e", "è", "é"), 0, ("s",)),
        (("s", "x"), 0, ("e", "es")),
        (("",), 0, ("e", "s", "es")),
    ),
    "es": (
        (("o",), 1, ("o", "a", "os", "as")),
        (("és", "án", "ín", "ón", "ús"), 0, ("a", "es", "as")),
        (("í", "ú", "i", "u"), 0, ("es", "s")),
        (("e", "a", "á"), 0, ("s",)),
        (("",), 0, ("a", "es", "as")),
    ),
}


def _inflect(base: str, lang: str) -> tuple[str, ...]:
    """The base form with its plurals and feminines (forms that are not words do no harm)."""
    if lang == "en":
        return (base,) if base.endswith(("ese", "sh", "ch", "s", "x")) else (base, base + "s")
    word = plain(base).lower()
    for endings, drop, suffixes in _ENDINGS.get(lang, ()):
        if base.lower().endswith(endings):
            stem = word[: len(word) - drop]
            return tuple(dict.fromkeys([word, *(stem + s for s in suffixes)]))
    return (word,)
