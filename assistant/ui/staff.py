"""The staff page (served at ``/staff``): the FAQ desk and batch answering, with their API.

The FAQ desk answers the curated questions of ``corpus/faq.yaml`` when the page loads
(cards with copy buttons, Markdown to copy, Markdown and CSV downloads); batch mode
answers an uploaded CSV/TXT of questions into a CSV. Batch jobs run in their own
concurrency group (``batch``, ``Settings.batch_concurrency`` at once), apart from the
chat, which is another app. The upload field takes files only: a URL sent in its place
is refused, never fetched. API endpoints: ``faq`` and ``batch``. It does not decide who
may open the page: ``server`` mounts it behind ``PHT_AUTH`` when that is set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
from gradio_client.utils import is_http_url_like

from assistant.models import AnswerService
from assistant.ui.desk import DeskHandlers
from assistant.ui.faq import FaqItem
from assistant.ui.layout import TITLE, header
from assistant.ui.limits import Limits
from assistant.ui.priority import Priority
from core.settings import Settings

BATCH = "batch"  # concurrency group of batch jobs
FAQ = "faq"


def refuse_url(path: str | Path | None) -> None:
    """Raise the message a reader sees when a URL is sent where a file belongs.

    >>> refuse_url("/tmp/gradio/q.csv")
    >>> refuse_url("http://example.org/q.csv")
    Traceback (most recent call last):
    gradio.exceptions.Error: 'Upload the file itself: links (URLs) are not fetched.'
    """
    if path is not None and (is_http_url_like(str(path)) or "://" in str(path)):
        raise gr.Error("Upload the file itself: links (URLs) are not fetched.")


def files_only(field: gr.File) -> gr.File:
    """Make ``field`` refuse URLs before Gradio would download them into its cache.

    Gradio moves every file of an event's payload into the block's cache with these two
    methods, downloading it when its path is a URL; wrapping them on this one field (not
    subclassing, which would make Gradio write a ``.pyi`` next to this module) stops that.
    """
    move_async, move = field.async_move_resource_to_block_cache, field.move_resource_to_block_cache

    async def checked_async(path: str | Path | None) -> str | None:
        refuse_url(path)
        return await move_async(path)

    def checked(path: str | Path | None) -> str | None:
        refuse_url(path)
        return move(path)

    field.async_move_resource_to_block_cache = checked_async  # type: ignore[method-assign,assignment]
    field.move_resource_to_block_cache = checked  # type: ignore[method-assign,assignment]
    return field


def build_staff(
    service: AnswerService,
    settings: Settings,
    faq: list[FaqItem],
    priority: Priority | None = None,
) -> gr.Blocks:
    """The staff page as ``gr.Blocks`` (queue configured)."""
    limits = Limits.from_settings(settings)
    h = DeskHandlers(
        service, faq, limits, jobs_per_client=settings.batch_jobs_per_client, priority=priority
    )
    mb = settings.max_upload_bytes / 1_000_000

    with gr.Blocks(title=f"{TITLE}: staff tools", analytics_enabled=False) as demo:
        gr.HTML(
            header("Staff tools: the FAQ desk and batch answering. Runners use the chat page."),
            elem_id="pht-header",
        )
        gr.HTML('<p class="pht-nav"><a href="../">Back to the chat</a></p>')
        gr.HTML('<h2 class="pht-h2">FAQ desk</h2>')
        gr.Markdown(
            "Frequent questions from runners, answered by the assistant with quoted sources. "
            "Check an answer before passing it on; each card has a copy button."
        )
        refresh = gr.Button("Recompute answers", size="sm", elem_id="pht-faq-refresh")
        with gr.Accordion("Copy or export all answers", open=False):
            markdown = gr.Textbox(label="Markdown", lines=10, buttons=["copy"])
            downloads = gr.File(label="Downloads (Markdown, CSV)", file_count="multiple")
        cards = gr.HTML('<p class="pht-empty">Loading the answers…</p>', elem_id="pht-faq-cards")

        gr.HTML('<h2 class="pht-h2">Batch: answer a file of questions</h2>')
        gr.Markdown(
            f"Upload a **.csv** with a `question` column (optional `id`) or a **.txt** with one "
            f"question per line (up to {limits.batch_questions} questions, {mb:g} MB). You get a "
            "CSV (UTF-8, opens in Excel) with one row per question: status, answer and its "
            "numbered sources."
        )
        with gr.Row():
            upload = files_only(gr.File(
                label="Questions file", file_types=[".csv", ".txt"], elem_id="pht-upload",
                height=140,
            ))  # fmt: skip
            result = gr.File(label="Answers (CSV)", elem_id="pht-batch-result", height=140)
        run = gr.Button("Answer all", variant="primary", elem_id="pht-batch-run")
        batch_note = gr.Markdown(elem_id="pht-batch-note")

        def faq_load(progress: gr.Progress = gr.Progress()) -> tuple[str, str, list[str]]:  # noqa: B008
            return h.faq_desk(False, progress)

        def faq_refresh(progress: gr.Progress = gr.Progress()) -> tuple[str, str, list[str]]:  # noqa: B008
            return h.faq_desk(True, progress)

        def batch(
            upload: Any,
            request: gr.Request,
            progress: gr.Progress = gr.Progress(),  # noqa: B008
        ) -> tuple[str | None, str]:
            return h.batch(upload, progress, request)

        faq_io = [cards, markdown, downloads]
        faq_group: dict[str, Any] = {"concurrency_limit": 1, "concurrency_id": FAQ}
        demo.load(faq_load, None, faq_io, api_visibility="private", **faq_group)
        refresh.click(faq_refresh, None, faq_io, api_visibility="private", **faq_group)
        run.click(
            batch, [upload], [result, batch_note], api_name="batch",
            concurrency_limit=settings.batch_concurrency, concurrency_id=BATCH,
        )  # fmt: skip
        gr.api(h.api_faq, api_name="faq", **faq_group)

    demo.queue(default_concurrency_limit=1)
    return demo
