"""One exception tree for the whole project.

    AggregatorError
    ├── ConfigError            a bad sources.yaml, setting or flag (the CLI exits 2)
    │   └── TaxonomyError          a bad taxonomy.yaml (file, line, field)
    ├── StoreError             the database cannot be opened or migrated
    ├── ParserUnavailable      parser processes cannot start (parsing falls back to threads)
    ├── ExtractionError        an article page yields no usable text (recorded on the article)
    ├── SummarizerError        the LLM summarizer failed; the extractive sentence is used
    └── FetchError             one source failed; recorded on it, the run goes on
        ├── InvalidURL             not http(s), no host
        ├── ForbiddenAddress       SSRF guard: private, loopback, link-local, metadata
        ├── DNSError, ConnectError, TLSError, TimeoutError_
        ├── RedirectError          loop, too many hops, bad Location
        ├── HTTPStatusError        4xx/5xx (carries status and Retry-After)
        ├── TooLarge               decoded body over the cap
        └── ParseError             the body is not usable
            └── NotAFeed               HTML or anything that is not a feed

Third-party errors are wrapped at the boundary (``raise DNSError(...) from exc``).
Every ``FetchError`` has a stable ``kind`` string stored on the source and shown
to users; anything that is not an ``AggregatorError`` is a bug and is raised.
"""

from __future__ import annotations

from datetime import datetime


class AggregatorError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigError(AggregatorError):
    """A configuration problem; ``problems`` lists every one found."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or [message]
        super().__init__(message)


class TaxonomyError(ConfigError):
    """taxonomy.yaml (or the file named by the ``taxonomy`` setting) is invalid."""


class ExtractionError(AggregatorError):
    """An article page gave no usable text; the article keeps its feed summary."""


class SummarizerError(AggregatorError):
    """The LLM summarizer failed (network, HTTP status, bad reply); the caller falls back."""


class StoreError(AggregatorError):
    """The store cannot be opened, migrated or written."""


class ParserUnavailable(AggregatorError):
    """Parser processes cannot start; the caller parses in its own threads instead."""


class FetchError(AggregatorError):
    kind = "fetch"


class InvalidURL(FetchError):
    kind = "invalid_url"


class ForbiddenAddress(FetchError):
    kind = "forbidden_address"


class DNSError(FetchError):
    kind = "dns"


class ConnectError(FetchError):
    kind = "connect"


class TLSError(FetchError):
    kind = "tls"


class TimeoutError_(FetchError):
    kind = "timeout"


class RedirectError(FetchError):
    kind = "redirect"


class TooLarge(FetchError):
    kind = "too_large"


class HTTPStatusError(FetchError):
    kind = "http"

    def __init__(self, message: str, status: int, retry_after: datetime | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)


class ParseError(FetchError):
    kind = "parse"


class NotAFeed(ParseError):
    kind = "not_a_feed"
