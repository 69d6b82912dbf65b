"""The knowledge pages of the console in-process: forms with the session's CSRF token, the concurrent-edit
refusal as an editor sees it, review, preview, import, unanswered questions, and escaping."""

from __future__ import annotations

import io

import pytest
from starlette.testclient import TestClient

import core.knowledge.search as faq_search_module
from core.curation.repository import curation_repository
from core.db import session_scope
from core.knowledge.models import KnowledgeEntry
from core.knowledge.repository import knowledge_repository
from tests.utils.curation import csrf, entry_data, form_data, make_account, sign_in
from webapp.app import create_app

NASTY = "<script>alert('x')</script><img src=x onerror=alert(1)>"


@pytest.fixture(autouse=True)
def fresh_index(monkeypatch):
    monkeypatch.setattr(faq_search_module, "REFRESH_SECONDS", 0.0)


def console(role: str, username: str) -> TestClient:
    password = make_account(username, role)
    client = TestClient(create_app(), base_url="http://console.test")
    sign_in(client, username, password)
    return client


@pytest.fixture()
def chief(database) -> TestClient:
    return console("admin", "chief")


@pytest.fixture()
def editor(database) -> TestClient:
    return console("editor", "editor1")


def create_by_form(client: TestClient, action: str = "publish", **overrides):
    page = client.get("/console/faq/new")
    data = {**form_data(entry_data(**overrides)), "csrf_token": csrf(page.text), "action": action}
    return client.post("/console/faq/new", data=data, follow_redirects=False)


def entry_id_of(response) -> str:
    assert response.status_code == 303, response.text[:500]
    return response.headers["location"].split("/faq/entries/")[1].split("?")[0]


def stored(entry_id: str) -> KnowledgeEntry:
    with session_scope() as session:
        row = session.get(KnowledgeEntry, entry_id)
        session.expunge(row)
        return row


def test_the_pages_need_a_signed_in_account(database):
    client = TestClient(create_app(), base_url="http://console.test")
    for path in ("/console/faq", "/console/faq/new", "/console/faq/entries/startup.free", "/console/faq/preview",
                 "/console/faq/unanswered", "/console/faq/reviews", "/console/faq/transfer",
                 "/console/faq/export.xlsx", "/console/faq/settings", "/console/faq/tokens"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/console/login", path


def test_list_and_search(chief):
    page = chief.get("/console/faq")
    assert page.status_code == 200 and "知识库问答" in page.text and "下一页" in page.text  # 177 entries: pages
    startup = chief.get("/console/faq", params={"topic": "startup"})
    assert "在海珠开办企业要多久" in startup.text
    found = chief.get("/console/faq", params={"q": "简易注销", "status": "published"})
    assert "简易注销" in found.text and "在海珠开办企业要多久" not in found.text
    assert "没有符合条件的问答" in chief.get("/console/faq", params={"q": "完全不存在的词语组合"}).text
    assert chief.get("/console/faq", params={"page": "-3", "status": "nonsense"}).status_code == 200


def test_an_admin_publishes_from_the_form_and_the_preview_shows_it(chief):
    entry_id = entry_id_of(create_by_form(chief))
    assert stored(entry_id).status == "published"
    page = chief.get(f"/console/faq/entries/{entry_id}?m=published")
    assert "机器人几秒钟内就会用新内容回答" in page.text and "第 1 版" in page.text
    preview = chief.get("/console/faq/preview", params={"q": "政务中心有母婴室吗"})
    assert "机器人会直接用这条回答" in preview.text and entry_id in preview.text and "一楼设有母婴室" in preview.text


def test_editing_keeps_a_history_with_a_diff_and_rollback(chief):
    entry_id = entry_id_of(create_by_form(chief))
    page = chief.get(f"/console/faq/entries/{entry_id}")
    data = {**form_data(entry_data(answer="有。母婴室在二楼东侧，凭号使用。")), "csrf_token": csrf(page.text),
            "version": "1", "action": "save"}
    assert chief.post(f"/console/faq/entries/{entry_id}", data=data, follow_redirects=False).status_code == 303
    page = chief.get(f"/console/faq/entries/{entry_id}")
    assert "第 2 版" in page.text and "<del>有。海珠区政务服务中心一楼设有母婴室，" in page.text
    assert "<ins>有。母婴室在二楼东侧，凭号使用。</ins>" in page.text and 'id="conflict"' not in page.text
    rollback = {"csrf_token": csrf(page.text), "version": "2", "to_version": "1"}
    response = chief.post(f"/console/faq/entries/{entry_id}/rollback", data=rollback, follow_redirects=False)
    assert response.status_code == 303 and "m=rolled_back" in response.headers["location"]
    assert stored(entry_id).answer == entry_data()["answer"] and stored(entry_id).version == 3


def test_the_second_of_two_concurrent_edits_is_refused_with_a_clear_message(chief, database):
    other = console("admin", "deputy")
    entry_id = entry_id_of(create_by_form(chief))
    mine, theirs = chief.get(f"/console/faq/entries/{entry_id}"), other.get(f"/console/faq/entries/{entry_id}")
    first = {**form_data(entry_data(answer="副主任先保存的答案：母婴室在一楼东侧。")), "csrf_token": csrf(theirs.text),
             "version": "1", "action": "save"}
    assert other.post(f"/console/faq/entries/{entry_id}", data=first, follow_redirects=False).status_code == 303
    second = {**form_data(entry_data(answer="我后保存的答案：母婴室在三楼。")), "csrf_token": csrf(mine.text),
              "version": "1", "action": "save"}
    refused = chief.post(f"/console/faq/entries/{entry_id}", data=second, follow_redirects=False)
    assert refused.status_code == 409
    assert "已被 deputy" in refused.text and "您打开的是第 1 版，现在是第 2 版" in refused.text
    assert "您的修改没有保存" in refused.text and 'id="conflict"' in refused.text
    assert "我后保存的答案：母婴室在三楼。" in refused.text  # what they typed is not lost
    assert 'name="version" value="2"' in refused.text
    assert stored(entry_id).answer == "副主任先保存的答案：母婴室在一楼东侧。"


def test_an_editor_saves_drafts_and_submits_for_review_while_review_is_on(chief, editor):
    page = editor.get("/console/faq/new")
    assert 'value="publish"' not in page.text and "提交发布审核" in page.text
    forced = create_by_form(editor, action="publish")  # a hand-made request cannot publish either
    entry_id = entry_id_of(forced)
    assert stored(entry_id).status == "draft" and "m=submitted" in forced.headers["location"]
    reviews = chief.get("/console/faq/reviews")
    assert "editor1" in reviews.text and entry_data()["question"] in reviews.text
    review_id = reviews.text.split('action="/console/faq/reviews/')[1].split('"')[0]
    refused = editor.post(f"/console/faq/reviews/{review_id}", data={"csrf_token": csrf(page.text), "decision": "approve"})
    assert refused.status_code == 403 and stored(entry_id).status == "draft"
    approved = chief.post(f"/console/faq/reviews/{review_id}", data={"csrf_token": csrf(reviews.text),
                                                                     "decision": "approve"}, follow_redirects=False)
    assert approved.status_code == 303 and stored(entry_id).status == "published"
    page = editor.get(f"/console/faq/entries/{entry_id}")
    assert "提交修改审核" in page.text and 'value="retire"' not in page.text


def test_only_admins_change_the_review_setting(chief, editor):
    page = editor.get("/console/faq/settings")
    assert "只有管理员可以修改这个设置" in page.text
    assert editor.post("/console/faq/settings", data={"csrf_token": csrf(page.text)}).status_code == 403
    page = chief.get("/console/faq/settings")
    assert chief.post("/console/faq/settings", data={"csrf_token": csrf(page.text)}, follow_redirects=False).status_code == 303
    with curation_repository() as repo:
        assert repo.review_required() is False
    assert 'value="publish"' in editor.get("/console/faq/new").text


def test_admins_create_editor_accounts(chief):
    page = chief.get("/console/officers")
    assert 'value="editor"' in page.text
    data = {"csrf_token": csrf(page.text), "username": "newbie", "display_name": "新编辑", "password": "newbie-password-123",
            "role": "editor"}
    assert chief.post("/console/officers", data=data, follow_redirects=False).status_code == 303
    assert "知识库编辑" in chief.get("/console/officers").text
    newbie = TestClient(create_app(), base_url="http://console.test")
    sign_in(newbie, "newbie", "newbie-password-123")
    assert "提交发布审核" in newbie.get("/console/faq/new").text


def test_officers_read_but_do_not_edit(database):
    officer = console("officer", "officer1")
    page = officer.get("/console/faq/entries/startup.free")
    assert page.status_code == 200 and "<fieldset disabled" in page.text and 'name="action"' not in page.text
    assert officer.get("/console/faq/new").status_code == 403
    refused = officer.post("/console/faq/new", data={"csrf_token": csrf(page.text), **form_data(entry_data())})
    assert refused.status_code == 403


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_posts_without_the_sessions_csrf_token_are_refused(chief, token):
    data = {**form_data(entry_data()), "action": "publish"}
    if token is not None:
        data["csrf_token"] = token
    before = chief.get("/console/faq").text.count('class="entry ')
    assert chief.post("/console/faq/new", data=data).status_code == 403
    page = chief.get("/console/faq/entries/startup.free")
    assert chief.post("/console/faq/entries/startup.free", data={**data, "version": "1"}).status_code == 403
    assert chief.get("/console/faq").text.count('class="entry ') == before
    assert "forged" not in page.text


def test_markup_typed_into_an_entry_is_shown_escaped_everywhere(chief):
    entry_id = entry_id_of(create_by_form(chief, question=NASTY[:60], answer=NASTY + " 测试答案。", paraphrases=[NASTY[:40]],
                                          source=NASTY[:80]))
    pages = [chief.get("/console/faq"), chief.get(f"/console/faq/entries/{entry_id}"),
             chief.get("/console/faq/preview", params={"q": NASTY[:60]}), chief.get("/console/audit")]
    for page in pages:
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert" in pages[1].text


def test_invalid_form_input_is_shown_next_to_the_fields_and_kept(chief):
    response = create_by_form(chief, source="", rule_date="2024-99", answer="答案里有待确认的内容，请修改。")
    assert response.status_code == 400
    assert "发布前请填写来源" in response.text and "规定日期不是有效的日期" in response.text and "待确认" in response.text
    assert "答案里有待确认的内容，请修改。" in response.text


def test_an_import_with_a_bad_row_lists_the_problems_and_changes_nothing(chief):
    page = chief.get("/console/faq/transfer")
    csv_text = (
        "主题,状态,标准问题,答案,来源,规定日期,复核日期\r\n"
        "开办企业,已发布,大厅有饮水机吗,有，每层都有饮水机。,政务服务中心公告,2024,2025-01-10\r\n"
        f"开办企业,已发布,{NASTY[:30]},有。,,2024,2025-01-10\r\n"
    ).encode()
    response = chief.post("/console/faq/import", data={"csrf_token": csrf(page.text)},
                          files={"file": ("bad.csv", io.BytesIO(csv_text), "text/csv")})
    assert response.status_code == 400 and "导入被拒绝，没有任何修改" in response.text
    assert "<td>3</td><td>来源</td>" in response.text and "<script>alert" not in response.text
    assert "大厅有饮水机吗" not in chief.get("/console/faq", params={"q": "饮水机"}).text
    export = chief.get("/console/faq/export.xlsx")
    assert export.status_code == 200 and export.content[:2] == b"PK"
    assert chief.get("/console/faq/export.csv").content.startswith(b"\xef\xbb\xbf")


def test_an_unanswered_group_becomes_a_draft_in_one_click(chief):
    with knowledge_repository() as kb:
        for text in ("政务中心停车收费吗", "政务中心停车要收费吗", NASTY):
            kb.record_unanswered(text, "fallback")
    page = chief.get("/console/faq/unanswered")
    assert "政务中心停车收费吗" in page.text and "2 次" in page.text and "<script>alert" not in page.text
    ids = page.text.split('name="ids" value="')[1].split('"')[0]
    response = chief.post("/console/faq/unanswered/draft", data={"csrf_token": csrf(page.text), "ids": ids},
                          follow_redirects=False)
    entry_id = entry_id_of(response)
    row = stored(entry_id)
    assert row.status == "draft" and "停车" in row.question and row.origin == "staff"
    assert "政务中心停车收费吗" not in chief.get("/console/faq/unanswered").text
    again = chief.post("/console/faq/unanswered/draft", data={"csrf_token": csrf(page.text), "ids": ids})
    assert again.status_code == 404 and "已经处理过了" in again.text


def test_the_audit_log_names_knowledge_changes_in_chinese(chief):
    entry_id_of(create_by_form(chief))
    assert "发布问答" in chief.get("/console/audit").text
