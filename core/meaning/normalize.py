"""Comparison form of answer and article text for the claim matcher: normalise, split, tokenise.

``normalize`` lower-cases and makes typography plain (via ``core.text.normalize``), drops
markdown emphasis and ``[1]`` citation markers, expands contractions ("won't" -> "will not"),
turns number words into digits and writes numbers canonically ("six to eight" -> "6-8",
"3 out of 10" -> "3/10", "3 sets of 10 reps" -> "3x10", "up to a year" -> "up to 1 year").
``split_sentences`` cuts text into sentences (lines, then ``.!?``, minding abbreviations);
``tokenize`` gives word / number / punctuation tokens with character offsets; ``stem`` is a
light, consistent suffix stripper; ``extract_numbers`` finds number mentions with their unit and
comparator. All word lists live in ``core/meaning/data/normalize.yaml`` and ``lexicon.yaml``. Shared by the
runtime meaning check (``core.meaning.check``) and the evals' claim matcher (``evals.matcher``).
It does not decide negation (``core.meaning.negation``) or match claims.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from core.text import normalize as plain_text

_DATA = Path(__file__).resolve().parent / "data"


@cache
def load_data(name: str) -> dict[str, Any]:
    """One of the YAML word lists in ``core/meaning/data`` (parsed once)."""
    text = (_DATA / f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict), f"core/meaning/data/{name}.yaml must be a mapping"
    return data


def _words_re(words: list[str]) -> re.Pattern[str]:
    alts = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w'])(?:{alts})(?![\w'])")


@lru_cache(maxsize=1)
def _rules() -> dict[str, Any]:
    d = load_data("normalize")
    contractions = {k.lower(): v for k, v in d["contractions"].items()}
    numbers = {k: str(v) for k, v in d["number_words"].items()}
    one_before = "|".join(d["article_as_one_before"])
    return {
        "contr": contractions,
        "contr_re": _words_re(list(contractions)),
        "suffix_re": re.compile(
            r"(\w)(" + "|".join(re.escape(s) for s in d["contraction_suffixes"]) + r")(?!\w)"
        ),
        "suffixes": d["contraction_suffixes"],
        "num": numbers,
        "num_re": _words_re(list(numbers)),
        "a_one_re": re.compile(rf"\b(?:a|an|one) ({one_before})s?\b"),
        "abbrev": frozenset(d["abbreviations"]),
    }


_MARKDOWN = re.compile(r"[*_`#]+|\s*\[\d+(?:\s*[,;-]\s*\d+)*\]")
_NUM = r"\d+(?:\.\d+)?"
_RANGE_WORD = re.compile(rf"\bbetween ({_NUM}) and ({_NUM})\b|\b({_NUM}) (?:to|or|-) ({_NUM})\b")
_OUT_OF_10 = re.compile(rf"\b({_NUM}(?:-{_NUM})?) ?(?:out of|/) ?10\b")
_SETS_OF = re.compile(
    rf"\b({_NUM}(?:-{_NUM})?) ?(?:sets? of|x|×|\*) ?({_NUM})(?: ?(?:reps?|repetitions?))?\b"
)
_TOKEN = re.compile(rf"{_NUM}(?:-{_NUM})?(?:/10|x{_NUM})?|[a-z]+(?:\.[a-z])*|<=|>=|[^\sa-z0-9]")


def normalize(text: str) -> str:
    """Lower-case comparison form with contractions expanded and numbers written canonically.

    >>> normalize("Stretching won’t fix it [2].")
    'stretching will not fix it.'
    >>> normalize("Keep pain no more than three out of ten; start with six to eight reps.")
    'keep pain no more than 3/10; start with 6-8 reps.'
    >>> normalize("Build up to three sets of ten reps over 2 to 4 months, or up to a year.")
    'build up to 3x10 over 2-4 months, or up to 1 year.'
    """
    r = _rules()
    out = plain_text(_MARKDOWN.sub("", text), lower=True)
    out = r["contr_re"].sub(lambda m: r["contr"][m.group(0)], out)
    out = r["suffix_re"].sub(lambda m: m.group(1) + r["suffixes"][m.group(2)], out)
    out = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", out)
    out = r["num_re"].sub(lambda m: r["num"][m.group(0)], out)
    out = r["a_one_re"].sub(lambda m: f"1 {m.group(1)}", out)
    out = re.sub(rf"({_NUM}) ?- ?({_NUM})", r"\1-\2", out)
    out = _RANGE_WORD.sub(lambda m: "-".join(g for g in m.groups() if g), out)
    out = _OUT_OF_10.sub(r"\1/10", out)
    out = _SETS_OF.sub(r"\1x\2", out)
    return re.sub(r"\s+", " ", out).strip()


_SENT_END = re.compile(r"([.!?]+|…)[\"'”’)\]]*\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` in order (original characters, stripped; bullets kept).

    >>> split_sentences("Dr. Scotti says load it. Don't stretch!\\n- Single leg bridge")
    ['Dr. Scotti says load it.', "Don't stretch!", '- Single leg bridge']
    """
    abbrev = _rules()["abbrev"]
    out: list[str] = []
    for line in text.splitlines():
        start = 0
        for m in _SENT_END.finditer(line):
            before = line[start : m.start()].split()
            last = before[-1].lower().rstrip(".") if before else ""
            if last in abbrev or (m.group(1) == "." and last.isdigit() and len(before) == 1):
                continue
            out.append(line[start : m.end()].strip())
            start = m.end()
        out.append(line[start:].strip())
    return [s for s in out if any(c.isalnum() for c in s)]


@dataclass(frozen=True)
class Token:
    text: str
    start: int  # character offsets into the normalised sentence
    end: int


def tokenize(norm: str) -> list[Token]:
    """Word, number and punctuation tokens of a normalised sentence.

    >>> [t.text for t in tokenize("pain <= 3/10, 6-8 reps; 3x10.")]
    ['pain', '<=', '3/10', ',', '6-8', 'reps', ';', '3x10', '.']
    """
    return [Token(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(norm)]


@lru_cache(maxsize=1)
def _stem_rules() -> tuple[dict[str, str], list[tuple[str, str, int]], frozenset[str]]:
    d = load_data("lexicon")
    rules = [(s, r, int(n)) for s, r, n in d["suffixes"]]
    return dict(d["irregular"]), rules, frozenset(d["undouble"])


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """Light stem, the same for inflections of a word (consistency matters, not linguistics).

    >>> [stem(w) for w in ("stretching", "stretches", "stopped", "glutes", "injuries", "injury")]
    ['stretch', 'stretch', 'stop', 'glut', 'injuri', 'injuri']
    """
    irregular, rules, undouble = _stem_rules()
    if word in irregular:
        return irregular[word]
    if len(word) <= 3 or not word.isalpha():
        return word
    out = word
    for suffix, repl, keep in rules:
        if out.endswith(suffix) and len(out) - len(suffix) >= keep:
            out = out[: len(out) - len(suffix)] + repl
            break
    if len(out) > 3 and out[-1] == out[-2] and out[-1] in undouble:
        out = out[:-1]
    if len(out) > 3 and out.endswith("e"):
        out = out[:-1]
    return out


_OPS = ("=", "<=", "<", ">=", ">", "range")
_ARTICLES = frozenset({"a", "an", "the", "about", "around", "roughly", "approximately"})


@dataclass(frozen=True)
class NumberMention:
    """A number in a sentence: ``lo..hi`` in ``unit`` (canonical), with its comparator ``op``.

    ``index`` is the number's token index, ``cmp_start`` the first token of a comparator
    written before it (== index when there is none).
    """

    lo: float
    hi: float
    unit: str
    op: str
    index: int
    cmp_start: int


@lru_cache(maxsize=1)
def _number_rules() -> tuple[
    dict[str, tuple[str, float]],
    list[tuple[tuple[str, ...], str]],
    list[tuple[tuple[str, ...], str]],
]:
    d = load_data("normalize")
    units = {k: (str(v[0]), float(v[1])) for k, v in d["units"].items()}

    def phrases(m: dict[str, str]) -> list[tuple[tuple[str, ...], str]]:
        ps = [(tuple(t.text for t in tokenize(k)), v) for k, v in m.items()]
        return sorted(ps, key=lambda p: -len(p[0]))

    return units, phrases(d["comparators_before"]), phrases(d["comparators_after"])


def canonical_unit(unit: str) -> tuple[str, float]:
    """(unit, factor) for a surface unit; ``xN`` (sets of N reps) and ``""`` pass through.

    >>> canonical_unit("years"), canonical_unit("x10"), canonical_unit("Reps")
    (('months', 12.0), ('x10', 1.0), ('reps', 1.0))
    """
    u = unit.strip().lower()
    units = _number_rules()[0]
    if u in units:
        return units[u]
    if u == "" or re.fullmatch(r"x\d+", u):
        return u, 1.0
    raise KeyError(f"unknown unit {unit!r}; known: {sorted(units)} or xN")


def extract_numbers(tokens: list[Token]) -> list[NumberMention]:
    """Number mentions with canonical unit and comparator.

    >>> ms = extract_numbers(tokenize(normalize("No more than 3/10 pain, 6-8 reps, up to a year")))
    >>> [(m.lo, m.hi, m.unit, m.op) for m in ms]
    [(3.0, 3.0, '/10', '<='), (6.0, 8.0, 'reps', 'range'), (12.0, 12.0, 'months', '<=')]
    """
    units, before, after = _number_rules()
    words = [t.text for t in tokens]
    out: list[NumberMention] = []
    for i, w in enumerate(words):
        m = re.fullmatch(rf"({_NUM})(?:-({_NUM}))?(/10|x{_NUM})?", w)
        if not m:
            continue
        lo = float(m.group(1))
        hi = float(m.group(2)) if m.group(2) else lo
        unit, factor, nxt = "", 1.0, i + 1
        if m.group(3):
            unit = m.group(3)
        elif nxt < len(words) and words[nxt] in units:
            unit, factor = units[words[nxt]]
            nxt += 1
        op, cmp_start = ("range" if hi != lo else "="), i
        if op == "=":
            j = i
            while j > 0 and words[j - 1] in _ARTICLES:
                j -= 1
            for phrase, o in before:
                if tuple(words[max(0, j - len(phrase)) : j]) == phrase:
                    op, cmp_start = o, j - len(phrase)
                    break
            for phrase, o in after:
                if tuple(words[nxt : nxt + len(phrase)]) == phrase:
                    op = o
                    break
        out.append(NumberMention(lo * factor, hi * factor, unit, op, i, cmp_start))
    return out


_ACCEPT = {
    "=": {"=", "<="},
    "<=": {"<=", "<"},
    "<": {"<", "<="},
    ">=": {">=", ">"},
    ">": {">", ">="},
}


def number_matches(op: str, lo: float, hi: float, m: NumberMention) -> bool:
    """Does mention ``m`` state the number ``op lo[..hi]`` (same canonical unit assumed)?

    Ranges must match exactly; "up to N" also states "= N"; "under N" also states "<= N".

    >>> m = extract_numbers(tokenize("up to 3x10"))[0]
    >>> number_matches("=", 3, 3, m), number_matches(">=", 3, 3, m), number_matches("=", 4, 4, m)
    (True, False, False)
    """
    if op == "range" or m.op == "range":
        return op == m.op and math.isclose(m.lo, lo) and math.isclose(m.hi, hi)
    return math.isclose(m.lo, lo) and m.op in _ACCEPT[op]


def fmt_range(lo: float, hi: float) -> str:
    """Compact text of a number or range.

    >>> fmt_range(6.0, 8.0), fmt_range(3.0, 3.0)
    ('6-8', '3')
    """
    return f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"
