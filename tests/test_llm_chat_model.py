"""The chat-model backend: building it from settings, probing the server, safe error messages."""

from __future__ import annotations

import doctest
import socket
import sys
import time

import pytest
from pydantic import SecretStr

import assistant.llm.chat_model as chat_model
from assistant.llm.chat_model import (
    DUMMY_API_KEY,
    build_chat_model,
    is_retryable,
    probe,
    redact,
    to_llm_error,
)
from core.errors import ConfigError, LLMError, MissingDependencyError
from core.settings import Settings
from tests.fake_openai_server import FakeOpenAIServer

KEY = "sk-test-DO-NOT-LEAK-4242"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_doctests() -> None:
    assert doctest.testmod(chat_model).failed == 0


def test_build_uses_the_settings_and_leaves_retries_to_the_answerer() -> None:
    settings = Settings(
        llm_base_url="http://127.0.0.1:9/v1",
        llm_model="tiny-llm",
        llm_temperature=0.3,
        llm_timeout=7.0,
        llm_max_tokens=99,
    )
    model = build_chat_model(settings)
    assert model.model_name == "tiny-llm"
    assert model.openai_api_base == "http://127.0.0.1:9/v1"
    assert (model.temperature, model.request_timeout, model.max_tokens) == (0.3, 7.0, 99)
    assert model.max_retries == 0
    assert model.openai_api_key.get_secret_value() == DUMMY_API_KEY


def test_build_without_base_url_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="PHT_LLM_BASE_URL"):
        build_chat_model(Settings())


def test_build_without_langchain_openai_gives_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "langchain_openai", None)  # makes the import fail
    with pytest.raises(MissingDependencyError) as info:
        build_chat_model(Settings(llm_base_url="http://127.0.0.1:9/v1"))
    assert info.value.fix == "pip install langchain-openai"


def test_probe_true_when_models_answers_and_sends_the_key(openai_server: FakeOpenAIServer) -> None:
    settings = Settings(llm_base_url=openai_server.base_url, llm_api_key=SecretStr(KEY))
    assert probe(settings) is True
    assert [(r.method, r.path) for r in openai_server.requests] == [("GET", "/v1/models")]
    assert openai_server.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert openai_server.chat_requests == []


@pytest.mark.parametrize("status", [401, 404, 500])
def test_probe_false_on_http_errors(openai_server: FakeOpenAIServer, status: int) -> None:
    openai_server.models_status = status
    assert probe(Settings(llm_base_url=openai_server.base_url)) is False


def test_probe_false_when_nothing_listens_or_nothing_is_configured() -> None:
    assert probe(Settings(llm_base_url=f"http://127.0.0.1:{free_port()}/v1")) is False
    assert probe(Settings()) is False
    assert probe(Settings(llm_base_url="file:///etc")) is False  # only http(s) is probed


def test_probe_false_fast_on_a_slow_server(openai_server: FakeOpenAIServer) -> None:
    openai_server.models_delay = 5.0
    start = time.perf_counter()
    assert probe(Settings(llm_base_url=openai_server.base_url), timeout=0.2) is False
    assert time.perf_counter() - start < 1.5


class _Status(Exception):
    def __init__(self, status: int, body: str = ""):
        super().__init__(body)
        self.status_code = status


@pytest.mark.parametrize(
    ("status", "retry", "words"),
    [
        (401, False, "API key"),
        (403, False, "API key"),
        (404, False, "no model"),
        (429, True, "rate limiting"),
        (500, True, "HTTP 500"),
        (503, True, "HTTP 503"),
        (400, False, "HTTP 400"),
    ],
)
def test_http_errors_map_to_safe_messages(status: int, retry: bool, words: str) -> None:
    settings = Settings(
        llm_base_url="http://u:pw-secret@127.0.0.1:1/v1", llm_api_key=SecretStr(KEY)
    )
    exc = _Status(status, f"server says: your key {KEY} is bad")
    error = to_llm_error(exc, settings)
    assert isinstance(error, LLMError)
    assert words in error.message
    assert is_retryable(exc) is retry
    assert KEY not in str(error) and "pw-secret" not in str(error)
    assert "http://127.0.0.1:1/v1" in str(error)


def test_timeouts_and_connection_errors_are_retryable_others_not() -> None:
    assert is_retryable(TimeoutError())
    assert is_retryable(ConnectionRefusedError())
    assert is_retryable(socket.gaierror())
    assert not is_retryable(ValueError("bad json"))
    assert not is_retryable(LLMError("empty"))
    settings = Settings(llm_base_url="http://127.0.0.1:1/v1", llm_timeout=3)
    assert "within 3 s" in to_llm_error(TimeoutError(), settings).message
    assert "could not be reached" in to_llm_error(ConnectionRefusedError(), settings).message
    assert "ValueError" in to_llm_error(ValueError("x"), settings).message


def test_redact_hides_the_key_and_url_credentials() -> None:
    settings = Settings(llm_base_url="http://alice:hunter22@h/v1", llm_api_key=SecretStr(KEY))
    assert redact(f"{KEY} alice:hunter22", settings) == "*** ***:***"
