"""LLMAnswerer against the loopback OpenAI-compatible server: streaming, condensing, failures."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr

from assistant.llm.answerer import LLMAnswerer
from assistant.llm.budget import ScaledCounter
from assistant.models import Answer, Passage, Turn
from core.errors import LLMError
from core.settings import Settings
from tests.fake_openai_server import FakeOpenAIServer
from tests.llm_passages import HILLS, PROMO, SITTING, TESTIMONIAL, make_passage

KEY = "sk-test-NEVER-LOG-ME-9876"
WORDS = ScaledCounter("words", lambda text: len(text.split()), 1.3)
GOOD = "Add hills and speed work last [1]. Sitting pain alone should not decide it [2]."
QUESTION = "When can I add hills?"


class Retriever:
    """Records the queries it gets and returns fixed passages."""

    def __init__(self, passages: list[Passage]):
        self.passages = passages
        self.queries: list[str] = []

    def __call__(self, query: str) -> list[Passage]:
        self.queries.append(query)
        return list(self.passages)


def make(base_url: str, sleeps: list[float] | None = None, **overrides: Any) -> LLMAnswerer:
    values: dict[str, Any] = {
        "llm_base_url": base_url,
        "llm_model": "fake-model",
        "llm_api_key": SecretStr(KEY),
        "llm_timeout": 0.5,
        "llm_max_retries": 2,
        **overrides,
    }
    sleep: Callable[[float], None] = sleeps.append if sleeps is not None else (lambda _s: None)
    return LLMAnswerer(Settings(**values), counter=WORDS, backoff_base=0.01, sleep=sleep)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the happy path ------------------------------------------------------------------


def test_stream_yields_deltas_then_one_verified_answer(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply(GOOD)
    items = list(make(openai_server.base_url).stream(QUESTION, [], Retriever([HILLS, SITTING]), []))
    deltas, final = items[:-1], items[-1]
    # each delta is one whole sentence, shown only once it has been checked
    assert deltas == ["Add hills and speed work last [1].", " Sitting pain alone should not decide it [2]."]
    assert "".join(deltas) == GOOD  # type: ignore[arg-type]
    assert isinstance(final, Answer)
    assert final.status == "answered"
    assert final.answer == GOOD
    assert final.backend == "llm:fake-model"
    assert final.contexts == [HILLS, SITTING]
    assert [(c.marker, c.source) for c in final.citations] == [
        (1, HILLS.source),
        (2, SITTING.source),
    ]
    assert final.citations[1].quote == "Sitting pain alone should not decide whether you run."
    # the fake accepted response_format but answered in [n] text: parsed as such
    assert final.prompt == {"name": "answer_json", "version": "1"}
    assert openai_server.chat_requests[0].body["response_format"]["type"] == "json_schema"
    assert final.standalone_question == QUESTION
    assert final.timings_ms["total"] >= final.timings_ms["generate"] > 0
    (request,) = openai_server.chat_requests
    assert request.body["stream"] is True and request.body["model"] == "fake-model"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    roles = [m["role"] for m in request.messages]
    assert roles == ["system", "user"]
    user = request.messages[1]["content"]
    assert "[1] Held-out article (newer edition)" in user and "[2] Held-out article (older" in user
    assert f"Question: {QUESTION}" in user


def test_deltas_arrive_before_the_stream_ends(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply(GOOD, chunk_delay=0.05)
    start = time.perf_counter()
    arrivals = [
        (time.perf_counter() - start, item)
        for item in make(openai_server.base_url).stream(QUESTION, [], Retriever([HILLS, SITTING]))
    ]
    first_delta_at = next(t for t, item in arrivals if isinstance(item, str))
    answer_at = arrivals[-1][0]
    assert isinstance(arrivals[-1][1], Answer)
    assert answer_at - first_delta_at > 0.3  # 13 chunks x 50 ms were still to come


def test_ask_returns_the_final_answer_with_renumbered_markers_and_notices(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.reply("Sitting pain alone should not decide it [2][5]. Hills last [1].")
    notice = "The two editions disagree about passive treatments."
    answer = make(openai_server.base_url).ask(QUESTION, [], Retriever([HILLS, SITTING]), [notice])
    assert answer.answer == "Sitting pain alone should not decide it [1]. Hills last [2]."
    assert answer.notices[0] == notice
    assert answer.notices[1].startswith("Removed the citation marker [5]")
    assert f"- {notice}" in openai_server.chat_requests[0].messages[1]["content"]


def test_unsupported_sentences_setting_drops_them(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply("Hills last [1]. You surely have PHT.")
    answer = make(openai_server.base_url, unsupported_sentences="drop").ask(
        QUESTION, [], Retriever([HILLS])
    )
    assert answer.answer == "Hills last [1]."
    assert "Removed 1 sentence" in answer.notices[-1]


def test_promotional_passages_are_not_given_as_advice(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply("Hills come last [1].")
    answer = make(openai_server.base_url).ask(QUESTION, [], Retriever([TESTIMONIAL, HILLS, PROMO]))
    user = openai_server.chat_requests[0].messages[1]["content"]
    assert "Coach Sam" not in user
    assert "[2] Held-out article (newer edition) - section: Sponsor - PAID PROMOTION" in user
    assert answer.contexts == [HILLS, PROMO]


def test_passages_beyond_the_token_budget_are_not_sent(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply("Hills come last [1].")
    huge = make_passage("huge", ["Tendons adapt slowly to load. " * 200])
    answerer = make(openai_server.base_url, llm_context_tokens=1024, llm_max_tokens=128)
    answer = answerer.ask(QUESTION, [], Retriever([HILLS, huge, SITTING]))
    assert answer.contexts == [HILLS]
    user = openai_server.chat_requests[0].messages[1]["content"]
    assert "Tendons adapt" not in user and "Sitting pain" not in user
    assert answer.to_json()["contexts"][0]["text"] == HILLS.text


# --- condensing follow-ups -------------------------------------------------------------


def test_follow_up_is_condensed_with_the_history_and_used_for_retrieval(
    openai_server: FakeOpenAIServer,
) -> None:
    standalone = "When can a runner with hamstring tendon pain add hill running?"
    openai_server.reply(f'"{standalone}"').reply("Hills come last [1].")
    history = [
        Turn("user", "I have pain in my sit bone when I run."),
        Turn("assistant", "That can be hamstring tendon pain [1]."),
    ]
    retriever = Retriever([HILLS])
    answer = make(openai_server.base_url).ask("And hills?", history, retriever)
    condense, generate = openai_server.chat_requests
    assert not condense.body.get("stream")
    condense_text = "\n".join(m["content"] for m in condense.messages)
    assert "User: I have pain in my sit bone when I run." in condense_text
    assert "Assistant: That can be hamstring tendon pain [1]." in condense_text
    assert "Follow-up question: And hills?" in condense_text
    assert retriever.queries == [standalone]
    assert f"Question: {standalone}" in generate.messages[1]["content"]
    assert (answer.question, answer.standalone_question) == ("And hills?", standalone)
    assert answer.prompt["condense_version"] == "1"
    assert "condense" in answer.timings_ms


def test_no_history_means_no_condense_call(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply("Hills come last [1].")
    make(openai_server.base_url).ask(QUESTION, [], Retriever([HILLS]))
    assert len(openai_server.chat_requests) == 1


# --- failures: always LLMError, fast, without the key ------------------------------------


def _fails_fast(answerer: LLMAnswerer, history: list[Turn] | None = None) -> LLMError:
    start = time.perf_counter()
    with pytest.raises(LLMError) as info:
        list(answerer.stream(QUESTION, history or [], Retriever([HILLS, SITTING])))
    assert time.perf_counter() - start < 3.0
    assert KEY not in str(info.value)
    return info.value


@pytest.mark.parametrize(
    ("script", "requests", "words"),
    [
        (lambda s: s.fail(401, echo_key=True), 1, "API key is missing or wrong"),
        (lambda s: s.fail(403), 1, "API key"),
        (lambda s: s.fail(404), 1, "no model 'fake-model'"),
        (lambda s: s.fail(429).fail(429).fail(429), 3, "rate limiting"),
        (lambda s: s.fail(500).fail(502).fail(503), 3, "HTTP 503"),
        (lambda s: s.malformed(), 1, "failed"),
        (lambda s: s.empty(), 1, "empty completion"),
        (lambda s: s.cut(GOOD, after=3), 1, "dropped the connection"),
        (lambda s: s.cut(GOOD, after=3, chunked=False), 1, "ended before the model finished"),
        (lambda s: s.reply("Just rest and stretch daily."), 1, "could not be verified"),
        (lambda s: s.reply("Rest [4]."), 1, "could not be verified"),
        (lambda s: s.slow(5.0), 3, "did not answer within 0.3 s"),
    ],
)
def test_failures_raise_llm_error_quickly(
    openai_server: FakeOpenAIServer,
    caplog: pytest.LogCaptureFixture,
    script: Callable[[FakeOpenAIServer], Any],
    requests: int,
    words: str,
) -> None:
    script(openai_server)
    openai_server.slow(5.0).slow(5.0)  # what a retry would get after a timeout
    with caplog.at_level(logging.DEBUG):
        error = _fails_fast(make(openai_server.base_url, llm_timeout=0.3))
    assert words in str(error)
    assert len(openai_server.chat_requests) == requests
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in openai_server.chat_requests)
    assert KEY not in caplog.text


def test_connection_refused_is_retried_then_fails() -> None:
    sleeps: list[float] = []
    error = _fails_fast(make(f"http://127.0.0.1:{free_port()}/v1", sleeps=sleeps))
    assert "could not be reached" in str(error)
    assert sleeps == [0.01, 0.02]


def test_dns_failure_raises_llm_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def fake_dns(host: Any, *args: Any, **kwargs: Any) -> Any:
        if str(host).endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    error = _fails_fast(make("http://llm.invalid/v1", llm_max_retries=0))
    assert "http://llm.invalid/v1 could not be reached" in str(error)


def test_a_failed_condense_call_raises_llm_error(openai_server: FakeOpenAIServer) -> None:
    openai_server.fail(500).fail(500).fail(500)
    error = _fails_fast(make(openai_server.base_url), history=[Turn("user", "Hi")])
    assert "HTTP 500" in str(error)
    assert all(not r.body.get("stream") for r in openai_server.chat_requests)


def test_transient_error_before_the_first_token_is_retried(openai_server: FakeOpenAIServer) -> None:
    openai_server.fail(500).reply("Hills come last [1].")
    sleeps: list[float] = []
    answer = make(openai_server.base_url, sleeps=sleeps).ask(QUESTION, [], Retriever([HILLS]))
    assert answer.answer == "Hills come last [1]."
    assert len(openai_server.chat_requests) == 2
    assert sleeps == [0.01]


def test_no_retrieved_passage_means_no_llm_call(openai_server: FakeOpenAIServer) -> None:
    with pytest.raises(LLMError, match="No retrieved passage"):
        make(openai_server.base_url).ask(QUESTION, [], Retriever([TESTIMONIAL]))
    assert openai_server.chat_requests == []


def test_retrieval_errors_are_not_disguised_as_llm_errors(openai_server: FakeOpenAIServer) -> None:
    def broken(_query: str) -> list[Passage]:
        raise RuntimeError("index gone")

    with pytest.raises(RuntimeError, match="index gone"):
        make(openai_server.base_url).ask(QUESTION, [], broken)
