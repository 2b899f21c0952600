"""Scope gate: lexicon features, calibration rule, evaluation, persistence, fail-open.

The similarity feature comes from ``FakeEmbedder`` over paragraphs of the real corpus,
computed here the way the service computes it (best cosine to the content chunks).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from assistant.gates.scope import (
    ScopeCalibration,
    ScopeFeatures,
    ScopeGate,
    ScopeWeights,
    calibrate,
    evaluate,
    load_calibration,
    save_calibration,
)
from assistant.gates.scope_model import (
    LEX_FEATURES,
    ScopeModel,
    load_scope_model,
    save_scope_model,
)
from core.errors import ConfigError
from tests.conftest import CORPUS
from tests.fakes import FakeEmbedder

IN_SCOPE = [
    "What is proximal hamstring tendinopathy?",
    "Why does my butt hurt when I sit after running?",
    "Can I keep running with high hamstring pain?",
    "Should I stretch my hamstrings if they hurt?",
    "How long does sitting pain take to go away?",
    "Do injections help PHT?",
    "What exercises strengthen the hamstring tendon?",
    "Is foam rolling good for hamstring tendonitis?",
    "When can I add hills and speed work back?",
    "What causes pain at the sit bone in runners?",
    "Are eccentric exercises good for tendons?",
    "How much pain is ok during nordic curls?",
    "Why do my glutes matter for hamstring pain?",
    "What does PHT feel like?",
    "Is dry needling worth it for hamstring tendinopathy?",
    "Can sitting on hard chairs make my hamstring worse?",
]
OUT_OF_SCOPE = [
    "What running shoes have the best heel drop?",
    "Can you give me a marathon training plan?",
    "How do I treat plantar fasciitis?",
    "What is the best diet for weight loss?",
    "How long is recovery after a knee replacement?",
    "How do I fix IT band syndrome?",
    "What pace should I run my half marathon?",
    "How do I run in heat and humidity?",
    "What is the capital of France?",
    "Write me a poem about cats",
    "How do I treat a sprained ankle?",
    "Is creatine safe for teenagers?",
    "What's the weather tomorrow?",
    "How do I fix my Python code?",
    "Best exercises for shoulder pain?",
    "Can you recommend achilles tendon exercises?",
]


@pytest.fixture(scope="module")
def max_sim():  # type: ignore[no-untyped-def]
    embedder = FakeEmbedder()
    paragraphs = [
        p
        for f in sorted(CORPUS.glob("*.txt"))
        for p in re.split(r"\n\s*\n", f.read_text("utf-8"))
        if len(p) > 250
    ]
    chunks = embedder.embed(paragraphs)

    def sim(question: str) -> float:
        return float(np.max(chunks @ embedder.embed([question])[0]))

    return sim


@pytest.fixture(scope="module")
def splits(max_sim):  # type: ignore[no-untyped-def]
    gate = ScopeGate()
    rows = [(gate.features(q, max_sim(q)), True) for q in IN_SCOPE]
    rows += [(gate.features(q, max_sim(q)), False) for q in OUT_OF_SCOPE]
    return rows[0::2], rows[1::2]  # calibration split, test split (both classes in each)


def test_lexicon_features_count_distinct_terms() -> None:
    f = ScopeGate().features("Hamstring tendinopathy or plantar fasciitis, which shoes?", 0.3)
    assert f.max_sim == 0.3 and f.strong == 2 and f.out == 2


def test_the_runners_abbreviations_name_the_topic() -> None:
    # "hht: stretch or no stretch" was refused: high hamstring tendinopathy as forums shorten it
    assert ScopeGate().features("hht: stretch or no stretch", 0.2).strong == 1
    assert ScopeGate().features("pht: stretch or no stretch", 0.2).strong == 1
    # the articles' exercises count in the plural too ("keep doing the fire hydrants?")
    assert ScopeGate().features("fire hydrants or nordics during race week?", 0.2).strong == 2


def test_a_surgical_repair_told_as_a_verb_is_a_neighbour_word() -> None:
    ask = "if I get it surgically repaired one day, how long before I could run again?"
    assert ScopeGate().features("Why does sitting hurt with PHT? " + ask, 0.4, ask).out == 1


def test_nutrition_questions_name_a_neighbour_topic() -> None:
    ask = "How many grams of protein a day, and does vitamin C help a tendon heal?"
    assert ScopeGate().features(ask, 0.4).out == 2


def test_running_while_pregnant_is_a_neighbour_topic() -> None:
    ask = "Is it safe to keep running and doing nordics while pregnant?"
    assert ScopeGate().features(ask, 0.4).out == 1


def test_doses_and_drug_names_are_other_domain_words_in_the_ask_only() -> None:
    gate = ScopeGate()
    ask = "Can I take 150mg of pregabalin before a long run?"
    story = "My GP gave me pregabalin 75 mg for the hamstring tendinopathy."
    assert gate.features(f"{story} {ask}", 0.3, ask=ask).out == 2  # "150mg", "pregabalin"
    assert gate.features(f"{story} Should I keep running?", 0.3,
                         ask="Should I keep running?").out == 0  # named in the story only
    for covered in ("Is 3/10 pain ok in 3 sets of 15 reps?", "Will a cortisone injection fix it?",
                    "Does it hurt in April, after 10 miles or a 5 min warm-up?"):
        assert gate.features(covered, 0.3).out == 0, covered


@pytest.mark.parametrize(
    ("message", "elsewhere"),
    [
        ("The outside of my knee hurts at 8k on every run. What do you think it is?", 1),
        ("Off topic: my jaw aches every morning. Can running with my teeth clenched do that?", 1),
        ("Stitch under my ribs after 5k, every run. What causes it?", 1),
        ("Lower back stiff every morning since the marathon. Any ideas?", 1),
        # the PHT region named too: the story is about it, whatever else it mentions
        ("Sit bone pain, and sometimes it spreads towards the back of my knee. Is that PHT?", 0),
        ("Knees and ankles are fine, it's the deep ache in my left buttock. Should I rest?", 0),
        # idioms and plain running words are no body part
        ("On the other hand, I'm back on my feet and running again. Can I race?", 0),
        ("How many sets of nordics should I do?", 0),
        # the rehab or the topic named beside another body part: about PHT
        ("Is the bent-knee bridge or the straight-leg bridge better for me?", 0),
        ("Should I do bridges with my heels on a chair or on the floor?", 0),
        ("Is the knee-to-chest stretch OK for my tendon?", 0),
        ("Could my pain be coming from my lower back instead of the tendon?", 0),
        ("My knee doesn't hurt, just the tendon at the top of my leg. Should I rest?", 0),
        ("Deep ache where I sit, sometimes behind the knee too.", 0),
        # the other end of the hamstring tendon, which the articles cover
        ("An ache and a bit of swelling at the back of my knee after runs. Why?", 0),
        ("Pain behind my knee when I run downhill, what is it?", 0),
        ("Can I still do nordics if my knee clicks a bit?", 0),
        # a body part named with no complaint of its own
        ("Should I ice it? I usually ice my knees after long runs.", 0),
        # sitting, or a tendon another part owns, is no word of the PHT region
        ("My knee hurts when I sit for a long time. Why?", 1),
        ("What is causing my Achilles tendon pain on long runs?", 1),
    ],
)
def test_a_message_about_another_body_part_is_marked_elsewhere(message: str, elsewhere: int) -> None:
    assert ScopeGate().features(message, 0.4).elsewhere == elsewhere


@pytest.mark.parametrize(
    ("message", "left"),
    [
        # the writer sets the topic aside: judged without those words
        ("Not hamstring related: I've got a blister on my heel, should I pop it?",
         "I've got a blister on my heel, should I pop it?"),
        ("Unrelated to my PHT, but is a recovery drink worth it?", "but is a recovery drink worth it?"),
        ("This isn\u2019t about the tendon thing: can I run with a cold?", "This is: can I run with a cold?"),
        ("I don't think it has anything to do with my hamstring, it's at the sit bone.",
         "I do, it's at the sit bone."),
        # a question about the link, or nothing denied: unchanged
        ("Is my knee pain not related to my hamstring?", None),
        ("Could it be nothing to do with the tendon?", None),
        ("Not sure it's the hamstring at all, it's a deep ache in my butt. Could it be PHT?", None),
        ("Is it not about strength, then?", None),
        # a neighbour said not to be needed: the message asks what to do instead
        ("The surgeon said surgery isn't needed for my PHT, so what exercises should I do?",
         "The surgeon said for my PHT, so what exercises should I do?"),
        ("My physio said there's no need for a scan. How many sets?", "My physio said there's. How many sets?"),
        ("Is an MRI not needed for PHT?", None),
        ("Could this be nothing to do with my hamstring, maybe my back instead?", None),
        ("I don't need surgery on my hamstring tendon, do I?", None),
        # uncertainty is no denial
        ("I'm not sure it is to do with my hamstring, the pain is lower down. What is it?", None),
        # too little would be left
        ("Nothing to do with PHT.", None),
    ],
)
def test_words_that_set_the_topic_aside_are_not_scope_evidence(message: str, left: str | None) -> None:
    assert ScopeGate().without_denied_topic(message) == (message if left is None else left)


def test_another_body_part_lowers_the_score() -> None:
    w = ScopeGate().weights
    assert w.score(ScopeFeatures(0.4, weak=2, elsewhere=1)) < w.score(ScopeFeatures(0.4, weak=2))


def test_a_scope_model_for_another_input_layout_is_not_used(tmp_path: Path) -> None:
    model = ScopeModel(np.zeros(3), 0.0, 0.5, "fake-embedder")
    path = save_scope_model(model, tmp_path / "scope_model.json")
    assert load_scope_model("fake-embedder", path) is not None
    data = json.loads(path.read_text("utf-8"))
    data["lex_features"] = LEX_FEATURES - 1  # trained before a feature was added
    path.write_text(json.dumps(data), "utf-8")
    assert load_scope_model("fake-embedder", path) is None
    assert load_scope_model("another-embedder", path) is None
    # the weights must fit the embedder's vectors; an unreadable file is no model, not an error
    ok = save_scope_model(ScopeModel(np.zeros(2 * 3 + LEX_FEATURES), 0.0, 0.5, "e"), tmp_path / "m")
    assert load_scope_model("e", ok, dimension=3) is not None
    assert load_scope_model("e", ok, dimension=4) is None
    nan = '{"embedder": "e", "weights": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "bias": NaN, "threshold": 0.5}'
    wild = '{"embedder": "e", "weights": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "bias": 0, "threshold": 2}'
    for bad in ("[1, 2]", '{"embedder": "e"}', '{"embedder": "e", "weights": "x", "bias": 0}', "{",
                nan, wild):
        ok.write_text(bad, "utf-8")
        assert load_scope_model("e", ok) is None, bad


def test_out_of_domain_terms_lower_the_score() -> None:
    w = ScopeGate().weights
    base = ScopeFeatures(0.4, strong=1)
    assert w.score(ScopeFeatures(0.4, strong=1, out=1)) < w.score(base)
    assert w.score(ScopeFeatures(0.5, strong=1)) > w.score(base)


def test_calibrate_then_evaluate_on_held_out_split(splits) -> None:  # type: ignore[no-untyped-def]
    cal_split, test_split = splits
    weights = ScopeGate().weights
    cal = calibrate(cal_split, weights)
    assert cal.rule.startswith("max recall") and cal.metrics.precision >= 0.95
    assert evaluate(cal, cal_split) == cal.metrics
    test = evaluate(cal, test_split)
    print(f"\nscope (fake embedder): threshold={cal.threshold} cal={cal.metrics} test={test}")
    assert test.n == len(test_split)
    assert test.precision >= 0.95 and test.recall >= 0.7


def test_rule_prefers_recall_at_precision_then_lower_threshold() -> None:
    w = ScopeWeights(0.0, 0.0, 0.0, 2)
    # one in-scope question scores among the out-of-scope ones
    ex = [
        (ScopeFeatures(s), inside)
        for s, inside in [
            (0.1, False),
            (0.2, False),
            (0.25, True),
            (0.3, False),
            (0.6, True),
            (0.7, True),
        ]
    ]
    cal = calibrate(ex, w, min_precision=0.95)
    assert cal.threshold == 0.225 and cal.metrics.recall == pytest.approx(2 / 3, abs=1e-3)
    loose = calibrate(ex, w, min_precision=0.7)
    assert loose.threshold == 0.45 and loose.metrics.recall == 1.0 and loose.metrics.fp == 1


def test_max_f1_fallback_when_precision_unreachable() -> None:
    w = ScopeWeights(0.0, 0.0, 0.0, 2)
    ex = [
        (ScopeFeatures(s), inside)
        for s, inside in [(0.1, True), (0.2, False), (0.3, True), (0.4, False)]
    ]
    cal = calibrate(ex, w)
    assert cal.rule.startswith("max F1") and cal.metrics.f1 > 0


def test_calibrate_needs_both_classes() -> None:
    with pytest.raises(ConfigError):
        calibrate([(ScopeFeatures(0.5), True)], ScopeWeights(0.1, 0.0, 0.1, 2))


def test_decide_uses_calibrated_threshold(max_sim) -> None:  # type: ignore[no-untyped-def]
    gate = ScopeGate()
    cal = ScopeCalibration(0.3, _dummy_metrics(), gate.weights, "test", lexicon=gate.lexicon)
    gate = ScopeGate(calibration=cal)
    inside = gate.decide(
        "How long does sitting pain take to go away?",
        max_sim("How long does sitting pain take to go away?"),
    )
    outside = gate.decide(
        "How do I treat plantar fasciitis?", max_sim("How do I treat plantar fasciitis?")
    )
    assert inside.calibrated and inside.in_scope and inside.threshold == 0.3
    assert outside.calibrated and not outside.in_scope


def test_fails_open_without_or_with_stale_calibration() -> None:
    gate = ScopeGate()
    d = gate.decide("What is the capital of France?", 0.0)
    assert d.in_scope and not d.calibrated and "not calibrated" in d.reasons[0]
    cal = ScopeCalibration(
        0.3, _dummy_metrics(), gate.weights, "t", embedder="a", lexicon=gate.lexicon
    )
    stale = ScopeGate(calibration=cal, embedder="b").decide("What is the capital of France?", 0.0)
    assert stale.in_scope and not stale.calibrated and "embedder" in stale.reasons[0]
    other_lexicon = ScopeCalibration(0.3, _dummy_metrics(), gate.weights, "t", lexicon="old")
    d2 = ScopeGate(calibration=other_lexicon).decide("x", 0.0)
    assert not d2.calibrated and "lexicon" in d2.reasons[0]


def test_save_and_load_round_trip(tmp_path: Path, splits) -> None:  # type: ignore[no-untyped-def]
    cal = calibrate(splits[0], ScopeGate().weights, embedder="fake-hash-64", lexicon="abc")
    path = save_calibration(cal, tmp_path / "scope_calibration.yaml")
    assert path.read_text("utf-8").startswith("# Written by `pht calibrate-scope`")
    assert load_calibration(path) == cal
    assert load_calibration(tmp_path / "missing.yaml") is None
    (tmp_path / "bad.yaml").write_text("threshold: [", "utf-8")
    with pytest.raises(ConfigError):
        load_calibration(tmp_path / "bad.yaml")


def test_out_of_scope_reply_lists_example_questions() -> None:
    reply = ScopeGate().reply
    examples = [line for line in reply.splitlines() if line.startswith("- ")]
    assert "proximal hamstring tendinopathy" in reply and 3 <= len(examples) <= 4


def _dummy_metrics():  # type: ignore[no-untyped-def]
    from assistant.gates.scope import ScopeMetrics

    return ScopeMetrics(1.0, 1.0, 1.0, 1, 0, 0, 1)
