"""The plain-text document an editor reviews in $EDITOR, and applying what they saved.

``to_document`` writes an edition as blocks of ``[id] text`` under ``== section: Title ==``
headers; ``apply_document`` reads the saved file back. The document explains its own rules in
its ``#`` header lines. A file with any mistake is refused as a whole (``ConfigError`` naming
``source:LINE`` for every problem) so an editor never gets half an edit.

Everything the editor does to an item (rewrite, move, reorder, remove, promote, demote) marks
it ``edited=True``: drafting the edition again then keeps the editor's text and arrangement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from aggregator.digest.models import Edition, Item
from aggregator.errors import ConfigError

ALTERNATES = "alternates"
WIDTH = 78  # the longest document line, unless a single word is longer

_MONTHS = (
    "January February March April May June July August September October November December"
).split()
# Only ASCII blanks count as document whitespace: no-break spaces and other Unicode
# characters in a text are content (French typography uses them before « » : ; ! ?).
_BLANKS = re.compile(r"[ \t\r\n]+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ITEM = re.compile(r"\[\s*([0-9]+)\s*\](.*)")
_HEADER = re.compile(r"==+(.*?)=*")
_BAD_SECTION = ""  # the reader is under a header it refused: its items are skipped

_GUIDE = (
    "Edit the text of an item freely. A text may run over several lines: indent the lines",
    "that continue it. Move a block (its [n] line and the indented lines under it) to",
    "reorder it or to put it in another section; move an alternate into a section to use it.",
    "Delete a block to remove the item (it goes back to the alternates).",
    "Do not change the [n] numbers: they tie each text to its story.",
    "Lines starting with # are ignored. Section titles are shown for reading only.",
    "Whatever you change, move or remove is marked as edited: drafting again keeps it.",
    "If the file has a mistake, nothing is applied and you are told the line at fault.",
)


@dataclass(frozen=True, slots=True)
class Change:
    """What applying did to one item, for the CLI to report.

    ``detail`` reads "from news to trending" for a change of section, "in news, from position
    3 to 1" for a reorder, and is the new text for a rewrite.
    """

    kind: str  # "moved", "rewritten", "removed", "promoted", "demoted", "reordered"
    item_id: int
    detail: str


# --- writing -------------------------------------------------------------------------------


def to_document(edition: Edition) -> str:
    """The edition as the plain document an editor edits; ``apply_document`` reads it back."""
    lines = [f"# {normalise(edition.title)}, {_long_date(edition)} ({edition.status})", "#"]
    lines += [f"# {line}" for line in _GUIDE]
    for section in edition.sections:
        lines += ["", _header(section.id, section.title)]
        lines += _block_lines(section.items)
    lines += ["", _header(ALTERNATES, "")]
    lines += _block_lines(edition.alternates)
    return "\n".join(lines) + "\n"


def _long_date(edition: Edition) -> str:
    day = edition.day  # month names spelled here: strftime's %B follows the locale
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _header(section_id: str, title: str) -> str:
    title = normalise(title)
    return f"== {section_id}: {title} ==" if title else f"== {section_id} =="


def _block_lines(items: tuple[Item, ...]) -> list[str]:
    if not items:
        return ["# (no items: move a block here to add one)"]
    lines: list[str] = []
    for item in items:
        lines += _wrap(normalise(item.text), f"[{item.id}] ")
        source = " · ".join(part for part in (", ".join(item.outlets), item.url or "") if part)
        if source:
            lines.append(f"#    {source}")
        if item.why:  # why the compiler chose it: outlets, provenance, score and its parts
            lines.append(f"#    why: {normalise(item.why)}")
    return lines


def _wrap(text: str, prefix: str) -> list[str]:
    """Greedy fill on single spaces, so joining the lines with spaces gives ``text`` back."""
    indent = " " * len(prefix)
    words = text.split(" ") if text else []
    lines, line = [], prefix + (words[0] if words else "")
    for word in words[1:]:
        if len(line) + 1 + len(word) > WIDTH:
            lines.append(line)
            line = indent + word
        else:
            line += " " + word
    lines.append(line.rstrip(" "))
    return lines


def normalise(text: str) -> str:
    """Runs of spaces, tabs and line breaks become one space; none at either end."""
    return _BLANKS.sub(" ", text).strip(" ")


# --- reading -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Block:
    item_id: int
    section: str
    line: int
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return normalise(" ".join(self.parts))


@dataclass(slots=True)
class _Reader:
    """Reads the document line by line, collecting every problem rather than stopping."""

    source: str
    sections: dict[str, str]  # casefolded id -> id, "alternates" included
    ids: frozenset[int]
    problems: list[str] = field(default_factory=list)
    blocks: list[_Block] = field(default_factory=list)
    section: str | None = None
    block: _Block | None = None
    in_bad_block: bool = False  # swallow the continuation lines of a refused item line
    headers_at: dict[str, int] = field(default_factory=dict)
    ids_at: dict[int, int] = field(default_factory=dict)

    def problem(self, number: int, what: str) -> None:
        self.problems.append(f"{self.source}:{number}: {what}")

    def feed(self, number: int, line: str) -> None:
        if not line.strip(" \t") or line.startswith("#"):
            return
        if line[0] in " \t":
            self._continuation(number, line)
        elif line.startswith("=="):
            self._section_header(number, line)
        elif line.startswith("["):
            self._item_line(number, line)
        else:
            self._refuse_item(
                number,
                "cannot read this line: an item starts with its number in brackets (like"
                " [12]), a section with ==, a comment with #; indent a line to continue"
                " the text above",
            )

    def _continuation(self, number: int, line: str) -> None:
        if self.block is not None:
            self.block.parts.append(line)
        elif not self.in_bad_block:
            self._refuse_item(number, "indented text that does not continue an item")

    def _section_header(self, number: int, line: str) -> None:
        self._close_block()
        match = _HEADER.fullmatch(line.rstrip(" \t"))
        name = match.group(1).split(":", 1)[0].strip(" \t") if match else ""
        known = self.sections.get(name.casefold())
        self.section = known or _BAD_SECTION
        if not name:
            self.problem(number, "a section header names its section: == news: Title ==")
        elif known is None:
            choices = ", ".join(self.sections.values())
            self.problem(number, f"unknown section {name!r} (this edition has: {choices})")
        elif known in self.headers_at:
            first = self.headers_at[known]
            self.problem(number, f"section {known!r} appears twice (first at line {first})")
        else:
            self.headers_at[known] = number

    def _item_line(self, number: int, line: str) -> None:
        match = _ITEM.match(line)
        problem = self._item_problem(match)
        if match is None or problem:
            self._refuse_item(number, problem)
            return
        item_id = int(match.group(1))
        self.ids_at[item_id] = number
        self._close_block()
        if self.section == _BAD_SECTION:  # its header is reported already
            self.in_bad_block = True
        else:
            self.block = _Block(item_id, self.section or "", number, [match.group(2)])

    def _item_problem(self, match: re.Match[str] | None) -> str:
        if match is None:
            return "an item line starts with its number in brackets: [12] text"
        item_id = int(match.group(1))
        if item_id not in self.ids:
            return f"there is no item {item_id} in this edition (keep the numbers as written)"
        if item_id in self.ids_at:
            return f"item {item_id} appears twice (first at line {self.ids_at[item_id]})"
        if self.section is None:
            return f"item {item_id} comes before the first section header"
        return ""

    def _refuse_item(self, number: int, what: str) -> None:
        self._close_block()
        self.problem(number, what)
        self.in_bad_block = True

    def finish(self) -> None:
        self._close_block()

    def _close_block(self) -> None:
        if self.block is not None:
            if self.block.text:
                self.blocks.append(self.block)
            else:
                self.problem(
                    self.block.line,
                    f"item {self.block.item_id} has no text (delete the block to remove it)",
                )
        self.block = None
        self.in_bad_block = False


def _read(edition: Edition, text: str, source: str) -> list[_Block]:
    sections = {section.id.casefold(): section.id for section in edition.sections}
    sections[ALTERNATES] = ALTERNATES
    ids = frozenset(item.id for item in (*edition.items(), *edition.alternates))
    reader = _Reader(source, sections, ids)
    for number, line in enumerate(_LINE_BREAK.split(text.removeprefix("\ufeff")), 1):
        reader.feed(number, line)
    reader.finish()
    if reader.problems:
        count = len(reader.problems)
        summary = f"{source}: {count} problems, nothing applied" if count > 1 else ""
        message = "\n".join([summary, *reader.problems] if summary else reader.problems)
        raise ConfigError(message, list(reader.problems))
    return reader.blocks


# --- applying ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Place:
    where: str  # section id or "alternates"
    position: int  # from 1


def apply_document(
    edition: Edition, text: str, *, source: str = "<edited>"
) -> tuple[Edition, tuple[Change, ...]]:
    """The edition as the saved document arranges it, and what changed, item by item.

    Sections keep their order and titles; items keep their ids and are renumbered from 1 in
    document order. Items missing from the document go to the end of the alternates; deleting
    an alternate's block leaves it an alternate. Raises ``ConfigError`` (every problem, with
    its line) and applies nothing if the document is malformed.
    """
    originals, before = _index(edition)
    blocks = _read(edition, text, source)
    texts = {block.item_id: block.text for block in blocks}
    changes: list[Change] = []
    containers: dict[str, tuple[Item, ...]] = {}
    for where, ids in _layout(edition, blocks).items():
        moved_within = _reordered(ids, where, before, set(texts))
        applied = [
            _apply_item(originals[i], before[i], _Place(where, n), texts, moved_within)
            for n, i in enumerate(ids, 1)
        ]
        containers[where] = tuple(item for item, _ in applied)
        changes += [change for _, item_changes in applied for change in item_changes]
    sections = tuple(replace(s, items=containers[s.id]) for s in edition.sections)
    return replace(edition, sections=sections, alternates=containers[ALTERNATES]), tuple(changes)


def _index(edition: Edition) -> tuple[dict[int, Item], dict[int, _Place]]:
    originals: dict[int, Item] = {}
    before: dict[int, _Place] = {}
    groups = [(s.id, s.items) for s in edition.sections] + [(ALTERNATES, edition.alternates)]
    if len({where for where, _ in groups}) != len(groups):
        raise ValueError("edition has two sections with the same id (or one named alternates)")
    for where, items in groups:
        for position, item in enumerate(items, 1):
            if item.id in originals:
                raise ValueError(f"edition holds item id {item.id} twice: store it first")
            originals[item.id] = item
            before[item.id] = _Place(where, position)
    return originals, before


def _layout(edition: Edition, blocks: list[_Block]) -> dict[str, list[int]]:
    """Item ids per section and alternates, in their new order."""
    layout: dict[str, list[int]] = {s.id: [] for s in edition.sections}
    layout[ALTERNATES] = []
    for block in blocks:
        layout[block.section].append(block.item_id)
    listed = {block.item_id for block in blocks}
    layout[ALTERNATES] += [i.id for i in edition.alternates if i.id not in listed]
    layout[ALTERNATES] += [i.id for i in edition.items() if i.id not in listed]
    return layout


def _reordered(ids: list[int], where: str, before: dict[int, _Place], listed: set[int]) -> set[int]:
    """Items the editor moved within ``where``: those outside the longest run kept in order.

    Items that only shifted because others left or arrived are not reported.
    """
    stayers = [i for i in ids if i in listed and before[i].where == where]
    olds = [before[i].position for i in stayers]
    best = [1] * len(olds)  # longest increasing run ending at each index
    for j, old in enumerate(olds):
        best[j] = 1 + max((best[k] for k in range(j) if olds[k] < old), default=0)
    kept, length, ceiling = set(), max(best, default=0), None
    for j in range(len(olds) - 1, -1, -1):
        if best[j] == length and (ceiling is None or olds[j] < ceiling):
            kept.add(stayers[j])
            length, ceiling = length - 1, olds[j]
    return set(stayers) - kept


def _apply_item(
    item: Item, old: _Place, new: _Place, texts: dict[int, str], moved_within: set[int]
) -> tuple[Item, list[Change]]:
    changes = []
    kind = _placement_change(old, new, listed=item.id in texts)
    if kind:
        changes.append(Change(kind, item.id, f"from {old.where} to {new.where}"))
    if item.id in moved_within:
        detail = f"in {new.where}, from position {old.position} to {new.position}"
        changes.append(Change("reordered", item.id, detail))
    text = item.text
    if item.id in texts and texts[item.id] != normalise(item.text):
        text = texts[item.id]
        changes.append(Change("rewritten", item.id, text))
    edited = item.edited or bool(changes)
    updated = replace(item, section=new.where, position=new.position, text=text, edited=edited)
    return updated, changes


def _placement_change(old: _Place, new: _Place, *, listed: bool) -> str:
    if old.where == new.where:
        return ""
    if old.where == ALTERNATES:
        return "promoted"
    if new.where == ALTERNATES:
        return "demoted" if listed else "removed"
    return "moved"
