"""Serve the runners' chat at ``/`` and the staff page at ``/staff`` from one ASGI app.

The two pages are separate Gradio apps with their own queues, so batch work never holds a
chat answer's slot. The staff app (and with it ``/staff/gradio_api/.../batch`` and
``faq``) is mounted behind ``PHT_AUTH`` logins when they are set, and not at all when
``PHT_STAFF_TOOLS=false``; the chat needs a login only with ``PHT_CHAT_LOGIN=true``.
Uploads are size-checked while they stream in (``max_file_size``), before anything reads
them. Each chat request to the queue counts as chat work in progress (``ChatTraffic``),
so batch questions wait while the server handles it. ``Server`` runs uvicorn in a thread
for tests and in the foreground for ``main``.
It does not build the pages (see ``layout`` and ``staff``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import gradio as gr
import uvicorn
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.types import ASGIApp

from assistant.ui.layout import head, priority_of
from assistant.ui.priority import Priority
from core.errors import ConfigError
from core.settings import Settings

STAFF_PATH = "/staff"
CHAT_UPLOAD_BYTES = 1024  # the chat has no upload field
CHAT_WORK = ("/queue/join", "/queue/data", "/call/")  # a chat event's requests


def is_chat_work(path: str) -> bool:
    """Whether a request path is part of a chat event (not a page, asset or staff request).

    >>> is_chat_work("/gradio_api/queue/join"), is_chat_work("/gradio_api/call/ask/3f2a")
    (True, True)
    >>> is_chat_work("/staff/gradio_api/queue/join"), is_chat_work("/gradio_api/heartbeat/x")
    (False, False)
    """
    return not path.startswith(STAFF_PATH + "/") and any(part in path for part in CHAT_WORK)


class ChatTraffic:
    """ASGI wrapper: a chat request is chat work in progress from its arrival to its last byte.

    The join request (or API call) and the result stream (``queue/data``, which ends once
    the session's events are done) are counted, so batch questions (``Priority``) wait
    while the server reads, queues, answers and sends a chat request, not only while its
    answer is computed.
    """

    def __init__(self, app: ASGIApp, priority: Priority):
        self.app = app
        self.priority = priority

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and is_chat_work(scope.get("path", "")):
            with self.priority.chat():
                await self.app(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def parse_auth(auth: str | None) -> list[tuple[str, str]] | None:
    """Logins from ``"user:pw,user2:pw2"``; ``None`` when no login is required.

    >>> parse_auth("clinic:s3cret, coach:a:b")
    [('clinic', 's3cret'), ('coach', 'a:b')]
    """
    if not auth or not auth.strip():
        return None
    pairs = []
    for entry in auth.split(","):
        user, sep, password = entry.strip().partition(":")
        if not sep or not user or not password:
            raise ConfigError(
                "PHT_AUTH must look like 'user:password,user2:password2'.",
                fix="set PHT_AUTH to comma-separated user:password pairs, or unset it.",
            )
        pairs.append((user, password))
    return pairs


def mount_options(settings: Settings) -> dict[str, Any]:
    """Options shared by both pages: nothing phoned home, no run history, no tracebacks."""
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "footer_links": ["api"],
        "run_history": False,  # health questions are not kept in the browser
        "show_error": False,
        "enable_monitoring": False,
        "mcp_server": False,
        "ssr_mode": False,
        "head": head(),
    }


def create_asgi(chat: gr.Blocks, staff: gr.Blocks | None, settings: Settings) -> FastAPI:
    """One FastAPI app: ``/staff`` (when given, behind PHT_AUTH) then the chat at ``/``."""
    auth = parse_auth(settings.auth)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    options = mount_options(settings)
    if staff is not None:

        @app.get(STAFF_PATH, include_in_schema=False)
        def staff_slash() -> RedirectResponse:
            return RedirectResponse(STAFF_PATH + "/")

        gr.mount_gradio_app(
            app, staff, STAFF_PATH, auth=auth, max_file_size=settings.max_upload_bytes,
            auth_message="Staff tools: log in with a clinic account.", **options,
        )  # fmt: skip
    gr.mount_gradio_app(
        app, chat, "/", auth=auth if settings.chat_login else None,
        max_file_size=CHAT_UPLOAD_BYTES, **options,
    )  # fmt: skip
    priority = priority_of(chat)
    if priority is not None:
        app.add_middleware(ChatTraffic, priority=priority)
    return app


class Server:
    """uvicorn serving an ASGI app on ``host:port``; ``start`` in a thread or ``run`` here."""

    def __init__(self, app: ASGIApp, host: str, port: int):
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.url = f"http://{host}:{port}/"
        self._thread: threading.Thread | None = None

    def start(self, timeout_s: float = 30.0) -> str:
        """Serve in a background thread; return the URL once it accepts connections."""
        self._thread = threading.Thread(target=self.server.run, daemon=True, name="pht-web")
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(
                    f"The web app could not start on {self.url}.",
                    fix="set PHT_PORT to a free port (or PHT_HOST to an address of this machine).",
                )
            time.sleep(0.05)
        return self.url

    def run(self) -> None:
        """Serve in the foreground until Ctrl+C."""
        self.server.run()

    def close(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
