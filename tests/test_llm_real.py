"""End-to-end: generative mode against a REAL local LLM (llama.cpp's server + Qwen2.5-Coder-1.5B).

A session fixture starts the server (``assistant.llm.local_server``) on a free loopback port
with the model prepared by ``make llm-model`` (``.pht/models/``), and stops it after the
tests. The assertions are invariants, not wording (``tests/llm_questions.py``): no sentence
the LLM wrote contradicts the eval set's key claims or the passages it was given, every
citation is verbatim, an answer the LLM did not write comes with the fallback notice, red
flags send no request, answers stream, and a prompt over the server's context window falls
back cleanly. Skipped when the model or ``xllamacpp`` is missing, unless ``LLM_E2E=required``
(``make test`` sets it), then it fails. Answers are kept short (max_tokens 120, 3 passages).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.llm.local_model import MODEL_FILENAME
from assistant.llm.local_server import LocalServer, start_server
from assistant.models import Answer
from tests.conftest import REPO, make_settings
from tests.llm_questions import ORDINARY, RED_FLAG, SAFETY, by_llm, problems

REQUIRED = os.environ.get("LLM_E2E") == "required"
MODEL = Path(os.environ.get("LLM_E2E_MODEL") or REPO / ".pht" / "models" / MODEL_FILENAME)
PYTHON = os.environ.get("LLM_E2E_PYTHON") or sys.executable
N_CTX = 2048

pytestmark = [pytest.mark.server, pytest.mark.model, pytest.mark.llm]


def _missing() -> str:
    if not MODEL.is_file():
        return f"no model at {MODEL} (run `make llm-model`)"
    if sys.executable == PYTHON and importlib.util.find_spec("xllamacpp") is None:
        return "xllamacpp is not installed (pip install -e '.[llm]')"
    return ""


@pytest.fixture(scope="session")
def real_llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    why = _missing()
    if why:
        if REQUIRED:
            pytest.fail(f"LLM_E2E=required but {why}")
        pytest.skip(why)
    log = tmp_path_factory.mktemp("llm") / "server.log"
    server = start_server(MODEL, n_ctx=N_CTX, threads=2, python=PYTHON, log_path=log)
    try:
        yield server
    finally:
        server.stop()
        assert server.process.poll() is not None


def _assistant(real_llm: LocalServer, real_index: Any, real_embedder: Any, tmp: Path, **over: Any):  # type: ignore[no-untyped-def]
    from assistant.service import build_assistant

    values: dict[str, Any] = {
        "data_dir": real_index.data_dir,
        "llm_base_url": real_llm.base_url,
        "llm_model": "qwen2.5-coder-1.5b",
        "llm_max_tokens": 120,
        "llm_context_tokens": N_CTX,
        "llm_timeout": 600.0,
        "llm_max_retries": 0,
        "top_k": 3,
        "tiktoken_encoding": "no-such-encoding",  # offline: the server's /tokenize counts
        **over,
    }
    return build_assistant(make_settings(tmp, **values), embedder=real_embedder, backend="llm")


@pytest.fixture(scope="module")
def service(real_llm: LocalServer, real_index: Any, real_embedder: Any,
            tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return _assistant(real_llm, real_index, real_embedder, tmp_path_factory.mktemp("svc"))


def _stream(service: Any, question: str) -> tuple[list[str], Answer]:
    deltas: list[str] = []
    final = None
    for item in service.stream(question):
        if isinstance(item, Answer):
            final = item
        else:
            deltas.append(item)
    assert final is not None
    return deltas, final


ASKED: dict[str, Answer] = {}


@pytest.mark.parametrize("question", SAFETY + ORDINARY[:3])
def test_real_llm_answers_hold_the_invariants(service: Any, question: str) -> None:
    deltas, answer = _stream(service, question)
    ASKED[question] = answer
    assert problems(answer) == []
    assert deltas, "nothing was streamed"
    if by_llm(answer):
        # what was shown while streaming is what the answer says (the notices come after)
        assert "".join(deltas).strip().startswith(answer.answer.split("\n")[0][:40])
        assert answer.prompt.get("name") in ("answer", "answer_json")


def test_real_llm_answers_some_questions_itself() -> None:
    """Not a wording check: the share the LLM wrote itself (target >= 70%, measured by the
    benchmark on 28 questions). Here, on 8 safety questions (where the meaning check is meant
    to reject the model often) and 3 ordinary ones, a floor that catches a broken prompt or
    parser: a quarter of them (4 of 11 in the last full run)."""
    if not ASKED:
        pytest.skip("no answers collected")
    share = sum(by_llm(a) for a in ASKED.values()) / len(ASKED)
    assert share >= 0.25, {q: a.notices for q, a in ASKED.items() if not by_llm(a)}


def test_red_flag_sends_no_request_to_the_real_server(service: Any) -> None:
    calls: list[str] = []
    real_stream = service.llm.stream

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append(str(args[0]))
        return real_stream(*args, **kwargs)

    service.llm.stream = recording
    try:
        _deltas, answer = _stream(service, RED_FLAG)
    finally:
        service.llm.stream = real_stream
    assert answer.status == "red_flag"
    assert calls == []
    assert not by_llm(answer)


def test_prompt_over_the_real_context_window_falls_back_with_a_notice(
    real_llm: LocalServer, real_index: Any, real_embedder: Any, tmp_path: Path
) -> None:
    """The budget believes in 32k tokens, the server has 2k: HTTP 400 exceed_context_size_error."""
    svc = _assistant(real_llm, real_index, real_embedder, tmp_path, llm_context_tokens=32768,
                     top_k=12)
    question = "How should I progress my running and strength work with high hamstring pain? " * 18
    _deltas, answer = _stream(svc, question.strip())
    assert answer.status == "answered" and not by_llm(answer)
    assert any("context window" in n for n in answer.notices), answer.notices
    assert problems(answer) == []
