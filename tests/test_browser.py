"""End to end in Debian chromium (Playwright): chat, citations, feedback, XSS, FAQ desk.

Starts the app in-process on a free loopback port with the fake service, then drives
/usr/bin/chromium headless. Saves screenshots to ``test-artifacts/screenshots/``.
Skipped when chromium is not installed (install it with ``apt-get install chromium``;
never ``playwright install``).
"""

from __future__ import annotations

import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import build_app
from assistant.ui.layout import launch_kwargs
from core.settings import Settings
from tests.fake_service import SITTING, FakeAnswerService

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "test-artifacts" / "screenshots"
XSS = "<img src=x onerror=alert(1)> <script>alert(2)</script>"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: apt-get install -y chromium to run this test")
    pytest.importorskip("playwright.sync_api")
    tmp = tmp_path_factory.mktemp("browser")
    settings = Settings(
        data_dir=tmp / "data", corpus_dir=REPO / "corpus", port=free_port(), _env_file=None
    )
    demo = build_app(FakeAnswerService(word_delay_s=0.04), settings)
    _, url, _ = demo.launch(prevent_thread_lock=True, **launch_kwargs(settings))
    try:
        yield url, settings
    finally:
        demo.close()


def feedback_rows(settings: Settings) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(settings.feedback_db) as conn:
        return conn.execute("SELECT question, status, rating, comment FROM feedback").fetchall()


def test_chat_citations_feedback_xss_and_faq_desk(served):
    from playwright.sync_api import expect, sync_playwright

    url, settings = served
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 960})
        requests: list[str] = []
        dialogs: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(url)
        expect(page.locator(".pht-disclaimer")).to_contain_text("not a diagnosis")

        # Ask: the answer streams (preview), then the final answer with citation links.
        page.locator("#pht-question textarea").fill("Can I keep running with high hamstring pain?")
        page.locator("#pht-send").click()
        expect(page.locator("#pht-chat .pht-streaming").first).to_be_visible(timeout=5000)
        cite = page.locator("#pht-chat a.pht-cite").first
        expect(cite).to_be_visible(timeout=10000)
        expect(page.locator("#pht-chat .pht-streaming")).to_have_count(0)
        expect(page.locator("#pht-chat .pht-info").first).to_contain_text("editions disagree")
        page.screenshot(path=str(SHOTS / "chat.png"))

        # Open a citation: its source opens with the exact quote highlighted.
        source = page.locator("#pht-chat details.pht-source").first
        assert source.evaluate("d => d.open") is False
        cite.click()
        expect(source.locator("mark")).to_be_visible()
        assert source.evaluate("d => d.open") is True
        assert source.locator("mark").inner_text() == SITTING
        expect(source.locator("summary")).to_contain_text("newer edition")
        page.screenshot(path=str(SHOTS / "citation.png"))

        # Thumbs up (with a comment) on that answer lands in SQLite.
        page.locator("#pht-comment textarea").fill("clear, with sources")
        page.locator("#pht-chat button[aria-label='Like']").first.click()
        expect(page.locator("#pht-feedback-status")).to_contain_text("saved")
        deadline = time.monotonic() + 5
        while not feedback_rows(settings) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert feedback_rows(settings) == [
            (
                "Can I keep running with high hamstring pain?",
                "answered",
                "up",
                "clear, with sources",
            )
        ]

        # Red flag: a red alert box, distinct from the answer.
        page.locator("#pht-question textarea").fill("My foot goes numb at night, can I run?")
        page.locator("#pht-send").click()
        expect(page.locator("#pht-chat .pht-alert[role=alert]").first).to_be_visible(timeout=10000)

        # XSS in a question (echoed by the fake "LLM") is shown as text, never run.
        page.locator("#pht-question textarea").fill(XSS)
        page.locator("#pht-send").click()
        expect(page.locator("#pht-chat .pht-question").last).to_have_text(XSS, timeout=10000)
        expect(page.locator("#pht-chat .pht-answer").last).to_contain_text(
            "You asked: " + XSS, timeout=10000
        )
        assert page.locator("#pht-chat img[src='x'], #pht-chat script").count() == 0
        page.wait_for_timeout(300)
        assert dialogs == []

        # FAQ desk: curated questions answered on tab load, with sources.
        page.get_by_role("tab", name="FAQ desk").click()
        cards = page.locator("#pht-faq-cards details.pht-faq-card")
        expect(cards).to_have_count(11, timeout=15000)
        cards.first.locator("summary.pht-faq-q").click()
        expect(cards.first.locator("a.pht-cite").first).to_be_visible()
        page.screenshot(path=str(SHOTS / "faq-desk.png"))
        browser.close()

    assert [u for u in requests if not u.startswith(url)] == []  # nothing left the machine
    for name in ("chat.png", "citation.png", "faq-desk.png"):
        assert (SHOTS / name).stat().st_size > 10_000


@pytest.mark.model
def test_the_real_assistant_in_the_browser(real_index, real_embedder, tmp_path: Path) -> None:
    """The page as `make run` serves it: the real assistant, index and model."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: apt-get install -y chromium to run this test")
    from playwright.sync_api import expect, sync_playwright

    from assistant.service import build_assistant

    settings = real_index.model_copy(update={"port": free_port(), "data_dir": tmp_path / "data"})
    service = build_assistant(real_index, embedder=real_embedder, backend="extractive")
    demo = build_app(service, settings)
    _, url, _ = demo.launch(prevent_thread_lock=True, **launch_kwargs(settings))
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.goto(url)
            page.locator("#pht-question textarea").fill("Is foam rolling good for my high hamstring pain?")
            page.locator("#pht-send").click()
            answer = page.locator(".pht-answer").last
            expect(answer).to_contain_text("Passive treatments", timeout=30_000)
            expect(answer).to_contain_text("Edition conflict")
            answer.locator("a", has_text="[1]").first.click()
            expect(page.locator("mark").first).to_be_visible()
            page.screenshot(path=str(SHOTS / "real-assistant.png"))
            browser.close()
    finally:
        demo.close()
