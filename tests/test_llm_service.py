"""Generative mode through the real assistant and the real CLI, against a loopback LLM server.

The issue's done-when: with PHT_LLM_BASE_URL on a loopback OpenAI-compatible server,
``pht ask --json --backend llm`` names the LLM backend, cites verbatim and records the
prompt version; with the server down it answers extractively with a notice, exit 0;
``pht chat`` streams; red-flag questions send no request at all.
"""

from __future__ import annotations

import io
import json
import socket

import pytest

from assistant.service import build_assistant
from cli.main import main
from tests.conftest import REPO
from tests.fake_openai_server import FakeOpenAIServer

pytestmark = [pytest.mark.model, pytest.mark.server]

REPLY = ("Hamstring stretching does not help, because the root cause is usually weakness [1]. "
         "Loading the tendon with strengthening is the key [2].")


@pytest.fixture
def llm_env(monkeypatch: pytest.MonkeyPatch, real_index, openai_server: FakeOpenAIServer):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PHT_DATA_DIR", str(real_index.data_dir))
    monkeypatch.setenv("PHT_CORPUS_DIR", str(real_index.corpus_dir))
    monkeypatch.setenv("PHT_LLM_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("PHT_LLM_MODEL", "fake-model")
    monkeypatch.setenv("PHT_LLM_MAX_RETRIES", "0")
    monkeypatch.setenv("PHT_LLM_TIMEOUT", "5")
    monkeypatch.setenv("PHT_TIKTOKEN_ENCODING", "no-such-encoding")  # offline: fallback counter
    return openai_server


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_pht_ask_json_with_the_llm_backend(llm_env: FakeOpenAIServer, capsys) -> None:  # type: ignore[no-untyped-def]
    llm_env.reply(REPLY)
    code, out, _ = run(["ask", "Will stretching fix my PHT?", "--json", "--backend", "llm"], capsys)
    assert code == 0
    answer = json.loads(out)
    assert answer["backend"] == "llm:fake-model"
    assert answer["prompt"]["name"] in ("answer", "answer_json") and answer["prompt"]["version"]
    assert answer["status"] == "answered" and answer["citations"]
    for c in answer["citations"]:
        raw = (REPO / c["source"]).read_bytes().decode("utf-8-sig")
        assert raw[c["start"] : c["end"]] == c["quote"]
    assert len(llm_env.chat_requests) == 1


def test_server_down_falls_back_to_extractive_with_a_notice(llm_env, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    monkeypatch.setenv("PHT_LLM_BASE_URL", f"http://127.0.0.1:{dead}/v1")
    code, out, _ = run(["ask", "Will stretching fix my PHT?", "--json", "--backend", "llm"], capsys)
    assert code == 0
    answer = json.loads(out)
    assert answer["backend"] == "extractive" and answer["citations"]
    assert any("language model was unavailable" in n for n in answer["notices"])


def test_auto_backend_uses_extractive_when_no_server_answers(llm_env, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PHT_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    code, out, _ = run(["ask", "What is PHT?", "--json", "--backend", "auto"], capsys)
    assert code == 0 and json.loads(out)["backend"] == "extractive"


def test_unverifiable_llm_answer_falls_back(llm_env: FakeOpenAIServer, capsys) -> None:  # type: ignore[no-untyped-def]
    llm_env.reply("Stretching fixes everything, trust me.")  # no citation at all
    code, out, _ = run(["ask", "Will stretching fix my PHT?", "--json", "--backend", "llm"], capsys)
    answer = json.loads(out)
    assert code == 0 and answer["backend"] == "extractive"
    assert any("could not be verified" in n for n in answer["notices"])


def test_red_flag_question_sends_no_request(llm_env: FakeOpenAIServer, real_index, real_embedder) -> None:  # type: ignore[no-untyped-def]
    from core.settings import Settings

    service = build_assistant(Settings(), embedder=real_embedder, backend="llm")
    at_start = len(llm_env.requests)  # start-up may probe the server's /tokenize route
    answer = service.ask("I have numbness and tingling down my leg when I run")
    assert answer.status == "red_flag"
    assert llm_env.requests[at_start:] == [] and llm_env.chat_requests == []


def test_chat_streams_tokens_from_the_server(llm_env: FakeOpenAIServer, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    llm_env.reply(REPLY, chunk_delay=0.01)
    monkeypatch.setattr("sys.stdin", io.StringIO("Will stretching fix my PHT?\n\n"))
    code, out, _ = run(["chat", "--backend", "llm"], capsys)
    assert code == 0
    assert "Loading the tendon with strengthening is the key" in out
    assert "Sources:" in out
    body = llm_env.chat_requests[0].body
    assert body["stream"] is True
