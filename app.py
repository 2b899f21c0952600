"""The web app's entry point: ``build_app`` (testable, no server) and ``main`` (serve it).

``build_app`` turns any ``AnswerService`` plus ``Settings`` into a ``WebApp``: the
runners' chat page and, unless ``PHT_STAFF_TOOLS=false``, the staff page (FAQ desk,
batch), sharing one feedback store. ``WebApp.server()`` mounts both on one ASGI app
(chat at ``/``, staff at ``/staff`` behind ``PHT_AUTH`` when set) and returns a server
to ``start`` in a thread or ``run`` in the foreground. ``main`` loads the settings and
the real assistant and serves on ``settings.host:settings.port`` (loopback by default),
analytics off. Everything else lives in ``assistant.ui``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import gradio as gr
from fastapi import FastAPI

from assistant.feedback import FeedbackStore
from assistant.models import AnswerService
from assistant.ui.faq import load_faq
from assistant.ui.layout import build_chat
from assistant.ui.priority import Priority
from assistant.ui.server import Server, create_asgi, parse_auth
from assistant.ui.staff import build_staff
from core.errors import PHTError
from core.settings import Settings


@dataclass
class WebApp:
    """The two pages of the web app and the settings they are served with."""

    chat: gr.Blocks
    staff: gr.Blocks | None
    settings: Settings

    def asgi(self) -> FastAPI:
        return create_asgi(self.chat, self.staff, self.settings)

    def server(self) -> Server:
        return Server(self.asgi(), self.settings.host, self.settings.port)


def build_app(assistant: AnswerService, settings: Settings) -> WebApp:
    """The app for ``assistant``; ``build_app(...).server().start()`` serves it."""
    parse_auth(settings.auth)  # a malformed PHT_AUTH stops here, before anything is served
    faq = load_faq(settings.corpus_dir)
    store = FeedbackStore(settings.feedback_db)
    priority = Priority()  # chat answers go before batch questions
    chat = build_chat(assistant, settings, store, faq, priority)
    staff = build_staff(assistant, settings, faq, priority) if settings.staff_tools else None
    return WebApp(chat, staff, settings)


def main() -> None:
    try:
        settings = Settings(**{})  # read from PHT_* variables and .env
        from assistant.service import build_assistant

        server = build_app(build_assistant(settings), settings).server()
    except PHTError as err:
        print(f"Error: {err}", file=sys.stderr)
        raise SystemExit(1) from err
    staff = f", staff tools at {server.url}staff/" if settings.staff_tools else ""
    print(f"PHT assistant running at {server.url}{staff} (Ctrl+C to stop)", flush=True)
    server.run()


if __name__ == "__main__":
    main()
