"""The schema of a source in ``sources.yaml``.

A source is identified by its URL (several sources may share a display name: "UN News" in
English, French and Spanish). Unknown keys are errors: they are nearly always typos.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aggregator.units import Duration


class Kind(StrEnum):
    FEED = "feed"  # RSS 0.9x/1.0/2.0, Atom, RDF, JSON Feed
    PAGE = "page"  # a listing page scraped with CSS selectors


class Section(StrEnum):
    NEWS = "news"
    TRENDING = "trending"
    FEATURED = "featured"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


NonEmpty = Annotated[str, Field(min_length=1)]


class Selectors(StrictModel):
    """CSS selectors for a listing page; all but ``item`` are relative to one item."""

    item: NonEmpty
    link: NonEmpty = "a"
    title: NonEmpty | None = None
    summary: NonEmpty | None = None
    date: NonEmpty | None = None


class Source(StrictModel):
    name: NonEmpty
    url: NonEmpty
    kind: Kind = Kind.FEED
    section: Section = Section.NEWS
    language: str | None = Field(default=None, pattern=r"^([a-z]{2,3}(-[A-Za-z0-9]{2,8})?|multi)$")
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    interval: Duration | None = None
    enabled: bool = True
    trusted: bool = False
    include: tuple[NonEmpty, ...] = ()
    exclude: tuple[NonEmpty, ...] = ()
    fulltext: bool | None = None  # None: fetch the article page when the summary is short
    selectors: Selectors | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https"):
            raise ValueError("the url must start with http:// or https://")
        if not parts.hostname:
            raise ValueError("the url has no host name")
        if re.search(r"\s", value):
            raise ValueError("the url contains whitespace")
        return value

    @field_validator("interval")
    @classmethod
    def _sane_interval(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value < timedelta(minutes=1):
            raise ValueError("an interval under 1 minute is impolite to the site (minimum 1m)")
        return value

    @model_validator(mode="after")
    def _selectors_match_kind(self) -> Source:
        if self.kind is Kind.PAGE and self.selectors is None:
            raise ValueError("a 'page' source needs selectors: {item, link, title}")
        if self.kind is Kind.FEED and self.selectors is not None:
            raise ValueError("selectors only apply to kind: page")
        return self

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()

    def label(self) -> str:
        """Name plus language when it tells same-named sources apart."""
        return f"{self.name} [{self.language}]" if self.language else self.name
