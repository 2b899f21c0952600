"""Turn passages, notices and history into the text blocks the prompts receive.

Pure functions. ``for_prompt`` decides what the model may see: content passages as
numbered sources, a ``sponsorship`` passage only labelled as a paid promotion, and
nothing else that is promotional (calls to action, testimonials, biography, related
posts, headings or captions on their own). ``render_passage`` numbers a passage as the
citation checker expects (``[n]`` = the n-th passage given). It does not count tokens
(``budget.py``) or choose passages (the retriever does).
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.models import Passage, Turn

ADVICE_KIND = "content"
PROMOTION_KIND = "sponsorship"


def for_prompt(passages: Sequence[Passage]) -> list[Passage]:
    """Passages the model may see, in rank order: content, plus labelled sponsorships.

    >>> def p(kind): return Passage(kind, "s", 0, 1, "x", 1.0, kind, "", "T", "e", 1)
    >>> [x.kind for x in for_prompt([p("testimonial"), p("content"), p("sponsorship")])]
    ['content', 'sponsorship']
    """
    return [p for p in passages if p.kind in (ADVICE_KIND, PROMOTION_KIND)]


def render_passage(n: int, passage: Passage) -> str:
    """One numbered passage block.

    >>> print(render_passage(2, Passage("a", "s", 0, 4, "Rest", 1.0, "content", "Tips", "PHT", "newer", 2)))
    [2] PHT (newer edition) - section: Tips
    Rest
    <BLANKLINE>
    """
    label = f"[{n}] {passage.title} ({passage.edition} edition)"
    if passage.section:
        label += f" - section: {passage.section}"
    if passage.kind == PROMOTION_KIND:
        label += " - PAID PROMOTION, not medical advice"
    return f"{label}\n{passage.text.strip()}\n"


def render_context(passages: Sequence[Passage]) -> str:
    """All passage blocks, numbered from 1, separated by blank lines."""
    return "\n".join(render_passage(n, p) for n, p in enumerate(passages, start=1))


def render_notices(notices: Sequence[str]) -> str:
    """Bullet list of notices, or ``(none)``.

    >>> render_notices(["The editions disagree on foam rolling."])
    '- The editions disagree on foam rolling.'
    >>> render_notices([])
    '(none)'
    """
    return "\n".join(f"- {n}" for n in notices) if notices else "(none)"


def render_history(history: Sequence[Turn], max_turns: int = 6, max_chars: int = 600) -> str:
    """The last ``max_turns`` turns as ``User:`` / ``Assistant:`` lines, long turns shortened.

    >>> render_history([Turn("user", "Can I run?"), Turn("assistant", "Yes, if pain stays low.")])
    'User: Can I run?\\nAssistant: Yes, if pain stays low.'
    """
    lines = []
    for turn in list(history)[-max_turns:]:
        text = " ".join(turn.content.split())
        if len(text) > max_chars:
            text = text[: max_chars - 1].rstrip() + "\u2026"
        lines.append(f"{'User' if turn.role == 'user' else 'Assistant'}: {text}")
    return "\n".join(lines)


def dedupe(items: Sequence[str]) -> list[str]:
    """Keep the first of equal strings, in order.

    >>> dedupe(["a", "b", "a"])
    ['a', 'b']
    """
    return list(dict.fromkeys(items))
