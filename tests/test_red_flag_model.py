"""The red-flag gate's learned layer: pure decisions, file handling, how the gate asks it, and
what the shipped model does on the held-out sentence split (real embedding model)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

from assistant.gate_data import DATA_DIR
from assistant.gates.check import check_question
from assistant.gates.red_flag_model import (
    RULE_FEATURES,
    Neighbours,
    RedFlagModel,
    features,
    load_red_flag_model,
    neighbours_file,
    save_red_flag_model,
    sentences,
)
from assistant.gates.red_flags import RedFlag, check_red_flag, default_rules


def _model(threshold: float = 0.5) -> RedFlagModel:
    # one row per flag: "nerve" fires along the second axis, "sudden_pop" along the third; the
    # first axis alone (an ordinary sentence) fires neither
    rules = np.zeros((2, len(RULE_FEATURES)))
    weights = np.hstack([np.array([[0.0, 8.0, 0.0], [0.0, 0.0, 8.0]]), rules])
    return RedFlagModel(weights, np.array([-4.0, -4.0]), threshold, ("nerve", "sudden_pop"),
                        "fp-1", confirm=0.3)


def test_detect_picks_the_most_likely_sentence_and_its_most_likely_flag() -> None:
    m = _model()
    texts = ["ran a 10k", "it zings down my leg", "then a snap"]
    vecs = np.array([[1.0, 0.0, 0.0], [0.1, 0.7, 0.0], [0.1, 0.2, 0.9]])
    hit = m.detect(texts, vecs)
    assert hit is not None and hit.sentence == "then a snap" and hit.flag == "sudden_pop"
    by_flag = m.flag_probabilities(features(texts, vecs))
    assert by_flag.shape == (3, 2) and np.allclose(m.probability(features(texts, vecs)), by_flag.max(axis=1))
    assert m.detect(texts[:2], vecs[:2]).flag == "nerve"  # type: ignore[union-attr]
    assert m.detect(texts[:1], vecs[:1]) is None  # below the threshold
    assert _model(threshold=0.999).detect(texts, vecs) is None
    assert m.detect([], np.zeros((0, 3))) is None


def test_save_and_load_round_trip_and_refuse_another_embedder(tmp_path: Path) -> None:
    known = default_rules().flag_ids()
    path = save_red_flag_model(_model(), tmp_path / "m.json")
    back = load_red_flag_model("fp-1", known, path)
    assert back is not None and back.flags == ("nerve", "sudden_pop")
    assert np.allclose(back.weights, _model().weights) and np.allclose(back.bias, [-4.0, -4.0])
    assert back.confirm == 0.3 and back.weights.shape == (2, 3 + len(RULE_FEATURES))

    def off(model: RedFlagModel) -> bool:  # the rules alone: no weights, confirms every hit
        return model.weights.size == 0 and model.confirm == 0.0 and model.threshold > 1.0

    assert not off(back)
    assert off(load_red_flag_model("another-model", known, path))
    assert off(load_red_flag_model("fp-1", ("nerve",), path))  # a flag with no message
    assert off(load_red_flag_model("fp-1", known, tmp_path / "missing.json"))
    other = {**json.loads(path.read_text(encoding="utf-8")), "features": ["embedding"]}
    saved = json.loads(path.read_text(encoding="utf-8"))
    one_row = {**saved, "weights": saved["weights"][:1]}  # a flag without its row
    flat = {**saved, "weights": saved["weights"][0], "bias": saved["bias"][0]}  # an older layout
    nan = json.dumps({**saved, "confirm": float("nan")})  # json writes NaN; it would veto every hit
    wild = {**saved, "threshold": 1.5}
    for bad in ("{not json", "[1, 2]", '{"weights": [1]}', json.dumps(other), json.dumps(one_row),
                json.dumps(flat), nan, json.dumps(wild)):
        (tmp_path / "bad.json").write_text(bad, encoding="utf-8")
        assert off(load_red_flag_model("fp-1", known, tmp_path / "bad.json"))


def _bank_model() -> RedFlagModel:
    # two flags' sentences and two quiet ones; only the closeness to "nerve" carries weight
    bank = Neighbours(np.array([[1.0, 0, 0], [0.8, 0.6, 0], [0, 1.0, 0], [0, 0, 1.0], [0, 0.6, 0.8]]),
                      ("nerve", "nerve", "sudden_pop", "", ""))
    weights = np.zeros((2, 3 + len(RULE_FEATURES) + 3))
    weights[0, -3] = 6.0  # P(nerve) rises with the closeness to the nerve sentences
    return RedFlagModel(weights, np.array([-6.0, -6.0]), 0.5, ("nerve", "sudden_pop"), "fp-1",
                        confirm=0.3, neighbours=bank)


def test_a_sentence_near_a_flags_training_sentences_reads_that_closeness() -> None:
    m = _bank_model()
    near, far = np.array([[0.9, 0.3, 0.0]]), np.array([[0.0, 0.0, 1.0]])
    x = m.features(["a", "b"], np.vstack([near, far]))
    assert x.shape == (2, 3 + len(RULE_FEATURES) + 3)
    closeness = x[:, -3:] / 2.0  # per flag in order, then the quiet sentences
    assert closeness[0, 0] > 0.85 and closeness[1, 0] < 0.3 and closeness[1, 2] > 0.6
    assert m.detect(["it zings down my leg"], near) is not None
    assert m.detect(["ran a 10k"], far) is None
    # in training a sentence of the bank is not its own neighbour
    own = m.neighbours.closeness(m.neighbours.vectors, m.flags, leave_out_self=True)  # type: ignore[union-attr]
    assert own[0, 0] < 1.0 and np.isclose(own[0, 0], 0.8)


def test_the_neighbour_bank_is_saved_beside_the_model_and_checked_on_load(tmp_path: Path) -> None:
    known = default_rules().flag_ids()
    path = save_red_flag_model(_bank_model(), tmp_path / "m.json")
    assert neighbours_file(path).exists()
    back = load_red_flag_model("fp-1", known, path)
    assert back.neighbours is not None and back.neighbours.labels == _bank_model().neighbours.labels  # type: ignore[union-attr]
    near = np.array([[0.9, 0.3, 0.0]])
    assert np.allclose(back.features(["a"], near), _bank_model().features(["a"], near), atol=1e-3)

    def off(model: RedFlagModel) -> bool:
        return model.weights.size == 0 and model.threshold > 1.0

    bank = neighbours_file(path)
    good = bank.read_bytes()
    for broken in (b"", b"not a zip file", good[: len(good) // 2]):
        bank.write_bytes(broken)
        assert off(load_red_flag_model("fp-1", known, path))
    bank.unlink()
    assert off(load_red_flag_model("fp-1", known, path))
    # a bank whose size does not fit the weights, or with a label no model has
    for vectors, labels in ((np.eye(4), ("nerve", "", "", "")), (np.eye(3), ("nerve", "pop?", "")),
                            (np.float16(1.0), ("nerve",)), (np.eye(3), "nerve")):
        with bank.open("wb") as fh:
            np.savez_compressed(fh, vectors=vectors.astype(np.float16), labels=np.array(labels))
        assert off(load_red_flag_model("fp-1", known, path))


def test_a_tentative_rule_hit_is_confirmed_or_vetoed_by_its_sentence() -> None:
    m = _model(threshold=0.99)  # high: the layer alone adds nothing here
    texts = ["Long run on Sunday, 20 km.", "I snapped at my kids afterwards."]
    assert check_red_flag(" ".join(texts)) is None  # the rules don't decide "snapped"
    assert [f.flag for f in default_rules().tentative(" ".join(texts))] == ["sudden_pop"]
    low = np.array([[1.0, 0.0, 0.0], [0.0, 0.1, 0.1]])  # P = 0.04: vetoed
    assert m.detect(texts, low) is None
    # P(nerve) = 0.69 >= confirm 0.3: any flag's model confirms, the rule names the flag
    high = np.array([[1.0, 0.0, 0.0], [0.0, 0.6, 0.1]])
    hit = m.detect(texts, high)
    assert hit is not None and (hit.flag, hit.sentence) == ("sudden_pop", texts[1])


def test_the_rules_alone_confirm_every_tentative_hit_and_add_nothing() -> None:
    rules_only = RedFlagModel.rules_only()
    text = "Mid-race it tore, right at the top of my leg"
    assert [f.flag for f in default_rules().tentative(text)] == ["sudden_pop"]  # not decided
    hit = rules_only.detect([text], np.zeros((1, 3)))
    assert hit is not None and hit.flag == "sudden_pop"
    assert rules_only.detect(["My butt aches after long runs"], np.zeros((1, 3))) is None


def test_features_are_the_embedding_then_the_rule_layer_partial_matches() -> None:
    texts = ["My brother's leg went numb", "my hamstring hurt, a 7ish at the finish", "No numbness"]
    x = features(texts, np.ones((3, 4)))
    assert x.shape == (3, 4 + len(RULE_FEATURES)) and (x[:, :4] == 1).all()
    named = [dict(zip(RULE_FEATURES, row[4:] > 0, strict=True)) for row in x]
    assert named[0]["tentative"] and named[0]["someone_else"] and not named[0]["decided"]
    assert named[1]["pain_number_high"] and not named[1]["decided"]
    assert named[2]["negated"] and not named[2]["tentative"]


def test_sentences_never_drop_a_short_fragment() -> None:
    assert sentences("ouch") == ["ouch"]
    assert sentences("   ") == []
    assert sentences("I ran. It hurt a lot; now I limp badly") == ["I ran. It hurt a lot;", "now I limp badly"]
    got = sentences("I ran 10k today with my club. Then pop. Now limping badly. Leg numb.")
    assert got == ["I ran 10k today with my club.", "Then pop. Now limping badly. Leg numb."]


def test_the_layer_adds_escalations_and_urgency_but_never_removes_or_lowers_them() -> None:
    asked: list[str] = []

    def layer(flag: str) -> Callable[[str], RedFlag | None]:
        def second(text: str) -> RedFlag | None:
            asked.append(text)
            return default_rules().flag(flag, text)
        return second

    # the rules decide a see-a-clinician flag: the layer is asked, its see-a-clinician flag ignored
    got = check_question("Pain is 7 out of 10 when I run", second_opinion=layer("nerve"))
    assert got.status == "red_flag" and got.red_flag and got.red_flag.flag == "pain_over_5"
    assert asked == ["Pain is 7 out of 10 when I run"]
    # ...and its urgent flag taken: the answer says urgent care
    got = check_question("Pain is 7 out of 10 when I run", second_opinion=layer("bladder_bowel"))
    assert got.red_flag and got.red_flag.flag == "bladder_bowel" and got.red_flag.severity == "urgent"
    # an urgent rule flag is not second-guessed
    asked.clear()
    got = check_question("I felt a pop and can barely walk", second_opinion=layer("nerve"))
    assert got.red_flag and got.red_flag.severity == "urgent" and asked == []
    # nothing from the rules: the layer's flag is the answer's
    got = check_question("My butt aches after long runs", second_opinion=layer("nerve"))
    assert got.status == "red_flag" and got.red_flag and got.red_flag.flag == "nerve"
    assert got.message == default_rules().flag("nerve", "x").message
    assert asked == ["My butt aches after long runs"]
    got = check_question("Pain is 7 out of 10 when I run", second_opinion=lambda _t: None)
    assert got.red_flag and got.red_flag.flag == "pain_over_5"  # the layer never removes one
    assert check_question("My butt aches after long runs", second_opinion=lambda _t: None).status is None


def test_flag_messages_exist_for_every_flag_the_layer_can_report() -> None:
    data = yaml.safe_load((DATA_DIR / "red_flag_sentences.yaml").read_text(encoding="utf-8"))
    shipped = json.loads((DATA_DIR / "red_flag_model.json").read_text(encoding="utf-8"))
    for fid in {s["flag"] for s in data["sentences"] if s["flag"]} | set(shipped["flags"]):
        flag = default_rules().flag(fid, "evidence")
        assert flag.flag == fid and flag.message.strip()


@pytest.mark.model
def test_the_assistant_escalates_when_its_layer_fires(real_index, real_embedder) -> None:
    from assistant.service import build_assistant

    assistant = build_assistant(real_index, embedder=real_embedder, backend="extractive")
    question = "My hamstring has been grumbling after long runs lately."
    assistant.red_flag_model = None
    assert assistant.ask(question).status == "answered"
    dim = len(real_embedder.embed(["x"])[0])
    weights = np.zeros((1, dim + len(RULE_FEATURES)))
    assistant.red_flag_model = RedFlagModel(weights, np.array([10.0]), 0.5, ("nerve",), "any")
    answer = assistant.ask(question)
    assert answer.status == "red_flag"
    assert answer.answer.startswith(default_rules().flag("nerve", "x").message[:40])


@pytest.mark.model
def test_shipped_layer_beats_the_rules_alone_on_held_out_sentences(real_embedder) -> None:
    model = load_red_flag_model(real_embedder.fingerprint(), default_rules().flag_ids())
    assert model.weights.size, "run `pht train-red-flags` for this embedding model"
    data = yaml.safe_load((DATA_DIR / "red_flag_sentences.yaml").read_text(encoding="utf-8"))
    test = [s for s in data["sentences"] if s["split"] == "test"]
    truth = np.array([s["flag"] is not None for s in test])
    old_rules = np.array([bool(default_rules().detect_all(s["text"])) for s in test])
    rules = np.array([check_red_flag(s["text"]) is not None for s in test])
    gate = rules | np.array([
        model.detect(sentences(s["text"]), real_embedder.embed(sentences(s["text"]))) is not None
        for s in test
    ])
    recall = lambda fired: (fired & truth).sum() / truth.sum()  # noqa: E731
    false_alarms = lambda fired: (fired & ~truth).sum()  # noqa: E731
    assert recall(gate) >= recall(old_rules) + 0.08  # every rule hit firing, as before the layer
    assert false_alarms(gate) <= false_alarms(old_rules)
