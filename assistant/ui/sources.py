"""The sources list under an answer: one entry per cited passage (pure functions, escaped HTML).

Citations that quote the same passage (or its section heading) are grouped into one entry
whose passage shows every quote highlighted; each entry names the article title, edition and section heading and a
one-line snippet, and keeps file paths and character offsets in a "Details" fold for
clinic staff. ``marker_targets`` maps each ``[n]`` to the id of its entry, so a marker
links to the passage it quotes. It does not render the answer text (see ``render``).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.models import Citation, Passage

# Citations that are not clinical content carry a tag saying what they are.
KIND_TAGS = {"sponsorship": "paid promotion", "call_to_action": "sales pitch",
             "heading": "section heading"}  # fmt: skip
SNIPPET_CHARS = 110


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


@dataclass(frozen=True)
class SourceGroup:
    """The citations quoting one passage (or one quote without a known passage)."""

    citations: tuple[Citation, ...]
    passage: Passage | None

    @property
    def first(self) -> Citation:
        return self.citations[0]


def find_passage(citation: Citation, contexts: Sequence[Passage]) -> Passage | None:
    """The context passage whose span contains the citation's span, if any."""
    for p in contexts:
        if p.source == citation.source and p.start <= citation.start and citation.end <= p.end:
            rel = citation.start - p.start
            if p.text[rel : rel + (citation.end - citation.start)] == citation.quote:
                return p
    return None


def headed_passage(citation: Citation, contexts: Sequence[Passage]) -> Passage | None:
    """The context passage whose section heading is the quote of ``citation``, if any."""
    for p in contexts:
        h = p.heading
        if (
            h is not None
            and p.source == citation.source
            and (h.start, h.end)
            == (
                citation.start,
                citation.end,
            )
        ):
            return p
    return None


def group_citations(
    citations: Sequence[Citation], contexts: Sequence[Passage]
) -> list[SourceGroup]:
    """Citations grouped by the passage they quote, in order of their first marker.

    >>> a, b = Citation(1, "s", "T", "e", "x", 0, 1), Citation(2, "s", "T", "e", "y", 5, 6)
    >>> [len(g.citations) for g in group_citations([a, b], [])]
    [1, 1]
    """
    groups: dict[str, list[Citation]] = {}
    passages: dict[str, Passage | None] = {}
    for c in sorted(citations, key=lambda c: c.marker):
        p = find_passage(c, contexts) or headed_passage(c, contexts)
        key = f"p:{p.id}" if p is not None else f"q:{c.source}:{c.start}:{c.end}"
        groups.setdefault(key, []).append(c)
        passages[key] = p
    return [SourceGroup(tuple(cs), passages[k]) for k, cs in groups.items()]


def entry_id(anchor: str, group: SourceGroup) -> str:
    return f"{anchor}-src-{group.first.marker}"


def marker_targets(groups: Sequence[SourceGroup], anchor: str) -> dict[int, str]:
    """``{marker: id of its source entry}``."""
    return {c.marker: entry_id(anchor, g) for g in groups for c in g.citations}


def one_line(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` on one line, cut at a word boundary with "…" when longer than ``limit``.

    >>> one_line("Run\\n easy   today, then rest well.", 16)
    'Run easy today,…'
    """
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut) + "…"


def highlight(text: str, spans: Sequence[tuple[int, int]], radius: int = 280) -> str:
    """Escaped ``text`` with each ``(start, end)`` span in ``<mark>``; far context trimmed.

    >>> highlight("Warm up. Run easy. Cool down.", [(0, 8), (19, 29)])
    '<mark>Warm up.</mark> Run easy. <mark>Cool down.</mark>'
    """
    spans = sorted(set(spans))
    lo, hi = spans[0][0], spans[-1][1]
    out = [_trim_before(text[:lo], radius)]
    pos = lo
    for start, end in spans:
        start = max(start, pos)
        if end <= start:
            continue
        out += [esc(text[pos:start]), f"<mark>{esc(text[start:end])}</mark>"]
        pos = end
    out += [esc(text[pos:hi]), _trim_after(text[hi:], radius)]
    return "".join(out)


def _trim_before(before: str, radius: int) -> str:
    if len(before) > radius:
        cut = before[-radius:]
        space = cut.find(" ")
        before = "…" + (cut[space + 1 :] if 0 <= space < len(cut) - 1 else cut)
    return esc(before.lstrip())


def _trim_after(after: str, radius: int) -> str:
    if len(after) > radius:
        cut = after[:radius]
        space = cut.rfind(" ")
        after = (cut[:space] if space > 0 else cut) + "…"
    return esc(after.rstrip())


def render_entry(group: SourceGroup, anchor: str) -> str:
    """One collapsible entry: markers, title, edition, section, snippet; passage; details fold."""
    first, p = group.first, group.passage
    if p is not None:
        inside = [c for c in group.citations if p.start <= c.start and c.end <= p.end]
        heads = [c for c in group.citations if c not in inside]
        body = "".join(f'<span class="pht-head"><mark>{esc(c.quote)}</mark></span>' for c in heads)
        if inside:
            body += highlight(p.text, [(c.start - p.start, c.end - p.start) for c in inside])
        else:
            body += esc(one_line(p.text, 400))
    else:
        body = "".join(f"<mark>{esc(c.quote)}</mark> " for c in group.citations).strip()
    markers = "".join(f"[{c.marker}]" for c in group.citations)
    content = [c for c in group.citations if c.kind != "heading"]
    tagged = content or list(group.citations)  # a heading quoted with its passage needs no tag
    label = next((KIND_TAGS[c.kind] for c in tagged if c.kind in KIND_TAGS), "")
    snippet = (content or list(group.citations))[0].quote
    tag = f' <span class="pht-tag">{label}</span>' if label else ""
    section = first.section or (p.section if p is not None else "")
    section_html = f'<span class="pht-section">{esc(section)}</span>' if section else ""
    where = "".join(
        f"<li>[{c.marker}] <code>{esc(c.source)}</code> characters {c.start}–{c.end}</li>"
        for c in group.citations
    )
    if p is not None:
        where += f"<li>passage <code>{esc(p.source)}</code> characters {p.start}–{p.end}</li>"
    return (
        f'<details class="pht-source" id="{esc(entry_id(anchor, group))}">'
        f'<summary tabindex="0"><span class="pht-marker">{markers}</span> '
        f'<span class="pht-title">{esc(first.title)}</span> '
        f'<span class="pht-edition">{esc(first.edition)}</span>{tag}{section_html}'
        f'<span class="pht-snippet">“{esc(one_line(snippet))}”</span></summary>'
        f'<blockquote class="pht-passage">{body}</blockquote>'
        f'<details class="pht-tech"><summary>Details (file and characters)</summary>'
        f"<ul>{where}</ul></details>"
        f'<button type="button" class="pht-back">Back to the answer</button></details>'
    )


def render_sources(groups: Sequence[SourceGroup], anchor: str) -> str:
    """The sources block of an answer ('' when it cites nothing)."""
    if not groups:
        return ""
    entries = "".join(render_entry(g, anchor) for g in groups)
    return f'<div class="pht-sources"><p class="pht-sources-title">Sources</p>{entries}</div>'
