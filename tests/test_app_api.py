"""The served app through gradio_client on loopback: chats, feedback, staff API, limits, fairness.

Starts the app in-process on a free loopback port with the fake service (which sleeps a
little per answer and counts how many answers run at once), then drives the public API
endpoints as a client would: ``/ask`` and ``/feedback`` on the chat, ``/faq`` and ``/batch``
on the staff page (``/staff/``), with and without ``PHT_AUTH`` logins.
"""

from __future__ import annotations

import csv
import http.server
import io
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from app import build_app
from assistant.feedback import FeedbackStore
from assistant.models import Answer, Turn
from assistant.ui.server import Server
from core.settings import Settings
from tests.fake_service import FakeAnswerService

pytestmark = pytest.mark.server
REPO = Path(__file__).resolve().parent.parent
LIMIT = 4


class CountingService(FakeAnswerService):
    """The fake, also recording the most answers computed at the same time."""

    def __init__(self, delay_s: float = 0.1) -> None:
        super().__init__(delay_s=delay_s)
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


def serve(service: FakeAnswerService, tmp: Path, **overrides: object) -> tuple[Server, Settings]:
    values: dict[str, object] = {
        "data_dir": tmp / "data", "corpus_dir": REPO / "corpus", "port": free_port(),
        "concurrency_limit": LIMIT, "_env_file": None,
    }  # fmt: skip
    values.update(overrides)
    settings = Settings(**values)  # type: ignore[arg-type]
    server = build_app(service, settings).server()
    assert server.start().startswith("http://127.0.0.1:")
    return server, settings


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Settings, CountingService]]:
    service = CountingService()
    server, settings = serve(service, tmp_path_factory.mktemp("app"), max_upload_bytes=5_000)
    try:
        yield server.url, settings, service
    finally:
        server.close()


@pytest.fixture(scope="module")
def client(served):  # type: ignore[no-untyped-def]
    from gradio_client import Client

    return Client(served[0], verbose=False)


@pytest.fixture(scope="module")
def staff(served):  # type: ignore[no-untyped-def]
    from gradio_client import Client

    return Client(served[0] + "staff/", verbose=False)


def test_twenty_concurrent_chats_all_answered_and_rated(served):
    from gradio_client import Client

    url, settings, service = served
    before = len(FeedbackStore(settings.feedback_db).rows())
    # twenty runners, each with a client of their own as each has a browser of their own (one
    # client shared by twenty threads shares one event-stream reader, which gradio_client
    # can cancel under load: a test artefact, not the app's behaviour)
    clients = [Client(url, verbose=False) for _ in range(20)]

    def chat(n: int) -> tuple[dict, dict]:
        c = clients[n]
        answer = c.predict(f"Runner {n}: can I keep running?", None, api_name="/ask")
        row = c.predict(answer, "up" if n % 2 else "down", f"user {n}", None,
                        api_name="/feedback")  # fmt: skip
        return answer, row

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(chat, range(20)))

    assert all(a["status"] == "answered" and len(a["citations"]) == 3 for a, _ in results)
    assert sorted(a["question"] for a, _ in results) == sorted(
        f"Runner {n}: can I keep running?" for n in range(20)
    )
    assert 1 < service.max_active <= LIMIT  # answered in parallel, within the queue limit
    rows = FeedbackStore(settings.feedback_db).rows()[before:]
    assert len(rows) == 20 and len({r["id"] for _, r in results}) == 20
    assert {r.comment for r in rows} == {f"user {n}" for n in range(20)}
    assert {r.rating for r in rows} == {"up", "down"}


def test_rating_one_answer_twice_updates_its_row(served, client):
    _, settings, _ = served
    answer = client.predict("Can I run hills?", None, api_name="/ask")
    first = client.predict(answer, "down", "", None, api_name="/feedback")
    second = client.predict(answer, "up", "changed my mind", None, api_name="/feedback")
    assert first == second
    rows = [
        r for r in FeedbackStore(settings.feedback_db).rows() if r.answer_id == answer["answer_id"]
    ]
    assert [(r.rating, r.comment) for r in rows] == [("up", "changed my mind")]


def test_ask_with_history_and_staff_faq(client, staff):
    history = [{"role": "user", "content": "Can I run?"}, {"role": "assistant", "content": "Yes."}]
    answer = client.predict("And hills?", history, api_name="/ask")
    assert "(turn 2)" in answer["answer"]
    faq = staff.predict(api_name="/faq")
    assert len(faq) >= 8 and all(item["answer"]["citations"] for item in faq if item["answer"])


def test_batch_endpoint_returns_a_csv_with_bom(staff, tmp_path):
    from gradio_client import handle_file

    questions = tmp_path / "questions.txt"
    questions.write_text("Can I run?\nnumb foot at night\n", encoding="utf-8")
    out, message = staff.predict(handle_file(str(questions)), api_name="/batch")
    assert message == "Answered 2 of 2 questions."
    data = Path(out).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["status"] for r in rows] == ["answered", "red_flag"]


def test_api_errors_and_limits_are_messages(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="could not answer"):
        client.predict("boom", None, api_name="/ask")
    with pytest.raises(AppError, match="limit is 2,000"):
        client.predict("x" * 2001, None, api_name="/ask")
    with pytest.raises(AppError, match="longer than 40,000"):
        client.predict("q", [{"role": "user", "content": "x" * 50_000}], api_name="/ask")
    answer = client.predict("Can I run?", None, api_name="/ask")
    with pytest.raises(AppError, match="limit is 2,000"):
        client.predict(answer, "up", "c" * 5000, None, api_name="/feedback")


def test_oversized_upload_is_refused_while_streaming(served):
    url = served[0]
    big = b"Can I run?\n" * 1000  # 11 kB against a 5 kB limit
    reply = httpx.post(url + "staff/gradio_api/upload", files={"files": ("q.txt", big)})
    assert reply.status_code == 413 and "maximum allowed size" in reply.text
    chat = httpx.post(url + "gradio_api/upload", files={"files": ("q.txt", big[:2000])})
    assert chat.status_code == 413  # the chat takes no uploads worth the name


class Counting(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Counting.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"question\nCan I run?\n")

    def log_message(self, *args: object) -> None:
        pass


def test_a_url_in_the_batch_field_is_never_fetched(staff):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        link = f"http://127.0.0.1:{httpd.server_address[1]}/questions.csv"
        with pytest.raises(AppError, match="links \\(URLs\\) are not fetched"):
            staff.predict(handle_file(link), api_name="/batch")
    finally:
        httpd.shutdown()
    assert Counting.hits == []


def test_chat_is_answered_while_batches_run(tmp_path):
    """Batch jobs have their own queue: a chat question does not wait for them."""
    from gradio_client import Client, handle_file

    service = CountingService(delay_s=0.05)
    server, _ = serve(service, tmp_path, batch_concurrency=2, concurrency_limit=2,
                      auth="a:pw,b:pw,c:pw")  # fmt: skip
    try:
        questions = tmp_path / "q.txt"
        questions.write_text("Can I run?\n" * 60, encoding="utf-8")  # ~3 s per batch
        jobs = [
            Client(server.url + "staff/", auth=(user, "pw"), verbose=False).submit(
                handle_file(str(questions)), api_name="/batch"
            )
            for user in ("a", "b", "c")
        ]
        while service.active < 1:  # batch answers run one at a time, however many jobs
            time.sleep(0.02)
        chat = Client(server.url, verbose=False)
        answer = chat.predict("Can I keep running?", None, api_name="/ask")
        running = [job for job in jobs if not job.done()]
        assert answer["status"] == "answered" and len(running) == 3  # batches still going
        results = [job.result() for job in jobs]
        assert [msg for _, msg in results] == ["Answered 60 of 60 questions."] * 3
    finally:
        server.close()


def test_staff_page_and_batch_need_a_login_when_auth_is_set(tmp_path):
    from gradio_client import Client

    server, _ = serve(FakeAnswerService(), tmp_path, auth="clinic:s3cret")
    try:
        page = httpx.get(server.url + "staff/config")
        assert page.status_code in (401, 403)
        assert httpx.get(server.url + "config").status_code == 200  # the chat stays public
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises its own types
            Client(server.url + "staff/", verbose=False).predict(api_name="/faq")
        logged_in = Client(server.url + "staff/", auth=("clinic", "s3cret"), verbose=False)
        assert len(logged_in.predict(api_name="/faq")) >= 8
    finally:
        server.close()


def test_staff_tools_can_be_switched_off(tmp_path):
    server, _ = serve(FakeAnswerService(), tmp_path, staff_tools=False)
    try:
        assert httpx.get(server.url + "staff/config").status_code == 404
        assert httpx.get(server.url + "config").status_code == 200
    finally:
        server.close()
