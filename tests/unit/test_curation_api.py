"""The console's JSON API (/console/api/…) in-process: credentials, the operations, and bad input.

The same API against the running servers, with the bot answering, is in tests/e2e/test_curation_e2e.py.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

import core.knowledge.search as faq_search_module
from core.accounts import MAX_FAILURES_PER_ACCOUNT_AND_IP
from core.accounts.models import AuditEntry
from core.db import session_scope
from core.knowledge.models import KnowledgeEntry
from tests.utils.curation import basic, csrf, entry_data, make_account, sign_in
from webapp.app import create_app


@pytest.fixture()
def client(database, monkeypatch) -> TestClient:
    monkeypatch.setattr(faq_search_module, "REFRESH_SECONDS", 0.0)
    with TestClient(create_app(), base_url="http://console.test") as test_client:
        yield test_client


@pytest.fixture()
def admin(client):
    return basic("chief", make_account("chief", "admin"))


@pytest.fixture()
def editor(client):
    return basic("editor1", make_account("editor1", "editor"))


def entry_count() -> int:
    with session_scope() as session:
        return session.execute(select(func.count(KnowledgeEntry.id))).scalar()


def post(client, headers, **overrides):
    return client.post("/console/api/faq", json=entry_data(**overrides), headers=headers)


# ---- credentials ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic " + "bm90LWJhc2U2NA"},  # not base64 of user:password
        {"Authorization": "Basic !!!"},
        {"Authorization": "Bearer hzk_not-a-real-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Token abc"},
        {"Authorization": "Basic " + "x" * 2000},
    ],
)
def test_requests_without_valid_credentials_are_refused(client, admin, headers):
    before = entry_count()
    for method, path in (("get", "/console/api/faq"), ("post", "/console/api/faq"), ("put", "/console/api/faq/startup.free"),
                         ("delete", "/console/api/faq/startup.free"), ("get", "/console/api/preview?q=x")):
        response = getattr(client, method)(path, headers=headers) if method in ("get", "delete") else getattr(
            client, method)(path, json=entry_data(), headers=headers)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"] == "unauthorized" and response.json()["message"]
        assert response.headers["www-authenticate"].startswith("Basic")
    assert entry_count() == before


def test_a_wrong_password_is_refused_audited_and_throttled(client, admin):
    wrong = basic("chief", "not-the-password")
    for _ in range(MAX_FAILURES_PER_ACCOUNT_AND_IP):
        assert client.get("/console/api/faq", headers=wrong).status_code == 401
    response = client.get("/console/api/faq", headers=admin)  # even the right password, for a while
    assert response.status_code == 429 and "15 分钟" in response.json()["message"]
    with session_scope() as session:
        actions = session.execute(select(AuditEntry.action).where(AuditEntry.username == "chief")).scalars().all()
    assert actions.count("api_auth_failed") == MAX_FAILURES_PER_ACCOUNT_AND_IP and "login_throttled" in actions


def test_a_deactivated_account_cannot_use_the_api(client, admin):
    from core.accounts import account_repository

    with account_repository() as accounts:
        accounts.set_active(accounts.by_username("chief"), False)
    assert client.get("/console/api/faq", headers=admin).status_code == 401


def test_a_console_session_may_read_but_must_send_its_csrf_token_to_change(client, admin):
    sign_in(client, "chief", "chief-password-123")
    assert client.get("/console/api/faq?limit=1").status_code == 200
    before = entry_count()
    assert client.post("/console/api/faq", json=entry_data()).status_code == 403
    assert client.post("/console/api/faq", json=entry_data(), headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert entry_count() == before
    token = csrf(client.get("/console/faq").text)
    other_site = {"X-CSRF-Token": token, "Origin": "https://evil.example"}
    assert client.post("/console/api/faq", json=entry_data(), headers=other_site).status_code == 403
    assert client.post("/console/api/faq", json=entry_data(), headers={"X-CSRF-Token": token}).status_code == 201


def test_personal_tokens_work_until_revoked(client, admin):
    sign_in(client, "chief", "chief-password-123")
    page = client.get("/console/faq/tokens")
    created = client.post("/console/faq/tokens", data={"csrf_token": csrf(page.text), "name": "夜间同步"})
    token = created.text.split('id="new-token">')[1].split("<")[0]
    assert token.startswith("hzk_")
    bearer = {"Authorization": f"Bearer {token}"}
    api = TestClient(create_app(), base_url="http://console.test")
    assert api.get("/console/api/faq?limit=1", headers=bearer).status_code == 200
    assert api.post("/console/api/faq", json=entry_data(), headers=bearer).status_code == 201
    token_id = created.text.split('name="revoke" value="')[1].split('"')[0]
    client.post("/console/faq/tokens", data={"csrf_token": csrf(page.text), "revoke": token_id})
    assert api.get("/console/api/faq?limit=1", headers=bearer).status_code == 401


# ---- the operations -------------------------------------------------------------------------------------------------


def test_create_list_get_update_retire_and_roll_back(client, admin):
    created = post(client, admin)
    assert created.status_code == 201
    entry = created.json()
    entry_id = entry["id"]
    assert entry["version"] == 1 and entry["status"] == "published" and entry["updated_by"] == "chief"
    assert created.headers["location"] == f"/console/api/faq/{entry_id}"
    listed = client.get("/console/api/faq", params={"q": "母婴室"}, headers=admin).json()
    assert [e["id"] for e in listed["entries"]] == [entry_id] and listed["total"] == 1
    assert client.get(f"/console/api/faq/{entry_id}", headers=admin).json()["question"] == entry["question"]

    updated = client.put(f"/console/api/faq/{entry_id}", json={"answer": "有。母婴室在二楼东侧。", "version": 1},
                         headers=admin)
    assert updated.status_code == 200 and updated.json()["version"] == 2 and updated.json()["changed"] == ["答案"]
    preview = client.get("/console/api/preview", params={"q": "政务中心有母婴室吗"}, headers=admin).json()
    assert preview["matches"][0]["id"] == entry_id and preview["verdict"] == "answer_always"
    assert preview["matches"][0]["answer"] == "有。母婴室在二楼东侧。"

    retired = client.delete(f"/console/api/faq/{entry_id}", headers=admin)
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    preview = client.get("/console/api/preview", params={"q": "政务中心有母婴室吗"}, headers=admin).json()
    assert all(m["id"] != entry_id for m in preview["matches"])

    history = client.get(f"/console/api/faq/{entry_id}/history", headers=admin).json()["versions"]
    assert [(v["version"], v["action"]) for v in history] == [(3, "retire"), (2, "edit"), (1, "publish")]
    assert "+答案: 有。母婴室在二楼东侧。" in history[1]["diff"]
    rolled = client.post(f"/console/api/faq/{entry_id}/rollback", json={"to_version": 1, "version": 3}, headers=admin)
    assert rolled.status_code == 200 and rolled.json()["status"] == "published" and rolled.json()["version"] == 4
    assert rolled.json()["answer"] == entry["answer"]


def test_a_stale_version_is_refused_with_409_and_the_current_version(client, admin):
    entry_id = post(client, admin).json()["id"]
    assert client.put(f"/console/api/faq/{entry_id}", json={"answer": "第一位同事的修改内容。", "version": 1},
                      headers=admin).status_code == 200
    refused = client.put(f"/console/api/faq/{entry_id}", json={"answer": "第二位同事的修改内容。", "version": 1},
                         headers=admin)
    assert refused.status_code == 409
    body = refused.json()
    assert body["error"] == "version_conflict" and body["current_version"] == 2 and "没有保存" in body["message"]
    missing = client.put(f"/console/api/faq/{entry_id}", json={"answer": "没有版本号的修改内容。"}, headers=admin)
    assert missing.status_code == 400 and "version" in missing.json()["errors"]
    by_header = client.put(f"/console/api/faq/{entry_id}", json={"answer": "用 If-Match 带版本号的修改。"},
                           headers={**admin, "If-Match": '"2"'})
    assert by_header.status_code == 200 and by_header.json()["version"] == 3
    assert client.delete(f"/console/api/faq/{entry_id}?version=1", headers=admin).status_code == 409


def test_an_editor_cannot_publish_while_review_is_on(client, admin, editor):
    before = entry_count()
    refused = post(client, editor)
    assert refused.status_code == 403 and refused.json()["error"] == "review_required"
    assert entry_count() == before
    draft = post(client, editor, status="draft")
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    entry_id = draft.json()["id"]
    assert client.put(f"/console/api/faq/{entry_id}", json={"status": "published", "version": 1},
                      headers=editor).status_code == 403
    proposal = client.post(f"/console/api/faq/{entry_id}/review", json={"status": "published", "version": 1},
                           headers=editor)
    assert proposal.status_code == 202
    review_id = proposal.json()["id"]
    assert client.post(f"/console/api/reviews/{review_id}/approve", headers=editor).status_code == 403
    assert [r["id"] for r in client.get("/console/api/reviews", headers=admin).json()["reviews"]] == [review_id]
    approved = client.post(f"/console/api/reviews/{review_id}/approve", headers=admin)
    assert approved.status_code == 200 and approved.json()["entry"]["status"] == "published"
    assert client.put("/console/api/settings", json={"review_required": False}, headers=editor).status_code == 403
    assert client.put("/console/api/settings", json={"review_required": False}, headers=admin).json() == {
        "review_required": False, "can_publish": True, "role": "admin"}
    assert post(client, editor, question="审核关闭后编辑直接发布的问题").status_code == 201


def test_officers_can_read_but_not_change(client, admin):
    officer = basic("officer1", make_account("officer1", "officer"))
    assert client.get("/console/api/faq?limit=1", headers=officer).status_code == 200
    refused = post(client, officer, status="draft")
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"


def test_unknown_entries_and_paths_answer_404_in_json(client, admin):
    for method, path in (("get", "/console/api/faq/no.such_entry"), ("delete", "/console/api/faq/no.such_entry"),
                         ("get", "/console/api/nothing-here"), ("post", "/console/api/reviews/999/approve"),
                         ("post", "/console/api/reviews/1/explode")):
        response = getattr(client, method)(path, headers=admin)
        assert response.status_code == 404 and response.json()["error"] == "not_found", path
    assert client.put("/console/api/faq/no.such_entry", json={"answer": "不存在的条目的修改。", "version": 1},
                      headers=admin).status_code == 404


# ---- bad input --------------------------------------------------------------------------------------------------------


def test_invalid_entries_get_400_with_per_field_errors(client, admin):
    response = post(client, admin, source="", rule_date="2024/5", answer="答案里有待确认的内容，不能发布。", topic="nope")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"source", "rule_date", "answer", "topic"}
    assert "来源" in errors["source"] and "待确认" in errors["answer"] and "没有主题" in errors["topic"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question": ["not", "text"]}, "question"),
        ({"paraphrases": [{"x": 1}]}, "paraphrases"),
        ({"status": "live"}, "status"),
        ({"colour": "blue"}, "colour"),
        ({"version": "2"}, "version"),
    ],
)
def test_wrong_types_and_unknown_fields_are_reported_per_field(client, admin, body, field):
    response = client.post("/console/api/faq", json={**entry_data(), **body}, headers=admin)
    if field == "version":  # only PUT takes a version
        assert response.status_code == 400 and response.json()["errors"] == {"version": "未知字段"}
        return
    assert response.status_code == 400 and field in response.json()["errors"]


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"[1, 2]", b'"text"', b"null", b"\xff\xfe\x00", b'{"question": "\xe6\x97"}', b"{'single': 'quotes'}"],
)
def test_malformed_json_gets_a_400_never_a_crash(client, admin, raw):
    before = entry_count()
    response = client.post("/console/api/faq", content=raw, headers={**admin, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_json"
    assert entry_count() == before


def test_huge_bodies_and_texts_are_refused(client, admin):
    huge = json.dumps(entry_data(answer="长" * 300_000)).encode("utf-8")
    response = client.post("/console/api/faq", content=huge, headers={**admin, "Content-Type": "application/json"})
    assert response.status_code == 413
    too_long = post(client, admin, answer="长" * 5000, question="问" * 500, paraphrases=[f"说法{i}" for i in range(80)])
    assert too_long.status_code == 400 and set(too_long.json()["errors"]) == {"answer", "question", "paraphrases"}


def test_markup_and_sql_looking_input_is_stored_literally(client, admin):
    nasty = "<script>alert(1)</script>' OR 1=1; DROP TABLE knowledge_entries; --"
    created = post(client, admin, question=nasty[:60], answer=nasty + " 这是测试答案。", paraphrases=[nasty[:50]])
    assert created.status_code == 201 and created.json()["answer"].startswith("<script>")
    assert entry_count() > 40
    listed = client.get("/console/api/faq", params={"q": "' OR 1=1"}, headers=admin).json()
    assert listed["total"] == 1
    preview = client.get("/console/api/preview", params={"q": nasty}, headers=admin)
    assert preview.status_code == 200


# ---- import, export, unanswered ---------------------------------------------------------------------------------------


def test_an_import_with_a_bad_row_changes_nothing(client, admin):
    before = entry_count()
    csv_text = (
        "主题,状态,标准问题,答案,来源,规定日期,复核日期\r\n"
        "开办企业,已发布,大厅有饮水机吗,有，每层都有饮水机。,政务服务中心公告,2024,2025-01-10\r\n"
        "开办企业,已发布,大厅有充电宝吗,有。,,2024,2025-01-10\r\n"
    ).encode()
    refused = client.post("/console/api/import?filename=faq.csv", content=csv_text,
                          headers={**admin, "Content-Type": "text/csv"})
    assert refused.status_code == 400 and refused.json()["error"] == "import_refused"
    problems = refused.json()["problems"]
    assert {(p["row"], p["column"]) for p in problems} == {(3, "答案"), (3, "来源")}
    assert entry_count() == before
    good = csv_text.rsplit(b"\r\n", 2)[0] + b"\r\n"
    checked = client.post("/console/api/import?dry_run=1", files={"file": ("faq.csv", good, "text/csv")}, headers=admin)
    assert checked.status_code == 200 and checked.json()["dry_run"] is True and entry_count() == before
    imported = client.post("/console/api/import", files={"file": ("faq.csv", good, "text/csv")}, headers=admin)
    assert imported.status_code == 200 and len(imported.json()["created"]) == 1 and entry_count() == before + 1


def test_export_as_csv_and_xlsx(client, admin):
    csv_export = client.get("/console/api/export?format=csv&status=published", headers=admin)
    assert csv_export.status_code == 200 and csv_export.content.startswith("\ufeff编号,主题,状态".encode("utf-8"))
    assert "attachment" in csv_export.headers["content-disposition"]
    xlsx = client.get("/console/api/export", headers=admin)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client.get("/console/api/export?format=pdf", headers=admin).status_code == 400


def test_unanswered_groups_become_drafts(client, admin):
    from core.knowledge.repository import knowledge_repository

    with knowledge_repository() as kb:
        for text in ("公司注销后公章怎么处理", "注销以后公章怎么办", "注销以后公章怎么办"):
            kb.record_unanswered(text, "fallback")
    report = client.get("/console/api/unanswered?days=7", headers=admin).json()
    assert report["total"] == 3 and report["groups"][0]["count"] == 3
    group = report["groups"][0]
    assert group["representative"] == "注销以后公章怎么办" and sum(group["counts"]) == 3
    draft = client.post("/console/api/unanswered/draft", json={"ids": group["ids"]}, headers=admin)
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    assert client.get("/console/api/unanswered?days=7", headers=admin).json()["groups"] == []
    assert client.post("/console/api/unanswered/draft", json={"ids": ["1"]}, headers=admin).status_code == 400
