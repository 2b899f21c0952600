"""Plain-text, Markdown and CSV exports of answers with their citations (pure functions).

``answer_plain`` is what a copy button copies: the answer and its numbered sources as
plain text. ``answers_markdown`` is the FAQ desk's Markdown: the disclaimer once at the
top, each notice once as a quote (no "Note:" prefix stacked on a notice that names
itself). ``answer_rows`` gives one CSV row per answer, its citations in one readable
``sources`` cell ("[1] title (edition) — “quote”", one per line) and their file
locations in ``locations``; ``csv_bytes`` encodes rows as UTF-8 with a byte-order mark
so spreadsheet programs read ’ — ✅ correctly. Cells a spreadsheet would run as a
formula (``=``, ``+``, ``@``, ``-x``) are prefixed with an apostrophe. It does not write
files or call the assistant.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from assistant.gate_data import load_data
from assistant.models import Answer, Citation

ANSWER_COLUMNS = ("id", "question", "status", "answer", "notices", "sources", "locations",
                  "backend")  # fmt: skip
DISCLAIMER_TITLE = "Not medical advice."


def disclaimer_notice() -> str:
    """The standard disclaimer notice every answer carries (said once per export)."""
    return " ".join(str(load_data("answer_texts.yaml")["disclaimer"]).split())


def csv_safe(value: object) -> str:
    """A cell value that spreadsheets show as text rather than evaluate.

    >>> csv_safe("=HYPERLINK(1)"), csv_safe("- a bullet"), csv_safe("-2x"), csv_safe(12)
    ("'=HYPERLINK(1)", '- a bullet', "'-2x", '12')
    """
    text = str(value)
    if text[:1] in ("=", "+", "@", "\t", "\r") or (text[:1] == "-" and text[1:2] not in ("", " ")):
        return "'" + text
    return text


def to_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """CSV text with a header row; every cell passed through ``csv_safe``."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_safe(row.get(k, "")) for k in columns})
    return buf.getvalue()


def csv_bytes(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    """``to_csv`` as UTF-8 with a byte-order mark (what Excel needs to detect UTF-8).

    >>> csv_bytes(["q"], [{"q": "’"}])[:3]
    b'\\xef\\xbb\\xbf'
    """
    return to_csv(columns, rows).encode("utf-8-sig")


def one_line(text: str) -> str:
    return " ".join(text.split())


def source_line(c: Citation) -> str:
    """``[n] title (edition) — “quote”`` on one line.

    >>> source_line(Citation(2, "a.txt", "Title", "newer", "Rest  a\\nday.", 0, 11))
    '[2] Title (newer) — “Rest a day.”'
    """
    return f"[{c.marker}] {c.title} ({c.edition}) — “{one_line(c.quote)}”"


def _notices(answer: Answer) -> list[str]:
    skip = {disclaimer_notice(), one_line(answer.answer)}
    return [n for n in answer.notices if one_line(n) not in skip]


def answer_plain(answer: Answer) -> str:
    """The answer with its notices and numbered sources, as plain text (for copying)."""
    text = answer.answer.strip()
    parts = [n.strip() for n in _notices(answer) if not text.startswith(n.strip())] + [text]
    if answer.citations:
        parts.append("Sources:\n" + "\n".join(source_line(c) for c in answer.citations))
    return "\n\n".join(p for p in parts if p)


def answer_markdown(answer: Answer, heading: str = "") -> str:
    """One answer as Markdown: heading, notices (once each), text, numbered sources."""
    lines = [f"### {heading or answer.question}", ""]
    if answer.status != "answered":
        lines += [f"_Status: {answer.status.replace('_', ' ')}_", ""]
    for notice in _notices(answer):
        lines += [f"> {one_line(notice)}", ""]
    lines += [answer.answer.strip(), ""]
    if answer.citations:
        lines += ["**Sources**", ""]
        for c in answer.citations:
            section = f", section “{c.section}”" if c.section else ""
            lines.append(
                f"{c.marker}. {c.title} ({c.edition}{section}): “{one_line(c.quote)}” "
                f"— `{c.source}` characters {c.start}–{c.end}"
            )
        lines.append("")
    return "\n".join(lines)


def answers_markdown(items: Sequence[tuple[str, Answer]], title: str = "Frequent questions") -> str:
    """Several ``(id, answer)`` pairs as one Markdown document; the disclaimer said once."""
    parts = [f"# {title}", "", f"> **{DISCLAIMER_TITLE}** {disclaimer_notice()}", ""]
    parts += [answer_markdown(a) for _, a in items]
    return "\n".join(parts).rstrip() + "\n"


def answer_row(
    item_id: str, question: str, answer: Answer | None, error: str = ""
) -> dict[str, Any]:
    """One CSV row per answer; ``error`` fills the row of a question that failed.

    >>> answer_row("q2", "boom", None, "it failed")["status"]
    'error'
    """
    if answer is None:
        return {"id": item_id, "question": question, "status": "error", "answer": error}
    return {
        "id": item_id,
        "question": question,
        "status": answer.status,
        "answer": answer.answer,
        "notices": "\n".join(one_line(n) for n in _notices(answer)),
        "sources": "\n".join(source_line(c) for c in answer.citations),
        "locations": "\n".join(
            f"[{c.marker}] {c.source}:{c.start}-{c.end}" for c in answer.citations
        ),
        "backend": answer.backend,
    }


def answer_rows(items: Sequence[tuple[str, Answer]]) -> list[dict[str, Any]]:
    """One row per ``(id, answer)``."""
    return [answer_row(item_id, a.question, a) for item_id, a in items]
