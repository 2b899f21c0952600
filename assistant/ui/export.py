"""Markdown and CSV exports of answers with their citations (pure functions on strings).

``answers_markdown`` is what the FAQ desk copies or downloads; ``citation_rows`` and
``batch_rows`` are the rows of its CSV downloads, written with ``to_csv``. Cells that a
spreadsheet would run as a formula (``=``, ``+``, ``@``, ``-x``) are prefixed with an
apostrophe. It does not write files or call the assistant.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from assistant.models import Answer

CITATION_COLUMNS = (
    "id", "question", "status", "answer",
    "marker", "title", "edition", "quote", "source", "start", "end",
)  # fmt: skip
BATCH_COLUMNS = ("id", "question", "status", "answer", "citations")


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
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_safe(row.get(k, "")) for k in columns})
    return buf.getvalue()


def answer_markdown(answer: Answer, heading: str = "") -> str:
    """One answer as Markdown: heading, notices, text, numbered sources with quotes."""
    lines = [f"### {heading or answer.question}", ""]
    if answer.status != "answered":
        lines += [f"_Status: {answer.status}_", ""]
    lines += [f"> **Note:** {n}" for n in answer.notices]
    if answer.notices:
        lines.append("")
    lines += [answer.answer.strip(), ""]
    if answer.citations:
        lines += ["**Sources**", ""]
        for c in answer.citations:
            quote = " ".join(c.quote.split())
            lines.append(
                f"- [{c.marker}] {c.title} ({c.edition}): “{quote}” "
                f"— `{c.source}` characters {c.start}–{c.end}"
            )
        lines.append("")
    return "\n".join(lines)


def answers_markdown(items: Sequence[tuple[str, Answer]], title: str = "Frequent questions") -> str:
    """Several ``(id, answer)`` pairs as one Markdown document."""
    parts = [f"# {title}", ""]
    parts += [answer_markdown(a) for _, a in items]
    return "\n".join(parts).rstrip() + "\n"


def citation_rows(items: Sequence[tuple[str, Answer]]) -> list[dict[str, Any]]:
    """One row per citation (or one row without citation fields for an uncited answer).

    >>> rows = citation_rows([("q1", Answer("Can I run?", "out_of_scope", "No idea."))])
    >>> rows[0]["id"], rows[0]["marker"]
    ('q1', '')
    """
    rows: list[dict[str, Any]] = []
    for item_id, a in items:
        base = {"id": item_id, "question": a.question, "status": a.status, "answer": a.answer}
        if not a.citations:
            rows.append({**base, **{k: "" for k in CITATION_COLUMNS[4:]}})
        for c in a.citations:
            rows.append(
                {**base, "marker": c.marker, "title": c.title, "edition": c.edition,
                 "quote": c.quote, "source": c.source, "start": c.start, "end": c.end}
            )  # fmt: skip
    return rows


def batch_row(
    item_id: str, question: str, answer: Answer | None, error: str = ""
) -> dict[str, Any]:
    """One row of the batch CSV; citations as a JSON list. ``error`` fills a failed row."""
    if answer is None:
        return {"id": item_id, "question": question, "status": "error", "answer": error,
                "citations": "[]"}  # fmt: skip
    cites = [c.to_json() for c in answer.citations]
    return {
        "id": item_id,
        "question": question,
        "status": answer.status,
        "answer": answer.answer,
        "citations": json.dumps(cites, ensure_ascii=False),
    }
