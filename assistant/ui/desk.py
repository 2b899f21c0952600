"""The staff tools' handlers: the FAQ desk (answers, copy, exports) and batch answering.

``DeskHandlers`` answers the curated questions (cached; like batch questions, they wait
for chat work in progress), renders their cards with a copy button each, and writes the
Markdown and CSV downloads (UTF-8 with BOM, one row per answer). ``batch`` answers an
uploaded CSV/TXT file: the upload must be a file already on the server (never a URL), its
size is checked before it is read, and each client (login, or address without logins) may
run only ``jobs_per_client`` batches at once; each question waits while chat work is in
progress, batch questions are answered one at a time across jobs (``Priority``), and
progress is reported at most every ``progress_every_s``. It does not build the layout
(see ``staff``) or answer chat questions (see ``handlers``).
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assistant.models import Answer, AnswerService
from assistant.ui import export, render
from assistant.ui.batch import parse_questions
from assistant.ui.faq import FaqItem
from assistant.ui.handlers import failure_message
from assistant.ui.limits import Limits
from assistant.ui.priority import Priority
from core.errors import PHTError

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 0.5  # batch progress reports, at most one per this many seconds


def client_key(request: Any) -> str:
    """Who is asking: the login name when logins are on, else the client's address."""
    user = getattr(request, "username", None)
    if user:
        return f"user:{user}"
    client = getattr(request, "client", None)
    return f"addr:{getattr(client, 'host', '') or 'unknown'}"


class DeskHandlers:
    """FAQ desk and batch mode over an ``AnswerService``."""

    def __init__(
        self,
        service: AnswerService,
        faq: Sequence[FaqItem] = (),
        limits: Limits | None = None,
        downloads: Path | None = None,
        jobs_per_client: int = 1,
        priority: Priority | None = None,
        progress_every_s: float = PROGRESS_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.service = service
        self.faq = list(faq)
        self.limits = limits or Limits()
        self.downloads = downloads or Path(tempfile.mkdtemp(prefix="pht-app-"))
        self.jobs_per_client = jobs_per_client
        self.priority = priority or Priority()
        self.progress_every_s = progress_every_s
        self.clock = clock
        self._faq_cache: dict[str, Answer] = {}
        self._lock = threading.Lock()
        self._running: Counter[str] = Counter()

    # --- FAQ desk ---------------------------------------------------------
    def faq_answers(
        self, refresh: bool = False, progress: Any = None
    ) -> list[tuple[FaqItem, Answer | str]]:
        """Each curated question with its answer (cached) or an error message."""
        out: list[tuple[FaqItem, Answer | str]] = []
        for n, item in enumerate(self.faq):
            if progress is not None:
                progress((n, len(self.faq)), desc=f"Answering {item.id}")
            with self._lock:
                cached = None if refresh else self._faq_cache.get(item.id)
            if cached is None:
                try:
                    with self.priority.batch_answer():  # staff work, like a batch: chat first
                        cached = self.service.ask(item.question, [])
                except Exception as err:
                    log.exception("FAQ answer failed")
                    out.append((item, failure_message(err)))
                    continue
                with self._lock:
                    self._faq_cache[item.id] = cached
            out.append((item, cached))
        return out

    def faq_desk(self, refresh: bool = False, progress: Any = None) -> tuple[str, str, list[str]]:
        """(HTML of the cards, Markdown export text, [Markdown file, CSV file])."""
        rows = self.faq_answers(refresh, progress)
        if not rows:
            return (
                '<p class="pht-empty">No curated questions (corpus/faq.yaml is missing).</p>',
                "",
                [],
            )
        cards = []
        for item, ans in rows:
            body = (
                render.render_answer(ans, f"faq-{item.id}", copy_title=item.question)
                if isinstance(ans, Answer)
                else render.render_error(ans)
            )
            cards.append(
                f'<details class="pht-faq-card" id="card-{render.esc(item.id)}">'
                f'<summary class="pht-faq-q">{render.esc(item.question)}</summary>{body}</details>'
            )
        answered = [(i.id, a) for i, a in rows if isinstance(a, Answer)]
        markdown = export.answers_markdown(answered)
        csv_data = export.csv_bytes(export.ANSWER_COLUMNS, export.answer_rows(answered))
        files = [self._write("faq.md", markdown.encode("utf-8")), self._write("faq.csv", csv_data)]
        return "".join(cards), markdown, files

    def api_faq(self) -> list[dict[str, Any]]:
        """The curated questions and their answers as JSON."""
        return [
            {"id": i.id, "question": i.question,
             "answer": a.to_json() if isinstance(a, Answer) else None,
             "error": "" if isinstance(a, Answer) else a}
            for i, a in self.faq_answers()
        ]  # fmt: skip

    # --- batch ------------------------------------------------------------
    def batch(
        self, upload: Any, progress: Any = None, request: Any = None
    ) -> tuple[str | None, str]:
        """Answer every question of an uploaded CSV/TXT; return (CSV path, message)."""
        if not upload:
            return None, "Choose a .csv or .txt file of questions first."
        raw = upload if isinstance(upload, str) else getattr(upload, "name", str(upload))
        if "://" in str(raw):
            return None, "Upload the file itself: links (URLs) are not fetched."
        path = Path(raw)
        key = client_key(request)
        with self._lock:
            if self._running[key] >= self.jobs_per_client:
                return None, (
                    f"You already have {self._running[key]} batch running (the limit is "
                    f"{self.jobs_per_client}). Wait for it to finish, then upload the next file."
                )
            self._running[key] += 1
        try:
            return self._batch(path, progress)
        finally:
            with self._lock:
                self._running[key] -= 1

    def _batch(self, path: Path, progress: Any) -> tuple[str | None, str]:
        try:
            size = path.stat().st_size
            if size > self.limits.upload_bytes:
                return None, (
                    f"The file is {size:,} bytes; the limit is {self.limits.upload_bytes:,}. "
                    "Split it into smaller files."
                )
            pairs = parse_questions(path.name, path.read_bytes(), self.limits.batch_questions)
        except PHTError as err:
            return None, str(err)
        except OSError as err:
            return (
                None,
                f"The uploaded file could not be read ({err.strerror}). Please upload it again.",
            )
        rows = []
        reported = float("-inf")
        for n, (item_id, question) in enumerate(pairs):
            now = self.clock()
            if progress is not None and now - reported >= self.progress_every_s:
                reported = now  # each report is a message to the client: a few a second
                progress((n, len(pairs)), desc=f"Question {n + 1} of {len(pairs)}")
            try:
                with self.priority.batch_answer():  # chat work in progress goes first
                    answer = self.service.ask(question, [])
                rows.append(export.answer_row(item_id, question, answer))
            except Exception as err:
                log.exception("batch answer failed")
                rows.append(export.answer_row(item_id, question, None, failure_message(err)))
        failed = sum(r["status"] == "error" for r in rows)
        out = self._write("answers.csv", export.csv_bytes(export.ANSWER_COLUMNS, rows))
        note = f" ({failed} failed; see the status column)" if failed else ""
        return out, f"Answered {len(rows) - failed} of {len(rows)} questions{note}."

    def _write(self, name: str, data: bytes) -> str:
        folder = self.downloads / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_bytes(data)
        return str(path)
