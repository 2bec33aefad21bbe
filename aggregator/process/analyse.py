"""One entry (and its article page, if fetched) in, one Article out. Pure: no I/O.

Order of work: choose the text (the page's main text when extraction found an article,
else the feed summary), split off the dateline, then language, relevance with its reasons,
topics and routes, places, organisation mentions, and the digest sentence.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime

from aggregator import __version__
from aggregator.config import OrganizationSettings
from aggregator.models import Article, EntryInput
from aggregator.process.extract import Extraction, TextStatus
from aggregator.process.language import detect
from aggregator.process.orgs import MentionKind, OrgFinder, OrgMention
from aggregator.process.places import Gazetteer
from aggregator.process.relevance import Classifier, Role, Rules
from aggregator.process.sentence import (
    compose,
    join_outlets,
    lead_clause,
    lead_dateline,
    org_sentence,
)
from aggregator.process.taxonomy import LANGUAGES, Taxonomy
from aggregator.sources import Section, Source

ANALYSIS_VERSION = "1"  # bump when a change here should re-process stored articles
LANGUAGE_SAMPLE = 400  # characters of text after the title: plenty for an n-gram model
LEAD_SAMPLE = 2000  # characters the sentence is looked for in: the lead, and then some
PLACES_SAMPLE = 4000  # characters searched for places: what the story is about comes early

# Wire services credited next to the outlet when a dateline or byline names them.
WIRES = {
    "afp": "AFP",
    "agence france-presse": "AFP",
    "agence france presse": "AFP",
    "ap": "AP",
    "associated press": "AP",
    "the associated press": "AP",
    "reuters": "Reuters",
    "thomson reuters": "Reuters",
    "efe": "EFE",
    "agencia efe": "EFE",
    "dpa": "DPA",
    "xinhua": "Xinhua",
    "ansa": "ANSA",
    "europa press": "Europa Press",
    "ips": "IPS",
    "anadolu": "Anadolu",
    "aps": "APS",
    "map": "MAP",
}
_ORG_KIND = {
    MentionKind.QUOTED: "quoted",
    MentionKind.CITED_FIGURES: "cited_figures",
    MentionKind.REFERENCED: "referenced",
}


@dataclass(frozen=True, slots=True)
class Page:
    """An article page fetched for an entry, or why there is none."""

    extraction: Extraction
    fetched_at: datetime | None = None
    http_status: int | None = None


class Analyser:
    def __init__(
        self, taxonomy: Taxonomy, gazetteer: Gazetteer, organization: OrganizationSettings
    ) -> None:
        self.classifier = Classifier(taxonomy)
        self.gazetteer = gazetteer
        self.organization = organization
        self.orgs = OrgFinder(organization.name, organization.aliases)
        self.proper_words = frozenset(
            gazetteer.proper_words() | {organization.name, *organization.aliases}
        )
        self.rules_hash = _rules_hash(taxonomy, organization)

    def worth_a_page(self, entry: EntryInput) -> bool:
        """Whether the headline and summary hold any migration term at all: a page is only
        fetched for an entry that might be about migration (politeness, and time)."""
        found = self.classifier.classify(entry.title, entry.summary)
        return any(m.role is not Role.TRAP for m in found.matches)

    def analyse(
        self,
        entry: EntryInput,
        source: Source | None,
        page: Page | None,
        now: datetime,
        previous_text: str | None = None,
    ) -> Article:
        text, status, reason = _choose_text(entry, page, previous_text)
        extraction = page.extraction if page else None
        title = entry.title or (extraction.title if extraction else "") or ""
        title, publisher = split_publisher(title, source)
        published = entry.published_at
        if entry.date_is_fallback and extraction and extraction.published:
            published = extraction.published
        head, tail = _split_lead(text)
        dateline = lead_dateline(head)  # cleaning the lead area is enough, and cheaper
        body = dateline.rest + tail
        language = detect(
            f"{title}. {body[:LANGUAGE_SAMPLE]}", source.language if source else None
        ).code
        relevance = self.classifier.classify(title, body, url=entry.url, rules=_rules(source))
        if not relevance.relevant and language not in LANGUAGES:
            reason = f"{relevance.reason} (the taxonomy has no terms in language {language!r})"
            relevance = replace(relevance, reason=reason)
        places = self.gazetteer.find(
            title=title,
            text=body[:PLACES_SAMPLE],
            dateline_place=dateline.place,
            language=language,
        )
        mentions = self.orgs.find(title, body)
        name = publisher or (source.name if source else None)
        outlets = credit(name, dateline.agencies, entry.author)
        sentence = self._sentence(
            outlets, body[:LEAD_SAMPLE], language, published, title, source, mentions
        )
        return Article(
            entry_id=entry.entry_id,
            source_id=entry.source_id,
            entry_hash=entry.entry_hash,
            rules_hash=self.rules_hash,
            processed_at=now,
            url=entry.url,
            title=title,
            published_at=published,
            author=entry.author or (extraction.author if extraction else None),
            site_name=extraction.site_name if extraction else None,
            image_url=entry.image_url or (extraction.image_url if extraction else None),
            image_caption=extraction.image_caption if extraction else None,
            image_credit=extraction.image_credit if extraction else None,
            text=text,
            text_status=status,
            text_reason=reason,
            page_fetched_at=page.fetched_at if page else None,
            page_http_status=page.http_status if page else None,
            language=language,
            relevant=relevance.relevant,
            relevance_score=relevance.score,
            relevance_reason=relevance.reason,
            matched_terms=tuple(m.as_dict() for m in relevance.matches),
            topics=relevance.topics,
            routes=relevance.routes,
            places={"dateline": places.dateline, "mentioned": list(places.mentioned)},
            org_mentions=tuple(m.as_dict() for m in mentions),
            outlets=outlets,
            sentence=sentence,
            sentence_source="extractive" if sentence else None,
            sentence_error=None if sentence else "no usable lead sentence",
        )

    def _sentence(
        self,
        outlets: tuple[str, ...],
        body: str,
        language: str,
        published: datetime,
        title: str,
        source: Source | None,
        mentions: tuple[OrgMention, ...],
    ) -> str | None:
        if not outlets:
            return None
        trending = source is not None and source.section is Section.TRENDING
        clause = lead_clause(
            body or title,
            language=language,
            published=published,
            proper_words=self.proper_words | set(outlets),
            title=title,
            trending=trending,
            frame_words=len(join_outlets(outlets).split()) + 2,  # "<outlets> reported that"
        )
        if clause is None:
            return None
        mention = None
        if mentions:
            first = mentions[0]
            mention = org_sentence(
                _ORG_KIND[first.kind], self.organization.name, first.person, language
            )
        # One language per sentence: a French lead gets "a rapporté que", a Spanish one
        # "informó que" (other languages, the English frame); the LLM summarizer translates.
        return compose(outlets, clause, language=language, org_mention=mention)


def _split_lead(text: str) -> tuple[str, str]:
    """The lead area (whole paragraphs, about LEAD_SAMPLE characters) and the rest."""
    if len(text) <= LEAD_SAMPLE:
        return text, ""
    cut = text.rfind("\n", 0, LEAD_SAMPLE)
    cut = cut if cut > 0 else LEAD_SAMPLE
    return text[:cut], text[cut:]


def _choose_text(
    entry: EntryInput, page: Page | None, previous_text: str | None
) -> tuple[str, str, str | None]:
    summary = entry.summary or ""
    if page is None:
        if previous_text and len(previous_text) > len(summary):
            return previous_text, TextStatus.FULL.value, "full text fetched earlier"
        return summary, TextStatus.SUMMARY_ONLY.value, None
    found = page.extraction
    if found.status in (TextStatus.FULL, TextStatus.PAYWALL) and found.text:
        return found.text, found.status.value, found.reason
    return summary, found.status.value, found.reason


def _rules(source: Source | None) -> Rules:
    if source is None:
        return Rules()
    return Rules(source.trusted, source.include, source.exclude)


AGGREGATOR_HOSTS = ("news.google.com",)  # feeds of other outlets' items: "Title - Outlet"


def split_publisher(title: str, source: Source | None) -> tuple[str, str | None]:
    """A news aggregator's item names its outlet after the headline ("Title - Bloomberg"):
    that outlet, not the aggregator, is who reported it."""
    host = source.host if source is not None and source.url else ""
    if not host.endswith(AGGREGATOR_HOSTS):
        return title, None
    head, dash, tail = title.rpartition(" - ")
    if dash and head and 1 <= len(tail.split()) <= 6:
        return head.strip(), tail.strip()
    return title, None


def credit(name: str | None, agencies: tuple[str, ...], author: str | None) -> tuple[str, ...]:
    """Who the sentence names: a wire service that the dateline or byline credits ("(AFP)",
    "By AFP", "Agence France-Presse") is the origin of the copy, so it is named instead of
    the outlet that reprinted it (the article keeps its source: that is the provenance);
    else the outlet. An agency we do not know is usually the outlet's own name."""
    wires = [WIRES[a.casefold().strip()] for a in agencies if a.casefold().strip() in WIRES]
    if author:
        for part in re.split(r"\s*(?:,|/|\band\b|\bwith\b|&)\s*", author):
            if (wire := WIRES.get(part.casefold().strip())) is not None:
                wires.append(wire)
    if wires:
        return tuple(dict.fromkeys(wires))
    return (name,) if name else ()


def _rules_hash(taxonomy: Taxonomy, organization: OrganizationSettings) -> str:
    """Changes when anything that decides an article's analysis changes."""
    parts = [__version__, ANALYSIS_VERSION, taxonomy.digest, organization.model_dump_json()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
