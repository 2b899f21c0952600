"""The generative answerer: condense -> retrieve -> pack -> prompt -> stream -> verify.

``LLMAnswerer.stream`` rewrites a follow-up into a standalone question (LLM, prompt
``condense``; skipped without history), calls the injected ``retrieve``, keeps the
passages the model may see (``context.for_prompt``) that fit the token budget, and asks
for JSON pairing each sentence with its passage numbers (``response_format``, prompt
``answer_json``) - or, for a server that rejects that (detected once per server and
remembered for the process), for ``[n]`` markers (prompt ``answer``). As the completion
streams, each complete sentence is verified (``verify.Verifier``: citations, word support,
the meaning guard of ``meaning.py``) and only then yielded, so no sentence that
contradicts its sources is ever shown; last comes one ``Answer``. Every LLM failure -
unreachable server, timeout, HTTP error, a prompt over the context window, malformed,
empty or cut completion, no valid citation, an answer whose point contradicted its
sources - raises ``LLMError`` with a safe message, so the service falls back to the
extractive answer with a notice. Calls are retried with backoff only before the first
token has arrived. It does not run the safety gates, choose the backend or fall back
itself: ``assistant.service`` does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from assistant.answering.notes import EditorialNote, load_notes
from assistant.llm.budget import TokenCounter, load_counter, pack_passages
from assistant.llm.chat_model import (
    backoff_delays,
    build_chat_model,
    is_retryable,
    rejects_response_format,
    safe_url,
    to_llm_error,
)
from assistant.llm.context import (
    dedupe,
    for_prompt,
    render_context,
    render_history,
    render_notices,
    render_passage,
)
from assistant.llm.meaning import MeaningGuard
from assistant.llm.structured import SentenceStream, response_format
from assistant.llm.verify import Verifier
from assistant.models import Answer, Passage, Turn
from core.errors import LLMError
from core.settings import Settings
from prompts import load_prompt

log = logging.getLogger(__name__)

ANSWER_VARIABLES = ("context", "notices", "question")
CONDENSE_VARIABLES = ("history", "question")
MESSAGE_OVERHEAD_TOKENS = 8  # role markers and separators per chat message
T = TypeVar("T")
Messages = list[tuple[str, str]]
# Servers (base URLs) that rejected ``response_format``: asked with [n] markers from then on.
_REJECTED_STRUCTURED: set[str] = set()


class _Rejected(Exception):
    """The server refused the structured-output request (before any token)."""


class LLMAnswerer:
    """Answers from retrieved passages with an OpenAI-compatible chat model."""

    def __init__(
        self,
        settings: Settings,
        *,
        chat_model: Any | None = None,
        counter: TokenCounter | None = None,
        prompts_dir: Path | None = None,
        notes: Sequence[EditorialNote] | None = None,
        backoff_base: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.settings = settings
        self.model = chat_model if chat_model is not None else build_chat_model(settings)
        self.counter = counter or load_counter(settings.tiktoken_encoding, None)
        self.answer_prompt = load_prompt("answer", prompts_dir, variables=ANSWER_VARIABLES)
        self.json_prompt = load_prompt("answer_json", prompts_dir, variables=ANSWER_VARIABLES)
        self.condense_prompt = load_prompt("condense", prompts_dir, variables=CONDENSE_VARIABLES)
        if notes is None:
            notes = load_notes(settings.corpus_dir) if settings.corpus_dir.is_dir() else []
        self.notes = list(notes)
        self.backoff_base = backoff_base
        self._sleep = sleep
        self._clock = clock
        self.backend_name = f"llm:{settings.llm_model}"

    # --- the pipeline ------------------------------------------------------------

    def ask(
        self,
        question: str,
        history: Sequence[Turn],
        retrieve: Callable[[str], list[Passage]],
        notices: Sequence[str] = (),
    ) -> Answer:
        """Like ``stream``, returning only the final ``Answer``."""
        final = None
        for item in self.stream(question, history, retrieve, notices):
            if isinstance(item, Answer):
                final = item
        if final is None:  # pragma: no cover - stream always ends with an Answer or raises
            raise LLMError("The LLM answerer produced no answer.")
        return final

    def stream(
        self,
        question: str,
        history: Sequence[Turn],
        retrieve: Callable[[str], list[Passage]],
        notices: Sequence[str] = (),
    ) -> Iterator[str | Answer]:
        """Yield text deltas as they arrive, then one verified ``Answer``; raise ``LLMError``."""
        start = self._clock()
        timings: dict[str, float] = {}
        prompt_ref: dict[str, str] = {}

        standalone = question
        if history:
            standalone = self.condense(question, history)
            prompt_ref["condense_version"] = self.condense_prompt.version
            timings["condense"] = self._ms(start)

        mark = self._clock()
        retrieved = retrieve(standalone)  # retrieval errors are not LLM errors: let them through
        timings["retrieve"] = self._ms(mark)
        guard = MeaningGuard(standalone, self.notes)
        structured = self.structured
        try:
            yield from self._answer(
                question, standalone, retrieved, notices, guard, structured, timings, start,
                prompt_ref,
            )
        except _Rejected:
            _REJECTED_STRUCTURED.add(self._server_key)
            log.info(
                "LLM server at %s rejected response_format; asking for [n] markers from now on.",
                safe_url(self.settings.llm_base_url),
            )
            yield from self._answer(
                question, standalone, retrieved, notices, guard, False, timings, start, prompt_ref
            )

    @property
    def _server_key(self) -> str:
        return safe_url(self.settings.llm_base_url)

    @property
    def structured(self) -> bool:
        """Ask for JSON with a schema (not rejected by this server yet, and not switched off)."""
        mode = self.settings.llm_structured
        return mode == "json_schema" or (
            mode == "auto" and self._server_key not in _REJECTED_STRUCTURED
        )

    def _answer(
        self,
        question: str,
        standalone: str,
        retrieved: list[Passage],
        notices: Sequence[str],
        guard: MeaningGuard,
        structured: bool,
        timings: dict[str, float],
        start: float,
        prompt_ref: dict[str, str],
    ) -> Iterator[str | Answer]:
        prompt = self.json_prompt if structured else self.answer_prompt
        passages = self.fit_passages(for_prompt(retrieved), standalone, notices, prompt)
        if not passages:
            raise LLMError("No retrieved passage could be given to the model to ground an answer.")
        messages = prompt.messages(
            context=render_context(passages), notices=render_notices(notices), question=standalone
        )
        fmt = response_format(len(passages)) if structured else None
        verifier = Verifier(passages, self.settings.unsupported_sentences, guard)
        sentences = SentenceStream(structured)
        mark = self._clock()
        first = True
        raw: list[str] = []  # the completion as received, logged at DEBUG for diagnosis
        try:
            for delta in self._stream_text(messages, fmt):
                raw.append(delta)
                if first:
                    timings["first_token"] = self._ms(mark)
                    first = False
                for sep, sentence in sentences.feed(delta):
                    shown = verifier.add(sentence, sep)
                    if shown:
                        yield shown
            try:
                rest = sentences.close()
            except ValueError as exc:
                raise LLMError(f"The LLM returned a malformed structured answer ({exc}).") from None
            for sep, sentence in rest:
                shown = verifier.add(sentence, sep)
                if shown:
                    yield shown
        finally:
            log.debug("LLM completion (%s): %s", "json" if structured else "markers", "".join(raw))
        timings["generate"] = self._ms(mark)

        mark = self._clock()
        verified = verifier.finish()
        timings["verify"] = self._ms(mark)
        timings["total"] = self._ms(start)
        ref = {**dict(prompt.ref), **prompt_ref}
        yield Answer(
            question=question,
            status="answered",
            answer=verified.text,
            citations=verified.citations,
            contexts=passages,
            notices=dedupe([*notices, *verified.notices]),
            backend=self.backend_name,
            prompt=ref,
            timings_ms=timings,
            standalone_question=standalone,
        )

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """A standalone version of ``question`` given ``history`` (one LLM call)."""
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.runnables import RunnableLambda

        chain = (
            RunnableLambda(
                lambda q: self.condense_prompt.messages(history=render_history(history), question=q)
            )
            | self.model
            | StrOutputParser()
        )
        text = self._with_retries(lambda: chain.invoke(question))
        lines = [line.strip().strip("\"'\u201c\u201d").strip() for line in text.splitlines()]
        standalone = next((line for line in lines if line), "")
        if not standalone:
            raise LLMError("The LLM returned an empty standalone question.")
        return standalone

    def fit_passages(
        self,
        passages: Sequence[Passage],
        question: str,
        notices: Sequence[str],
        prompt: Any = None,
    ) -> list[Passage]:
        """The best-ranked ``passages`` that fit: context window - prompt - answer reserve."""
        empty = (prompt or self.answer_prompt).messages(
            context="", notices=render_notices(notices), question=question
        )
        overhead = sum(self.counter.count(text) + MESSAGE_OVERHEAD_TOKENS for _r, text in empty)
        budget = self.settings.llm_context_tokens - self.settings.llm_max_tokens - overhead
        kept = pack_passages(
            passages, self.counter, budget, lambda n, p: render_passage(n, p) + "\n"
        )
        if len(kept) < len(passages):
            log.info("Token budget %d kept %d of %d passages", budget, len(kept), len(passages))
        return kept

    # --- calling the model ---------------------------------------------------------

    def _with_retries(self, call: Callable[[], T]) -> T:
        delays = backoff_delays(self.settings.llm_max_retries, self.backoff_base)
        for attempt in range(len(delays) + 1):
            try:
                return call()
            except Exception as exc:
                error = to_llm_error(exc, self.settings)
                if attempt == len(delays) or not is_retryable(exc):
                    raise error from None
                self._log_retry(error, attempt, delays)
        raise AssertionError("unreachable")  # pragma: no cover

    def _stream_text(
        self, messages: Messages, fmt: dict[str, Any] | None = None
    ) -> Iterator[str]:
        """Text deltas of one completion; retried only while nothing has been yielded.

        With ``fmt`` the request carries ``response_format``; a server refusing it raises
        ``_Rejected`` (before any text) so the caller can ask again with [n] markers.
        """
        extra = {"extra_body": {"response_format": fmt}} if fmt else {}
        delays = backoff_delays(self.settings.llm_max_retries, self.backoff_base)
        for attempt in range(len(delays) + 1):
            yielded = False
            finish_reason = None
            try:
                for chunk in self.model.stream(messages, **extra):
                    finish_reason = chunk.response_metadata.get("finish_reason") or finish_reason
                    text = str(chunk.text)
                    if text:
                        yielded = True
                        yield text
                if not yielded:
                    raise LLMError("The LLM returned an empty completion.")
                if finish_reason is None:
                    raise LLMError("The LLM stream ended before the model finished its answer.")
                if finish_reason == "length":
                    log.info("LLM answer cut at llm_max_tokens=%d", self.settings.llm_max_tokens)
                return
            except Exception as exc:
                if fmt and not yielded and rejects_response_format(exc):
                    raise _Rejected() from None
                error = to_llm_error(exc, self.settings)
                if yielded or attempt == len(delays) or not is_retryable(exc):
                    raise error from None
                self._log_retry(error, attempt, delays)

    def _log_retry(self, error: LLMError, attempt: int, delays: list[float]) -> None:
        log.warning(
            "LLM call failed: %s Retry %d/%d in %.2f s.",
            error.message,
            attempt + 1,
            len(delays),
            delays[attempt],
        )
        self._sleep(delays[attempt])

    def _ms(self, since: float) -> float:
        return (self._clock() - since) * 1000.0
