"""Structured output against the scripted server: JSON accepted, rejected (then remembered),
ignored; the real server's quirks (null first delta, timings chunk, context overflow)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import SecretStr

from assistant.llm import answerer as answerer_mod
from assistant.llm.answerer import LLMAnswerer
from assistant.llm.budget import ScaledCounter
from assistant.llm.structured import SentenceStream, response_format, with_markers
from assistant.models import Answer, Passage
from core.errors import LLMError
from core.settings import Settings
from tests.fake_openai_server import FakeOpenAIServer
from tests.llm_passages import HILLS, SITTING

WORDS = ScaledCounter("words", lambda text: len(text.split()), 1.3)
QUESTION = "When can I add hills?"


@pytest.fixture(autouse=True)
def _forget_rejections() -> Any:
    answerer_mod._REJECTED_STRUCTURED.clear()
    yield
    answerer_mod._REJECTED_STRUCTURED.clear()


def make(base_url: str, **overrides: Any) -> LLMAnswerer:
    values: dict[str, Any] = {
        "llm_base_url": base_url,
        "llm_model": "fake-model",
        "llm_api_key": SecretStr("sk-test-structured-1234"),
        "llm_timeout": 2.0,
        "llm_max_retries": 0,
        **overrides,
    }
    return LLMAnswerer(Settings(**values), counter=WORDS, notes=[], backoff_base=0.0)


def run(llm: LLMAnswerer, passages: list[Passage] | None = None) -> tuple[list[str], Answer]:
    items = list(llm.stream(QUESTION, [], lambda _q: list(passages or [HILLS, SITTING]), []))
    final = items[-1]
    assert isinstance(final, Answer)
    return [str(i) for i in items[:-1]], final


def test_json_answer_is_shown_sentence_by_sentence_with_renumbered_citations(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.reply_json([
        ("Sitting pain alone should not decide whether you run.", [2]),
        ("Hills and speed work come last.", [1, 2]),
    ])
    deltas, final = run(make(openai_server.base_url))
    body = openai_server.chat_requests[0].body
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["sentences"]["items"]["properties"]["cites"]["items"]["enum"] == [1, 2]
    assert deltas == [
        "Sitting pain alone should not decide whether you run [1].",
        " Hills and speed work come last [1][2].",
    ]
    assert final.answer == "".join(deltas)
    assert [c.source for c in final.citations] == [SITTING.source, HILLS.source]
    assert final.prompt["name"] == "answer_json"
    assert final.timings_ms["first_token"] >= 0


def test_a_server_rejecting_response_format_is_asked_with_markers_and_remembered(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.response_format = "reject"
    openai_server.reply("Hills and speed work come last [1].")
    openai_server.reply("Sitting pain alone should not decide it [2].")
    llm = make(openai_server.base_url)
    _d, first = run(llm)
    _d, second = run(llm)
    sent = [("response_format" in r.body) for r in openai_server.chat_requests]
    assert sent == [True, False, False]  # rejected once, then never asked again
    assert first.prompt["name"] == second.prompt["name"] == "answer"
    assert first.answer == "Hills and speed work come last [1]."
    # another answerer in the same process (same server) remembers it too
    openai_server.reply("Hills and speed work come last [1].")
    run(make(openai_server.base_url))
    assert "response_format" not in openai_server.chat_requests[-1].body


def test_markers_setting_never_sends_response_format(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply("Hills and speed work come last [1].")
    _d, final = run(make(openai_server.base_url, llm_structured="markers"))
    assert "response_format" not in openai_server.chat_requests[0].body
    assert final.prompt["name"] == "answer"


def test_real_server_stream_shape_null_first_delta_and_timings(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply_json([("Hills and speed work come last.", [1])])
    _d, final = run(make(openai_server.base_url))
    assert final.answer == "Hills and speed work come last [1]."


def test_prompt_over_the_context_window_is_an_llm_error_naming_it(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.context_tokens = 50  # the prompt is far longer
    openai_server.reply_json([("Hills and speed work come last.", [1])])
    with pytest.raises(LLMError) as err:
        run(make(openai_server.base_url))
    assert "context window" in err.value.message
    assert len(openai_server.chat_requests) == 1  # not retried, not mistaken for a rejection


def test_json_cut_by_max_tokens_keeps_its_complete_sentences(openai_server: FakeOpenAIServer) -> None:
    full = json.dumps({"sentences": [
        {"text": "Hills and speed work come last.", "cites": [1]},
        {"text": "Sitting pain alone should not decide", "cites": [2]},
    ]})
    openai_server.reply(full[: full.index("should not") + 5], finish_reason="length")
    _d, final = run(make(openai_server.base_url))
    assert final.answer == "Hills and speed work come last [1]."


def test_malformed_structured_answer_falls_back(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply('{"sentences": [{"text": "Hills', finish_reason="length")
    with pytest.raises(LLMError, match="malformed structured answer"):
        run(make(openai_server.base_url))


# --- the pure parts -----------------------------------------------------------------


def _pieces(text: str, size: int) -> list[str]:
    return re.findall(rf".{{1,{size}}}", text, re.S)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 50])
def test_sentence_stream_gives_the_same_sentences_whatever_the_chunking(size: int) -> None:
    payload = json.dumps({"sentences": [
        {"text": "Load the tendon. Hills come last", "cites": [2, 1]},
        {"text": "Rest [3] if it flares!", "cites": [1]},
    ]})
    stream = SentenceStream(structured=True)
    got = [s for p in _pieces(payload, size) for _sep, s in stream.feed(p)] + [
        s for _sep, s in stream.close()
    ]
    assert got == ["Load the tendon [2][1].", "Hills come last [2][1]", "Rest if it flares [3][1]!"]

    text = "Rest first [1]. Then run. [2]\n- Hills last [3]"
    stream = SentenceStream(structured=True)  # server ignored the schema: plain text
    out = [pair for p in _pieces(text, size) for pair in stream.feed(p)] + stream.close()
    assert [s for _sep, s in out] == ["Rest first [1].", "Then run. [2]", "- Hills last [3]"]
    assert "".join(sep + s for sep, s in out) == text


def test_response_format_limits_citations_to_the_passages_given() -> None:
    rf = response_format(4)
    items = rf["json_schema"]["schema"]["properties"]["sentences"]["items"]
    assert items["properties"]["cites"]["items"]["enum"] == [1, 2, 3, 4]
    assert items["required"] == ["text", "cites"]


def test_with_markers_ignores_non_integer_cites() -> None:
    assert with_markers("Rest.", [1, "2", True, 3]) == ["Rest [1][3]."]  # type: ignore[list-item]
