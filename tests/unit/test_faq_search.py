"""FAQ retrieval over the knowledge base: variants, refresh on publish/retire, and the held-out set's hygiene."""

from __future__ import annotations

from datetime import datetime

import pytest
import yaml

import core.knowledge.search as faq
from core.db import session_scope
from core.knowledge.models import STATUS_RETIRED, KnowledgeEntry
from core.knowledge.repository import knowledge_repository
from core.knowledge.schema import load_topic_files
from core.knowledge.search import FaqIndex, FaqSearch, entity_type_in, intent_examples
from core.settings import KNOWLEDGE_DIR, PROJECT_ROOT
from core.text import normalize_text


@pytest.mark.parametrize(
    "text, expected",
    [("个体户怎么注销", "个体工商户"), ("個體戶點樣註銷", "个体工商户"), ("一人公司要什么", "一人有限责任公司"),
     ("分公司名称", "分公司"), ("注销要多久", None)],
)
def test_entity_type_in(text, expected):
    assert entity_type_in(text) == expected


def test_the_variant_for_the_named_entity_type_is_chosen(database):
    with knowledge_repository() as kb:
        index = FaqIndex(kb.published_answers())
    assert index.search("个体户简易注销要公示多久")[0].answer.id == "dereg.simple_notice.individual"
    assert index.search("简易注销公示期是多少天")[0].answer.id == "dereg.simple_notice"


def test_a_published_entry_is_found_at_once_and_a_retired_one_no_more(database, monkeypatch):
    monkeypatch.setattr(faq, "REFRESH_SECONDS", 0.0)
    search = FaqSearch()
    question = "海珠区政务服务中心周六可以办理商事登记吗"
    with knowledge_repository() as kb:
        assert not search.search(kb, question) or search.search(kb, question)[0].answer.id != "staff.saturday"
    with session_scope() as session:
        session.add(KnowledgeEntry(
            id="staff.saturday", topic_id="startup", intent=None, entity_types=["all"], question=question,
            paraphrases=["周六能去窗口办执照吗"], answer="周六不对外办理，请在工作日前往。", buttons=[],
            source="海珠区政务服务中心公告", rule_date="2026-11", reviewed="2026-11-25", status="published",
            origin="staff", updated_by="officer1", updated_at=datetime.utcnow(),
        ))
    with knowledge_repository() as kb:
        best = search.search(kb, "政务服务中心周六可以办理商事登记吗")[0]
    assert best.answer.id == "staff.saturday" and best.score >= faq.ANSWER_THRESHOLD
    with session_scope() as session:
        entry = session.get(KnowledgeEntry, "staff.saturday")
        entry.status = STATUS_RETIRED
        entry.updated_at = datetime.utcnow()
    with knowledge_repository() as kb:
        assert all(m.answer.id != "staff.saturday" for m in search.search(kb, "政务服务中心周六可以办理商事登记吗"))


def test_held_out_paraphrases_share_nothing_with_knowledge_or_training_data():
    heldout = yaml.safe_load((PROJECT_ROOT / "tests" / "faq" / "heldout.yml").read_text(encoding="utf-8"))
    known = {normalize_text(t) for texts in intent_examples().values() for t in texts}
    for topic in load_topic_files(KNOWLEDGE_DIR / "answers"):
        for entry in topic.entries:
            known.update(normalize_text(t) for t in [entry.question, *entry.paraphrases])
    questions = [item["q"] for item in heldout["in_scope"]] + heldout["out_of_scope"]
    assert len(heldout["in_scope"]) >= 80
    overlap = [q for q in questions if normalize_text(q) in known]
    assert not overlap, f"held-out questions also in training data or knowledge: {overlap}"


def test_held_out_expectations_name_existing_entries():
    heldout = yaml.safe_load((PROJECT_ROOT / "tests" / "faq" / "heldout.yml").read_text(encoding="utf-8"))
    ids = {e.id for t in load_topic_files(KNOWLEDGE_DIR / "answers") for e in t.entries}
    assert {item["expect"] for item in heldout["in_scope"]} <= ids
