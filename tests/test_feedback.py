"""FeedbackStore: rows round-trip, concurrent writers lose nothing, JSONL candidate export."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
from datetime import datetime

import pytest

from assistant.feedback import FeedbackStore, candidate_case, normalize_rating
from tests.fake_service import FakeAnswerService


def test_add_and_read_back_an_answer(tmp_path):
    store = FeedbackStore(tmp_path / "fb" / "feedback.sqlite3")
    answer = FakeAnswerService().ask("Can I run with sitting pain?")
    row_id = store.add_answer(answer, "up", "  clear and cited  ")
    [row] = store.rows()
    assert row.id == row_id
    assert (row.question, row.status, row.rating) == (
        "Can I run with sitting pain?",
        "answered",
        "up",
    )
    assert row.comment == "clear and cited"
    assert row.backend == "fake" and row.prompt_version == "fake-1"
    assert [c["marker"] for c in row.citations] == [1, 2, 3]
    assert row.citations[0]["quote"] == answer.citations[0].quote
    assert datetime.fromisoformat(row.created_at).utcoffset().total_seconds() == 0


def test_database_uses_wal(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    FeedbackStore(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_accepts_answer_json_as_api_clients_send_it(tmp_path):
    store = FeedbackStore(tmp_path / "f.db")
    data = FakeAnswerService().ask("I have numbness at night").to_json()
    store.add_answer(data, "Dislike")
    [row] = store.rows()
    assert (row.status, row.rating, row.comment) == ("red_flag", "down", "")


@pytest.mark.parametrize("bad", ["meh", "", None, 3])
def test_rejects_unknown_ratings(tmp_path, bad):
    store = FeedbackStore(tmp_path / "f.db")
    with pytest.raises(ValueError):
        store.add(question="q", answer="a", status="answered", rating=bad)
    assert store.rows() == []


def test_rating_spellings():
    assert [normalize_rating(v) for v in (True, False, "Like", "DOWN", "👎")] == [
        "up", "down", "up", "down", "down",
    ]  # fmt: skip


def test_concurrent_writers_lose_nothing(tmp_path):
    store = FeedbackStore(tmp_path / "f.db")
    other = FeedbackStore(tmp_path / "f.db")  # a second store on the same file

    def write(n: int) -> None:
        for k in range(10):
            (store if k % 2 else other).add(
                question=f"q{n}-{k}", answer="a", status="answered", rating="up"
            )

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = store.rows()
    assert len(rows) == 80
    assert len({r.question for r in rows}) == 80


def test_export_candidates_in_eval_case_schema(tmp_path):
    store = FeedbackStore(tmp_path / "f.db")
    fake = FakeAnswerService()
    store.add_answer(fake.ask("Should I stop running?"), "down", "missed the red flags")
    store.add_answer(fake.ask("pizza recipe?"), "up")
    out = io.StringIO()
    assert store.export_candidates(out) == 2
    cases = [json.loads(line) for line in out.getvalue().splitlines()]
    assert cases[0] == {
        "id": "feedback-1",
        "question": "Should I stop running?",
        "history": [],
        "expected_status": "answered",
        "tags": ["feedback"],
        "gold": [],
        "claims": [],
        "needs_review": True,
        "feedback": {"rating": "down", "comment": "missed the red flags"},
    }
    assert cases[1]["id"] == "feedback-2" and cases[1]["expected_status"] == "out_of_scope"


def test_candidate_case_keeps_unicode_question(tmp_path):
    store = FeedbackStore(tmp_path / "f.db")
    store.add(question="Douleur à l’ischio ?", answer="…", status="answered", rating="up")
    case = candidate_case(store.rows()[0])
    assert case["question"] == "Douleur à l’ischio ?"


def test_unwritable_location_is_a_config_error(tmp_path):
    from core.errors import ConfigError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="PHT_DATA_DIR"):
        FeedbackStore(blocker / "feedback.sqlite3")
