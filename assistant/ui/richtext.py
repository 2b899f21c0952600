"""A tiny, safe Markdown subset for answer texts (pure functions on already-escaped text).

Blocks are separated by blank lines; inside a block, lines starting with ``- `` or ``* ``
are list items, ``#``…``######`` lines are headings, and other consecutive lines are one
paragraph re-flowed onto one line (so a reply wrapped at 80 columns does not break
mid-sentence). ``**bold**`` becomes ``<strong>``. With ``ask_links`` a list item that is a
question becomes a link that asks it. The input must already be HTML-escaped: this module
adds only its own tags. It does not support links, images, code, tables or nesting.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITEM = re.compile(r"^\s*[-*]\s+(.*)$")
_HEADING = re.compile(r"^\s*(#{1,6})\s+(.*?)\s*#*\s*$")


def inline(escaped: str, link: Callable[[str], str] = lambda s: s) -> str:
    """Bold and citation links inside one line of escaped text.

    >>> inline("a **b** c")
    'a <strong>b</strong> c'
    """
    return link(_BOLD.sub(r"<strong>\1</strong>", escaped))


def to_html(escaped: str, link: Callable[[str], str] = lambda s: s, ask_links: bool = False) -> str:
    """Block-level HTML of escaped Markdown-ish text.

    >>> to_html("I answer on\\nrunning.\\n\\nFor example:\\n- Can I run?\\n- Rest", ask_links=True)
    '<p>I answer on running.</p><p>For example:</p><ul><li><a class="pht-ask" href="#pht-question">Can I run?</a></li><li>Rest</li></ul>'
    """
    out: list[str] = []
    para: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if para:
            out.append(f"<p>{inline(' '.join(para), link)}</p>")
            para.clear()
        if items:
            out.append("<ul>" + "".join(items) + "</ul>")
            items.clear()

    for block in re.split(r"\n\s*\n", escaped.strip()):
        for line in block.splitlines():
            if not line.strip():
                continue
            item = _ITEM.match(line)
            heading = _HEADING.match(line)
            if item:
                if para:
                    flush()
                text = item.group(1).strip()
                if ask_links and text.endswith("?"):
                    body = f'<a class="pht-ask" href="#pht-question">{text}</a>'
                else:
                    body = inline(text, link)
                items.append(f"<li>{body}</li>")
            elif heading:
                flush()
                out.append(f'<p class="pht-h">{inline(heading.group(2), link)}</p>')
            elif items and line.startswith(("  ", "\t")):
                items[-1] = items[-1][: -len("</li>")] + " " + inline(line.strip(), link) + "</li>"
            else:
                if items:
                    flush()
                para.append(line.strip())
        flush()
    return "".join(out)
