"""The staff console and the poll endpoint in-process (Starlette's test client over a temporary database).

The same behaviour over real HTTP against the running servers is in tests/e2e/test_handoff.py.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from starlette.testclient import TestClient

from core.accounts import MAX_FAILURES_PER_ACCOUNT_AND_IP, SESSION_IDLE
from core.accounts.models import AuditEntry, ConsoleSession, Officer
from core.db import session_scope
from core.handoff.repository import ticket_repository
from tests.unit.test_handoff_repository import make_officer, open_ticket
from webapp.app import create_app

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(html: str) -> str:
    return _CSRF.search(html).group(1)


@pytest.fixture()
def client(database) -> TestClient:
    with TestClient(create_app(), base_url="http://console.test") as test_client:
        yield test_client


def login(client: TestClient, username: str, password: str, expect: int = 303):
    page = client.get("/console/login")
    response = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == expect, response.text[:300]
    return response


def officer_client(database, username: str, role: str = "officer") -> TestClient:
    make_officer(username, role)
    test_client = TestClient(create_app(), base_url="http://console.test")
    login(test_client, username, f"{username}-password-123")
    return test_client


def test_pages_need_a_signed_in_officer(client):
    for path in ("/console/queue", "/console/tickets/1", "/console/audit", "/console/settings"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/console/login"
    assert client.get("/console/tickets/1/updates").status_code == 401


def test_sign_in_sets_a_strict_http_only_cookie_and_security_headers(database):
    client = officer_client(database, "wang")
    cookie = client.cookies.jar
    assert any(c.name == "hz_console" and c.path == "/console" for c in cookie)
    response = client.get("/console/queue")
    assert response.status_code == 200 and "工单队列" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY" and response.headers["cache-control"] == "no-store"
    page = TestClient(create_app(), base_url="http://console.test").get("/console/login")
    set_cookie = page.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie and "path=/console" in set_cookie


def test_posts_without_the_csrf_token_or_from_another_site_are_refused(database):
    client = officer_client(database, "wang")
    ticket_id, _number, _token = open_ticket()
    assert client.post(f"/console/tickets/{ticket_id}/claim", data={}, follow_redirects=False).status_code == 403
    token = csrf(client.get(f"/console/tickets/{ticket_id}").text)
    other_site = {"origin": "https://evil.example"}
    response = client.post(
        f"/console/tickets/{ticket_id}/claim", data={"csrf_token": token}, headers=other_site, follow_redirects=False
    )
    assert response.status_code == 403
    fresh = TestClient(create_app(), base_url="http://console.test")
    response = fresh.post(
        "/console/login", data={"username": "wang", "password": "wang-password-123", "csrf_token": "x"}
    )
    assert response.status_code == 403  # sign-in form without its cookie
    response = client.post(f"/console/tickets/{ticket_id}/claim", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].endswith("m=claimed")


def test_sign_in_attempts_are_limited_per_account_and_address(database):
    make_officer("li")
    client = TestClient(create_app(), base_url="http://console.test")
    for _ in range(MAX_FAILURES_PER_ACCOUNT_AND_IP):
        response = login(client, "li", "wrong-password-123", expect=401)
        assert "用户名或密码错误" in response.text
    response = login(client, "li", "li-password-123", expect=429)  # even the right password, for now
    assert "15 分钟" in response.text
    login(client, "LI", "li-password-123", expect=429)  # the same account, however it is spelt
    make_officer("zhao")
    login(client, "zhao", "zhao-password-123")  # another account from the same address still works
    with session_scope() as session:
        actions = [entry.action for entry in session.query(AuditEntry)]
    assert actions.count("login_failed") == MAX_FAILURES_PER_ACCOUNT_AND_IP and "login_throttled" in actions


def test_unknown_accounts_fail_like_wrong_passwords(client):
    response = login(client, "nobody", "whatever-password", expect=401)
    assert "用户名或密码错误" in response.text


@pytest.mark.parametrize(
    "field, age", [("last_seen_at", SESSION_IDLE + timedelta(minutes=1)), ("expires_at", timedelta(0))]
)
def test_sessions_expire(database, field, age):
    client = officer_client(database, "sun")
    assert client.get("/console/queue").status_code == 200
    with session_scope() as session:
        row = session.query(ConsoleSession).one()
        if field == "last_seen_at":
            row.last_seen_at = datetime.utcnow() - age
        else:
            row.expires_at = datetime.utcnow() - timedelta(seconds=1)
    response = client.get("/console/queue", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/login?m=expired"
    assert "登录已过期" in client.get("/console/login?m=expired").text


def test_sign_out_ends_the_session_on_the_server(database):
    client = officer_client(database, "zhou")
    page = client.get("/console/queue")
    cookie = client.cookies.get("hz_console")
    assert (
        client.post("/console/logout", data={"csrf_token": csrf(page.text)}, follow_redirects=False).status_code == 303
    )
    replay = TestClient(create_app(), base_url="http://console.test")
    replay.cookies.set("hz_console", cookie, domain="console.test", path="/console")
    assert replay.get("/console/queue", follow_redirects=False).status_code == 303  # a copied cookie is dead too


def test_user_content_is_escaped(database):
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    ticket_id, _number, _token = open_ticket(summary=script, contact_name="<b>陈</b>")
    with ticket_repository() as tickets:
        tickets.add_user_message(tickets.ticket(ticket_id), script)
    client = officer_client(database, "wang")
    for path in ("/console/queue", f"/console/tickets/{ticket_id}"):
        html = client.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>陈</b>" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    updates = client.get(f"/console/tickets/{ticket_id}/updates?after=0").json()
    assert updates["messages"][-1]["text"] == script  # JSON for the page's script, which inserts it as text


def test_claim_reply_resolve_and_the_poll_endpoint(database):
    ticket_id, number, token = open_ticket()
    client = officer_client(database, "wang")
    page = client.get(f"/console/tickets/{ticket_id}")
    assert "认领这张工单" in page.text and "发送回复" not in page.text
    form = {"csrf_token": csrf(page.text)}
    client.post(f"/console/tickets/{ticket_id}/claim", data=form)
    response = client.post(
        f"/console/tickets/{ticket_id}/reply", data={**form, "text": "请带身份证原件"}, follow_redirects=False
    )
    assert response.headers["location"].endswith("m=replied")
    client.post(f"/console/tickets/{ticket_id}/notes", data={**form, "text": "用户情况特殊，已请示科长"})
    api = TestClient(create_app())
    assert api.get("/api/handoff/messages", headers={"X-Handoff-Token": "not-a-token"}).status_code == 404
    answer = api.get("/api/handoff/messages", headers={"X-Handoff-Token": token}).json()
    assert answer["ticket"] == number and answer["status"] == "assigned"
    # "服务官wang" is a title and an account name, not a person's name: users see only 「CBSO首席商事服务官」
    assert [(m["author"], m["text"], m.get("officer")) for m in answer["messages"]] == [
        ("officer", "请带身份证原件", None)
    ]
    assert api.get(f"/api/handoff/messages?token={token}").json()["messages"] == []  # each message once
    client.post(f"/console/tickets/{ticket_id}/resolve", data=form)
    answer = api.get("/api/handoff/messages", headers={"X-Handoff-Token": token}).json()
    assert answer["status"] == "resolved" and answer["messages"][0]["author"] == "system"
    ticket_page = client.get(f"/console/tickets/{ticket_id}").text
    assert "用户情况特殊" in ticket_page and "已办结" in ticket_page
    assert "用户情况特殊" not in str(answer)  # notes are for staff only


def test_transfer_and_the_audit_log(database):
    ticket_id, _number, _token = open_ticket()
    wang = officer_client(database, "wang")
    make_officer("li")
    page = wang.get(f"/console/tickets/{ticket_id}")
    form = {"csrf_token": csrf(page.text)}
    wang.post(f"/console/tickets/{ticket_id}/claim", data=form)
    with session_scope() as session:
        li_id = session.query(Officer).filter_by(username="li").one().id
    response = wang.post(
        f"/console/tickets/{ticket_id}/transfer", data={**form, "officer_id": str(li_id)}, follow_redirects=False
    )
    assert response.headers["location"].endswith("m=transferred")
    response = wang.post(
        f"/console/tickets/{ticket_id}/reply", data={**form, "text": "我已转交"}, follow_redirects=False
    )
    assert response.headers["location"].endswith("m=not_allowed")  # no longer the owner
    assert wang.get("/console/audit").status_code == 403  # officers do not read the audit log
    admin = officer_client(database, "boss", "admin")
    log = admin.get("/console/audit").text
    for words in ("认领", "转交", "查看工单", "登录"):
        assert words in log


def test_administrators_manage_accounts_and_office_hours(database):
    admin = officer_client(database, "boss", "admin")
    form = {"csrf_token": csrf(admin.get("/console/officers").text)}
    response = admin.post(
        "/console/officers", data={**form, "username": "new", "display_name": "新同事", "password": "short"}
    )
    assert response.status_code == 400 and "至少 12 位" in response.text
    response = admin.post(
        "/console/officers",
        data={**form, "username": "new", "display_name": "新同事", "password": "a-long-password-1"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    login(TestClient(create_app(), base_url="http://console.test"), "new", "a-long-password-1")
    response = admin.post("/console/settings", data={**form, "office_hours": "whenever"})
    assert response.status_code == 400 and "无法识别" in response.text
    admin.post("/console/settings", data={**form, "office_hours": "mon-sat 08:30-17:30"})
    assert "周一至周六 8:30–17:30" in admin.get("/console/settings").text
    with ticket_repository() as tickets:
        assert tickets.office_hours_spec("default") == "mon-sat 08:30-17:30"


def test_changing_the_password_signs_out_everywhere(database):
    client = officer_client(database, "qian")
    form = {"csrf_token": csrf(client.get("/console/password").text)}
    data = {**form, "current": "qian-password-123", "new": "another-password-456", "again": "another-password-456"}
    response = client.post("/console/password", data=data, follow_redirects=False)
    assert response.headers["location"] == "/console/login?m=password_changed"
    login(TestClient(create_app(), base_url="http://console.test"), "qian", "qian-password-123", expect=401)
    login(TestClient(create_app(), base_url="http://console.test"), "qian", "another-password-456")


def test_the_first_administrator_from_the_settings(database, monkeypatch, capsys):
    from core.accounts import account_repository, seed_admin
    from core.settings import get_settings

    # the database fixture already ran the seeders (a random password is printed once when CONSOLE_ADMIN_* is unset)
    with account_repository() as accounts:
        admin = accounts.by_username(get_settings().console_admin_user or "admin")
        assert admin is not None and admin.role == "admin"
    assert seed_admin() == {"admin": "exists"}
    assert "shown only this once" not in capsys.readouterr().out
    monkeypatch.setenv("CONSOLE_ADMIN_USER", "chief")
    monkeypatch.setenv("CONSOLE_ADMIN_PASSWORD", "changeme")
    get_settings.cache_clear()
    with pytest.raises(SystemExit):
        seed_admin()  # a placeholder password is refused
    monkeypatch.setenv("CONSOLE_ADMIN_PASSWORD", "chief-password-2026")
    get_settings.cache_clear()
    assert "created" in seed_admin()["admin"]
    get_settings.cache_clear()
    login(TestClient(create_app(), base_url="http://console.test"), "chief", "chief-password-2026")


def test_editors_see_no_tickets(database):
    """Knowledge editors (actions/curation) share the console but not the tickets."""
    make_officer("editor1", "editor")
    client = TestClient(create_app(), base_url="http://console.test")
    assert login(client, "editor1", "editor1-password-123").headers["location"] == "/console/faq"
    ticket_id, _number, _token = open_ticket()
    for path in ("/console/queue", f"/console/tickets/{ticket_id}"):
        assert client.get(path, follow_redirects=False).status_code == 403
    assert client.get("/console/password").status_code == 200


def test_poll_tokens_are_redacted_from_the_access_log():
    import logging

    from webapp.console.security import RedactTokens

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/handoff/messages?token=AbCdEf0123456789_-xyz&after=3", "1.1", 200),
        None,
    )
    assert RedactTokens().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /api/handoff/messages?token=***&after=3 HTTP/1.1" 200'


def test_a_ticket_the_user_left_stays_in_the_queue_marked(database):
    ticket_id, number, _token = open_ticket()
    with ticket_repository() as tickets:
        tickets.leave(tickets.ticket(ticket_id))
    client = officer_client(database, "wang")
    queue = client.get("/console/queue").text
    assert number in queue and "用户已返回机器人" in queue
    page = client.get(f"/console/tickets/{ticket_id}").text
    assert 'id="user-left-note"' in page and "工单仍需处理" in page and "认领这张工单" in page
    assert "记录（用户看不到）" in page  # the line in the transcript
    assert client.get(f"/console/tickets/{ticket_id}/updates?after=0").json()["user_left"] is True
    cancelled_id, cancelled, _token = open_ticket(sender="user-2")
    with ticket_repository() as tickets:
        tickets.cancel_by_user(tickets.ticket(cancelled_id))
    assert cancelled not in client.get("/console/queue").text
    assert cancelled in client.get("/console/queue?view=closed").text
    assert "用户已取消" in client.get(f"/console/tickets/{cancelled_id}").text


def test_the_transcript_shows_button_clicks_not_payloads(database):
    ticket_id, _number, _token = open_ticket()
    with ticket_repository() as tickets:
        ticket = tickets.ticket(ticket_id)
        for text in ("/greet", "/request_human", '/startup_process{"entity_type": "有限责任公司"}', "普通的问题"):
            tickets.add_user_message(ticket, text)  # as tickets made before button labels stored them
    client = officer_client(database, "wang")
    page = client.get(f"/console/tickets/{ticket_id}").text
    transcript = page.split('id="transcript"', 1)[1].split("</ol>", 1)[0]
    assert "/greet" not in transcript and "/request_human" not in transcript and "/startup_process" not in transcript
    assert "（点击了按钮：转人工" in transcript and "（点击了按钮：" in transcript and "普通的问题" in transcript
    updates = client.get(f"/console/tickets/{ticket_id}/updates?after=0").json()["messages"]
    assert not any(m["text"].startswith("/") for m in updates)


def test_users_see_a_neutral_signature(database):
    from core.handoff.delivery import officer_message_text, public_officer_name

    ticket_id, _number, token = open_ticket()
    with session_scope() as session:
        admin = session.query(Officer).filter_by(username="admin").one()  # 系统管理员, seeded by `make db`
        assert public_officer_name(admin) == ""
        person = Officer(username="lim", display_name="李敏", password_hash="x", role="officer")
        assert public_officer_name(person) == "李敏"
        assert public_officer_name(Officer(username="zhang", display_name="zhang", password_hash="x")) == ""
    with ticket_repository() as tickets:
        admin = tickets.session.query(Officer).filter_by(username="admin").one()
        tickets.claim(ticket_id, admin)
        message = tickets.reply(tickets.ticket(ticket_id), admin, "您好")
        assert officer_message_text(message) == "👤 CBSO首席商事服务官：您好"
    answer = TestClient(create_app()).get("/api/handoff/messages", headers={"X-Handoff-Token": token}).json()
    assert answer["messages"][0]["text"] == "您好" and "officer" not in answer["messages"][0]
    make_officer("lim")
    with session_scope() as session:
        session.query(Officer).filter_by(username="lim").one().display_name = "李敏"
    client = officer_client(database, "zhao")
    mine, _n, _t = open_ticket(sender="user-4")
    client.post(f"/console/tickets/{mine}/claim", data={"csrf_token": csrf(client.get(f"/console/tickets/{mine}").text)})
    assert "署名「CBSO首席商事服务官」" in client.get(f"/console/tickets/{mine}").text  # what the user will see
    with ticket_repository() as tickets:
        lim = tickets.session.query(Officer).filter_by(username="lim").one()
        other_id, _n, _t = open_ticket(sender="user-3")
        tickets.claim(other_id, lim)
        assert officer_message_text(tickets.reply(tickets.ticket(other_id), lim, "好的")) == "👤 CBSO首席商事服务官 李敏：好的"


def test_the_audit_log_has_labels_for_the_phone_layout(database):
    admin = officer_client(database, "boss", "admin")
    page = admin.get("/console/audit").text
    for label in ("时间", "账号", "操作"):
        assert f'data-label="{label}"' in page
    css = admin.get("/console/static/console.css").text
    assert "table.audit td::before" in css and "content: attr(data-label)" in css


def test_reset_password_on_the_command_line(database, capsys):
    from scripts.accounts import main

    client = officer_client(database, "qian")
    assert client.get("/console/queue").status_code == 200
    assert main(["reset-password", "qian"]) == 0
    out = capsys.readouterr().out
    password = re.search(r"shown only this once\): (\S+)", out).group(1)
    assert len(password) >= 12
    assert client.get("/console/queue", follow_redirects=False).status_code == 303  # signed out everywhere
    login(TestClient(create_app(), base_url="http://console.test"), "qian", "qian-password-123", expect=401)
    login(TestClient(create_app(), base_url="http://console.test"), "qian", password)
    with session_scope() as session:
        entry = session.query(AuditEntry).filter_by(action="reset_password").one()
        assert entry.username.startswith("cli:") and "qian" in entry.detail and password not in entry.detail
    assert main(["reset-password"]) == 0  # no name: the console administrator
    assert "console account: admin" in capsys.readouterr().out
    assert main(["reset-password", "nobody"]) == 1
    assert "no console account named 'nobody'" in capsys.readouterr().err
