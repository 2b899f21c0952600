"""The LLM backend: a LangChain chat model for any OpenAI-compatible server, and its errors.

``build_chat_model`` makes a ``ChatOpenAI`` pointed at ``settings.llm_base_url`` (Ollama,
llama.cpp, vLLM, LM Studio, OpenAI...), importing ``langchain_openai`` lazily; it turns
off the client's own retries because the answerer retries with its own, testable
backoff (``backoff_delays``). ``probe`` is the cheap ``GET /models`` behind
``--backend auto``. ``to_llm_error`` maps any failure to an ``LLMError`` whose message
names the server (without credentials), the HTTP status or failure kind, and the fix —
never the API key or the server's response body. This module does not build prompts,
stream, or decide when to fall back.
"""

from __future__ import annotations

import logging
import urllib.request
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from core.errors import ConfigError, LLMError, MissingDependencyError
from core.redact import SECRET_PARAMS, redact_text
from core.settings import Settings

log = logging.getLogger(__name__)

DUMMY_API_KEY = "not-needed"  # local servers ignore the key, but the client requires one
PROBE_TIMEOUT = 2.0
_TIMEOUT_NAMES = {"APITimeoutError", "TimeoutException", "TimeoutError", "ReadTimeout"}
_CONNECTION_NAMES = {
    "APIConnectionError",
    "ConnectError",
    "NetworkError",
    "RemoteProtocolError",
    "ConnectionError",
    "gaierror",
}


def safe_url(url: str | None) -> str:
    """``url`` without credentials, query or fragment, for messages and logs.

    >>> safe_url("http://user:secret@10.0.0.5:11434/v1?key=abc")
    'http://10.0.0.5:11434/v1'
    """
    if not url:
        return "(no URL)"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "(unparsable URL)"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def redact(text: str, settings: Settings) -> str:
    """``text`` with URLs redacted and the API key and URL credentials replaced by ``***``."""
    secrets: list[str | None] = []
    if settings.llm_api_key is not None:
        secrets.append(settings.llm_api_key.get_secret_value())
    if settings.llm_base_url:
        try:
            parts = urlsplit(settings.llm_base_url)
            secrets += [parts.password, parts.username]
            secrets += [v for k, v in parse_qsl(parts.query) if k.lower() in SECRET_PARAMS]
        except ValueError:
            pass
    return redact_text(text, secrets)


def error_detail(exc: BaseException) -> str:
    """The server's error ``type`` and ``message`` (lower-cased), e.g. llama.cpp's
    ``exceed_context_size_error``; "" when the error carries no body."""
    body = getattr(exc, "body", None)
    err = body.get("error", body) if isinstance(body, dict) else None
    parts = [str(getattr(exc, "message", "") or "")]
    if isinstance(err, dict):
        parts += [str(err.get("type") or ""), str(err.get("message") or "")]
    elif isinstance(err, str):
        parts.append(err)
    return " ".join(parts).lower()


def is_context_overflow(exc: BaseException) -> bool:
    """HTTP 400 because the prompt does not fit the model's context window."""
    detail = error_detail(exc)
    return _status(exc) == 400 and (
        "exceed_context_size" in detail or "context length" in detail or "context size" in detail
        or "maximum context" in detail
    )


def rejects_response_format(exc: BaseException) -> bool:
    """HTTP 400/422 that is not a context overflow: the server refuses ``response_format``."""
    return _status(exc) in (400, 422) and not is_context_overflow(exc)


def build_chat_model(settings: Settings) -> Any:
    """A ``ChatOpenAI`` for ``settings.llm_base_url`` (retries are the caller's job)."""
    if not settings.llm_base_url:
        raise ConfigError(
            "No LLM server is configured.",
            "Set PHT_LLM_BASE_URL, e.g. http://127.0.0.1:11434/v1 for Ollama, "
            "or use --backend extractive.",
        )
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise MissingDependencyError(
            "The LLM backend needs the 'langchain-openai' package.", "pip install langchain-openai"
        ) from exc
    from pydantic import SecretStr

    return ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key or SecretStr(DUMMY_API_KEY),
        temperature=settings.llm_temperature,
        timeout=settings.llm_timeout,
        max_completion_tokens=settings.llm_max_tokens,
        max_retries=0,
        stream_usage=False,
        use_responses_api=False,
    )


def probe(settings: Settings, timeout: float = PROBE_TIMEOUT) -> bool:
    """True if ``GET {llm_base_url}/models`` answers 2xx within ``timeout`` seconds."""
    if not settings.llm_base_url or urlsplit(settings.llm_base_url).scheme not in ("http", "https"):
        return False
    url = settings.llm_base_url.rstrip("/") + "/models"
    request = urllib.request.Request(url, method="GET")
    if settings.llm_api_key is not None:
        request.add_header("Authorization", f"Bearer {settings.llm_api_key.get_secret_value()}")
    try:
        with urllib.request.urlopen(
            request, timeout=min(timeout, settings.llm_timeout)
        ) as response:
            return 200 <= int(response.status) < 300
    except Exception as exc:  # any failure means "not available"
        log.info("LLM probe of %s failed (%s)", safe_url(settings.llm_base_url), type(exc).__name__)
        return False


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def is_retryable(exc: BaseException) -> bool:
    """Worth retrying: timeouts, connection failures, HTTP 408/409/429 and 5xx."""
    status = _status(exc)
    if status is not None:
        return status in (408, 409, 429) or status >= 500
    return bool(_names(exc) & (_TIMEOUT_NAMES | _CONNECTION_NAMES))


def backoff_delays(retries: int, base: float, cap: float = 8.0) -> list[float]:
    """Seconds to wait before each retry: exponential from ``base``, capped.

    >>> backoff_delays(4, 0.5, cap=3.0)
    [0.5, 1.0, 2.0, 3.0]
    """
    return [min(cap, base * 2**i) for i in range(retries)]


def to_llm_error(exc: BaseException, settings: Settings) -> LLMError:
    """A safe ``LLMError`` for ``exc``: what failed and the fix, never the key or a body."""
    if isinstance(exc, LLMError):
        return LLMError(redact(exc.message, settings), redact(exc.fix, settings))
    where = f"The LLM server at {safe_url(settings.llm_base_url)}"
    status, names = _status(exc), _names(exc)
    kind = type(exc).__name__
    if status in (401, 403):
        message = f"{where} refused the request (HTTP {status}): the API key is missing or wrong."
        fix = "Set PHT_LLM_API_KEY to a key this server accepts."
    elif status == 404:
        message = f"{where} answered HTTP 404: no model {settings.llm_model!r} or wrong URL."
        fix = "Check PHT_LLM_MODEL, and that PHT_LLM_BASE_URL ends with /v1."
    elif is_context_overflow(exc):
        message = (
            f"{where} refused the prompt: the question and passages do not fit its context "
            "window (HTTP 400 exceed_context_size_error)."
        )
        fix = "Raise the server's context size, or lower PHT_LLM_CONTEXT_TOKENS to match it."
    elif status == 429:
        message = f"{where} is rate limiting requests (HTTP 429)."
        fix = "Wait and try again, or raise the server's limits."
    elif status is not None:
        message = f"{where} answered HTTP {status} ({kind})."
        fix = "Check the server's logs."
    elif names & _TIMEOUT_NAMES:
        message = f"{where} did not answer within {settings.llm_timeout:g} s."
        fix = "Raise PHT_LLM_TIMEOUT or use a smaller model."
    elif names & _CONNECTION_NAMES:
        message = f"{where} could not be reached or dropped the connection ({kind})."
        fix = "Start the server or fix PHT_LLM_BASE_URL; --backend extractive works offline."
    else:
        message = f"The LLM call to {safe_url(settings.llm_base_url)} failed ({kind})."
        fix = "Check that the server speaks the OpenAI chat-completions protocol."
    return LLMError(redact(message, settings), fix)
