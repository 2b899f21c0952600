"""``pht ask`` and ``pht chat``: the question-answering commands and their output formats.

``pht ask "Q"`` prints a readable answer with its sources (streamed as it is
produced); ``--json`` prints the one-object JSON contract; ``--batch FILE``
answers a JSONL file line by line (one JSON object per input line, in order, the
model loaded once; a bad or blank line yields an ``invalid_input`` object, with
the line's own ``id`` when it has one, and the batch goes on). The file is read
as bytes and split at ``\n`` only; each line is decoded on its own, so an invalid
UTF-8 byte, bad JSON or an over-long line spoils only that line. ``pht chat`` is an
interactive terminal chat with history. The formatting functions are pure; the
commands do the IO.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from typing import BinaryIO, TextIO

from assistant.gates.validate import InvalidLine, parse_batch_line
from assistant.models import Answer, AnswerService, Turn
from core.errors import PHTError
from core.settings import Settings


def format_sources(answer: Answer) -> str:
    """The human-readable tail of an answer: notices, then numbered verbatim sources."""
    lines: list[str] = []
    for n in answer.notices:
        lines.append(f"! {n}")
    if answer.citations:
        lines.append("Sources:")
        for c in answer.citations:
            tag = " (paid promotion)" if c.kind == "sponsorship" else ""
            lines.append(f"  [{c.marker}] {c.title} ({c.edition}){tag}, {c.source}:{c.start}-{c.end}")
            lines.append(f'      "{" ".join(c.quote.split())}"')
    return "\n".join(lines)


def invalid_line_json(bad: InvalidLine, item_id: str | None = None) -> dict[str, object]:
    return {
        "id": item_id or f"line-{bad.lineno}", "question": "", "status": "invalid_input",
        "answer": bad.message, "citations": [], "contexts": [], "notices": [],
        "backend": "none", "timings_ms": {"total": 0.0},
    }


def stream_to(out: TextIO, events: Iterator[str | Answer]) -> Answer:
    """Print text deltas as they arrive; return the final Answer."""
    final: Answer | None = None
    for item in events:
        if isinstance(item, Answer):
            final = item
        else:
            out.write(item)
            out.flush()
    assert final is not None
    return final


def read_batch_lines(fh: BinaryIO, max_line_bytes: int) -> Iterator[bytes | InvalidLine]:
    """The lines of a batch file as raw bytes, split at ``\\n`` only (a trailing ``\\r`` is
    dropped; U+2028 and friends inside a question stay in it). A line over ``max_line_bytes``
    is skipped unread (memory stays bounded) and comes back as an ``InvalidLine``."""
    lineno = 0
    while True:
        try:
            line = fh.readline(max_line_bytes + 1)
        except OSError as exc:  # a disk error, or a folder given as FILE
            raise PHTError(f"Cannot read the batch file after line {lineno} "
                           f"({exc.strerror or exc}).") from exc
        if not line:
            return
        lineno += 1
        if len(line) > max_line_bytes and not line.endswith(b"\n"):
            while (rest := fh.readline(1 << 16)) and not rest.endswith(b"\n"):
                pass  # drop the rest of the over-long line
            yield InvalidLine(lineno, f"line {lineno} is over the {max_line_bytes:,}-byte limit "
                              "(PHT_BATCH_MAX_LINE_BYTES); it was not read.")
            continue
        yield line.removesuffix(b"\n").removesuffix(b"\r")


def run_batch(
    service: AnswerService, lines: Iterable[str | bytes | InvalidLine], out: TextIO
) -> int:
    """Answer each JSONL line (text or raw bytes); returns how many lines were invalid.

    A line that cannot be used yields an ``invalid_input`` object naming the line and the
    batch goes on; nothing a line holds stops the run.
    """
    bad = 0
    for lineno, line in enumerate(lines, start=1):
        item = line if isinstance(line, InvalidLine) else parse_batch_line(line, lineno)
        if isinstance(item, InvalidLine):
            bad += 1
            out.write(json.dumps(invalid_line_json(item, item.id)) + "\n")
            out.flush()
            continue
        answer = service.ask(item.question, item.history)
        out.write(json.dumps({"id": item.id, **answer.to_json()}) + "\n")
        out.flush()
    return bad


def _service(args: argparse.Namespace, settings: Settings | None = None) -> AnswerService:
    from assistant.service import build_assistant

    return build_assistant(settings or Settings(), backend=getattr(args, "backend", None))


def cmd_ask(args: argparse.Namespace) -> int:
    if args.batch:
        settings = Settings()
        try:
            fh = open(args.batch, "rb")  # noqa: SIM115 - closed by `with` below
        except OSError as exc:
            print(f"pht: cannot read batch file {args.batch}: {exc.strerror or exc}.",
                  file=sys.stderr)
            return 2
        with fh:
            lines = read_batch_lines(fh, settings.batch_max_line_bytes)
            run_batch(_service(args, settings), lines, sys.stdout)
        return 0
    if args.question is None:
        print("pht ask: give a QUESTION or --batch FILE.jsonl", file=sys.stderr)
        return 2
    service = _service(args)
    if args.json:
        print(json.dumps(service.ask(args.question).to_json(), ensure_ascii=False))
        return 0
    answer = stream_to(sys.stdout, _final_rendering(service.stream(args.question)))
    print("\n" + format_sources(answer))
    return 0


def _final_rendering(events: Iterator[str | Answer]) -> Iterator[str | Answer]:
    """Stream deltas; when the verified answer differs from what was streamed, print it again."""
    shown = ""
    for item in events:
        if isinstance(item, Answer):
            if " ".join(shown.split()) != " ".join(item.answer.split()):
                yield "\n--- verified answer ---\n" + item.answer + "\n"
            yield item
        else:
            shown += item
            yield item


def cmd_chat(
    args: argparse.Namespace, stdin: TextIO | None = None, out: TextIO | None = None
) -> int:
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    service = _service(args)
    history: list[Turn] = []
    out.write("PHT assistant: ask about proximal hamstring tendinopathy. Empty line or Ctrl-D quits.\n")
    while True:
        out.write("\nyou> ")
        out.flush()
        line = stdin.readline()
        if not line or not line.strip():
            out.write("\n")
            return 0
        question = line.rstrip("\n")
        out.write("pht> ")
        answer = stream_to(out, _final_rendering(service.stream(question, history)))
        out.write("\n" + format_sources(answer) + "\n")
        history += [Turn("user", question), Turn("assistant", answer.answer)]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ask", help="answer one question (or a JSONL batch) with citations")
    p.add_argument("question", nargs="?", help="the question, in quotes")
    p.add_argument("--json", action="store_true", help="print one JSON object (the stable contract)")
    p.add_argument("--batch", metavar="FILE.jsonl", help='lines {"id", "question", "history"}')
    p.add_argument("--backend", choices=["extractive", "llm", "auto"], default=None,
                   help="answerer (default: PHT_BACKEND, else extractive)")
    p.set_defaults(func=cmd_ask)
    c = sub.add_parser("chat", help="interactive terminal chat with history")
    c.add_argument("--backend", choices=["extractive", "llm", "auto"], default=None)
    c.set_defaults(func=lambda a: cmd_chat(a))
