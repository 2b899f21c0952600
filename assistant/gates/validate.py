"""Input validation: is a question (or a line of a batch file) usable at all?

``validate_question`` rejects empty or blank text, text longer than
``settings.max_question_chars`` and control characters other than new line and tab
(a Windows ``\\r\\n`` line end is accepted). ``parse_batch_line`` checks one JSONL line
of a batch file: a JSON object with a string ``question``, an optional string ``id``
(default ``line-<n>``) and an optional ``history`` list of ``{role, content}``; it takes the
line's text or its raw bytes (decoded as UTF-8 per line, a leading BOM dropped) and turns
every fault a line can hold (bad bytes, bad JSON, nesting too deep for the parser, numbers
over 4,300 digits, wrong types, unpaired surrogate escapes) into an ``InvalidLine``. Both are
pure and return values, never raise for bad user input. It leaves out safety and scope
decisions (``red_flags``, ``scope``) and does not validate the *content* of a batch
question: an empty ``question`` is a valid line whose answer will be ``invalid_input``.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal, cast

from assistant.gate_data import load_data
from assistant.models import Turn
from core.text import is_blank

_ALLOWED_CONTROLS = frozenset("\n\t")
_LINE_KEYS = ("id", "question", "history")
_TURN_KEYS = ("role", "content")


@dataclass(frozen=True)
class InvalidInput:
    """Why a question was rejected: ``code`` is stable, ``message`` is shown to the user."""

    code: Literal["empty", "too_long", "control_chars"]
    message: str


@dataclass(frozen=True)
class BatchItem:
    """One valid line of a batch file."""

    id: str
    question: str
    history: tuple[Turn, ...] = ()
    lineno: int = 0


@dataclass(frozen=True)
class InvalidLine:
    """A batch line that cannot be used; ``message`` names the line and what is wrong."""

    lineno: int
    message: str
    code: str = "invalid"  # "empty_line" lets a caller skip blank lines quietly
    id: str | None = None  # the line's own "id", when it had a usable one


def _message(code: str, **fields: object) -> str:
    return str(load_data("escalation.yaml")["invalid_input"][code]).format(**fields)


def _bad_controls(text: str) -> list[str]:
    bad: list[str] = []
    for i, ch in enumerate(text):
        if ch in _ALLOWED_CONTROLS or unicodedata.category(ch) != "Cc":
            continue
        if ch == "\r" and text[i + 1 : i + 2] == "\n":
            continue
        name = f"U+{ord(ch):04X}"
        if name not in bad:
            bad.append(name)
    return bad


def validate_question(question: str, max_chars: int = 2000) -> InvalidInput | None:
    """``None`` when ``question`` may be answered, else why not.

    >>> validate_question("Can I run with PHT?") is None
    True
    >>> validate_question("   ").code
    'empty'
    >>> validate_question("x" * 2001).code
    'too_long'
    >>> validate_question("bad\\x00byte").message.split("(")[1][:6]
    'U+0000'
    """
    if not question or all(is_blank(ch) for ch in question):
        return InvalidInput("empty", _message("empty"))
    if len(question) > max_chars:
        return InvalidInput(
            "too_long", _message("too_long", length=len(question), max_chars=max_chars)
        )
    bad = _bad_controls(question)
    if bad:
        return InvalidInput("control_chars", _message("control_chars", chars=", ".join(bad)))
    return None


def _parse_history(value: Any, lineno: int) -> tuple[Turn, ...] | InvalidLine:
    where = f"line {lineno}"
    if not isinstance(value, list):
        return InvalidLine(lineno, f"{where}: 'history' must be a list, got {_kind(value)}.")
    turns: list[Turn] = []
    for i, item in enumerate(value):
        at = f"{where}: history[{i}]"
        if not isinstance(item, dict):
            return InvalidLine(
                lineno, f"{at} must be an object {{role, content}}, got {_kind(item)}."
            )
        extra = sorted(set(item) - set(_TURN_KEYS))
        if extra:
            return InvalidLine(
                lineno, f"{at} has unknown key(s) {_show(extra)}; "
                "allowed: role, content."
            )
        role, content = item.get("role"), item.get("content")
        if role not in ("user", "assistant"):
            return InvalidLine(
                lineno, f"{at}.role must be 'user' or 'assistant', got {_show(role)}."
            )
        if not isinstance(content, str):
            return InvalidLine(lineno, f"{at}.content must be a string, got {_kind(content)}.")
        if not _is_text(content):
            return InvalidLine(lineno, f"{at}.content holds an unpaired surrogate escape.")
        turns.append(Turn(role=cast(Literal["user", "assistant"], role), content=content))
    return tuple(turns)


def _kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    kinds |= {int: "a number", float: "a number"}
    return kinds.get(type(value), "null" if value is None else type(value).__name__)


def _show(value: object, limit: int = 60) -> str:
    """``repr`` of a bad value, cut short: a message never echoes a whole megabyte back."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_text(value: str) -> bool:
    """False for a string holding an unpaired surrogate (a JSON ``\\ud800`` escape): not text."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _decode_line(line: str | bytes, lineno: int) -> str | InvalidLine:
    """The line as text: bytes are decoded as UTF-8 here, so a bad byte spoils only its line.

    A leading byte order mark (U+FEFF, as Windows editors write) is dropped.

    >>> _decode_line(b"\\xef\\xbb\\xbf{}", 1)
    '{}'
    >>> _decode_line(b'{"question": "caf\\xe9"}', 2).message
    'line 2 is not valid UTF-8 (byte 0xE9 at column 18); save the file as UTF-8.'
    """
    if isinstance(line, bytes):
        if lineno == 1 and line[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return InvalidLine(lineno, "line 1 starts with a UTF-16 byte order mark: the file is "
                               "UTF-16; save it as UTF-8.")
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return InvalidLine(
                lineno, f"line {lineno} is not valid UTF-8 (byte 0x{line[exc.start]:02X} at column "
                f"{exc.start + 1}); save the file as UTF-8."
            )
    return line.removeprefix("\ufeff")


def _load_json(text: str, lineno: int) -> tuple[Any, InvalidLine | None]:
    """``json.loads`` with every way it can fail on input turned into an ``InvalidLine``."""
    where = f"line {lineno}"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        why = f"is not valid JSON ({exc.msg} at column {exc.colno})."
    except RecursionError:
        why = "is nested too deeply to read (JSON arrays or objects inside each other)."
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        why = ("holds a number with too many digits to read." if "digits" in str(exc)
               else f"cannot be read as JSON ({exc}).")
    return None, InvalidLine(lineno, f"{where} {why}")


def parse_batch_line(line: str | bytes, lineno: int) -> BatchItem | InvalidLine:
    """Parse one JSONL line (``lineno`` counts from 1) into a ``BatchItem`` or say what is wrong.

    ``line`` may be the raw bytes of the line (decoded as UTF-8 here). Nothing a line holds
    makes this raise: bad bytes, bad JSON, nesting too deep, huge numbers and wrong types all
    come back as an ``InvalidLine`` that keeps the line's own ``id`` when it had a usable one.

    >>> parse_batch_line('{"question": "What is PHT?"}', 3)
    BatchItem(id='line-3', question='What is PHT?', history=(), lineno=3)
    >>> parse_batch_line('{"q": "What is PHT?"}', 4).message
    "line 4: unknown key(s) ['q']; allowed: id, question, history."
    >>> parse_batch_line("[" * 100_000, 5).message
    'line 5 is nested too deeply to read (JSON arrays or objects inside each other).'
    """
    text = _decode_line(line, lineno)
    if isinstance(text, InvalidLine):
        return text
    if not text.strip():
        return InvalidLine(lineno, f"line {lineno} is empty.", code="empty_line")
    value, bad = _load_json(text, lineno)
    if bad is not None:
        return bad
    result = _parse_batch_value(value, lineno)
    if isinstance(result, InvalidLine) and isinstance(value, dict):
        item_id = value.get("id")
        if isinstance(item_id, str) and item_id.strip() and _is_text(item_id):
            return InvalidLine(result.lineno, result.message, result.code, item_id)
    return result


def _parse_batch_value(value: Any, lineno: int) -> BatchItem | InvalidLine:
    where = f"line {lineno}"
    if not isinstance(value, dict):
        return InvalidLine(lineno, f"{where} must be a JSON object, got {_kind(value)}.")
    extra = sorted(set(value) - set(_LINE_KEYS))
    if extra:
        return InvalidLine(
            lineno, f"{where}: unknown key(s) {_show(extra)}; "
            "allowed: id, question, history."
        )
    if "question" not in value:
        return InvalidLine(lineno, f"{where}: missing the 'question' key.")
    question = value["question"]
    if not isinstance(question, str):
        return InvalidLine(lineno, f"{where}: 'question' must be a string, got {_kind(question)}.")
    if not _is_text(question):
        return InvalidLine(lineno, f"{where}: 'question' holds an unpaired surrogate escape "
                           "(\\ud800-\\udfff), which is not a character.")
    item_id = value.get("id", f"line-{lineno}")
    if not isinstance(item_id, str) or not item_id.strip() or not _is_text(item_id):
        return InvalidLine(
            lineno, f"{where}: 'id' must be a non-empty string, got {_show(item_id)}."
        )
    history = _parse_history(value.get("history", []), lineno)
    if isinstance(history, InvalidLine):
        return history
    return BatchItem(id=item_id, question=question, history=history, lineno=lineno)
