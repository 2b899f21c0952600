"""The red-flag layer's training sentences: known labels, and nothing the held-out sets hold.

The learned layer's held-out figures (`pht eval`: the sentence test split, the narrative test
and hard splits) mean something only while no training sentence repeats or near-repeats one of theirs;
batches written later by helpers and the team are checked here, not trusted."""

from __future__ import annotations

import re

import yaml

from assistant.gate_data import DATA_DIR
from assistant.gates.red_flag_model import sentences
from assistant.gates.red_flags import default_rules
from cli.train import _training_sentences
from evals.dataset import DATASETS


def _words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9']+", text.lower()))


def _near(a: frozenset[str], b: frozenset[str]) -> bool:
    """Most words shared (Jaccard >= 0.7): a copy with a word or two changed."""
    return bool(a and b) and len(a & b) / len(a | b) >= 0.7


def _held_out() -> list[str]:
    split = yaml.safe_load((DATA_DIR / "red_flag_sentences.yaml").read_text(encoding="utf-8"))
    stories = yaml.safe_load((DATASETS / "red_flag_narratives.yaml").read_text(encoding="utf-8"))
    return [str(s["text"]) for s in split["sentences"] if s["split"] == "test"] + [
        part for item in stories["items"] if item["split"] in ("test", "hard")
        for part in sentences(str(item["question"]))]


def test_training_labels_are_flags_the_gate_knows() -> None:
    texts, _escalate, flags = _training_sentences()
    assert len(texts) > 1000
    assert {f for f in flags if f} <= set(default_rules().flag_ids())
    assert all(isinstance(t, str) and t.strip() for t in texts)


def test_no_training_sentence_repeats_a_held_out_one() -> None:
    held = [(t, _words(t)) for t in _held_out()]
    assert len(held) > 150
    texts, _escalate, _flags = _training_sentences()  # everything `pht train-red-flags` reads
    copies = [(text, t) for text in texts for t, w in held if _near(_words(text), w)]
    assert copies == []


def test_the_near_copy_check_catches_a_copy() -> None:
    a = _words("I felt a pop at the top of my hamstring during the 400s")
    assert _near(a, _words("i felt a pop at the top of my hamstring during the 200s"))
    assert not _near(a, _words("My hamstring aches after long runs and when I sit"))
