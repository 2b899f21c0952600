"""Safe HTML for answers, notices, questions and errors in the chat (pure functions).

Every piece of text that comes from a question, a corpus file or a language model is
escaped with ``html.escape`` before it is placed in markup this module writes itself;
nothing is ever passed through as HTML, so ``<script>`` or ``<img onerror=...>`` shows
as text. The answer text goes through a small Markdown subset (``richtext``); citation
markers ``[n]`` become links to the source entry of the passage they quote (``sources``).
Each answer carries a copy button whose hidden text is the answer with its numbered
sources as plain text. It does not call the assistant or know about Gradio.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from assistant.gate_data import load_data
from assistant.models import Answer
from assistant.ui import richtext
from assistant.ui.export import answer_plain
from assistant.ui.sources import esc, group_citations, marker_targets, render_sources

__all__ = [
    "DISCLAIMER",
    "disclaimer_html",
    "esc",
    "link_markers",
    "render_answer",
    "render_error",
    "render_notices",
    "render_preview",
    "render_question",
]  # fmt: skip

DISCLAIMER = (
    "General information from two articles by a running physical therapist, not a diagnosis. "
    "For advice about your own pain, see a clinician."
)
_MARKERS = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_STATUS_LABEL = {
    "answered": "",
    "red_flag": "Please get this checked",
    "out_of_scope": "Outside what the articles cover",
    "invalid_input": "Could not read the question",
}


def link_markers(escaped: str, targets: Mapping[int, str]) -> str:
    """Replace ``[n]`` / ``[n, m]`` for known markers with links to ``#<targets[n]>``.

    Unknown numbers stay plain text.

    >>> link_markers("Run [1, 9].", {1: "a0-src-1"})
    'Run <a class="pht-cite" href="#a0-src-1" data-marker="1" aria-label="Source 1">[1]</a>[9].'
    """

    def one(n: int) -> str:
        if n not in targets:
            return f"[{n}]"
        return (
            f'<a class="pht-cite" href="#{esc(targets[n])}" data-marker="{n}" '
            f'aria-label="Source {n}">[{n}]</a>'
        )

    def repl(m: re.Match[str]) -> str:
        return "".join(one(int(n)) for n in re.split(r"\s*,\s*", m.group(1)))

    return _MARKERS.sub(repl, escaped)


def paragraphs(escaped: str) -> str:
    """Already-escaped text as ``<p>`` blocks (blank line) with ``<br>`` (newline).

    >>> paragraphs("a\\nb\\n\\nc")
    '<p>a<br>b</p><p>c</p>'
    """
    blocks = [b.strip() for b in re.split(r"\n\s*\n", escaped.strip()) if b.strip()]
    return "".join(f"<p>{b.replace(chr(10), '<br>')}</p>" for b in blocks)


def render_notices(answer: Answer, targets: Mapping[int, str] | None = None) -> str:
    """A red alert box (first notice) for red flags; an info box per other notice.

    A notice identical to the answer text is shown only as the red-flag alert, never as
    an info box; the standard disclaimer is left to the page banner; citation markers in
    notices are linked.
    """

    def text(notice: str) -> str:
        return link_markers(esc(notice), targets) if targets else esc(notice)

    notices = list(answer.notices)
    alert = ""
    if answer.status == "red_flag":
        first = notices.pop(0) if notices else "This may need a clinician's assessment first."
        alert = (
            f'<div class="pht-alert" role="alert"><strong>{_STATUS_LABEL["red_flag"]}</strong>'
            f"<p>{text(first)}</p></div>"
        )
    banner = str(load_data("answer_texts.yaml")["disclaimer"]).strip()
    infos = [n for n in notices if n.strip() not in (answer.answer.strip(), banner)]
    return alert + "".join(f'<div class="pht-info" role="note">{text(n)}</div>' for n in infos)


def _without_prefix(text: str, prefix: str) -> str:
    """``text`` minus a leading ``prefix`` (ignoring surrounding whitespace).

    >>> _without_prefix("Stop running.\\n\\nMore.", "Stop running.")
    'More.'
    """
    stripped = text.strip()
    return stripped[len(prefix.strip()) :].strip() if stripped.startswith(prefix.strip()) else text


def copy_button(plain: str, what: str = "answer") -> str:
    """A copy button and the plain text it copies (hidden)."""
    return (
        f'<div class="pht-actions"><button type="button" class="pht-copy" '
        f'aria-label="Copy the {esc(what)} with its sources">Copy</button>'
        f'<span class="pht-copied" role="status"></span></div>'
        f'<pre class="pht-copy-text" hidden>{esc(plain)}</pre>'
    )


def render_answer(answer: Answer, anchor: str, copy_title: str = "") -> str:
    """The full HTML of one answer; ``anchor`` makes its source ids unique on the page.

    ``copy_title`` (e.g. an FAQ card's question) opens the text its copy button copies.
    """
    groups = group_citations(answer.citations, answer.contexts)
    targets = marker_targets(groups, anchor)
    plain = f"{copy_title}\n\n{answer_plain(answer)}" if copy_title else answer_plain(answer)
    text = answer.answer
    if answer.status == "red_flag" and answer.notices:
        text = _without_prefix(text, answer.notices[0])  # the alert box already says it
    body = richtext.to_html(
        esc(text),
        link=lambda s: link_markers(s, targets),
        ask_links=answer.status == "out_of_scope",
    )
    label = _STATUS_LABEL.get(answer.status, "")
    heading = (
        f'<div class="pht-status">{esc(label)}</div>'
        if label and answer.status != "red_flag"
        else ""
    )
    return (
        f'<div class="pht-answer pht-{esc(answer.status)}">{render_notices(answer, targets)}'
        f'{heading}<div class="pht-body">{body}</div>{render_sources(groups, anchor)}'
        f"{copy_button(plain)}</div>"
    )


def render_preview(text: str) -> str:
    """The answer while it streams: escaped text, no links yet."""
    body = paragraphs(esc(text)) or "<p>…</p>"
    return f'<div class="pht-answer pht-streaming"><div class="pht-body">{body}</div></div>'


def render_question(question: str) -> str:
    """A user's question, shown as text."""
    return f'<div class="pht-question">{paragraphs(esc(question))}</div>'


def render_error(message: str) -> str:
    """A failure the reader can act on (never a traceback)."""
    return (
        f'<div class="pht-answer pht-error"><div class="pht-alert" role="alert">'
        f"{esc(message)}</div></div>"
    )


def disclaimer_html() -> str:
    return (
        f'<div class="pht-disclaimer" role="note"><strong>Not medical advice.</strong> '
        f"{esc(DISCLAIMER)}</div>"
    )
