"""Offline follow-up rewriting: "and how do I fix it?" -> "How do I fix pain when sitting?".

``rewrite_followup`` makes a standalone retrieval query from a follow-up, using the topic
of the previous user questions (entities such as PHT, sitting pain, a named exercise; YAML
data in ``assistant/data/followups.yaml``). Rules, in order: a message that opens by saying it
changes the subject ("different question:", "off topic but") is left as it is; an elliptical
question ("what about hills?") swaps a same-kind entity into the previous question or is appended to it;
a referring pronoun ("it", "that", "they", "that exercise") is replaced by the topic, unless
it follows a body part or complaint the message names itself ("my ankle is swollen, can I run
on it?") or introduces a place ("that spot at the top of my thigh"); a
short question with no topic of its own that asks for an amount or a duration ("how many
sets?") gets "with <topic>". Anything else is a question that stands on its own and is
returned unchanged: "What is PHT?", "Can I keep running?", "What's the capital of France?". A
first message that asks about "it" and names nothing else ("How is it treated?") is about the
assistant's subject, PHT. Earlier user turns are rewritten first, so topics carry
through a chain of follow-ups. Pure and deterministic; assistant turns are ignored. It
does not use an LLM (``prompts/condense.yaml`` is the generative alternative).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from assistant.gate_data import load_data
from assistant.gates.message import ask_kind
from assistant.models import Turn
from core.text import normalize

_I = re.IGNORECASE


@dataclass(frozen=True)
class Entity:
    id: str
    kind: str
    phrase: str
    patterns: tuple[re.Pattern[str], ...]
    anchors: bool = True

    def find(self, text: str) -> re.Match[str] | None:
        hits = [m for rx in self.patterns if (m := rx.search(text))]
        return min(hits, key=lambda m: m.start()) if hits else None


@dataclass(frozen=True)
class _State:
    """The last standalone question that had a topic, and its entities (priority order)."""

    question: str
    entities: tuple[Entity, ...]


class FollowupRules:
    """Compiled follow-up data; ``rewrite`` is pure."""

    def __init__(self, data: Mapping[str, Any]):
        self.turns = int(data["history_user_turns"])
        self.short = int(data["short_words"])
        self.topic_change = re.compile(data["topic_change"], _I)
        self.openers = re.compile(data["openers"], _I)
        self.pronouns = re.compile(data["pronouns"], _I)
        self.determiners = re.compile(data["determiner_phrases"], _I)
        self.own_referent = re.compile(data["own_referent"] + data["body_parts"], _I)
        self.own_complaint = re.compile(data["own_complaint"] + data["body_parts"], _I)
        self.own_place = re.compile(data["own_place"], _I)
        self.non_referring = tuple(re.compile(p, _I) for p in data["non_referring"])
        self.elliptical = tuple(re.compile(p, _I) for p in data["elliptical"])
        self.plural = re.compile(data["plural_pronouns"], _I)
        self.plural_kinds = frozenset(data["plural_kinds"])
        self.question_words = re.compile(data["question_words"], _I)
        self.measure = re.compile(data["measure_words"], _I)
        self.generic = frozenset(str(data["generic_words"]).split())
        self.borrow_kinds = frozenset(data["borrow_kinds"])
        self.default_topic = str(data["default_topic"])
        self.default_asks = frozenset(str(data["default_topic_asks"]).split())
        self.default_words = frozenset(str(data["default_topic_words"]).split()) | self.default_asks
        self.templates: Mapping[str, str] = data["templates"]
        self.entities = tuple(
            Entity(
                id=str(e["id"]),
                kind=str(e["kind"]),
                phrase=str(e["phrase"]),
                patterns=tuple(re.compile(p, _I) for p in e["patterns"]),
                anchors=bool(e.get("anchors", True)),
            )
            for e in data["entities"]
        )

    def entities_in(self, text: str) -> tuple[Entity, ...]:
        return tuple(e for e in self.entities if e.find(text))

    def refers_back(self, text: str) -> bool:
        """Whether ``text`` has a pronoun that refers to something said before it ("Should I
        take it before a run?"), not an empty "it" ("Is it safe to run?").

        >>> r = default_followup_rules()
        >>> r.refers_back("Should I take it before a run?"), r.refers_back("Is it safe to run?")
        (True, False)
        """
        return self._referring(normalize(text)) is not None

    def _referring(self, text: str) -> re.Match[str] | None:
        """The first word/phrase that refers back to the topic, if any."""
        masked = self._mask(text)
        # "that exercise" names what is referred to better than "the pain" before it does:
        # "is the pain from that exercise normal?" is about the exercise
        phrases = list(self.determiners.finditer(masked))
        pointing = [m for m in phrases if not m.group(0).lower().startswith("the ")]
        if pointing:
            return pointing[0]
        hits = [m for m in (phrases[0] if phrases else None, self.pronouns.search(masked)) if m]
        return min(hits, key=lambda m: (m.start(), -m.end())) if hits else None

    def _mask(self, text: str) -> str:
        """``text`` with the uses of pronouns that refer to nothing ("is it ok to", "IT band")
        blanked out, same length."""
        for rx in self.non_referring:
            text = rx.sub(lambda m: "_" * len(m.group(0)), text)
        return text

    def _own_subject(self, body: str, ref: re.Match[str]) -> bool:
        """True when the pronoun ``ref`` refers to something the message itself names: a body
        part or complaint before it ("my ankle ... it"), or a place it introduces ("that spot")."""
        before = body[: ref.start()]
        singular = not self.plural.match(ref.group(0))
        return bool(self.own_referent.search(before) or self.own_place.search(before)
                    or self.own_place.match(body, ref.start())
                    or (singular and self.own_complaint.search(before)))

    def _rewrite(self, question: str, state: _State | None) -> str:
        if state is None:
            return question
        text = normalize(question)
        body = self.openers.sub("", text).strip()
        if not body or self.topic_change.match(body):
            return question  # "different question: ..." says it does not follow up
        own = [e for e in self.entities_in(body) if e.anchors]
        for rx in self.elliptical:
            m = rx.match(text.strip()) or rx.match(body)
            if m and len(m.group("x").split()) <= 5:
                return self._elliptical(m.group("x").strip(), state)
        ref = self._referring(body)
        starts = [m.start() for e in own if (m := e.find(body)) is not None]
        first_own = min(starts, default=len(body))
        if ref is not None and ref.start() < first_own and not self._own_subject(body, ref):
            candidates = [e for e in state.entities if e not in own]
            if self.plural.match(ref.group(0)):
                candidates.sort(key=lambda e: e.kind not in self.plural_kinds)  # stable
            topic = candidates[0] if candidates else None
            if topic is None:
                return question
            return _sentence(body[: ref.start()] + topic.phrase + body[ref.end() :])
        if own or len(body.split()) > self.short:
            return question
        if not (body.endswith("?") or self.question_words.search(body)):
            return question
        words = re.findall(r"[a-z]+", body.lower())
        if any(w not in self.generic for w in words):
            return question  # it has a subject of its own: it stands alone
        measure = self.measure.search(body) is not None
        topic = next(
            (e for e in state.entities if measure or e.kind in self.borrow_kinds), None
        )
        if topic is None:
            return question
        q = body.rstrip("?.! ")
        return _sentence(self.templates["augment"].format(question=q, topic=topic.phrase))

    def _elliptical(self, x: str, state: _State) -> str:
        new = [e for e in self.entities_in(x) if e.anchors]
        for e_new in new:
            for e_old in state.entities:
                m = e_old.find(state.question)
                if e_old.kind == e_new.kind and e_old != e_new and m is not None:
                    swapped = state.question[: m.start()] + x + state.question[m.end() :]
                    return _sentence(swapped)
        previous = state.question.rstrip("?.! ")
        return _sentence(self.templates["elliptical"].format(previous=previous, x=x))

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        state: _State | None = None
        users = [t.content for t in history if t.role == "user"][-self.turns :]
        for past in users:
            standalone = self._rewrite(past, state)
            found = self.entities_in(normalize(standalone))
            if found:
                state = _State(normalize(standalone), found)
        if state is None and not users:  # the conversation's first message
            return self._first(question)
        return self._rewrite(question, state)

    def _first(self, question: str) -> str:
        """The first message of a conversation, when all its words are ``default_topic_words``:
        "it" in a question about a condition's course or care ("How is it treated?") is the
        assistant's subject (``default_topic``), and a bare ask for advice ("What should I do?",
        "Any tips?") asks how that is treated."""
        body = self.openers.sub("", normalize(question)).strip()
        words = re.findall(r"[\w']+", body.lower())  # any letters or digits: "8/10" is words too
        if any(w not in self.default_words for w in words) or self.entities_in(body):
            return question
        if ask_kind(body) == "advice":
            # "What should I do?", "Any tips?": what to do about the assistant's subject
            return str(self.templates["advice"]).format(topic=self.default_topic)
        its = list(re.finditer(r"\bit\b", self._mask(body), re.IGNORECASE))
        if len(its) != 1 or not self.default_asks & set(words):
            return question  # one "it" ("What is the treatment for it?"), not "Will it fix it?"
        ref = its[0]
        return _sentence(body[: ref.start()] + self.default_topic + body[ref.end() :])


def _sentence(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith(("?", ".", "!")) else text + "?"


@lru_cache(maxsize=1)
def default_followup_rules() -> FollowupRules:
    return FollowupRules(load_data("followups.yaml"))


def rewrite_followup(
    question: str, history: Sequence[Turn], rules: FollowupRules | None = None
) -> str:
    """A standalone version of ``question`` given the conversation ``history``.

    >>> h = [Turn("user", "Why does my butt hurt when I sit?"), Turn("assistant", "...")]
    >>> rewrite_followup("and how do I fix it?", h)
    'How do I fix pain when sitting?'
    >>> rewrite_followup("What is PHT?", h)
    'What is PHT?'
    >>> rewrite_followup("what about hills?", [Turn("user", "Can I run with PHT?")])
    'Can I run with PHT — what about hills?'
    """
    return (rules or default_followup_rules()).rewrite(question, history)
