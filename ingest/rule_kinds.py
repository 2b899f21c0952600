"""The rule layer of block classification: content, heading, caption, ad, pitch... by rules.

Pure and rule-based; all patterns, feature words, weights and thresholds live in
``ingest/rules/block_rules.yaml``. A block is scored sentence by sentence: each
matching pattern adds its weight to its kind, a clinical vocabulary gives a topic
score, and third-person mentions of the author (names taken from the metadata,
degrees dropped) hint at a testimonial (with "I"/"my") or a biography (without).
Context then decides what scores alone cannot: short heading-shaped lines become
HEADING / CAPTION; a promotional heading ("Sponsored by:", "Related posts") opens a
sticky section that holds until a clinical heading, unless a block is clinically
dense; an unclosed quotation, name-only attribution lines, lists under a lead-in
and blocks wedged between two blocks of one kind follow their neighbours. A
paragraph whose lead sentence is clinical keeps CONTENT even with a trailing pitch:
``sentence_kind`` flags such sentences one by one. It does not split sentences
(``ingest.segment``), understand meaning, or learn from data: ``ingest.classify`` puts a
learned model (``ingest.block_model``) on top of these rules and is the public entry point.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from ingest.models import Block, BlockKind
from ingest.rules import load_rules
from ingest.segment import split_sentences

K = BlockKind
STICKY = frozenset({K.SPONSORSHIP, K.RELATED_POST, K.BIOGRAPHY, K.CALL_TO_ACTION})
SOFT = frozenset({K.CALL_TO_ACTION, K.MEDIA_NAVIGATION, K.BIOGRAPHY})  # may share a paragraph
ABSORBING = frozenset({K.CALL_TO_ACTION, K.TESTIMONIAL, K.SPONSORSHIP, K.BIOGRAPHY})
_FIRST_PERSON = re.compile(r"\bI\b|\bI['’]|(?i:\b(me|my|myself)\b)")
_LETTERS = re.compile(r"[^\W\d_]")
_NAME = re.compile(r"^[A-Z][a-z’'-]+(?: [A-Z][a-z’'-]+| [A-Z]\.)?$")
_NUMBERED = re.compile(r"^\d{1,2}[.)]\s+\S")
_LEADING_NUMBER = re.compile(r"^\d+\s+\S")


@dataclass(frozen=True)
class _Rule:
    kind: BlockKind
    name: str
    regex: re.Pattern[str]
    weight: float


@dataclass(frozen=True)
class _Score:
    kinds: dict[BlockKind, float]
    reasons: dict[BlockKind, str]
    clinical: float

    def best(self) -> tuple[BlockKind, float]:
        return max(self.kinds.items(), key=lambda kv: kv[1], default=(K.CONTENT, 0.0))


def _compile(spec: dict[str, object]) -> re.Pattern[str]:
    return re.compile(str(spec["re"]), 0 if spec.get("case") else re.IGNORECASE)


@lru_cache(maxsize=1)
def _rules() -> tuple[tuple[_Rule, ...], tuple[tuple[re.Pattern[str], float], ...]]:
    data = load_rules()
    kind_rules = tuple(
        _Rule(K(kind), str(spec["id"]), _compile(spec), float(spec["w"]))
        for kind, specs in data["kinds"].items()
        for spec in specs
    )
    clinical = tuple((_compile(spec), float(spec["w"])) for spec in data["clinical"])
    return kind_rules, clinical


def _t(name: str) -> float:
    return float(load_rules()["thresholds"][name])


def author_names(author: str) -> tuple[str, ...]:
    """Name tokens of an author line: titles, degrees and the affiliation dropped.

    >>> author_names("Duane Scotti, PT, DPT, PhD, OCS (SPARK Physical Therapy / Healthy Runner)")
    ('Duane', 'Scotti')
    >>> author_names("Dr. Jane Q. Roe, MD")
    ('Jane', 'Roe')
    """
    skip = {w.lower().rstrip(".") for w in (*_words("degrees"), *_words("titles"))}
    head = re.sub(r"\(.*?\)", " ", author).split(",")[0]
    tokens = (t.strip(".") for t in head.split())
    return tuple(t for t in tokens if len(t) > 1 and t[0].isupper() and t.lower() not in skip)


def _words(key: str) -> list[str]:
    return [str(w) for w in load_rules()["author"][key]]


@lru_cache(maxsize=256)
def _author_re(author: str) -> re.Pattern[str] | None:
    names = author_names(author)
    return re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b") if names else None


@lru_cache(maxsize=16_384)
def _score(text: str, author: re.Pattern[str] | None) -> _Score:
    """Pattern weights of ``text`` (cached: a page's sentences are scored as part of their
    block, as features and again when split; the result is never mutated)."""
    kind_rules, clinical = _rules()
    kinds: defaultdict[BlockKind, float] = defaultdict(float)
    reasons: dict[BlockKind, tuple[float, str]] = {}
    for rule in kind_rules:
        if rule.regex.search(text):
            kinds[rule.kind] += rule.weight
            if rule.weight > reasons.get(rule.kind, (0.0, ""))[0]:
                reasons[rule.kind] = (rule.weight, rule.name)
    if author is not None and author.search(text):
        kind = K.TESTIMONIAL if _FIRST_PERSON.search(text) else K.BIOGRAPHY
        kinds[kind] += _t(f"author_{kind.value}")
        reasons.setdefault(kind, (0.0, "author-third-person"))
    clin = sum(w for regex, w in clinical if regex.search(text))
    return _Score(kinds, {k: name for k, (_, name) in reasons.items()}, clin)


def sentence_kind(text: str, *, author: str = "") -> BlockKind:
    """Kind of one sentence on its own: a promotional/navigation kind, else CONTENT.

    >>> sentence_kind("Get my full story here")
    <BlockKind.CALL_TO_ACTION: 'call_to_action'>
    >>> sentence_kind("Load the tendon with slow heavy squats, 3 sets of 8 reps.")
    <BlockKind.CONTENT: 'content'>
    """
    score = _score(text, _author_re(author))
    kind, best = score.best()
    return kind if best >= _t("promo") and best > score.clinical else K.CONTENT


def rule_scores(text: str, *, author: str = "") -> tuple[dict[BlockKind, float], float]:
    """Summed pattern weights per kind and the clinical topic score of ``text`` as a whole.

    >>> scores, clinical = rule_scores("Use code RUN20 for 20% off your hamstring roller")
    >>> scores[BlockKind.SPONSORSHIP] > 0, clinical > 0
    (True, True)
    """
    score = _score(text, _author_re(author))
    return dict(score.kinds), score.clinical


# ---- shapes of short lines ---------------------------------------------------------------


def _strip_bullet(text: str) -> tuple[str, bool]:
    first = text[0]
    bullet = (
        first in load_rules()["structure"]["bullet_chars"] or unicodedata.category(first) == "So"
    )
    return (text[1:].lstrip(" \u00a0\ufe0f\u2800\t") if bullet else text), bullet


def _is_signoff(text: str, names: tuple[str, ...]) -> bool:
    """'– Duane' or 'Duane Scotti, PT, DPT': only the author's names and degrees."""
    if not names:
        return False
    parts = [p.strip() for p in text.lstrip("–—-~ ").split(",")]
    titles = {w.lower() for w in _words("titles")}  # "Dr. Duane" signs off too
    degrees = {w.lower().rstrip(".") for w in _words("degrees")}
    tokens = [t for t in parts[0].split() if t.lower() not in titles]
    return (
        bool(tokens)
        and all(t.rstrip(".") in names for t in tokens)
        and all(p.lower().rstrip(".") in degrees for p in parts[1:])
    )


def _is_name_line(body: str, dashed: bool) -> str:
    """'strong' for 'Gina J.' / '– Bianca', 'weak' for two capitalised words, else ''."""
    if not _NAME.match(body):
        return ""
    words = body.replace(".", "").lower().split()
    not_names = set(load_rules()["structure"]["not_names"])
    if any(w in not_names for w in words) or _score(body, None).clinical > 0:
        return ""
    if dashed or body.endswith("."):
        return "strong"
    return "weak" if len(words) == 2 else ""


def _heading_shape(text: str, sentences: int) -> str:
    """'heading', 'caption', 'short' (may still open a section) or '' for a paragraph.

    >>> [_heading_shape(t, 1) for t in ("2. Warm Up First", "Foam Rolling The Calf", "Why does it hurt so?")]
    ['heading', 'caption', 'short']
    """
    words = text.split()
    full_stop = text.endswith((".", ",", ";")) and not text.endswith("...")
    if sentences > 1 or len(words) > _t("heading_words") or full_stop:
        return ""
    caps = sum(w[:1].isupper() or w[:1].isdigit() for w in words) / max(len(words), 1)
    if _NUMBERED.match(text) or _LEADING_NUMBER.match(text):
        return "heading"
    if text.endswith((":", "?")):
        return "heading" if caps >= 0.5 or (text.endswith(":") and len(words) <= 8) else "short"
    if text.endswith(("!", "\u2026", "...")):
        return "caption" if caps >= 0.5 else "short"
    heading_words = set(load_rules()["structure"]["heading_words"])
    if caps >= 0.5 and any(w.lower().strip(":!?") in heading_words for w in words):
        return "heading"
    return "caption" if caps >= 0.3 or len(words) <= 8 else "short"


# ---- one block on its own ----------------------------------------------------------------


@dataclass(frozen=True)
class LineInfo:
    body: str  # text without a bullet marker
    bullet: bool
    shape: str  # empty | signoff | heading | caption | short | para
    name: str  # strong | weak | ""
    kind: BlockKind  # own kind, before context
    reason: str
    clinical: float
    first_person: bool


def _own_kind(body: str, author: re.Pattern[str] | None) -> tuple[BlockKind, str, float]:
    """Kind from the block's own words: summed sentence scores, then the mixed-paragraph rule."""
    spans = split_sentences(body, 0, len(body))
    sentences = [body[s:e] for s, e in spans] or [body]
    per = [_score(s, author) for s in sentences]
    total: defaultdict[BlockKind, float] = defaultdict(float)
    reasons: dict[BlockKind, str] = {}
    for p in reversed(per):
        for kind, w in p.kinds.items():
            total[kind] += w
        reasons.update(p.reasons)
    clin = _score(body, None).clinical
    kind, best = _Score(total, reasons, clin).best()
    if best < _t("promo"):
        return K.CONTENT, "default", clin
    if kind in SOFT and len(sentences) == 1 and best <= clin:
        return K.CONTENT, f"clinical outweighs {kind.value}:{reasons[kind]}", clin
    if kind in SOFT and len(sentences) > 1 and clin >= _t("clinical_mixed"):
        kinds = [sentence_kind(s) for s in sentences]
        share = sum(len(s) for s, k in zip(sentences, kinds, strict=True) if k == K.CONTENT)
        if kinds[0] == K.CONTENT or share / sum(map(len, sentences)) >= _t("mixed_share"):
            return K.CONTENT, f"mixed: clinical + {kind.value}:{reasons[kind]}", clin
    return kind, f"{kind.value}:{reasons[kind]}", clin


def _analyse(text: str, author: re.Pattern[str] | None, names: tuple[str, ...]) -> LineInfo:
    body, bullet = _strip_bullet(text)
    fp = bool(_FIRST_PERSON.search(body))
    if not _LETTERS.search(body):
        return LineInfo(body, bullet, "empty", "", K.CONTENT, "no words", 0.0, fp)
    if _is_signoff(body, names):
        return LineInfo(body, bullet, "signoff", "", K.BIOGRAPHY, "author sign-off", 0.0, fp)
    kind, reason, clin = _own_kind(body, author)
    name = _is_name_line(body, dashed=text[:1] in "–—-") if kind == K.CONTENT else ""
    shape = "para"
    if not bullet:
        shape = _heading_shape(body, len(split_sentences(body, 0, len(body)))) or "para"
    return LineInfo(body, bullet, shape, name, kind, reason, clin, fp)


# ---- the page, in order --------------------------------------------------------------------


@dataclass
class _State:
    mode: BlockKind | None = None  # kind of the sticky section we are in
    section: str = ""
    quote_left: int = 0  # blocks an unclosed quotation may still span
    lead: BlockKind | None = None  # kind of the lead-in ("...:") of the current list
    prev: BlockKind | None = None


def _in_context(i: int, info: LineInfo, st: _State) -> tuple[BlockKind, str, bool]:
    """Kind and reason of a block given what came before; the flag says it opens a section."""
    if info.shape == "empty":
        keep = st.prev not in (None, K.CONTENT, K.HEADING, K.CAPTION)
        return (
            (st.prev if keep and st.prev else K.MEDIA_NAVIGATION),
            "no words (link residue)",
            False,
        )
    if st.quote_left > 0 and info.shape != "heading":
        return K.TESTIMONIAL, "inside an open quotation", False
    if info.shape == "signoff":
        return K.BIOGRAPHY, info.reason, False
    if info.name == "strong" or (info.name == "weak" and st.prev == K.TESTIMONIAL):
        return K.TESTIMONIAL, "attribution line", False
    if info.bullet and st.lead not in (None, K.CONTENT):
        return st.lead, f"list under a {st.lead.value} lead-in", False
    if info.shape in ("heading", "caption", "short") and info.kind != K.CONTENT:
        pitch_heading = info.kind != K.CALL_TO_ACTION or info.body.endswith((":", "?"))
        opens = info.kind in STICKY and pitch_heading and not info.body.endswith(("!", "."))
        return info.kind, info.reason, opens
    if info.shape in ("heading", "caption"):
        if i == 0:
            return K.HEADING, "title", False
        if st.mode is not None and (info.shape == "caption" or info.clinical < 1):
            return st.mode, f"{info.shape} inside a {st.mode.value} section", False
        kind = K.HEADING if info.shape == "heading" else K.CAPTION
        return kind, f"{info.shape} shape", False
    if st.mode is None or info.kind not in (K.CONTENT, st.mode):
        return info.kind, info.reason, False
    if info.kind == K.CONTENT and info.clinical >= _t("clinical_override"):
        return K.CONTENT, f"clinical outweighs the {st.mode.value} section", False
    return st.mode, f"in a {st.mode.value} section ({info.reason})", False


def _smooth(out: list[Block], infos: Sequence[LineInfo]) -> list[Block]:
    """Neighbour rules: testimonials before an attribution; blocks wedged between one kind."""
    for i, b in enumerate(out):
        if b.reason != "attribution line":
            continue
        for j in range(i - 1, -1, -1):
            prev, info = out[j], infos[j]
            plain = prev.kind == K.CONTENT and prev.reason == "default"
            in_section = prev.reason.startswith("in a ")
            if info.shape not in ("para", "short") or not info.first_person:
                break
            if not (plain or in_section or prev.kind == K.TESTIMONIAL):
                break
            if prev.kind != K.TESTIMONIAL:
                out[j] = replace(prev, kind=K.TESTIMONIAL, reason="paragraph before an attribution")
    for i in range(1, len(out) - 1):
        b, info = out[i], infos[i]
        left, right = out[i - 1].kind, out[i + 1].kind
        if (
            b.kind == K.CONTENT
            and not b.reason.startswith("mixed")
            and info.shape in ("para", "short")
            and info.clinical < _t("clinical_strong")
            and left == right
            and left in ABSORBING
        ):
            out[i] = replace(b, kind=left, reason=f"between two {left.value} blocks")
    return out


def rule_blocks(blocks: Sequence[Block], *, author: str = "") -> tuple[list[Block], list[LineInfo]]:
    """New blocks with ``kind``, ``section`` and ``reason`` set by the rules, and what the
    rules saw in each line on its own (shape, own kind, clinical score), in the same order.

    >>> from ingest.segment import segment_blocks
    >>> raw = "Why Tendons Hurt\\nTendons dislike sudden load.\\nUse code RUN20 for 20% off!"
    >>> [(b.kind.value, b.section) for b in rule_blocks(segment_blocks(raw, "x"))[0]]
    [('heading', 'Why Tendons Hurt'), ('content', 'Why Tendons Hurt'), ('sponsorship', 'Why Tendons Hurt')]
    """
    author_re, names = _author_re(author), author_names(author)
    infos = [_analyse(b.text, author_re, names) for b in blocks]
    st = _State()
    out: list[Block] = []
    for i, (block, info) in enumerate(zip(blocks, infos, strict=True)):
        kind, reason, opens = _in_context(i, info, st)
        if kind == K.HEADING or opens:
            st.section, st.quote_left = block.text, 0
            st.mode = kind if opens else None
        if st.quote_left > 0:
            closes = info.body.count("”") > info.body.count("“")
            st.quote_left = 0 if closes else st.quote_left - 1
        elif kind == K.TESTIMONIAL and info.body.count("“") > info.body.count("”"):
            st.quote_left = int(_t("quote_blocks"))
        if not info.bullet:
            st.lead = kind if info.body.endswith(":") else None
        st.prev = kind
        out.append(replace(block, kind=kind, section=st.section, reason=reason))
    return _smooth(out, infos), infos


def kind_counts(blocks: Sequence[Block]) -> dict[str, int]:
    """Number of blocks of every kind (zeros included), in ``BlockKind`` order.

    >>> kind_counts([Block("x", 0, 1, "a", kind=BlockKind.CAPTION)])["caption"]
    1
    """
    counts = Counter(b.kind.value for b in blocks)
    return {k.value: counts.get(k.value, 0) for k in BlockKind}
