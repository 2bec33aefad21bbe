"""Optional digest sentence from an OpenAI-compatible chat-completions API.

``LlmSummarizer.summarize`` asks ``POST {base_url}/chat/completions`` for the one-sentence
digest item and checks the reply against the house style before accepting it. Fallback
cascade, first match wins:

1. the cache holds a sentence for the same model, prompt version, outlets, title and text
   (``source="cache"``, no request);
2. nothing to summarise, or ``max_calls`` requests already made this run: the caller's
   extractive sentence (``source="extractive"``, no request);
3. a reply that passes the house-style check (``source="llm"``, cached);
4. anything else (connection, timeout, HTTP status, not JSON, no content, too large, house
   style): the extractive sentence, with ``error`` saying why. Failures are not cached.

Network and reply errors become :class:`~aggregator.errors.SummarizerError` at the boundary
and never leave ``summarize``; a bug (any other exception) still does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import requests

from aggregator.errors import SummarizerError

log = logging.getLogger(__name__)

PROMPT_VERSION = "1"  # bump when the prompt changes, so cached sentences are not reused
MIN_WORDS, MAX_WORDS = 14, 45
_CHUNK = 16 * 1024
_ERROR_EXCERPT = 200

SYSTEM_PROMPT = """\
You write the items of a daily press digest about migration. Each item is one sentence \
that tells the reader what an article reported.

Write exactly one sentence in this form:
<Outlets> reported that <paraphrase of the article's lede>.

Rules:
- Start with the outlet name(s) exactly as given, in the order given. Two outlets: \
"DPA and AFP reported that ..."; more: "Xinhua, ANSA and Sputnik reported that ...".
- Write UK English ("per cent", "programme", "centre", "labour"). If the article is in French, \
Spanish or another language, translate: the sentence is always in English.
- Use a simple-past reporting verb ("reported"). Inside the clause, use the present or present \
perfect for ongoing situations and the simple past for completed events.
- 14 to 45 words; aim for 20 to 35.
- Paraphrase the lede (who, what, where); do not copy the article's first sentence word for word.
- No dateline ("ROME (AFP) -"), no byline, no headline, no quotation marks around the \
sentence, no markdown, no preamble.
- When a figure comes from a named source, keep "according to <source>". Keep numbers as printed.
- Use absolute dates ("on 24 November 2026"), never relative ones ("on Monday", "last week", \
"yesterday"). If the date cannot be worked out from the text and the publication date, \
leave the time out.
- Write "irregular" or "undocumented" migrants, never "illegal migrants"; write "people \
displaced by climate change", never "climate refugees".
- Only state what the text says. Add no facts, figures, names, causes or opinions.
- For a human-interest piece about one person you may write instead: \
"<Outlet> shared the story of <Name>, a <description> who <what they did>."

Examples:
AFP reported that migrants who returned to The Gambia after suffering abuse in Libya have \
formed a group to warn young people about the dangers of the journey to Europe.
DPA and ANSA reported that, according to the Italian coastguard, 257 migrants were rescued \
from three boats in the central Mediterranean on 18 November 2017.

Reply with the sentence only."""

_LANGUAGES = {"en": "English", "fr": "French", "es": "Spanish"}


@dataclass(frozen=True, slots=True)
class LlmOptions:
    base_url: str  # e.g. "https://api.openai.com/v1" or "http://127.0.0.1:11434/v1"
    model: str
    api_key: str | None = None
    timeout: float = 30.0  # per request: connecting, waiting and reading the whole reply
    max_calls: int = 50  # cap on API calls per run (cache hits are free)
    temperature: float = 0.2
    max_tokens: int = 160
    max_input_chars: int = 6000  # text sent is cut to this
    max_reply_bytes: int = 256 * 1024  # a reply is a few hundred bytes; refuse floods

    def __repr__(self) -> str:  # keeps the key out of logs and tracebacks
        key = "***" if self.api_key else None
        return f"LlmOptions(base_url={self.base_url!r}, model={self.model!r}, api_key={key})"


class SummaryCache(Protocol):
    def get(self, key: str) -> str | None: ...
    def put(self, key: str, value: str) -> None: ...


class MemoryCache:
    """A dict-backed ``SummaryCache`` for one process (tests, one-off runs)."""

    def __init__(self) -> None:
        self._items: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self._items.get(key)

    def put(self, key: str, value: str) -> None:
        self._items[key] = value

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True, slots=True)
class Summary:
    sentence: str
    source: str  # "llm", "cache" or "extractive"
    error: str | None = None  # why the fallback was used


def cache_key(
    options: LlmOptions,
    outlets: Sequence[str],
    title: str,
    text: str,
    *,
    published: date | None = None,
) -> str:
    """sha256 over everything that decides the reply (JSON keeps the fields apart)."""
    parts = [options.model, PROMPT_VERSION, list(outlets), title, text]
    if published is not None:  # keys made without a date stay as they were
        parts.append(published.isoformat())
    payload = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class LlmSummarizer:
    """Writes digest sentences through the API; falls back to the caller's sentence."""

    def __init__(
        self,
        options: LlmOptions,
        cache: SummaryCache,
        session: requests.Session | None = None,
    ) -> None:
        self._options = options
        self._cache = cache
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        self._url = options.base_url.rstrip("/") + "/chat/completions"
        self._calls = 0
        self._lock = threading.Lock()  # processing may summarise from several threads

    @property
    def calls(self) -> int:
        return self._calls

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def summarize(
        self,
        *,
        outlets: Sequence[str],
        title: str,
        text: str,
        language: str,
        fallback: str,
        published: date | None = None,
    ) -> Summary:
        if not outlets or not (title.strip() or text.strip()):
            return Summary(fallback, "extractive", "nothing to summarise")
        key = cache_key(self._options, outlets, title, text, published=published)
        cached = self._cache.get(key)
        if cached is not None:
            return Summary(cached, "cache")
        if not self._take_call():
            return Summary(fallback, "extractive", "call cap reached")
        messages = build_messages(outlets, title, text, language, published, self._options)
        try:
            sentence = self._ask(messages, outlets)
        except SummarizerError as exc:
            return self._fall_back(fallback, outlets, exc)
        self._cache.put(key, sentence)
        return Summary(sentence, "llm")

    def _take_call(self) -> bool:
        with self._lock:
            if self._calls >= self._options.max_calls:
                return False
            self._calls += 1
            if self._calls == self._options.max_calls:
                log.info(
                    "summarizer call cap of %d reached; later items use the extractive sentence",
                    self._options.max_calls,
                    extra={"stage": "summarize", "error": "call cap reached"},
                )
            return True

    def _fall_back(self, fallback: str, outlets: Sequence[str], exc: SummarizerError) -> Summary:
        key = self._options.api_key  # servers may echo it back in an error body
        error = str(exc).replace(key, "***") if key else str(exc)
        log.warning(
            "summary fell back to the extractive sentence: %s",
            error,
            extra={"stage": "summarize", "error": error, "source": ", ".join(outlets)},
        )
        return Summary(fallback, "extractive", error)

    def _ask(self, messages: list[dict[str, str]], outlets: Sequence[str]) -> str:
        sentence = clean_reply(_content(self._post(messages)))
        problem = house_style_problem(sentence, outlets)
        if problem:
            raise SummarizerError(f"reply failed house style: {problem}")
        return sentence

    def _post(self, messages: list[dict[str, str]]) -> bytes:
        options = self._options
        headers = {"Accept": "application/json"}
        if options.api_key:
            headers["Authorization"] = f"Bearer {options.api_key}"
        body = {
            "model": options.model,
            "messages": messages,
            "temperature": options.temperature,
            "max_tokens": options.max_tokens,
        }
        deadline = time.monotonic() + options.timeout
        try:
            with self._session.post(
                self._url,
                json=body,
                headers=headers,
                timeout=options.timeout,
                stream=True,
                allow_redirects=False,  # a redirected POST would turn into a GET
            ) as response:
                _check_status(response)
                return _read_capped(response, options, deadline)
        except requests.RequestException as exc:
            raise _request_error(exc, options.timeout) from exc


def build_messages(
    outlets: Sequence[str],
    title: str,
    text: str,
    language: str,
    published: date | None,
    options: LlmOptions,
) -> list[dict[str, str]]:
    """The system prompt (house style) and the article, its text cut to ``max_input_chars``."""
    lines = [f"Outlets: {', '.join(outlets)}"]
    name = _LANGUAGES.get(language.lower(), language) if language else "unknown"
    lines.append(f"Article language: {name} (write the sentence in English)")
    if published is not None:
        lines.append(f"Publication date: {published:%A} {published.day} {published:%B %Y}")
    lines.append(f"Title: {title.strip()[:500]}")
    lines.append(f"Text:\n{text.strip()[: options.max_input_chars]}")
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": "\n".join(lines)},
    ]


def _read_capped(response: requests.Response, options: LlmOptions, deadline: float) -> bytes:
    limit = options.max_reply_bytes
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise SummarizerError(f"reply of {declared} bytes is over the {limit}-byte cap")
    chunks, total = [], 0
    for chunk in response.iter_content(_CHUNK):
        total += len(chunk)
        if total > limit:
            raise SummarizerError(f"reply is over the {limit}-byte cap")
        if time.monotonic() > deadline:  # the read timeout alone lets a trickle go on forever
            raise SummarizerError(f"timed out after {options.timeout:g} s")
        chunks.append(chunk)
    return b"".join(chunks)


def _check_status(response: requests.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    retry = response.headers.get("retry-after")
    wait = f" (retry after {retry})" if retry else ""
    head = next(response.iter_content(2 * _ERROR_EXCERPT), b"")  # the gist, never a flood
    raise SummarizerError(f"HTTP {status}{wait}: {_excerpt(head)}")


def _request_error(exc: requests.RequestException, timeout: float) -> SummarizerError:
    message = str(exc)
    if isinstance(exc, requests.Timeout) or "timed out" in message.lower():
        return SummarizerError(f"timed out after {timeout:g} s")
    reason = re.search(r"\[Errno -?\d+\] ([^'\")]+)", message)
    short = reason.group(1).strip() if reason else f"{type(exc).__name__}: {message[:200]}"
    return SummarizerError(f"request failed: {short}")


def _content(body: bytes) -> str:
    try:
        data: Any = json.loads(body)
    except ValueError as exc:  # includes bytes that are not UTF-8
        raise SummarizerError(f"reply is not JSON: {_excerpt(body)}") from exc
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise SummarizerError("reply has no choices[0].message.content") from exc
    if not isinstance(content, str):
        raise SummarizerError(f"reply content is {type(content).__name__}, not a string")
    return content


def _excerpt(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    if not text:
        return "(empty body)"
    return text[:_ERROR_EXCERPT] + ("…" if len(text) > _ERROR_EXCERPT else "")


# --- the reply and the house style ------------------------------------------------------------

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)  # reasoning models
_FENCE = re.compile(r"^```[\w-]*\s*|\s*```$")
_LABEL = re.compile(r"^(?:[-*>•]\s+|(?:summary|sentence|digest item)\s*:\s*)", re.IGNORECASE)
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»"}
_BANNED = (
    (re.compile(r"\billegal (?:im)?migra(?:nt|nts|tion)\b", re.IGNORECASE), "illegal migrant"),
    (re.compile(r"\bclimate refugees?\b", re.IGNORECASE), "climate refugee"),
)
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(]?[A-Z0-9])")
_INITIALISM = re.compile(r"(?:[A-Za-z]\.)+$")  # U.S., U.K., a.m.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st mt ft gen col lt sgt capt cmdr adm gov sen rep pres rev hon jr sr"
    " no nos vs etc inc ltd co corp dept univ approx est jan feb mar apr jun jul aug sep sept"
    " oct nov dec".split()
)


def clean_reply(reply: str) -> str:
    """Drop what models wrap around the sentence: reasoning, fences, labels, markdown, quotes."""
    text = _THINK.sub("", reply).strip()
    text = _FENCE.sub("", text).strip()
    text = _LABEL.sub("", text).replace("**", "").replace("__", "").replace("`", "").strip()
    while len(text) > 1 and _QUOTES.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    if text.endswith(('."', ".”", ".'", ".’")):  # UK style: the full stop goes outside
        text = text[:-2] + text[-1] + "."
    return text


def house_style_problem(sentence: str, outlets: Sequence[str]) -> str | None:
    """What breaks the house style in ``sentence`` (``None`` when it passes)."""
    if not sentence:
        return "empty reply"
    if "\n" in sentence or "\r" in sentence:
        return "more than one line"
    if not sentence.endswith(".") or sentence.endswith(".."):
        return "does not end with a full stop"
    words = len(sentence.split())
    if not MIN_WORDS <= words <= MAX_WORDS:
        return f"{words} words"
    if count_sentences(sentence) > 1:
        return "more than one sentence"
    if not any(_starts_with(sentence, outlet) for outlet in outlets):
        return "does not start with the outlet name"
    missing = [outlet for outlet in outlets if _bare(outlet).lower() not in sentence.lower()]
    if missing:
        return f"does not name {', '.join(missing)}"
    for pattern, term in _BANNED:
        if pattern.search(sentence):
            return f"uses '{term}'"
    return None


def count_sentences(text: str) -> int:
    """Sentences in ``text``; abbreviations and initialisms ("Dr.", "U.S.") end none."""
    count = 1
    for match in _BOUNDARY.finditer(text.strip()):
        if text[match.start()] == "." and _is_abbreviation(text[: match.start() + 1]):
            continue
        count += 1
    return count


def _is_abbreviation(before: str) -> bool:
    token = before.rsplit(None, 1)[-1].lstrip("(\"'“‘")
    return bool(_INITIALISM.match(token)) or token[:-1].lower() in _ABBREVIATIONS


def _starts_with(sentence: str, outlet: str) -> bool:
    """Starts with the outlet, with or without "The", maybe after a country ("Guatemala's")."""
    country = r"(?:[A-Z][\w.-]*(?: [A-Z][\w.-]*)?['’]s )?"
    name = r"(?:the )?" + re.escape(_bare(outlet))
    return re.match(country + name + r"(?=\W|$)", sentence, re.IGNORECASE) is not None


def _bare(outlet: str) -> str:
    stripped = outlet.strip()
    return stripped[4:] if stripped.lower().startswith("the ") else stripped
