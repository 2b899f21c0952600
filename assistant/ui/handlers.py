"""The web app's event handlers: chat, retry, clear, feedback, FAQ desk, batch and the API.

``Handlers`` holds the ``AnswerService``, the feedback store, the curated questions and
a folder for downloads; its methods are what ``layout`` wires to Gradio events, and
they can be called directly in tests without a server. A chat keeps its own state (a
list of ``Exchange``), from which both the ``Turn`` history and the chatbot messages
are derived, so rendered HTML never flows back into the assistant. Failures become a
readable message, never a traceback. It does not build the layout or launch a server.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.feedback import FeedbackStore
from assistant.models import Answer, AnswerService, Turn
from assistant.ui import export, render
from assistant.ui.batch import parse_questions
from assistant.ui.faq import FaqItem
from core.errors import PHTError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Exchange:
    """One question of a chat and what is shown for it (a final answer, a preview or an error)."""

    question: str
    answer: Answer | None = None
    preview: str = ""
    error: str = ""


def history_of(exchanges: Sequence[Exchange]) -> list[Turn]:
    """The ``Turn`` history of the answered exchanges (final answer texts, not HTML)."""
    turns: list[Turn] = []
    for ex in exchanges:
        if ex.answer is not None:
            turns += [Turn("user", ex.question), Turn("assistant", ex.answer.answer)]
    return turns


def messages_of(exchanges: Sequence[Exchange]) -> list[dict[str, str]]:
    """Chatbot messages: exactly two per exchange (so message ``i`` belongs to exchange ``i // 2``)."""
    out: list[dict[str, str]] = []
    for i, ex in enumerate(exchanges):
        if ex.answer is not None:
            shown = render.render_answer(ex.answer, f"a{i}")
        elif ex.error:
            shown = render.render_error(ex.error)
        else:
            shown = render.render_preview(ex.preview)
        out += [
            {"role": "user", "content": render.render_question(ex.question)},
            {"role": "assistant", "content": shown},
        ]
    return out


def failure_message(err: Exception) -> str:
    """What a reader sees when answering fails."""
    if isinstance(err, PHTError):
        return str(err)
    return (
        f"Sorry, the assistant could not answer ({type(err).__name__}). Please try again; "
        "if it keeps failing, tell the clinic team."
    )


def turns_from_json(history: Sequence[Mapping[str, Any]] | None) -> list[Turn]:
    """API history ``[{"role": "user"|"assistant", "content": str}, ...]`` as turns."""
    turns = []
    for n, item in enumerate(history or [], 1):
        role, content = item.get("role"), item.get("content")
        if role not in ("user", "assistant") or not isinstance(content, str):
            raise gr.Error(f"history item {n} needs role 'user' or 'assistant' and text content.")
        turns.append(Turn(role, content))
    return turns


class Handlers:
    """Everything the app does, as plain methods over an ``AnswerService``."""

    def __init__(
        self,
        service: AnswerService,
        store: FeedbackStore,
        faq: Sequence[FaqItem] = (),
        downloads: Path | None = None,
    ):
        self.service = service
        self.store = store
        self.faq = list(faq)
        self.downloads = downloads or Path(tempfile.mkdtemp(prefix="pht-app-"))
        self._faq_cache: dict[str, Answer] = {}
        self._faq_lock = threading.Lock()

    # --- chat -------------------------------------------------------------
    def chat(
        self, message: str, exchanges: list[Exchange]
    ) -> Iterator[tuple[list[dict[str, str]], list[Exchange], str]]:
        """Stream an answer: preview deltas first, then the final rendered ``Answer``."""
        question = (message or "").strip()
        if not question:
            yield messages_of(exchanges), exchanges, ""
            return
        for done in self._answer_into(list(exchanges), question):
            yield messages_of(done), done, ""

    def retry(
        self, exchanges: list[Exchange]
    ) -> Iterator[tuple[list[dict[str, str]], list[Exchange]]]:
        """Ask the last question again (with the same earlier history)."""
        if not exchanges:
            yield [], []
            return
        for done in self._answer_into(list(exchanges[:-1]), exchanges[-1].question):
            yield messages_of(done), done

    def clear(self) -> tuple[list[dict[str, str]], list[Exchange], str, str]:
        return [], [], "", ""

    def _answer_into(self, earlier: list[Exchange], question: str) -> Iterator[list[Exchange]]:
        history = history_of(earlier)
        current = Exchange(question)
        yield [*earlier, current]
        try:
            for item in self.service.stream(question, history):
                if isinstance(item, Answer):
                    current = replace(current, answer=item)
                else:
                    current = replace(current, preview=current.preview + item)
                yield [*earlier, current]
        except Exception as err:
            log.exception("answering failed")
            current = replace(current, error=failure_message(err))
            yield [*earlier, current]
            return
        if current.answer is None:  # a service that forgot the final Answer
            yield [*earlier, replace(current, error="The answer was incomplete. Please retry.")]

    # --- feedback ---------------------------------------------------------
    def like(self, exchanges: list[Exchange], comment: str, data: gr.LikeData) -> tuple[str, str]:
        """A thumb on one chat answer; the comment box (if filled) goes with it."""
        index = data.index if isinstance(data.index, int) else data.index[0]
        if data.liked not in (True, False):
            return "", comment  # un-liking, or another option: nothing to store
        return self._rate(exchanges, index // 2, bool(data.liked), comment)

    def rate_latest(self, exchanges: list[Exchange], comment: str, up: bool) -> tuple[str, str]:
        return self._rate(exchanges, len(exchanges) - 1, up, comment)

    def _rate(self, exchanges: list[Exchange], i: int, up: bool, comment: str) -> tuple[str, str]:
        if not 0 <= i < len(exchanges) or exchanges[i].answer is None:
            return "There is no answer to rate yet.", comment
        answer = exchanges[i].answer
        assert answer is not None
        self.store.add_answer(answer, "up" if up else "down", comment)
        return "Thanks, your feedback was saved.", ""

    # --- FAQ desk ---------------------------------------------------------
    def faq_answers(
        self, refresh: bool = False, progress: Any = None
    ) -> list[tuple[FaqItem, Answer | str]]:
        """Each curated question with its answer (cached) or an error message."""
        out: list[tuple[FaqItem, Answer | str]] = []
        for n, item in enumerate(self.faq):
            if progress is not None:
                progress((n, len(self.faq)), desc=f"Answering {item.id}")
            with self._faq_lock:
                cached = None if refresh else self._faq_cache.get(item.id)
            if cached is None:
                try:
                    cached = self.service.ask(item.question, [])
                except Exception as err:
                    log.exception("FAQ answer failed")
                    out.append((item, failure_message(err)))
                    continue
                with self._faq_lock:
                    self._faq_cache[item.id] = cached
            out.append((item, cached))
        return out

    def faq_desk(self, refresh: bool = False, progress: Any = None) -> tuple[str, str, list[str]]:
        """(HTML of the cards, Markdown export text, [Markdown file, CSV file])."""
        rows = self.faq_answers(refresh, progress)
        if not rows:
            return (
                '<p class="pht-empty">No curated questions (corpus/faq.yaml is missing).</p>',
                "",
                [],
            )
        cards = []
        for item, ans in rows:
            body = (
                render.render_answer(ans, f"faq-{item.id}")
                if isinstance(ans, Answer)
                else render.render_error(ans)
            )
            cards.append(
                f'<details class="pht-faq-card" id="card-{render.esc(item.id)}">'
                f'<summary class="pht-faq-q">{render.esc(item.question)}</summary>{body}</details>'
            )
        answered = [(i.id, a) for i, a in rows if isinstance(a, Answer)]
        markdown = export.answers_markdown(answered)
        csv_text = export.to_csv(export.CITATION_COLUMNS, export.citation_rows(answered))
        files = [self._write("faq.md", markdown), self._write("faq.csv", csv_text)]
        return "".join(cards), markdown, files

    def api_faq(self) -> list[dict[str, Any]]:
        """The curated questions and their answers as JSON."""
        return [
            {"id": i.id, "question": i.question,
             "answer": a.to_json() if isinstance(a, Answer) else None,
             "error": "" if isinstance(a, Answer) else a}
            for i, a in self.faq_answers()
        ]  # fmt: skip

    # --- batch ------------------------------------------------------------
    def batch(self, upload: Any, progress: Any = None) -> tuple[str | None, str]:
        """Answer every question of an uploaded CSV/TXT; return (CSV path, message)."""
        if not upload:
            return None, "Choose a .csv or .txt file of questions first."
        path = Path(upload if isinstance(upload, str) else getattr(upload, "name", str(upload)))
        try:
            pairs = parse_questions(path.name, path.read_bytes())
        except PHTError as err:
            return None, str(err)
        except OSError as err:
            return (
                None,
                f"The uploaded file could not be read ({err.strerror}). Please upload it again.",
            )
        rows = []
        for n, (item_id, question) in enumerate(pairs):
            if progress is not None:
                progress((n, len(pairs)), desc=f"Question {n + 1} of {len(pairs)}")
            try:
                rows.append(export.batch_row(item_id, question, self.service.ask(question, [])))
            except Exception as err:
                log.exception("batch answer failed")
                rows.append(export.batch_row(item_id, question, None, failure_message(err)))
        failed = sum(r["status"] == "error" for r in rows)
        out = self._write("answers.csv", export.to_csv(export.BATCH_COLUMNS, rows))
        note = f" ({failed} failed; see the status column)" if failed else ""
        return out, f"Answered {len(rows) - failed} of {len(rows)} questions{note}."

    # --- API --------------------------------------------------------------
    def api_ask(self, question: str, history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Answer one question (non-streaming) and return the ``Answer`` JSON."""
        turns = turns_from_json(history)
        try:
            return self.service.ask(question, turns).to_json()
        except Exception as err:
            log.exception("API answer failed")
            raise gr.Error(failure_message(err)) from err

    def api_feedback(
        self, answer: dict[str, Any], rating: str, comment: str = ""
    ) -> dict[str, Any]:
        """Store a rating ("up"/"down") of an answer returned by ``ask``; return the row id."""
        if not isinstance(answer, dict) or not answer.get("question"):
            raise gr.Error("answer must be the JSON object returned by the ask endpoint.")
        try:
            row_id = self.store.add_answer(answer, rating, comment)
        except ValueError as err:
            raise gr.Error(str(err)) from err
        return {"id": row_id}

    def _write(self, name: str, text: str) -> str:
        folder = self.downloads / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text(text, encoding="utf-8")
        return str(path)
