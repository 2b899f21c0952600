"""The shared negation scopes (core/meaning/negation.py) as both of their users see them.

The claim matcher (evals) judges *statements*; the runtime check (core/meaning/check.py) guards
generated *advice*. A prohibition ("avoid X") is advice about the reader's action: to the
matcher it is not a denial that X happens, to the runtime check it is the opposite of advice to
do X. Sentences are held-out paraphrases about other injuries (not the corpus).
"""

from __future__ import annotations

import pytest

from core.meaning.check import analyze, contradiction
from core.meaning.negation import find_cues
from core.meaning.normalize import normalize, tokenize
from evals.dataset import Claim
from evals.matcher import Label, match_claim

OVERUSE = Claim.model_validate(
    {
        "id": "calf-overuse",
        "text": "Many runners overuse their calves instead of their glutes.",
        "weight": "okay",
        "polarity": "affirm",
        "concepts": [["calf", "calves"], ["overus*", "do too much"]],
        "support": {"source": "corpus/understanding-pht-with-running.txt", "anchor": "placeholder"},
    }
)


@pytest.mark.parametrize(
    "sentence",
    [
        "The key is to strengthen your calves and avoid overuse.",
        "Avoid overusing your calves.",
        "Steer clear of overusing the calves early on.",
    ],
)
def test_a_prohibition_is_not_a_denial_to_the_claim_matcher(sentence: str) -> None:
    assert match_claim(OVERUSE, sentence).label is not Label.CONTRADICTED


def test_a_real_denial_still_contradicts_the_claim() -> None:
    verdict = match_claim(OVERUSE, "Runners do not overuse their calves.")
    assert verdict.label is Label.CONTRADICTED


def test_a_prohibition_is_the_opposite_of_advice_at_run_time() -> None:
    source = analyze("Loading the Achilles tendon with calf raises is the key to recovery.")
    said = analyze("Avoid loading the Achilles tendon with calf raises during recovery.")
    assert said.polarity_of("@load") == -1
    assert contradiction(said, [source])


def test_a_prohibition_scopes_forward_only_and_stops_at_the_clause() -> None:
    toks = tokenize(normalize("Strengthen your calves and avoid overuse, then run."))
    words = [t.text for t in toks]
    (cue,) = find_cues(toks, prohibitions="negate")
    assert [w for i, w in enumerate(words) if cue.covers(i)] == ["overuse"]
