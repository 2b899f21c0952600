"""Read a batch of questions from an uploaded CSV or TXT file (pure parsing, clear errors).

CSV: a header row with a ``question`` column (any case) and optionally ``id``; TXT:
one question per line. Blank questions are skipped; missing ids become ``q1``, ``q2``…
A file that cannot be read raises ``PHTError`` whose message says what is wrong and how
to fix it, so the app can show it instead of a traceback. It does not answer the
questions or write the result (see ``handlers`` and ``export``).
"""

from __future__ import annotations

import csv
import io

from core.errors import PHTError

MAX_BATCH_QUESTIONS = 500
MAX_BATCH_BYTES = 2_000_000
_FIX = (
    "upload a .csv with a 'question' column (optional 'id') or a .txt with one question per line."
)


def parse_questions(
    filename: str, data: bytes, max_questions: int = MAX_BATCH_QUESTIONS
) -> list[tuple[str, str]]:
    """``(id, question)`` pairs from an uploaded file's name and bytes.

    >>> parse_questions("qs.txt", b"Can I run?\\n\\nShould I stretch?\\n")
    [('q1', 'Can I run?'), ('q3', 'Should I stretch?')]
    >>> parse_questions("qs.csv", b"ID,Question\\na,Can I run?\\n")
    [('a', 'Can I run?')]
    """
    name = filename.lower()
    if not name.endswith((".csv", ".txt")):
        raise PHTError(f"Unsupported file type: {filename.rsplit('/', 1)[-1]!r}.", fix=_FIX)
    if len(data) > MAX_BATCH_BYTES:
        raise PHTError(f"The file is larger than {MAX_BATCH_BYTES // 1_000_000} MB.", fix=_FIX)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise PHTError("The file is not UTF-8 text.", fix="save it as UTF-8 and " + _FIX) from err
    if "\x00" in text:
        raise PHTError("The file looks binary, not text.", fix=_FIX)
    pairs = _from_csv(text) if name.endswith(".csv") else _from_txt(text)
    if not pairs:
        raise PHTError("No questions found in the file.", fix=_FIX)
    if len(pairs) > max_questions:
        raise PHTError(
            f"The file has {len(pairs)} questions; the limit is {max_questions}.",
            fix="split it into smaller files.",
        )
    return pairs


def _from_txt(text: str) -> list[tuple[str, str]]:
    return [(f"q{n}", line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _from_csv(text: str) -> list[tuple[str, str]]:
    try:
        reader = csv.reader(io.StringIO(text))
        rows = list(reader)
    except csv.Error as err:
        raise PHTError(f"The CSV file cannot be parsed: {err}.", fix=_FIX) from err
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]
    if "question" not in header:
        raise PHTError("The CSV file has no 'question' column in its first row.", fix=_FIX)
    q_col = header.index("question")
    id_col = header.index("id") if "id" in header else None
    pairs = []
    for n, row in enumerate(rows[1:], 1):
        question = row[q_col].strip() if q_col < len(row) else ""
        if not question:
            continue
        given = row[id_col].strip() if id_col is not None and id_col < len(row) else ""
        pairs.append((given or f"q{n}", question))
    return pairs
