"""Build the Gradio Blocks of the web app and its launch options (no server is started here).

Two tabs: "Ask" for runners (streaming chat with cited answers, examples, retry, clear,
thumbs up/down with an optional comment) and "FAQ desk" for clinic staff (curated
questions answered on tab load, copy/export as Markdown and CSV, batch answering of an
uploaded file). API endpoints with stable names: ``ask``, ``faq``, ``feedback``,
``batch``. Styles come from ``styles.css`` injected into ``<head>``; a small script opens
the source a citation marker points to. It does not answer questions (see ``handlers``)
or load the real assistant (see ``app.py``).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import gradio as gr

from assistant.feedback import FeedbackStore
from assistant.models import AnswerService
from assistant.ui import render
from assistant.ui.faq import load_faq
from assistant.ui.handlers import Handlers
from core.errors import ConfigError
from core.settings import Settings

TITLE = "PHT running assistant"
ANSWERS = "answers"  # concurrency group of every event that computes answers

# Clicking a citation marker opens (and scrolls to) the source entry it links to.
CITE_JS = """
document.addEventListener('click', (ev) => {
  const link = ev.target.closest ? ev.target.closest('a.pht-cite') : null;
  if (!link) return;
  const target = document.getElementById((link.getAttribute('href') || '').slice(1));
  if (!target) return;
  ev.preventDefault();
  target.open = true;
  target.scrollIntoView({block: 'nearest', behavior: 'smooth'});
  target.classList.add('pht-flash');
  setTimeout(() => target.classList.remove('pht-flash'), 1200);
}, true);
"""


def styles() -> str:
    return resources.files("assistant.ui").joinpath("styles.css").read_text(encoding="utf-8")


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


def launch_kwargs(settings: Settings) -> dict[str, Any]:
    """Arguments of ``Blocks.launch`` for this app: loopback by default, nothing phoned home."""
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "auth": parse_auth(settings.auth),
        "share": False,
        "show_error": False,
        "footer_links": ["api"],
        "run_history": False,  # health questions are not kept in the browser
        "enable_monitoring": False,
        "mcp_server": False,
        "ssr_mode": False,
        "quiet": True,
    }


def build_blocks(service: AnswerService, settings: Settings) -> gr.Blocks:
    """The whole app as ``gr.Blocks`` (queue configured; call ``launch`` to serve it)."""
    faq = load_faq(settings.corpus_dir)
    h = Handlers(service, FeedbackStore(settings.feedback_db), faq)
    limit = settings.concurrency_limit
    answering: dict[str, Any] = {"concurrency_limit": limit, "concurrency_id": ANSWERS}
    examples = [i.question for i in faq if i.example] or [i.question for i in faq[:4]]

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.HTML(
            f'<div class="pht-header"><h1>{render.esc(TITLE)}</h1><p class="pht-sub">Answers about '
            "proximal hamstring tendinopathy (high hamstring pain) in runners, quoted from two "
            f"articles, with sources.</p>{render.disclaimer_html()}</div>",
            head=f"<style>{styles()}</style>",
            js_on_load=CITE_JS,
            elem_id="pht-header",
        )
        state = gr.State([])
        with gr.Tabs():
            with gr.Tab("Ask", id="chat"):
                chatbot = gr.Chatbot(
                    elem_id="pht-chat", height=540, show_label=False, render_markdown=False,
                    sanitize_html=True, buttons=[], feedback_options=("Like", "Dislike"),
                    placeholder="Ask a question about hamstring pain and running. "
                    "Every answer quotes its sources.",
                )  # fmt: skip
                with gr.Row(equal_height=True):
                    box = gr.Textbox(
                        elem_id="pht-question", show_label=False, scale=8, max_lines=6,
                        placeholder="e.g. Can I keep running with high hamstring pain?",
                    )  # fmt: skip
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="pht-send")
                with gr.Row():
                    retry = gr.Button("↻ Retry", size="sm", elem_id="pht-retry")
                    clear = gr.Button("Clear conversation", size="sm", elem_id="pht-clear")
                gr.Examples([[q] for q in examples], inputs=box, label="Example questions")
                with gr.Accordion("Was the latest answer helpful?", open=True):
                    comment = gr.Textbox(
                        label="Comment (optional)", elem_id="pht-comment", max_lines=4,
                        placeholder="What was useful, wrong or missing?",
                    )  # fmt: skip
                    with gr.Row():
                        up = gr.Button("👍 Helpful", size="sm", elem_id="pht-up")
                        down = gr.Button("👎 Not helpful", size="sm", elem_id="pht-down")
                    thanks = gr.Markdown(elem_id="pht-feedback-status")
            with gr.Tab("FAQ desk", id="faq") as faq_tab:
                gr.Markdown(
                    "Frequent questions from runners, answered by the assistant with quoted "
                    "sources. Check an answer before passing it on."
                )
                with gr.Row():
                    refresh = gr.Button(
                        "Recompute answers", size="sm", scale=0, elem_id="pht-faq-refresh"
                    )
                with gr.Accordion("Copy or export all answers", open=False):
                    markdown = gr.Textbox(label="Markdown", lines=10, buttons=["copy"])
                    downloads = gr.File(label="Downloads (Markdown, CSV)", file_count="multiple")
                with gr.Accordion("Batch: answer a file of questions", open=False):
                    gr.Markdown(
                        "Upload a **.csv** with a `question` column (optional `id`) or a "
                        "**.txt** with one question per line. You get a CSV of id, question, "
                        "status, answer and citations."
                    )
                    with gr.Row():
                        upload = gr.File(
                            label="Questions file", file_types=[".csv", ".txt"],
                            elem_id="pht-upload", height=140,
                        )  # fmt: skip
                        result = gr.File(
                            label="Answers (CSV)", elem_id="pht-batch-result", height=140
                        )
                    run = gr.Button("Answer all", variant="primary", elem_id="pht-batch-run")
                    batch_note = gr.Markdown(elem_id="pht-batch-note")
                cards = gr.HTML(
                    '<p class="pht-empty">Loading the answers…</p>', elem_id="pht-faq-cards"
                )

        chat_io: dict[str, Any] = {"inputs": [box, state], "outputs": [chatbot, state, box]}
        for trigger in (send.click, box.submit):
            trigger(h.chat, **chat_io, api_visibility="private", **answering)
        retry.click(h.retry, [state], [chatbot, state], api_visibility="private", **answering)
        clear.click(h.clear, None, [chatbot, state, box, thanks], api_visibility="private")
        chatbot.clear(h.clear, None, [chatbot, state, box, thanks], api_visibility="private")
        chatbot.like(h.like, [state, comment], [thanks, comment], api_visibility="private")

        def rate_up(exchanges: list, text: str) -> tuple[str, str]:
            return h.rate_latest(exchanges, text, True)

        def rate_down(exchanges: list, text: str) -> tuple[str, str]:
            return h.rate_latest(exchanges, text, False)

        up.click(rate_up, [state, comment], [thanks, comment], api_visibility="private")
        down.click(rate_down, [state, comment], [thanks, comment], api_visibility="private")

        def faq_load(progress: gr.Progress = gr.Progress()) -> tuple[str, str, list[str]]:  # noqa: B008
            return h.faq_desk(False, progress)

        def faq_refresh(progress: gr.Progress = gr.Progress()) -> tuple[str, str, list[str]]:  # noqa: B008
            return h.faq_desk(True, progress)

        def batch(upload: Any, progress: gr.Progress = gr.Progress()) -> tuple[str | None, str]:  # noqa: B008
            return h.batch(upload, progress)

        faq_io = [cards, markdown, downloads]
        faq_tab.select(faq_load, None, faq_io, api_visibility="private", **answering)
        refresh.click(faq_refresh, None, faq_io, api_visibility="private", **answering)
        run.click(batch, [upload], [result, batch_note], api_name="batch", **answering)

        gr.api(h.api_ask, api_name="ask", **answering)
        gr.api(h.api_faq, api_name="faq", **answering)
        gr.api(h.api_feedback, api_name="feedback")

    demo.queue(default_concurrency_limit=limit)
    return demo
