from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.process.sentence import (
    Clause,
    Verb,
    compose,
    join_outlets,
    lead_clause,
    lead_dateline,
    org_sentence,
    word_count,
)
from aggregator.process.sentence_split import split_sentences

PUBLISHED = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)  # a Tuesday
PROPER = frozenset(
    "Italian Italy Gambian Gambia Libya Libyan IOM Lampedusa Guinean Lyon Syrian Greek Greece "
    "Mexico Mexican Tapachula Veracruz Frontex UNHCR Somali Afghan Sudan Chad Niger".split()
) | {"South Sudan", "Sea-Watch", "Médecins Sans Frontières"}
VERBS = {"en": "reported that", "fr": "a rapporté qu", "es": "informó que"}


def house_style(outlet: str, lead: str, language: str = "en", **kwargs: object) -> str:
    clause = lead_clause(
        lead, language=language, published=PUBLISHED, proper_words=PROPER, **kwargs
    )
    assert clause is not None
    sentence = compose([outlet], clause, language=language)
    assert sentence.startswith(f"{outlet} {VERBS[language]}")
    assert sentence.endswith(".") and not sentence.endswith("..")
    assert "…" not in sentence and "<" not in sentence
    assert len(split_sentences(sentence)) == 1, sentence
    assert 14 <= word_count(clause.text) <= 45, clause.text
    return sentence


EN_LEADS = [
    # (outlet, lead, must contain, must not contain)
    (
        "AFP",
        "DAKAR, Senegal (AP) — Gambian migrants who suffered abuses in Libya have formed a "
        "group to warn young people about the dangers of the journey, its founder said.",
        "that Gambian migrants who suffered",
        ["DAKAR", "(AP)", "—"],
    ),
    (
        "Reuters",
        "By Emma Farge\nGENEVA, Nov 24 (Reuters) - The number of migrants who died crossing "
        "the Mediterranean this year has passed 2,000, the International Organization for "
        "Migration said on Tuesday.",
        "that the number of migrants",
        ["Emma Farge", "GENEVA", "Tuesday"],
    ),
    (
        "The Guardian",
        "<p>Updated 24 November 2026 10:32 GMT</p><figure><figcaption>Rescued migrants at "
        "Lampedusa. Photo: Yara Nardi/Reuters</figcaption></figure><p>Italy&#8217;s coast "
        "guard rescued 257 migrants off Lampedusa on Sunday night after their overcrowded "
        "boat began taking on water in rough seas.</p>",
        "that Italy's coast guard rescued 257 migrants off Lampedusa on the night of 22 November",
        ["Updated", "Photo", "Sunday", "&#"],
    ),
    (
        "BBC",
        "Listen to this article\nAdvertisement\nFILE PHOTO: Migrants sit in a dinghy "
        "REUTERS/Stringer/File Photo\nU.S. officials said on Monday that Mr. Smith had "
        "approved a plan to expand detention capacity by 3.5 per cent at the No. 10 facility "
        "in El Paso.",
        "that U.S. officials said on 23 November that Mr. Smith had approved",
        ["Listen", "Advertisement", "FILE PHOTO"],
    ),
    (
        "Al Jazeera",
        "“We have nothing left,” she said. More than 3,000 migrants have been stranded in the "
        "southern Mexican city of Tapachula for weeks, waiting for documents to travel north.",
        "that more than 3,000 migrants",
        ["We have nothing"],
    ),
    (
        "NBC",
        "What happens to the children? Yesterday, the Department of Homeland Security said it "
        "had reunited 120 migrant children with their parents, months after a court ordered "
        "it to do so.",
        "that on 23 November, the Department of Homeland Security said",
        ["?", "Yesterday"],
    ),
    (
        "ANSA",
        "EXCLUSIVE: The Italian government has approved a decree that allows migrants rescued "
        "at sea to be held for up to 18 months in centres in Albania while their asylum "
        "requests are examined, according to documents seen by the agency.",
        "that the Italian government has approved",
        ["EXCLUSIVE"],
    ),
    (
        "Xinhua",
        "N'DJAMENA, Chad, Nov. 24 (Xinhua) -- Chad has received more than 600,000 refugees "
        "from neighbouring Sudan since the war began, according to UNHCR figures released on "
        "Monday.",
        "that Chad has received more than 600,000 refugees",
        ["Xinhua", "N'DJAMENA"],
    ),
]


@pytest.mark.parametrize(("outlet", "lead", "expected", "absent"), EN_LEADS)
def test_english_leads_follow_house_style(
    outlet: str, lead: str, expected: str, absent: list[str]
) -> None:
    sentence = house_style(outlet, lead)
    assert expected in sentence
    for fragment in absent:
        assert fragment not in sentence.removeprefix(outlet)


def test_long_lead_is_cut_at_a_clause_boundary_keeping_the_attribution() -> None:
    lead = (
        "The Greek coast guard said it had recovered the bodies of 14 people, including four "
        "children, after a wooden boat carrying dozens of Afghan and Syrian migrants capsized "
        "in rough seas off the island of Lesbos early in the morning, which was the deadliest "
        "shipwreck in the Aegean this year, according to the International Organization for "
        "Migration."
    )
    sentence = house_style("AP", lead)
    assert "which was the deadliest" not in sentence
    assert sentence.endswith(", according to the International Organization for Migration.")
    assert word_count(sentence) - 3 <= 45


def test_long_lead_cut_never_leaves_a_quote_open() -> None:
    lead = (
        'Officials said the government would "continue to do everything possible, which '
        'includes new patrols, to stop the boats" from leaving the coast of northern France, '
        "where thousands of people wait for a chance to cross the Channel to reach Britain, "
        "while charities warn of rising deaths at sea."
    )
    sentence = house_style("The Independent", lead)
    assert sentence.count('"') % 2 == 0


FR_LEADS = [
    (
        "AFP",
        "PARIS, 25 nov 2026 (AFP) - Plus de 200 migrants ont été secourus hier au large de "
        "Lampedusa par les garde-côtes italiens, a indiqué l'Organisation internationale pour "
        "les migrations.",
        "AFP a rapporté que plus de 200 migrants ont été secourus le 23 novembre",
    ),
    (
        "Le Monde",
        "Par Julia Pascual\nMis à jour le 24 novembre 2026 à 10h32\nLe gouvernement a présenté "
        "lundi un projet de loi qui durcit les conditions du regroupement familial pour les "
        "étrangers installés en France.",
        "Le Monde a rapporté que le gouvernement a présenté le 23 novembre un projet de loi",
    ),
    (
        "RFI",
        "Il y a 2 heures\nIls étaient plus de quarante à bord d'une embarcation partie des côtes "
        "libyennes dans la nuit de dimanche à lundi, selon les secouristes de Sea-Watch.",
        "RFI a rapporté qu'ils étaient plus de quarante",
    ),
]


@pytest.mark.parametrize(("outlet", "lead", "expected"), FR_LEADS)
def test_french_leads(outlet: str, lead: str, expected: str) -> None:
    sentence = house_style(outlet, lead, language="fr")
    assert sentence.startswith(expected)
    assert "Par Julia" not in sentence and "Mis à jour" not in sentence


def test_french_night_span_is_resolved() -> None:
    sentence = house_style("RFI", FR_LEADS[2][1], language="fr")
    assert "dans la nuit du 22 au 23 novembre" in sentence


ES_LEADS = [
    (
        "EFE",
        "Ciudad de México, 24 nov (EFE).- Las autoridades mexicanas rescataron el lunes a 150 "
        "migrantes centroamericanos que viajaban hacinados en un camión en el estado de "
        "Veracruz.",
        "EFE informó que las autoridades mexicanas rescataron el 23 de noviembre a 150",
    ),
    (
        "El País",
        "Por María Martín\nActualizado 24 nov 2026 - 10:32 CET\nAyer por la noche llegaron a "
        "Canarias cinco cayucos con más de 400 personas a bordo, según Salvamento Marítimo, "
        "que coordinó los rescates.",
        "El País informó que la noche del 23 de noviembre llegaron a Canarias",
    ),
]


@pytest.mark.parametrize(("outlet", "lead", "expected"), ES_LEADS)
def test_spanish_leads(outlet: str, lead: str, expected: str) -> None:
    sentence = house_style(outlet, lead, language="es")
    assert sentence.startswith(expected)
    assert "Por María" not in sentence and "Actualizado" not in sentence


@pytest.mark.parametrize(
    ("lead", "start"),
    [
        (
            "The Italian coast guard rescued 40 migrants off Lampedusa after their boat began to "
            "sink in rough seas on the way from Libya.",
            "the Italian coast guard",
        ),
        (
            "Gambian migrants who suffered abuses in Libya have formed a group to warn young "
            "people in their villages about the journey north.",
            "Gambian migrants",
        ),
        (
            "IOM said more than 2,000 people have died on the Central Mediterranean route this "
            "year, the highest toll since the agency began counting.",
            "IOM said",
        ),
        (
            "Joe Biden signed an order on the border that limits asylum claims when crossings "
            "exceed a daily average, drawing criticism from rights groups.",
            "Joe Biden",
        ),
        (
            "Police in Calais dismantled a camp where about 600 migrants had been living for "
            "weeks, charities said, adding that tents had been confiscated.",
            "police in Calais",
        ),
        (
            "Rescuers searched for survivors after a boat carrying at least 60 people sank off "
            "the coast of Djibouti, officials said, with 20 still missing.",
            "rescuers searched",
        ),
        (
            "Border Force officers intercepted three small boats carrying 150 people in the "
            "Channel, the Home Office said, as crossings continue to rise.",
            "Border Force",
        ),
        (
            "Some Syrian refugees in Lebanon have begun returning home despite warnings that the "
            "conditions for safe and dignified return are not yet met.",
            "some Syrian",
        ),
        (
            "Hundreds of migrants stormed the border fence in Melilla, a Spanish enclave, in the "
            "largest attempt to cross the fence this year, officials said.",
            "hundreds of",
        ),
        (
            "Frontex said irregular crossings into the European Union fell by a third in the "
            "first ten months of the year, driven by fewer arrivals.",
            "Frontex said",
        ),
    ],
)
def test_first_word_case(lead: str, start: str) -> None:
    sentence = house_style("AFP", lead)
    assert sentence.startswith(f"AFP reported that {start}")


def test_capital_kept_when_text_uses_the_word_as_a_name() -> None:
    lead = (
        "Salvini told reporters on Monday that the charity ships would be kept out of Italian "
        "ports for good. Critics said "
        "Salvini was using the migrants for political gain ahead of the elections."
    )
    assert "that Salvini told" in house_style("ANSA", lead)


def test_common_word_lowered_when_text_uses_it_in_lower_case() -> None:
    lead = (
        "Coastguards found the bodies of nine people on a beach near Tripoli on Monday, and "
        "the coastguards said more could be missing at sea after the storm."
    )
    assert "that coastguards found" in house_style("AFP", lead)


def test_shared_story_for_a_named_person() -> None:
    lead = (
        "Amina Diallo, a 24-year-old Guinean refugee, opened a bakery in Lyon after years of "
        "waiting for her papers, and now employs six people."
    )
    clause = lead_clause(lead, published=PUBLISHED, proper_words=PROPER, trending=True)
    assert clause is not None and clause.verb is Verb.SHARED_STORY
    sentence = compose(["The Guardian"], clause)
    assert sentence.startswith(
        "The Guardian shared the story of Amina Diallo, a 24-year-old Guinean refugee who "
        "opened a bakery in Lyon"
    )
    assert sentence.endswith(".") and len(split_sentences(sentence)) == 1


def test_story_is_not_told_of_an_organisation_or_without_trending() -> None:
    lead = (
        "Médecins Sans Frontières, a medical charity, said its ship rescued 120 people in two "
        "operations off Libya over the weekend."
    )
    clause = lead_clause(lead, proper_words=PROPER, trending=True)
    assert clause is not None and clause.verb is Verb.REPORTED_THAT
    person = "Amina Diallo, a 24-year-old refugee, opened a bakery in Lyon after years of waiting."
    plain = lead_clause(person, proper_words=PROPER)
    assert plain is not None and plain.verb is Verb.REPORTED_THAT


def test_reported_about_for_a_wh_title() -> None:
    clause = lead_clause(
        "“I cook what my mother cooked,” says Ahmad.",
        title="How refugee chefs are changing the food of Paris - The Guardian",
        trending=True,
    )
    assert clause is not None and clause.verb is Verb.REPORTED_ABOUT
    assert compose(["The Guardian"], clause) == (
        "The Guardian reported about how refugee chefs are changing the food of Paris."
    )


def test_relative_days_are_dropped_without_a_published_date() -> None:
    lead = (
        "On Monday, the Italian coast guard rescued 257 migrants off Lampedusa after their "
        "overcrowded boat began taking on water in rough seas."
    )
    clause = lead_clause(lead, proper_words=PROPER)
    assert clause is not None
    assert clause.text.startswith("the Italian coast guard")
    assert "Monday" not in clause.text


def test_year_is_written_when_it_differs() -> None:
    lead = (
        "Migrants who crossed the border on Wednesday were sent back within hours, lawyers "
        "representing several of the families said in a statement."
    )
    clause = lead_clause(lead, published=datetime(2027, 1, 1, tzinfo=UTC))
    assert clause is not None and "on 30 December 2026" in clause.text


def test_fallback_to_a_short_sentence_and_to_the_title() -> None:
    clause = lead_clause("Migrants are stranded in Tapachula.")
    assert clause is not None and clause.text == "migrants are stranded in Tapachula"
    from_title = lead_clause("", title="Italy rescues 200 migrants off Lampedusa | ANSA")
    assert from_title is not None and from_title.text.endswith("off Lampedusa")
    assert lead_clause("   ") is None
    assert lead_clause("<p>Advertisement</p><p>Share this article</p>") is None


def test_unbreakable_long_sentence_is_cut_to_45_words() -> None:
    lead = " ".join(["migrants"] + ["walked"] * 80) + "."
    clause = lead_clause(lead)
    assert clause is not None and word_count(clause.text) <= 45


def test_compose_templates_and_outlets() -> None:
    clause = Clause("il a rejoint l'Italie", Verb.REPORTED_THAT, "")
    assert compose(["AFP", "Reuters"], clause, language="fr") == (
        "AFP et Reuters ont rapporté qu'il a rejoint l'Italie."
    )
    spanish = Clause("llegaron 40 migrantes", Verb.REPORTED_THAT, "")
    assert compose(["EFE"], spanish, language="es") == "EFE informó que llegaron 40 migrantes."
    assert compose(["EFE", "AFP"], spanish, language="es").startswith("EFE y AFP informaron que")
    assert join_outlets(["Xinhua", "ANSA", "Sputnik"]) == "Xinhua, ANSA and Sputnik"
    assert join_outlets(["DPA", "dpa", "AFP"]) == "DPA and AFP"
    assert join_outlets(["EFE", "Infobae"], "es") == "EFE e Infobae"
    according = Clause("according to IOM, 300 people arrived", Verb.REPORTED_THAT, "")
    assert compose(["ANSA"], according) == (
        "ANSA reported that, according to IOM, 300 people arrived."
    )


def test_compose_ends_with_exactly_one_full_stop() -> None:
    for text in ('she said "we need help."', "it moved to the U.S.", "flights resume ...",
                 "they left <b>today</b>!"):  # fmt: skip
        sentence = compose(["AP"], Clause(text, Verb.REPORTED_THAT, ""))
        assert sentence.endswith(".") and ".." not in sentence and "<b>" not in sentence
    assert compose(["AP"], Clause("it moved to the U.S.", Verb.REPORTED_THAT, "")).endswith(
        "the U.S."
    )
    with pytest.raises(ValueError, match="outlet"):
        compose([], Clause("x", Verb.REPORTED_THAT, ""))


def test_org_sentences() -> None:
    assert org_sentence("cited_figures") == "It cited IOM figures."
    assert org_sentence("quoted", person="Joel Millman") == "It quoted IOM's Joel Millman."
    assert org_sentence("referenced", "UNHCR") == "It referenced UNHCR."
    assert org_sentence("cited_figures", "l'OIM", language="fr") == (
        "L'article cite des chiffres de l'OIM."
    )
    assert org_sentence("quoted", "la OIM", "Joel Millman", "es") == (
        "El artículo citó a Joel Millman, de la OIM."
    )
    sentence = compose(["AFP"], Clause("x arrived", Verb.REPORTED_THAT, ""),
                       org_mention=org_sentence("cited_figures"))  # fmt: skip
    assert sentence == "AFP reported that x arrived. It cited IOM figures."
    with pytest.raises(ValueError, match="unknown"):
        org_sentence("praised")


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("U.S. officials met Mr. Smith at 10 a.m. on Nov. 24. The talks failed.", 2),
        ("Dr. J. Smith of No. 10 said inflation hit 3.5 per cent. Others disagreed.", 2),
        ("EE.UU. deportó a 200 personas. El gobierno lo confirmó.", 2),
        ("M. Macron a parlé. Les ONG ont réagi.", 2),
        ("He moved to the U.S. The next year he left.", 2),
        ('"We fled." She paused. Was it worth it? Yes!', 4),
    ],
)
def test_splitter_survives_abbreviations(text: str, count: int) -> None:
    assert len(split_sentences(text)) == count


def test_sentence_step_is_fast() -> None:
    lead = EN_LEADS[1][1] + " " + EN_LEADS[0][1]
    start = time.perf_counter()
    for _ in range(200):
        lead_clause(lead, published=PUBLISHED, proper_words=PROPER)
    assert (time.perf_counter() - start) / 200 < 0.002  # budget: well under 1 ms typically


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",)),
        max_size=400,
    )
    | st.lists(
        st.sampled_from(
            [
                "GENEVA (Reuters) -",
                "the",
                "Mr.",
                "U.S.",
                "migrants",
                "said",
                "on Monday",
                "“",
                "”",
                ",",
                ".",
                "?",
                "…",
                "<p>",
                "&amp;",
                "By Jane Doe\n",
                "who",
                ";",
                " — ",
                "Photo:",
                "\n",
                "42",
                "according to IOM",
                "hier",
                "el lunes",
                "(AFP)",
            ]
        ),
        max_size=80,
    ).map(" ".join),
    st.sampled_from(["en", "fr", "es"]),
    st.booleans(),
)
def test_compose_on_arbitrary_text_gives_one_sentence(
    text: str, language: str, trending: bool
) -> None:
    clause = lead_clause(text, language=language, published=PUBLISHED, trending=trending)
    if clause is None:
        return
    sentence = compose(["AFP", "Reuters"], clause, language=language)
    assert sentence.endswith(".") and not sentence.endswith("..")
    assert not re.search(r"<[a-zA-Z/!][^>]*>", sentence)
    assert len(split_sentences(sentence)) == 1, sentence


def test_lead_dateline_skips_bylines_and_markup() -> None:
    found = lead_dateline(
        "<p>By Emma Farge</p><p>Updated 24 November 2026</p><p>GENEVA, Nov 24 (Reuters) - "
        "Arrivals fell.</p><p>Second paragraph.</p>"
    )
    assert (found.place, found.agencies, found.date) == ("GENEVA", ("Reuters",), "Nov 24")
    assert found.rest == "Arrivals fell.\nSecond paragraph."
    assert lead_dateline("").place is None
