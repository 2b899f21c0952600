"""Start-up of generative mode: quiet token counting, and secrets never printed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from assistant.llm import budget
from assistant.llm.chat_model import redact, safe_url, to_llm_error
from assistant.llm.setup import ServerTokenizer, llm_answerer, tell_once, token_counter
from core.redact import redact_headers, redact_text, redact_url
from core.settings import Settings
from tests.fake_openai_server import FakeOpenAIServer

SECRET_URLS = [
    "http://user:KEY-9f8e7d@10.1.2.3:11434/v1",
    "https://api.example.test/v1?api_key=KEY-9f8e7d",
    "http://10.1.2.3/v1?token=KEY-9f8e7d&model=x",
    "http://KEY-9f8e7d@10.1.2.3/v1",
]


@pytest.mark.parametrize("url", SECRET_URLS)
def test_secrets_in_urls_are_never_printed(url: str) -> None:
    assert "KEY-9f8e7d" not in redact_url(url)
    assert "KEY-9f8e7d" not in redact_text(f"could not reach {url} (timeout)")
    assert "KEY-9f8e7d" not in safe_url(url)
    settings = Settings(llm_base_url=url)
    assert "KEY-9f8e7d" not in redact(f"failed at {url}", settings)


def test_redaction_keeps_what_helps_debugging() -> None:
    assert redact_url("http://127.0.0.1:8089/v1?model=qwen") == "http://127.0.0.1:8089/v1?model=qwen"
    assert redact_url("http://[::1]:8089/v1") == "http://[::1]:8089/v1"
    assert redact_headers({"X-Api-Key": "abc", "Content-Type": "json"}) == {
        "X-Api-Key": "***", "Content-Type": "json"}
    assert redact_url("http://host:notaport/v1") == "***"


def test_errors_and_auto_mode_warning_never_carry_the_secret(
    caplog: pytest.LogCaptureFixture, fake_embedder: object
) -> None:
    settings = Settings(llm_base_url="http://user:KEY-9f8e7d@127.0.0.1:9/v1",
                        llm_api_key=SecretStr("sk-live-abcdef"), llm_timeout=0.5)
    with caplog.at_level(logging.INFO):
        assert llm_answerer(settings, fake_embedder, required=False) is None  # type: ignore[arg-type]
    assert "127.0.0.1:9" in caplog.text
    assert "KEY-9f8e7d" not in caplog.text and "user" not in caplog.text

    class Boom(Exception):
        status_code = 500
        message = "upstream said: Bearer sk-live-abcdef at http://user:KEY-9f8e7d@127.0.0.1:9/v1"

    err = to_llm_error(Boom(), settings)
    assert "KEY-9f8e7d" not in str(err) and "sk-live-abcdef" not in str(err)


def test_token_counting_is_told_once_per_data_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budget, "_FAILED_ENCODINGS", {})
    settings = Settings(data_dir=tmp_path, tiktoken_encoding="no-such-encoding")
    with caplog.at_level(logging.INFO, logger="assistant.llm.setup"):
        for _ in range(3):  # three commands
            counter = token_counter(settings, lambda t: len(t.split()))
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "not cached" in warnings[0].getMessage()
    assert counter.count("one two") == 3  # 2 words x 1.3, rounded up


def test_tell_once_survives_a_read_only_data_folder(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        tell_once(ro, "hello")  # must not raise
    finally:
        ro.chmod(0o700)


def test_the_servers_tokenize_route_is_used_when_it_answers(openai_server: FakeOpenAIServer) -> None:
    settings = Settings(llm_base_url=openai_server.base_url, tiktoken_encoding="no-such-encoding")
    assert not ServerTokenizer(settings, len).available()  # the fake has no /tokenize by default
    openai_server.tokenize = True
    counter = token_counter(settings, lambda t: 1000)
    assert counter.name.startswith("server /tokenize")
    assert counter.count("one two three four") == 5  # 4 tokens x 1.05, rounded up
    assert any(r.path == "/tokenize" for r in openai_server.requests)
    openai_server.stop()
    assert counter.count("one two") == 1365  # server gone: fallback 1000 x 1.3, then x 1.05
