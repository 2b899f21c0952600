"""The app's handlers and ``build_app`` with the fake service, without a server."""

from __future__ import annotations

import csv
import io
from itertools import pairwise
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from app import build_app
from assistant.feedback import FeedbackStore
from assistant.models import Answer, Turn
from assistant.ui.desk import DeskHandlers
from assistant.ui.faq import FaqItem
from assistant.ui.handlers import ChatHandlers, Exchange, history_of, messages_of, retry_useful
from assistant.ui.limits import Limits
from assistant.ui.server import mount_options, parse_auth
from core.settings import Settings
from tests.fake_service import FakeAnswerService

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def fake() -> FakeAnswerService:
    return FakeAnswerService()


@pytest.fixture
def h(tmp_path, fake) -> ChatHandlers:
    return ChatHandlers(fake, FeedbackStore(tmp_path / "fb.db"))


@pytest.fixture
def desk(tmp_path, fake) -> DeskHandlers:
    faq = [FaqItem("f1", "Can I keep running?"), FaqItem("f2", "I feel numb at night")]
    return DeskHandlers(fake, faq, downloads=tmp_path / "dl")


def _last(gen: Any) -> Any:
    items = list(gen)
    return items[-1] if items else None


class Like:
    """What Gradio passes for a thumb on a chatbot message."""

    def __init__(self, index: int, liked: bool | str | None):
        self.index, self.liked = index, liked


class Request:
    """What Gradio passes as ``gr.Request`` (the parts the handlers read)."""

    def __init__(self, username: str | None = None, host: str = "127.0.0.1"):
        self.username = username
        self.client = type("C", (), {"host": host})()


def test_chat_streams_previews_then_the_final_answer(tmp_path, fake):
    h = ChatHandlers(fake, FeedbackStore(tmp_path / "fb.db"), stream_interval_s=0)
    steps = list(h.chat("Can I run?", []))
    assert len(steps) > 5  # one step per word, then the final answer
    previews = [s[0][-1]["content"] for s in steps[1:-1]]
    assert all("pht-streaming" in p for p in previews)
    assert "You asked:" in previews[-1]
    messages, state, box, retry, note, comment = steps[-1]
    assert box == "" and note == "" and len(messages) == 2 and state[0].answer.status == "answered"
    assert 'href="#a0-src-1"' in messages[1]["content"] and state[0].answer_id
    assert retry["visible"] is False and comment["visible"] is False


class Ticks:
    """A clock that moves ``step`` seconds each time it is read."""

    def __init__(self, step: float):
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_streamed_text_goes_out_in_fewer_larger_updates(tmp_path, fake):
    words = len(fake.ask("Can I run?").answer.split(" "))
    # words arrive every 30 ms; updates go out at most every 100 ms
    h = ChatHandlers(fake, FeedbackStore(tmp_path / "fb.db"), stream_interval_s=0.1,
                     clock=Ticks(0.03))  # fmt: skip
    steps = list(h.chat("Can I run?", []))
    previews = [s[1][-1].preview for s in steps[1:-1]]
    assert 2 <= len(previews) <= words // 3 + 1  # the first word at once, then every 4th
    assert previews[0] == "You" and all(b.startswith(a) for a, b in pairwise(previews))
    assert len(set(previews)) == len(previews)  # each update carries new text
    final = steps[-1][1][-1]
    assert final.answer is not None and final.answer.answer.startswith(previews[-1])
    assert steps[-1][0][1]["content"] == messages_of([final])[1]["content"]


def test_earlier_answers_are_kept_while_a_new_one_streams(h):
    first = list(h.chat("Can I run?", []))[-1][1]
    steps = list(h.chat("Should I stretch?", first))
    assert all(s[0][:2] == messages_of(first) for s in steps)
    assert steps[-1][0] == messages_of(steps[-1][1]) and len(steps[-1][0]) == 4


def test_chat_passes_history_as_turns(h, fake):
    state = _last(h.chat("Can I run?", []))[1]
    state = _last(h.chat("And hills?", state))[1]
    question, history = fake.calls[-1]
    assert question == "And hills?"
    assert history == (Turn("user", "Can I run?"), Turn("assistant", state[0].answer.answer))
    assert len(state) == 2 and state[1].history == history


def test_chat_history_is_cut_to_the_limits(tmp_path, fake):
    h = ChatHandlers(fake, FeedbackStore(tmp_path / "f.db"), Limits(history_turns=2))
    state: list[Exchange] = []
    for q in ("one?", "two?", "three?"):
        state = _last(h.chat(q, state))[1]
    assert [t.content for t in fake.calls[-1][1]][:1] == ["two?"]  # only the latest exchange
    small = ChatHandlers(fake, FeedbackStore(tmp_path / "g.db"), Limits(history_chars=10))
    _last(small.chat("again?", state))
    assert fake.calls[-1][1] == ()


def test_empty_and_overlong_questions(h, fake):
    messages, state, *_ = _last(h.chat("   ", []))
    assert (messages, state) == ([], []) and fake.calls == []
    messages, state, *_ = _last(h.chat("x" * 2001, []))
    assert "limit is 2,000" in messages[1]["content"] and fake.calls == []


def test_failure_is_a_message_not_a_traceback(h):
    messages, state, _, retry, *_ = _last(h.chat("boom", []))
    shown = messages[1]["content"]
    assert "could not answer (RuntimeError)" in shown and "Traceback" not in shown
    assert "<script>" not in shown
    assert state[0].answer is None and history_of(state) == []
    assert retry["visible"] is True  # an error is worth retrying


def test_retry_only_when_the_answer_could_differ(h, fake):
    state = _last(h.chat("Can I run?", []))[1]
    assert not retry_useful(state)
    messages, same, _, _, note, _ = _last(h.retry(state))
    assert same == state and "same" in note and len(fake.calls) == 1
    llm = [Exchange("q", Answer("q", "answered", "a", backend="llm:llama3.1"))]
    assert retry_useful(llm)
    messages, state, *_ = _last(h.retry([*state, *llm]))
    assert [e.question for e in state] == ["Can I run?", "q"] and len(messages) == 4
    assert fake.calls[-1][0] == "q" and len(fake.calls[-1][1]) == 2


def test_clear_resets_everything(h):
    messages, state, box, retry, note, comment = h.clear()
    assert comment["visible"] is False
    assert (messages, state, box, note) == ([], [], "", "") and retry["visible"] is False


def test_down_then_up_is_one_row_with_the_last_rating(h):
    state = _last(h.chat("Can I run?", []))[1]
    state = _last(h.chat("numb leg at night", state))[1]
    note, rated, group, _ = h.like(state, Like(3, False))
    assert "not helpful" in note and rated == state[1].answer_id and group["visible"] is True
    h.like(state, Like(3, True))
    [row] = h.store.rows()
    assert (row.question, row.status, row.rating, row.answer_id) == (
        "numb leg at night", "red_flag", "up", state[1].answer_id,
    )  # fmt: skip
    assert row.history == [{"role": "user", "content": "Can I run?"},
                           {"role": "assistant", "content": state[0].answer.answer}]  # fmt: skip
    assert row.backend == "fake" and row.citations[0]["quote"].startswith("fracture")
    assert h.like(state, Like(1, None))[0] == ""  # un-liking stores nothing
    assert len(h.store.rows()) == 1


def test_comment_goes_with_the_rated_answer(h):
    state = _last(h.chat("Can I run?", []))[1]
    assert "thumbs first" in h.comment(state, "", "good")[0]
    _, rated, _, _ = h.like(state, Like(1, True))
    note, group, box = h.comment(state, rated, "  clear, with sources ")
    assert "saved" in note and group["visible"] is False and box == ""
    h.like(state, Like(1, False))  # changing the rating keeps the comment
    [row] = h.store.rows()
    assert (row.rating, row.comment) == ("down", "clear, with sources")
    note, _, box = h.comment(state, rated, "x" * 2001)
    assert "limit is 2,000" in note and box == "x" * 2001


def test_messages_are_two_per_exchange():
    answer = Answer("q", "answered", "a")
    msgs = messages_of(
        [Exchange("q", answer), Exchange("p", preview="par"), Exchange("e", error="x")]
    )
    assert [m["role"] for m in msgs] == ["user", "assistant"] * 3


def test_faq_desk_is_computed_once_and_exported(desk, fake):
    cards, markdown, files = desk.faq_desk()
    assert cards.count('class="pht-faq-card"') == 2 and "pht-alert" in cards
    assert (
        cards.count('class="pht-copy"') == 2 and "Can I keep running?\n\nThe two editions" in cards
    )
    assert "Can I keep running?" in markdown and "**Sources**" in markdown
    desk.faq_desk()
    assert len(fake.calls) == 2  # cached
    desk.faq_desk(refresh=True)
    assert len(fake.calls) == 4
    md, csv_path = (Path(f) for f in files)
    assert md.suffix == ".md" and md.read_text(encoding="utf-8") == markdown
    data = csv_path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == ["f1", "f2"]  # one row per answer
    assert rows[0]["sources"].splitlines()[0].startswith("[1] Understanding Proximal")


def test_faq_progress_is_reported(desk):
    seen = []
    desk.faq_desk(progress=lambda frac, desc: seen.append((frac, desc)))
    assert seen == [((0, 2), "Answering f1"), ((1, 2), "Answering f2")]


def test_api_ask_returns_answer_json_with_an_id(h):
    data = h.api_ask("And hills?", [{"role": "user", "content": "Can I run?"},
                                    {"role": "assistant", "content": "Yes."}])  # fmt: skip
    assert data["status"] == "answered" and "(turn 2)" in data["answer"]
    assert len(data["answer_id"]) == 32
    with pytest.raises(gr.Error, match="could not answer"):
        h.api_ask("boom")


@pytest.mark.parametrize(
    ("question", "history", "message"),
    [
        ("q", [{"role": "system", "content": "x"}], "needs role"),
        ("q", "not a list", "must be a list"),
        ("q", [{"role": "user", "content": "x"}] * 41, "the limit is 40"),
        ("q", [{"role": "user", "content": "x" * 40_001}], "longer than 40,000"),
        ("q" * 2001, None, "limit is 2,000"),
    ],
)
def test_api_ask_limits(h, fake, question, history, message):
    with pytest.raises(gr.Error, match=message):
        h.api_ask(question, history)
    assert fake.calls == []  # refused before any work


def test_api_feedback_stores_then_updates_one_row(h):
    data = h.api_ask("Can I run?")
    assert h.api_feedback(data, "down") == {"id": 1}
    assert h.api_feedback(data, "up", "ok", [{"role": "user", "content": "hi"}]) == {"id": 1}
    [row] = h.store.rows()
    assert (row.rating, row.comment, row.answer_id) == ("up", "ok", data["answer_id"])
    assert row.history == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ANSWER", "sideways"), "rating must be"),
        (({}, "up"), "JSON object returned"),
        (("ANSWER", "up", "c" * 2001), "limit is 2,000"),
        (({"question": "q", "answer": "a" * 200_001}, "up"), "the limit is 200,000"),
        (("ANSWER", "up", "", [{"role": "user", "content": "x"}] * 41), "the limit is 40"),
    ],
)
def test_api_feedback_limits(h, args, message):
    data = h.api_ask("Can I run?")
    args = tuple(data if a == "ANSWER" else a for a in args)
    with pytest.raises(gr.Error, match=message):
        h.api_feedback(*args)
    assert h.store.rows() == []


def test_batch_answers_a_csv_upload(desk, tmp_path):
    upload = tmp_path / "questions.csv"
    upload.write_text("id,question\nA,Can I run?\nB,boom\nC,pizza recipe\n", encoding="utf-8")
    ticks = []
    out, message = desk.batch(str(upload), progress=lambda frac, desc: ticks.append(frac))
    assert message == "Answered 2 of 3 questions (1 failed; see the status column)."
    data = Path(out).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [(r["id"], r["status"]) for r in rows] == [("A", "answered"), ("B", "error"),
                                                       ("C", "out_of_scope")]  # fmt: skip
    assert rows[0]["sources"].splitlines()[0].endswith("“Pain with sitting as a guide on "
        "whether or not you should run or not run is not reliable or predictive in my experience”")  # fmt: skip
    assert ticks[0] == (0, 3)  # the first report at once (then a few a second at most)


def test_batch_progress_is_reported_a_few_times_a_second(tmp_path, fake):
    upload = tmp_path / "questions.txt"
    upload.write_text("".join(f"Can I run {n}?\n" for n in range(10)), encoding="utf-8")
    # questions take 0.2 s each; a report at most every 0.5 s
    desk = DeskHandlers(fake, downloads=tmp_path / "dl", progress_every_s=0.5, clock=Ticks(0.2))
    ticks = []
    out, message = desk.batch(str(upload), progress=lambda frac, desc: ticks.append(frac))
    assert message == "Answered 10 of 10 questions." and out
    assert ticks == [(0, 10), (3, 10), (6, 10), (9, 10)]


def test_bad_batch_upload_is_a_clear_message(desk, tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    assert "no 'question' column" in desk.batch(str(bad))[1]
    assert "Choose a .csv" in desk.batch(None)[1]
    assert "could not be read" in desk.batch(str(tmp_path / "gone.txt"))[1]
    assert "not fetched" in desk.batch("https://example.org/q.csv")[1]


def test_oversized_upload_is_refused_before_reading(tmp_path, fake):
    desk = DeskHandlers(fake, limits=Limits(upload_bytes=1000), downloads=tmp_path / "dl")
    big = tmp_path / "big.txt"
    big.write_text("Can I run?\n" * 200, encoding="utf-8")
    assert desk.batch(str(big)) == (None, desk.batch(str(big))[1])
    assert "2,200 bytes; the limit is 1,000" in desk.batch(str(big))[1]
    assert fake.calls == []


def test_one_batch_at_a_time_per_client(tmp_path):
    import threading

    slow = FakeAnswerService(delay_s=0.3)
    desk = DeskHandlers(slow, downloads=tmp_path / "dl", jobs_per_client=1)
    qs = tmp_path / "q.txt"
    qs.write_text("Can I run?\n", encoding="utf-8")
    results: list[tuple[Any, str]] = []
    first = threading.Thread(
        target=lambda: results.append(desk.batch(str(qs), None, Request("ann")))
    )
    first.start()
    while not slow.calls:
        pass
    assert "already have 1 batch running" in desk.batch(str(qs), None, Request("ann"))[1]
    assert desk.batch(str(qs), None, Request("bob"))[1] == "Answered 1 of 1 questions."
    first.join()
    assert results[0][1] == "Answered 1 of 1 questions."
    assert desk.batch(str(qs), None, Request("ann"))[1] == "Answered 1 of 1 questions."


def test_build_app_without_a_server(tmp_path, fake):
    settings = Settings(data_dir=tmp_path / "d", corpus_dir=REPO / "corpus", concurrency_limit=3,
                        batch_concurrency=2, _env_file=None)  # fmt: skip
    web = build_app(fake, settings)
    assert isinstance(web.chat, gr.Blocks) and web.chat.analytics_enabled is False
    chat_api = web.chat.get_api_info()["named_endpoints"]
    assert {"/ask", "/feedback"} <= set(chat_api) and "/batch" not in chat_api
    assert not any("chat" in name for name in chat_api)
    assert web.staff is not None
    assert {"/faq", "/batch"} <= set(web.staff.get_api_info()["named_endpoints"])
    chat_fns = {d.api_name: d for d in web.chat.fns.values()}
    staff_fns = {d.api_name: d for d in web.staff.fns.values()}
    assert chat_fns["ask"].concurrency_limit == 3 and chat_fns["ask"].concurrency_id == "chat"
    assert staff_fns["batch"].concurrency_limit == 2
    assert staff_fns["batch"].concurrency_id == "batch"
    assert fake.calls == []  # start-up computes no answers
    assert (tmp_path / "d" / "feedback.sqlite3").exists()
    off = build_app(fake, settings.model_copy(update={"staff_tools": False}))
    assert off.staff is None


def test_serving_options_stay_local(tmp_path):
    options = mount_options(Settings(data_dir=tmp_path, _env_file=None))
    assert options["server_name"] == "127.0.0.1" and options["enable_monitoring"] is False
    assert options["run_history"] is False and options["mcp_server"] is False
    assert parse_auth("clinic:pw") == [("clinic", "pw")]
    assert parse_auth(None) is None
    with pytest.raises(Exception, match="PHT_AUTH"):
        parse_auth("nopassword")


def test_batch_questions_wait_while_a_chat_answer_is_made():
    import threading
    import time

    from assistant.ui.priority import Priority

    priority = Priority(max_wait_s=5)
    order: list[str] = []
    with priority.chat():
        batch = threading.Thread(target=lambda: (priority.batch_turn(), order.append("batch")))
        batch.start()
        time.sleep(0.2)
        order.append("chat")
    batch.join()
    assert order == ["chat", "batch"]
    capped = Priority(max_wait_s=0.05)
    with capped.chat():
        assert capped.batch_turn() >= 0.05  # a long chat never stops batches for good


def test_batch_answers_run_one_at_a_time_across_jobs():
    import threading
    import time

    from assistant.ui.priority import Priority

    priority = Priority(max_wait_s=0.05)
    inside, most = [0], [0]
    lock = threading.Lock()

    def job() -> None:
        for _ in range(5):
            with priority.batch_answer():
                with lock:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0.005)
                with lock:
                    inside[0] -= 1

    jobs = [threading.Thread(target=job) for _ in range(3)]
    for t in jobs:
        t.start()
    for t in jobs:
        t.join()
    assert most[0] == 1


def test_chat_requests_count_as_chat_work_until_their_last_byte():
    import asyncio

    from assistant.ui.priority import Priority
    from assistant.ui.server import ChatTraffic

    priority = Priority()
    seen: list[tuple[str, int]] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope["path"], priority.busy))
        await send({"type": "http.response.body", "body": b"x"})

    async def send(message: Any) -> None:
        seen.append(("sent", priority.busy))

    app = ChatTraffic(inner, priority)
    for path in ("/gradio_api/queue/join", "/gradio_api/queue/data", "/staff/gradio_api/queue/join",
                 "/gradio_api/heartbeat/abc", "/"):  # fmt: skip
        asyncio.run(app({"type": "http", "path": path}, None, send))
    assert seen == [
        ("/gradio_api/queue/join", 1), ("sent", 1), ("/gradio_api/queue/data", 1), ("sent", 1),
        ("/staff/gradio_api/queue/join", 0), ("sent", 0), ("/gradio_api/heartbeat/abc", 0),
        ("sent", 0), ("/", 0), ("sent", 0),
    ]  # fmt: skip
    assert priority.busy == 0


def test_served_app_counts_chat_requests(tmp_path, fake):
    from assistant.ui.server import ChatTraffic

    settings = Settings(corpus_dir=REPO / "corpus", data_dir=tmp_path, _env_file=None)
    asgi = build_app(fake, settings).asgi()
    assert sum(m.cls is ChatTraffic for m in asgi.user_middleware) == 1
