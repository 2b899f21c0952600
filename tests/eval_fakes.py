"""Fakes for the eval-runner tests: a tiny case file and a scripted ``AnswerService``.

``CASES_YAML`` holds five cases in the real schema (answered, red flag, out of scope with
HTML in its question, invalid input), anchored in the real corpus. ``EvalFakeService``
answers them with real corpus quotes at exact offsets (``source`` is ``corpus/<file>``, as
ingestion names it) and can be told to break one answer on purpose (``broken="stretch"``
says "Stretching will fix it."), to misquote, to cite an ad, or to leak a discount code. It
does not retrieve or rank: contexts are the paragraphs around the quotes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from assistant.models import Answer, Citation, Passage, Turn

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
NEWER = "corpus/understanding-pht-with-running.txt"
STRETCH = (
    "Most of the runners I see with this condition have already tried hamstring stretching "
    "and it does not help."
)
ROOT = "the root cause of the problem is usually a weakness issue"
ROOT_SENTENCE = (
    "The reason is because it is not that your hamstring muscle length is restricted or you "
    "have tight hamstrings, the root cause of the problem is usually a weakness issue and a "
    "lack of ability for your hamstring tendon to withstand load and the demands of running."
)
RED_FLAGS = (
    "don’t have any red flags to not run (fracture, bone stress injury, nerve pain, pain "
    "levels greater than 5/10 with running)"
)
HTML_QUESTION = 'Is <b>pizza</b> & "beer" <script>alert(1)</script> good for PHT?'

CASES_YAML = f"""
cases:
  - id: stretching-more
    question: Will more stretching fix my sit bone pain?
    expected_status: answered
    tags: [treatment]
    gold: [{{source: {NEWER}, anchor: "{STRETCH}"}}]
    claims:
      - id: no-stretch-fix
        text: Hamstring stretching does not fix proximal hamstring tendinopathy.
        weight: vital
        polarity: negate
        concepts: [["@stretch"], ["@fix"]]
        contradicts: ['\\bstretch\\w* (?:will|does|can) (?:fix|cure|solve|help)\\b']
        support: {{source: {NEWER}, anchor: "{STRETCH}"}}
      - id: root-cause-weakness
        text: The root cause is usually weakness.
        weight: okay
        polarity: affirm
        concepts: [["@cause"], [weak*]]
        support: {{source: {NEWER}, anchor: "{ROOT}"}}
    forbidden: ['healthyrunner']
  - id: rf-pain-7
    question: My high hamstring pain hits 7/10 every time I run. Can I keep running?
    expected_status: red_flag
    tags: [red-flag]
    gold: [{{source: {NEWER}, anchor: "{RED_FLAGS}"}}]
    claims:
      - id: rf-pain-5
        text: Pain greater than 5/10 with running is a red flag for not running.
        weight: vital
        polarity: mention
        concepts: [["@pain"]]
        numbers: [{{quantity: pain, op: ">", value: 5, unit: /10}}]
        support: {{source: {NEWER}, anchor: "{RED_FLAGS}"}}
  - id: oos-html
    question: '{HTML_QUESTION}'
    expected_status: out_of_scope
    tags: [out-of-scope]
  - id: empty
    question: ""
    expected_status: invalid_input
    tags: [invalid]
"""


def write_cases(folder: Path) -> Path:
    path = folder / "cases.yaml"
    path.write_text(CASES_YAML, encoding="utf-8")
    return path


def cite(
    marker: int, source: str, quote: str, *, kind: str = "content", shift: int = 0
) -> tuple[Citation, Passage]:
    """A citation of ``quote`` (exact offsets; ``shift`` moves them to break verbatim-ness)."""
    raw = (CORPUS.parent / source).read_bytes().decode("utf-8-sig")
    start = raw.find(quote)
    assert start >= 0, f"{quote!r} not in {source}"
    end = start + len(quote)
    p_start = max(0, raw.rfind("\n", 0, start) + 1)
    p_end = raw.find("\n", end)
    p_end = len(raw) if p_end < 0 else p_end
    title, edition = "Understanding PHT with Running", "newer edition"
    c = Citation(marker, source, title, edition, quote, start + shift, end + shift, kind=kind)
    p = Passage(
        f"{source}:{p_start}",
        source,
        p_start,
        p_end,
        raw[p_start:p_end],
        1.0 / marker,
        "content",
        "",
        title,
        edition,
        2,
    )
    return c, p


class EvalFakeService:
    """Scripted answers for the cases of ``CASES_YAML`` (and a default for anything else)."""

    backend_name = "fake-eval"

    def __init__(self, broken: str = "", latency_ms: float = 12.0):
        self.broken = broken
        self.latency_ms = latency_ms
        self.questions: list[str] = []

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[str | Answer]:
        yield self.ask(question, history)

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        self.questions.append(question)
        q = question.lower()
        timings = {"total": self.latency_ms}
        if not q.strip():
            return Answer(question, "invalid_input", "Please type a question.", timings_ms=timings)
        if "pizza" in q or "capital" in q:
            return Answer(
                question,
                "out_of_scope",
                "I only answer questions about PHT.",
                backend=self.backend_name,
                timings_ms=timings,
            )
        if "7/10" in q or "numb" in q:
            c, p = cite(1, NEWER, RED_FLAGS)
            text = f"Stop running and get evaluated: the article lists {RED_FLAGS} [1]."
            return Answer(
                question, "red_flag", text, [c], [p], backend=self.backend_name, timings_ms=timings
            )
        return self._stretch(question, timings)

    def _stretch(self, question: str, timings: dict[str, float]) -> Answer:
        c, p = cite(1, NEWER, STRETCH, shift=3 if self.broken == "misquote" else 0)
        c2, p2 = cite(2, NEWER, ROOT_SENTENCE)
        text = f"Here is what the articles say:\n\n{STRETCH} [1] {ROOT_SENTENCE} [2]"
        cites, ctx, notices = [c, c2], [p, p2], []
        if self.broken == "stretch":
            text = "Stretching will fix it. [1]"
        if self.broken == "ad":
            ad, ad_p = cite(3, NEWER, "This Episode Sponsored By:", kind="sponsorship")
            text += " Also try this product [3]."
            cites, ctx = [*cites, ad], [*ctx, ad_p]
        if self.broken == "labelled-ad":
            ad, ad_p = cite(3, NEWER, "This Episode Sponsored By:", kind="sponsorship")
            notices = ["That product appears only in a paid promotion [3]."]
            cites, ctx = [*cites, ad], [*ctx, ad_p]
        if self.broken == "code":
            notices = ["Use code HEALTHYRUNNER for 30% off."]
        return Answer(
            question,
            "answered",
            text,
            cites,
            ctx,
            notices,
            backend=self.backend_name,
            prompt={"name": "fake", "version": "1"},
            timings_ms=timings,
        )
