"""The web app's entry point: ``build_app`` (testable, no server) and ``main`` (launch it).

``build_app`` turns any ``AnswerService`` plus ``Settings`` into ``gr.Blocks``; ``main``
loads the settings, builds the real assistant, and serves the app on
``settings.host:settings.port`` (loopback by default), with optional logins, analytics
off and a queue limited to ``settings.concurrency_limit`` answers at once. Everything
else lives in ``assistant.ui``.
"""

from __future__ import annotations

import sys

import gradio as gr

from assistant.models import AnswerService
from assistant.ui.layout import build_blocks, launch_kwargs
from core.errors import PHTError
from core.settings import Settings


def build_app(assistant: AnswerService, settings: Settings) -> gr.Blocks:
    """The app for ``assistant``; call ``.launch(**launch_kwargs(settings))`` to serve it."""
    return build_blocks(assistant, settings)


def main() -> None:
    try:
        settings = Settings(**{})  # read from PHT_* variables and .env
        from assistant.service import build_assistant

        demo = build_app(build_assistant(settings), settings)
        _, url, _ = demo.launch(prevent_thread_lock=True, **launch_kwargs(settings))
    except PHTError as err:
        print(f"Error: {err}", file=sys.stderr)
        raise SystemExit(1) from err
    print(f"PHT assistant running at {url} (Ctrl+C to stop)", flush=True)
    demo.block_thread()


if __name__ == "__main__":
    main()
