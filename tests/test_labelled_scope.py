"""`pht eval`'s narrative scope sets score a mixed message (one with a ``covered_part``) by its
main ask: when that is covered, answering is right and only a refusal is a false positive, and
whether the answer names the part left out is counted apart; when it is not covered, a refusal
or an answer naming the part left out are both rejections."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from assistant.models import Answer, Turn
from evals.labelled_run import run_labelled

NAMED = "The articles don't cover this part of your message, so it is not answered here: “pace”"
MAIN_COVERED = "Can I keep running with PHT, and what pace should I race at?"
MAIN_NOT_COVERED = "What pace should I race my half at? My PHT is fine."
PLAIN_IN = "Why does my sit bone ache when I sit?"
PLAIN_OUT = "Which saddle should I buy?"


class _Service:
    """Answers each question with the status and notices it is given (anything else, such as
    the red-flag layer's held-out sentences, is answered plainly)."""

    def __init__(self, replies: dict[str, tuple[str, tuple[str, ...]]]):
        self.replies = replies

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        status, notices = self.replies.get(question, ("answered", ()))
        return Answer(question, status, "text", notices=list(notices))


def _sets(folder: Path) -> Path:
    questions = [
        {"question": MAIN_COVERED, "in_scope": True, "split": "test",
         "covered_part": "running with PHT; race pacing is not covered"},
        {"question": MAIN_NOT_COVERED, "in_scope": False, "split": "test",
         "covered_part": "running with PHT"},
        {"question": PLAIN_IN, "in_scope": True, "split": "test"},
        {"question": PLAIN_OUT, "in_scope": False, "split": "test"},
    ]
    (folder / "scope_narratives.yaml").write_text(yaml.safe_dump({"questions": questions}),
                                                  encoding="utf-8")
    (folder / "red_flag_narratives.yaml").write_text(yaml.safe_dump({"items": []}), encoding="utf-8")
    return folder


def _gate(tmp_path: Path, replies: dict[str, tuple[str, tuple[str, ...]]]) -> dict:
    section, extra = run_labelled(_Service(replies), [], datasets_dir=_sets(tmp_path))
    gate = section["narrative_gates"]["scope_test"]
    assert extra["narrative_scope_test_mixed_named"] == (gate["mixed_named"], gate["mixed"])
    return gate


def test_answering_both_mixed_messages_with_the_notice_is_all_right(tmp_path: Path) -> None:
    gate = _gate(tmp_path, {
        MAIN_COVERED: ("answered", (NAMED,)), MAIN_NOT_COVERED: ("answered", (NAMED,)),
        PLAIN_IN: ("answered", ()), PLAIN_OUT: ("out_of_scope", ()),
    })
    assert (gate["tp"], gate["fp"], gate["fn"], gate["tn"]) == (2, 0, 0, 2)
    assert (gate["mixed_named"], gate["mixed"], gate["mixed_unnamed"]) == (1, 1, [])


def test_a_covered_mixed_message_without_the_notice_is_counted_apart(tmp_path: Path) -> None:
    gate = _gate(tmp_path, {
        MAIN_COVERED: ("answered", ()), MAIN_NOT_COVERED: ("answered", ()),
        PLAIN_IN: ("answered", ()), PLAIN_OUT: ("out_of_scope", ()),
    })
    # the uncovered main ask answered without a notice is a missed rejection
    assert (gate["tp"], gate["fp"], gate["fn"], gate["tn"]) == (1, 0, 1, 2)
    assert (gate["mixed_named"], gate["mixed"]) == (0, 1)
    assert gate["mixed_unnamed"] == [MAIN_COVERED]


def test_refusing_a_message_whose_main_ask_is_covered_is_a_false_positive(tmp_path: Path) -> None:
    gate = _gate(tmp_path, {
        MAIN_COVERED: ("out_of_scope", ()), MAIN_NOT_COVERED: ("out_of_scope", ()),
        PLAIN_IN: ("out_of_scope", ()), PLAIN_OUT: ("answered", ()),
    })
    assert (gate["tp"], gate["fp"], gate["fn"], gate["tn"]) == (1, 2, 1, 0)
    assert gate["mixed"] == 0  # it was not answered, so there is no answer to name anything in
