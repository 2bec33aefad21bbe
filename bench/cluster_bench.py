"""Story clustering speed on synthetic archives of 10,000 and 100,000 articles, in one run.

Articles are generated from templates (EN/FR/ES; 96 kinds of event, "who" x "what happened":
refugees rescued off, asylum seekers deported from ...; random places, people, organisations
and figures), about 1,000 a day. Each event gets one to eight
versions: wire copy reprinted with small edits (an outlet suffix on the headline, the last
sentence cut), rewrites with another headline and lede, translations. Events of one kind
differ by place, figures and names only, so the look-alikes that the verification step must
keep apart are everywhere.

For each size the bench prints the seconds to cluster (one ``cluster()`` call, one core), the
articles per second, the pairwise precision / recall / F1 against the generated stories and
the peak RSS; then the ratio time(100k) / time(10k). The baseline, in the same run, verifies
every live article instead of asking LSH (``--baseline`` articles, default 5,000).

Targets: 100,000 articles in at most 60 s; time(100k) / time(10k) at most 15.

    python bench/cluster_bench.py [--sizes 10000 100000] [--per-day 1000] [--baseline 5000]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta

from aggregator.stories import ArticleForClustering, cluster, pairwise_scores
from aggregator.stories.cluster import StoryIndex

START = datetime(2026, 1, 1, tzinfo=UTC)
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"] + ["ar", "el", "on", "ust"]
COUNTRIES = (
    "LY TN IT GR ES MA MR SN GM ML NE DZ EG SD TD ET ER SO DJ YE SA AE QA LB SY TR IQ IR AF PK "
    "BD MM ID MY TH IN LK NP US MX GT HN SV NI CR PA CO VE EC PE HT DO CU GB FR DE PL BY UA"
).split()
GROUPS = {
    "en": ["Sudanese", "Eritrean", "Afghan", "Syrian", "Malian", "Guinean", "Haitian"],
    "fr": ["soudanais", "érythréens", "afghans", "syriens", "maliens", "guinéens", "haïtiens"],
    "es": ["sudaneses", "eritreos", "afganos", "sirios", "malienses", "guineanos", "haitianos"],
}
AGENCIES = {
    "en": ["the IOM", "UNHCR", "the coast guard", "the interior ministry", "police"],
    "fr": ["l'OIM", "le HCR", "les garde-côtes", "le ministère de l'Intérieur", "la police"],
    "es": ["la OIM", "ACNUR", "Salvamento Marítimo", "el Ministerio del Interior", "la policía"],
}
# Kinds of event are (who, what happened): 8 x 12 = 96 kinds, each in EN/FR/ES.
SUBJECTS = [
    ("migrants", "migrants", "migrantes"),
    ("asylum seekers", "demandeurs d'asile", "solicitantes de asilo"),
    ("refugees", "réfugiés", "refugiados"),
    ("minors", "mineurs", "menores"),
    ("workers", "travailleurs", "trabajadores"),
    ("families", "familles", "familias"),
    ("Rohingya", "Rohingyas", "rohingyas"),
    ("deportees", "expulsés", "deportados"),
]
ACTIONS = [
    ("rescued off", "secourus au large de", "rescatados frente a"),
    ("detained in", "détenus à", "detenidos en"),
    ("deported from", "expulsés de", "deportados desde"),
    ("drowned off", "noyés au large de", "ahogados frente a"),
    ("stranded in", "bloqués à", "varados en"),
    ("evacuated from", "évacués de", "evacuados de"),
    ("intercepted near", "interceptés près de", "interceptados cerca de"),
    ("relocated from", "relogés depuis", "reubicados desde"),
    ("registered in", "enregistrés à", "registrados en"),
    ("expelled to", "expulsés vers", "expulsados a"),
    ("freed in", "libérés à", "liberados en"),
    ("missing off", "disparus au large de", "desaparecidos frente a"),
]
LANGUAGES = ("en", "fr", "es")
TITLES = {
    "en": [
        "{n} {subject} {action} {place}, {agency} says",
        "{subject_cap} {action} {place}: {n} people",
        "{agency_cap} says {n} {subject} {action} {place}",
    ],
    "fr": ["{n} {subject} {action} {place}, selon {agency}"],
    "es": ["{n} {subject} {action} {place}, según {agency}"],
}
LEDES = {
    "en": [
        "{agency_cap} said on {day} that {n} {subject} had been {action} {place}. {person} of "
        "{org} said {m} of them were {group}. The {w0} {w1} near {town} was {w2}, {person} added.",
        "At least {n} {subject} were {action} {place} this week, {m} of them {group}, according "
        "to {org}. {person} described the {w3} as {w1} and called on {town} to act.",
        "{person}, a spokesperson for {org}, confirmed that {n} {subject} had been {action} "
        "{place} after the {w5} {w6} collapsed. The {w7} in {town} remains {w8}.",
        "Local officials in {town} said the {w9} {w5} forced {n} {subject} to be {action} "
        "{place}, among them {m} {group} nationals. {org} warned about {w6} {w7}.",
        "Rescue crews from {org} reported {n} {subject} {action} {place} overnight; {m} "
        "needed urgent care. Volunteers in {town} distributed {w5} and {w8}.",
        "{n} {subject} {action} {place}: the figure, released by {agency}, tops last month's. "
        "{person} blamed {w6} {w9} and a shortage of {w7} in {town}.",
        "Witnesses in {town} told reporters that {n} {subject} were {action} {place} before "
        "dawn. {m} {group} passengers were taken to {w5} {w8}, {org} confirmed.",
        "Footage shared by {org} showed {subject} {action} {place}; officials put the number "
        "at {n}. {person} urged donors to fund {w6} {w9} for {town}.",
    ],
    "fr": [
        "{n} {subject} ont été {action} {place}, a indiqué {agency}. Selon {person}, de {org}, "
        "{m} d'entre eux sont {group}. Les {w0} de {town} restent {w2}.",
        "Selon {org}, les {w5} {w6} de {town} ont conduit {n} {subject} à être {action} "
        "{place}, parmi lesquels {m} {group}. {person} dénonce les {w7} {w8}.",
        "Des témoins à {town} racontent que {n} {subject} ont été {action} {place} avant "
        "l'aube. {m} passagers {group} ont rejoint {w5} {w8}, confirme {org}.",
        "Les équipes de {org} signalent {n} {subject} {action} {place} dans la nuit ; {m} "
        "ont reçu des soins. Des bénévoles de {town} distribuent {w6} et {w9}.",
    ],
    "es": [
        "{n} {subject} fueron {action} {place}, informó {agency}. Según {person}, de {org}, "
        "{m} de ellos son {group}. Los {w0} de {town} siguen {w2}.",
        "Según {org}, los {w5} {w6} de {town} llevaron a que {n} {subject} fueran {action} "
        "{place}, entre ellos {m} {group}. {person} denunció los {w7} {w8}.",
        "Testigos en {town} relataron que {n} {subject} fueron {action} {place} antes del "
        "amanecer. {m} pasajeros {group} llegaron a {w5} {w8}, confirmó {org}.",
        "Los equipos de {org} reportaron {n} {subject} {action} {place} durante la noche; "
        "{m} necesitaron atención. Voluntarios de {town} repartieron {w6} y {w9}.",
    ],
}
FILLER = {
    "en": [
        "Rights groups criticised the conditions in {place}.",
        "Officials in {town} promised an inquiry into the {w4}.",
        "It was the {k}th such incident this year.",
    ],
    "fr": [
        "Des ONG ont dénoncé les conditions à {place}.",
        "Les autorités de {town} ont promis une enquête sur les {w4}.",
    ],
    "es": [
        "Varias ONG denunciaron las condiciones en {place}.",
        "Las autoridades de {town} prometieron una investigación sobre los {w4}.",
    ],
}
OUTLETS = [
    f"{a} {b}"
    for a in ("Daily", "Morning", "Evening", "National", "Free", "New")
    for b in (
        "Post",
        "Herald",
        "Times",
        "Star",
        "Observer",
        "Courier",
        "Mirror",
        "Tribune",
        "Gazette",
        "Chronicle",
        "Journal",
        "Express",
    )
]
WIRES = ["AFP", "AP", "Reuters", "EFE", "DPA", "ANSA"]


def pseudo_word(rng: random.Random, capital: bool = False) -> str:
    word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
    return word.capitalize() if capital else word


def render(rng: random.Random, facts: dict, language: str, variant: int) -> tuple[str, str]:
    """(title, text) of one version; ``variant`` picks the wording (0: the wire original)."""
    i = LANGUAGES.index(language)
    values = {**facts, **facts["words"][language]}
    values["subject"] = SUBJECTS[facts["subject"]][i]
    values["subject_cap"] = values["subject"][0].upper() + values["subject"][1:]
    values["action"] = ACTIONS[facts["action"]][i]
    values["agency"] = AGENCIES[language][facts["agency"]]
    values["agency_cap"] = values["agency"][0].upper() + values["agency"][1:]
    values["group"] = GROUPS[language][facts["group"]]
    titles, ledes = TITLES[language], LEDES[language]
    frame = facts["frame"] + variant * 5  # a rewrite takes another headline and lede
    title = titles[frame % len(titles)].format(**values)
    text = ledes[frame % len(ledes)].format(**values)
    filler = rng.choice(FILLER[language]).format(**values)
    return title, f"{text} {filler}"


def event_facts(rng: random.Random, when: datetime) -> dict:
    """What every version of one event shares: figures, names, the kind of event."""
    figure = rng.choice([rng.randint(3, 90), rng.randint(20, 400), rng.randrange(5, 40) * 50])
    return {
        "n": figure,
        "m": rng.randint(2, 60),
        "place": pseudo_word(rng, True),
        "town": pseudo_word(rng, True),
        "person": f"{pseudo_word(rng, True)} {pseudo_word(rng, True)}",
        "org": pseudo_word(rng, True),
        "subject": rng.randrange(len(SUBJECTS)),
        "action": rng.randrange(len(ACTIONS)),
        "group": rng.randrange(7),
        "agency": rng.randrange(5),
        "frame": rng.randrange(24),
        "k": rng.randint(4, 20),
        "day": when.strftime("%A"),
        # content words: each language has its own (a translation shares names, not words)
        "words": {lang: {f"w{i}": pseudo_word(rng) for i in range(10)} for lang in LANGUAGES},
    }


def event(rng: random.Random, when: datetime, event_id: int) -> list[tuple]:
    facts = event_facts(rng, when)
    country = rng.choice(COUNTRIES)
    wire_language = rng.choices(LANGUAGES, [6, 2, 2])[0]
    wire = render(rng, facts, wire_language, 0)
    rows = [(rng.choice(WIRES), *wire, wire_language, when)]
    for _ in range(min(7, int(rng.expovariate(1 / 1.6)))):
        mode = rng.choices(["reprint", "rewrite", "translation"], [5, 3, 2])[0]
        later = when + timedelta(minutes=rng.randint(10, 36 * 60))
        outlet = rng.choice(OUTLETS)
        if mode == "reprint":
            title, text = wire
            title = title + f" - {outlet}" if rng.random() < 0.5 else title
            text = text.rsplit(". ", 1)[0] + "." if rng.random() < 0.5 else text
            rows.append((outlet, title, text, wire_language, later))
        elif mode == "rewrite":
            rows.append((outlet, *render(rng, facts, wire_language, 1), wire_language, later))
        else:
            language = rng.choice([lang for lang in LANGUAGES if lang != wire_language])
            rows.append((outlet, *render(rng, facts, language, 0), language, later))
    return [(event_id, country, *row) for row in rows]


def generate(count: int, per_day: int, seed: int = 7) -> tuple[list[ArticleForClustering], dict]:
    rng = random.Random(seed)
    articles: list[ArticleForClustering] = []
    gold: dict[int, int] = {}
    event_id = 0
    while len(articles) < count:
        when = START + timedelta(days=len(articles) / per_day, minutes=rng.randint(0, 600))
        event_id += 1
        for ev, country, outlet, title, text, language, published in event(rng, when, event_id):
            article_id = len(articles) + 1
            url = f"https://{outlet.lower().replace(' ', '')}.example/{event_id}/{article_id}"
            articles.append(
                ArticleForClustering(
                    article_id, url, None, title, text, outlet, published, language, (country,)
                )
            )
            gold[article_id] = ev
    return articles[:count], {a.id: gold[a.id] for a in articles[:count]}


def exhaustive(articles: list[ArticleForClustering]) -> dict[int, int]:
    """Baseline: every live article is a candidate (the LSH tables answer everything)."""
    index = StoryIndex()
    index._buckets.query = lambda _sketch: list(index._table._row_of.values())  # type: ignore[method-assign]
    for article in sorted(articles, key=lambda a: (a.published, a.id)):
        index.add(article)
    return {a.id: index.story_of(a.id) for a in articles}


def measure(articles: list[ArticleForClustering], gold: dict[int, int]) -> float:
    started = time.perf_counter()
    index = cluster(articles)
    seconds = time.perf_counter() - started
    predicted = {a.id: index.story_of(a.id) for a in articles}
    precision, recall, f1 = pairwise_scores(predicted, gold)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{len(articles):>7} articles  {seconds:7.2f} s  {len(articles) / seconds:8.0f} art/s  "
        f"stories {len(index.stories()):>6} (gold {len(set(gold.values()))})  "
        f"P {precision:.3f} R {recall:.3f} F1 {f1:.3f}  peak RSS {rss:.0f} MB"
    )
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--per-day", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=5000)
    args = parser.parse_args()
    times = {}
    for size in args.sizes:
        articles, gold = generate(size, args.per_day)
        times[size] = measure(articles, gold)
    if args.baseline:
        compare_with_baseline(args.baseline, args.per_day)
    return 0 if targets_met(times) else 1


def compare_with_baseline(size: int, per_day: int) -> None:
    articles, gold = generate(size, per_day)
    started = time.perf_counter()
    base = exhaustive(articles)
    base_seconds = time.perf_counter() - started
    started = time.perf_counter()
    index = cluster(articles)
    seconds = time.perf_counter() - started
    f1 = pairwise_scores({a.id: index.story_of(a.id) for a in articles}, gold)[2]
    print(
        f"baseline without LSH (every live article estimated, the closest verified), {size} "
        f"articles: {base_seconds:.2f} s, F1 {pairwise_scores(base, gold)[2]:.3f}; "
        f"with LSH: {seconds:.2f} s, F1 {f1:.3f}"
    )


def targets_met(times: dict[int, float]) -> bool:
    ok = True
    if 100_000 in times:
        passed = times[100_000] <= 60
        ok &= passed
        print(f"target 100k <= 60 s: {'PASS' if passed else 'FAIL'}")
    if 10_000 in times and 100_000 in times:
        ratio = times[100_000] / times[10_000]
        ok &= ratio <= 15
        verdict = "PASS" if ratio <= 15 else "FAIL"
        print(f"time(100k) / time(10k) = {ratio:.1f} (target <= 15): {verdict}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
