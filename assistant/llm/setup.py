"""Choose and build the LLM answerer from settings, once, at start-up.

``llm_answerer`` returns an ``LLMAnswerer`` or ``None``: with ``required`` (``--backend
llm``) a missing URL is a ``ConfigError``; with ``auto`` an unset or unreachable server
quietly means the extractive backend. A server that goes down later is handled per
question by the service's fallback, not here. Token counting uses tiktoken when the
encoding can be loaded, else the embedding model's tokenizer times a safety margin.
"""

from __future__ import annotations

import logging

from assistant.llm.answerer import LLMAnswerer
from assistant.llm.budget import load_counter
from assistant.llm.chat_model import probe, safe_url
from core.errors import ConfigError
from core.settings import Settings
from ingest.embed import Embedder

log = logging.getLogger(__name__)


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
    counter = load_counter(settings.tiktoken_encoding, fallback=embedder.count_tokens)
    return LLMAnswerer(settings, counter=counter)
