"""A real HTTP server on 127.0.0.1 speaking the OpenAI chat-completions protocol, scripted per test.

``FakeOpenAIServer`` serves ``POST /v1/chat/completions`` (plain JSON, or server-sent
events with chunked encoding when the request says ``"stream": true``) and
``GET /v1/models``. Each chat request takes the next scripted response from a queue:
``reply`` (text), ``fail`` (an HTTP status, optionally echoing the caller's key the way a
careless server would), ``malformed`` (invalid JSON), ``empty`` (no content), ``cut``
(connection closed mid-stream) or ``slow`` (sleeps before answering). With nothing
scripted it answers HTTP 500. Every request is recorded (method, path, headers, JSON
body) so tests can assert what was sent, or that nothing was.

Like llama.cpp's server (what the real local model runs on): the first streamed delta has
``"content": null``, the last chunk carries ``timings``, the request's ``model`` is ignored,
and a prompt longer than ``context_tokens`` (4 characters a token) gets HTTP 400
``exceed_context_size_error``. ``response_format`` is ``"accept"`` (default: the scripted
text is sent as is, so script JSON with ``reply_json``) or ``"reject"`` (HTTP 400 for any
request carrying it, without using up the script, like a server without structured output).
It does not implement tools, embeddings, usage accounting or authentication beyond what a
test scripts.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Scripted:
    kind: str  # text | status | malformed | empty | cut | slow
    text: str = ""
    status: int = 200
    delay: float = 0.0
    after: int = 2  # for "cut": content chunks sent before the connection is closed
    chunked: bool = True  # for "cut": False = plain close-delimited body, no [DONE]
    echo_key: bool = False  # for "status": put the received bearer token in the error body
    finish_reason: str = "stop"
    chunk_delay: float = 0.0  # seconds between stream chunks


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.body or {}).get("messages", []))


def _deltas(text: str) -> list[str]:
    """Word-sized stream chunks that join back to ``text``."""
    return re.findall(r"\S+\s*|\s+", text)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        return

    def _record(self, body: Any) -> None:
        self.server.owner.requests.append(
            Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )

    def _send_json(self, status: int, payload: Any, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._record(None)
        owner = self.server.owner
        if self.path.rstrip("/") != "/v1/models":
            self._send_json(404, {"error": {"message": "not found"}})
            return
        if owner.models_delay and owner.stopping.wait(owner.models_delay):
            return
        self._send_json(
            owner.models_status,
            {"object": "list", "data": [{"id": owner.model, "object": "model"}]},
        )

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = {"unparsed": raw.decode("utf-8", "replace")}
        self._record(body)
        owner = self.server.owner
        if self.path.rstrip("/") == "/tokenize" and owner.tokenize and isinstance(body, dict):
            self._send_json(200, {"tokens": list(range(len(str(body.get("content", "")).split())))})
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(404, {"error": {"message": "not found"}})
            return
        if isinstance(body, dict) and body.get("response_format") and owner.response_format == "reject":
            self._send_json(400, {"error": {"code": 400, "type": "invalid_request_error",
                                            "message": "response_format is not supported"}})
            return
        if isinstance(body, dict) and owner.context_tokens is not None:
            chars = sum(len(str(m.get("content") or "")) for m in body.get("messages", []))
            if chars // 4 > owner.context_tokens:
                self._send_json(400, {"error": {
                    "code": 400, "type": "exceed_context_size_error",
                    "message": "the request exceeds the available context size, try increasing it",
                    "n_prompt_tokens": chars // 4, "n_ctx": owner.context_tokens}})
                return
        script = owner.next_script()
        if script.kind == "slow" and owner.stopping.wait(script.delay):
            return
        stream = bool(isinstance(body, dict) and body.get("stream"))
        try:
            if script.kind == "status":
                message = f"scripted HTTP {script.status}"
                if script.echo_key:
                    message += f": bad key {self.headers.get('Authorization', '')!r}"
                self._send_json(
                    script.status, {"error": {"message": message, "code": script.status}}
                )
            elif script.kind == "malformed" and not stream:
                self._send_json(200, None, raw=b'{"id": "x", "choices": [{"mess')
            elif stream:
                self._stream(script)
            else:
                content = "" if script.kind == "empty" else script.text
                self._send_json(200, owner.completion(content, script.finish_reason))
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            return

    def _stream(self, script: Scripted) -> None:
        owner = self.server.owner
        chunked = script.chunked or script.kind != "cut"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

        def event(data: str) -> None:
            payload = f"data: {data}\n\n".encode()
            if chunked:
                payload = f"{len(payload):x}\r\n".encode() + payload + b"\r\n"
            self.wfile.write(payload)
            self.wfile.flush()

        if script.kind == "malformed":
            event('{"id": "x", "choices": [{"delta": ')
        else:
            event(json.dumps(owner.chunk({"role": "assistant", "content": None})))
            for i, piece in enumerate(_deltas("" if script.kind == "empty" else script.text)):
                if script.kind == "cut" and i == script.after:
                    self.close_connection = True
                    self.connection.shutdown(2)  # mid-stream: no final chunk, no [DONE]
                    return
                if script.chunk_delay and owner.stopping.wait(script.chunk_delay):
                    return
                event(json.dumps(owner.chunk({"content": piece})))
            last = owner.chunk({}, script.finish_reason)
            last["timings"] = {"prompt_n": 100, "predicted_n": 20, "predicted_per_second": 25.0}
            event(json.dumps(last))
            event("[DONE]")
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: FakeOpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients hanging up are normal
            super().handle_error(request, client_address)


@dataclass
class FakeOpenAIServer:
    """Scripted OpenAI-compatible server; ``base_url`` ends with ``/v1``."""

    model: str = "fake-model"
    models_status: int = 200
    models_delay: float = 0.0  # seconds GET /v1/models waits before answering
    response_format: str = "accept"  # or "reject"
    context_tokens: int | None = None  # prompt tokens (chars // 4) above which HTTP 400
    tokenize: bool = False  # serve llama.cpp's POST /tokenize (one token per word)
    requests: list[Recorded] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    _queue: deque[Scripted] = field(default_factory=deque)
    _httpd: _Server | None = None

    # --- scripting -------------------------------------------------------------
    def reply(
        self, text: str, finish_reason: str = "stop", chunk_delay: float = 0.0
    ) -> FakeOpenAIServer:
        self._queue.append(
            Scripted("text", text=text, finish_reason=finish_reason, chunk_delay=chunk_delay)
        )
        return self

    def reply_json(
        self, sentences: list[tuple[str, list[int]]], finish_reason: str = "stop"
    ) -> FakeOpenAIServer:
        """A structured answer: ``[(text, cites), ...]`` as the JSON the schema asks for."""
        payload = {"sentences": [{"text": t, "cites": c} for t, c in sentences]}
        return self.reply(json.dumps(payload), finish_reason)

    def fail(self, status: int, *, echo_key: bool = False) -> FakeOpenAIServer:
        self._queue.append(Scripted("status", status=status, echo_key=echo_key))
        return self

    def malformed(self) -> FakeOpenAIServer:
        self._queue.append(Scripted("malformed"))
        return self

    def empty(self) -> FakeOpenAIServer:
        self._queue.append(Scripted("empty"))
        return self

    def cut(self, text: str, after: int = 2, *, chunked: bool = True) -> FakeOpenAIServer:
        self._queue.append(Scripted("cut", text=text, after=after, chunked=chunked))
        return self

    def slow(self, delay: float, text: str = "Too late [1].") -> FakeOpenAIServer:
        self._queue.append(Scripted("slow", text=text, delay=delay))
        return self

    def next_script(self) -> Scripted:
        try:
            return self._queue.popleft()
        except IndexError:
            return Scripted("status", status=500)

    # --- protocol payloads ---------------------------------------------------------
    def completion(self, content: str, finish_reason: str) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": finish_reason,
                }
            ],
        }

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    # --- lifecycle -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "start() the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    def start(self) -> FakeOpenAIServer:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A started ``FakeOpenAIServer``, stopped after the test."""
    server = FakeOpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()
