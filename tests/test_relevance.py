"""The relevance filter: the labelled development set, the traps, the explanations."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.errors import TaxonomyError
from aggregator.process.evaluate import evaluate, read_examples
from aggregator.process.relevance import Classifier, Role, Rules
from aggregator.process.taxonomy import load_taxonomy

DEV = Path(__file__).parent / "fixtures" / "relevance" / "dev.jsonl"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(load_taxonomy())


def test_dev_set_is_large_multilingual_and_trap_heavy():
    examples = read_examples(DEV)
    assert len(examples) >= 150
    assert {e.language for e in examples} == {"en", "fr", "es"}
    negatives = [e for e in examples if not e.label]
    assert len(negatives) >= len(examples) / 3


def test_precision_and_recall_on_the_dev_set(classifier):
    result = evaluate(classifier, read_examples(DEV))
    missed = [(e.title, why) for e, why in result.errors]
    assert result.overall.precision >= 0.95, missed
    assert result.overall.recall >= 0.90, missed
    for language, counts in result.by_language.items():
        assert counts.precision >= 0.9 and counts.recall >= 0.85, (language, missed)


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Spring migrants arrive early", "Birders counted 20 species of warblers at the point."),
        ("Refugees from Twitter flock to Bluesky", "Millions of users left the platform."),
        ("Cloud migration costs soar", "Firms moving databases to AWS face bills."),
        ("Cell migration study", "Neutrophil migration in tumours was tracked in mice."),
        ("Se trata de un récord", "El Real Madrid ganó el partido de fútbol con un gol."),
        ("Trafic perturbé sur l'A7", "Les embouteillages s'allongent sur l'autoroute du soleil."),
        ("Asilo de ancianos", "Un incendio obligó a evacuar el asilo de ancianos de Toledo."),
        (
            "Passeur décisif, Mbappé brille",
            "L'attaquant a offert deux passes décisives en Ligue 1.",
        ),
        ("Un chevreuil réfugié dans un magasin", "L'animal s'était réfugié dans les rayons."),
        ("Tourist boat capsizes on lake", "All 30 passengers were rescued by the rescue teams."),
    ],
)
def test_traps_are_not_relevant(classifier, title, text):
    decision = classifier.classify(title, text)
    assert not decision.relevant, decision


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Migrants rescued off Libya", "The coast guard said 120 people were on the boat."),
        ("Naufrage au large de Lampedusa", "Au moins 40 migrants sont portés disparus."),
        ("Deportaciones masivas", "Estados Unidos deportó a 200 venezolanos este lunes."),
        ("Boat capsizes off Djibouti", "A vessel carrying Ethiopians bound for Yemen sank."),
        ("TPS for Haitians ends", "Some 500,000 Haitians could lose temporary protected status."),
    ],
)
def test_migration_news_is_relevant(classifier, title, text):
    decision = classifier.classify(title, text)
    assert decision.relevant, decision


def test_the_explanation_names_terms_places_and_traps(classifier):
    decision = classifier.classify(
        "Migrants drown off Lampedusa", "Birders were not there; 30 asylum seekers drowned."
    )
    kinds = {(m.term, m.role, m.where) for m in decision.matches}
    assert ("migrants", Role.CORE, "title") in kinds
    assert ("asylum seekers", Role.KEYWORD, "lead") in kinds
    assert any(m.role is Role.TRAP and m.term == "birders" for m in decision.matches)
    assert "central_mediterranean" in decision.routes
    assert decision.reason.startswith("score")


def test_a_hit_deep_in_the_body_weighs_little(classifier):
    filler = "The council met to discuss the budget for parks and roads. " * 30
    decision = classifier.classify("City budget approved", filler + "Refugees were mentioned.")
    assert not decision.relevant
    assert [m.where for m in decision.matches if m.term == "refugees"] == ["body"]


def test_ambiguous_terms_need_context(classifier):
    assert not classifier.classify(
        "Border reopens", "Trucks queued for hours at the border."
    ).relevant
    assert classifier.classify(
        "Border reopens", "Migrants queued for hours at the border crossing."
    ).relevant


def test_case_sensitive_acronyms(classifier):
    ice_storm = classifier.classify("Drivers warned", "Black ice and an ice storm hit Ohio roads.")
    assert not ice_storm.relevant
    raid = classifier.classify("ICE arrests 80 migrants", "Agents detained workers at a plant.")
    assert raid.relevant


def test_topics_and_routes_of_a_relevant_item(classifier):
    decision = classifier.classify(
        "Smugglers' boat capsizes in the Channel",
        "Migrants crossing from Calais in small boats; people smugglers were arrested.",
    )
    assert decision.relevant
    assert "migrant_smuggling" in decision.topics
    assert "english_channel" in decision.routes


def test_source_rules(classifier):
    title, text = "Weekly roundup", "The ministry published its budget."
    assert classifier.classify(title, text, rules=Rules(trusted=True)).relevant
    migrants = ("Migrants rescued", "120 migrants were rescued at sea.")
    excluded = classifier.classify(*migrants, rules=Rules(exclude=("rescued",)))
    assert not excluded.relevant and "excluded" in excluded.reason
    included = classifier.classify(*migrants, rules=Rules(include=("Mediterranean",)))
    assert not included.relevant and "include" in included.reason
    assert classifier.classify(*migrants, rules=Rules(include=("migrants",))).relevant


def test_a_section_url_counts_as_a_trap(classifier):
    plain = classifier.classify("Transfer news", "The refugee striker signed for the club.")
    in_sport = classifier.classify(
        "Transfer news",
        "The refugee striker signed for the club.",
        url="https://example.com/sport/football/123",
    )
    assert in_sport.score < plain.score
    assert any(m.group == "section" for m in in_sport.traps)


def test_an_edited_taxonomy_is_used(tmp_path):
    path = tmp_path / "taxonomy.yaml"
    path.write_text(
        "version: 1\ncore:\n  en: [wanderers]\ntopics:\n  - id: t\n    label: T\n",
        encoding="utf-8",
    )
    classifier = Classifier(load_taxonomy(path))
    assert classifier.classify("Wanderers arrive", "").relevant
    assert not classifier.classify("Migrants arrive", "").relevant


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 1\ncore: {en: [a]}\ntopics:\n  - id: t\n    labl: T\n", ":5: topics.0.labl"),
        ("version: 1\ncore: {en: [a]}\ntopics: []\ntraps: [{id: x}]\n", ":4: traps.0"),
        ("version: [\n", "taxonomy.yaml:"),
        (
            "version: 1\ncore: {en: [a]}\ntopics: [{id: t, label: T}, {id: t, label: U}]\n",
            "topic id 't' is used twice",
        ),
    ],
)
def test_a_bad_taxonomy_names_file_and_line(tmp_path, text, message):
    path = tmp_path / "taxonomy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(path)
    assert message in str(caught.value) or any(message in p for p in caught.value.problems)


def test_evaluation_reports_a_bad_line(tmp_path):
    from aggregator.errors import ConfigError

    path = tmp_path / "labels.jsonl"
    path.write_text('{"title": "a", "text": "b", "label": true}\n{"title": "c"\n', "utf-8")
    with pytest.raises(ConfigError, match=r"labels.jsonl:2: not JSON"):
        read_examples(path)
