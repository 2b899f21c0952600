"""Chat latency of the web app under batch load, printed as figures (nothing is asserted).

Serves the app (chat at ``/``, staff tools at ``/staff/`` behind four staff logins) on a
free loopback port and measures, through ``gradio_client`` like any API client:

1. chat alone: 20 users, each asking ``--questions`` questions one after another on ``/ask``;
2. the same 20 users while four clients each run a 500-question ``/batch`` job.

Next to each client-side latency it prints the server's share, measured by ``ServerClock``
(an ASGI wrapper in the served process): from the arrival of an event's ``queue/join``
request to the moment its ``process_completed`` message is written to the SSE stream, and
how many SSE messages the event produced; and the CPU seconds each process (server,
clients) spent per chat answer. The rest of a latency is the client library's own work:
``gradio_client`` opens two new HTTP clients per request, each building a TLS context
(loading the system's CA certificates) even for ``http://``; the script prints what one
costs here, since 20 users' requests share this process's interpreter.
``--light-clients`` (a diagnostic, not the target figure) lets the clients skip that
work (``ssl_verify=False``; nothing is encrypted on ``http://`` anyway).

Target (issue #13): chat p95 <= 2 s under batch load (it was 54 s when chat and batch
shared the answer slots). By default the answers come from a FAKE answer service with a
realistic per-answer cost (``--cost-ms`` of pure-Python CPU work holding the interpreter
lock, like the warm extractive answer's ~25 ms), so the figures measure the app's queues
and fairness, not retrieval; ``--real`` uses the real extractive assistant instead (builds
a throw-away index first, needs the embedding model).

Usage: ``.venv/bin/python benchmarks/load.py [--questions 10] [--cost-ms 25] [--real]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from assistant.models import Answer, Turn  # noqa: E402
from tests.fake_service import FakeAnswerService  # noqa: E402

USERS = 20
BATCHES = 4
BATCH_QUESTIONS = 500
STAFF = [(f"staff{n}", "load-test") for n in range(BATCHES)]


class CostlyFake(FakeAnswerService):
    """The test fake, spending ``cost_ms`` of CPU (holding the GIL) on every answer."""

    def __init__(self, cost_ms: float):
        super().__init__()
        self.cost_s = cost_ms / 1000

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        end = time.perf_counter() + self.cost_s
        n = 0
        while time.perf_counter() < end:
            n += sum(i * i for i in range(200))
        return super().ask(question, history)

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[str | Answer]:
        yield self.ask(question, history)


class ServerClock:
    """ASGI wrapper timing chat events from ``queue/join`` arrival to ``process_completed``.

    ``GET /__clock`` returns (and resets) the chat events' server latencies and SSE message
    counts as JSON. Only the chat app's events (paths outside ``/staff``) are timed.
    """

    EVENT = re.compile(rb'"event_id":\s*"([0-9a-f]+)"')

    def __init__(self, app: Any):
        self.app = app
        self.joined: dict[bytes, float] = {}
        self.messages: dict[bytes, int] = {}
        self.done: list[tuple[float, int]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == "/__clock":
            body = json.dumps(self.done).encode()
            self.done = []
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
            return
        if path.startswith("/staff") or not path.endswith(("/queue/join", "/queue/data")):
            await self.app(scope, receive, send)
            return
        arrived = time.perf_counter()
        joining = path.endswith("/queue/join")

        async def timed_send(message: Any) -> None:
            if message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                found = self.EVENT.search(chunk)
                if found and joining:
                    self.joined[found.group(1)] = arrived
                elif found:
                    event = found.group(1)
                    self.messages[event] = self.messages.get(event, 0) + chunk.count(b"data:")
                    if b'"process_completed"' in chunk and event in self.joined:
                        latency = time.perf_counter() - self.joined.pop(event)
                        self.done.append((latency, self.messages.pop(event)))
            await send(message)

        await self.app(scope, receive, timed_send)


def server_clock(url: str) -> list[tuple[float, int]]:
    import httpx

    return [(float(x), int(n)) for x, n in httpx.get(url + "__clock").json()]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def floors(cost_ms: float) -> str:
    """CPU of one fake answer and of one TLS context as gradio_client builds it, here and now."""
    import httpx

    fake = CostlyFake(cost_ms)
    t = time.process_time()
    for _ in range(5):
        fake.ask("Can I run?")
    answer_ms = (time.process_time() - t) / 5 * 1000
    t = time.process_time()
    for _ in range(5):
        httpx.Client().close()
    tls_ms = (time.process_time() - t) / 5 * 1000
    return (
        f"floors here: one fake answer {answer_ms:.0f} ms CPU; one gradio_client TLS context "
        f"{tls_ms:.0f} ms CPU, 2 per request, so {USERS} users' requests need "
        f"{USERS * 2 * tls_ms / 1000:.2f} s of the bench process's interpreter per round"
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chat_round(
    url: str, questions: int, server_pid: int, light: bool = False
) -> tuple[list[float], float, float]:
    """20 users asking ``questions`` questions each, concurrently.

    Returns every latency in seconds, and the CPU seconds the server and the clients spent
    while they were asked (the clients' set-up, which fetches the app's API, is left out).
    """
    from gradio_client import Client

    clients = [Client(url, verbose=False, ssl_verify=not light) for _ in range(USERS)]

    def user(n: int) -> list[float]:
        out = []
        for k in range(questions):
            t = time.perf_counter()
            answer = clients[n].predict(f"Runner {n}, question {k}: can I run?", None,
                                        api_name="/ask")  # fmt: skip
            out.append(time.perf_counter() - t)
            assert answer["status"] == "answered", answer["status"]
        return out

    server0, clients0 = cpu_seconds(server_pid), sum(os.times()[:2])
    with ThreadPoolExecutor(max_workers=USERS) as pool:
        latencies = [x for xs in pool.map(user, range(USERS)) for x in xs]
    server_cpu, clients_cpu = cpu_seconds(server_pid) - server0, sum(os.times()[:2]) - clients0
    return latencies, server_cpu, clients_cpu


def report(label: str, latencies: list[float]) -> str:
    return (
        f"{label:<34} n={len(latencies):>4}  p50 {statistics.median(latencies):6.3f} s  "
        f"p95 {pct(latencies, 0.95):6.3f} s  max {max(latencies):6.3f} s"
    )


def measured_round(
    url: str, questions: int, server_pid: int, light: bool = False
) -> tuple[list[float], list[float], str]:
    """A chat round: its latencies, the server's share of each, and a report of both."""
    server_clock(url)  # reset
    latencies, cpu, mine = chat_round(url, questions, server_pid, light)
    clock = server_clock(url)
    server = [x for x, _ in clock] or [0.0]
    messages = [n for _, n in clock] or [0]
    return (
        latencies,
        server,
        (
            f"{'  of which server (join->completed)':<34} n={len(clock):>4}  "
            f"p50 {statistics.median(server):6.3f} s  p95 {pct(server, 0.95):6.3f} s  "
            f"max {max(server):6.3f} s; {statistics.median(messages):g} SSE messages per answer\n"
            f"{'  CPU per chat answer':<34} server {1000 * cpu / len(latencies):5.1f} ms, "
            f"clients {1000 * mine / len(latencies):5.1f} ms"
        ),
    )


def build_service(args: argparse.Namespace, tmp: Path):  # type: ignore[no-untyped-def]
    if not args.real:
        return CostlyFake(args.cost_ms), f"FAKE answer service, {args.cost_ms:g} ms CPU per answer"
    from assistant.service import build_assistant
    from core.settings import Settings
    from ingest.embed import SentenceTransformerEmbedder
    from ingest.pipeline import ingest

    settings = Settings(corpus_dir=ROOT / "corpus", data_dir=tmp / "real", _env_file=None)
    embedder = SentenceTransformerEmbedder()
    ingest(settings, embedder)
    return build_assistant(
        settings, embedder=embedder, backend="extractive"
    ), "REAL extractive assistant"


def serve(args: argparse.Namespace) -> None:
    """The server side, run in its own process so client threads do not share its GIL."""
    from app import build_app
    from core.settings import Settings

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        service, what = build_service(args, tmp)
        settings = Settings(
            corpus_dir=ROOT / "corpus", data_dir=tmp / "data", port=args.port,
            auth=",".join(f"{u}:{p}" for u, p in STAFF), _env_file=None,
        )  # fmt: skip
        print(f"Answers from: {what}.")
        print(
            f"App: chat concurrency {settings.concurrency_limit}, batch concurrency "
            f"{settings.batch_concurrency}, {settings.batch_jobs_per_client} batch job per "
            f"client; {os.cpu_count()} CPU cores.",
            flush=True,
        )
        from assistant.ui.server import Server

        Server(ServerClock(build_app(service, settings).asgi()), settings.host, args.port).run()


def wait_for_port(port: int, server: subprocess.Popen[bytes], timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the app process stopped before serving")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit("the app did not start in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=10, help="questions per chat user")
    parser.add_argument("--cost-ms", type=float, default=25.0, help="CPU per fake answer")
    parser.add_argument("--real", action="store_true", help="use the real extractive assistant")
    parser.add_argument("--light-clients", action="store_true",
                        help="diagnostic: clients skip building TLS contexts (not the target figure)")  # fmt: skip
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return

    from gradio_client import Client, handle_file

    port = free_port()
    command = [sys.executable, __file__, "--serve", "--port", str(port),
               "--cost-ms", str(args.cost_ms)] + (["--real"] if args.real else [])  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_port(port, server)
        print(f"load average at start: {os.getloadavg()[0]:.1f}", flush=True)
        print(floors(args.cost_ms), flush=True)
        if args.light_clients:
            print("DIAGNOSTIC: --light-clients (clients skip TLS contexts); not the target figure")
        alone, alone_server, detail = measured_round(
            url, args.questions, server.pid, args.light_clients
        )
        print(report(f"chat alone ({USERS} users)", alone), detail, sep="\n", flush=True)

        with tempfile.TemporaryDirectory() as tmp_dir:
            questions = Path(tmp_dir) / "questions.txt"
            questions.write_text(
                "".join(
                    f"Batch question {n}: can I keep running?\n" for n in range(BATCH_QUESTIONS)
                ),
                encoding="utf-8",
            )
            started = time.perf_counter()
            jobs = [
                Client(url + "staff/", auth=login, verbose=False).submit(
                    handle_file(str(questions)), api_name="/batch"
                )
                for login in STAFF
            ]
            time.sleep(1.0)  # let the batch jobs get going
            loaded, loaded_server, detail = measured_round(
                url, args.questions, server.pid, args.light_clients
            )
            running = sum(not job.done() for job in jobs)
            print(
                report(f"chat during {BATCHES} x {BATCH_QUESTIONS}-question batches", loaded)
                + f"  ({running} of {BATCHES} batches still running at the end)",
                detail, sep="\n", flush=True,
            )  # fmt: skip
            results = [job.result(timeout=3600) for job in jobs]
        took = time.perf_counter() - started
        print(f"batches: {[msg for _, msg in results]} in {took:.1f} s "
              f"({BATCHES * BATCH_QUESTIONS / took:.0f} answers/s)")  # fmt: skip
        print(
            f"load average at the end: {os.getloadavg()[0]:.1f} (other work on this machine inflates every figure)"
        )
        verdict = "meets" if pct(loaded, 0.95) <= 2.0 else "MISSES"
        note = " [DIAGNOSTIC run with --light-clients]" if args.light_clients else ""
        print(f"target chat p95 <= 2 s under batch load: {verdict} it{note} "
              f"({pct(loaded, 0.95):.3f} s; {pct(alone, 0.95):.3f} s without batches); "
              f"server's share p95 {pct(loaded_server, 0.95):.3f} s "
              f"({pct(alone_server, 0.95):.3f} s without batches)")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
