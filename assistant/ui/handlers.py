"""The runners' chat handlers: ask, retry, clear, rate an answer (and comment), and the API.

``ChatHandlers`` holds the ``AnswerService``, the feedback store and the input limits;
its methods are what ``layout`` wires to Gradio events, and they can be called directly
in tests without a server. A chat keeps its own state (a list of ``Exchange``), from
which both the ``Turn`` history and the chatbot messages are derived, so rendered HTML
never flows back into the assistant. Each final answer gets an id; rating it again
updates its feedback row. Inputs over their limits (question, history, feedback) get a
clear message; failures become a readable message, never a traceback. The staff tools
are in ``desk``; it does not build the layout or launch a server.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import gradio as gr

from assistant.feedback import FeedbackStore, normalize_rating
from assistant.models import Answer, AnswerService, Turn
from assistant.ui import render
from assistant.ui.limits import Limits, check_question, turns_from_json
from assistant.ui.priority import Priority
from core.errors import PHTError

log = logging.getLogger(__name__)
RETRY_HINT = "Retry is offered after an error or a generated (LLM) answer; answers quoted from the articles would come out the same."


@dataclass(frozen=True)
class Exchange:
    """One question of a chat and what is shown for it (a final answer, a preview or an error)."""

    question: str
    answer: Answer | None = None
    preview: str = ""
    error: str = ""
    answer_id: str = ""
    history: tuple[Turn, ...] = ()


def history_of(exchanges: Sequence[Exchange]) -> list[Turn]:
    """The ``Turn`` history of the answered exchanges (final answer texts, not HTML)."""
    turns: list[Turn] = []
    for ex in exchanges:
        if ex.answer is not None:
            turns += [Turn("user", ex.question), Turn("assistant", ex.answer.answer)]
    return turns


def messages_of(exchanges: Sequence[Exchange]) -> list[dict[str, str]]:
    """Chatbot messages: exactly two per exchange (so message ``i`` belongs to exchange ``i // 2``)."""
    return [m for i, ex in enumerate(exchanges) for m in exchange_messages(i, ex)]


def exchange_messages(i: int, ex: Exchange) -> list[dict[str, str]]:
    """The two chatbot messages of exchange number ``i``: its question and what is shown for it."""
    if ex.answer is not None:
        shown = render.render_answer(ex.answer, f"a{i}")
    elif ex.error:
        shown = render.render_error(ex.error)
    else:
        shown = render.render_preview(ex.preview)
    return [
        {"role": "user", "content": render.render_question(ex.question)},
        {"role": "assistant", "content": shown},
    ]


def retry_useful(exchanges: Sequence[Exchange]) -> bool:
    """Whether asking the last question again could give another answer.

    The extractive answer is deterministic: only an error or a generated answer is worth
    retrying.
    """
    if not exchanges:
        return False
    last = exchanges[-1]
    return bool(last.error) or (last.answer is not None and last.answer.backend.startswith("llm"))


def failure_message(err: Exception) -> str:
    """What a reader sees when answering fails."""
    if isinstance(err, PHTError):
        return str(err)
    return (
        f"Sorry, the assistant could not answer ({type(err).__name__}). Please try again; "
        "if it keeps failing, tell the clinic team."
    )


def _hide() -> Any:
    return gr.update(visible=False)


ChatOut = tuple[list[dict[str, str]], list[Exchange], str, Any, str, Any]
STREAM_INTERVAL_S = 0.1  # at most ~10 streamed updates a second per answer


class ChatHandlers:
    """Everything the runners' page does, as plain methods over an ``AnswerService``."""

    def __init__(
        self,
        service: AnswerService,
        store: FeedbackStore,
        limits: Limits | None = None,
        priority: Priority | None = None,
        stream_interval_s: float = STREAM_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.service = service
        self.store = store
        self.limits = limits or Limits()
        self.priority = priority or Priority()
        self.stream_interval_s = stream_interval_s
        self.clock = clock

    # --- chat -------------------------------------------------------------
    def chat(self, message: str, exchanges: list[Exchange]) -> Iterator[ChatOut]:
        """Stream an answer: the question, preview text as it arrives, then the final ``Answer``.

        Yields (messages, state, question box, retry button, feedback note, comment box).
        Preview text is sent at most every ``stream_interval_s`` (each update resends the
        chat, so one per token would cost the server and the browser a re-render per token);
        text held back goes out with the next update or the final answer.
        """
        question = (message or "").strip()
        if not question:
            yield messages_of(exchanges), exchanges, "", self._retry(exchanges), "", _hide()
            return
        problem = check_question(question, self.limits)
        if problem:
            done = [*exchanges, Exchange(question[:200] + "…", error=problem)]
            yield messages_of(done), done, "", self._retry(done), "", _hide()
            return
        yield from self._stream_out(list(exchanges), question)

    def retry(self, exchanges: list[Exchange]) -> Iterator[ChatOut]:
        """Ask the last question again (with the same earlier history), when it could differ."""
        if not retry_useful(exchanges):
            yield messages_of(exchanges), exchanges, "", self._retry(exchanges), RETRY_HINT, _hide()
            return
        yield from self._stream_out(list(exchanges[:-1]), exchanges[-1].question)

    def clear(self) -> ChatOut:
        return [], [], "", self._retry([]), "", _hide()

    @staticmethod
    def _retry(exchanges: Sequence[Exchange]) -> Any:
        return gr.update(visible=retry_useful(exchanges))

    def _history(self, earlier: Sequence[Exchange]) -> list[Turn]:
        """The most recent turns that fit the history limits (older ones are left out)."""
        turns = (
            history_of(earlier)[-self.limits.history_turns :] if self.limits.history_turns else []
        )
        while turns and sum(len(t.content) for t in turns) > self.limits.history_chars:
            turns = turns[2:]
        return turns

    def _stream_out(self, earlier: list[Exchange], question: str) -> Iterator[ChatOut]:
        """The chat outputs of answering ``question`` after ``earlier`` (rendered once)."""
        shown = messages_of(earlier)
        for done in self._answer_into(earlier, question):
            now = shown + exchange_messages(len(earlier), done[-1])
            yield now, done, "", self._retry(done), "", _hide()

    def _answer_into(self, earlier: list[Exchange], question: str) -> Iterator[list[Exchange]]:
        history = self._history(earlier)
        current = Exchange(question, history=tuple(history))
        yield [*earlier, current]
        sent = float("-inf")  # the first text goes out at once
        try:
            with self.priority.chat():
                for item in self.service.stream(question, history):
                    if isinstance(item, Answer):
                        current = replace(current, answer=item, answer_id=uuid.uuid4().hex)
                        yield [*earlier, current]
                        continue
                    current = replace(current, preview=current.preview + item)
                    now = self.clock()
                    if now - sent >= self.stream_interval_s:
                        sent = now
                        yield [*earlier, current]
        except Exception as err:
            log.exception("answering failed")
            current = replace(current, error=failure_message(err))
            yield [*earlier, current]
            return
        if current.answer is None:  # a service that forgot the final Answer
            yield [*earlier, replace(current, error="The answer was incomplete. Please retry.")]

    # --- feedback: one thumb per answer, then an optional comment ------------
    def like(self, exchanges: list[Exchange], data: gr.LikeData) -> tuple[str, str, Any, str]:
        """A thumb on one chat answer: store or update its rating.

        Returns (note, id of the rated answer, comment group update, comment text).
        """
        index = data.index if isinstance(data.index, int) else data.index[0]
        i = index // 2
        if data.liked not in (True, False) or not 0 <= i < len(exchanges):
            return "", "", _hide(), ""
        ex = exchanges[i]
        if ex.answer is None:
            return "There is no answer to rate here.", "", _hide(), ""
        self._store(ex, "up" if data.liked else "down", "")
        word = "helpful" if data.liked else "not helpful"
        note = f"Thanks: you rated answer {i + 1} {word}. Add a comment below if you like."
        return note, ex.answer_id, gr.update(visible=True), ""

    def comment(self, exchanges: list[Exchange], answer_id: str, text: str) -> tuple[str, Any, str]:
        """Attach a comment to the answer rated last (updates its row).

        Returns (note, comment group update, comment text).
        """
        raw = text or ""
        text = raw.strip()
        if not text:
            return "Write a comment first, or just leave the rating.", gr.update(), raw
        if len(text) > self.limits.feedback_chars:
            return (
                f"The comment is {len(text):,} characters; the limit is "
                f"{self.limits.feedback_chars:,}. Please shorten it.",
                gr.update(),
                raw,
            )
        ex = next((e for e in exchanges if answer_id and e.answer_id == answer_id), None)
        rating = self.store.rating_of(answer_id) if ex is not None else None
        if ex is None or rating is None:
            return "Rate an answer with the thumbs first, then add your comment.", gr.update(), raw
        self._store(ex, rating, text)
        return "Thanks, your comment was saved with your rating.", _hide(), ""

    def _store(self, ex: Exchange, rating: str, comment: str) -> int:
        assert ex.answer is not None
        history = [{"role": t.role, "content": t.content} for t in ex.history]
        return self.store.add_answer(
            ex.answer, rating, comment, history=history, answer_id=ex.answer_id
        )

    # --- API --------------------------------------------------------------
    def api_ask(self, question: str, history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Answer one question (non-streaming): the ``Answer`` JSON plus an ``answer_id``."""
        if not isinstance(question, str):
            raise gr.Error("question must be text.")
        problem = check_question(question, self.limits)
        if problem:
            raise gr.Error(problem)
        turns = turns_from_json(history, self.limits)
        try:
            with self.priority.chat():
                answer = self.service.ask(question, turns)
        except Exception as err:
            log.exception("API answer failed")
            raise gr.Error(failure_message(err)) from err
        return {**answer.to_json(), "answer_id": uuid.uuid4().hex}

    def api_feedback(
        self,
        answer: dict[str, Any],
        rating: str,
        comment: str = "",
        history: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Store (or, for the same ``answer_id``, update) a rating; return the row id."""
        if not isinstance(answer, dict) or not answer.get("question"):
            raise gr.Error("answer must be the JSON object returned by the ask endpoint.")
        size = len(json.dumps(answer, ensure_ascii=False))
        if size > self.limits.feedback_answer_chars:
            raise gr.Error(
                f"The answer object is {size:,} characters; the limit is "
                f"{self.limits.feedback_answer_chars:,}. Send the object /ask returned."
            )
        comment = comment if isinstance(comment, str) else ""
        if len(comment) > self.limits.feedback_chars:
            raise gr.Error(
                f"The comment is {len(comment):,} characters; the limit is "
                f"{self.limits.feedback_chars:,}."
            )
        try:
            normalize_rating(str(rating)[:20])
        except ValueError as err:
            raise gr.Error(str(err)) from err
        turns = turns_from_json(history, self.limits)
        row_id = self.store.add_answer(
            answer, str(rating)[:20], comment, history=[_turn(t) for t in turns],
            answer_id=str(answer.get("answer_id") or "")[:64],
        )  # fmt: skip
        return {"id": row_id}


def _turn(t: Turn) -> Mapping[str, str]:
    return {"role": t.role, "content": t.content}
