"""The LLM summarizer against a fake chat-completions server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from aggregator.process.llm import (
    LlmOptions,
    LlmSummarizer,
    MemoryCache,
    Summary,
    cache_key,
    clean_reply,
    count_sentences,
    house_style_problem,
)

PATH = "/v1/chat/completions"
GOOD = (
    "AFP reported that migrants who returned to The Gambia after suffering abuse in Libya "
    "have formed a group to warn young people about the dangers of the journey."
)
FALLBACK = "AFP reported that returned migrants in The Gambia have formed a group."
ARTICLE = {
    "outlets": ["AFP"],
    "title": "Gambian returnees warn of the road to Europe",
    "text": "BANJUL (AFP) - Migrants who came back from Libya have formed a group.",
    "language": "en",
    "fallback": FALLBACK,
}


def completion(content: Any) -> bytes:
    return json.dumps(
        {"choices": [{"message": {"role": "assistant", "content": content}}]}
    ).encode()


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Reply:
    body: bytes = field(default_factory=lambda: completion(GOOD))
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    declare_length: bool = True  # False: no Content-Length, the body ends when the server closes


class FakeLlm:
    """Answers POST /v1/chat/completions with ``reply`` and records every request."""

    def __init__(self) -> None:
        self.reply: Reply | Callable[[], Reply] = Reply()
        self.requests: list[Recorded] = []
        self.release = threading.Event()  # a "slow" reply waits for this, not for a clock
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                outer.requests.append(Recorded(self.path, headers, json.loads(raw)))
                reply = outer.reply if isinstance(outer.reply, Reply) else outer.reply()
                if self.path != PATH:
                    reply = Reply(b"not found", 404)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    if reply.declare_length:
                        self.send_header("Content-Length", str(len(reply.body)))
                    else:
                        self.close_connection = True
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on purpose (timeouts, caps)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def slow(self) -> Reply:
        self.release.wait(10)
        return Reply()

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def fake() -> Iterator[FakeLlm]:
    server = FakeLlm()
    yield server
    server.close()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False  # a proxy set in the environment must not catch 127.0.0.1
        yield s


def summarizer(
    fake: FakeLlm, session: requests.Session, **overrides: Any
) -> tuple[LlmSummarizer, MemoryCache]:
    options = LlmOptions(**{"base_url": fake.base_url, "model": "test-model", **overrides})
    cache = MemoryCache()
    return LlmSummarizer(options, cache, session=session), cache


def summarize(llm: LlmSummarizer, **changes: Any) -> Summary:
    return llm.summarize(**{**ARTICLE, **changes})


# --- success, request shape, cache, call cap -------------------------------------------------


def test_success_returns_the_reply_and_sends_model_messages_and_settings(
    fake: FakeLlm, session: requests.Session
) -> None:
    llm, cache = summarizer(fake, session, temperature=0.3, max_tokens=99)
    assert summarize(llm) == Summary(GOOD, "llm")
    [request] = fake.requests
    assert request.path == PATH
    assert request.body["model"] == "test-model"
    assert (request.body["temperature"], request.body["max_tokens"]) == (0.3, 99)
    system, user = request.body["messages"]
    assert system["role"] == "system" and "UK English" in system["content"]
    assert user["role"] == "user"
    assert ARTICLE["title"] in user["content"] and ARTICLE["text"] in user["content"]
    assert "AFP" in user["content"]
    assert llm.calls == 1 and len(cache) == 1


def test_text_sent_is_cut_to_max_input_chars(fake: FakeLlm, session: requests.Session) -> None:
    llm, _ = summarizer(fake, session, max_input_chars=300)
    text = " ".join(f"w{i:04d}" for i in range(200))  # 1,199 characters, every word unique
    summarize(llm, text=text)
    user = fake.requests[0].body["messages"][1]["content"]
    assert text[:300] in user
    assert text[:301] not in user and "w0199" not in user


def test_publication_date_and_language_are_given_to_the_model(
    fake: FakeLlm, session: requests.Session
) -> None:
    llm, _ = summarizer(fake, session)
    summarize(llm, language="fr", published=date(2026, 11, 24))
    user = fake.requests[0].body["messages"][1]["content"]
    assert "Tuesday 24 November 2026" in user and "French" in user


def test_authorization_header_only_when_a_key_is_set(
    fake: FakeLlm, session: requests.Session
) -> None:
    with_key, _ = summarizer(fake, session, api_key="sk-test-123")
    without_key, _ = summarizer(fake, session)
    summarize(with_key)
    summarize(without_key)
    assert fake.requests[0].headers["authorization"] == "Bearer sk-test-123"
    assert "authorization" not in fake.requests[1].headers


def test_cache_hit_makes_no_second_request(fake: FakeLlm, session: requests.Session) -> None:
    llm, _ = summarizer(fake, session)
    first, second = summarize(llm), summarize(llm)
    assert (first.source, second.source) == ("llm", "cache")
    assert second.sentence == first.sentence
    assert len(fake.requests) == 1 and llm.calls == 1
    summarize(llm, text=ARTICLE["text"] + " More.")  # other text, other key
    assert len(fake.requests) == 2


def test_cache_key_covers_model_outlets_title_text_and_date() -> None:
    options = LlmOptions(base_url="http://x/v1", model="m1")
    base = cache_key(options, ["AFP"], "T", "body")
    assert base == cache_key(options, ["AFP"], "T", "body")
    variants = {
        cache_key(LlmOptions(base_url="http://x/v1", model="m2"), ["AFP"], "T", "body"),
        cache_key(options, ["AFP", "DPA"], "T", "body"),
        cache_key(options, ["AFP"], "T2", "body"),
        cache_key(options, ["AFP"], "T", "body2"),
        cache_key(options, ["AFP"], "Tb", "ody"),  # fields do not run into each other
        cache_key(options, ["AFP"], "T", "body", published=date(2026, 1, 1)),
    }
    assert base not in variants and len(variants) == 6


def test_call_cap_stops_requests_but_not_cache_hits(
    fake: FakeLlm, session: requests.Session
) -> None:
    llm, _ = summarizer(fake, session, max_calls=2)
    results = [summarize(llm, title=f"Story {i}") for i in range(3)]
    assert [r.source for r in results] == ["llm", "llm", "extractive"]
    assert results[2] == Summary(FALLBACK, "extractive", "call cap reached")
    assert len(fake.requests) == 2 and llm.calls == 2
    assert summarize(llm, title="Story 0").source == "cache"


def test_nothing_to_summarise_makes_no_request(fake: FakeLlm, session: requests.Session) -> None:
    llm, _ = summarizer(fake, session)
    assert summarize(llm, title=" ", text="").source == "extractive"
    assert summarize(llm, outlets=[]).source == "extractive"
    assert fake.requests == [] and llm.calls == 0


# --- failures fall back, are logged and are not cached ---------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(b'{"error": "boom"}', 500), "HTTP 500"),
        (
            Reply(b'{"error": {"message": "Rate limit reached"}}', 429, {"Retry-After": "20"}),
            'HTTP 429 (retry after 20): {"error": {"message": "Rate limit reached"}}',
        ),
        (Reply(b"<html>gateway</html>"), "reply is not JSON"),
        (Reply(b"\xff\xfe\xfa"), "reply is not JSON"),
        (Reply(json.dumps({"choices": []}).encode()), "reply has no choices[0].message.content"),
        (Reply(b'{"choices": [{"message": {}}]}'), "reply has no choices[0].message.content"),
        (Reply(completion(None)), "reply content is NoneType, not a string"),
        (Reply(b"[1, 2]"), "reply has no choices[0].message.content"),
    ],
)
def test_server_errors_fall_back_without_caching(
    fake: FakeLlm, session: requests.Session, reply: Reply, expected: str
) -> None:
    fake.reply = reply
    llm, cache = summarizer(fake, session)
    result = summarize(llm)
    assert (result.sentence, result.source) == (FALLBACK, "extractive")
    assert result.error is not None and result.error.startswith(expected)
    assert len(cache) == 0
    fake.reply = Reply()
    assert summarize(llm).source == "llm"  # the failure was not cached
    assert len(fake.requests) == 2


def test_timeout_falls_back(fake: FakeLlm, session: requests.Session) -> None:
    fake.reply = fake.slow
    llm, cache = summarizer(fake, session, timeout=0.2)
    result = summarize(llm)
    fake.release.set()
    assert result == Summary(FALLBACK, "extractive", "timed out after 0.2 s")
    assert len(cache) == 0


def test_connection_refused_falls_back(session: requests.Session) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = LlmOptions(base_url=f"http://127.0.0.1:{port}/v1", model="m", timeout=2)
    result = LlmSummarizer(options, MemoryCache(), session=session).summarize(**ARTICLE)
    assert result.source == "extractive"
    assert result.error is not None and result.error.startswith("request failed:")


def test_huge_reply_is_refused(fake: FakeLlm, session: requests.Session) -> None:
    fake.reply = Reply(completion("AFP reported that " + "x " * 20_000))
    llm, _ = summarizer(fake, session, max_reply_bytes=4096)
    result = summarize(llm)
    assert result.source == "extractive"
    assert result.error is not None and result.error.endswith("over the 4096-byte cap")


def test_huge_reply_without_length_is_cut_while_reading(
    fake: FakeLlm, session: requests.Session
) -> None:
    fake.reply = Reply(b" " * 50_000 + completion(GOOD), declare_length=False)
    llm, _ = summarizer(fake, session, max_reply_bytes=4096)
    result = summarize(llm)
    assert result.error == "reply is over the 4096-byte cap"


TOO_LONG = "AFP reported that " + " ".join(["migrants crossed the sea"] * 14) + "."


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (TOO_LONG, "59 words"),
        ("AFP reported that boats arrived.", "5 words"),
        (
            GOOD + " It cited figures from the coastguard for the whole of this year.",
            "more than one sentence",
        ),
        (GOOD.replace("AFP reported", "Officials said"), "does not start with the outlet name"),
        (GOOD[:-1], "does not end with a full stop"),
        (GOOD.replace("have formed", "have\nformed"), "more than one line"),
        (GOOD.replace("migrants", "illegal migrants"), "uses 'illegal migrant'"),
    ],
)
def test_reply_that_breaks_house_style_falls_back(
    fake: FakeLlm, session: requests.Session, content: str, problem: str
) -> None:
    fake.reply = Reply(completion(content))
    llm, cache = summarizer(fake, session)
    result = summarize(llm)
    assert result.source == "extractive" and result.sentence == FALLBACK
    assert result.error == f"reply failed house style: {problem}"
    assert len(cache) == 0


def test_wrapped_reply_is_cleaned_and_accepted(fake: FakeLlm, session: requests.Session) -> None:
    fake.reply = Reply(completion(f'<think>the lede is...</think>\n"**{GOOD}**"\n'))
    llm, _ = summarizer(fake, session)
    assert summarize(llm) == Summary(GOOD, "llm")


def test_failure_is_logged_with_stable_keys_and_without_the_key(
    fake: FakeLlm, session: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-very-secret-value"
    fake.reply = Reply(json.dumps({"error": f"Incorrect API key {secret}"}).encode(), 401)
    llm, _ = summarizer(fake, session, api_key=secret)
    with caplog.at_level(logging.INFO, logger="aggregator.process.llm"):
        result = summarize(llm)
    assert result.error is not None and result.error.startswith("HTTP 401")
    assert secret not in result.error and secret not in repr(llm._options)
    [record] = caplog.records
    assert (record.stage, record.error) == ("summarize", result.error)  # type: ignore[attr-defined]
    assert secret not in caplog.text


# --- the house-style check on its own --------------------------------------------------------


def test_several_outlets_must_all_be_named() -> None:
    sentence = "DPA and AFP reported that " + GOOD.removeprefix("AFP reported that ")
    assert house_style_problem(sentence, ["DPA", "AFP"]) is None
    assert house_style_problem(sentence, ["AFP", "DPA"]) is None  # any order
    assert house_style_problem(GOOD, ["AFP", "DPA"]) == "does not name DPA"


def test_outlet_may_take_the_article_or_a_country_prefix() -> None:
    rest = GOOD.removeprefix("AFP ")
    assert house_style_problem("The Guardian " + rest, ["Guardian"]) is None
    assert house_style_problem("Guardian " + rest, ["The Guardian"]) is None
    assert house_style_problem("Guatemala's AGN " + rest, ["AGN"]) is None
    assert house_style_problem("AFPX " + rest, ["AFP"]) == "does not start with the outlet name"


def test_abbreviations_do_not_end_a_sentence() -> None:
    assert count_sentences("AFP reported that U.S. officials met Dr. Ruiz at 9 a.m. in Rome.") == 1
    assert count_sentences("AFP reported that boats arrived. Officials said 40 people died.") == 2
    assert count_sentences('AFP reported that they asked "Why?" Then they left.') == 2


def test_clean_reply_strips_fences_labels_and_quotes_only_around_the_sentence() -> None:
    assert clean_reply(f"```\n{GOOD}\n```") == GOOD
    assert clean_reply(f"Sentence: {GOOD}") == GOOD
    assert clean_reply(f"“{GOOD}”") == GOOD
    inner = 'AFP reported that the minister called it "a disgrace."'
    assert clean_reply(inner) == 'AFP reported that the minister called it "a disgrace".'
