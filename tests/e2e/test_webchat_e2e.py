"""The web chat at / in a real browser (Debian's headless Chromium driven by Playwright) against the running bot,
and Rasa's socket.io channel with a Python socket.io client."""

from __future__ import annotations

import re
import time
import uuid
from typing import Dict, List
from urllib.parse import urlsplit

import pytest
import socketio

from tests.utils.browser import chromium
from tests.utils.handoff import active_ticket_id, officer_replies

TWENTY_DAYS = re.compile(r"20\s*(天|日)")


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


class PageWatch:
    """Requests that left this machine and script errors of a page."""

    def __init__(self, page) -> None:
        self.foreign: List[str] = []
        self.errors: List[str] = []
        page.on("request", self._request)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _request(self, request) -> None:
        host = urlsplit(request.url).hostname or ""
        if request.url.startswith(("http", "ws")) and host not in ("127.0.0.1", "localhost"):
            self.foreign.append(request.url)


def bot_rows(page):
    return page.locator(".hz-row-bot:not(.hz-typing)")


def test_page_holds_a_conversation_across_reloads(running_bot, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    watch = PageWatch(page)
    response = page.goto(running_bot.web_url + "/")
    assert response.status == 200
    assert page.title() == "海珠商事登记助手"
    assert page.locator("html").get_attribute("lang") == "zh-CN"

    # the welcome menu arrives by itself, with quick-reply buttons
    page.locator(".hz-row-bot .hz-button").first.wait_for(timeout=15_000)
    assert page.locator(".hz-status").get_attribute("data-state") == "online"

    page.fill(".hz-input", "简易注销要公示多久")
    started = time.monotonic()
    page.keyboard.press("Enter")
    page.locator(".hz-typing").wait_for(timeout=5_000)  # the typing indicator while the bot works
    answer = bot_rows(page).filter(has_text=TWENTY_DAYS).first
    answer.wait_for(timeout=15_000)
    seconds = time.monotonic() - started
    assert page.locator(".hz-row-user").last.inner_text() == "简易注销要公示多久"
    assert page.locator(".hz-typing").count() == 0
    assert seconds < 10

    # a quick reply: the button's title is shown as the user's message and the bot answers it
    button = page.locator(".hz-button:not([disabled])").first
    title = button.inner_text()
    rows_before = bot_rows(page).count()
    button.click()
    page.locator(".hz-row-user", has_text=title).wait_for(timeout=5_000)
    page.wait_for_function(
        "n => document.querySelectorAll('.hz-row-bot:not(.hz-typing)').length > n", arg=rows_before, timeout=15_000
    )
    assert page.locator(".hz-button[aria-pressed='true']").inner_text() == title

    # reload: the same conversation is shown again and carries on
    history = page.locator(".hz-row").all_inner_texts()
    session = page.evaluate("JSON.parse(localStorage.getItem('hz-chat:v1')).sessionId")
    page.reload()
    page.locator(".hz-row-bot", has_text=TWENTY_DAYS).first.wait_for(timeout=5_000)
    page.locator(".hz-row-user", has_text=title).wait_for(timeout=5_000)
    assert page.locator(".hz-row").all_inner_texts() == history
    assert page.evaluate("JSON.parse(localStorage.getItem('hz-chat:v1')).sessionId") == session
    rows_before = bot_rows(page).count()
    page.fill(".hz-input", "谢谢")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('.hz-row-bot:not(.hz-typing)').length > n", arg=rows_before, timeout=15_000
    )
    assert page.locator(".hz-row-user").count() == 3
    assert watch.foreign == [] and watch.errors == []
    context.close()


def test_text_is_shown_as_text_and_links_are_links(running_bot, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    watch = PageWatch(page)
    page.goto(running_bot.web_url + "/")
    page.locator(".hz-row-bot .hz-button").first.wait_for(timeout=15_000)
    attack = '<img src=x onerror="window.__pwned=1"> 见 https://www.gdzwfw.gov.cn/ 办理'
    page.fill(".hz-input", attack)
    page.click(".hz-send")
    bubble = page.locator(".hz-row-user .hz-bubble").last
    bubble.wait_for()
    assert bubble.inner_text() == attack
    assert page.locator(".hz-messages img").count() == 0
    assert page.evaluate("window.__pwned") is None
    link = bubble.locator("a")
    assert link.get_attribute("href") == "https://www.gdzwfw.gov.cn/"
    assert link.get_attribute("rel") == "noopener noreferrer"
    csp = page.evaluate("fetch('/').then(r => r.headers.get('content-security-policy'))")
    assert "script-src 'self'" in csp
    assert watch.foreign == [] and watch.errors == []
    context.close()


@pytest.mark.parametrize("width,height", [(360, 640), (1366, 768)], ids=["phone", "desktop"])
def test_layout_fits_phone_and_desktop(running_bot, browser, width, height):
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=width < 600, has_touch=width < 600
    )
    page = context.new_page()
    page.goto(running_bot.web_url + "/")
    page.locator(".hz-row-bot .hz-button").first.wait_for(timeout=15_000)
    page.fill(".hz-input", "简易注销要公示多久")
    page.click(".hz-send")
    bot_rows(page).filter(has_text=TWENTY_DAYS).first.wait_for(timeout=15_000)
    no_sideways_scroll = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert no_sideways_scroll
    for selector in (".hz-input", ".hz-send", ".hz-chat-header"):
        box = page.locator(selector).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5
        assert box["y"] >= 0 and box["y"] + box["height"] <= height + 0.5, f"{selector} off screen"
    send_box = page.locator(".hz-send").bounding_box()
    assert send_box["height"] >= 36  # big enough for a finger
    context.close()


def test_socketio_channel_replies_to_a_python_client(running_bot):
    """Rasa's socket.io channel with session persistence answers (python-socketio 5.9.0, RasaHQ/rasa#13027)."""
    client = socketio.Client(reconnection=False)
    replies: List[Dict] = []
    confirmed: List[str] = []
    client.on("session_confirm", lambda session: confirmed.append(session))
    client.on("bot_uttered", lambda message: replies.append(message))
    session_id = uuid.uuid4().hex
    client.connect(running_bot.rasa_url, transports=["websocket"], socketio_path="/socket.io", wait_timeout=10)
    try:
        client.emit("session_request", {"session_id": session_id})
        deadline = time.monotonic() + 5
        while not confirmed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert confirmed == [session_id]
        client.emit("user_uttered", {"message": "简易注销要公示多少天", "session_id": session_id})
        deadline = time.monotonic() + 15
        while not any(m.get("quick_replies") for m in replies) and time.monotonic() < deadline:
            time.sleep(0.05)  # the answer's last message carries its buttons as quick replies
        assert any(TWENTY_DAYS.search(m.get("text", "")) for m in replies), replies
        assert any(m.get("quick_replies") for m in replies), replies
    finally:
        client.disconnect()


def test_officer_replies_appear_while_a_ticket_is_open(running_bot, browser):
    """转人工 in the page: the contact form, the ticket's poll token in the bot's ``{"handoff": …}`` message, then
    the widget polls the hand-off endpoint and shows what the officer writes, until the ticket is resolved."""
    context = browser.new_context(viewport={"width": 390, "height": 800}, is_mobile=True, has_touch=True)
    page = context.new_page()
    watch = PageWatch(page)
    page.goto(running_bot.web_url + "/")
    page.locator(".hz-row-bot .hz-button").first.wait_for(timeout=15_000)

    def say(text: str, expect: str) -> str:
        rows = bot_rows(page).count()
        page.fill(".hz-input", text)
        page.keyboard.press("Enter")
        page.wait_for_function(
            "n => document.querySelectorAll('.hz-row-bot:not(.hz-typing)').length > n", arg=rows, timeout=15_000
        )
        bot_rows(page).filter(has_text=expect).last.wait_for(timeout=15_000)
        return "\n".join(bot_rows(page).all_inner_texts()[rows:])

    said = say("转人工", "/5")
    if "1/5" in said:
        say("开办企业", "2/5")
    say("简易注销公示期满后多久内要申请", "3/5")
    say("陈先生", "4/5")
    say("13812345678", "5/5")
    rows = bot_rows(page).count()
    page.locator(".hz-button:not([disabled])", has_text="同意").first.click()
    bot_rows(page).filter(has_text="已为您创建工单").last.wait_for(timeout=15_000)
    assert bot_rows(page).count() > rows
    page.wait_for_function("JSON.parse(localStorage.getItem('hz-chat:v1')).relay?.token", timeout=5_000)

    session = page.evaluate("JSON.parse(localStorage.getItem('hz-chat:v1')).sessionId")
    ticket_id = active_ticket_id(running_bot.env["DATABASE_URL"], session)
    pushed = officer_replies(
        running_bot.env["DATABASE_URL"], ticket_id, "您好，公示期满后20日内申请即可，请带上营业执照。",
        resolve_with="服务官已办结您的工单。",
    )
    assert pushed == 0  # a web page cannot be pushed to: it polls
    officer = page.locator(".hz-row-officer", has_text="公示期满后20日内申请即可")
    officer.wait_for(timeout=15_000)
    assert "CBSO服务官" in officer.inner_text()
    page.locator(".hz-row-system", has_text="服务官已办结您的工单").wait_for(timeout=15_000)
    page.wait_for_function("JSON.parse(localStorage.getItem('hz-chat:v1')).relay === null", timeout=15_000)
    page.reload()  # the officer's reply is part of the kept conversation
    page.locator(".hz-row-officer", has_text="公示期满后20日内申请即可").wait_for(timeout=5_000)
    assert page.locator(".hz-row-officer").count() == 1
    assert watch.foreign == [] and watch.errors == []
    context.close()
