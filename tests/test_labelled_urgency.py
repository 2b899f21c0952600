"""`pht eval`'s narrative red-flag sets check the severity too: a message labelled with an urgent
flag must be answered with the urgent action, not only escalated."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from assistant.gate_data import load_data
from assistant.models import Answer, Turn
from evals.labelled_run import run_labelled

URGENT = " ".join(str(load_data("escalation.yaml")["red_flag"]["action"]["urgent"]).split())
LATER = " ".join(str(load_data("escalation.yaml")["red_flag"]["action"]["see_clinician"]).split())


class _Service:
    """Escalates every message; urgent words only where ``urgent`` says so."""

    def __init__(self, urgent: set[str]):
        self.urgent = urgent

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        return Answer(question, "red_flag", URGENT if question in self.urgent else LATER)


def _sets(folder: Path) -> Path:
    items = [
        {"question": "I can't control my bladder since the pain began.", "red_flag": True,
         "flag": "bladder_bowel", "split": "test"},
        {"question": "I can't put any weight on the leg since the race.", "red_flag": True,
         "flag": "cant_bear_weight", "split": "test"},
        {"question": "My foot tingles on every run.", "red_flag": True, "flag": "nerve", "split": "test"},
        {"question": "Deep ache at the sit bone when I sit.", "red_flag": False, "flag": None,
         "split": "test"},
    ]
    (folder / "red_flag_narratives.yaml").write_text(yaml.safe_dump({"items": items}), encoding="utf-8")
    (folder / "scope_narratives.yaml").write_text(yaml.safe_dump({"questions": []}), encoding="utf-8")
    return folder


def test_an_urgent_flag_answered_as_see_a_clinician_is_counted(tmp_path: Path) -> None:
    service = _Service({"I can't control my bladder since the pain began."})
    section, extra = run_labelled(service, [], datasets_dir=_sets(tmp_path))
    gate = section["narrative_gates"]["red_flag_test"]
    assert (gate["tp"], gate["fp"], gate["fn"], gate["tn"]) == (3, 1, 0, 0)
    assert (gate["urgent"], gate["urgent_kept"]) == (2, 1)  # nerve is not urgent: not counted
    assert gate["not_urgent"] == ["I can't put any weight on the leg since the race."]
    assert extra["narrative_red_flag_test_urgent_kept"] == (1, 2)
    assert "urgent" not in section["narrative_gates"]["scope_test"]


def test_every_urgent_flag_answered_as_urgent(tmp_path: Path) -> None:
    service = _Service({"I can't control my bladder since the pain began.",
                        "I can't put any weight on the leg since the race."})
    section, extra = run_labelled(service, [], datasets_dir=_sets(tmp_path))
    assert extra["narrative_red_flag_test_urgent_kept"] == (2, 2)
    assert section["narrative_gates"]["red_flag_test"]["not_urgent"] == []
