"""Size limits on what the web app accepts, and the messages that explain them (pure).

``Limits`` gathers the bounds from ``Settings``: question length, history turns and total
characters, feedback comment and answer-object sizes, upload bytes and questions per batch.
``check_question`` and ``turns_from_json`` turn input over a limit into one clear sentence
(``gr.Error`` for the API) before any work is done. It does not answer or store anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr

from assistant.models import Turn
from core.settings import Settings


@dataclass(frozen=True)
class Limits:
    question_chars: int = 2000
    history_turns: int = 40
    history_chars: int = 40_000
    feedback_chars: int = 2000
    feedback_answer_chars: int = 200_000
    upload_bytes: int = 2_000_000
    batch_questions: int = 500

    @classmethod
    def from_settings(cls, s: Settings) -> Limits:
        return cls(
            question_chars=s.max_question_chars,
            history_turns=s.max_history_turns,
            history_chars=s.max_history_chars,
            feedback_chars=s.max_feedback_chars,
            upload_bytes=s.max_upload_bytes,
            batch_questions=s.max_batch_questions,
        )


def check_question(question: str, limits: Limits) -> str:
    """'' when the question's size is fine, else what is wrong.

    >>> check_question("x" * 30, Limits(question_chars=20))
    'The question is 30 characters long; the limit is 20. Please shorten it.'
    """
    if len(question) > limits.question_chars:
        return (
            f"The question is {len(question):,} characters long; the limit is "
            f"{limits.question_chars:,}. Please shorten it."
        )
    return ""


def turns_from_json(history: Sequence[Mapping[str, Any]] | None, limits: Limits) -> list[Turn]:
    """API history ``[{"role": "user"|"assistant", "content": str}, ...]`` as turns, bounded."""
    if history is None:
        return []
    if not isinstance(history, list):
        raise gr.Error("history must be a list of {role, content} objects.")
    if len(history) > limits.history_turns:
        raise gr.Error(
            f"history has {len(history)} messages; the limit is {limits.history_turns}. "
            "Send only the most recent ones."
        )
    turns = []
    total = 0
    for n, item in enumerate(history, 1):
        role = item.get("role") if isinstance(item, Mapping) else None
        content = item.get("content") if isinstance(item, Mapping) else None
        if role not in ("user", "assistant") or not isinstance(content, str):
            raise gr.Error(f"history item {n} needs role 'user' or 'assistant' and text content.")
        total += len(content)
        if total > limits.history_chars:
            raise gr.Error(
                f"history is longer than {limits.history_chars:,} characters in total "
                f"(at item {n}). Send only the most recent messages."
            )
        turns.append(Turn(role, content))
    return turns
