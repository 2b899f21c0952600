"""SQLite store of reader feedback on answers, and its export as candidate eval cases.

``FeedbackStore(path)`` keeps one row per rated answer: the question as asked, the
standalone question it was rewritten to, the history it was asked with (JSON), the
answer's id, text, status, citations (JSON), backend, prompt version, rating, comment
and a UTC ISO timestamp. Rating the same answer id again (down, then up) updates its row
instead of adding one; an empty comment keeps the earlier one. Databases written before
these columns existed are upgraded in place. Each call opens its own connection (WAL
mode, ``busy_timeout``) and writes run under a process-wide lock, so concurrent web
users never lose a row. ``export_candidates`` writes JSONL in the eval dataset's case
schema, flagged ``needs_review`` for a human to turn into real cases. It does not
deduplicate, aggregate or judge feedback, and it never deletes rows.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

from assistant.models import Answer
from core.errors import ConfigError

Rating = Literal["up", "down"]
RATINGS: tuple[Rating, ...] = ("up", "down")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    status TEXT NOT NULL,
    citations TEXT NOT NULL,
    backend TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NOT NULL
)
"""
# Columns added later: (name, SQL type and default); old databases get them by ALTER TABLE.
_ADDED = (
    ("standalone_question", "TEXT NOT NULL DEFAULT ''"),
    ("history", "TEXT NOT NULL DEFAULT '[]'"),
    ("answer_id", "TEXT NOT NULL DEFAULT ''"),
)
_INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS feedback_answer_id ON feedback(answer_id) "
    "WHERE answer_id != ''"
)
_COLUMNS = (
    "id", "created_at", "question", "answer", "status", "citations",
    "backend", "prompt_version", "rating", "comment",
    "standalone_question", "history", "answer_id",
)  # fmt: skip
_WRITE_LOCK = threading.Lock()


@dataclass(frozen=True)
class FeedbackRow:
    """One stored feedback row; ``citations`` is the decoded JSON list."""

    id: int
    created_at: str
    question: str
    answer: str
    status: str
    citations: list[dict[str, Any]]
    backend: str
    prompt_version: str
    rating: str
    comment: str
    standalone_question: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    answer_id: str = ""


def normalize_rating(value: object) -> Rating:
    """Map UI and API spellings of a rating to ``"up"`` or ``"down"``.

    >>> normalize_rating(True), normalize_rating("Dislike"), normalize_rating("👍")
    ('up', 'down', 'up')
    """
    if value is True or str(value).strip().lower() in ("up", "like", "liked", "1", "+1", "👍"):
        return "up"
    if value is False or str(value).strip().lower() in ("down", "dislike", "disliked", "-1", "👎"):
        return "down"
    raise ValueError(f"rating must be 'up' or 'down', not {value!r}")


def answer_record(answer: Answer | Mapping[str, Any]) -> dict[str, Any]:
    """The stored fields of an ``Answer`` (or its ``to_json()`` dict, as API clients send it).

    >>> answer_record({"question": "q", "answer": "a", "status": "answered"})["prompt_version"]
    ''
    """
    data = answer.to_json() if isinstance(answer, Answer) else dict(answer)
    prompt = data.get("prompt") or {}
    return {
        "question": str(data.get("question", "")),
        "answer": str(data.get("answer", "")),
        "status": str(data.get("status", "")),
        "citations": list(data.get("citations") or []),
        "backend": str(data.get("backend", "")),
        "prompt_version": str(prompt.get("version", "")) if isinstance(prompt, Mapping) else "",
        "standalone_question": str(data.get("standalone_question") or ""),
        "answer_id": str(data.get("answer_id") or ""),
    }


class FeedbackStore:
    """Feedback rows in one SQLite file, safe to use from many threads at once."""

    def __init__(self, path: Path | str, timeout_s: float = 10.0):
        self.path = Path(path)
        self.timeout_s = timeout_s
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(_SCHEMA)
                have = {r[1] for r in conn.execute("PRAGMA table_info(feedback)")}
                for name, sql_type in _ADDED:
                    if name not in have:
                        conn.execute(f"ALTER TABLE feedback ADD COLUMN {name} {sql_type}")
                conn.execute(_INDEX)
        except (OSError, sqlite3.Error) as err:
            raise ConfigError(
                f"Cannot open the feedback database {self.path}: {err}.",
                fix="set PHT_DATA_DIR to a writable folder.",
            ) from err

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=self.timeout_s)
        try:
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout_s * 1000)}")
            with conn:  # commits, or rolls back on error
                yield conn
        finally:
            conn.close()

    def add(
        self,
        *,
        question: str,
        answer: str,
        status: str,
        citations: Sequence[Mapping[str, Any]] = (),
        backend: str = "",
        prompt_version: str = "",
        rating: object,
        comment: str = "",
        standalone_question: str = "",
        history: Sequence[Mapping[str, Any]] = (),
        answer_id: str = "",
    ) -> int:
        """Store a rating and return its row id; the same non-empty ``answer_id`` updates its row."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        values = {
            "created_at": now,
            "question": question,
            "answer": answer,
            "status": status,
            "citations": json.dumps([dict(c) for c in citations], ensure_ascii=False),
            "backend": backend,
            "prompt_version": prompt_version,
            "rating": normalize_rating(rating),
            "comment": (comment or "").strip(),
            "standalone_question": standalone_question,
            "history": json.dumps([dict(t) for t in history], ensure_ascii=False),
            "answer_id": answer_id,
        }
        with _WRITE_LOCK, self._connect() as conn:
            found = (
                conn.execute("SELECT id FROM feedback WHERE answer_id = ?", (answer_id,)).fetchone()
                if answer_id
                else None
            )
            if found is not None:
                conn.execute(
                    "UPDATE feedback SET rating = ?, created_at = ?, "
                    "comment = CASE WHEN ? != '' THEN ? ELSE comment END, "
                    "history = CASE WHEN ? != '[]' THEN ? ELSE history END WHERE id = ?",
                    (values["rating"], now, values["comment"], values["comment"],
                     values["history"], values["history"], found[0]),
                )  # fmt: skip
                return int(found[0])
            names = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            cur = conn.execute(
                f"INSERT INTO feedback ({names}) VALUES ({marks})", tuple(values.values())
            )
            return int(cur.lastrowid or 0)

    def add_answer(
        self,
        answer: Answer | Mapping[str, Any],
        rating: object,
        comment: str = "",
        *,
        history: Sequence[Mapping[str, Any]] = (),
        answer_id: str = "",
    ) -> int:
        """Store feedback on a whole answer (an ``Answer`` or its JSON, which may carry ``answer_id``)."""
        record = answer_record(answer)
        if answer_id:
            record["answer_id"] = answer_id
        return self.add(**record, rating=rating, comment=comment, history=history)

    def rating_of(self, answer_id: str) -> str | None:
        """The stored rating of an answer id, or ``None`` when it was never rated."""
        if not answer_id:
            return None
        with self._connect() as conn:
            found = conn.execute(
                "SELECT rating FROM feedback WHERE answer_id = ?", (answer_id,)
            ).fetchone()
        return str(found[0]) if found else None

    def rows(self) -> list[FeedbackRow]:
        """All rows, oldest first."""
        with self._connect() as conn:
            found = conn.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM feedback ORDER BY id"
            ).fetchall()
        out = []
        for r in found:
            row = dict(zip(_COLUMNS, r, strict=True))
            row["citations"] = json.loads(row["citations"])
            row["history"] = json.loads(row["history"] or "[]")
            out.append(FeedbackRow(**row))
        return out

    def export_candidates(self, out: TextIO) -> int:
        """Write every row as a candidate eval case (JSONL); return how many were written."""
        count = 0
        for row in self.rows():
            out.write(json.dumps(candidate_case(row), ensure_ascii=False) + "\n")
            count += 1
        return count


def candidate_case(row: FeedbackRow) -> dict[str, Any]:
    """An eval-dataset case built from one feedback row, to be reviewed by a human.

    It has the dataset's fields (``id``, ``question``, ``history``, ``expected_status``,
    ``tags``, ``gold``, ``claims``) plus ``needs_review`` and ``feedback``. It is a
    *candidate*: the reviewer checks the status (copied from the answer, which the reader
    may have rated down), writes the gold passages and claims, removes the two review
    fields and moves it into ``evals/datasets/cases.yaml``; until then the loader refuses it.

    >>> r = FeedbackRow(3, "t", "Can I run?", "Yes [1].", "answered", [], "x", "v1", "down", "vague")
    >>> candidate_case(r)["id"], candidate_case(r)["needs_review"]
    ('feedback-3', True)
    """
    return {
        "id": f"feedback-{row.id}",
        "question": row.question,
        "history": list(row.history),
        "expected_status": row.status,
        "tags": ["feedback"],
        "gold": [],
        "claims": [],
        "needs_review": True,
        "feedback": {"rating": row.rating, "comment": row.comment},
    }
