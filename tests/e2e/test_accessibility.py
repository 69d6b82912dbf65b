"""Accessibility of the web chat and the staff console in headless Chromium (Debian's, driven by Playwright).

- axe-core (npm, node_modules/; scripts/ensure_browser.sh installs it) finds no serious or critical violation on the
  chat page (empty, with quick replies, mid-conversation, with 大字, at phone and desk widths) and on the console's
  main pages (login, queue, a ticket, the knowledge list and an entry, the unanswered questions, the
  dashboard /console/stats and the 好差评 follow-up items).
- Every control is reached with Tab and shows a focus ring; new messages are read out once (aria-live).
- 大字 persists; the chat fits 320 px and a window as short as a laptop's at 200 % zoom.
- A whole conversation, a question, a quick reply and a hand-off to an officer, with the keyboard alone.

The ``stand_in`` tests need no bot (tests/e2e/test_webchat_e2e.py: the page with a stand-in for socket.io)."""

from __future__ import annotations

import re
import uuid
from typing import Any, Dict, List

import pytest

from tests.e2e.test_handoff import ADMIN, ask_for_a_person
from tests.e2e.test_webchat_e2e import TWENTY_DAYS, bot_rows, browser, stand_in  # noqa: F401  (fixtures)
from tests.utils.axe import assert_no_blocking_violation

PHONE = {"width": 390, "height": 800}
DESK = {"width": 1280, "height": 860}
NARROW = {"width": 320, "height": 640}  # WCAG 1.4.10 reflow
ZOOMED = {"width": 640, "height": 400}  # a 1280 × 800 laptop at 200 % zoom

# what Tab can reach on a page, as a keyboard user sees it (visible, not disabled)
FOCUSABLE = """() => Array.from(document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex="-1"])'))
  .filter(el => !el.disabled && el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
  .filter(el => !el.classList.contains('skip-link'))
  .map(el => ({key: Array.prototype.indexOf.call(document.querySelectorAll('*'), el), html: el.outerHTML.slice(0, 120)}))"""
FOCUSED = """() => { const el = document.activeElement; if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  return {key: Array.prototype.indexOf.call(document.querySelectorAll('*'), el), html: el.outerHTML.slice(0, 120), id: el.id, text: (el.innerText || '').trim(),
          ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
          inView: (() => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; })()}; }"""
# every change of the announcer, kept: what a screen reader is given to read out
RECORD_ANNOUNCEMENTS = """() => { window.__said = [];
  new MutationObserver(() => { const t = document.getElementById('hz-announce').textContent; if (t) window.__said.push(t); })
    .observe(document.getElementById('hz-announce'), {childList: true, subtree: true, characterData: true}); }"""


def tab_through(page, limit: int = 120) -> List[Dict[str, Any]]:
    """Tab from the top of the page until focus comes round to a stop again; every stop, in order. (Past the last
    control focus leaves the page for a press, then Tab starts from the top.)"""
    page.evaluate(
        """() => { const start = document.createElement('span'); start.tabIndex = -1; document.body.prepend(start);
                   start.focus(); start.remove(); window.scrollTo(0, 0); }"""
    )
    stops: List[Dict[str, Any]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue
        if any(focused["key"] == stop["key"] for stop in stops):
            break
        stops.append(focused)
    return stops


def assert_every_control_is_reached_with_a_ring(page, where: str) -> None:
    stops = tab_through(page)
    reached = {s["key"] for s in stops}
    missed = [el["html"] for el in page.evaluate(FOCUSABLE) if el["key"] not in reached]
    assert not missed, f"{where}: not reached with Tab: {missed}"
    no_ring = [s["html"] for s in stops if not s["ring"]]
    assert not no_ring, f"{where}: no visible focus on {no_ring}"


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def inside_viewport(page, selector: str) -> bool:
    return page.evaluate(
        """s => { const r = document.querySelector(s).getBoundingClientRect();
                  return r.left >= 0 && r.top >= 0 && r.right <= innerWidth + 0.5 && r.bottom <= innerHeight + 0.5; }""",
        selector,
    )


MENU = [{"title": "开办企业流程", "payload": "/startup_process"}, {"title": "简易注销", "payload": "/simple_cancel"},
        {"title": "转人工", "payload": "/handoff"}]


# --- the chat page ------------------------------------------------------------------------------------------------------


def test_stand_in_chat_page_has_no_serious_violation(stand_in):  # noqa: F811
    page = stand_in.page
    for size in (PHONE, DESK):
        page.set_viewport_size(size)
        assert_no_blocking_violation(page, f"the empty chat page at {size['width']} px (typing indicator)")
    stand_in.bot_says("您好！我是海珠商事登记助手，请选择：", MENU)
    for size in (PHONE, DESK):
        page.set_viewport_size(size)
        assert_no_blocking_violation(page, f"the chat with quick replies at {size['width']} px")
    page.fill(".hz-input", "开公司在哪里办")
    page.keyboard.press("Enter")
    stand_in.bot_says("线上线下都可以：电脑端登录 air.scjgj.gz.gov.cn，或到海珠区政务服务中心。\n" * 8,
                      [{"title": "开办流程", "payload": "/startup_process"},
                       {"title": "要准备什么材料", "payload": "/startup_materials"}])
    stand_in.bot_says("⚠ 以下细节暂无权威来源确认")
    page.locator(".hz-button:not([disabled])", has_text="要准备什么材料").click()
    stand_in.bot_says("材料如下：\n1️⃣ 公司章程\n2️⃣ 股东身份证明", [{"title": "公司章程", "payload": "/charter"}])
    page.keyboard.press("Tab")
    for size in (PHONE, DESK):
        page.set_viewport_size(size)
        assert_no_blocking_violation(page, f"the chat mid-conversation at {size['width']} px")
    page.click(".hz-large-toggle")
    for size in (PHONE, DESK, NARROW):
        page.set_viewport_size(size)
        assert_no_blocking_violation(page, f"the chat with 大字 at {size['width']} px")


def test_stand_in_every_chat_control_is_reached_with_tab_and_shows_focus(stand_in):  # noqa: F811
    page = stand_in.page
    stand_in.bot_says("您好！请选择：\n详见 https://www.gdzwfw.gov.cn/ 。", MENU)
    for size in (PHONE, DESK):
        page.set_viewport_size(size)
        assert_every_control_is_reached_with_a_ring(page, f"the chat at {size['width']} px")
    stops = [s["html"] for s in tab_through(page)]
    order = [next(i for i, html in enumerate(stops) if marker in html)
             for marker in ("hz-large-toggle", "hz-reset", "hz-messages", "开办企业流程", "hz-input", "hz-send")]
    assert order == sorted(order), stops  # the header's switches, the history and its buttons, then the text box


def test_stand_in_new_messages_are_read_out_once_and_focus_stays(stand_in):  # noqa: F811
    page = stand_in.page
    log = page.locator(".hz-messages")
    assert log.get_attribute("role") == "log" and log.get_attribute("aria-live") == "off"
    assert page.locator("#hz-announce").get_attribute("aria-live") == "polite"
    page.evaluate(RECORD_ANNOUNCEMENTS)
    stand_in.bot_says("请看 https://www.gdzwfw.gov.cn/ 。", MENU)
    page.wait_for_function("window.__said.length > 0")
    said = page.evaluate("window.__said")
    assert said[-1] == "助手：请看 https://www.gdzwfw.gov.cn/ 。 有 3 个选项按钮，按 Shift+Tab 返回选择"

    # a keyboard user reading a link in an earlier answer keeps their place when the next message comes in
    page.locator(".hz-bubble a").first.focus()
    stand_in.bot_says("另外，简易注销公示20天。")
    assert page.evaluate("document.activeElement.href") == "https://www.gdzwfw.gov.cn/"
    page.wait_for_function("window.__said.some(t => t.includes('简易注销公示20天'))")
    # the user's own words are not read back to them
    page.fill(".hz-input", "谢谢")
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    assert not any("谢谢" in t for t in page.evaluate("window.__said"))
    # the typing indicator has words for a screen reader, not a bare aria-label on a div
    assert page.locator(".hz-typing .hz-visually-hidden").inner_text() == "助手正在输入"


def test_stand_in_large_text_switch_persists_and_the_page_reflows(stand_in):  # noqa: F811
    page = stand_in.page
    stand_in.bot_says("简易注销的公示期为20天，公示期满无异议即可申请注销登记。", MENU)
    bubble = page.locator(".hz-row-bot .hz-bubble").last
    toggle = page.locator(".hz-large-toggle")
    assert toggle.inner_text() == "大字" and toggle.get_attribute("aria-pressed") == "false"
    small = bubble.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")

    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Tab")  # the first stop on the page
    assert page.evaluate("document.activeElement.classList.contains('hz-large-toggle')")
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-pressed") == "true"
    large = bubble.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert large >= small * 1.3, (small, large)
    assert page.evaluate("localStorage.getItem('hz-chat:large')") == "1"

    page.reload()
    bubble.wait_for()
    assert toggle.get_attribute("aria-pressed") == "true"
    assert bubble.evaluate("el => parseFloat(getComputedStyle(el).fontSize)") == large

    for size in (NARROW, ZOOMED, PHONE):
        page.set_viewport_size(size)
        for on in (True, False):
            if (toggle.get_attribute("aria-pressed") == "true") != on:
                toggle.click()
            where = f"{size['width']}×{size['height']}, 大字 {'on' if on else 'off'}"
            assert no_sideways_scroll(page), where
            for selector in (".hz-large-toggle", ".hz-reset", ".hz-input", ".hz-send"):
                assert inside_viewport(page, selector), f"{selector} off screen at {where}"
            assert page.locator(".hz-messages").bounding_box()["height"] >= 120, where  # room to read
            assert bubble.evaluate("el => el.scrollWidth <= el.clientWidth"), where  # text wraps, never cut
    page.reload()  # switched off last: off it stays
    assert toggle.get_attribute("aria-pressed") == "false"
    assert bubble.evaluate("el => parseFloat(getComputedStyle(el).fontSize)") == small


def test_a_whole_conversation_with_the_keyboard_alone(running_bot, browser):  # noqa: F811
    """Question, a quick reply, then a hand-off to an officer through the five-step form: Tab, Shift+Tab, typing and
    Enter only. Every answer is read out; after a quick reply focus is back in the text box."""
    context = browser.new_context(viewport=DESK, locale="zh-CN")
    page = context.new_page()
    errors: List[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(running_bot.web_url + "/")
    page.evaluate(RECORD_ANNOUNCEMENTS)
    page.locator(".hz-row-bot .hz-button").first.wait_for(timeout=15_000)
    keyboard = page.keyboard

    def focused() -> Dict[str, Any]:
        return page.evaluate(FOCUSED) or {}

    def answers() -> int:
        return bot_rows(page).count()

    def wait_for_answer(before: int, text: str | re.Pattern) -> str:
        page.wait_for_function(
            "n => document.querySelectorAll('.hz-row-bot:not(.hz-typing)').length > n", arg=before, timeout=20_000
        )
        answer = bot_rows(page).filter(has_text=text).last
        answer.wait_for(timeout=20_000)
        return answer.inner_text()

    def say(text: str, expect: str | re.Pattern) -> str:
        assert focused().get("id") == "hz-input"
        before = answers()
        keyboard.type(text)
        keyboard.press("Enter")
        return wait_for_answer(before, expect)

    def choose(title: str, expect: str | re.Pattern) -> None:
        """From the text box, Shift+Tab back to the quick reply called title, and press Enter."""
        assert focused().get("id") == "hz-input"
        for _ in range(20):
            keyboard.press("Shift+Tab")
            stop = focused()
            assert stop.get("ring"), stop
            if stop.get("text") == title:
                break
        else:
            pytest.fail(f"no quick reply {title!r} before the text box")
        before = answers()
        keyboard.press("Enter")
        page.locator(".hz-row-user", has_text=title).last.wait_for(timeout=5_000)
        assert focused().get("id") == "hz-input"  # focus is not lost with the disabled button
        wait_for_answer(before, expect)

    # the first Tabs: 大字, 新对话, the history, the welcome menu's buttons, then the text box
    for _ in range(20):
        keyboard.press("Tab")
        if focused().get("id") == "hz-input":
            break
    else:
        pytest.fail("the text box is not reached with Tab")

    say("简易注销要公示多久", TWENTY_DAYS)
    said = page.evaluate("window.__said")
    assert any(TWENTY_DAYS.search(t) and t.startswith("助手：") for t in said), said
    quick_replies = page.locator(".hz-button:not([disabled])")  # the answer's (it may come in several messages)
    quick_replies.first.wait_for(timeout=10_000)
    choose(quick_replies.last.inner_text(), re.compile(".+"))

    say("转人工", "1/5")
    choose("开办企业", "2/5")
    if page.locator(".hz-button:not([disabled])", has_text="确认").count():
        choose("确认", "3/5")
    else:
        say("开办有限公司要准备哪些材料", "3/5")
    say("陈先生", "4/5")
    say("138 1234 5678", "5/5")
    choose("同意", "已为您创建工单")
    ticket = re.search(r"HZ\d{6}-\d{4,}", bot_rows(page).last.inner_text())
    assert ticket, bot_rows(page).last.inner_text()
    assert any(ticket.group(0) in t for t in page.evaluate("window.__said"))

    assert_no_blocking_violation(page, "the chat after a hand-off (real answers)")
    assert errors == []
    context.close()


# --- the console ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [DESK, PHONE], ids=["desk", "phone"])
def test_console_main_pages_have_no_serious_violation(running_bot, browser, size):  # noqa: F811
    bot = running_bot
    number, _token, _said = ask_for_a_person(bot, f"e2e-a11y-{uuid.uuid4().hex[:10]}")
    bot.say(f"e2e-a11y-{uuid.uuid4().hex[:10]}", "外星人在海珠开公司要准备什么")  # an unanswered question
    context = browser.new_context(viewport=size, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{bot.web_url}/console/login")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert_no_blocking_violation(page, "the console's login page")
    assert_every_control_is_reached_with_a_ring(page, "the login page")
    page.fill("input[name=username]", ADMIN[0])
    page.fill("input[name=password]", ADMIN[1])
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/queue")

    pages = {"the queue": "/console/queue"}
    page.click(f"text={number}")
    page.wait_for_url(re.compile(r".*/console/tickets/\d+$"))
    pages["a ticket"] = page.url.split(bot.web_url, 1)[1]
    page.goto(f"{bot.web_url}/console/faq")
    page.locator(".entry a").first.click()
    page.wait_for_url(re.compile(r".*/console/faq/entries/.+"))
    pages["a knowledge entry"] = page.url.split(bot.web_url, 1)[1]
    pages.update({"the knowledge list": "/console/faq", "the unanswered questions": "/console/faq/unanswered",
                  "a new entry": "/console/faq/new", "the preview": "/console/faq/preview?q=开公司要多久",
                  "the dashboard": "/console/stats", "the dashboard by month, web": "/console/stats?period=month&channel=web",
                  "the follow-up items": "/console/followups"})
    # the other pages, for axe only
    others = ["/console/faq/reviews", "/console/faq/transfer", "/console/faq/settings", "/console/faq/tokens",
              "/console/officers", "/console/settings", "/console/audit", "/console/privacy", "/console/password"]
    for where, path in pages.items():
        response = page.goto(bot.web_url + path)
        assert response.status == 200, (where, response.status)
        assert_no_blocking_violation(page, f"{where} ({path}) at {size['width']} px")
        assert_every_control_is_reached_with_a_ring(page, where)
        assert no_sideways_scroll(page), where
        if size is PHONE:  # and at the narrowest width WCAG asks for
            page.set_viewport_size(NARROW)
            assert no_sideways_scroll(page), f"{where} at 320 px"
            page.set_viewport_size(size)
    for path in others:
        response = page.goto(bot.web_url + path)
        assert response.status == 200, (path, response.status)
        assert_no_blocking_violation(page, f"{path} at {size['width']} px")
    assert page.locator(".skip-link").get_attribute("href") == "#main"

    # the queue refreshes itself, but not with a <meta refresh>, and the refresh can be paused
    page.goto(bot.web_url + "/console/queue")
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    toggle = page.locator("#auto-refresh-toggle")
    toggle.focus()
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-pressed") == "true" and toggle.inner_text() == "恢复自动刷新"
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-pressed") == "false"
    context.close()
