"""Personal data under the Personal Information Protection Law: the retention job (``make retention``) and the
console's export and delete of one user's data, on a temporary database."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import yaml
from sqlalchemy import create_engine, func, select, text

from core.accounts.models import AuditEntry
from core.db import session_scope
from core.handoff import privacy
from core.handoff.models import StaffNote, Ticket, TicketMessage
from core.settings import DOMAIN_DIR, get_settings
from tests.unit.test_handoff_console import csrf, officer_client
from tests.unit.test_handoff_repository import make_officer, open_ticket

PHONE = "13812345678"


def _age(ticket_id: int, days: int, status: str = "resolved") -> None:
    """Make ``ticket_id`` a ticket with ``status`` whose last change was ``days`` ago, with a staff note."""
    moment = datetime.utcnow() - timedelta(days=days)
    with session_scope() as session:
        ticket = session.get(Ticket, ticket_id)
        ticket.status, ticket.updated_at, ticket.created_at = status, moment, moment - timedelta(hours=1)
        ticket.closed_at = moment if status in ("resolved", "closed") else None
        session.add(StaffNote(ticket_id=ticket_id, officer_id=make_officer(f"o{ticket_id}"), text="陈先生说下午方便",
                              created_at=moment))


def _state(ticket_id: int) -> dict:
    with session_scope() as session:
        t = session.get(Ticket, ticket_id)
        messages = session.execute(select(func.count()).where(TicketMessage.ticket_id == ticket_id)).scalar()
        notes = session.execute(select(func.count()).where(StaffNote.ticket_id == ticket_id)).scalar()
        return {"name": t.contact_name, "phone": t.phone, "summary": t.summary, "sender": t.sender_id,
                "messages": messages, "notes": notes, "topic": t.topic, "status": t.status, "number": t.number,
                "erased": t.erased_at is not None}


def test_the_retention_job_erases_old_closed_tickets_and_keeps_the_counts(database, monkeypatch, capsys):
    old, _, _ = open_ticket("user-old")
    recent, _, _ = open_ticket("user-recent")
    still_open, _, _ = open_ticket("user-open")
    _age(old, 200)
    _age(recent, 10)
    _age(still_open, 200, status="open")
    before = {t: _state(t) for t in (old, recent, still_open)}

    assert privacy.main(["retention"]) == 0  # TICKET_RETENTION_DAYS unset: 180 days
    assert "1 closed ticket(s) older than 180 days erased" in capsys.readouterr().out
    erased = _state(old)
    assert erased["erased"] and erased["messages"] == 0 and erased["notes"] == 0
    assert PHONE not in json.dumps(erased, ensure_ascii=False) and "陈先生" not in json.dumps(erased, ensure_ascii=False)
    assert "user-old" not in erased["sender"] and "个体户" not in erased["summary"]
    for key in ("number", "topic", "status"):  # what the statistics count stays
        assert erased[key] == before[old][key]
    assert _state(recent) == before[recent] and _state(still_open) == before[still_open]
    with session_scope() as session:
        assert session.execute(select(func.count(Ticket.id))).scalar() == 3
        audit = session.execute(select(AuditEntry).where(AuditEntry.action == "privacy_retention")).scalars().one()
        assert "1 张工单" in audit.detail

    assert privacy.main(["retention"]) == 0  # nothing more to do
    assert "0 closed ticket(s)" in capsys.readouterr().out
    monkeypatch.setenv("TICKET_RETENTION_DAYS", "5")
    get_settings.cache_clear()
    privacy.main(["retention"])
    assert _state(recent)["erased"] and not _state(still_open)["erased"]


def test_an_admin_exports_and_deletes_one_users_data_and_both_are_audited(database):
    mine, number, _ = open_ticket("wx-openid-abcdef123", channel="wechat")
    also_mine, _, _ = open_ticket("web-session-9", channel="socketio")  # the same phone on another channel
    other, _, _ = open_ticket("wx-openid-zzz", channel="wechat", phone="13900001111", contact_name="李女士")
    admin = officer_client(database, "chief", role="admin")
    page = admin.get("/console/privacy")
    assert page.status_code == 200 and "个人信息" in page.text and "180 天" in page.text

    exported = admin.post("/console/privacy", data={"csrf_token": csrf(page.text), "phone": "138 1234 5678",
                                                     "action": "export"})
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    data = exported.json()
    assert [t["number"] for t in data["tickets"]][0] == number and len(data["tickets"]) == 2
    assert data["tickets"][0]["phone"] == PHONE and data["tickets"][0]["messages"][0]["text"] == "开公司要多久"

    refused = admin.post("/console/privacy", data={"csrf_token": csrf(page.text), "channel": "wechat",
                                                    "sender_id": "wx-openid-abcdef123", "action": "delete"})
    assert refused.status_code == 400 and "确认删除" in refused.text and not _state(mine)["erased"]
    deleted = admin.post("/console/privacy", data={"csrf_token": csrf(page.text), "channel": "wechat",
                                                    "sender_id": "wx-openid-abcdef123", "action": "delete",
                                                    "confirm": "yes"})
    assert deleted.status_code == 200 and "已删除 1 张工单" in deleted.text
    assert _state(mine)["erased"] and _state(mine)["status"] in ("open", "closed")
    assert not _state(also_mine)["erased"] and not _state(other)["erased"]
    assert admin.post("/console/privacy", data={"csrf_token": csrf(page.text), "phone": PHONE,
                                                 "action": "export"}).json()["tickets"][0]["channel"] == "socketio"

    with session_scope() as session:
        entries = session.execute(
            select(AuditEntry).where(AuditEntry.action.in_(["privacy_export", "privacy_delete"])).order_by(AuditEntry.id)
        ).scalars().all()
        assert [e.action for e in entries] == ["privacy_export", "privacy_delete", "privacy_export"]
        assert all(e.username == "chief" for e in entries)
        assert PHONE not in " ".join(e.detail for e in entries) and "wx-openid-abcdef123" not in entries[1].detail
    assert "删除个人信息" in admin.get("/console/audit").text


def test_only_administrators_reach_the_personal_data_page(database):
    officer = officer_client(database, "wang")
    assert officer.get("/console/privacy").status_code == 403
    token = csrf(officer.get("/console/queue").text)
    response = officer.post("/console/privacy", data={"csrf_token": token, "phone": PHONE, "action": "export"})
    assert response.status_code == 403


def test_the_consent_text_says_what_is_kept_and_for_how_long():
    domain = yaml.safe_load((DOMAIN_DIR / "handoff.yml").read_text(encoding="utf-8"))
    text = domain["responses"]["utter_ask_handoff_consent"][0]["text"]
    assert "称呼" in text and "手机号" in text and "对话记录" in text
    assert "保存{retention_days}天" in text and "删除" in text  # filled from TICKET_RETENTION_DAYS (test_handoff_actions)


async def _remember(path, sender: str, said: str) -> None:
    """A conversation saved by Rasa's own SQL tracker store, as the running bot saves it."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    tracker = DialogueStateTracker.from_events(sender, [UserUttered(said), BotUttered("开办企业最快0.5天")])
    await store.save(tracker)
    store.engine.dispose()


async def test_export_and_delete_cover_the_conversation_in_the_tracker_store(database, tmp_path, monkeypatch):
    tracker_db = tmp_path / "tracker.db"
    monkeypatch.setenv("TRACKER_DB", str(tracker_db))
    monkeypatch.delenv("TRACKER_DB_URL", raising=False)
    monkeypatch.delenv("TRACKER_PG_HOST", raising=False)
    await _remember(tracker_db, "wx-openid-abcdef123", "我叫陈大文，电话13812345678，想开公司")
    await _remember(tracker_db, "wx-openid-zzz", "个体户怎么注销")
    open_ticket("wx-openid-abcdef123", channel="wechat")
    admin = officer_client(database, "chief", role="admin")
    token = csrf(admin.get("/console/privacy").text)
    form = {"csrf_token": token, "channel": "wechat", "sender_id": "wx-openid-abcdef123"}

    exported = admin.post("/console/privacy", data={**form, "action": "export"}).json()
    [conversation] = exported["conversations"]
    assert conversation["conversation_id"] == "wx-openid-abcdef123"
    assert [(m["author"], m["text"]) for m in conversation["messages"]] == [
        ("user", "我叫陈大文，电话13812345678，想开公司"), ("bot", "开办企业最快0.5天")]

    deleted = admin.post("/console/privacy", data={**form, "action": "delete", "confirm": "yes"})
    assert deleted.status_code == 200
    engine = create_engine(f"sqlite:///{tracker_db}")
    with engine.connect() as connection:
        senders = [row[0] for row in connection.execute(text("SELECT DISTINCT sender_id FROM events"))]
    engine.dispose()
    assert senders == ["wx-openid-zzz"]  # the other user's conversation stays
    with session_scope() as session:
        audit = session.execute(select(AuditEntry).where(AuditEntry.action == "privacy_delete")).scalars().one()
        assert "2 条对话记录" in audit.detail


def test_unanswered_questions_keep_no_phone_numbers_and_expire(database, capsys):
    from core.knowledge.models import UnansweredQuestion
    from core.knowledge.repository import KnowledgeRepository

    with session_scope() as session:
        KnowledgeRepository(session).record_unanswered("我电话13812345678，身份证440105199001011234，怎么办执照", "fallback")
        session.add(UnansweredQuestion(text="去年的问题", reason="fallback",
                                       created_at=datetime.utcnow() - timedelta(days=200)))
    with session_scope() as session:
        kept = sorted(q.text for q in session.execute(select(UnansweredQuestion)).scalars())
    assert kept[1] == "我电话[手机号]，身份证[身份证号]，怎么办执照" and kept[0] == "去年的问题"

    assert privacy.main(["retention"]) == 0  # UNANSWERED_RETENTION_DAYS unset: 180 days
    assert "1 unanswered question(s) older than 180 days deleted" in capsys.readouterr().out
    with session_scope() as session:
        assert [q.text for q in session.execute(select(UnansweredQuestion)).scalars()] == [kept[1]]
