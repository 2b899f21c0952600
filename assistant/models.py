"""Typed values that leave the assistant: Passage, Citation, Answer.

An ``Answer`` carries everything the CLI, the web app and the evals need, so
nothing downstream reaches back to the corpus files. ``Answer.to_json()`` is the
stable JSON contract of ``pht ask --json`` (documented in the README).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

Status = Literal["answered", "red_flag", "out_of_scope", "invalid_input"]
STATUSES: tuple[Status, ...] = ("answered", "red_flag", "out_of_scope", "invalid_input")


@dataclass(frozen=True)
class Turn:
    """One message of a conversation history."""

    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class QuoteSpan:
    """A sentence of a passage, quotable as is: ``raw[start:end] == text``."""

    id: str
    start: int
    end: int
    text: str
    kind: str = "content"


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its rank score; ``text == raw[start:end]`` of ``source``."""

    id: str
    source: str
    start: int
    end: int
    text: str
    score: float
    kind: str
    section: str
    title: str
    edition: str
    edition_rank: int
    dup_group: str = ""
    sentences: tuple[QuoteSpan, ...] = ()  # its sentences in source order
    heading: QuoteSpan | None = None  # its section heading, quotable, when the file has one

    def context_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 6),
            "text": self.text,
        }


@dataclass(frozen=True)
class Citation:
    """A numbered citation: the verbatim quote and its exact offsets in the raw corpus file."""

    marker: int
    source: str
    title: str
    edition: str
    quote: str
    start: int
    end: int
    kind: str = "content"  # "sponsorship" when citing a paid promotion as such
    section: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    """The assistant's reply to one question."""

    question: str
    status: Status
    answer: str
    citations: list[Citation] = field(default_factory=list)
    contexts: list[Passage] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    backend: str = "extractive"
    prompt: dict[str, str] = field(default_factory=dict)  # {"name":..., "version":...}
    timings_ms: dict[str, float] = field(default_factory=dict)
    standalone_question: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "status": self.status,
            "answer": self.answer,
            "citations": [c.to_json() for c in self.citations],
            "contexts": [p.context_json() for p in self.contexts],
            "notices": list(self.notices),
            "backend": self.backend,
            "prompt": dict(self.prompt),
            "standalone_question": self.standalone_question,
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
        }


class AnswerService(Protocol):
    """What the CLI, the web app and the evals call. ``assistant.service.Assistant`` implements it.

    ``stream`` yields text deltas (``str``) as the answer is produced, then exactly one final
    ``Answer`` (verified citations, notices, timings); joining the deltas gives a preview of
    ``Answer.answer`` that the final value replaces.
    """

    backend_name: str

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer: ...

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[str | Answer]: ...
