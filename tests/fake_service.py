"""A deterministic fake ``AnswerService`` for the web app tests (no index, no model).

Citations point at real sentences of the corpus, located with ``str.find`` so their
offsets are exact (``raw[start:end] == quote``), and each comes with the surrounding
paragraph as a context ``Passage``. The status depends on words in the question:
"numb", "fracture" or "night" → ``red_flag`` (with a notice); "pizza", "recipe" or
"bitcoin" → ``out_of_scope`` (the real reply, with its example questions); "boom" raises
an error; anything else → ``answered`` with three citations, two of them quoting one
paragraph, and an edition notice. The answer text echoes the question so tests can
check that HTML in an LLM answer is escaped. ``stream`` yields the answer word by word,
then the final ``Answer`` (``word_delay_s`` slows it down
for browser tests). It does not retrieve, rank or check anything.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from assistant.gate_data import load_data
from assistant.models import Answer, Citation, Passage, Turn

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
NEWER = "understanding-pht-with-running.txt"
OLDER = "is-it-ok-to-run-with-hamstring-pain.txt"
TITLES = {
    NEWER: ("Understanding Proximal Hamstring Tendinopathy with Running", "newer edition", 2),
    OLDER: (
        "Is It Ok To Run with Hamstring Pain? | Hamstring Injury Exercises",
        "older edition",
        1,
    ),
}
SITTING = (
    "Pain with sitting as a guide on whether or not you should run or not run is not reliable "
    "or predictive in my experience"
)
LOADING = "Exercise with specific loading to the tendon is the key"
RED_FLAGS = "fracture, bone stress injury, nerve pain, pain levels greater than 5/10 with running"
RED_FLAG_NOTICE = (
    "Numbness, night pain or a possible fracture are red flags: stop running and see a "
    "clinician before following general advice."
)
# The real reply: a paragraph wrapped mid-sentence, then "- " example questions.
OUT_OF_SCOPE = str(load_data("scope.yaml")["reply"]).strip()
INCONSISTENCY = (
    "Inconsistency with running by starting and stopping every time you have pain with sitting "
    "will not help you get back to running"
)
EDITION_NOTICE = "The two editions disagree on passive treatments; the newer edition is shown."


def _raw(source: str) -> str:
    return (CORPUS / source).read_text(encoding="utf-8")


def cite(marker: int, source: str, quote: str) -> tuple[Citation, Passage]:
    """A citation of ``quote`` in ``source`` and the paragraph around it as a passage."""
    raw = _raw(source)
    start = raw.find(quote)
    assert start >= 0, f"{quote!r} not in {source}"
    end = start + len(quote)
    p_start = raw.rfind("\n\n", 0, start)
    p_start = 0 if p_start < 0 else p_start + 2
    p_end = raw.find("\n\n", end)
    p_end = len(raw) if p_end < 0 else p_end
    title, edition, rank = TITLES[source]
    citation = Citation(marker, source, title, edition, raw[start:end], start, end)
    passage = Passage(
        id=f"{source}:{p_start}",
        source=source,
        start=p_start,
        end=p_end,
        text=raw[p_start:p_end],
        score=1.0 / marker,
        kind="content",
        section="",
        title=title,
        edition=edition,
        edition_rank=rank,
    )
    return citation, passage


class FakeAnswerService:
    """Scripted answers by keyword; thread-safe; records every call."""

    backend_name = "fake"

    def __init__(self, delay_s: float = 0.0, word_delay_s: float = 0.0):
        self.delay_s = delay_s
        self.word_delay_s = word_delay_s
        self.calls: list[tuple[str, tuple[Turn, ...]]] = []
        self._lock = threading.Lock()

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        with self._lock:
            self.calls.append((question, tuple(history)))
        if self.delay_s:
            time.sleep(self.delay_s)
        return self._answer(question, tuple(history))

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[str | Answer]:
        answer = self.ask(question, history)
        for i, word in enumerate(answer.answer.split(" ")):
            if self.word_delay_s:
                time.sleep(self.word_delay_s)
            yield word if i == 0 else " " + word
        yield answer

    def _answer(self, question: str, history: tuple[Turn, ...]) -> Answer:
        q = question.lower()
        prompt = {"name": "fake", "version": "fake-1"}
        if "boom" in q:
            raise RuntimeError("the fake service exploded <script>alert(1)</script>")
        if any(w in q for w in ("numb", "fracture", "night")):
            c, p = cite(1, NEWER, RED_FLAGS)
            return Answer(
                question, "red_flag",
                f"The newer article lists red flags for not running: {RED_FLAGS} [1].",
                citations=[c], contexts=[p], notices=[RED_FLAG_NOTICE],
                backend=self.backend_name, prompt=prompt,
            )  # fmt: skip
        if any(w in q for w in ("pizza", "recipe", "bitcoin")):
            return Answer(
                question, "out_of_scope", OUT_OF_SCOPE,
                backend=self.backend_name, prompt=prompt,
            )  # fmt: skip
        c1, p1 = cite(1, NEWER, SITTING)
        c2, p2 = cite(2, NEWER, LOADING)
        c3, _ = cite(3, NEWER, INCONSISTENCY)  # same paragraph as [1]: one source entry
        turns = f" (turn {len(history) // 2 + 1})" if history else ""
        text = (
            f"You asked: {question}{turns}. Sitting pain is not a reliable guide to whether "
            f"you should run [1]. Loading the tendon with exercise is the key [2]. Stopping "
            f"and starting does not help [3]."
        )
        return Answer(
            question, "answered", text,
            citations=[c1, c2, c3], contexts=[p1, p2], notices=[EDITION_NOTICE],
            backend=self.backend_name, prompt=prompt,
        )  # fmt: skip
