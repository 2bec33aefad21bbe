"""Places in headlines and text: names, demonyms, cities, datelines, ambiguity traps, the file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.errors import ConfigError, TaxonomyError
from aggregator.process.places import DEFAULT_PATH, Gazetteer, Places


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.load()


def codes(gaz: Gazetteer, title: str, text: str = "", language: str | None = "en") -> set[str]:
    return set(gaz.find(title=title, text=text, language=language).mentioned)


# ---- what is found ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "title", "text", "expected"),
    [
        ("en", "Gambian migrants who suffered abuses in Libya form a group", "", {"GM", "LY"}),
        (
            "en",
            "Syrians return from Turkey",
            "Hundreds crossed from Gaziantep to Aleppo.",
            {"SY", "TR"},
        ),
        (
            "en",
            "Boat capsizes off Djibouti",
            "Ethiopians and Somalis were aboard.",
            {"DJ", "ET", "SO"},
        ),
        (
            "en",
            "Rohingya stranded at sea",
            "The boat left Cox's Bazar for Aceh.",
            {"MM", "BD", "ID"},
        ),
        ("en", "U.S. deports Haitians", "Flights landed in Port-au-Prince.", {"US", "HT"}),
        (
            "en",
            "UK and France sign deal",
            "Small boats leave Dunkirk and Calais for Dover.",
            {"GB", "FR"},
        ),
        ("en", "Migrants in DR Congo", "Fighting near Goma displaced thousands.", {"CD"}),
        (
            "en",
            "Venezuelans cross the Darién Gap",
            "From Necoclí to Tapachula.",
            {"VE", "PA", "CO", "MX"},
        ),
        ("en", "Refugees in Cambodia", "Cambodian workers returned from Thailand.", {"KH", "TH"}),
        (
            "en",
            "Kosovo and Palestine",
            "Sahrawi and Puerto Rican and Taiwanese visitors.",
            {"XK", "PS", "EH", "PR", "TW"},
        ),
        ("fr", "Des migrants syriennes et haïtiens aux États-Unis", "", {"SY", "HT", "US"}),
        (
            "fr",
            "Naufrage au large de Lampedusa",
            "Les rescapés, des Guinéennes et des Ivoiriens.",
            {"IT", "GN", "CI"},
        ),
        (
            "fr",
            "Calais : un migrant soudanais meurt",
            "Il venait de Khartoum, selon la préfecture.",
            {"FR", "SD"},
        ),
        (
            "fr",
            "RDC : des déplacés à Goma",
            "Le Royaume-Uni et la Côte d'Ivoire aident.",
            {"CD", "GB", "CI"},
        ),
        ("fr", "Accueil à Genève", "Des Vénézuéliennes à Dunkerque.", {"CH", "VE", "FR"}),
        (
            "es",
            "Migrantes venezolanas en EE.UU.",
            "Cruzaron el Darién desde Necoclí.",
            {"VE", "US", "PA", "CO"},
        ),
        (
            "es",
            "Llegan cayucos a Canarias",
            "Con senegaleses y malienses desde Nuadibú.",
            {"ES", "SN", "ML", "MR"},
        ),
        (
            "es",
            "Costa de Marfil y Reino Unido",
            "Migrantes marroquíes en Ceuta y Melilla.",
            {"CI", "GB", "MA", "ES"},
        ),
        (
            "es",
            "Deportados a Estados Unidos",
            "Un vuelo aterrizó en Ciudad de México y otro en Jartum.",
            {"US", "MX", "SD"},
        ),
        (
            "es",
            "Los haitianos en Tijuana",
            "También sirias y afganos en Trípoli, Libia.",
            {"HT", "MX", "SY", "AF", "LY"},
        ),
    ],
)
def test_finds_names_demonyms_and_cities(
    gaz: Gazetteer, language: str, title: str, text: str, expected: set[str]
) -> None:
    assert codes(gaz, title, text, language) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Boat sinks off Guinea-Bissau", "GW"),
        ("Boat sinks off Guinea Bissau", "GW"),
        ("Oil in Equatorial Guinea", "GQ"),
        ("Election in Papua New Guinea", "PG"),
        ("Coup in Guinea", "GN"),
        ("Migrants reach New Mexico", "US"),
        ("Fighting in South Sudan", "SS"),
        ("Oil spill in the Niger Delta", "NG"),
        ("Migrants in New Jersey", "US"),
        ("Deported from the Dominican Republic", "DO"),
        ("Hurricane hits Dominica", "DM"),
        ("Calm in Congo-Brazzaville", "CG"),
        ("Returns to Mexico City", "MX"),
        ("Equatorial Guinean workers", "GQ"),
        ("South Sudanese refugees", "SS"),
    ],
)
def test_longest_name_wins(gaz: Gazetteer, text: str, expected: str) -> None:
    assert codes(gaz, text) == {expected}


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("fr", "Expulsions vers les Etats-Unis", "US"),
        ("fr", "Expulsions vers les États-Unis", "US"),
        ("es", "Retornos desde Mexico", "MX"),
        ("es", "Retornos desde México", "MX"),
        ("fr", "Séisme en Haiti", "HT"),
        ("en", "Ivorians from Cote d'Ivoire", "CI"),
        ("en", "Migrants in Côte d’Ivoire", "CI"),
        ("en", "Return to Türkiye", "TR"),
        ("es", "LOS VENEZOLANOS EN CHILE", "VE"),
        ("es", "Migrantes ecuatorianos", "EC"),
        ("fr", "Des migrants ECUATORIANOS", None),  # a Spanish demonym in French text
        ("es", "Quitó la vida a su hermano", None),  # an accent Quito does not have
        ("fr", "Réfugiés à Gene\u0300ve", "CH"),  # decomposed accent
    ],
)
def test_accents_case_and_language(
    gaz: Gazetteer, language: str, text: str, expected: str | None
) -> None:
    found = codes(gaz, text, language=language)
    assert (expected in found) if expected else not found


# ---- traps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "title", "text"),
    [
        ("en", "Thanksgiving turkey prices soar", "Families buy a turkey for dinner."),
        ("en", "How To Roast A Turkey", ""),
        ("en", "Jordan Henderson joins Ajax", "Jordan Henderson signed on Monday."),
        ("en", "Drummer profile", "Red Hot Chili Peppers drummer Chad Smith said he was tired."),
        ("en", "Michael Jordan documentary", "Fans of Michael Jordan queued."),
        ("en", "Georgia governor signs immigration bill", "The Georgia governor spoke."),
        ("en", "Study on a guinea pig", "Guinea pigs were used. A Guinea pig too."),
        ("en", "Nice weather for the weekend", "Nice and sunny."),
        ("en", "Roma community faces eviction", "The Roma community protested."),
        ("es", "La comunidad Roma denuncia", "El pueblo Roma y los Roma."),
        (
            "en",
            "Geneva Conventions apply at sea",
            "The Geneva Conventions and the Dublin Regulation.",
        ),
        ("en", "Storms in the Indian Ocean", "Latin America and Central America."),
        ("en", "LET US HELP THE RESCUERS NOW", ""),
        ("en", "French fries and Spanish flu", "She speaks French."),
        ("fr", "Cours de langue", "Des cours en français et en espagnol."),
        ("es", "Clases de idioma", "Clases en inglés, en francés y en español."),
        ("en", "Victoria Beckham visits", "Victoria said she was delighted."),
    ],
)
def test_ambiguity_traps_name_no_place(
    gaz: Gazetteer, language: str, title: str, text: str
) -> None:
    assert codes(gaz, title, text, language) == set()


@pytest.mark.parametrize(
    ("language", "title", "text", "expected"),
    [
        ("en", "Refugees flee to Chad", "They crossed into Chad from Darfur.", {"TD", "SD"}),
        ("en", "Refugees in Jordan", "Syrians in Jordan's Zaatari camp.", {"JO", "SY"}),
        ("en", "Jordan King Abdullah meets refugees", "", {"JO"}),
        ("en", "Protests in Georgia", "Thousands marched in Tbilisi.", {"GE"}),
        ("en", "Georgia passes immigration law", "Atlanta police will enforce it.", {"US"}),
        ("en", "Migrants arrive in Nice", "", {"FR"}),
        ("es", "Migrantes llegan a Roma", "Desde Lampedusa.", {"IT"}),
        ("en", "Turkey deports Syrians", "", {"TR", "SY"}),
        ("en", "Clashes in Tripoli", "Boats left Tripoli in northern Lebanon.", {"LB"}),
        ("en", "Migrants Stranded In Chad Face Hunger", "Aid groups in Chad warned.", {"TD"}),
        ("en", "Migrants in Paris, Texas", "", {"US"}),
    ],
)
def test_ambiguous_names_with_evidence(
    gaz: Gazetteer, language: str, title: str, text: str, expected: set[str]
) -> None:
    assert codes(gaz, title, text, language) == expected


def test_person_name_in_title_case_headline_needs_the_text(gaz: Gazetteer) -> None:
    assert codes(gaz, "Chad Smith Talks About New Album Release", "The drummer spoke.") == set()
    assert codes(gaz, "Refugees Stranded In Chad Face Hunger", "Rains hit the camps.") == set()


def test_all_capital_headline_matches_without_case(gaz: Gazetteer) -> None:
    found = gaz.find(title="SYRIAN REFUGEES RETURN FROM LEBANON", text="", language="en")
    assert set(found.mentioned) == {"SY", "LB"}
    assert ("SY", "SYRIAN") in found.evidence


def test_us_needs_capitals(gaz: Gazetteer) -> None:
    assert codes(gaz, "Tell us about your journey") == set()
    assert codes(gaz, "US tightens asylum rules") == {"US"}


# ---- salience, evidence, datelines ----------------------------------------------------------


def test_title_mentions_rank_first_then_frequency(gaz: Gazetteer) -> None:
    places = gaz.find(
        title="Senegal recalls envoy",
        text="Officials in Mali and Mali's capital Bamako said Mauritania and Mali agreed.",
        language="en",
    )
    assert places.mentioned == ("SN", "ML", "MR")
    assert places.evidence[0] == ("SN", "Senegal")
    assert ("ML", "Bamako") in places.evidence


def test_first_position_breaks_ties(gaz: Gazetteer) -> None:
    places = gaz.find(title="Talks", text="Niger and Benin and Togo.", language="en")
    assert places.mentioned == ("NE", "BJ", "TG")


def test_dateline_is_reported_but_not_mentioned(gaz: Gazetteer) -> None:
    places = gaz.find(
        title="Migrants stranded in the desert",
        text="Hundreds of Malians were left near Agadez.",
        dateline_place="DAKAR, Senegal",
        language="en",
    )
    assert places.dateline == "SN"
    assert places.mentioned == ("ML", "NE")


def test_dateline_place_also_in_text_is_mentioned(gaz: Gazetteer) -> None:
    places = gaz.find(title="Talks", text="Officials met in Geneva.", dateline_place="GENEVA")
    assert places.dateline == "CH"
    assert places.mentioned == ("CH",)


def test_dateline_settles_an_ambiguous_name(gaz: Gazetteer) -> None:
    text = "Georgia opened a reception centre for people fleeing the war."
    assert codes(gaz, "Refugees arrive", text) == set()
    places = gaz.find(title="Refugees arrive", text=text, dateline_place="TBILISI")
    assert places.mentioned == ("GE",)


@pytest.mark.parametrize(
    ("dateline", "expected"),
    [
        ("DAKAR, Senegal", "SN"),
        ("GENEVA", "CH"),
        ("GENÈVE", "CH"),
        ("Ginebra", "CH"),
        ("Ciudad de México, 24 nov", "MX"),
        ("CIUDAD DE MEXICO", "MX"),
        ("Paris, Texas", "US"),
        ("ATLANTA, Georgia", "US"),
        ("TBILISI, Georgia", "GE"),
        ("WASHINGTON, D.C.", "US"),
        ("NICE", "FR"),
        ("ROMA", "IT"),
        ("PORT-AU-PRINCE", "HT"),
        ("N'DJAMENA, Chad", "TD"),
        ("GENEVA, Nov 24 (Reuters)", "CH"),
        ("UNITED NATIONS", None),
        ("SYRIAN", None),
        ("", None),
    ],
)
def test_code_of(gaz: Gazetteer, dateline: str, expected: str | None) -> None:
    assert gaz.code_of(dateline) == expected


def test_country_names(gaz: Gazetteer) -> None:
    assert gaz.country_name("CI") == "Ivory Coast"
    assert gaz.country_name("CI", "fr") == "Côte d'Ivoire"
    assert gaz.country_name("US", "es") == "Estados Unidos"
    assert gaz.country_name("de", "fr-FR") == "Allemagne"
    assert gaz.country_name("GE", "xx") == "Georgia"
    assert gaz.country_name("QQ") == "QQ"


def test_proper_words_are_whole_capitalised_names(gaz: Gazetteer) -> None:
    words = gaz.proper_words()
    assert {"Syrians", "South Sudan", "México", "Mexico", "Geneva", "Rohingya"} <= words
    assert not {"New", "South", "syrien", "Guinea pig", "Indian Ocean"} & words


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=80))
def test_any_text_gives_codes_with_evidence(text: str, title: str) -> None:
    places = Gazetteer.load().find(title=title, text=text, language=None)
    assert isinstance(places, Places)
    assert all(re.fullmatch(r"[A-Z]{2}", code) for code in places.mentioned)
    assert {code for code, _ in places.evidence} == set(places.mentioned)


# ---- the file ------------------------------------------------------------------------------

SMALL = """\
countries:
  SN:
    en: Senegal
    fr: Sénégal
    demonyms: {en: [Senegalese], fr: [sénégalais]}
    cities: [Dakar]
  ML:
    en: Mali
    cities: [Bamako]
ambiguous:
  Saint-Louis: {codes: [SN]}
rules:
  Mali: {person: true}
not_places: [Dakar Rally]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "places.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_user_file_replaces_the_packaged_one(tmp_path: Path) -> None:
    gaz = Gazetteer.load(write(tmp_path, SMALL))
    places = gaz.find(title="Les Sénégalaises de Dakar", text="Mali and the Dakar Rally.")
    assert places.mentioned == ("SN", "ML")
    assert gaz.code_of("BAMAKO") == "ML"
    assert codes(gaz, "Syrians in Turkey") == set()
    assert codes(gaz, "Fishermen of Saint-Louis") == set()
    assert codes(gaz, "Fishermen of Saint-Louis", "They are Senegalese.") == {"SN"}


def test_the_packaged_file_is_compiled_once() -> None:
    assert Gazetteer.load() is Gazetteer.load()
    assert Gazetteer.load(DEFAULT_PATH) is not Gazetteer.load()


def test_cache_is_written_and_reused(tmp_path: Path) -> None:
    path, cache = write(tmp_path, SMALL), tmp_path / "cache"
    first = Gazetteer.load(path, cache_dir=cache)
    (cached,) = cache.glob("places-*.json")
    assert json.loads(cached.read_text(encoding="utf-8"))["countries"]["ML"]["en"] == "Mali"
    data = json.loads(cached.read_text(encoding="utf-8"))
    data["countries"]["ML"]["cities"].append("Kayes")  # proves the cache, not the YAML, is read
    cached.write_text(json.dumps(data), encoding="utf-8")
    second = Gazetteer.load(path, cache_dir=cache)
    assert codes(first, "Floods in Kayes") == set()
    assert codes(second, "Floods in Kayes") == {"ML"}


def test_unreadable_cache_falls_back_to_the_yaml(tmp_path: Path) -> None:
    path, cache = write(tmp_path, SMALL), tmp_path / "cache"
    Gazetteer.load(path, cache_dir=cache)
    (cached,) = cache.glob("places-*.json")
    cached.write_text("{not json", encoding="utf-8")
    assert codes(Gazetteer.load(path, cache_dir=cache), "Dakar") == {"SN"}


def test_edited_file_does_not_use_a_stale_cache(tmp_path: Path) -> None:
    path, cache = write(tmp_path, SMALL), tmp_path / "cache"
    Gazetteer.load(path, cache_dir=cache)
    path.write_text(SMALL.replace("[Bamako]", "[Bamako, Kayes]"), encoding="utf-8")
    assert codes(Gazetteer.load(path, cache_dir=cache), "Kayes") == {"ML"}


def line_of(message: str) -> int:
    match = re.search(r"places\.yaml:(\d+): ", message)
    assert match, message
    return int(match.group(1))


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, SMALL.replace("    cities: [Bamako]", "    cities: [Bamako"))
    with pytest.raises(TaxonomyError) as caught:
        Gazetteer.load(path)
    assert str(path) in str(caught.value)
    assert line_of(str(caught.value)) >= 9
    assert isinstance(caught.value, ConfigError)


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("  ML:\n", "  Mali:\n", 7, "ISO 3166-1"),
        ("    cities: [Bamako]", "    towns: [Bamako]", 9, "unknown key 'towns'"),
        ("  Mali: {person: true}", "  Mali: {person: yes please}", 13, "true or false"),
        ("  Mali: {person: true}", "  Timbuktu: {person: true}", 13, "not a name listed"),
        ("{codes: [SN]}", "{codes: [SN, XX]}", 11, "not a country"),
        ("    cities: [Bamako]", "    cities: [Bamako, Dakar]", 9, "also a name of SN"),
        ("    en: Mali\n", "    fr: Mali\n", 7, "missing the English name"),
        ("not_places:", "places_not:", 14, "unknown key 'places_not'"),
    ],
)
def test_invalid_file_names_the_line(
    tmp_path: Path, old: str, new: str, line: int, words: str
) -> None:
    assert old in SMALL
    with pytest.raises(TaxonomyError) as caught:
        Gazetteer.load(write(tmp_path, SMALL.replace(old, new)))
    assert words in str(caught.value)
    assert line_of(str(caught.value)) == line


def test_every_problem_is_listed(tmp_path: Path) -> None:
    text = SMALL.replace("    cities: [Bamako]", "    towns: [Bamako]").replace("SN]}", "XX]}")
    with pytest.raises(TaxonomyError) as caught:
        Gazetteer.load(write(tmp_path, text))
    assert len(caught.value.problems) == 2
    assert "and 1 more" in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="cannot read"):
        Gazetteer.load(tmp_path / "nope.yaml")


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="expected a mapping"):
        Gazetteer.load(write(tmp_path, "# nothing yet\n"))
