"""The red-flag gate's learned layer: pure decisions, file handling, how the gate asks it, and
what the shipped model does on the held-out sentence split (real embedding model)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from assistant.gate_data import DATA_DIR
from assistant.gates.check import check_question
from assistant.gates.red_flag_model import (
    RedFlagModel,
    centroids,
    load_red_flag_model,
    save_red_flag_model,
    sentences,
)
from assistant.gates.red_flags import RedFlag, check_red_flag, default_rules


def _model(threshold: float = 0.5) -> RedFlagModel:
    # fires on vectors pointing along the first axis; flags told apart by the second/third axes
    flags, cents = centroids(np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]), ["nerve", "sudden_pop"])
    return RedFlagModel(np.array([8.0, 0.0, 0.0]), -4.0, threshold, flags, cents, "fp-1")


def test_detect_picks_the_most_likely_sentence_and_the_nearest_flag() -> None:
    m = _model()
    texts = ["ran a 10k", "it zings down my leg", "then a snap"]
    vecs = np.array([[0.0, 1.0, 0.0], [0.9, 0.3, 0.0], [0.95, 0.0, 0.3]])
    hit = m.detect(texts, vecs)
    assert hit is not None and hit.sentence == "then a snap" and hit.flag == "sudden_pop"
    assert m.detect(texts[:1], vecs[:1]) is None  # below the threshold
    assert _model(threshold=0.999).detect(texts, vecs) is None
    assert m.detect([], np.zeros((0, 3))) is None


def test_save_and_load_round_trip_and_refuse_another_embedder(tmp_path: Path) -> None:
    known = default_rules().flag_ids()
    path = save_red_flag_model(_model(), tmp_path / "m.json")
    back = load_red_flag_model("fp-1", known, path)
    assert back is not None and back.flags == ("nerve", "sudden_pop")
    assert np.allclose(back.centroids, _model().centroids, atol=1e-6)
    assert load_red_flag_model("another-model", known, path) is None
    assert load_red_flag_model("fp-1", ("nerve",), path) is None  # a flag with no message
    assert load_red_flag_model("fp-1", known, tmp_path / "missing.json") is None
    for bad in ("{not json", "[1, 2]", '{"weights": [1]}'):
        (tmp_path / "bad.json").write_text(bad, encoding="utf-8")
        assert load_red_flag_model("fp-1", known, tmp_path / "bad.json") is None


def test_sentences_never_drop_a_short_fragment() -> None:
    assert sentences("ouch") == ["ouch"]
    assert sentences("   ") == []
    assert sentences("I ran. It hurt a lot; now I limp badly") == ["I ran. It hurt a lot;", "now I limp badly"]
    got = sentences("I ran 10k today with my club. Then pop. Now limping badly. Leg numb.")
    assert got == ["I ran 10k today with my club.", "Then pop. Now limping badly. Leg numb."]


def test_the_gate_asks_the_layer_only_when_the_rules_find_nothing() -> None:
    asked: list[str] = []

    def layer(text: str) -> RedFlag | None:
        asked.append(text)
        return default_rules().flag("nerve", text)

    got = check_question("Pain is 7 out of 10 when I run", second_opinion=layer)
    assert got.status == "red_flag" and got.red_flag and got.red_flag.flag == "pain_over_5"
    assert asked == []  # the rules decided
    got = check_question("My butt aches after long runs", second_opinion=layer)
    assert got.status == "red_flag" and got.red_flag and got.red_flag.flag == "nerve"
    assert got.message == default_rules().flag("nerve", "x").message
    assert asked == ["My butt aches after long runs"]
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
    flags, cents = centroids(np.eye(dim)[:1], ["nerve"])
    assistant.red_flag_model = RedFlagModel(np.zeros(dim), 10.0, 0.5, flags, cents, "any")
    answer = assistant.ask(question)
    assert answer.status == "red_flag"
    assert answer.answer.startswith(default_rules().flag("nerve", "x").message[:40])


@pytest.mark.model
def test_shipped_layer_adds_recall_on_held_out_sentences_with_at_most_one_more_false_alarm(real_embedder) -> None:
    model = load_red_flag_model(real_embedder.fingerprint(), default_rules().flag_ids())
    assert model is not None, "run `pht train-red-flags` for this embedding model"
    data = yaml.safe_load((DATA_DIR / "red_flag_sentences.yaml").read_text(encoding="utf-8"))
    test = [s for s in data["sentences"] if s["split"] == "test"]
    truth = np.array([s["flag"] is not None for s in test])
    rules = np.array([check_red_flag(s["text"]) is not None for s in test])
    layer = model.probability(real_embedder.embed([s["text"] for s in test])) >= model.threshold
    both = rules | layer
    recall = lambda fired: (fired & truth).sum() / truth.sum()  # noqa: E731
    false_alarms = lambda fired: (fired & ~truth).sum()  # noqa: E731
    assert recall(both) >= recall(rules) + 0.08
    assert false_alarms(both) <= false_alarms(rules) + 1
