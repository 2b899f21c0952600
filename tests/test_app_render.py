"""Pure parts of the web app: escaping and HTML of answers, exports, batch files, FAQ data."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from assistant.models import Answer, Citation, Passage
from assistant.ui import export, render, richtext, sources
from assistant.ui.batch import MAX_BATCH_QUESTIONS, parse_questions
from assistant.ui.faq import load_faq, parse_faq
from core.errors import ConfigError, PHTError
from tests.fake_service import EDITION_NOTICE, NEWER, OUT_OF_SCOPE, SITTING, FakeAnswerService

REPO = Path(__file__).resolve().parent.parent
XSS = "<img src=x onerror=alert(1)><script>alert(2)</script>"


def _answer_with(text: str, quote: str = "Warm up <b>first</b>.") -> Answer:
    """A held-out answer (not from the corpus) citing a passage that contains HTML."""
    passage_text = f"Before. {quote} After <i>this</i>."
    start = 100 + passage_text.index(quote)
    cit = Citation(1, "notes.txt", "Notes <script>", "2024 <ed>", quote, start, start + len(quote))
    ctx = Passage("p", "notes.txt", 100, 100 + len(passage_text), passage_text, 1.0, "content",
                  "", "Notes", "2024", 1)  # fmt: skip
    return Answer("q", "answered", text, citations=[cit], contexts=[ctx], notices=[XSS])


def test_everything_from_text_is_escaped():
    html = render.render_answer(_answer_with(f"{XSS} see [1]."), "a0")
    assert "<img" not in html and "<script" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "Notes &lt;script&gt;" in html and "2024 &lt;ed&gt;" in html


def test_question_preview_and_error_are_escaped():
    for html in (render.render_question(XSS), render.render_preview(XSS), render.render_error(XSS)):
        assert "<img" not in html and "<script" not in html
        assert "&lt;img" in html


def test_marker_links_to_its_source_entry_with_highlighted_quote():
    html = render.render_answer(_answer_with("Warm up first [1]."), "a3")
    assert '<a class="pht-cite" href="#a3-src-1"' in html
    assert '<details class="pht-source" id="a3-src-1">' in html
    assert (
        "Before. <mark>Warm up &lt;b&gt;first&lt;/b&gt;.</mark> After &lt;i&gt;this&lt;/i&gt;."
        in html
    )


def test_unknown_markers_stay_text():
    assert render.link_markers("See [2] and [1,3].", {1: "x-src-1"}).count("pht-cite") == 1
    assert "[2]" in render.link_markers("See [2].", {1: "x-src-1"})


def test_quotes_of_one_passage_are_one_entry_with_every_quote_highlighted():
    answer = FakeAnswerService().ask("Can I run?")
    groups = sources.group_citations(answer.citations, answer.contexts)
    assert [[c.marker for c in g.citations] for g in groups] == [[1, 3], [2]]
    html = render.render_answer(answer, "a0")
    assert html.count('<details class="pht-source"') == 2
    assert 'href="#a0-src-1"' in html and html.count('href="#a0-src-1"') == 2  # [1] and [3]
    entry = html[html.index('id="a0-src-1"') : html.index('id="a0-src-2"')]
    assert entry.count("<mark>") == 2 and f"<mark>{render.esc(SITTING)}</mark>" in entry
    assert "[1][3]" in entry and "newer edition" in entry
    summary = entry[entry.index("<summary") : entry.index("</summary>")]
    assert NEWER not in summary and "characters" not in summary  # paths only in the fold
    assert 'class="pht-snippet"' in summary and "Pain with sitting" in summary
    fold = entry[entry.index('class="pht-tech"') :]
    assert NEWER in fold and f"characters {answer.citations[0].start}–" in fold


def test_passage_of_a_real_corpus_citation():
    answer = FakeAnswerService().ask("Can I run?")
    passage = sources.find_passage(answer.citations[0], answer.contexts)
    assert passage is not None and passage.source == NEWER
    raw = (REPO / "corpus" / NEWER).read_text(encoding="utf-8")
    c = answer.citations[0]
    assert raw[c.start : c.end] == c.quote == SITTING


def test_citation_without_context_shows_just_the_quote():
    cit = Citation(1, "a.txt", "A", "old", "Rest a day.", 5, 16, section="Rest & recovery")
    [group] = sources.group_citations([cit], [])
    html = sources.render_entry(group, "z")
    assert '<blockquote class="pht-passage"><mark>Rest a day.</mark></blockquote>' in html
    assert '<span class="pht-section">Rest &amp; recovery</span>' in html


def test_context_whose_text_does_not_match_is_not_used():
    cit = Citation(1, "a.txt", "A", "old", "Rest a day.", 5, 16)
    wrong = Passage("p", "a.txt", 0, 30, "x" * 30, 1.0, "content", "", "A", "old", 1)
    assert sources.find_passage(cit, [wrong]) is None


def test_red_flag_gets_an_alert_box_and_notices_an_info_box():
    fake = FakeAnswerService()
    red = render.render_answer(fake.ask("numb leg at night"), "a0")
    assert 'class="pht-alert" role="alert"' in red and "red flags" in red
    ok = render.render_answer(fake.ask("Can I run?"), "a1")
    assert 'class="pht-info" role="note"' in ok and "pht-alert" not in ok
    out = render.render_answer(fake.ask("pizza?"), "a2")
    assert "Outside what the articles cover" in out and "pht-sources" not in out


def test_out_of_scope_reply_is_markdown_with_clickable_questions():
    html = render.render_answer(FakeAnswerService().ask("pizza recipe?"), "a0")
    assert "<ul><li>" in html and "- " not in html.split("pht-copy-text")[0]
    asks = html.count('class="pht-ask"')
    assert asks >= 3 and asks == OUT_OF_SCOPE.count("?\n") + OUT_OF_SCOPE.endswith("?")
    first_para = html[html.index("<p>") : html.index("</p>")]
    assert "<br>" not in first_para and "\n" not in first_para  # re-flowed, not broken


def test_markdown_subset_is_safe_and_small():
    assert richtext.to_html("**a** &lt;b&gt;") == "<p><strong>a</strong> &lt;b&gt;</p>"
    assert (
        richtext.to_html("# Title\n- x\n- y")
        == '<p class="pht-h">Title</p><ul><li>x</li><li>y</li></ul>'
    )


def test_sponsorship_citations_are_labelled():
    cit = Citation(1, "a.txt", "A", "old", "Use code X.", 0, 11, kind="sponsorship")
    assert "paid promotion" in sources.render_entry(sources.group_citations([cit], [])[0], "a")


def test_highlight_trims_long_context_at_words():
    text = "word " * 200 + "QUOTE" + " tail" * 200
    html = sources.highlight(text, [(1000, 1005)], radius=50)
    assert "<mark>QUOTE</mark>" in html
    assert html.startswith("…") and html.endswith("…") and len(html) < 140


def test_copy_text_is_the_answer_with_numbered_sources():
    answer = FakeAnswerService().ask("Can I <b>run</b>?")
    plain = export.answer_plain(answer)
    assert plain.startswith(EDITION_NOTICE) and "You asked: Can I <b>run</b>?" in plain
    lines = plain.split("Sources:\n")[1].splitlines()
    assert [line[:3] for line in lines] == ["[1]", "[2]", "[3]"]
    assert lines[0].endswith(f"(newer edition) — “{SITTING}”")
    html = render.render_answer(answer, "a0")
    assert render.esc(plain) in html and 'class="pht-copy"' in html


def test_markdown_export_has_the_disclaimer_once_and_no_note_prefix():
    fake = FakeAnswerService()
    ok, red = fake.ask("Can I run?"), fake.ask("numb at night")
    disclaimer = export.disclaimer_notice()
    ok.notices = ["Note on tightness: the editions differ.", disclaimer]
    red.notices = [*red.notices, disclaimer]
    md = export.answers_markdown([("a", ok), ("b", red)])
    assert md.startswith("# Frequent questions")
    assert md.count(disclaimer) == 1 and "**Note:**" not in md
    assert "> Note on tightness: the editions differ." in md
    assert "1. Understanding Proximal Hamstring Tendinopathy with Running (newer edition)" in md
    assert f"characters {ok.citations[0].start}–{ok.citations[0].end}" in md


def test_answer_csv_is_one_row_per_answer_with_bom():
    fake = FakeAnswerService()
    items = [("a", fake.ask("Can I run? ’ — ✅")), ("b", fake.ask("pizza?"))]
    data = export.csv_bytes(export.ANSWER_COLUMNS, export.answer_rows(items))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == ["a", "b"]
    assert rows[0]["question"] == "Can I run? ’ — ✅"
    cited = rows[0]["sources"].splitlines()
    assert len(cited) == 3 and cited[0] == export.source_line(items[0][1].citations[0])
    assert rows[0]["locations"].splitlines()[0] == (
        f"[1] {NEWER}:{items[0][1].citations[0].start}-{items[0][1].citations[0].end}"
    )
    assert rows[1]["sources"] == "" and rows[1]["status"] == "out_of_scope"
    failed = export.answer_row("q2", "boom", None, "it failed")
    assert failed["status"] == "error" and failed["answer"] == "it failed"


def test_csv_cells_never_become_formulas():
    text = export.to_csv(["question"], [{"question": "=cmd|' /C calc'!A0"}, {"question": "@x"}])
    assert "'=cmd" in text and "'@x" in text


def test_parse_txt_and_csv_uploads():
    assert parse_questions("a.TXT", "é?\r\n\r\n b \n".encode()) == [("q1", "é?"), ("q3", "b")]
    data = "\ufeffid,question\nx1,Can I run?\n,No id here?\nx3,\n".encode()
    assert parse_questions("q.csv", data) == [("x1", "Can I run?"), ("q2", "No id here?")]
    assert parse_questions("q.csv", b'Question\n"Comma, inside?"\n') == [("q1", "Comma, inside?")]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("q.pdf", b"%PDF", "Unsupported file type"),
        ("q.csv", b"id,text\n1,hello\n", "no 'question' column"),
        ("q.txt", b"\n\n  \n", "No questions found"),
        ("q.txt", b"\xff\xfe\x00bad", "not UTF-8"),
        ("q.csv", b"question\n", "No questions found"),
        ("q.txt", ("q\n" * (MAX_BATCH_QUESTIONS + 1)).encode(), "the limit is"),
    ],
)
def test_bad_uploads_explain_the_fix(name, data, message):
    with pytest.raises(PHTError, match=message) as info:
        parse_questions(name, data)
    assert info.value.fix


def test_shipped_faq_is_valid_and_has_examples():
    items = load_faq(REPO / "corpus")
    assert 8 <= len(items) <= 15
    assert len({i.id for i in items}) == len(items)
    assert any(i.example for i in items)


def test_faq_errors_name_the_problem(tmp_path):
    with pytest.raises(ConfigError, match="no 'questions' list"):
        parse_faq({"q": []})
    with pytest.raises(ConfigError, match="Duplicate id"):
        parse_faq({"questions": [{"id": "a", "question": "x"}, {"id": "a", "question": "y"}]})
    assert load_faq(tmp_path) == []
    (tmp_path / "faq.yaml").write_text("questions: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="YAML"):
        load_faq(tmp_path)


def test_notices_link_markers_and_do_not_repeat_the_answer():
    answer = FakeAnswerService().ask("Can I run?")
    answer.notices = ["Editions disagree [2].", answer.answer]
    html = render.render_notices(answer, {2: "a1-src-2"})
    assert html.count('role="note"') == 1 and 'href="#a1-src-2"' in html
    red = FakeAnswerService().ask("numb at night")
    red.notices = [red.answer, "Second notice."]
    html = render.render_answer(red, "a2").split("pht-copy-text")[0]
    assert html.count('role="alert"') == 1 and html.count(render.esc(red.answer[:40])) == 1
    assert html.index('role="alert"') < html.index('role="note"')


def test_red_flag_answer_does_not_repeat_its_alert():
    red = FakeAnswerService().ask("numb at night")
    red.notices = ["Stop and see a clinician.", "General information only."]
    red.answer = "Stop and see a clinician.\n\nFor general information: rest [1]."
    full = render.render_answer(red, "r")
    html, copied = full.split("pht-copy-text")
    assert html.count("Stop and see a clinician.") == 1 and copied.count("Stop and see") == 1
    assert "For general information: rest" in html and 'role="note"' in html


def test_a_quoted_section_heading_joins_its_passage_entry():
    from assistant.models import QuoteSpan

    text = "Rest first. Then load the tendon."
    head = QuoteSpan("h", 0, 11, "Get better!", kind="heading")
    ctx = Passage("p", "a.txt", 20, 20 + len(text), text, 1.0, "content", "Get better!",
                  "A", "new", 2, heading=head)  # fmt: skip
    cites = [
        Citation(1, "a.txt", "A", "new", "Get better!", 5, 16, kind="heading"),
        Citation(2, "a.txt", "A", "new", "Then load the tendon.", 32, 53),
    ]
    head_cite = Citation(1, "a.txt", "A", "new", "Get better!", 0, 11, kind="heading")
    [group] = sources.group_citations([head_cite, cites[1]], [ctx])
    html = sources.render_entry(group, "a")
    assert "[1][2]" in html and "<mark>Get better!</mark>" in html
    assert "<mark>Then load the tendon.</mark>" in html and "Rest first." in html
    assert len(sources.group_citations(cites, [ctx])) == 2  # elsewhere: not the heading
