"""The staff console in headless Chromium (Debian's, driven by Playwright): sign in, open a ticket, reply; the user
gets the reply in the chat. Phone-sized viewport, as officers use it on the move."""

from __future__ import annotations

import re
import uuid

from tests.e2e.test_handoff import ADMIN, ask_for_a_person, texts
from tests.utils.browser import chromium

PHONE = {"width": 390, "height": 844}


def test_sign_in_open_a_ticket_and_reply(running_bot):
    bot, sender = running_bot, f"e2e-browser-{uuid.uuid4().hex[:10]}"
    bot.say(sender, "简易注销要公示多少天")
    number, _token, _said = ask_for_a_person(bot, sender)
    bot.say(sender, "<script>document.title='hacked'</script>我的公司还有一笔欠税")

    with chromium() as browser:
        page = browser.new_page(viewport=PHONE, locale="zh-CN")
        page.goto(f"{bot.web_url}/console/")
        assert page.url.endswith("/console/login")
        page.fill("input[name=username]", ADMIN[0])
        page.fill("input[name=password]", ADMIN[1])
        page.click("button[type=submit]")
        page.wait_for_url("**/console/queue")
        assert "工单队列" in page.title()

        page.click(f"text={number}")
        page.wait_for_url(re.compile(r".*/console/tickets/\d+$"))
        transcript = page.inner_text("#transcript")
        assert "简易注销要公示多少天" in transcript
        assert "<script>document.title='hacked'</script>我的公司还有一笔欠税" in transcript  # shown as text
        assert page.title() != "hacked"

        page.click("#claim")
        page.wait_for_selector("text=已认领")
        page.fill("#reply-text", "您好，有欠税需要先清税，再申请简易注销。")
        page.click("#send-reply")
        page.wait_for_selector("text=回复已发送")
        assert "您好，有欠税需要先清税" in page.inner_text("#transcript")
        # nothing overflows sideways on a phone
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(bot.log_dir / "console-ticket.png"), full_page=True)

        # the user gets the reply with their next message, which shows up on the open page without a reload
        said = texts(bot.say(sender, "明白了，谢谢"))
        assert "👤 CBSO首席商事服务官：您好，有欠税需要先清税，再申请简易注销。" in said
        page.wait_for_selector("#transcript >> text=明白了，谢谢", timeout=15000)


def test_the_audit_log_is_readable_on_a_phone(running_bot):
    """One card per entry with a label before each value, not six columns a character wide."""
    with chromium() as browser:
        page = browser.new_page(viewport=PHONE, locale="zh-CN")
        page.goto(f"{running_bot.web_url}/console/login")
        page.fill("input[name=username]", ADMIN[0])
        page.fill("input[name=password]", ADMIN[1])
        page.click("button[type=submit]")
        page.wait_for_url("**/console/queue")
        page.goto(f"{running_bot.web_url}/console/audit")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        cells = page.evaluate(
            """() => Array.from(document.querySelectorAll('table.audit tbody tr:first-child td'))
                .filter(td => td.offsetParent !== null)
                .map(td => ({width: td.getBoundingClientRect().width, label: getComputedStyle(td, '::before').content}))"""
        )
        assert cells and all(cell["width"] > PHONE["width"] * 0.6 for cell in cells)  # each value on its own line
        assert any("时间" in cell["label"] for cell in cells) and any("操作" in cell["label"] for cell in cells)
        page.screenshot(path=str(running_bot.log_dir / "console-audit-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1200, "height": 800})  # a desk still gets the table
        assert page.evaluate("getComputedStyle(document.querySelector('table.audit td')).display") == "table-cell"
