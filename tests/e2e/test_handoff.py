"""The hand-off over HTTP against the running servers (tests/e2e/conftest.py: Rasa, actions, web app, temp DB).

bot → form → ticket → officer reply in the console → the user receives it → resolve → rating; 结束人工 keeps the
ticket open and later replies still reach the user, 取消人工 before a reply withdraws it; giving up in the form; two
officers claiming at once; HTML in messages; login throttling; an expired session; a hand-off outside office hours.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import uuid
from datetime import datetime
from typing import Any, Dict, List, Tuple

import httpx
import pytest

from core.handoff.office_hours import OfficeHours, format_moment

ADMIN = ("admin", "e2e-admin-password-123")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_NUMBER = re.compile(r"HZ\d{6}-\d{4,}")


def new_sender() -> str:
    return f"e2e-handoff-{uuid.uuid4().hex[:12]}"


def texts(messages: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages if m.get("text"))


def custom(messages: List[Dict[str, Any]]) -> Dict[str, Any]:
    return next((m["custom"] for m in messages if m.get("custom")), {})


def database_path(bot) -> str:
    return bot.env["DATABASE_URL"].split("///", 1)[1]


class Console:
    """An officer's browser session on the console, over real HTTP."""

    def __init__(self, bot, username: str, password: str) -> None:
        self.client = httpx.Client(base_url=bot.web_url, follow_redirects=False, timeout=30)
        self.username, self.password = username, password

    def login(self, password: str | None = None) -> httpx.Response:
        page = self.client.get("/console/login")
        return self.client.post(
            "/console/login",
            data={"username": self.username, "password": password or self.password, "csrf_token": csrf(page.text)},
        )

    def signed_in(self) -> Console:
        response = self.login()
        assert response.status_code == 303 and response.headers["location"] == "/console/queue", response.text[:300]
        return self

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def post(self, path: str, page: str, **data: str) -> httpx.Response:
        """POST a form of ``page`` (a console path) with that page's CSRF token."""
        token = csrf(self.client.get(page).text)
        return self.client.post(path, data={"csrf_token": token, **data})

    def ticket_id(self, number: str) -> int:
        queue = self.get("/console/queue").text
        match = re.search(r'href="/console/tickets/(\d+)">\s*<span class="number">' + re.escape(number), queue)
        assert match, f"{number} is not in the queue"
        return int(match.group(1))

    def close(self) -> None:
        self.client.close()


def csrf(html: str) -> str:
    return _CSRF.search(html).group(1)


def ask_for_a_person(bot, sender: str, trigger: str = "转人工", summary: str = "确认") -> Tuple[str, str, str]:
    """Go through the contact form; returns (ticket number, poll token, what the bot said at the end)."""
    said = texts(bot.say(sender, trigger))
    if "1/5" in said:  # a complaint ("我要投诉") has its topic already
        said = texts(bot.say(sender, "开办企业"))
    assert "2/5" in said, said
    assert "3/5" in texts(bot.say(sender, summary))
    assert "4/5" in texts(bot.say(sender, "陈先生"))
    assert "号码好像不对" in texts(bot.say(sender, "12345"))  # validated: mainland 11 digits or +852/+853
    assert "5/5" in texts(bot.say(sender, "138 1234 5678"))
    messages = bot.say(sender, "同意")
    said = texts(messages)
    number = _NUMBER.search(said)
    assert number, said
    token = custom(messages).get("handoff", {}).get("poll_token")
    assert token and custom(messages)["handoff"]["ticket"] == number.group(0)
    return number.group(0), token, said


@pytest.fixture()
def admin(running_bot):
    console = Console(running_bot, *ADMIN).signed_in()
    yield console
    console.close()


def create_officer(admin: Console, username: str) -> Tuple[str, str]:
    password = f"{username}-Pass-2026"
    response = admin.post(
        "/console/officers",
        "/console/officers",
        username=username,
        display_name=f"服务官{username[-4:]}",
        password=password,
    )
    assert response.status_code == 303, response.text[:300]
    return username, password


def test_the_whole_path(running_bot, admin):
    bot, sender = running_bot, new_sender()
    bot.say(sender, "/greet")  # as the web chat does on its own
    assert texts(bot.say(sender, "/startup_process"))  # a button of the welcome menu
    answer = texts(bot.say(sender, "个体户转公司要准备什么材料"))
    assert answer
    number, token, said = ask_for_a_person(bot, sender)
    assert "138****5678" in said and "结束人工" in said  # what happens next, and the way back
    assert ("30分钟" in said) or ("非工作时间" in said and "起处理" in said)  # when to expect an answer

    # while the ticket is open the bot relays instead of answering
    said = texts(bot.say(sender, "我是做餐饮的个体户，想转成一人有限公司"))
    assert said == f"（已转给服务官，工单 {number}，请稍候。）"
    assert texts(bot.say(sender, "开公司要多久")) == ""

    # the officer sees the ticket in the queue, with the transcript, claims it and replies
    ticket_id = admin.ticket_id(number)
    page = admin.get(f"/console/tickets/{ticket_id}").text
    assert "个体户转公司要准备什么材料" in page and "我是做餐饮的个体户" in page and "开公司要多久" in page
    transcript = page.split('id="transcript"', 1)[1].split("</ol>", 1)[0]
    assert "（点击了按钮：" in transcript  # the button click as the user saw it …
    assert "/startup_process" not in transcript and "/greet" not in transcript  # … not the payloads
    assert (
        admin.post(f"/console/tickets/{ticket_id}/claim", f"/console/tickets/{ticket_id}")
        .headers["location"]
        .endswith("m=claimed")
    )
    response = admin.post(
        f"/console/tickets/{ticket_id}/reply",
        f"/console/tickets/{ticket_id}",
        text="您好，需要先办理个体户注销，字号可以保留。",
    )
    assert response.status_code == 303

    # the user gets it with their next message on the REST channel …
    said = texts(bot.say(sender, "好的"))
    assert "👤 CBSO首席商事服务官：您好，需要先办理个体户注销，字号可以保留。" in said  # not 「系统管理员」
    # … and a web page gets the next one from the poll endpoint, once
    admin.post(f"/console/tickets/{ticket_id}/reply", f"/console/tickets/{ticket_id}", text="材料清单稍后发您。")
    poll = httpx.get(f"{bot.web_url}/api/handoff/messages", headers={"X-Handoff-Token": token}).json()
    assert poll["status"] == "assigned" and [m["text"] for m in poll["messages"]] == ["材料清单稍后发您。"]
    assert "officer" not in poll["messages"][0]  # the web chat shows 「CBSO服务官」 without 系统管理员
    assert httpx.get(f"{bot.web_url}/api/handoff/messages", params={"token": token}).json()["messages"] == []
    assert httpx.get(f"{bot.web_url}/api/handoff/messages", headers={"X-Handoff-Token": "x" * 32}).status_code == 404

    said = texts(bot.say(sender, "我的工单怎么样了"))
    assert number in said and "服务官处理中" in said

    # resolving brings the user back to the bot, who asks for a rating
    admin.post(f"/console/tickets/{ticket_id}/resolve", f"/console/tickets/{ticket_id}")
    messages = bot.say(sender, "谢谢")
    said = texts(messages)
    assert f"服务官已办结您的工单 {number}" in said and "好差评" in said
    buttons = [b for m in messages for b in m.get("buttons", [])]
    assert [b["title"] for b in buttons] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    said = texts(bot.say(sender, buttons[0]["payload"]))
    assert "感谢您的评价（非常满意）" in said
    page = admin.get(f"/console/tickets/{ticket_id}").text
    assert "已办结" in page and "非常满意" in page

    # back with the bot: questions are answered again, and no longer go to the ticket
    said = texts(bot.say(sender, "开公司要多久"))
    assert said and "已转给服务官" not in said
    assert page.count("开公司要多久") == admin.get(f"/console/tickets/{ticket_id}").text.count("开公司要多久")


def test_the_answer_did_not_help_and_the_user_goes_back_to_the_bot(running_bot):
    bot, sender = running_bot, new_sender()
    bot.say(sender, "开公司要多久")
    said = texts(bot.say(sender, "没用，答非所问"))
    assert "抱歉没能帮上忙" in said and "1/5" in said
    said = texts(bot.say(sender, "取消人工"))
    assert "已取消转人工" in said
    assert "0.5" in texts(bot.say(sender, "开公司要多久"))


def test_ending_the_handoff_keeps_the_ticket_open_and_replies_still_arrive(running_bot, admin):
    bot, sender = running_bot, new_sender()
    number, token, _said = ask_for_a_person(bot, sender, trigger="找服务官", summary="住所申报用自己家可以吗")
    said = texts(bot.say(sender, "结束人工"))
    assert f"工单 {number} 仍然保留" in said and "已关闭" not in said

    # the officers still have it in the open queue, marked, and it can be claimed and answered
    ticket_id = admin.ticket_id(number)
    assert "用户已返回机器人" in admin.get("/console/queue").text
    page = admin.get(f"/console/tickets/{ticket_id}").text
    assert 'id="user-left-note"' in page and "住所申报用自己家可以吗" in page and "认领这张工单" in page
    page_url = f"/console/tickets/{ticket_id}"
    assert admin.post(f"{page_url}/claim", page_url).headers["location"].endswith("m=claimed")
    admin.post(f"{page_url}/reply", page_url, text="自有住宅可以申报住所，需要业主同意。")

    # the user, back with the bot, gets the bot's answer and then the officer's reply
    said = texts(bot.say(sender, "开公司要多久"))
    assert "0.5" in said and "👤 CBSO首席商事服务官：自有住宅可以申报住所，需要业主同意。" in said
    assert said.index("0.5") < said.index("👤") and "回复「转人工」" in said
    assert "👤" not in texts(bot.say(sender, "开公司要多久"))  # once
    # the web page's poll still works for the open ticket (the next reply, once)
    admin.post(f"{page_url}/reply", page_url, text="材料清单稍后发您。")
    poll = httpx.get(f"{bot.web_url}/api/handoff/messages", headers={"X-Handoff-Token": token}).json()
    assert poll["status"] == "assigned" and [m["text"] for m in poll["messages"]] == ["材料清单稍后发您。"]

    # 取消人工 no longer withdraws an answered ticket; 转人工 brings the user back to it
    said = texts(bot.say(sender, "取消人工"))
    assert "不能撤回" in said
    said = texts(bot.say(sender, "转人工"))
    assert f"您已有工单 {number}" in said and "1/5" not in said
    assert "已转给服务官" in texts(bot.say(sender, "我家是商品房"))  # relayed to the officer again
    assert "我家是商品房" in admin.get(page_url).text
    assert "用户回到了人工对话" in admin.get(page_url).text


def test_cancelling_before_any_reply_withdraws_the_ticket(running_bot, admin):
    bot, sender = running_bot, new_sender()
    number, _token, _said = ask_for_a_person(bot, sender, trigger="找服务官", summary="住所申报用自己家可以吗")
    said = texts(bot.say(sender, "取消人工"))
    assert f"工单 {number} 已撤回" in said
    assert number not in admin.get("/console/queue").text
    page = admin.get(f"/console/tickets/{admin_ticket(admin, number)}").text
    assert "用户已取消" in page and "住所申报用自己家可以吗" in page
    assert "0.5" in texts(bot.say(sender, "开公司要多久"))


@pytest.mark.parametrize(
    "answers, last",
    [
        (["唉算啦"], "已取消转人工"),  # at the topic
        (["开办企业", "不用了"], "已取消转人工"),  # at the summary
        (["开办企业", "开公司要多久", "唔使喇"], "已取消转人工"),  # at the name
        (["开办企业", "开公司要多久", "陈先生", "13812345678", "不同意"], "不创建工单"),  # consent refused
    ],
)
def test_giving_up_in_the_form_returns_to_the_bot(running_bot, admin, answers, last):
    bot, sender = running_bot, new_sender()
    assert "1/5" in texts(bot.say(sender, "转人工"))
    for answer in answers[:-1]:
        bot.say(sender, answer)
    said = texts(bot.say(sender, answers[-1]))
    assert last in said and "/5" not in said  # no next question, no consent asked again
    said = texts(bot.say(sender, "开公司要多久"))
    assert "0.5" in said and "同意" not in said  # the bot answers again
    assert "您还没有工单" in texts(bot.say(sender, "我的工单怎么样了"))


def test_consent_given_while_the_database_is_locked_is_not_dropped(running_bot):
    """The ticket database is locked (another writer) when the user agrees: the bot says the ticket was not saved
    and keeps the form; 「同意」 again after the lock is gone opens exactly one ticket."""
    bot, sender = running_bot, new_sender()
    assert "2/5" in texts(bot.say(sender, "转人工")) or "2/5" in texts(bot.say(sender, "开办企业"))
    assert "3/5" in texts(bot.say(sender, "公司名称怎么核准"))
    assert "4/5" in texts(bot.say(sender, "陈先生"))
    assert "5/5" in texts(bot.say(sender, "13812345678"))
    locker = sqlite3.connect(database_path(bot), timeout=1, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        said = texts(bot.say(sender, "同意"))
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert "没有提交成功" in said and "同意" in said, said
    said = texts(bot.say(sender, "同意"))
    number = _NUMBER.search(said)
    assert number, said
    with sqlite3.connect(database_path(bot)) as connection:
        rows = connection.execute("SELECT number FROM handoff_tickets WHERE sender_id = ?", (sender,)).fetchall()
    assert rows == [(number.group(0),)]


def test_abuse_is_not_a_topic(running_bot):
    bot, sender = running_bot, new_sender()
    bot.say(sender, "转人工")
    said = texts(bot.say(sender, "点解你咁蠢"))
    assert "请点选下面的业务类别" in said and "1/5" in said  # asked again
    assert "2/5" in texts(bot.say(sender, "开办企业"))


def admin_ticket(admin: Console, number: str) -> int:
    closed = admin.get("/console/queue?view=closed").text
    match = re.search(r'href="/console/tickets/(\d+)">\s*<span class="number">' + re.escape(number), closed)
    assert match
    return int(match.group(1))


def claim_at_once(officers: List[Console], page: str, tokens: List[str]) -> List[str]:
    """Both officers press 认领 at the same moment; returns where each was sent (…?m=claimed / m=claim_lost)."""
    barrier = threading.Barrier(len(officers))
    outcomes = [""] * len(officers)

    def claim(i: int) -> None:
        barrier.wait()
        response = officers[i].client.post(f"{page}/claim", data={"csrf_token": tokens[i]})
        outcomes[i] = response.headers.get("location", str(response.status_code))

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(officers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_two_officers_claiming_at_once_exactly_one_wins(running_bot, admin):
    officers = [
        Console(running_bot, *create_officer(admin, f"claim{uuid.uuid4().hex[:6]}")).signed_in() for _ in range(2)
    ]
    try:
        for _round in range(3):
            number, _token, _said = ask_for_a_person(running_bot, new_sender())
            ticket_id = admin.ticket_id(number)
            page = f"/console/tickets/{ticket_id}"
            outcomes = claim_at_once(officers, page, [csrf(o.get(page).text) for o in officers])
            assert sorted(o.rsplit("m=", 1)[-1] for o in outcomes) == ["claim_lost", "claimed"], outcomes
            winner = officers[[o.endswith("m=claimed") for o in outcomes].index(True)]
            loser = officers[[o.endswith("m=claim_lost") for o in outcomes].index(True)]
            assert "发送回复" in winner.get(page).text and "发送回复" not in loser.get(page).text
            response = loser.post(f"{page}/reply", page, text="我也来回复")
            assert response.headers["location"].endswith("m=not_allowed")
            log = admin.get("/console/audit").text
            assert log.count(number) >= 1
    finally:
        for o in officers:
            o.close()


def test_html_and_script_in_messages_are_shown_as_text(running_bot, admin):
    bot, sender = running_bot, new_sender()
    script = "<script>alert('hz')</script><img src=x onerror=alert(2)>"
    bot.say(sender, "转人工")
    bot.say(sender, "其他业务")
    bot.say(sender, script)  # the summary
    bot.say(sender, "<b>陈</b>")
    bot.say(sender, "13812345678")
    number = _NUMBER.search(texts(bot.say(sender, "同意"))).group(0)
    bot.say(sender, "<a href='javascript:alert(3)'>点我</a>")
    ticket_id = admin.ticket_id(number)
    for path in ("/console/queue", f"/console/tickets/{ticket_id}"):
        response = admin.get(path)
        html = response.text
        assert "<script>alert" not in html and "<img src=x" not in html and "<a href='javascript" not in html
        assert "<b>陈</b>" not in html
        assert "script-src 'self'" in response.headers["content-security-policy"]
    page = admin.get(f"/console/tickets/{ticket_id}").text
    assert "&lt;script&gt;alert(&#39;hz&#39;)&lt;/script&gt;" in page and "&lt;b&gt;陈&lt;/b&gt;" in page


def test_login_attempts_are_limited(running_bot, admin):
    username, password = create_officer(admin, f"throttle{uuid.uuid4().hex[:6]}")
    console = Console(running_bot, username, password)
    try:
        for _ in range(5):
            assert console.login("wrong-password-0000").status_code == 401
        response = console.login()  # the right password, but too many failures just now
        assert response.status_code == 429 and "15 分钟" in response.text
        assert "登录被限制" in admin.get("/console/audit").text
    finally:
        console.close()


def test_an_expired_session_must_sign_in_again(running_bot, admin):
    username, password = create_officer(admin, f"idle{uuid.uuid4().hex[:6]}")
    console = Console(running_bot, username, password).signed_in()
    try:
        assert console.get("/console/queue").status_code == 200
        with sqlite3.connect(database_path(running_bot)) as connection:  # 31 minutes without a request
            connection.execute(
                "UPDATE console_sessions SET last_seen_at = datetime('now', '-31 minutes') WHERE officer_id = "
                "(SELECT id FROM console_officers WHERE username = ?)",
                (username,),
            )
        response = console.get("/console/queue")
        assert response.status_code == 303 and response.headers["location"] == "/console/login?m=expired"
        assert console.get("/console/tickets/1").headers["location"] == "/console/login"  # the cookie is cleared
    finally:
        console.close()


def test_a_handoff_outside_office_hours(running_bot, admin):
    china_now = datetime.now(OfficeHours.from_spec("mon 09:00-10:00").tz)
    day = "tue" if china_now.weekday() == 0 else "mon"
    spec = f"{day} 09:00-10:00"  # closed right now, whatever the time of the test run
    response = admin.post("/console/settings", "/console/settings", office_hours=spec)
    assert response.status_code == 303
    try:
        bot, sender = running_bot, new_sender()
        number, _token, said = ask_for_a_person(bot, sender, trigger="我要投诉", summary="窗口排队太久")
        pickup = format_moment(OfficeHours.from_spec(spec).next_opening(datetime.utcnow()))
        assert "非工作时间" in said and f"服务官将于 {pickup} 起处理" in said, said
        said = texts(bot.say(sender, "我的工单怎么样了"))
        assert number in said and f"预计 {pickup} 起处理" in said
        page = admin.get(f"/console/tickets/{admin.ticket_id(number)}").text
        assert "投诉与建议" in page and "窗口排队太久" in page
    finally:
        admin.post("/console/settings", "/console/settings", action="reset")
    assert "恢复默认" not in admin.get("/console/settings").text


def test_logs_mask_phone_numbers_and_poll_tokens(running_bot):
    """Runs after the tests above: their tickets were logged by the action server, their polls by the web app."""
    logs = "".join(p.read_text(errors="replace") for p in running_bot.log_dir.glob("*.log"))
    assert "138****5678" in logs  # tickets are logged, with the number masked
    assert "13812345678" not in logs and "138 1234 5678" not in logs
    assert "/api/handoff/messages?token=***" in logs  # the web chat's query-string token is redacted
    assert not re.search(r"token=(?!\*\*\*)[A-Za-z0-9_-]{20,}", logs)
