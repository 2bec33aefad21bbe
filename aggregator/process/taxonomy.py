"""The taxonomy file: its schema, validation with line numbers, and loading.

``aggregator/data/taxonomy.yaml`` is packaged; the ``taxonomy`` setting names a replacement.
The file's header comment explains the matching rules to the people who edit it.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML, YAMLError

from aggregator import yamlfile
from aggregator.errors import ConfigError, TaxonomyError

LANGUAGES = ("en", "fr", "es")
Phrase = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ByLanguage(_Strict):
    en: tuple[Phrase, ...] = ()
    fr: tuple[Phrase, ...] = ()
    es: tuple[Phrase, ...] = ()

    def items(self) -> list[tuple[str, str]]:
        """(language, phrase) pairs."""
        return [(lang, phrase) for lang in LANGUAGES for phrase in getattr(self, lang)]


class Scoring(_Strict):
    threshold: float = Field(1.0, gt=0)
    window: int = Field(10, ge=1)
    title_weight: float = Field(1.5, ge=0)
    body_weight: float = Field(0.25, ge=0)
    lead_words: int = Field(120, ge=1)
    trap_weight: float = Field(0.6, ge=0)
    veto_traps: int = Field(2, ge=1)


class Topic(_Strict):
    id: Phrase
    label: Phrase
    grounding: tuple[str, ...] = ()
    keywords: ByLanguage = ByLanguage()
    ambiguous: ByLanguage = ByLanguage()
    notes: str | None = None


class Route(_Strict):
    id: Phrase
    label: Phrase
    aliases: tuple[Phrase, ...]


class Trap(_Strict):
    id: Phrase
    label: Phrase
    terms: ByLanguage


class Taxonomy(_Strict):
    version: int
    scoring: Scoring = Scoring()
    core: ByLanguage
    context: ByLanguage = ByLanguage()
    people: ByLanguage = ByLanguage()
    core_topics: dict[str, tuple[Phrase, ...]] = {}
    topics: tuple[Topic, ...]
    routes: tuple[Route, ...] = ()
    traps: tuple[Trap, ...] = ()
    trap_sections: tuple[Phrase, ...] = ()
    neutral: ByLanguage = ByLanguage()
    digest: str = ""  # sha256 of the file's bytes: articles are re-processed when it changes

    def topic_labels(self) -> dict[str, str]:
        return {topic.id: topic.label for topic in self.topics}


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """The taxonomy at ``path`` (None: the packaged one); cached per file and content."""
    if path is None:
        packaged = resources.files("aggregator") / "data" / "taxonomy.yaml"
        return _parse(packaged.read_bytes(), "taxonomy.yaml (packaged)")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TaxonomyError(f"{path}: cannot read the taxonomy: {exc}") from exc
    return _parse(data, str(path))


@lru_cache(maxsize=4)
def _parse(data: bytes, name: str) -> Taxonomy:
    try:
        text = data.decode("utf-8")
        raw = YAML(typ="safe").load(text)  # the C parser: a tenth of the round-trip loader
    except UnicodeDecodeError as exc:
        raise TaxonomyError(f"{name}: not UTF-8 text: {exc}") from exc
    except YAMLError:
        raw = _with_lines(text, name)  # raises with the line of the syntax error
    if not isinstance(raw, dict):
        raise TaxonomyError(f"{name}: expected a mapping with core, topics, traps ...")
    try:
        taxonomy = Taxonomy.model_validate({**raw, "digest": hashlib.sha256(data).hexdigest()})
    except ValidationError as exc:
        lines = _with_lines(text, name)  # read again, keeping line numbers, to name them
        problems = [_problem(name, lines, error) for error in exc.errors()]
        raise TaxonomyError(problems[0], problems) from exc
    _check_references(taxonomy, name)
    return taxonomy


def _with_lines(text: str, name: str) -> Any:
    try:
        return yamlfile.loads(text, name)
    except ConfigError as exc:
        raise TaxonomyError(str(exc)) from exc


def _problem(name: str, raw: object, error: dict) -> str:
    loc = tuple(error["loc"])
    line = yamlfile.line_of(raw, loc)
    where = ".".join(str(part) for part in loc)
    return f"{name}:{line or '?'}: {where}: {error['msg']}"


def _check_references(taxonomy: Taxonomy, name: str) -> None:
    ids = [topic.id for topic in taxonomy.topics]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    problems = [f"{name}: topic id {d!r} is used twice" for d in duplicates]
    problems += [
        f"{name}: core_topics names unknown topic {tid!r}"
        for tid in taxonomy.core_topics
        if tid not in ids
    ]
    if problems:
        raise TaxonomyError(problems[0], problems)
