"""Precision, recall and F1 of the relevance filter on a labelled JSONL file.

Each line: ``{"title": ..., "text": ..., "language": ..., "label": true|false}``. A bad line
is reported with its number and stops the evaluation: figures over a half-read file would
mislead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from aggregator.errors import ConfigError
from aggregator.process.relevance import Classifier


@dataclass(frozen=True, slots=True)
class Example:
    line: int
    title: str
    text: str
    language: str
    label: bool


@dataclass(slots=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, label: bool, predicted: bool) -> None:
        if label and predicted:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif label:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def total(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


@dataclass(slots=True)
class Evaluation:
    overall: Counts = field(default_factory=Counts)
    by_language: dict[str, Counts] = field(default_factory=dict)
    errors: list[tuple[Example, str]] = field(default_factory=list)  # (example, reason)


def read_examples(path: Path) -> list[Example]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    return [_example(path, number, line) for number, line in enumerate(lines, 1) if line.strip()]


def _example(path: Path, number: int, line: str) -> Example:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{number}: not JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:{number}: expected a JSON object")
    label = data.get("label")
    if isinstance(label, int) and not isinstance(label, bool) and label in (0, 1):
        label = bool(label)
    if not isinstance(label, bool):
        raise ConfigError(f"{path}:{number}: 'label' must be true or false, got {label!r}")
    title, text = data.get("title", ""), data.get("text", "")
    if not isinstance(title, str) or not isinstance(text, str) or not (title or text):
        raise ConfigError(f"{path}:{number}: 'title' and 'text' must be text, one non-empty")
    language = data.get("language") or "?"
    return Example(number, title, text, str(language), label)


def evaluate(classifier: Classifier, examples: Iterable[Example]) -> Evaluation:
    result = Evaluation()
    for example in examples:
        decision = classifier.classify(example.title, example.text)
        result.overall.add(example.label, decision.relevant)
        result.by_language.setdefault(example.language, Counts()).add(
            example.label, decision.relevant
        )
        if decision.relevant != example.label:
            result.errors.append((example, decision.reason))
    return result
