"""The service dashboard and the 好差评 rating end to end: real conversations with the running bot (plus seeded past
days in its tracker store), a resolved ticket rated 不满意 with a comment in the chat, then the console in headless
Chromium at desk and phone width: the figures core/stats.py computes from the same databases, drawn as SVG plots,
the follow-up item, and the xlsx export holding the same tables."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from core import db, stats
from tests.e2e.test_handoff import ADMIN, texts
from tests.utils.browser import chromium
from tests.utils.handoff import officer_replies, open_ticket
from tests.utils.stats import ANSWERED, CLARIFIED, HANDOFF, OTHER, Turn, conversation_rows, insert_rows

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}


def seed_past_days(tracker_db: str) -> None:
    """Twelve conversations over the last six days, web and WeChat, as Rasa would have stored them."""
    engine = stats.tracker_engine(f"sqlite:///{tracker_db}")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=10, minute=0, second=0, microsecond=0)
    rows = []
    for n in range(12):
        start = (today - timedelta(days=1 + n % 6)).astimezone(timezone.utc).replace(tzinfo=None)
        channel = "wechat" if n % 3 == 0 else "socketio"
        turns = [Turn(ANSWERED, latency_ms=150 + n), Turn(CLARIFIED), Turn(OTHER)] + ([Turn(HANDOFF)] if n % 4 == 0 else [])
        rows += conversation_rows(f"e2e-stats-seed-{uuid.uuid4().hex[:8]}", channel, start, turns)
    insert_rows(engine, rows)


def expected(bot, kind: str, channel: str) -> stats.Figures:
    db.configure(bot.env["DATABASE_URL"])
    try:
        with db.session_scope() as session:
            from core.handoff.office_hours import OfficeHours
            from core.handoff.repository import TicketRepository
            from core.settings import get_settings

            hours = OfficeHours.from_spec(TicketRepository(session).office_hours_spec(get_settings().office_hours))
            return stats.compute(
                session, kind, channel, engine=stats.tracker_engine(f"sqlite:///{bot.env['TRACKER_DB']}"),
                office_hours=hours,
            )
    finally:
        db.configure("sqlite://")


def sign_in(page, bot) -> None:
    page.goto(f"{bot.web_url}/console/login")
    page.fill("input[name=username]", ADMIN[0])
    page.fill("input[name=password]", ADMIN[1])
    page.click("button[type=submit]")
    page.wait_for_url("**/console/queue")


def test_a_negative_rating_in_the_chat_and_the_dashboard_in_a_browser(running_bot, tmp_path):
    bot = running_bot
    # conversations today, over the bot's REST channel
    for n, question in enumerate(("开公司要多久", "住所申报需要什么材料", "简易注销要公示多少天", "那个东西怎么弄")):
        bot.say(f"e2e-stats-{n}-{uuid.uuid4().hex[:6]}", question)
    seed_past_days(bot.env["TRACKER_DB"])

    # a ticket answered and resolved by an officer; the user rates it 不满意 with the button, then says why
    sender = f"e2e-stats-rater-{uuid.uuid4().hex[:8]}"
    ticket_id, _token = open_ticket(bot.env["DATABASE_URL"], sender, "rest")
    officer_replies(bot.env["DATABASE_URL"], ticket_id, "您好，已为您核实。", resolve_with="服务官已办结您的工单")
    asked = bot.say(sender, '/rate_service{"handoff_rating": "2"}')
    assert "不满意" in texts(asked) and "可以简单说说哪里不满意吗" in texts(asked), asked
    thanked = texts(bot.say(sender, "等了两天才有人回复我"))
    assert "已记录您的意见" in thanked, thanked
    # the rating question itself offers the five 好差评 levels
    other = f"e2e-stats-rater2-{uuid.uuid4().hex[:8]}"
    other_ticket, _token = open_ticket(bot.env["DATABASE_URL"], other, "rest")
    officer_replies(bot.env["DATABASE_URL"], other_ticket, "好的。", resolve_with="服务官已办结您的工单")
    assert "感谢您的评价（非常满意）" in texts(bot.say(other, "非常满意"))

    week = expected(bot, "week", "all")
    assert week.conversations.conversations >= 16 and week.ratings.counts[2] >= 1 and week.ratings.counts[5] >= 1
    with chromium() as browser:
        page = browser.new_page(viewport=DESK, locale="zh-CN", accept_downloads=True)
        sign_in(page, bot)
        page.click("nav >> text=服务数据")
        page.wait_for_url("**/console/stats")
        assert page.inner_text("#kpi-conversations") == str(week.conversations.conversations)
        assert page.inner_text("#kpi-messages") == str(week.conversations.user_messages)
        assert page.inner_text("#kpi-answered") == stats.pct(week.share(stats.ANSWERED))
        assert page.inner_text("#kpi-satisfaction") == stats.pct(week.ratings.satisfied_share)
        assert page.inner_text("#kpi-latency") == f"{stats.num(week.latency(0.5))} / {stats.num(week.latency(0.95))}"
        # plots: a line per series over the seven days, bars for outcomes, topics and ratings, drawn and visible
        assert page.locator("#chart-volume svg polyline").count() == 2
        assert page.locator("#chart-volume svg circle").count() == 14
        bars = page.locator("#chart-ratings svg rect.bar")
        assert bars.count() == 5
        widths = [float(bars.nth(i).get_attribute("width")) for i in range(5)]
        assert widths[0] > 0 and widths[3] > 0  # 非常满意 and 不满意
        assert page.locator("#chart-topics svg rect.bar").count() == len(week.top_topics()) > 0
        box = page.locator("#chart-volume svg").bounding_box()
        assert box and box["width"] > 500 and box["height"] > 150
        ratings_table = page.inner_text("#table-ratings")
        assert re.search(r"不满意\s+" + str(week.ratings.counts[2]), ratings_table)
        assert page.locator("#unanswered-link").get_attribute("href") == "/console/faq/unanswered?days=7"
        page.screenshot(path=str(bot.log_dir / "console-stats-desk.png"), full_page=True)

        # the export holds the figures of the page
        with page.expect_download() as download_info:
            page.click("#export")
        path = tmp_path / "stats.xlsx"
        download_info.value.save_as(str(path))
        sheets = stats.xlsx_tables(path.read_bytes())
        tables = week.tables()
        assert list(sheets) == [t.title for t in tables]
        overview = {row[0]: row[1] for row in sheets["概览"][1:]}
        assert overview["会话数"] == week.conversations.conversations
        assert overview["用户消息数"] == week.conversations.user_messages
        assert sheets["满意度评价（好差评）"][4] == ["不满意", week.ratings.counts[2]]
        volume = sheets["会话量与消息量"]
        assert len(volume) == 8 and sum(r[1] for r in volume[1:]) == week.conversations.conversations

        # WeChat only, at phone width: the figures of that channel, nothing wider than the phone
        page.set_viewport_size(PHONE)
        page.select_option("#channel", "wechat")
        page.click("form.filters button[type=submit]")
        page.wait_for_url("**channel=wechat**")
        wechat = expected(bot, "week", "wechat")
        assert page.inner_text("#kpi-conversations") == str(wechat.conversations.conversations) != "0"
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone_box = page.locator("#chart-volume svg").bounding_box()
        assert phone_box and 250 < phone_box["width"] <= PHONE["width"] and phone_box["height"] > 60
        page.screenshot(path=str(bot.log_dir / "console-stats-phone.png"), full_page=True)

        # the rating is shown on the ticket, and the follow-up item waits in the console; staff close it
        page.goto(f"{bot.web_url}/console/tickets/{ticket_id}")
        assert "不满意：等了两天才有人回复我" in page.inner_text("#ticket-rating")
        page.goto(f"{bot.web_url}/console/followups")
        item = page.locator("section.followup", has_text="等了两天才有人回复我")
        assert item.count() == 1 and "不满意" in item.inner_text()
        item.locator("select[name=kind]").select_option("rectify")
        item.locator("textarea[name=note]").fill("已电话回访，已调整回复时限")
        item.locator("button[value=close]").click()
        page.wait_for_url("**view=closed**")
        done = page.locator("section.followup", has_text="等了两天才有人回复我")
        assert "整改" in done.inner_text() and "已完成" in done.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
