"""The short "no" lead of a yes/no ask: only when a quoted sentence states it (pure)."""

from __future__ import annotations

import pytest

from assistant.answering.verdict import is_yes_no, verdict

STRETCH = "Most of the runners I see with this condition have already tried hamstring stretching and it does not help."
PASSIVE = ("Passive treatments whether injections or modalities are not going to be the fix for "
           "this treatment or this problem.")
SITTING_GUIDE = ("Pain with sitting as a guide on whether or not you should run or not run is not "
                 "reliable or predictive in my experience.")


@pytest.mark.parametrize(("ask", "quoted", "marker"), [
    ("Will stretching fix my high hamstring pain?", [(1, "Treatment depends on severity."), (2, STRETCH)], 2),
    ("Does stretching help PHT?", [(3, STRETCH)], 3),
    ("Will a cortisone injection fix PHT?", [(1, "Passive treatments won't work!"), (2, PASSIVE)], 2),
    ("Is sitting pain a reliable guide for whether to run?", [(4, SITTING_GUIDE)], 4),
    ("So is stretching the answer?", [(1, STRETCH)], 1),
    # "should I do X?" asks whether doing X helps
    ("Should I stretch my hamstrings?", [(2, STRETCH)], 2),
    ("Should I get a cortisone injection for my high hamstring pain?", [(1, PASSIVE)], 1),
    # relief asked, and the sentence speaks of the pain too
    ("Will stretching help the pain?", [(1, "Hamstring stretching does not help the pain.")], 1),
])
def test_a_quoted_sentence_stating_the_opposite_gives_a_no(
    ask: str, quoted: list[tuple[int, str]], marker: int,
) -> None:
    v = verdict(ask, quoted)
    assert v is not None and (v.answer, v.marker) == ("no", marker)


@pytest.mark.parametrize(("ask", "quoted"), [
    # the deciding sentence must name the subject itself, and all of it
    ("Does foam rolling help PHT?", [(1, "Passive treatments won't work!"), (2, PASSIVE)]),
    ("Does foam rolling fix PHT?", [(2, PASSIVE)]),  # "fix" is the effect, not the subject
    # "the problem" names no subject: the sentence naming it does not name foam rolling
    ("Does foam rolling help the problem?", [(2, PASSIVE)]),
    ("Will dry needling fix the problem?", [(2, PASSIVE)]),
    ("Will PRP fix this problem?", [(2, PASSIVE)]),
    ("Will it fix the problem?", [(2, PASSIVE)]),
    # the sentence must deny the effect asked about, not another word the two share
    ("Should I use my glute muscles more?", [(1, "Many runners have dominant hamstrings meaning "
     "they are overusing the hamstrings instead of using the bigger more powerful muscle.")]),
    ("Should I stress my tendon correctly in training?", [(1, "The tendon hasn't been stressed "
     "correctly during your training and it doesn't have the resilience to tolerate running.")]),
    # ...and name the subject before the denial, as what it is about
    ("Should I run today?", [(1, "What your dad did back in the day does not help today.")]),
    ("Does hill running help?", [(1, "Flat running does not help on hills.")]),
    # "a guide" names no subject: sitting pain being no guide says nothing of pain in general
    ("Is pain a reliable guide?", [(4, SITTING_GUIDE)]),
    ("Is running pain a reliable guide?", [(4, SITTING_GUIDE)]),
    # a question about the reader, not whether something helps
    ("Has my tendon been stressed correctly?",
     [(1, "The tendon hasn't been stressed correctly during your training.")]),
    ("Does dynamic stretching help?", [(1, STRETCH)]),
    ("Should I stretch after my run?", [(1, STRETCH)]),  # nothing quoted is about "after a run"
    # whether something helps the pain is not whether it fixes the problem
    ("Will injections help the pain?", [(1, PASSIVE)]),
    ("Will injections help my hamstring pain?", [(1, PASSIVE)]),
    ("Will a cortisone injection help with my high hamstring pain?", [(1, PASSIVE)]),
    ("Will injections help my proximal hamstring tendinopathy pain?", [(1, PASSIVE)]),
    ("Would injections help with the ache?", [(1, PASSIVE)]),
    ("Will stretching help the soreness?", [(1, STRETCH)]),
    # a condition or a time limit decides nothing
    ("Will my sitting pain go away?", [(1, "Don't be afraid if the pain with sitting is not going away initially.")]),
    ("Does stretching help PHT?", [(1, "If you stretch too early, stretching does not help PHT.")]),
    ("Does stretching help PHT?", [(1, "Stretching usually does not help PHT.")]),
    # a quoted sentence stating the proposition itself: the quotes disagree, no lead
    ("Is stretching the answer for PHT?", [(1, STRETCH), (2, "Stretching is the answer.")]),
    # not a plain affirmative yes/no question
    ("Is it PHT or sciatica?", [(1, STRETCH)]),
    ("Does stretching help or hurt PHT?", [(1, STRETCH)]),  # a choice, not a yes/no
    ("Is stretching not the answer?", [(1, "Stretching is the answer to PHT.")]),
    ("Is stretching not the answer?", [(1, STRETCH)]),
    ("Why doesn't stretching help?", [(1, STRETCH)]),
    # nothing quoted says the opposite
    ("Will strengthening help my tendon?", [(1, STRETCH)]),
    ("Does stretching help PHT?", []),
])
def test_no_lead_when_the_quotes_do_not_state_it(ask: str, quoted: list[tuple[int, str]]) -> None:
    assert verdict(ask, quoted) is None


def test_yes_no_questions_open_with_their_verb() -> None:
    assert is_yes_no("Should I keep running?") and is_yes_no("and does it help?")
    assert not is_yes_no("What helps?") and not is_yes_no("Does it help.")
