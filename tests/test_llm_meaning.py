"""The run-time meaning check (core/meaning/check.py, assistant/llm/meaning.py, verify.py).

Sentences here are held-out paraphrases about other injuries and exercises (not the corpus),
so the rules are tested as general rules, not as a list of article sentences.
"""

from __future__ import annotations

import doctest

import pytest

from assistant.answering.notes import Anchor, EditorialNote
from assistant.llm import meaning as meaning_mod
from assistant.llm import structured as structured_mod
from assistant.llm import verify as verify_mod
from assistant.llm.meaning import MeaningGuard, bare_answer, superseded
from assistant.llm.verify import verify_citations
from core import redact as redact_mod
from core.errors import LLMError
from core.meaning import check as check_mod
from core.meaning import negation as negation_mod
from core.meaning import normalize as normalize_mod
from core.meaning.check import analyze, contradiction
from tests.llm_passages import make_passage

ICE = make_passage("ice", [
    "Icing the knee every evening does not speed up recovery from patellar tendinopathy.",
    "Keep squat pain at no more than 2/10 during the first month.",
    "Start with 8-10 reps of slow squats.",
])
CALF = make_passage("calf", [
    "Calf raises build the strength the Achilles tendon needs.",
    "Rest alone will not cure Achilles pain.",
], offset=900)
NOTE = EditorialNote(
    "passive", ("shockwave", "taping"), "The newer edition says shockwave and taping will not fix it.",
    Anchor("s", "a"),
)


@pytest.mark.parametrize(
    "module",
    [check_mod, normalize_mod, negation_mod, redact_mod, meaning_mod, verify_mod, structured_mod],
)
def test_docstring_examples_hold(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    "sentence",
    [
        "Icing the knee every evening speeds up recovery from patellar tendinopathy.",
        "Nightly ice on the knee will speed up your recovery.",
        "Resting alone cures Achilles pain.",
        "Squat pain of 4/10 is fine during the first month.",
        "You can let squat pain reach 5/10 in the first month.",
        "Start with 15 reps of slow squats.",
    ],
)
def test_opposite_polarity_or_another_number_is_a_contradiction(sentence: str) -> None:
    sources = [analyze(s.text) for p in (ICE, CALF) for s in p.sentences]
    assert contradiction(analyze(sentence), sources)


@pytest.mark.parametrize(
    "sentence",
    [
        "Icing your knee each evening will not make you recover faster.",
        "Keep squat pain at 2/10 or less early on.",
        "Squat pain of 1/10 is fine during the first month.",
        "Begin with 8-10 slow squats.",
        "Calf raises strengthen the Achilles tendon.",
        "Rest on its own won't cure Achilles pain, but calf raises build strength.",
        "Calf raises will help your recovery.",  # the negation about "rest" is about something else
        "Patellar tendinopathy is common in runners.",
    ],
)
def test_agreeing_or_unrelated_statements_pass(sentence: str) -> None:
    sources = [analyze(s.text) for p in (ICE, CALF) for s in p.sentences]
    assert contradiction(analyze(sentence), sources) == ""


def test_a_bare_yes_or_no_is_judged_as_the_questions_proposition() -> None:
    guard = MeaningGuard("Does icing the knee every evening speed up recovery?")
    assert guard("Yes. [1]", [ICE])
    assert guard("No [1].", [ICE]) == ""
    guard = MeaningGuard("Is 5/10 squat pain ok in the first month?")
    assert "5/10" in guard("Yes.", [ICE])
    # "No." denies what a cited sentence affirms: caught as well (it used to pass, its negation
    # having no cue to attribute it to)
    guard = MeaningGuard("Do calf raises build the strength the Achilles tendon needs?")
    assert "negates" in guard("No. [2]", [CALF])
    assert MeaningGuard("Will rest alone cure Achilles pain?")("No [2].", [CALF]) == ""
    assert bare_answer("Yes, within limits.") == ""


def test_superseded_advice_is_removed_unless_denied_or_attributed() -> None:
    assert superseded("Shockwave therapy helps tendon pain [1].", [NOTE])
    assert superseded("Taping the leg is a good idea.", [NOTE])
    assert superseded("Shockwave will not fix it [1].", [NOTE]) == ""
    assert superseded("The older article recommended taping.", [NOTE]) == ""
    guard = MeaningGuard("Does shockwave help?", [NOTE])
    assert guard("Yes.", [CALF])
    assert guard("No.", [CALF]) == ""


def test_verifier_removes_a_contradicting_sentence_and_says_so() -> None:
    guard = MeaningGuard("How should I start squats?")
    answer = ("Start with 8-10 reps of slow squats [1]. Squat pain of 4/10 is fine [1]. "
              "Calf raises build strength for the Achilles tendon [2].")
    v = verify_citations(answer, [ICE, CALF], guard=guard)
    assert "4/10" not in v.text
    assert v.text.startswith("Start with 8-10 reps of slow squats [1].")
    assert any("contradicted" in n and "4/10" in n for n in v.notices)


def test_a_contradicted_main_statement_makes_the_answer_fall_back() -> None:
    guard = MeaningGuard("Does icing the knee help?")
    with pytest.raises(LLMError, match="contradicts"):
        verify_citations("Yes. Icing the knee every evening speeds up recovery [1].", [ICE], guard=guard)
    with pytest.raises(LLMError, match="contradicted"):
        verify_citations(
            "Start with 8-10 reps [1]. Squat pain of 4/10 is fine [1]. Resting alone cures it [2].",
            [ICE, CALF], guard=MeaningGuard("How do I start?"),
        )


def test_the_streamed_pieces_equal_the_final_text() -> None:
    verifier = verify_mod.Verifier([ICE, CALF], "flag", MeaningGuard("How do I start squats?"))
    shown = [
        verifier.add("Calf raises build strength [2].", ""),
        verifier.add("Squat pain of 6/10 is fine [1].", " "),
        verifier.add("Start with 8-10 reps of slow squats [1].", " "),
    ]
    final = verifier.finish()
    assert shown[1] is None
    assert "".join(s for s in shown if s) == final.text
    assert final.text == "Calf raises build strength [1]. Start with 8-10 reps of slow squats [2]."
