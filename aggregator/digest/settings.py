"""The `digest:` block of sources.yaml: the edition's sections and how they are filled."""

from __future__ import annotations

from datetime import time
from enum import StrEnum
from pathlib import Path

from pydantic import Field, model_validator

from aggregator.daemon_settings import TimeOfDay
from aggregator.sources import StrictModel


class Rule(StrEnum):
    FEATURED = "featured"  # the organisation's own stories, newest first
    NEWS = "news"  # hard news: outlets, recency, organisation mentions, diversity
    TRENDING = "trending"  # the trending score: pick-up, growth, human interest


class SmtpSettings(StrictModel):
    """Where `digest publish` sends the HTML e-mail (settings.smtp); no host: no e-mail."""

    host: str | None = None
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: str | None = None
    sender: str | None = None
    recipients: tuple[str, ...] = ()
    timeout: float = 30.0

    @property
    def enabled(self) -> bool:
        return bool(self.host and self.sender and self.recipients)


class SectionRule(StrictModel):
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    title: str = Field(min_length=1)
    rule: Rule
    min: int = Field(0, ge=0, le=50)
    max: int = Field(10, ge=0, le=50)
    sources: tuple[str, ...] = ()  # source names that feed it; empty: by the sources' section

    @model_validator(mode="after")
    def _sizes(self) -> SectionRule:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is more than max ({self.max})")
        return self


DEFAULT_SECTIONS = (
    SectionRule(id="featured", title="Featured", rule=Rule.FEATURED, min=0, max=3),
    SectionRule(id="news", title="Migration in the News", rule=Rule.NEWS, min=4, max=10),
    SectionRule(id="trending", title="Trending on the Internet", rule=Rule.TRENDING, max=3),
)


class DigestSettings(StrictModel):
    title: str = Field("Migration in the News", min_length=1)
    sections: tuple[SectionRule, ...] = DEFAULT_SECTIONS
    max_per_outlet: int = Field(2, ge=1, description="Items naming one outlet first.")
    alternates: int = Field(20, ge=0, description="Ranked candidates kept for editors.")
    output_dir: Path = Path("data/digests")
    base_url: str | None = Field(
        None,
        pattern=r"^https?://",
        description="Where output_dir is served; turns on the Atom feed.",
    )
    window_days: int = Field(3, ge=1, le=14, description="Longest window an edition covers.")
    draft_at: TimeOfDay = Field(
        time(6, 0), description="Local time (settings.timezone) the daemon drafts the edition."
    )
    publish_at: TimeOfDay | None = Field(
        None, description="Local time the daemon publishes the edition if approved; unset: never."
    )

    @model_validator(mode="after")
    def _unique(self) -> DigestSettings:
        ids = [s.id for s in self.sections]
        if len(ids) != len(set(ids)) or "alternates" in ids:
            raise ValueError("section ids must be unique and not 'alternates'")
        return self
