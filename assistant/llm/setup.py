"""Choose and build the LLM answerer from settings, once, at start-up.

``llm_answerer`` returns an ``LLMAnswerer`` or ``None``: with ``required`` (``--backend
llm``) a missing URL is a ``ConfigError``; with ``auto`` an unset or unreachable server
quietly means the extractive backend. A server that goes down later is handled per
question by the service's fallback, not here. Token counting never touches the network
beyond the LLM server: tiktoken when its file is cached, else the server's own
``/tokenize`` (llama.cpp) when it answers, else the embedding model's tokenizer times a
safety margin; which one is said once per data folder (a marker file), not on every
command. URLs in messages are redacted (``core.redact``).
"""

from __future__ import annotations

import json
import logging
import math
import urllib.request
from collections.abc import Callable
from pathlib import Path

from assistant.llm.answerer import LLMAnswerer
from assistant.llm.budget import TokenCounter, load_counter
from assistant.llm.chat_model import probe, safe_url
from core.errors import ConfigError
from core.settings import Settings
from ingest.embed import Embedder

log = logging.getLogger(__name__)
NOTE_FILE = "token-counting.txt"


class ServerTokenizer:
    """Counts with the LLM server's ``POST /tokenize``; on any failure, ``fallback`` x margin."""

    def __init__(self, settings: Settings, fallback: Callable[[str], int], margin: float = 1.3):
        base = (settings.llm_base_url or "").rstrip("/")
        self.url = (base[: -len("/v1")] if base.endswith("/v1") else base) + "/tokenize"
        self.key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        self.timeout = min(settings.llm_timeout, 10.0)
        self.fallback = fallback
        self.margin = margin

    def tokens(self, text: str) -> int:
        request = urllib.request.Request(
            self.url, data=json.dumps({"content": text}).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        if self.key:
            request.add_header("Authorization", f"Bearer {self.key}")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            tokens = json.loads(response.read())["tokens"]
        if not isinstance(tokens, list):
            raise ValueError("no token list")
        return len(tokens)

    def available(self) -> bool:
        try:
            return self.tokens("hamstring") > 0
        except Exception:
            return False

    def __call__(self, text: str) -> int:
        try:
            return self.tokens(text)
        except Exception:
            return math.ceil(self.fallback(text) * self.margin)


def token_counter(settings: Settings, fallback: Callable[[str], int]) -> TokenCounter:
    """The counter for prompts (see the module docstring), told to the user once."""
    server = ServerTokenizer(settings, fallback) if settings.llm_base_url else None
    counter = load_counter(
        settings.tiktoken_encoding, fallback,
        server=server if server is not None and server.available() else None,
    )
    if not counter.name.startswith("tiktoken:"):
        tell_once(
            settings.data_dir,
            f"Counting prompt tokens with {counter.name} (tiktoken's {settings.tiktoken_encoding!r} "
            "file is not cached; nothing is downloaded). Put it in TIKTOKEN_CACHE_DIR to use it.",
        )
    return counter


def tell_once(data_dir: Path, message: str) -> None:
    """Log ``message`` as a warning the first time for this data folder, at INFO afterwards."""
    marker = data_dir / NOTE_FILE
    try:
        if marker.is_file() and marker.read_text(encoding="utf-8").strip() == message:
            log.info(message)
            return
        data_dir.mkdir(parents=True, exist_ok=True)
        marker.write_text(message + "\n", encoding="utf-8")
    except OSError:
        pass  # a read-only data folder: say it (every time, but never fail for it)
    log.warning(message)


def llm_answerer(settings: Settings, embedder: Embedder, *, required: bool) -> LLMAnswerer | None:
    if not settings.llm_base_url:
        if required:
            raise ConfigError(
                "The LLM backend needs an OpenAI-compatible server.",
                "Set PHT_LLM_BASE_URL (e.g. http://127.0.0.1:11434/v1) and PHT_LLM_MODEL.",
            )
        return None
    if not required and not probe(settings):
        log.warning("LLM server at %s did not answer; using the extractive backend.",
                    safe_url(settings.llm_base_url))
        return None
    return LLMAnswerer(settings, counter=token_counter(settings, embedder.count_tokens))
