from __future__ import annotations

import pytest

from aggregator.process.dateline import Dateline, split_dateline

WIRE = [
    ("GENEVA (Reuters) - Migrants", "GENEVA", ("Reuters",), None),
    ("DAKAR, Senegal (AP) — Gambian", "DAKAR, Senegal", ("AP",), None),
    ("ROME, Nov 24 (Reuters) - The", "ROME", ("Reuters",), "Nov 24"),
    ("Tripoli (AFP) - Libyan", "Tripoli", ("AFP",), None),
    ("PARIS, 25 nov 2026 (AFP) - Les", "PARIS", ("AFP",), "25 nov 2026"),
    ("MADRID, 25 Nov. (EFE).- El", "MADRID", ("EFE",), "25 Nov."),
    ("Ciudad de México, 24 nov (EFE).- Miles", "Ciudad de México", ("EFE",), "24 nov"),
    ("(AFP) - Some", None, ("AFP",), None),
    ("(CNN)Migrants", None, ("CNN",), None),
    ("LONDON — Britain", "LONDON", (), None),
    ("BEIRUT: Lebanese", "BEIRUT", (), None),
    ("Rome, Italy – Italian", "Rome, Italy", (), None),
    ("WASHINGTON, D.C. — The", "WASHINGTON, D.C.", (), None),
    ("Port-au-Prince (AFP) – Haitian", "Port-au-Prince", ("AFP",), None),
    ("N'DJAMENA, Chad, Nov. 24 (Xinhua) -- Chad", "N'DJAMENA, Chad", ("Xinhua",), "Nov. 24"),
    ("GENEVA, 24 November 2026 (UNHCR) – The", "GENEVA", ("UNHCR",), "24 November 2026"),
    ("BRUSSELS (Reuters/AFP) - EU", "BRUSSELS", ("Reuters", "AFP"), None),
    ("BERLIN (dpa) - Germany", "BERLIN", ("dpa",), None),
    ("Dar es Salaam (AFP) - Tanzanian", "Dar es Salaam", ("AFP",), None),
]


@pytest.mark.parametrize(("text", "place", "agencies", "date"), WIRE)
def test_wire_datelines_are_split(
    text: str, place: str | None, agencies: tuple[str, ...], date: str | None
) -> None:
    found = split_dateline(text + " coast guard rescued 40 people.")
    assert found.place == place
    assert found.agencies == agencies
    assert found.date == date
    assert found.rest == text.split()[-1].removeprefix("(CNN)") + " coast guard rescued 40 people."


@pytest.mark.parametrize(
    "text",
    [
        "Italy's coast guard rescued 200 migrants - the largest group this year.",
        "U.S. officials said - without giving details - that flights would resume.",
        "IOM — the UN Migration Agency — said on Tuesday that arrivals fell.",
        "Migrants rescued – many of them children – were taken to Lampedusa.",
        "Amina Diallo, a 24-year-old Guinean refugee, opened a bakery - her first.",
        "The Italian coast guard rescued 40 people off Lampedusa (Italy) on Monday.",
        "Joe Biden (pictured) - the US president - spoke on Monday.",
        "UPDATE: Migrants were moved to a new centre.",
        "France, Italy and Spain – the three main arrival countries – met on Friday.",
        "Lampedusa, Italy: the hotspot is full again.",
        "More than 200 people have died this year, IOM said.",
        "",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert split_dateline(text) == Dateline(place=None, agencies=(), rest=text)


def test_rest_keeps_a_later_dash() -> None:
    found = split_dateline("GENEVA (Reuters) - Arrivals fell - sharply - in November.")
    assert found.rest == "Arrivals fell - sharply - in November."


def test_parenthesis_that_is_no_credit_is_not_a_dateline() -> None:
    assert split_dateline("Migrants (file) - arrived at the port.").place is None
