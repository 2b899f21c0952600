"""NegEx-style negation and hedge scopes over the tokens of one normalised sentence.

``find_cues`` finds cue phrases (longest first, each token used once) from
``core/meaning/data/negation.yaml``: *forward* cues negate the next ``window`` tokens ("will not fix
it"), *both* cues (copula/modal negation) also negate the preceding tokens of their clause
("static stretching before a run is not recommended"), *pseudo* cues look like negation but
are skipped ("not only", "no more than", "whether or not"), *hedges* make their clause
uncertain ("I thought that stretching would solve it"), *prohibitions* ("avoid", "refrain
from") scope forward like a forward cue and are advice, not a denial: they make what they cover
uncertain, or negate it when the caller passes ``prohibitions="negate"`` (the runtime check of
generated advice does; the claim matcher, judging statements, keeps the default). Scopes stop at terminators (",", ";",
"but", "and", "if", ...). ``number_cue`` tells when a cue negates a comparator instead of the
sentence ("do not have pain greater than 3/10"). Double negation is the caller's business
(parity of the cues covering a token); this module does no concept matching.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from core.meaning.normalize import Token, load_data, tokenize

CueKind = Literal["forward", "both", "hedge", "prohibit"]


@dataclass(frozen=True)
class Cue:
    """A cue at tokens ``[start, end)`` covering ``[back, start)`` and ``[end, fwd)``."""

    kind: CueKind
    phrase: str
    start: int
    end: int
    back: int
    fwd: int

    def covers(self, i: int) -> bool:
        return self.back <= i < self.start or self.end <= i < self.fwd

    @property
    def negates(self) -> bool:
        return self.kind != "hedge"


@dataclass(frozen=True)
class _Lists:
    window: int
    hedge_window: int
    phrases: tuple[tuple[tuple[str, ...], str], ...]  # (tokens, kind) longest first
    terminators: frozenset[str]
    hedge_terminators: frozenset[str]
    bridge: frozenset[str]
    relative: frozenset[str]


@lru_cache(maxsize=1)
def _lists() -> _Lists:
    d = load_data("negation")
    phrases: list[tuple[tuple[str, ...], str]] = []
    for kind in ("pseudo", "both", "forward", "prohibit", "hedge"):  # ties: this order
        for p in d.get(kind, ()):
            phrases.append((tuple(t.text for t in tokenize(str(p))), kind))
    phrases.sort(key=lambda p: -len(p[0]))  # stable: equal lengths keep the order above
    return _Lists(
        window=int(d["window"]),
        hedge_window=int(d["hedge_window"]),
        phrases=tuple(phrases),
        terminators=frozenset(str(t) for t in d["terminators"]),
        hedge_terminators=frozenset(str(t) for t in d["hedge_terminators"]),
        bridge=frozenset(str(t) for t in d["number_bridge"]),
        relative=frozenset(str(t) for t in d.get("relative_pronouns", ())),
    )


def find_cues(
    tokens: list[Token], prohibitions: Literal["uncertain", "negate"] = "uncertain"
) -> list[Cue]:
    """Negation and hedge cues of a sentence with their scopes.

    A prohibition ("avoid X") comes back as a ``hedge`` with a forward scope, or as a negating
    ``prohibit`` cue with ``prohibitions="negate"``.

    >>> from core.meaning.normalize import normalize
    >>> toks = tokenize(normalize("Stretching won't fix it, but loading will."))
    >>> [(c.kind, c.phrase, [t.text for i, t in enumerate(toks) if c.covers(i)]) for c in find_cues(toks)]
    [('both', 'will not', ['stretching', 'fix', 'it'])]
    >>> find_cues(tokenize(normalize("Not only does it help, it lasts.")))
    []
    >>> toks = tokenize("strengthen your calves and avoid overuse")
    >>> [(c.kind, c.negates) for c in find_cues(toks)], [c.kind for c in find_cues(toks, "negate")]
    ([('hedge', False)], ['prohibit'])
    """
    lists = _lists()
    words = [t.text for t in tokens]
    n = len(words)
    cues: list[Cue] = []
    i = 0
    while i < n:
        for phrase, kind in lists.phrases:
            k = len(phrase)
            if tuple(words[i : i + k]) == phrase:
                if kind == "prohibit":
                    cue = _scoped("forward", " ".join(phrase), i, i + k, words, lists)
                    as_kind: CueKind = "prohibit" if prohibitions == "negate" else "hedge"
                    cues.append(Cue(as_kind, cue.phrase, cue.start, cue.end, cue.back, cue.fwd))
                elif kind != "pseudo":
                    cues.append(_scoped(kind, " ".join(phrase), i, i + k, words, lists))
                i += k
                break
        else:
            i += 1
    return cues


def _scoped(kind: str, phrase: str, start: int, end: int, words: list[str], lists: _Lists) -> Cue:
    hedge = kind == "hedge"
    window = lists.hedge_window if hedge else lists.window
    stops = lists.hedge_terminators if hedge else lists.terminators
    fwd = end
    while fwd < len(words) and fwd - end < window and words[fwd] not in stops:
        fwd += 1
    back = start
    relative = start > 0 and words[start - 1] in lists.relative  # "...a tendon that can not cope"
    if kind in ("both", "hedge") and not relative:
        while back > 0 and start - back < window and words[back - 1] not in stops:
            back -= 1
    return Cue(kind, phrase, start, end, back, fwd)  # type: ignore[arg-type]


def number_cue(cue: Cue, words: list[str], cmp_start: int) -> bool:
    """True when ``cue`` negates the comparator starting at token ``cmp_start``.

    Only bridge words ("have", "pain", "get", ...) may stand between them.

    >>> words = [t.text for t in tokenize("do not have pain greater than 3/10")]
    >>> cue = find_cues(tokenize("do not have pain greater than 3/10"))[0]
    >>> number_cue(cue, words, 4), number_cue(cue, ["do", "not", "run", "with", "pain", "over"], 5)
    (True, False)
    """
    if not cue.negates or not (cue.end <= cmp_start < cue.fwd):
        return False
    bridge = _lists().bridge
    return all(w in bridge for w in words[cue.end : cmp_start])


FLIP = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "=": "!=", "range": "!range"}
