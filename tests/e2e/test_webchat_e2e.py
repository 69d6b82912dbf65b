"""The web chat at / in a real browser (Debian's headless Chromium driven by Playwright) against the running bot,
and Rasa's socket.io channel with a Python socket.io client.

The ``stand_in`` tests need no bot: the page is served from the web app's route with a stand-in for socket.io, so a
test says exactly what the bot says (links, quick replies, emoji) and sees exactly what the widget sends."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any, Dict, List
from urllib.parse import urlsplit

import pytest
import socketio
from starlette.applications import Starlette
from starlette.testclient import TestClient

from actions.names import MAX_MESSAGE_CHARS
from tests.utils.browser import chromium
from tests.utils.handoff import active_ticket_id, officer_replies
from webapp.chat import routes as chat

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


def fonts_drawing(page, selector: str) -> List[str]:
    """The fonts Chromium used for the text in the last element matching selector (DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        node = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": selector})["nodeIds"][-1]
        return [f["familyName"] for f in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]]
    finally:
        cdp.detach()


def contrast(locator) -> float:
    """WCAG contrast ratio of an element's text colour against its own background colour."""
    colours = locator.evaluate(
        "el => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]"
        ".map(c => c.match(/[0-9.]+/g).slice(0, 3).map(Number))"
    )

    def luminance(rgb):
        channels = [(c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4) for c in rgb]
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    light, dark = sorted((luminance(c) for c in colours), reverse=True)
    return (light + 0.05) / (dark + 0.05)


# --- the page with a stand-in for socket.io ---------------------------------------------------------------------------

STAND_IN_ORIGIN = "http://chat.test"
# Replaces vendor/socket.io.min.js: window.__socket.fire("bot_uttered", …) is the bot speaking, .emitted what the page
# sent. Connects and confirms the session at once, as Rasa does.
STAND_IN_SOCKET_IO = """
window.io = function () {
  var handlers = {};
  var socket = {
    emitted: [],
    on: function (name, fn) { (handlers[name] = handlers[name] || []).push(fn); return socket; },
    fire: function (name, data) { (handlers[name] || []).forEach(function (fn) { fn(data); }); },
    emit: function (name, data) {
      socket.emitted.push([name, data]);
      if (name === "session_request") setTimeout(function () { socket.fire("session_confirm", data.session_id); });
      return socket;
    },
    disconnect: function () { return socket; },
    connect: function () { setTimeout(function () { socket.fire("connect"); }); return socket; },
  };
  window.__socket = socket;
  setTimeout(function () { socket.fire("connect"); });
  return socket;
};
"""


class StandIn:
    def __init__(self, page) -> None:
        self.page = page

    def bot_says(self, text: str = "", buttons: List[Dict[str, str]] = ()) -> None:
        message: Dict[str, Any] = {"text": text}
        if buttons:
            message["quick_replies"] = [{"content_type": "text", **b} for b in buttons]
        self.page.evaluate("m => window.__socket.fire('bot_uttered', m)", message)

    def sent(self) -> List[str]:
        return self.page.evaluate(
            "window.__socket.emitted.filter(e => e[0] === 'user_uttered').map(e => e[1].message)"
        )


@pytest.fixture()
def stand_in(browser):
    app = Starlette(routes=chat.routes())
    page_response = TestClient(app, base_url=STAND_IN_ORIGIN).get("/")
    assert page_response.status_code == 200
    headers = {k: v for k, v in page_response.headers.items() if k.lower() != "content-length"}
    foreign: List[str] = []

    def serve(route) -> None:
        url = urlsplit(route.request.url)
        if f"{url.scheme}://{url.netloc}" != STAND_IN_ORIGIN:
            foreign.append(route.request.url)
            route.abort()
        elif url.path == "/":
            route.fulfill(status=200, headers=headers, body=page_response.content)
        elif url.path == "/static/chat/vendor/socket.io.min.js":
            route.fulfill(status=200, content_type="application/javascript", body=STAND_IN_SOCKET_IO)
        elif url.path.startswith("/static/chat/") and ".." not in url.path:
            route.fulfill(status=200, path=str(chat.STATIC_DIR / url.path[len("/static/chat/"):]))
        else:
            route.fulfill(status=404, body="")

    context = browser.new_context(viewport={"width": 390, "height": 800}, locale="zh-CN")
    context.route("**/*", serve)
    page = context.new_page()
    errors: List[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)  # CSP violations too
    page.goto(STAND_IN_ORIGIN + "/")
    page.wait_for_function("window.__socket && window.__socket.emitted.some(e => e[0] === 'user_uttered')")
    yield StandIn(page)
    context.close()
    assert foreign == [] and errors == []


def test_stand_in_links_in_bot_answers_are_links(stand_in):
    page = stand_in.page
    stand_in.bot_says(
        "1️⃣ 电脑端登录 air.scjgj.gz.gov.cn，或微信小程序；\n"
        "2️⃣ 广东政务服务网 https://www.gdzwfw.gov.cn/portal/index?region=440105。\n"
        "香港公司查册见 www.gov.hk/sc/residents/.\n"
        "[办事指南](https://www.gz.gov.cn/guide?id=1)、电脑端air.scjgj.gz.gov.cn办理\n"
        "HTTP://WWW.GOV.CN\n"
        "不是链接：gz.gov.cn.example.com、邮箱 kf@scjgj.gz.gov.cn、javascript:alert(1)、"
        '<a href="javascript:alert(2)">点我</a>、ftp://files.gov.cn'
    )
    bubble = page.locator(".hz-row-bot .hz-bubble").last
    links = bubble.locator("a").evaluate_all(
        "as => as.map(a => [a.textContent, a.getAttribute('href'), a.rel, a.target, a.children.length])"
    )
    assert links == [
        ["air.scjgj.gz.gov.cn", "https://air.scjgj.gz.gov.cn", "noopener noreferrer", "_blank", 0],
        [
            "https://www.gdzwfw.gov.cn/portal/index?region=440105",
            "https://www.gdzwfw.gov.cn/portal/index?region=440105", "noopener noreferrer", "_blank", 0,
        ],
        ["www.gov.hk/sc/residents/", "https://www.gov.hk/sc/residents/", "noopener noreferrer", "_blank", 0],
        ["办事指南", "https://www.gz.gov.cn/guide?id=1", "noopener noreferrer", "_blank", 0],
        ["air.scjgj.gz.gov.cn", "https://air.scjgj.gz.gov.cn", "noopener noreferrer", "_blank", 0],
        ["HTTP://WWW.GOV.CN", "HTTP://WWW.GOV.CN", "noopener noreferrer", "_blank", 0],
    ]
    # everything else is text, exactly as the bot wrote it (less the markdown of the labelled link)
    assert "，或微信小程序；" in bubble.inner_text() and '<a href="javascript:alert(2)">点我</a>' in bubble.inner_text()
    assert bubble.locator("*:not(a)").count() == 0
    csp = page.evaluate("fetch('/').then(r => r.headers.get('content-security-policy'))")
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp


def test_stand_in_earlier_quick_replies_are_disabled_but_readable(stand_in):
    page = stand_in.page
    enabled = page.locator(".hz-button:not([disabled])")
    stand_in.bot_says("您好！请选择：", [{"title": "开办企业流程", "payload": "/startup_process"},
                                      {"title": "简易注销", "payload": "/simple_cancel"}])
    assert enabled.all_inner_texts() == ["开办企业流程", "简易注销"]

    # the user types instead of clicking: the menu is history
    page.fill(".hz-input", "开公司在哪里办")
    page.keyboard.press("Enter")
    assert enabled.count() == 0
    # the answer in two messages, the buttons on the first: they stay clickable until the user acts
    stand_in.bot_says("线上线下都可以", [{"title": "开办流程", "payload": "/startup_process"},
                                     {"title": "要准备什么材料", "payload": "/startup_materials"}])
    stand_in.bot_says("⚠ 以下细节暂无权威来源确认")
    assert enabled.all_inner_texts() == ["开办流程", "要准备什么材料"]

    # a click: shown as the user's message, sent as the payload, and every button so far is history
    enabled.filter(has_text="要准备什么材料").click()
    assert page.locator(".hz-row-user").last.inner_text() == "要准备什么材料"
    assert stand_in.sent()[-2:] == ["开公司在哪里办", "/startup_materials"]
    assert enabled.count() == 0
    stand_in.bot_says("材料如下", [{"title": "公司章程", "payload": "/charter"}])
    assert enabled.all_inner_texts() == ["公司章程"]
    page.locator(".hz-button[disabled]", has_text="开办流程").click(force=True)  # a stale click does nothing
    assert stand_in.sent()[-1] == "/startup_materials"

    def buttons():
        return page.locator(".hz-button").evaluate_all(
            "bs => bs.map(b => [b.textContent, b.disabled, b.getAttribute('aria-pressed')])"
        )

    shown = buttons()
    assert shown == [
        ["开办企业流程", True, None], ["简易注销", True, None],
        ["开办流程", True, None], ["要准备什么材料", True, "true"],
        ["公司章程", False, None],
    ]
    page.reload()
    page.locator(".hz-button", has_text="公司章程").wait_for()
    assert buttons() == shown
    for title in ("开办企业流程", "要准备什么材料", "公司章程"):
        button = page.locator(".hz-button", has_text=title)
        assert button.is_visible() and contrast(button) >= 4.5, title
    assert page.locator(".hz-buttons-done").count() == 2


def test_stand_in_long_text_has_a_counter_and_is_never_cut_silently(stand_in):
    page = stand_in.page
    limit = page.locator(".hz-limit")
    page.fill(".hz-input", "注" * 1700)
    assert limit.is_hidden()
    page.fill(".hz-input", "注" * 1850)
    assert limit.is_visible() and limit.inner_text() == f"1850 / {MAX_MESSAGE_CHARS}"
    box, counter = page.locator(".hz-input").bounding_box(), limit.bounding_box()
    assert counter["y"] + counter["height"] <= box["y"] and counter["x"] + counter["width"] <= 390  # above the box

    # dictated or pasted text that does not fit: what fits goes in, and the counter says so
    page.focus(".hz-input")
    page.keyboard.insert_text("销" * 300)
    value = page.input_value(".hz-input")
    assert value == "注" * 1850 + "销" * 150
    assert limit.inner_text() == f"最多 {MAX_MESSAGE_CHARS} 字，超出的 150 字没有放进来，可以分开发送"
    page.keyboard.press("Backspace")
    assert limit.inner_text() == f"1999 / {MAX_MESSAGE_CHARS}"
    page.keyboard.insert_text("销销")
    assert len(page.input_value(".hz-input")) == 2000 and "超出的 1 字" in limit.inner_text()

    # text put in the middle is cut there, not at the end
    page.fill(".hz-input", "开头" + "注" * 1994 + "结尾")
    page.evaluate("document.querySelector('.hz-input').setSelectionRange(2, 2)")
    page.keyboard.insert_text("插入的话")
    assert page.input_value(".hz-input") == "开头插入" + "注" * 1994 + "结尾"

    page.keyboard.press("Enter")
    assert stand_in.sent()[-1] == "开头插入" + "注" * 1994 + "结尾"
    assert page.locator(".hz-row-user .hz-bubble").last.inner_text() == stand_in.sent()[-1]
    assert page.input_value(".hz-input") == "" and limit.is_hidden()

    # 2000 characters as the bot counts them (code points): emoji are one each
    page.fill(".hz-input", "👍" * 2000)
    assert page.evaluate("[...document.querySelector('.hz-input').value].length") == 2000
    assert limit.inner_text() == f"2000 / {MAX_MESSAGE_CHARS}"


def test_stand_in_emoji_are_drawn_with_a_colour_emoji_font(stand_in):
    page = stand_in.page
    families = page.evaluate("getComputedStyle(document.body).fontFamily")
    for font in ("Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji"):
        assert font in families
    stand_in.bot_says("1️⃣ 网上申请；2️⃣ 领取执照 🤖")
    fonts = fonts_drawing(page, ".hz-row-bot .hz-bubble")
    assert "Noto Color Emoji" in fonts, f"{fonts}: is fonts-noto-color-emoji installed? (scripts/ensure_browser.sh)"
    assert "WenQuanYi Zen Hei" in fonts  # the Chinese text stays in a CJK font


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
    answer = bot_rows(page).filter(has_text=TWENTY_DAYS).first
    # the typing indicator while the bot works (a reply faster than the browser's polling may come first)
    page.locator(".hz-typing").or_(answer).first.wait_for(timeout=5_000)
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
    # only the buttons of the bot's latest answer are clickable: the welcome menu and the chosen ones are history
    enabled = page.locator(".hz-button:not([disabled])")
    last_user = page.locator(".hz-row").count() - 1 - page.evaluate(
        "[...document.querySelectorAll('.hz-row')].reverse().findIndex(r => r.classList.contains('hz-row-user'))"
    )
    for i in range(enabled.count()):
        assert enabled.nth(i).evaluate("(b, n) => [...document.querySelectorAll('.hz-row')].indexOf("
                                       "b.closest('.hz-row')) > n", last_user)
    assert page.locator(".hz-row-bot").first.locator(".hz-button:not([disabled])").count() == 0
    clickable = enabled.all_inner_texts()

    # reload: the same conversation is shown again and carries on
    history = page.locator(".hz-row").all_inner_texts()
    session = page.evaluate("JSON.parse(localStorage.getItem('hz-chat:v1')).sessionId")
    page.reload()
    page.locator(".hz-row-bot", has_text=TWENTY_DAYS).first.wait_for(timeout=5_000)
    page.locator(".hz-row-user", has_text=title).wait_for(timeout=5_000)
    assert page.locator(".hz-row").all_inner_texts() == history
    assert enabled.all_inner_texts() == clickable
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


def test_web_address_in_an_answer_is_a_link_and_emoji_are_drawn(running_bot, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    watch = PageWatch(page)
    page.goto(running_bot.web_url + "/")
    page.locator(".hz-row-bot .hz-button").first.wait_for(timeout=15_000)
    page.fill(".hz-input", "开公司在哪里办")
    page.keyboard.press("Enter")
    answer = bot_rows(page).filter(has_text="air.scjgj.gz.gov.cn").first
    answer.wait_for(timeout=15_000)
    link = answer.locator("a", has_text="air.scjgj.gz.gov.cn").first
    assert link.get_attribute("href") == "https://air.scjgj.gz.gov.cn"
    assert link.get_attribute("rel") == "noopener noreferrer" and link.get_attribute("target") == "_blank"
    assert "1️⃣" in answer.inner_text()
    fonts = fonts_drawing(page, ".hz-row-bot .hz-bubble")
    assert "Noto Color Emoji" in fonts, fonts
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
        assert len(confirmed) == 1 and confirmed[0] != session_id  # the server issues the session id
        client.emit("user_uttered", {"message": "简易注销要公示多少天", "session_id": confirmed[0]})
        deadline = time.monotonic() + 15
        while not any(m.get("quick_replies") for m in replies) and time.monotonic() < deadline:
            time.sleep(0.05)  # the answer's last message carries its buttons as quick replies
        assert any(TWENTY_DAYS.search(m.get("text", "")) for m in replies), replies
        assert any(m.get("quick_replies") for m in replies), replies
    finally:
        client.disconnect()


def poll_page(page, expression: str, timeout: float) -> None:
    """Wait until ``expression`` is truthy in the page. Evaluated over the DevTools protocol, so the page's strict
    Content-Security-Policy (no eval) does not block it, unlike a retried ``wait_for_function`` string."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        time.sleep(0.2)


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
    poll_page(page, "JSON.parse(localStorage.getItem('hz-chat:v1')).relay?.token", timeout=15)

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
    poll_page(page, "JSON.parse(localStorage.getItem('hz-chat:v1')).relay === null", timeout=15)
    page.reload()  # the officer's reply is part of the kept conversation
    page.locator(".hz-row-officer", has_text="公示期满后20日内申请即可").wait_for(timeout=5_000)
    assert page.locator(".hz-row-officer").count() == 1
    assert watch.foreign == [] and watch.errors == []
    context.close()
