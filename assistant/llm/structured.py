"""Cut a streamed completion into whole sentences, from JSON (structured output) or ``[n]`` text.

``response_format(n)`` is the JSON schema sent to servers that support structured output
(llama.cpp's server, vLLM, Ollama, OpenAI): ``{"sentences": [{"text": ..., "cites": [1, 2]}]}``
with ``cites`` limited to the passage numbers 1..n. ``SentenceStream`` is fed the text
deltas as they arrive and returns each sentence as soon as it is complete, as ``(separator,
sentence)`` with the citations written as ``[n]`` markers before the final punctuation
("Hills come last [1]."), so one verifier serves both modes. It detects, from the first
character, a server that ignored the schema and answered in plain text, and then cuts at
sentence ends instead; a JSON answer cut short (``max_tokens``) keeps its complete
sentences. Pure: no IO; it does not verify anything (``verify.py`` does).
"""

from __future__ import annotations

import json
import re
from typing import Any

from assistant.llm.citations import _MARKERS, parse_markers, split_sentences

_FINAL_PUNCT = re.compile(r"[.!?]+[\"'\u201d\u2019)]*\s*$")


def response_format(n_passages: int, max_sentences: int = 6) -> dict[str, Any]:
    """The ``response_format`` of a cited answer over ``n_passages`` numbered passages.

    >>> rf = response_format(3)
    >>> rf["type"], rf["json_schema"]["schema"]["properties"]["sentences"]["items"]["properties"]["cites"]["items"]
    ('json_schema', {'type': 'integer', 'enum': [1, 2, 3]})
    """
    sentence = {
        "type": "object",
        "properties": {
            "text": {"type": "string"},
            "cites": {
                "type": "array",
                "items": {"type": "integer", "enum": list(range(1, n_passages + 1))},
                "minItems": 1,
            },
        },
        "required": ["text", "cites"],
        "additionalProperties": False,
    }
    schema = {
        "type": "object",
        "properties": {
            "sentences": {
                "type": "array",
                "items": sentence,
                "minItems": 1,
                "maxItems": max_sentences,
            }
        },
        "required": ["sentences"],
        "additionalProperties": False,
    }
    return {
        "type": "json_schema",
        "json_schema": {"name": "cited_answer", "strict": True, "schema": schema},
    }


def with_markers(text: str, cites: list[int]) -> list[str]:
    """The sentences of ``text``, each carrying ``cites`` as markers before its final punctuation.

    >>> with_markers("Hills come last. Then speed work", [2, 1])
    ['Hills come last [2][1].', 'Then speed work [2][1]']
    """
    numbers = [int(c) for c in cites if isinstance(c, int) and not isinstance(c, bool)]
    out = []
    for s, e in split_sentences(text):
        sentence = text[s:e]
        own = parse_markers(sentence)
        marks = "".join(f"[{k}]" for k in dict.fromkeys([*own, *numbers]))
        bare = _MARKERS.sub("", sentence).rstrip()
        m = _FINAL_PUNCT.search(bare)
        body, punct = (bare[: m.start()], bare[m.start() :].strip()) if m else (bare, "")
        out.append(f"{body.rstrip()} {marks}{punct}" if marks else bare)
    return out


class SentenceStream:
    """Feed text deltas, get complete ``(separator, sentence)`` pairs; see the module docstring."""

    def __init__(self, structured: bool):
        self.structured = structured
        self.mode = "detect" if structured else "text"
        self.buf = ""
        self.pos = 0  # JSON: index of the next item; text: end of the last emitted sentence
        self.done = False
        self.emitted = 0

    def feed(self, delta: str) -> list[tuple[str, str]]:
        self.buf += delta
        if self.mode == "detect":
            head = self.buf.lstrip()
            if not head:
                return []
            if head[0] != "{":
                self.mode = "text"
            else:
                m = re.search(r'"sentences"\s*:\s*\[', self.buf)
                if not m:
                    return []
                self.mode, self.pos = "json", m.end()
        return self._json() if self.mode == "json" else self._text(final=False)

    def close(self) -> list[tuple[str, str]]:
        """The sentences still buffered; raises ``ValueError`` for JSON with no sentence at all."""
        if self.mode == "text":
            return self._text(final=True)
        out = self._json() if self.mode == "json" else []
        if not self.emitted and not out:
            raise ValueError("the structured answer held no complete sentence")
        return out

    def _json(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        decoder = json.JSONDecoder()
        while not self.done:
            m = re.compile(r"[\s,]*").match(self.buf, self.pos)
            i = m.end() if m else self.pos
            if i >= len(self.buf):
                break
            if self.buf[i] == "]":
                self.done = True
                break
            try:
                item, end = decoder.raw_decode(self.buf, i)
            except ValueError:
                break  # incomplete: wait for more text
            self.pos = end
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                raw = item.get("cites")
                cites: list[int] = raw if isinstance(raw, list) else []
                for sentence in with_markers(item["text"], cites):
                    out.append((" ", sentence))
        self.emitted += len(out)
        return out

    def _text(self, final: bool) -> list[tuple[str, str]]:
        spans = [(s, e) for s, e in split_sentences(self.buf) if s >= self.pos]
        if not final:  # the last one may still grow, and markers may still join the one before
            cut = len(spans) - 1
            while cut > 0 and self.buf[spans[cut][0]] == "[":
                cut -= 1
            spans = spans[:cut]
        out = []
        for s, e in spans:
            out.append((self.buf[self.pos : s], self.buf[s:e]))
            self.pos = e
        self.emitted += len(out)
        return out
