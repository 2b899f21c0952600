"""Hand-built ``Passage`` values with consistent ``QuoteSpan`` offsets, for the LLM tests.

``make_passage`` lays sentences out as they would sit in a raw file at ``offset``, so
``passage.text == raw[start:end]`` and every span's text equals its slice of the
passage. The texts are held-out snippets (not from the corpus).
"""

from __future__ import annotations

from assistant.models import Passage, QuoteSpan


def make_passage(
    pid: str,
    sentences: list[str],
    *,
    offset: int = 100,
    kind: str = "content",
    source: str = "corpus/held-out.txt",
    title: str = "Held-out article",
    edition: str = "newer",
    section: str = "Tips",
    score: float = 1.0,
) -> Passage:
    spans = []
    pos = offset
    for i, sentence in enumerate(sentences):
        spans.append(QuoteSpan(f"{pid}-s{i}", pos, pos + len(sentence), sentence, kind))
        pos += len(sentence) + 1  # one space between sentences
    text = " ".join(sentences)
    return Passage(
        id=pid,
        source=source,
        start=offset,
        end=offset + len(text),
        text=text,
        score=score,
        kind=kind,
        section=section,
        title=title,
        edition=edition,
        edition_rank=2 if edition == "newer" else 1,
        sentences=tuple(spans),
    )


HILLS = make_passage(
    "hills",
    [
        "Uphill running loads the tendon more than flat running.",
        "Add hills and speed work last, after easy runs feel fine.",
        "Keep the pace gentle for two weeks.",
    ],
    offset=40,
)
SITTING = make_passage(
    "sitting",
    [
        "Pain when sitting on hard chairs is common with this problem.",
        "Sitting pain alone should not decide whether you run.",
    ],
    offset=900,
    source="corpus/older-held-out.txt",
    edition="older",
)
PROMO = make_passage(
    "promo",
    ["Use code RUN20 for a discount on our collagen powder."],
    offset=2000,
    kind="sponsorship",
    section="Sponsor",
)
TESTIMONIAL = make_passage(
    "testimonial",
    ["Coach Sam fixed my hamstring in one week, best coach ever!"],
    offset=3000,
    kind="testimonial",
)
