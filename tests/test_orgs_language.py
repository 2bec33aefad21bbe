"""Organisation mentions, language detection and whole-word matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.config import OrganizationSettings
from aggregator.process.language import detect
from aggregator.process.matcher import PhraseIndex, fold, tokenize
from aggregator.process.orgs import MentionKind, OrgFinder

IOM = OrganizationSettings()


@pytest.fixture(scope="module")
def finder() -> OrgFinder:
    return OrgFinder(IOM.name, IOM.aliases)


@pytest.mark.parametrize(
    ("text", "kind", "person"),
    [
        (
            "IOM's Joel Millman said the route was the deadliest.",
            MentionKind.QUOTED,
            "Joel Millman",
        ),
        (
            '"We are alarmed," said Safa Msehli, a spokesperson for the International Organization'
            " for Migration.",
            MentionKind.QUOTED,
            "Safa Msehli",
        ),
        ("IOM Director General Amy Pope warned of cuts.", MentionKind.QUOTED, "Amy Pope"),
        (
            "La porte-parole de l'OIM, Jane Doe, a affirmé que la situation était grave.",
            MentionKind.QUOTED,
            "Jane Doe",
        ),
        ("At least 61 migrants drowned, according to IOM.", MentionKind.CITED_FIGURES, None),
        ("La OIM registró 1.200 muertes en la ruta canaria.", MentionKind.CITED_FIGURES, None),
        ("The UN Migration Agency welcomed the decision.", MentionKind.REFERENCED, None),
    ],
)
def test_how_the_organisation_is_mentioned(finder, text, kind, person):
    (mention,) = finder.find("", text)
    assert (mention.kind, mention.person) == (kind, person)


def test_strongest_mention_first_and_no_false_hits(finder):
    text = "IOM welcomed the talks. According to IOM, 3,000 people crossed. Biom shares rose."
    mentions = finder.find("", text)
    assert [m.kind for m in mentions] == [MentionKind.CITED_FIGURES, MentionKind.REFERENCED]
    assert finder.find("Biomass and bio-IOMX", "Nothing about the agency.") == ()


def test_lower_case_acronym_is_not_the_organisation(finder):
    assert finder.find("", "The oim of the engine was replaced.") == ()


@pytest.mark.parametrize(
    ("text", "declared", "expected"),
    [
        ("Migrants rescued off the coast of Libya after their boat sank", None, "en"),
        ("Des migrants secourus au large de la Libye après le naufrage", None, "fr"),
        ("Rescatan a migrantes frente a Libia", "es", "es"),
        ("Migranten an der Grenze zu Polen festgenommen worden", None, "de"),
        ("", "fr-FR", "fr"),
        ("", None, "und"),
    ],
)
def test_language(text, declared, expected):
    assert detect(text, declared).code == expected


def test_long_text_overrides_a_wrong_declaration():
    text = (
        "Les autorités italiennes ont annoncé mardi que plus de mille personnes avaient été"
        " secourues en mer au cours du week-end, selon les garde-côtes."
    )
    assert detect(text, "en").code == "fr"


def test_matching_is_whole_word_accent_and_case_insensitive():
    index: PhraseIndex[str] = PhraseIndex()
    index.add("réfugiés", "r")
    index.add("asylum seekers", "a")
    index.add("ICE", "ice")
    found = index.scan(tokenize("Refugies, ASYLUM-SEEKERS and ICE agents; ice rinks; refugiesX"))
    assert [h.values for h in found] == [("r",), ("a",), ("ice",)]


def test_longest_phrase_wins():
    index: PhraseIndex[str] = PhraseIndex()
    index.add("trata", "short")
    index.add("se trata de", "neutral")
    index.add("trata de personas", "long")
    assert [h.values for h in index.scan(tokenize("Se trata de un caso"))] == [("neutral",)]
    assert [h.values for h in index.scan(tokenize("la trata de personas"))] == [("long",)]


@given(st.text(max_size=200))
def test_tokenize_spans_are_the_words_as_written(text):
    tokens = tokenize(text)
    for i, word in enumerate(tokens.raw):
        assert tokens.span(text, i, i + 1) == word
        assert fold(word) == fold(fold(word))
