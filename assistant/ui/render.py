"""Safe HTML for answers, citations, notices and source panels (pure functions).

Every piece of text that comes from a question, a corpus file or a language model is
escaped with ``html.escape`` before it is placed in markup this module writes itself;
nothing is ever passed through as HTML, so ``<script>`` or ``<img onerror=...>`` shows
as text. Citation markers ``[n]`` become links to a collapsible source entry that shows
the article title, edition, the surrounding passage and the exact quote in ``<mark>``.
It does not render Markdown, call the assistant, or know about Gradio.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from assistant.gate_data import load_data
from assistant.models import Answer, Citation, Passage

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


# Citations that are not clinical content carry a tag saying what they are.
_KIND_TAGS = {"sponsorship": "paid promotion", "call_to_action": "sales pitch",
              "heading": "section heading"}

def esc(text: object) -> str:
    """Escape text for HTML content and attributes.

    >>> esc('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    return html.escape(str(text), quote=True)


def paragraphs(escaped: str) -> str:
    """Turn already-escaped text into ``<p>`` blocks (blank line) with ``<br>`` (newline).

    >>> paragraphs("a\\nb\\n\\nc")
    '<p>a<br>b</p><p>c</p>'
    """
    blocks = [b.strip() for b in re.split(r"\n\s*\n", escaped.strip()) if b.strip()]
    return "".join(f"<p>{b.replace(chr(10), '<br>')}</p>" for b in blocks)


def link_markers(escaped: str, markers: set[int], anchor: str) -> str:
    """Replace ``[n]`` / ``[n, m]`` for known markers with links to ``#<anchor>-src-<n>``.

    Unknown numbers stay plain text.

    >>> link_markers("Run [1, 9].", {1}, "a0")
    'Run <a class="pht-cite" href="#a0-src-1" title="Show source 1">[1]</a>[9].'
    """

    def one(n: int) -> str:
        if n not in markers:
            return f"[{n}]"
        return (
            f'<a class="pht-cite" href="#{esc(anchor)}-src-{n}" title="Show source {n}">[{n}]</a>'
        )

    def repl(m: re.Match[str]) -> str:
        return "".join(one(int(n)) for n in re.split(r"\s*,\s*", m.group(1)))

    return _MARKERS.sub(repl, escaped)


def find_passage(citation: Citation, contexts: Sequence[Passage]) -> Passage | None:
    """The context passage whose span contains the citation's span, if any."""
    for p in contexts:
        if p.source == citation.source and p.start <= citation.start and citation.end <= p.end:
            rel = citation.start - p.start
            if p.text[rel : rel + (citation.end - citation.start)] == citation.quote:
                return p
    return None


def passage_window(text: str, start: int, end: int, radius: int = 280) -> tuple[str, str, str]:
    """Split ``text`` into (before, quote, after) around ``[start, end)``, trimming far context.

    Context beyond ``radius`` characters is cut at a word boundary and marked with "…".

    >>> passage_window("Warm up first. Then run easy. Cool down.", 15, 29)
    ('Warm up first. ', 'Then run easy.', ' Cool down.')
    >>> passage_window("one two three four five", 8, 13, radius=5)
    ('…two ', 'three', ' four…')
    """
    before, quote, after = text[:start], text[start:end], text[end:]
    if len(before) > radius:
        cut = before[-radius:]
        space = cut.find(" ")
        before = "…" + (cut[space + 1 :] if 0 <= space < len(cut) - 1 else cut)
    if len(after) > radius:
        cut = after[:radius]
        space = cut.rfind(" ")
        after = (cut[:space] if space > 0 else cut) + "…"
    return before, quote, after


def render_source(citation: Citation, contexts: Sequence[Passage], anchor: str) -> str:
    """One collapsible source entry: title, edition, passage with the quote in ``<mark>``."""
    passage = find_passage(citation, contexts)
    if passage is not None:
        rel = citation.start - passage.start
        before, quote, after = passage_window(
            passage.text, rel, rel + citation.end - citation.start
        )
        body = f"{esc(before.lstrip())}<mark>{esc(quote)}</mark>{esc(after.rstrip())}"
    else:
        body = f"<mark>{esc(citation.quote)}</mark>"
    label = _KIND_TAGS.get(citation.kind, "")
    tag = f'<span class="pht-tag">{label}</span>' if label else ""
    section = f" · {esc(citation.section)}" if citation.section else ""
    return (
        f'<details class="pht-source" id="{esc(anchor)}-src-{citation.marker}">'
        f'<summary><span class="pht-marker">[{citation.marker}]</span> '
        f'<span class="pht-title">{esc(citation.title)}</span> '
        f'<span class="pht-edition">{esc(citation.edition)}</span>{tag}</summary>'
        f'<blockquote class="pht-passage">{body}</blockquote>'
        f'<div class="pht-meta">{esc(citation.source)}{section} · characters '
        f"{citation.start}–{citation.end}</div></details>"
    )


def render_notices(answer: Answer, anchor: str = "") -> str:
    """A red alert box (first notice) for red flags; an info box per other notice.

    A notice identical to the answer text is shown only as the red-flag alert, never as
    an info box; the standard disclaimer is left to the page banner; citation markers in
    notices are linked.
    """
    markers = {c.marker for c in answer.citations}

    def text(notice: str) -> str:
        return link_markers(esc(notice), markers, anchor) if anchor else esc(notice)

    notices = list(answer.notices)
    alert = ""
    if answer.status == "red_flag":
        first = notices.pop(0) if notices else "This may need a clinician's assessment first."
        alert = (
            f'<div class="pht-alert" role="alert"><strong>{_STATUS_LABEL["red_flag"]}</strong>'
            f"<p>{text(first)}</p></div>"
        )
    # The page's banner already carries the disclaimer: don't repeat it under every answer.
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


def render_answer(answer: Answer, anchor: str) -> str:
    """The full HTML of one answer; ``anchor`` makes its source ids unique on the page."""
    markers = {c.marker for c in answer.citations}
    text = answer.answer
    if answer.status == "red_flag" and answer.notices:
        text = _without_prefix(text, answer.notices[0])  # the alert box already says it
    body = paragraphs(link_markers(esc(text), markers, anchor))
    label = _STATUS_LABEL.get(answer.status, "")
    heading = (
        f'<div class="pht-status">{esc(label)}</div>'
        if label and answer.status != "red_flag"
        else ""
    )
    sources = ""
    if answer.citations:
        entries = "".join(render_source(c, answer.contexts, anchor) for c in answer.citations)
        sources = (
            f'<div class="pht-sources"><div class="pht-sources-title">Sources</div>{entries}</div>'
        )
    return (
        f'<div class="pht-answer pht-{esc(answer.status)}">{render_notices(answer, anchor)}{heading}'
        f'<div class="pht-body">{body}</div>{sources}</div>'
    )


def render_preview(text: str) -> str:
    """The answer while it streams: escaped text, no links yet."""
    return f'<div class="pht-answer pht-streaming"><div class="pht-body">{paragraphs(esc(text)) or "<p>…</p>"}</div></div>'


def render_question(question: str) -> str:
    """A user's question, shown as text."""
    return f'<div class="pht-question">{paragraphs(esc(question))}</div>'


def render_error(message: str) -> str:
    """A failure the reader can act on (never a traceback)."""
    return f'<div class="pht-answer pht-error"><div class="pht-alert" role="alert">{esc(message)}</div></div>'


def disclaimer_html() -> str:
    return f'<div class="pht-disclaimer" role="note"><strong>Not medical advice.</strong> {esc(DISCLAIMER)}</div>'
