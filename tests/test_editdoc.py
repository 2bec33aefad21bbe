from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.digest.editdoc import (
    ALTERNATES,
    WIDTH,
    Change,
    apply_document,
    normalise,
    to_document,
)
from aggregator.digest.models import Edition, Item, Section, Status
from aggregator.errors import ConfigError

GAMBIA = (
    "AFP and DPA reported that Gambian migrants who suffered abuses in Libya have formed a "
    "group to warn young people about the dangers of the journey across the Sahara."
)


def item(item_id: int, section: str, position: int, text: str, **fields: object) -> Item:
    return Item(item_id, section, position, text, f"https://news.example/{item_id}", **fields)


def edition() -> Edition:
    news = (
        item(12, "news", 1, GAMBIA, outlets=("AFP", "DPA")),
        item(15, "news", 2, "The Guardian reported that a rescue ship docked in Sicily."),
        item(16, "news", 3, "Reuters reported that Chad opened a third camp."),
    )
    trending = (item(20, "trending", 1, "BBC shared the story of Amal, a Syrian chef."),)
    alternates = (
        item(31, ALTERNATES, 1, "Le Monde a rapporté que « l’accueil » s’améliore."),
        item(32, ALTERNATES, 2, "El País informó que 300 personas llegaron a Canarias."),
    )
    return Edition(
        day=date(2026, 11, 25),
        status=Status.DRAFT,
        sections=(
            Section("news", "Migration in the News", news),
            Section("trending", "Trending on the Internet", trending),
        ),
        alternates=alternates,
    )


def doc(body: str) -> str:
    """A hand-written document: the header comments are optional."""
    return "# Migration in the News, 25 November 2026 (draft)\n" + body


def ids(section_items: tuple[Item, ...]) -> list[int]:
    return [i.id for i in section_items]


def problems_of(text: str, source: str = "draft.txt") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        apply_document(edition(), text, source=source)
    for problem in caught.value.problems:
        assert problem in str(caught.value)
    return caught.value.problems


# --- the document -------------------------------------------------------------------------


def test_document_starts_with_its_title_date_status_and_rules() -> None:
    text = to_document(edition())
    lines = text.splitlines()
    assert lines[0] == "# Migration in the News, 25 November 2026 (draft)"
    guide = []
    for line in lines[1:]:
        if not line.startswith("#"):
            break
        guide.append(line)
    rules = " ".join(guide)
    for words in ("Edit the text", "Move a block", "Delete a block", "[n] numbers", "ignored"):
        assert words in rules
    assert "== news: Migration in the News ==" in lines
    assert "== trending: Trending on the Internet ==" in lines
    assert lines.index("== alternates ==") > lines.index("== trending: Trending on the Internet ==")


def test_document_lists_items_in_order_under_their_sections() -> None:
    text = to_document(edition())
    starts = [int(m) for m in re.findall(r"^\[(\d+)\]", text, re.MULTILINE)]
    assert starts == [12, 15, 16, 20, 31, 32]
    assert "[20] BBC shared the story of Amal, a Syrian chef." in text


def test_long_text_wraps_into_indented_continuation_lines() -> None:
    lines = to_document(edition()).splitlines()
    first = next(n for n, line in enumerate(lines) if line.startswith("[12] "))
    block = [lines[first]]
    for line in lines[first + 1 :]:
        if not line.startswith(" "):
            break
        block.append(line)
    assert len(block) > 1
    assert all(len(line) <= WIDTH for line in block)
    assert all(line.startswith(" " * len("[12] ")) for line in block[1:])
    assert " ".join(part.strip() for part in block)[len("[12] ") :] == GAMBIA


def test_document_shows_sources_as_comments_and_marks_empty_sections() -> None:
    empty = replace(edition(), sections=(Section("trending", "Trending on the Internet"),))
    text = to_document(empty)
    assert re.search(r"^#.*no items", text, re.MULTILINE)
    full = to_document(edition())
    assert re.search(r"^#.*AFP, DPA.*https://news\.example/12", full, re.MULTILINE)


def test_title_with_a_line_break_stays_on_the_comment_line() -> None:
    odd = replace(edition(), title="Migration\nin the News")
    assert to_document(odd).splitlines()[0].startswith("# Migration in the News, 25 November")
    assert apply_document(odd, to_document(odd)) == (odd, ())


# --- round trip ---------------------------------------------------------------------------


def test_round_trip_is_unchanged() -> None:
    original = edition()
    assert apply_document(original, to_document(original)) == (original, ())


def test_round_trip_keeps_a_text_whose_spacing_the_document_normalises() -> None:
    spaced = item(12, "news", 1, "  AFP reported  that\nmigrants\tarrived.  ")
    original = replace(edition(), sections=(Section("news", "News", (spaced,)),))
    result, changes = apply_document(original, to_document(original))
    assert changes == ()
    assert result.sections[0].items[0].text == spaced.text


ids_strategy = st.lists(st.integers(1, 10**7), min_size=0, max_size=12, unique=True)
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300
).filter(lambda t: normalise(t) != "")
words = st.lists(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1),
    min_size=1,
    max_size=40,
).map(" ".join)


@st.composite
def editions(draw: st.DrawFn) -> Edition:
    all_ids = draw(ids_strategy)
    section_ids = draw(st.lists(st.sampled_from(["news", "trending", "featured"]), unique=True))
    where = [draw(st.sampled_from([*section_ids, ALTERNATES])) for _ in all_ids]
    title_text = st.one_of(st.just(""), texts)

    def items_in(place: str) -> tuple[Item, ...]:
        chosen = [i for i, w in zip(all_ids, where, strict=True) if w == place]
        return tuple(
            Item(i, place, n, draw(st.one_of(texts, words)), None, edited=draw(st.booleans()))
            for n, i in enumerate(chosen, 1)
        )

    sections = tuple(Section(s, draw(title_text), items_in(s)) for s in section_ids)
    return Edition(
        day=draw(st.dates()),
        status=draw(st.sampled_from(list(Status))),
        sections=sections,
        alternates=items_in(ALTERNATES),
        title=draw(texts),
    )


@given(editions())
@settings(max_examples=200, deadline=None)
def test_round_trip_property(original: Edition) -> None:
    assert apply_document(original, to_document(original)) == (original, ())


@given(editions())
@settings(max_examples=50, deadline=None)
def test_round_trip_with_crlf_line_endings(original: Edition) -> None:
    text = to_document(original).replace("\n", "\r\n")
    assert apply_document(original, text) == (original, ())


@st.composite
def edits(draw: st.DrawFn) -> tuple[Edition, Edition]:
    """An edition and the arrangement an editor saved: blocks moved, deleted, rewritten."""
    original = draw(editions())
    places = [s.id for s in original.sections] + [ALTERNATES, "deleted"]
    every = [*original.items(), *original.alternates]
    destination = {i.id: draw(st.sampled_from(places)) for i in every}
    order = draw(st.permutations(every))
    rewrites = {i.id: draw(st.one_of(st.none(), texts)) for i in every}

    def saved(place: str) -> tuple[Item, ...]:
        return tuple(
            replace(i, text=rewrites[i.id] or i.text) for i in order if destination[i.id] == place
        )

    sections = tuple(replace(s, items=saved(s.id)) for s in original.sections)
    return original, replace(original, sections=sections, alternates=saved(ALTERNATES))


@given(edits())
@settings(max_examples=200, deadline=None)
def test_applying_an_arrangement_puts_every_item_where_the_document_says(
    case: tuple[Edition, Edition],
) -> None:
    original, target = case
    result, changes = apply_document(original, to_document(target))
    listed = {i.id for i in (*target.items(), *target.alternates)}
    for got, wanted in zip(result.sections, target.sections, strict=True):
        assert (got.id, got.title) == (wanted.id, wanted.title)
        assert ids(got.items) == ids(wanted.items)
    unlisted_alternates = [i.id for i in original.alternates if i.id not in listed]
    removed = [i.id for i in original.items() if i.id not in listed]
    assert ids(result.alternates) == ids(target.alternates) + unlisted_alternates + removed

    before = {i.id: i for i in (*original.items(), *original.alternates)}
    changed = {c.item_id for c in changes}
    for section_id, items in [(s.id, s.items) for s in result.sections] + [
        (ALTERNATES, result.alternates)
    ]:
        assert [i.position for i in items] == list(range(1, len(items) + 1))
        for got in items:
            old = before[got.id]
            assert got.section == section_id
            assert normalise(got.text) == normalise(_saved_text(target, got.id) or old.text)
            assert got.edited == (old.edited or got.id in changed)
            if normalise(got.text) == normalise(old.text):
                assert got.text == old.text
    for change in changes:
        _check_change(change, before[change.item_id], result)


def _saved_text(target: Edition, item_id: int) -> str | None:
    return next((i.text for i in (*target.items(), *target.alternates) if i.id == item_id), None)


def _check_change(change: Change, old: Item, result: Edition) -> None:
    new = next(i for i in (*result.items(), *result.alternates) if i.id == change.item_id)
    expected_kind = {
        (True, False): "promoted",
        (False, True): {"demoted", "removed"},
        (False, False): "moved",
    }
    if change.kind in {"promoted", "demoted", "removed", "moved"}:
        assert old.section != new.section
        kinds = expected_kind[(old.section == ALTERNATES, new.section == ALTERNATES)]
        assert change.kind in kinds
    elif change.kind == "reordered":
        assert old.section == new.section
    else:
        assert change.kind == "rewritten"
        assert normalise(new.text) != normalise(old.text)


# --- applying edits -----------------------------------------------------------------------


def test_reordering_reports_only_the_block_the_editor_moved() -> None:
    original = edition()
    chad = "[16] Reuters reported that Chad opened a third camp.\n"
    text = to_document(original).replace(chad, "").replace("[12] ", chad + "[12] ")
    result, changes = apply_document(original, text)
    news = result.sections[0].items
    assert [(i.id, i.position) for i in news] == [(16, 1), (12, 2), (15, 3)]
    assert changes == (Change("reordered", 16, "in news, from position 3 to 1"),)
    assert [i.edited for i in news] == [True, False, False]
    assert ids(result.alternates) == [31, 32]


def test_deleting_a_block_sends_the_item_to_the_alternates() -> None:
    original = edition()
    text = to_document(original).replace(
        "[15] The Guardian reported that a rescue ship docked in Sicily.\n", ""
    )
    result, changes = apply_document(original, text)
    assert ids(result.sections[0].items) == [12, 16]
    assert [i.position for i in result.sections[0].items] == [1, 2]
    assert ids(result.alternates) == [31, 32, 15]
    gone = result.alternates[-1]
    assert (gone.section, gone.position, gone.edited) == (ALTERNATES, 3, True)
    assert changes == (Change("removed", 15, "from news to alternates"),)


def test_a_rewritten_text_is_joined_from_its_lines_and_marked_edited() -> None:
    original = edition()
    new = (
        "[15] The Guardian reported that the Ocean Viking   \n"
        "     docked in Catania   \n"
        "\n"
        "# a comment inside the block is ignored\n"
        "\t with 74 people on board.  \n"
    )
    text = to_document(original).replace(
        "[15] The Guardian reported that a rescue ship docked in Sicily.\n", new
    )
    result, changes = apply_document(original, text)
    rewritten = result.sections[0].items[1]
    expected = (
        "The Guardian reported that the Ocean Viking docked in Catania with 74 people on board."
    )
    assert (rewritten.id, rewritten.text, rewritten.edited) == (15, expected, True)
    assert changes == (Change("rewritten", 15, expected),)


def test_whitespace_only_differences_are_not_rewrites() -> None:
    original = edition()
    text = to_document(original).replace(
        "[20] BBC shared the story of Amal, a Syrian chef.",
        "[20]   BBC shared the story\n        of Amal,  a Syrian\tchef.   ",
    )
    assert apply_document(original, text) == (original, ())


def test_moving_a_block_to_another_section() -> None:
    original = edition()
    text = doc(
        "== news: Migration in the News ==\n"
        f"[12] {GAMBIA}\n[16] Reuters reported that Chad opened a third camp.\n"
        "== trending: Trending on the Internet ==\n"
        "[15] The Guardian reported that a rescue ship docked in Sicily.\n"
        "[20] BBC shared the story of Amal, a Syrian chef.\n"
        "== alternates ==\n"
    )
    result, changes = apply_document(original, text)
    assert ids(result.sections[1].items) == [15, 20]
    moved = result.sections[1].items[0]
    assert (moved.section, moved.position, moved.edited) == ("trending", 1, True)
    assert result.sections[1].items[1].edited is False
    assert changes == (Change("moved", 15, "from news to trending"),)


def test_promoting_and_demoting() -> None:
    original = edition()
    text = to_document(original)
    alt = "[31] Le Monde a rapporté que « l’accueil » s’améliore.\n"
    chad = "[16] Reuters reported that Chad opened a third camp.\n"
    text = text.replace(alt, "").replace(chad, alt)
    text = text.replace("== alternates ==\n", "== alternates ==\n" + chad)
    result, changes = apply_document(original, text)
    assert ids(result.sections[0].items) == [12, 15, 31]
    assert ids(result.alternates) == [16, 32]
    promoted = result.sections[0].items[2]
    assert (promoted.section, promoted.position, promoted.edited) == ("news", 3, True)
    assert result.alternates[0].section == ALTERNATES and result.alternates[0].edited
    assert set(changes) == {
        Change("promoted", 31, "from alternates to news"),
        Change("demoted", 16, "from news to alternates"),
    }


def test_deleting_an_alternate_block_keeps_it_an_alternate() -> None:
    original = edition()
    text = to_document(original).replace(
        "[31] Le Monde a rapporté que « l’accueil » s’améliore.\n", ""
    )
    result, changes = apply_document(original, text)
    assert changes == ()
    assert ids(result.alternates) == [32, 31]
    assert not any(i.edited for i in result.alternates)


def test_an_already_edited_item_stays_edited() -> None:
    news = (item(12, "news", 1, "Edited by hand.", edited=True),)
    original = replace(edition(), sections=(Section("news", "News", news),), alternates=())
    result, _ = apply_document(original, doc("== news ==\n[12] Edited by hand.\n"))
    assert result.sections[0].items[0].edited is True


def test_headers_are_matched_loosely_and_titles_are_for_reading_only() -> None:
    original = edition()
    text = to_document(original)
    text = text.replace("== news: Migration in the News ==", "==  NEWS : A new name")
    text = text.replace("== trending: Trending on the Internet ==", "== trending ==")
    result, changes = apply_document(original, text)
    assert (result, changes) == (original, ())


def test_unicode_is_preserved() -> None:
    original = edition()
    # no-break spaces (French typography) are content, not blanks to normalise
    fancy = "Libération a écrit «\u00a0l’exil\u00a0» — “quoted” 🌍 ‘ñandú’ 移民"
    text = to_document(original).replace("Reuters reported that Chad opened a third camp.", fancy)
    result, changes = apply_document(original, text)
    assert result.sections[0].items[2].text == fancy
    assert changes == (Change("rewritten", 16, fancy),)
    assert result.alternates[0].text == original.alternates[0].text


def test_crlf_and_a_byte_order_mark_are_read_like_plain_line_breaks() -> None:
    original = edition()
    text = "\ufeff" + to_document(original).replace("\n", "\r\n")
    text = text.replace("[16] Reuters reported that Chad", "[16] Reuters said that\r\n     Chad")
    result, changes = apply_document(original, text)
    assert result.sections[0].items[2].text == "Reuters said that Chad opened a third camp."
    assert [c.kind for c in changes] == ["rewritten"]
    assert "\r" not in result.sections[0].items[2].text


# --- refused documents --------------------------------------------------------------------


def test_every_problem_is_reported_with_its_line_and_nothing_is_applied() -> None:
    text = doc(
        "[12] Before any header.\n"  # 2
        "== news ==\n"  # 3
        "[99] Not in this edition.\n"  # 4
        "[15] The Guardian.\n"  # 5
        "[15] Again.\n"  # 6
        "15] A broken number.\n"  # 7
        "[abc] Not a number.\n"  # 8
        "Text that should have been indented.\n"  # 9
        "[16]   \n"  # 10
        "== sports: Football ==\n"  # 11
        "[20] Under an unknown header.\n"  # 12
        "== news ==\n"  # 13
        "==\n"  # 14
    )
    problems = problems_of(text)
    lines = [int(p.split(":")[1]) for p in problems]
    assert lines == [2, 4, 6, 7, 8, 9, 10, 11, 13, 14]
    assert all(p.startswith("draft.txt:") for p in problems)
    by_line = dict(zip(lines, problems, strict=True))
    assert "before the first section header" in by_line[2]
    assert "no item 99" in by_line[4]
    assert "appears twice (first at line 5)" in by_line[6]
    assert "cannot read this line" in by_line[7] and "[12]" in by_line[7]
    assert "[12] text" in by_line[8]
    assert "cannot read this line" in by_line[9] and "indent" in by_line[9]
    assert "item 16 has no text" in by_line[10]
    assert "unknown section 'sports'" in by_line[11] and "news, trending" in by_line[11]
    assert "section 'news' appears twice (first at line 3)" in by_line[13]
    assert "names its section" in by_line[14]


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("  indented before any item\n== news ==\n", 2, "does not continue an item"),
        ("== news ==\n    orphan continuation\n", 3, "does not continue an item"),
        ("== Alternates ==\n[31]\n", 3, "item 31 has no text"),
        ("== news ==\n[12] one\n== trending ==\n[12] two\n", 5, "item 12 appears twice"),
        ("== news ==\n[ 15 ]\n", 3, "item 15 has no text"),
    ],
)
def test_single_problems(body: str, line: int, words: str) -> None:
    problems = problems_of(doc(body), source="edit.txt")
    assert len(problems) == 1
    assert problems[0].startswith(f"edit.txt:{line}: ")
    assert words in problems[0]


def test_one_problem_is_the_whole_message() -> None:
    with pytest.raises(ConfigError) as caught:
        apply_document(edition(), doc("== news ==\n[77] x\n"))
    assert str(caught.value) == "<edited>:3: there is no item 77 in this edition" + (
        " (keep the numbers as written)"
    )


def test_continuation_lines_of_a_refused_item_are_not_reported_again() -> None:
    problems = problems_of(doc("== news ==\n[77] x\n     more of it\n     and more\n"))
    assert len(problems) == 1


def test_problem_lines_count_crlf_lines_once() -> None:
    text = doc("== news ==\n\n[77] x\n").replace("\n", "\r\n")
    assert problems_of(text)[0].startswith("draft.txt:4: ")


def test_an_edition_with_duplicate_ids_is_a_bug() -> None:
    twice = (item(12, "news", 1, "a"), item(12, "news", 2, "b"))
    broken = replace(edition(), sections=(Section("news", "News", twice),))
    with pytest.raises(ValueError, match="12"):
        apply_document(broken, "")
