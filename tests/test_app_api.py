"""The launched app through gradio_client on loopback: 20 concurrent chats, then feedback.

Starts the app in-process on a free loopback port with the fake service (which sleeps a
little per answer and counts how many answers run at once), then drives the public API
endpoints ``ask``, ``feedback``, ``faq`` and ``batch`` as a client would.
"""

from __future__ import annotations

import csv
import io
import socket
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app import build_app
from assistant.feedback import FeedbackStore
from assistant.models import Answer, Turn
from assistant.ui.layout import launch_kwargs
from core.settings import Settings
from tests.fake_service import FakeAnswerService

pytestmark = pytest.mark.server
REPO = Path(__file__).resolve().parent.parent
LIMIT = 4


class CountingService(FakeAnswerService):
    """The fake, also recording the most answers computed at the same time."""

    def __init__(self) -> None:
        super().__init__(delay_s=0.1)
        self.active = 0
        self.max_active = 0
        self._count = threading.Lock()

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        with self._count:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            return super().ask(question, history)
        finally:
            with self._count:
                self.active -= 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Settings, CountingService]]:
    tmp = tmp_path_factory.mktemp("app")
    settings = Settings(
        data_dir=tmp / "data", corpus_dir=REPO / "corpus", port=free_port(),
        concurrency_limit=LIMIT, _env_file=None,
    )  # fmt: skip
    service = CountingService()
    demo = build_app(service, settings)
    _, url, _ = demo.launch(prevent_thread_lock=True, **launch_kwargs(settings))
    assert url.startswith("http://127.0.0.1:")
    try:
        yield url, settings, service
    finally:
        demo.close()


@pytest.fixture(scope="module")
def client(served):  # type: ignore[no-untyped-def]
    from gradio_client import Client

    return Client(served[0], verbose=False)


def test_twenty_concurrent_chats_all_answered_and_rated(served, client):
    _, settings, service = served
    before = len(FeedbackStore(settings.feedback_db).rows())

    def chat(n: int) -> tuple[dict, dict]:
        answer = client.predict(f"Runner {n}: can I keep running?", None, api_name="/ask")
        row = client.predict(answer, "up" if n % 2 else "down", f"user {n}", api_name="/feedback")
        return answer, row

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(chat, range(20)))

    assert all(a["status"] == "answered" and len(a["citations"]) == 2 for a, _ in results)
    assert sorted(a["question"] for a, _ in results) == sorted(
        f"Runner {n}: can I keep running?" for n in range(20)
    )
    assert 1 < service.max_active <= LIMIT  # answered in parallel, within the queue limit
    rows = FeedbackStore(settings.feedback_db).rows()[before:]
    assert len(rows) == 20 and len({r["id"] for _, r in results}) == 20
    assert {r.comment for r in rows} == {f"user {n}" for n in range(20)}
    assert {r.rating for r in rows} == {"up", "down"}


def test_ask_with_history_and_faq_endpoint(client):
    history = [{"role": "user", "content": "Can I run?"}, {"role": "assistant", "content": "Yes."}]
    answer = client.predict("And hills?", history, api_name="/ask")
    assert "(turn 2)" in answer["answer"]
    faq = client.predict(api_name="/faq")
    assert len(faq) >= 8 and all(item["answer"]["citations"] for item in faq if item["answer"])


def test_batch_endpoint_returns_a_csv(client, tmp_path):
    from gradio_client import handle_file

    questions = tmp_path / "questions.txt"
    questions.write_text("Can I run?\nnumb foot at night\n", encoding="utf-8")
    out, message = client.predict(handle_file(str(questions)), api_name="/batch")
    assert message == "Answered 2 of 2 questions."
    rows = list(csv.DictReader(io.StringIO(Path(out).read_text(encoding="utf-8"))))
    assert [r["status"] for r in rows] == ["answered", "red_flag"]


def test_api_errors_are_messages(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="could not answer"):
        client.predict("boom", None, api_name="/ask")
