"""Does a generated statement say the opposite of, or a different number than, a source sentence?

Pure functions on plain text, shared by the generative answerer (run time) and usable by tests
and evals. A ``Statement`` is a sentence analysed once: normalised tokens
(``core.meaning.normalize``), each content word mapped to a *concept* (its light stem, or the
name of a synonym set of ``lexicon.yaml`` such as ``fix`` = help/solve/cure), the polarity of
every token from NegEx scopes (``core.meaning.negation``: +1 affirmed, -1 negated, 0 hedged or
asked), and its number mentions with units and comparators ("do not have pain greater than
3/10" is ``<= 3/10``).

``contradiction(statement, sources)`` returns why a statement contradicts the sources, or
``""``:

- **polarity**: the statement and a source sentence are about the same thing (they share at
  least ``min_shared`` concepts, covering ``min_overlap`` of the statement's) and a shared
  concept is affirmed in one and negated in the other, where the negation mostly covers shared
  concepts ("it does not help" vs "stretching helps"), not something else ("stretching will
  not fix it" says nothing against "loading will fix it");
- **numbers**: an affirmed number with a unit (5/10, 6-8 reps, 2 weeks) that no source
  sentence sharing a concept with it states or bounds compatibly ("5/10" vs "no more than
  3/10").

It is a high-precision guard built from general rules (no list of article sentences), not an
entailment model: a statement that invents something the sources never mention is the
citation checker's business (word support), and edition conflicts are the caller's (the
editorial notes live above ``core``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from core.meaning.negation import FLIP, Cue, find_cues, number_cue
from core.meaning.normalize import (
    NumberMention,
    extract_numbers,
    load_data,
    normalize,
    stem,
    tokenize,
)


@dataclass(frozen=True)
class Statement:
    """One sentence analysed: concept per token (``""`` = none), polarity per token, numbers."""

    text: str
    words: tuple[str, ...]
    concepts: tuple[str, ...]
    polarity: tuple[int, ...]
    cues: tuple[Cue, ...]
    mentions: tuple[NumberMention, ...]

    def concept_set(self) -> frozenset[str]:
        return frozenset(c for c in self.concepts if c)

    def polarity_of(self, concept: str) -> int:
        """+1 / -1 when every occurrence agrees, 0 when hedged, asked or mixed."""
        pols = {p for c, p in zip(self.concepts, self.polarity, strict=True) if c == concept}
        return pols.pop() if len(pols) == 1 else 0


@cache
def _config() -> tuple[frozenset[str], int, float, tuple[tuple[tuple[str, ...], str, str], ...]]:
    d = load_data("check")
    terms: list[tuple[tuple[str, ...], str, str]] = []  # (stems, last-word prefix, concept)
    for name, entries in d["sets"].items():
        for entry in entries:
            star = str(entry).endswith("*")
            words = [t.text for t in tokenize(normalize(str(entry).rstrip("*")))]
            if not words:
                continue
            if star:
                terms.append((tuple(stem(w) for w in words[:-1]), words[-1], f"@{name}"))
            else:
                terms.append((tuple(stem(w) for w in words), "", f"@{name}"))
    terms.sort(key=lambda t: -(len(t[0]) + (1 if t[1] else 0)))
    return frozenset(map(str, d["stopwords"])), int(d["min_shared"]), float(d["min_overlap"]), tuple(terms)


@cache
def _source_overlap() -> float:
    return float(load_data("check")["min_source_overlap"])


@cache
def generic() -> frozenset[str]:
    """Concepts of the whole domain, ignored when deciding that two sentences share a topic."""
    return frozenset(str(c) for c in load_data("check")["generic"])


def _concepts(words: list[str], blocked: set[int]) -> list[str]:
    stop, _s, _o, terms = _config()
    stems = [stem(w) for w in words]
    out = [""] * len(words)
    i = 0
    while i < len(words):
        if i in blocked or not words[i].isalpha():
            i += 1
            continue
        for t_stems, prefix, concept in terms:
            k = len(t_stems) + (1 if prefix else 0)
            if tuple(stems[i : i + len(t_stems)]) != t_stems or i + k > len(words):
                continue
            if prefix and not words[i + k - 1].startswith(prefix):
                continue
            out[i : i + k] = [concept] * k
            i += k
            break
        else:
            if words[i] not in stop and len(words[i]) > 1:
                out[i] = stems[i]
            i += 1
    return out


def analyze(text: str, *, negate: bool = False) -> Statement:
    """Analyse one sentence; ``negate`` flips its polarity (the proposition answered by "No").

    A trailing question mark makes the sentence uncertain unless the caller strips it.

    >>> s = analyze("Stretching won't help, but loading will.")
    >>> s.polarity_of("@stretch"), s.polarity_of("@fix"), s.polarity_of("@load")
    (-1, -1, 1)
    >>> [(m.op, m.lo, m.unit) for m in analyze("Do not have pain greater than 3/10.").mentions]
    [('<=', 3.0, '/10')]
    """
    norm = normalize(text)
    tokens = tokenize(norm)
    words = [t.text for t in tokens]
    cues = find_cues(tokens, prohibitions="negate")  # generated advice: "avoid X" denies X
    used: set[int] = set()
    mentions = []
    for m in extract_numbers(tokens):
        hits = [
            k
            for k, c in enumerate(cues)
            if m.cmp_start < m.index and m.op in ("<", "<=", ">", ">=")
            and number_cue(c, words, m.cmp_start)
        ]
        if hits:
            used.update(hits)
            m = NumberMention(m.lo, m.hi, m.unit, FLIP[m.op], m.index, m.cmp_start)
        mentions.append(m)
    cues = [c for k, c in enumerate(cues) if k not in used]
    blocked = {i for c in cues for i in range(c.start, c.end)}
    question = norm.rstrip(" \"')").endswith("?")
    polarity = []
    for i in range(len(words)):
        if question or any(c.kind == "hedge" and c.covers(i) for c in cues):
            polarity.append(0)
            continue
        odd = sum(1 for c in cues if c.negates and c.covers(i)) % 2
        polarity.append((1 if odd else -1) if negate else (-1 if odd else 1))
    if negate:  # the answer "no" negates the whole sentence: a cue over all of it says so
        cues.append(Cue("forward", "no", 0, 0, 0, len(words)))
    return Statement(
        text, tuple(words), tuple(_concepts(words, blocked)), tuple(polarity), tuple(cues),
        tuple(mentions),
    )


def proposition(question: str, answer: str) -> Statement:
    """A yes/no question's proposition as a statement, negated when the answer is "no".

    >>> proposition("Will stretching fix it?", "no").polarity_of("@fix")
    -1
    """
    return analyze(question.strip().rstrip("?").strip() + ".", negate=answer == "no")


def _negation_is_about(neg: Statement, concept: str, other: frozenset[str]) -> bool:
    """A cue negating ``concept`` in ``neg`` is about what ``other`` says too."""
    min_shared = _config()[1]
    idx = [i for i, c in enumerate(neg.concepts) if c == concept]
    for cue in neg.cues:
        if not cue.negates or not any(cue.covers(i) for i in idx):
            continue
        covered = {neg.concepts[i] for i in range(len(neg.words)) if cue.covers(i)} - {""}
        shared = (covered & other) - generic()
        if len(shared) >= min_shared or len(covered & other) > len(covered - other):
            return True
    return False


def polarity_conflict(statement: Statement, source: Statement) -> str:
    """Why ``statement`` and ``source`` state opposite things about the same concepts, or "".

    >>> src = analyze("Most runners have already tried hamstring stretching and it does not help.")
    >>> polarity_conflict(analyze("Stretching your hamstrings helps the pain."), src)
    'affirms "helps" where the source negates it'
    >>> polarity_conflict(analyze("Loading will fix it."), analyze("Stretching will not fix it."))
    ''
    """
    _stop, min_shared, min_overlap, _t = _config()
    mine, theirs = statement.concept_set(), source.concept_set()
    shared = mine & theirs
    topical = shared - generic()
    if len(topical) < min_shared or len(topical) < min_overlap * len(mine - generic()):
        return ""
    if any(statement.polarity_of(c) == source.polarity_of(c) == -1 for c in shared):
        return ""  # both negate the same thing: the negations agree
    for concept in sorted(shared):
        a, b = statement.polarity_of(concept), source.polarity_of(concept)
        if a * b != -1:
            continue
        neg, other = (statement, theirs) if a < 0 else (source, mine)
        if a < 0 and len(topical) < _source_overlap() * len(theirs - generic()):
            continue  # denying what a long, loosely related source sentence affirms: too weak
        if _negation_is_about(neg, concept, other):
            word = _surface(statement, concept)
            return f'{"negates" if a < 0 else "affirms"} "{word}" where the source ' + (
                "affirms it" if a < 0 else "negates it"
            )
    return ""


def _surface(s: Statement, concept: str) -> str:
    return next((w for w, c in zip(s.words, s.concepts, strict=True) if c == concept), concept)


_DIRECTION = {"<": -1, "<=": -1, ">": 1, ">=": 1, "=": 0, "range": 0}


def _interval(m: NumberMention) -> tuple[float, float, bool, bool]:
    """(low, high, low is open, high is open) of the values ``m`` allows."""
    if m.op in ("<", "<="):
        return -math.inf, m.lo, True, m.op == "<"
    if m.op in (">", ">="):
        return m.lo, math.inf, m.op == ">", True
    return m.lo, m.hi, False, False


def compatible(mine: NumberMention, theirs: NumberMention) -> bool:
    """``mine`` is stated or allowed by ``theirs`` (same unit assumed).

    >>> m = lambda t: extract_numbers(tokenize(normalize(t)))[0]
    >>> compatible(m("2/10"), m("no more than 3/10")), compatible(m("5/10"), m("no more than 3/10"))
    (True, False)
    >>> compatible(m("6-8 reps"), m("6-8 reps")), compatible(m("up to 3/10"), m("3/10 or less"))
    (True, True)
    >>> compatible(m("5/10"), m("above 5/10"))
    False
    """
    lo, hi, lo_open, hi_open = _interval(mine)
    tlo, thi, tlo_open, thi_open = _interval(theirs)
    above = lo > tlo or (lo == tlo and (lo_open or not tlo_open))
    below = hi < thi or (hi == thi and (hi_open or not thi_open))
    if above and below:
        return True
    same = math.isclose(mine.lo, theirs.lo) and math.isclose(mine.hi, theirs.hi)
    return same and _DIRECTION[mine.op] in (0, _DIRECTION[theirs.op]) and mine.op in (
        theirs.op, "=", "range") and theirs.op not in ("<", ">")


def number_conflict(statement: Statement, sources: Sequence[Statement]) -> str:
    """An affirmed number with a unit that no related source sentence allows, or "".

    >>> src = [analyze("Make sure you do not have pain greater than a 3/10 when performing these.")]
    >>> number_conflict(analyze("Yes, 5/10 pain is ok during the exercises."), src)
    'says 5/10 where the source says <=3/10'
    >>> number_conflict(analyze("Keep the pain at 2/10 during the exercises."), src)
    ''
    """
    mine = statement.concept_set()
    for m in statement.mentions:
        if not m.unit or statement.polarity[m.index] != 1:
            continue
        same_unit = [
            (s, t) for s in sources for t in s.mentions if t.unit == m.unit
        ]
        related = [(s, t) for s, t in same_unit if s.concept_set() & mine] or same_unit
        if not related or any(compatible(m, t) for _s, t in related):
            continue
        said = ", ".join(dict.fromkeys(_fmt(t) for _s, t in related))
        return f"says {_fmt(m)} where the source says {said}"
    return ""


def _fmt(m: NumberMention) -> str:
    value = f"{m.lo:g}" if m.lo == m.hi else f"{m.lo:g}-{m.hi:g}"
    op = "" if m.op in ("=", "range") else m.op
    return f"{op}{value}{m.unit if m.unit.startswith(('/', 'x')) else ' ' + m.unit}"


def contradiction(statement: Statement, sources: Sequence[Statement]) -> str:
    """Why ``statement`` contradicts one of ``sources`` (polarity or numbers), or ""."""
    for source in sources:
        why = polarity_conflict(statement, source)
        if why:
            return f"{why}: \u201c{source.text.strip()}\u201d"
    return number_conflict(statement, sources)
