"""End to end in Debian chromium (Playwright): the chat and the staff page as people use them.

Starts the app in-process on a free loopback port with the fake service, then drives
/usr/bin/chromium headless: contrast and other serious accessibility faults with axe-core
(bundled by ``axe-playwright-python``, injected from the local file, never a CDN) in light
and dark colour schemes on desktop and a 390x844 phone; no sideways or nested scrolling on
the phone; citations open one entry per passage with every quote highlighted and move the
focus there and back; copy buttons put the answer and its numbered sources on the
clipboard; examples and the out-of-scope reply's questions are sent on click; down-then-up
stores one feedback row; the staff tools live on their own page. Screenshots go to
``test-artifacts/screenshots/``. Skipped when chromium is not installed (install it with
``apt-get install chromium``; never ``playwright install``).
"""

from __future__ import annotations

import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import build_app
from core.settings import Settings
from tests.fake_service import INCONSISTENCY, SITTING, FakeAnswerService

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "test-artifacts" / "screenshots"
XSS = "<img src=x onerror=alert(1)> <script>alert(2)</script>"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]  # fmt: skip
DESKTOP = {"width": 1280, "height": 960}
PHONE = {"width": 390, "height": 844}
QUESTION = "Can I keep running with high hamstring pain?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: apt-get install -y chromium to run this test")
    pytest.importorskip("playwright.sync_api")
    pytest.importorskip("axe_playwright_python")
    tmp = tmp_path_factory.mktemp("browser")
    settings = Settings(
        data_dir=tmp / "data", corpus_dir=REPO / "corpus", port=free_port(), _env_file=None
    )
    server = build_app(FakeAnswerService(word_delay_s=0.02), settings).server()
    url = server.start()
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield url, settings
    finally:
        server.close()


@pytest.fixture(scope="module")
def browser(served):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


def feedback_rows(settings: Settings) -> list[tuple[str, str, str, str, str]]:
    with sqlite3.connect(settings.feedback_db) as conn:
        return conn.execute(
            "SELECT question, status, rating, comment, answer_id FROM feedback ORDER BY id"
        ).fetchall()


def wait_for(check: Any, timeout_s: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, as readable lines."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]} "
        f"{v['nodes'][0].get('failureSummary', '')[:160]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def ask(page: Any, question: str) -> None:
    from playwright.sync_api import expect

    before = page.locator("#pht-chat .pht-answer:not(.pht-streaming)").count()
    page.locator("#pht-question textarea").fill(question)
    page.locator("#pht-send").click()
    expect(page.locator("#pht-chat .pht-answer:not(.pht-streaming)")).to_have_count(
        before + 1, timeout=10_000
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("device", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_readable_in_both_schemes_and_on_a_phone(served, browser, scheme, device, viewport):
    from playwright.sync_api import expect

    url, _ = served
    context = browser.new_context(viewport=viewport, color_scheme=scheme)
    page = context.new_page()
    page.goto(url)
    expect(page.locator(".pht-disclaimer")).to_contain_text("not a diagnosis")
    ask(page, QUESTION)
    page.locator("#pht-chat a.pht-cite").first.click()
    expect(page.locator("#pht-chat details.pht-source[open] mark").first).to_be_visible()
    assert page.evaluate("document.body.classList.contains('dark')") is False
    assert serious_violations(page) == []
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
    nested = page.evaluate(
        """() => [...document.querySelectorAll('#pht-chat *')].filter(e => {
             const s = getComputedStyle(e);
             return ['auto', 'scroll'].includes(s.overflowY) && e.scrollHeight > e.clientHeight + 2;
           }).length"""
    )
    assert nested == 0  # the chat grows with the page: no scroll box inside it
    if device == "phone":
        answer = page.locator("#pht-chat .pht-answer").first.bounding_box()
        chat = page.locator("#pht-chat").bounding_box()
        assert answer["width"] >= 0.85 * chat["width"]  # answers use the width
        for bubble in page.locator("#pht-chat .message").all():
            b = bubble.bounding_box()
            assert chat["x"] <= b["x"] and b["x"] + b["width"] <= chat["x"] + chat["width"] + 1
        box = page.locator("#pht-question textarea").bounding_box()
        send = page.locator("#pht-send").bounding_box()
        assert box["x"] + box["width"] <= send["x"] or box["y"] + box["height"] <= send["y"]
    page.screenshot(path=str(SHOTS / f"chat-{scheme}-{device}.png"), full_page=True)
    context.close()


def test_sources_copy_focus_feedback_and_xss(served, browser):
    from playwright.sync_api import expect

    url, settings = served
    context = browser.new_context(viewport=DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
    page = context.new_page()
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)

    # The answer streams (preview), then the final answer with citation links.
    page.locator("#pht-question textarea").fill(QUESTION)
    page.locator("#pht-send").click()
    expect(page.locator("#pht-chat .pht-streaming").first).to_be_visible(timeout=5000)
    expect(page.locator("#pht-chat a.pht-cite").first).to_be_visible(timeout=10_000)
    expect(page.locator("#pht-chat .pht-streaming")).to_have_count(0)
    expect(page.locator("#pht-chat .pht-info").first).to_contain_text("editions disagree")

    # Three citations, two of them in one paragraph: two entries; [1] and [3] open the same.
    entries = page.locator("#pht-chat details.pht-source")
    expect(entries).to_have_count(2)
    first = entries.first
    assert first.evaluate("d => d.open") is False
    expect(first.locator(".pht-snippet")).to_contain_text("Pain with sitting")
    expect(first.locator(":scope > summary")).not_to_contain_text(".txt")  # paths in the fold
    page.locator("#pht-chat a.pht-cite", has_text="[3]").click()
    assert first.evaluate("d => d.open") is True
    assert first.locator("mark").all_inner_texts() == [SITTING, INCONSISTENCY]
    assert page.evaluate("document.activeElement.closest('details.pht-source').id") == (
        first.get_attribute("id")
    )  # focus moved to the opened source
    page.screenshot(path=str(SHOTS / "source-open.png"))
    first.locator("button.pht-back").click()
    assert page.evaluate("document.activeElement.textContent") == "[3]"  # and back
    first.locator("details.pht-tech summary").click()
    expect(first.locator("details.pht-tech")).to_contain_text("understanding-pht-with-running.txt")

    # Copy puts the answer with its numbered sources on the clipboard, as plain text.
    page.locator("#pht-chat button.pht-copy").first.click()
    expect(page.locator("#pht-chat .pht-copied").first).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("The two editions disagree") and f"You asked: {QUESTION}" in copied
    assert (
        f"[1] Understanding Proximal Hamstring Tendinopathy with Running (newer edition) — “{SITTING}”"
        in copied
    )
    assert "<" not in copied and "[3] " in copied

    # One feedback path: down, then up, on the same answer is one row; a comment joins it.
    page.locator("#pht-chat button[aria-label='Dislike']").first.click()
    expect(page.locator("#pht-feedback-status")).to_contain_text("not helpful")
    page.locator("#pht-chat button[aria-label='Like']").first.click()
    expect(page.locator("#pht-feedback-status")).to_contain_text("rated answer 1 helpful")
    page.locator("#pht-comment textarea").fill("clear, with sources")
    page.locator("#pht-comment-send").click()
    expect(page.locator("#pht-feedback-status")).to_contain_text("comment was saved")
    rows = wait_for(lambda: [r for r in feedback_rows(settings) if r[3]])
    assert [r[:4] for r in rows] == [(QUESTION, "answered", "up", "clear, with sources")]
    assert len(feedback_rows(settings)) == 1 and len(rows[0][4]) == 32

    # Retry is not offered: the quoted answer would come out the same.
    expect(page.locator("#pht-retry")).to_be_hidden()

    # Red flag: a red alert box, distinct from the answer.
    ask(page, "My foot goes numb at night, can I run?")
    expect(page.locator("#pht-chat .pht-alert[role=alert]").first).to_be_visible()

    # XSS in a question (echoed by the fake "LLM") is shown as text, never run.
    ask(page, XSS)
    expect(page.locator("#pht-chat .pht-question").last).to_have_text(XSS)
    expect(page.locator("#pht-chat .pht-answer").last).to_contain_text("You asked: " + XSS)
    assert page.locator("#pht-chat img[src='x'], #pht-chat script").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == []

    # One Clear control, and it empties the chat.
    assert page.get_by_role("button", name="Clear", exact=False).filter(visible=True).count() == 1
    page.locator("#pht-clear").click()
    expect(page.locator("#pht-chat .pht-answer")).to_have_count(0)
    context.close()
    assert [u for u in requests if not u.startswith(url)] == []  # nothing left the machine


def test_examples_and_out_of_scope_questions_are_sent_on_click(served, browser):
    from playwright.sync_api import expect

    url, _ = served
    page = browser.new_page(viewport=PHONE)
    page.goto(url)
    example = page.locator("#pht-examples button.pht-example").first
    text = example.inner_text()
    assert text.endswith("?") and "…" not in text  # shown whole
    example.click()
    expect(page.locator("#pht-chat .pht-question").last).to_have_text(text, timeout=10_000)
    expect(page.locator("#pht-chat .pht-answer:not(.pht-streaming)")).to_have_count(1)

    ask(page, "Give me a pizza recipe")
    reply = page.locator("#pht-chat .pht-out_of_scope").last
    expect(reply.locator("ul li")).not_to_have_count(0)
    link = reply.locator("a.pht-ask").first
    question = link.inner_text()
    link.click()
    expect(page.locator("#pht-chat .pht-question").last).to_have_text(question, timeout=10_000)
    expect(page.locator("#pht-chat .pht-answer:not(.pht-streaming)")).to_have_count(3)
    page.close()


def test_staff_tools_are_a_separate_page(served, browser):
    from playwright.sync_api import expect

    url, _ = served
    page = browser.new_page(viewport=DESKTOP)
    page.goto(url)
    expect(page.locator("#pht-question")).to_be_visible()
    assert page.locator("#pht-faq-cards, #pht-upload, #pht-batch-run").count() == 0
    assert page.get_by_text("FAQ desk").count() == 0  # runners see only the chat

    page.goto(url + "staff/")
    cards = page.locator("#pht-faq-cards details.pht-faq-card")
    expect(cards).to_have_count(11, timeout=15_000)
    assert cards.locator("button.pht-copy").count() == 11  # a copy button on every card
    cards.first.locator("summary.pht-faq-q").click()
    expect(cards.first.locator("a.pht-cite").first).to_be_visible()
    expect(page.locator("#pht-upload")).to_be_visible()
    assert serious_violations(page) == []
    page.screenshot(path=str(SHOTS / "staff.png"), full_page=True)
    page.close()


def test_screenshots_were_written(served, browser):
    names = [f"chat-{s}-{d}.png" for s in ("light", "dark") for d in ("desktop", "phone")]
    for name in [*names, "source-open.png", "staff.png"]:
        assert (SHOTS / name).stat().st_size > 10_000, name


@pytest.mark.model
def test_the_real_assistant_in_the_browser(
    browser, real_index, real_embedder, tmp_path: Path
) -> None:
    """The page as `make run` serves it: the real assistant, index and model."""
    from playwright.sync_api import expect

    from assistant.service import build_assistant

    settings = real_index.model_copy(update={"port": free_port(), "data_dir": tmp_path / "data"})
    service = build_assistant(real_index, embedder=real_embedder, backend="extractive")
    server = build_app(service, settings).server()
    url = server.start()
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.goto(url)
        page.locator("#pht-question textarea").fill(
            "Is foam rolling good for my high hamstring pain?"
        )
        page.locator("#pht-send").click()
        answer = page.locator(".pht-answer").last
        expect(answer).to_contain_text("Passive treatments", timeout=30_000)
        expect(answer).to_contain_text("Edition conflict")
        answer.locator("a", has_text="[1]").first.click()
        expect(page.locator("mark").first).to_be_visible()
        expect(page.locator("#pht-retry")).to_be_hidden()  # the quoted answer would not change
        assert serious_violations(page) == []
        page.screenshot(path=str(SHOTS / "real-assistant.png"))
        page.close()
    finally:
        server.close()


def test_streamed_text_in_few_updates_and_chat_work_ends(browser, tmp_path: Path) -> None:
    """Text streams in a handful of larger updates; afterwards no chat work holds batches."""
    from playwright.sync_api import expect

    from assistant.ui.layout import priority_of

    fake = FakeAnswerService(word_delay_s=0.03)
    words = len(fake.ask(QUESTION).answer.split(" "))
    settings = Settings(
        data_dir=tmp_path / "data", corpus_dir=REPO / "corpus", port=free_port(), _env_file=None
    )
    web = build_app(fake, settings)
    priority = priority_of(web.chat)
    assert priority is not None
    server = web.server()
    url = server.start()
    try:
        page = browser.new_page(viewport=DESKTOP)
        page.goto(url)
        page.evaluate(
            """() => { window.phtSeen = new Set();
            new MutationObserver(() => document.querySelectorAll('#pht-chat .pht-streaming')
              .forEach(e => window.phtSeen.add(e.textContent))
            ).observe(document.body, {subtree: true, childList: true, characterData: true}); }"""
        )
        page.locator("#pht-question textarea").fill(QUESTION)
        page.locator("#pht-send").click()
        expect(page.locator("#pht-chat a.pht-cite").first).to_be_visible(timeout=15_000)
        seen = page.evaluate("() => [...window.phtSeen]")
        assert 2 <= len(seen) < words / 2, seen  # it streams, but not one update per word
        deadline = time.monotonic() + 5
        while priority.busy and time.monotonic() < deadline:
            time.sleep(0.05)
        assert priority.busy == 0  # the page's result stream closed: batches go on
        page.close()
    finally:
        server.close()
