"""Settings, resolved once: defaults < ``settings:`` in sources.yaml < AGGREGATOR_* env < flags.

The resolved :class:`Config` is passed to whatever needs it; nothing reads the environment
or the file later.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ByteSize, Field, ValidationError, field_validator

from aggregator import __version__, yamlfile
from aggregator.daemon_settings import DaemonSettings
from aggregator.digest.settings import DigestSettings, SmtpSettings
from aggregator.errors import ConfigError
from aggregator.sources import Source, StrictModel
from aggregator.units import Duration

DEFAULT_CONFIG = Path("sources.yaml")
ENV_PREFIX = "AGGREGATOR_"


class FetchSettings(StrictModel):
    concurrency: int = Field(16, ge=1, le=256, description="Fetches in flight at once.")
    per_host: int = Field(2, ge=1, le=32, description="Fetches in flight per host name.")
    connect_timeout: Duration = Field(timedelta(seconds=10), description="TCP connect timeout.")
    deadline: Duration = Field(
        timedelta(seconds=30), description="Total time for one request, redirects and body."
    )
    max_feed_bytes: ByteSize = Field(
        ByteSize(15 * 2**20), description="Cap on a feed's decoded body."
    )
    max_page_bytes: ByteSize = Field(
        ByteSize(5 * 2**20), description="Cap on a page's decoded body."
    )
    max_redirects: int = Field(5, ge=0, le=20, description="Redirect hops followed.")
    parse_processes: int = Field(
        1, ge=0, le=64, description="Parser processes; 0 parses in the fetching threads."
    )
    parse_timeout: Duration = Field(
        timedelta(seconds=60), description="Time one document may take to parse."
    )
    parse_memory: ByteSize = Field(
        ByteSize(2**30), description="Address-space cap of each parser process."
    )
    interval: Duration = Field(
        timedelta(hours=1), description="Default time between fetches of a source."
    )
    retry_after_cap: Duration = Field(
        timedelta(hours=24), description="Longest Retry-After or 429/503 pause honoured."
    )
    backoff_max: Duration = Field(
        timedelta(hours=24), description="Longest pause after repeated errors."
    )
    allow_private_addresses: bool = Field(
        False, description="Allow feeds on loopback, private and link-local addresses."
    )
    allow_hosts: tuple[str, ...] = Field(
        (), description="Host names allowed whatever address they resolve to."
    )

    @field_validator("allow_hosts", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return (
            [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
        )

    @field_validator("allow_hosts")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.lower().strip("[]") for v in value)


class ProcessSettings(StrictModel):
    fulltext_min_words: int = Field(
        60, ge=0, description="A feed summary shorter than this sends for the article page."
    )
    workers: int = Field(8, ge=1, le=64, description="Article pages fetched at once.")
    host_delay: Duration = Field(
        timedelta(seconds=1), description="Least time between two requests to one site."
    )
    max_host_delay: Duration = Field(
        timedelta(seconds=10), description="Cap on a site's robots.txt Crawl-delay."
    )
    max_age: Duration = Field(
        timedelta(days=7), description="Entries published longer ago are not processed."
    )


class LlmSettings(StrictModel):
    base_url: str | None = Field(
        None, description="OpenAI-compatible API root (https://api.openai.com/v1); unset: off."
    )
    model: str | None = Field(None, description="Model name sent to the API.")
    api_key: str | None = Field(
        None, description="Bearer key; better given as AGGREGATOR_LLM__API_KEY.", repr=False
    )
    timeout: Duration = Field(timedelta(seconds=30), description="Time one API call may take.")
    max_calls: int = Field(50, ge=0, description="API calls per run; cached answers are free.")

    @property
    def enabled(self) -> bool:
        return bool(self.base_url and self.model)


DEFAULT_ALIASES = (
    "International Organization for Migration",
    "UN Migration Agency",
    "UN migration agency",
    "OIM",
    "Organisation internationale pour les migrations",
    "Organización Internacional para las Migraciones",
)


class OrganizationSettings(StrictModel):
    name: str = Field("IOM", min_length=1, description="How the digest names the organisation.")
    aliases: tuple[str, ...] = Field(
        DEFAULT_ALIASES, description="Other names of it found in articles (any language)."
    )


class Settings(StrictModel):
    timezone: str = Field("UTC", description="Timezone of the edition's day (IANA name).")
    contact: str | None = Field(
        None, description="URL or e-mail that sites can reach you at; sent in the User-Agent."
    )
    user_agent: str | None = Field(None, description="Replaces the whole User-Agent header.")
    database_url: str = Field(
        "sqlite:///data/aggregator.db", description="SQLAlchemy URL of the store."
    )
    taxonomy: Path | None = Field(
        None, description="A taxonomy file replacing the packaged one (relative to sources.yaml)."
    )
    fetch: FetchSettings = Field(default_factory=FetchSettings)  # type: ignore[arg-type]
    process: ProcessSettings = Field(default_factory=ProcessSettings)  # type: ignore[arg-type]
    llm: LlmSettings = Field(default_factory=LlmSettings)  # type: ignore[arg-type]
    organization: OrganizationSettings = Field(
        default_factory=OrganizationSettings  # type: ignore[arg-type]
    )
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)  # type: ignore[arg-type]
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)  # type: ignore[arg-type]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r} (use an IANA name)") from exc
        return value

    @property
    def agent(self) -> str:
        if self.user_agent:
            return self.user_agent
        contact = f"; +{self.contact}" if self.contact else ""
        return f"aggregator/{__version__} (migration press digest{contact})"


class _File(StrictModel):
    settings: Settings = Field(default_factory=Settings)  # type: ignore[arg-type]
    sources: tuple[Source, ...] = ()
    digest: DigestSettings = Field(default_factory=DigestSettings)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Config:
    path: Path
    settings: Settings
    sources: tuple[Source, ...]
    warnings: tuple[str, ...] = ()
    digest: DigestSettings = dataclasses.field(default_factory=DigestSettings)


def config_path(flag: Path | None, env: Mapping[str, str]) -> Path:
    if flag is not None:
        return flag
    return Path(env.get(ENV_PREFIX + "CONFIG", str(DEFAULT_CONFIG)))


def load_config(
    path: Path, env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Config:
    """Read and validate ``path``; every problem is reported at once with its line."""
    env = os.environ if env is None else env
    raw = yamlfile.load(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}:1: expected a mapping with 'sources:' (and optional 'settings:')"
        )
    data = dict(raw)
    settings = _overlay(dict(raw.get("settings") or {}), _env_settings(env), overrides or {})
    data["settings"] = settings
    try:
        parsed = _File.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(path, raw, err) for err in exc.errors()]
        raise ConfigError(f"{path}: {len(problems)} problem(s)", problems) from exc
    problems = _duplicate_urls(path, raw, parsed.sources)
    if problems:
        raise ConfigError(f"{path}: {len(problems)} problem(s)", problems)
    settings = parsed.settings
    if settings.taxonomy is not None and not settings.taxonomy.is_absolute():
        settings = settings.model_copy(update={"taxonomy": path.parent / settings.taxonomy})
    warnings = tuple(_warnings(path, parsed))
    return Config(path, settings, parsed.sources, warnings, parsed.digest)


def _overlay(base: dict[str, Any], *layers: Mapping[str, Any]) -> dict[str, Any]:
    for layer in layers:
        for key, value in layer.items():
            if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
                base[key] = _overlay(dict(base[key]), value)
            else:
                base[key] = value
    return base


def _env_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """AGGREGATOR_DATABASE_URL, AGGREGATOR_FETCH__CONCURRENCY ... (unknown names are ignored)."""
    found: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        group = field.annotation
        if isinstance(group, type) and issubclass(group, BaseModel):
            for sub in group.model_fields:
                key = f"{ENV_PREFIX}{name}__{sub}".upper()
                if key in env:
                    found.setdefault(name, {})[sub] = env[key]
        elif (key := f"{ENV_PREFIX}{name}".upper()) in env:
            found[name] = env[key]
    return found


def _describe(path: Path, raw: Any, err: Any) -> str:
    loc = tuple(err["loc"])
    line = yamlfile.line_of(raw, loc)
    where = f"{path}:{line}" if line else str(path)
    field = _dotted(loc[:2]) + _source_name(raw, loc) + _dotted(loc[2:], nested=len(loc) > 2)
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = f"unknown key '{loc[-1]}' (a typo?)"
    elif err["type"] == "missing":
        message = f"missing required key '{loc[-1]}'"
    return f"{where}: {field}: {message}"


def _dotted(loc: tuple[Any, ...], nested: bool = False) -> str:
    text = ""
    for part in loc:
        text += (
            f"[{part}]" if isinstance(part, int) else (f".{part}" if text or nested else str(part))
        )
    return text


def _source_name(raw: Any, loc: tuple[Any, ...]) -> str:
    if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
        items = raw.get("sources") if isinstance(raw, dict) else None
        if isinstance(items, list) and loc[1] < len(items) and isinstance(items[loc[1]], dict):
            name = items[loc[1]].get("name")
            if name:
                return f' ("{name}")'
    return ""


def _duplicate_urls(path: Path, raw: Any, sources: tuple[Source, ...]) -> list[str]:
    seen: dict[str, int] = {}
    problems = []
    for index, source in enumerate(sources):
        if source.url in seen:
            line = yamlfile.line_of(raw, ("sources", index, "url"))
            problems.append(
                f"{path}:{line}: sources[{index}].url: duplicate of sources[{seen[source.url]}]"
                f" ({source.url}); a URL may appear once"
            )
        seen.setdefault(source.url, index)
    return problems


def _warnings(path: Path, parsed: _File) -> list[str]:
    warnings = []
    if not parsed.settings.contact and not parsed.settings.user_agent:
        warnings.append(
            f"{path}: settings.contact is not set: sites you fetch cannot reach you"
            " (it goes into the User-Agent)"
        )
    if not parsed.sources:
        warnings.append(f"{path}: no sources listed")
    return warnings
