"""The runners' page: the chat (Gradio Blocks) and the options it is served with.

One column: header with the disclaimer, the chat (streaming cited answers; thumbs
up/down on each answer with an optional comment), the question box, Clear (and Retry
only when another attempt could differ), and the example questions shown whole and
sent on click. API endpoints with stable names: ``ask`` and ``feedback``. Chat events run
in their own concurrency group (``chat``), apart from the staff tools, which are a
separate app (see ``staff``); the page keeps its ``Priority`` (``priority_of``) so the
server can count chat requests as chat work too. Styles come from ``styles.css`` and behaviour from
``page.js``, both injected into ``<head>``. It does not answer questions (see
``handlers``) or start a server (see ``server``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from assistant.feedback import FeedbackStore
from assistant.models import AnswerService
from assistant.ui import render
from assistant.ui.faq import FaqItem
from assistant.ui.handlers import ChatHandlers
from assistant.ui.limits import Limits
from assistant.ui.priority import Priority
from core.settings import Settings

TITLE = "PHT running assistant"
CHAT = "chat"  # concurrency group of the chat's answering events
PRIORITY = "pht_priority"  # the chat page's Priority, kept on its Blocks for the server
FEEDBACK = "feedback"
HERE = Path(__file__).resolve().parent


def asset(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


def head() -> str:
    """What every page puts in ``<head>``: its styles and its script (no external request)."""
    return f"<style>{asset('styles.css')}</style><script>{asset('page.js')}</script>"


def header(subtitle: str) -> str:
    return (
        f'<div class="pht-header"><h1>{render.esc(TITLE)}</h1>'
        f'<p class="pht-sub">{render.esc(subtitle)}</p>{render.disclaimer_html()}</div>'
    )


def priority_of(chat: gr.Blocks) -> Priority | None:
    """The ``Priority`` the chat page's answers mark (``server`` counts chat requests with it)."""
    found = getattr(chat, PRIORITY, None)
    return found if isinstance(found, Priority) else None


def build_chat(
    service: AnswerService,
    settings: Settings,
    store: FeedbackStore,
    faq: list[FaqItem],
    priority: Priority | None = None,
) -> gr.Blocks:
    """The runners' chat page as ``gr.Blocks`` (queue configured)."""
    h = ChatHandlers(service, store, Limits.from_settings(settings), priority)
    answering: dict[str, Any] = {
        "concurrency_limit": settings.concurrency_limit, "concurrency_id": CHAT,
    }  # fmt: skip
    rating: dict[str, Any] = {"concurrency_limit": 8, "concurrency_id": FEEDBACK}
    examples = [i.question for i in faq if i.example] or [i.question for i in faq[:4]]

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.HTML(
            header(
                "Answers about proximal hamstring tendinopathy (high hamstring pain) in runners, "
                "quoted from two articles, with sources."
            ),
            elem_id="pht-header",
        )
        state = gr.State([])
        rated = gr.State("")
        chatbot = gr.Chatbot(
            elem_id="pht-chat", show_label=False, label="Conversation", render_markdown=False,
            sanitize_html=True, buttons=[], feedback_options=("Like", "Dislike"),
            height=None, max_height=None, autoscroll=False,
            placeholder="Ask a question about hamstring pain and running. "
            "Every answer quotes its sources.",
        )  # fmt: skip
        with gr.Row(equal_height=True, elem_id="pht-ask-row"):
            box = gr.Textbox(
                elem_id="pht-question", label="Your question", show_label=False, scale=8,
                max_lines=6, max_length=settings.max_question_chars,
                placeholder="e.g. Can I keep running with high hamstring pain?",
            )  # fmt: skip
            send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="pht-send")
        with gr.Row(elem_id="pht-controls"):
            retry = gr.Button("↻ Try again", size="sm", visible=False, elem_id="pht-retry")
            clear = gr.Button("Clear conversation", size="sm", elem_id="pht-clear")
        note = gr.Markdown(elem_id="pht-feedback-status")
        with gr.Group(visible=False, elem_id="pht-comment-group") as comment_group:
            comment = gr.Textbox(
                label="Comment on your rating (optional)", elem_id="pht-comment", max_lines=4,
                max_length=settings.max_feedback_chars,
                placeholder="What was useful, wrong or missing?",
            )  # fmt: skip
            send_comment = gr.Button("Send comment", size="sm", elem_id="pht-comment-send")
        if examples:
            gr.HTML('<h2 class="pht-examples-title">Example questions</h2>')
            with gr.Column(elem_id="pht-examples"):
                buttons = [gr.Button(q, size="sm", elem_classes=["pht-example"]) for q in examples]

        outputs = [chatbot, state, box, retry, note, comment_group]
        for trigger in (send.click, box.submit):
            trigger(h.chat, [box, state], outputs, api_visibility="private", **answering)
        for b in buttons if examples else []:
            b.click(h.chat, [b, state], outputs, api_visibility="private", **answering)
        retry.click(h.retry, [state], outputs, api_visibility="private", **answering)
        clear.click(h.clear, None, outputs, api_visibility="private")
        chatbot.like(
            h.like, [state], [note, rated, comment_group, comment],
            api_visibility="private", **rating,
        )  # fmt: skip
        send_comment.click(
            h.comment, [state, rated, comment], [note, comment_group, comment],
            api_visibility="private", **rating,
        )  # fmt: skip

        gr.api(h.api_ask, api_name="ask", **answering)
        gr.api(h.api_feedback, api_name="feedback", **rating)

    demo.queue(default_concurrency_limit=settings.concurrency_limit)
    setattr(demo, PRIORITY, h.priority)
    return demo
