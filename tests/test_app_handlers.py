"""The app's handlers and ``build_app`` with the fake service, without a server."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from app import build_app
from assistant.feedback import FeedbackStore
from assistant.models import Answer, Turn
from assistant.ui.faq import FaqItem
from assistant.ui.handlers import Exchange, Handlers, history_of, messages_of
from assistant.ui.layout import launch_kwargs, parse_auth
from core.settings import Settings
from tests.fake_service import FakeAnswerService

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def fake() -> FakeAnswerService:
    return FakeAnswerService()


@pytest.fixture
def h(tmp_path, fake) -> Handlers:
    faq = [FaqItem("f1", "Can I keep running?"), FaqItem("f2", "I feel numb at night")]
    return Handlers(fake, FeedbackStore(tmp_path / "fb.db"), faq, downloads=tmp_path / "dl")


def _last(gen: Any) -> Any:
    items = list(gen)
    return items[-1] if items else None


class Like:
    """What Gradio passes for a thumb on a chatbot message."""

    def __init__(self, index: int, liked: bool | str):
        self.index, self.liked = index, liked


def test_chat_streams_previews_then_the_final_answer(h):
    steps = list(h.chat("Can I run?", []))
    assert len(steps) > 5  # one step per word, then the final answer
    previews = [s[0][-1]["content"] for s in steps[1:-1]]
    assert all("pht-streaming" in p for p in previews)
    assert "You asked:" in previews[-1]
    messages, state, box = steps[-1]
    assert box == "" and len(messages) == 2 and state[0].answer.status == "answered"
    assert 'href="#a0-src-1"' in messages[1]["content"]


def test_chat_passes_history_as_turns(h, fake):
    _, state, _ = _last(h.chat("Can I run?", []))
    _, state, _ = _last(h.chat("And hills?", state))
    question, history = fake.calls[-1]
    assert question == "And hills?"
    assert history == (Turn("user", "Can I run?"), Turn("assistant", state[0].answer.answer))
    assert len(state) == 2


def test_empty_question_changes_nothing(h, fake):
    assert _last(h.chat("   ", [])) == ([], [], "")
    assert fake.calls == []


def test_failure_is_a_message_not_a_traceback(h):
    messages, state, _ = _last(h.chat("boom", []))
    shown = messages[1]["content"]
    assert "could not answer (RuntimeError)" in shown and "Traceback" not in shown
    assert "<script>" not in shown
    assert state[0].answer is None and history_of(state) == []


def test_retry_replaces_the_last_answer(h, fake):
    _, state, _ = _last(h.chat("Can I run?", []))
    _, state, _ = _last(h.chat("Hills?", state))
    messages, state = _last(h.retry(state))
    assert [e.question for e in state] == ["Can I run?", "Hills?"] and len(messages) == 4
    assert fake.calls[-1][0] == "Hills?" and len(fake.calls[-1][1]) == 2
    assert _last(h.retry([])) == ([], [])


def test_clear_resets_everything(h):
    assert h.clear() == ([], [], "", "")


def test_thumbs_on_any_answer_are_stored_with_the_comment(h):
    _, state, _ = _last(h.chat("Can I run?", []))
    _, state, _ = _last(h.chat("numb leg at night", state))
    note, box = h.like(state, "good escalation", Like(3, False))
    assert "saved" in note and box == ""
    note, _ = h.like(state, "", Like(1, True))
    rows = h.store.rows()
    assert [(r.question, r.status, r.rating, r.comment) for r in rows] == [
        ("numb leg at night", "red_flag", "down", "good escalation"),
        ("Can I run?", "answered", "up", ""),
    ]
    assert rows[0].citations[0]["quote"].startswith("fracture")
    assert h.like(state, "keep", Like(1, "Other")) == ("", "keep")
    assert len(h.store.rows()) == 2


def test_rating_the_latest_answer(h):
    assert "no answer" in h.rate_latest([], "x", True)[0]
    _, state, _ = _last(h.chat("Can I run?", []))
    h.rate_latest(state, "useful", True)
    assert h.store.rows()[0].comment == "useful"


def test_messages_are_two_per_exchange():
    answer = Answer("q", "answered", "a")
    msgs = messages_of(
        [Exchange("q", answer), Exchange("p", preview="par"), Exchange("e", error="x")]
    )
    assert [m["role"] for m in msgs] == ["user", "assistant"] * 3


def test_faq_desk_is_computed_once_and_exported(h, fake):
    cards, markdown, files = h.faq_desk()
    assert cards.count('class="pht-faq-card"') == 2 and "pht-alert" in cards
    assert "Can I keep running?" in markdown and "**Sources**" in markdown
    h.faq_desk()
    assert len(fake.calls) == 2  # cached
    h.faq_desk(refresh=True)
    assert len(fake.calls) == 4
    md, csv_path = (Path(f) for f in files)
    assert md.suffix == ".md" and md.read_text(encoding="utf-8") == markdown
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert {r["id"] for r in rows} == {"f1", "f2"}
    assert set(rows[0]) >= {"marker", "title", "edition", "quote", "source", "start", "end"}


def test_faq_progress_is_reported(h):
    seen = []
    h.faq_desk(progress=lambda frac, desc: seen.append((frac, desc)))
    assert seen == [((0, 2), "Answering f1"), ((1, 2), "Answering f2")]


def test_api_faq_and_ask_return_answer_json(h):
    faq = h.api_faq()
    assert [f["id"] for f in faq] == ["f1", "f2"] and faq[1]["answer"]["status"] == "red_flag"
    data = h.api_ask("And hills?", [{"role": "user", "content": "Can I run?"},
                                    {"role": "assistant", "content": "Yes."}])  # fmt: skip
    assert data["status"] == "answered" and "(turn 2)" in data["answer"]
    with pytest.raises(gr.Error):
        h.api_ask("q", [{"role": "system", "content": "x"}])
    with pytest.raises(gr.Error, match="could not answer"):
        h.api_ask("boom")


def test_api_feedback_stores_a_row(h):
    data = h.api_ask("Can I run?")
    assert h.api_feedback(data, "up", "ok") == {"id": 1}
    with pytest.raises(gr.Error):
        h.api_feedback(data, "sideways")
    with pytest.raises(gr.Error):
        h.api_feedback({}, "up")
    assert len(h.store.rows()) == 1


def test_batch_answers_a_csv_upload(h, tmp_path):
    upload = tmp_path / "questions.csv"
    upload.write_text("id,question\nA,Can I run?\nB,boom\nC,pizza recipe\n", encoding="utf-8")
    ticks = []
    out, message = h.batch(str(upload), progress=lambda frac, desc: ticks.append(frac))
    assert message == "Answered 2 of 3 questions (1 failed; see the status column)."
    rows = list(csv.DictReader(io.StringIO(Path(out).read_text(encoding="utf-8"))))
    assert [(r["id"], r["status"]) for r in rows] == [("A", "answered"), ("B", "error"),
                                                       ("C", "out_of_scope")]  # fmt: skip
    assert json.loads(rows[0]["citations"])[0]["quote"].startswith("Pain with sitting")
    assert ticks == [(0, 3), (1, 3), (2, 3)]


def test_bad_batch_upload_is_a_clear_message(h, tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    assert h.batch(str(bad)) == (None, h.batch(str(bad))[1])
    assert "no 'question' column" in h.batch(str(bad))[1]
    assert "Choose a .csv" in h.batch(None)[1]
    assert "could not be read" in h.batch(str(tmp_path / "gone.txt"))[1]


def test_build_app_without_a_server(tmp_path, fake):
    settings = Settings(data_dir=tmp_path / "d", corpus_dir=REPO / "corpus", concurrency_limit=3)
    demo = build_app(fake, settings)
    assert isinstance(demo, gr.Blocks) and demo.analytics_enabled is False
    api = demo.get_api_info()["named_endpoints"]
    assert {"/ask", "/faq", "/feedback", "/batch"} <= set(api)
    assert not any("chat" in name for name in api)
    limits = {d.api_name: d.concurrency_limit for d in demo.fns.values()}
    assert limits["ask"] == limits["batch"] == 3
    assert fake.calls == []  # start-up computes no answers
    assert (tmp_path / "d" / "feedback.sqlite3").exists()


def test_launch_options_stay_local(tmp_path):
    options = launch_kwargs(Settings(data_dir=tmp_path, auth="clinic:pw"))
    assert options["server_name"] == "127.0.0.1" and options["share"] is False
    assert options["auth"] == [("clinic", "pw")]
    assert parse_auth(None) is None
    with pytest.raises(Exception, match="PHT_AUTH"):
        parse_auth("nopassword")
