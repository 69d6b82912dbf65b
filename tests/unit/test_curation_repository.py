"""Curating entries at the repository level, over a temporary database with the seed knowledge: versions, diffs,
rollback, the concurrent-edit refusal, roles and review, validation, audit, and the bot's actions answering with
the result at once (the real ``action_clarify``/``action_answer`` over the same database)."""

from __future__ import annotations

import threading

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

import core.knowledge.search as faq_search_module
from actions.answers import ActionAnswer, ActionClarify
from core.accounts.models import AuditEntry
from core.curation import diff
from core.curation.models import EntryVersion, ReviewRequest
from core.curation.repository import (
    Forbidden,
    InvalidEntry,
    NotFound,
    ReviewRequired,
    VersionConflict,
    curation_repository,
)
from core.db import session_scope
from core.knowledge.loader import ANSWERS_DIR, seed
from core.knowledge.models import KnowledgeEntry
from core.knowledge.schema import load_topic_files
from tests.utils.curation import ADMIN, EDITOR, OFFICER, entry_data

NURSING = "政务中心有母婴室吗"


@pytest.fixture(autouse=True)
def fresh_index(monkeypatch):
    """The bot's FAQ index checks the database on every search here (in service: at most once a second)."""
    monkeypatch.setattr(faq_search_module, "REFRESH_SECONDS", 0.0)


def create(actor=ADMIN, **overrides):
    with curation_repository() as repo:
        change = repo.create(entry_data(**overrides), actor)
        return change.entry.id, change.entry.version


def load(entry_id: str) -> KnowledgeEntry:
    with session_scope() as session:
        row = session.get(KnowledgeEntry, entry_id)
        session.expunge(row)
        return row


def version_count(entry_id: str) -> int:
    with session_scope() as session:
        return session.execute(select(func.count(EntryVersion.id)).where(EntryVersion.entry_id == entry_id)).scalar()


async def bot_reply(domain, tracker_for, text: str, intent: str = "nlu_fallback") -> str:
    """What the bot's action answers ``text`` with (the NLU's guess given as ``intent``)."""
    dispatcher = CollectingDispatcher()
    action = ActionClarify() if intent in ("nlu_fallback", "out_of_scope") else ActionAnswer()
    await action.run(dispatcher, tracker_for(text, intent), domain)
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


# ---- publish, edit, retire, rollback: and the bot follows ------------------------------------------------------------


async def test_a_published_entry_is_answered_by_the_bot_at_once(database, domain, tracker_for):
    assert "母婴室" not in await bot_reply(domain, tracker_for, NURSING)
    entry_id, version = create()
    assert version == 1 and entry_id.startswith("startup.staff_")
    reply = await bot_reply(domain, tracker_for, NURSING)
    assert "一楼设有母婴室" in reply and "📖 来源：海珠区政务服务中心便民服务公告" in reply
    # even when the NLU files the question under a trained topic, the staff entry asked word for word wins
    assert "一楼设有母婴室" in await bot_reply(domain, tracker_for, NURSING, intent="startup_where")


async def test_a_draft_is_not_answered_until_it_is_published(database, domain, tracker_for):
    entry_id, version = create(status="draft")
    assert "母婴室" not in await bot_reply(domain, tracker_for, NURSING)
    with curation_repository() as repo:
        repo.publish(entry_id, version, ADMIN)
    assert "一楼设有母婴室" in await bot_reply(domain, tracker_for, NURSING)


async def test_an_edit_is_answered_with_the_new_text_and_kept_as_a_readable_diff(database, domain, tracker_for):
    entry_id, version = create()
    with curation_repository() as repo:
        change = repo.update(entry_id, {"answer": "有。母婴室在政务服务中心二楼东侧，开放时间与大厅相同。"}, version, ADMIN)
    assert change.version == 2 and change.changed == ["答案"]
    reply = await bot_reply(domain, tracker_for, NURSING)
    assert "二楼东侧" in reply and "一楼" not in reply
    with curation_repository() as repo:
        history = repo.history(entry_id)
        assert [(v.version, v.action, v.author) for v in history] == [(2, "edit", "chief"), (1, "publish", "chief")]
        changes = diff.changes(history[1].snapshot, history[0].snapshot)
    assert [c.label for c in changes] == ["答案"]
    removed = "".join(text for kind, text in changes[0].pieces if kind == "removed")
    added = "".join(text for kind, text in changes[0].pieces if kind == "added")
    assert "一楼设有母婴室" in removed and "二楼东侧" in added and ("same", "有。") in changes[0].pieces
    text = diff.unified(history[1].snapshot, history[0].snapshot)
    assert "-答案: 有。海珠区政务服务中心一楼设有母婴室" in text and "+答案: 有。母婴室在政务服务中心二楼东侧" in text


async def test_a_retired_entry_is_no_longer_answered_and_keeps_its_history(database, domain, tracker_for):
    entry_id, version = create()
    with curation_repository() as repo:
        change = repo.retire(entry_id, ADMIN, version)
    assert change.entry.status == "retired" and change.version == 2
    assert "母婴室" not in await bot_reply(domain, tracker_for, NURSING)
    assert version_count(entry_id) == 2


async def test_rollback_restores_an_old_version_as_a_new_one(database, domain, tracker_for):
    entry_id, _ = create()
    with curation_repository() as repo:
        repo.update(entry_id, {"answer": "没有母婴室，请到附近商场。这是一条错误的修改。"}, 1, ADMIN)
        repo.retire(entry_id, ADMIN, 2)
    assert "母婴室" not in await bot_reply(domain, tracker_for, NURSING)
    with curation_repository() as repo:
        change = repo.rollback(entry_id, 1, 3, ADMIN)
    assert change.version == 4 and change.entry.status == "published"
    assert "一楼设有母婴室" in await bot_reply(domain, tracker_for, NURSING)
    with curation_repository() as repo:
        latest = repo.history(entry_id)[0]
        assert (latest.action, latest.note) == ("rollback", "回滚到第 1 版")
        with pytest.raises(NotFound):
            repo.rollback(entry_id, 99, 4, ADMIN)


async def test_a_seed_entry_edited_by_staff_keeps_its_original_and_survives_reseeding(database, domain, tracker_for):
    original = load("startup.process")
    assert original.updated_by == "seed"
    with curation_repository() as repo:
        repo.update("startup.process", {"answer": "开办企业半天办结（工作人员修改过的答案，用于测试）。"}, original.version, ADMIN)
        history = repo.history("startup.process")
    assert [(v.action, v.author) for v in history] == [("edit", "chief"), ("seed", "seed")]
    assert history[1].snapshot["answer"] == original.answer
    with session_scope() as session:  # `make db` again: the staff edit is kept
        seed(session, load_topic_files(ANSWERS_DIR))
    edited = load("startup.process")
    assert edited.answer.startswith("开办企业半天办结") and edited.updated_by == "chief"
    assert "工作人员修改过的答案" in await bot_reply(domain, tracker_for, "开公司要多久", intent="startup_process")
    with curation_repository() as repo:
        repo.rollback("startup.process", original.version, edited.version, ADMIN)
    assert load("startup.process").answer == original.answer


# ---- two people editing one entry -------------------------------------------------------------------------------------


def test_a_save_based_on_an_old_version_is_refused_and_writes_nothing(database):
    entry_id, _ = create()
    with curation_repository() as repo:
        repo.update(entry_id, {"answer": "第一位同事的修改：母婴室在一楼东侧。"}, 1, ADMIN)
    with pytest.raises(VersionConflict) as refused:
        with curation_repository() as repo:
            repo.update(entry_id, {"answer": "第二位同事的修改：母婴室在三楼。"}, 1, ADMIN)
    assert refused.value.status == 409 and refused.value.current == 2
    assert "您打开的是第 1 版，现在是第 2 版" in refused.value.message and "没有保存" in refused.value.message
    assert load(entry_id).answer == "第一位同事的修改：母婴室在一楼东侧。"
    assert version_count(entry_id) == 2


def test_a_save_without_the_version_it_started_from_is_refused(database):
    entry_id, _ = create()
    with pytest.raises(InvalidEntry) as refused, curation_repository() as repo:
        repo.update(entry_id, {"answer": "没有版本号的修改不应被接受。"}, None, ADMIN)
    assert "version" in refused.value.errors


def test_two_saves_racing_each_other_cannot_both_succeed(database):
    """Both load version 1 and pass the check; the database's UPDATE … WHERE version = 1 lets only one through."""
    entry_id, _ = create()
    barrier = threading.Barrier(2, timeout=20)
    outcomes = []

    def save(text: str) -> None:
        try:
            with curation_repository() as repo:
                repo.entry(entry_id)  # loaded at version 1
                barrier.wait()
                repo.update(entry_id, {"answer": text}, 1, ADMIN)
            outcomes.append("saved")
        except VersionConflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=save, args=(f"同时保存的修改 {n}：母婴室在一楼。",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "saved"]
    assert load(entry_id).version == 2 and version_count(entry_id) == 2


# ---- roles and review ---------------------------------------------------------------------------------------------


def test_an_editor_cannot_publish_while_review_is_on_but_can_propose(database):
    with pytest.raises(ReviewRequired) as refused:
        create(EDITOR)
    assert refused.value.status == 403 and "审核" in refused.value.message
    draft_id, version = create(EDITOR, status="draft")
    with pytest.raises(ReviewRequired), curation_repository() as repo:
        repo.publish(draft_id, version, EDITOR)
    with curation_repository() as repo:
        review = repo.propose(draft_id, {"status": "published"}, version, EDITOR).review
        review_id = review.id
    assert load(draft_id).status == "draft"
    with pytest.raises(Forbidden), curation_repository() as repo:
        repo.approve(review_id, EDITOR)
    with curation_repository() as repo:
        change = repo.approve(review_id, ADMIN)
    assert change.entry.status == "published" and change.review.status == "approved"
    latest = load(draft_id)
    with pytest.raises(ReviewRequired), curation_repository() as repo:  # nor change or retire what is published
        repo.update(draft_id, {"answer": "编辑直接改已发布的答案，应被拒绝。"}, latest.version, EDITOR)
    with pytest.raises(ReviewRequired), curation_repository() as repo:
        repo.retire(draft_id, EDITOR, latest.version)


def test_an_approval_is_refused_when_the_entry_changed_after_the_proposal(database):
    entry_id, _ = create()
    with curation_repository() as repo:
        review_id = repo.propose(entry_id, {"answer": "编辑建议的答案：母婴室在一楼大厅北侧。"}, 1, EDITOR).review.id
        repo.update(entry_id, {"answer": "管理员之后直接改的答案：母婴室在一楼。"}, 1, ADMIN)
    with pytest.raises(VersionConflict), curation_repository() as repo:
        repo.approve(review_id, ADMIN)
    with curation_repository() as repo:
        assert repo.reject(review_id, ADMIN, "请基于最新版本重新提交").status == "rejected"
    assert load(entry_id).answer == "管理员之后直接改的答案：母婴室在一楼。"


def test_without_review_an_editor_publishes_directly_and_officers_never_edit(database):
    with curation_repository() as repo:
        assert repo.review_required() is True
        with pytest.raises(Forbidden):
            repo.set_review_required(False, EDITOR)
        repo.set_review_required(False, ADMIN)
        assert repo.can_publish(EDITOR)
    entry_id, _ = create(EDITOR)
    assert load(entry_id).status == "published" and load(entry_id).updated_by == "editor1"
    with pytest.raises(Forbidden):
        create(OFFICER, status="draft")


# ---- validation -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"source": ""}, "source", "来源"),
        ({"source": "文件"}, "source", "至少 4 个字"),
        ({"answer": "答案里有〔待确认〕的内容，不应发布。"}, "answer", "待确认"),
        ({"answer": "太短"}, "answer", "至少 10"),
        ({"answer": "长" * 1801}, "answer", "最多 1800"),
        ({"rule_date": "2024/05/01"}, "rule_date", "YYYY"),
        ({"rule_date": "2024-13"}, "rule_date", "有效"),
        ({"reviewed": "2025-01"}, "reviewed", "YYYY-MM-DD"),
        ({"question": ""}, "question", "标准问题"),
        ({"topic": "no_such_topic"}, "topic_id", "没有主题"),
        ({"source_url": "javascript:alert(1)"}, "source_url", "http"),
        ({"paraphrases": ["很长" * 101]}, "paraphrases", "200"),
    ],
)
def test_entries_follow_the_knowledge_schema_rules(database, overrides, field, words):
    with pytest.raises(InvalidEntry) as refused:
        create(**overrides)
    assert field in refused.value.errors and words in refused.value.errors[field]


def test_a_draft_may_be_incomplete_but_must_be_complete_to_publish(database):
    entry_id, version = create(status="draft", answer="", source="", rule_date="")
    with pytest.raises(InvalidEntry) as refused, curation_repository() as repo:
        repo.publish(entry_id, version, ADMIN)
    assert set(refused.value.errors) == {"answer", "source", "rule_date"}


def test_a_topic_may_be_given_by_its_title_and_dates_default_to_today(database):
    entry_id, _ = create(topic="开办企业", rule_date="", reviewed="")
    row = load(entry_id)
    assert row.topic_id == "startup" and len(row.reviewed) == 10 and row.rule_date == row.reviewed


def test_markup_and_sql_looking_text_is_stored_as_it_was_typed(database):
    nasty = "<script>alert('x')</script>'; DROP TABLE knowledge_entries; --"
    entry_id, _ = create(question=nasty[:59], answer=nasty + " 这是一条测试答案。")
    row = load(entry_id)
    assert row.question == nasty[:59] and row.answer.startswith("<script>")
    with session_scope() as session:
        assert session.execute(select(func.count(KnowledgeEntry.id))).scalar() > 40


# ---- audit ----------------------------------------------------------------------------------------------------------


def test_every_change_is_in_the_audit_log_with_who_and_what(database):
    entry_id, _ = create()
    with curation_repository() as repo:
        repo.update(entry_id, {"answer": "审计测试：母婴室在一楼。", "paraphrases": ["母婴室在哪"]}, 1, ADMIN)
        repo.retire(entry_id, ADMIN, 2)
        repo.propose(entry_id, {"status": "published"}, 3, EDITOR)
    with session_scope() as session:
        rows = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
        log = [(r.username, r.action, r.detail) for r in rows if r.action.startswith("faq_")]
        pending = session.execute(select(ReviewRequest)).scalars().all()
    assert [(who, action) for who, action, _ in log] == [
        ("chief", "faq_publish"), ("chief", "faq_edit"), ("chief", "faq_retire"), ("editor1", "faq_review_submit"),
    ]
    assert "相似问法、答案" in log[1][2] and entry_id in log[1][2] and "第 2 版" in log[1][2]
    assert len(pending) == 1 and pending[0].base_version == 3


# ---- knowledge/ stays the seed and the reviewable export -------------------------------------------------------------


def test_make_kb_export_writes_staff_changes_that_the_seed_loader_accepts(database, tmp_path):
    from core.knowledge.export import export

    entry_id, _ = create()
    with curation_repository() as repo:
        staff_only = repo.create(entry_data(topic=repo.staff_topic().id, question="政务中心附近有没有公交站"), ADMIN)
        row = repo.entry("startup.free")
        repo.update("startup.free", {"answer": "开办企业免费：刻章、发票和税务UKey都免费（工作人员修改）。"}, row.version, ADMIN)
        repo.retire("name.rules", ADMIN)
        staff_id = staff_only.entry.id
    with session_scope() as session:
        written = export(session, tmp_path)
    assert written["staff"] == 1 and (tmp_path / "staff.yml").exists()
    topics = {t.topic: t for t in load_topic_files(tmp_path)}  # the loader's own validation
    startup = {e.id: e for e in topics["startup"].entries}
    assert entry_id in startup and startup["startup.free"].answer.endswith("（工作人员修改）。")
    assert [e.id for e in topics["staff"].entries] == [staff_id]
    assert all(e.id != "name.rules" for e in topics["name"].entries)


def test_the_answer_to_a_topics_follow_ups_cannot_be_retired(database):
    row = load("startup.process")  # answers 要多久 and 怎么办理 while the subject is 开办企业
    with pytest.raises(Forbidden) as refused, curation_repository() as repo:
        repo.retire("startup.process", ADMIN, row.version)
    assert "要多久" in refused.value.message and "请直接修改" in refused.value.message
    with pytest.raises(Forbidden), curation_repository() as repo:
        repo.update("startup.process", {"status": "draft"}, row.version, ADMIN)
    assert load("startup.process").status == "published"
