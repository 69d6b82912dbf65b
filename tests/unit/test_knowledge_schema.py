"""The knowledge files are valid and sourced; the loader and the repository behave as the actions expect."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core import db
from core.knowledge.loader import ANSWERS_DIR, seed
from core.knowledge.models import KnowledgeEntry
from core.knowledge.repository import KnowledgeRepository
from core.knowledge.schema import KnowledgeError, TopicFile, load_topic_files

VALID_ENTRY = {
    "id": "demo.notice",
    "intent": "simple_dereg_notice",
    "question": "简易注销公示多久？",
    "answer": "简易注销的公示期是20日，公示期满之日起20日内申请注销。",
    "source": "《市场主体登记管理条例》第三十三条",
    "rule_date": "2022-03-01",
    "reviewed": "2026-11-25",
}


def topic(name: str = "demo", **entry_changes) -> dict:
    return {"topic": name, "title": "演示", "entries": [{**VALID_ENTRY, **entry_changes}]}


def write_topics(directory: Path, *topics: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for data in topics:
        (directory / f"{data['topic']}.yml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return directory


def test_the_project_knowledge_files_are_valid():
    topics = load_topic_files(ANSWERS_DIR)
    assert topics, "knowledge/answers has no topic files"
    for topic_file in topics:
        for entry in topic_file.entries:
            assert entry.source.strip() and entry.reviewed


@pytest.mark.parametrize(
    "change, message",
    [
        ({"source": ""}, "source"),
        ({"reviewed": "soon"}, "reviewed"),
        ({"rule_date": "2022/03/01"}, "rule_date"),
        ({"answer": "太短"}, "answer"),
        ({"answer": "公示期20日，窗口期〔待确认〕请注意办理时间。"}, "to_confirm"),
        ({"entity_types": ["小公司"]}, "entity type"),
        ({"id": "Bad Id"}, "id"),
        ({"source_url": "ftp://example"}, "source_url"),
    ],
)
def test_invalid_or_unsourced_entries_are_refused(tmp_path, change, message):
    write_topics(tmp_path, topic(**change))
    with pytest.raises(KnowledgeError) as error:
        load_topic_files(tmp_path)
    assert message in str(error.value)


def test_an_entry_without_a_source_field_is_refused(tmp_path):
    data = topic()
    del data["entries"][0]["source"]
    write_topics(tmp_path, data)
    with pytest.raises(KnowledgeError, match="source"):
        load_topic_files(tmp_path)


def test_duplicate_ids_and_double_answers_are_refused(tmp_path):
    write_topics(tmp_path, topic(), topic("demo1"))
    with pytest.raises(KnowledgeError, match="duplicate entry id"):
        load_topic_files(tmp_path)
    write_topics(tmp_path / "b", topic(), topic("demo1", id="demo.other"))
    with pytest.raises(KnowledgeError, match="answered by both"):
        load_topic_files(tmp_path / "b")


def test_followups_must_point_to_an_entry_of_the_topic():
    with pytest.raises(ValueError, match="no entry"):
        TopicFile.parse_obj({**topic(), "followups": {"duration": "startup_process"}})


def _repo_with(tmp_path, *topics: dict):
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    factory = db.configure(url)
    db.create_schema()
    with factory.begin() as session:
        seed(session, [TopicFile.parse_obj(t) for t in topics])
    return factory


def test_repository_picks_the_variant_for_the_entity_type(tmp_path):
    general = topic()
    general["entries"].append(
        {**VALID_ENTRY, "id": "demo.notice.individual", "entity_types": ["个体工商户"],
         "answer": "个体工商户简易注销不需要公示，相关部门10日内没有异议即可办理。"}
    )
    factory = _repo_with(tmp_path, general)
    with factory.begin() as session:
        kb = KnowledgeRepository(session)
        assert kb.answer_for_intent("simple_dereg_notice").id == "demo.notice"
        assert kb.answer_for_intent("simple_dereg_notice", "个体工商户").id == "demo.notice.individual"
        assert kb.answer_for_intent("simple_dereg_notice", "合伙企业").id == "demo.notice"
        assert kb.answer_for_intent("no_such_intent") is None


def test_repository_has_no_answer_when_the_entry_does_not_cover_the_type(tmp_path):
    factory = _repo_with(tmp_path, topic(entity_types=["有限责任公司"]))
    with factory.begin() as session:
        kb = KnowledgeRepository(session)
        assert kb.answer_for_intent("simple_dereg_notice", "有限责任公司").id == "demo.notice"
        assert kb.answer_for_intent("simple_dereg_notice", "个体工商户") is None


def test_seeding_again_keeps_staff_edits_and_applies_seed_changes(tmp_path):
    factory = _repo_with(tmp_path, topic())
    with factory.begin() as session:
        row = session.get(KnowledgeEntry, "demo.notice")
        row.answer = "工作人员修改过的答案：公示期20日。"
        row.updated_by = "officer1"
    changed = topic(answer="简易注销公示20日（新版措辞），期满20日内申请。")
    with factory.begin() as session:
        counts = seed(session, [TopicFile.parse_obj(changed)])
        assert counts["kept_staff_edit"] == 1
        assert session.get(KnowledgeEntry, "demo.notice").answer.startswith("工作人员修改过")
    factory = _repo_with(tmp_path / "fresh", topic())
    with factory.begin() as session:
        counts = seed(session, [TopicFile.parse_obj(changed)])
        assert counts["updated"] == 1
        assert "新版措辞" in session.get(KnowledgeEntry, "demo.notice").answer
    with factory.begin() as session:
        assert seed(session, [TopicFile.parse_obj(changed)])["unchanged"] == 1


def test_the_file_name_must_be_the_topic(tmp_path):
    (tmp_path / "other.yml").write_text(yaml.safe_dump(topic(), allow_unicode=True), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="must be named demo.yml"):
        load_topic_files(tmp_path)


def test_export_writes_back_what_the_database_holds(tmp_path):
    from core.knowledge.export import export

    factory = _repo_with(tmp_path, topic(paraphrases=["简易注销公告几天"]))
    with factory.begin() as session:
        session.get(KnowledgeEntry, "demo.notice").answer = "工作人员更新：简易注销公示期为20日。"
        session.get(KnowledgeEntry, "demo.notice").updated_by = "officer1"
    with factory.begin() as session:
        assert export(session, tmp_path / "out") == {"demo": 1}
    exported = load_topic_files(tmp_path / "out")
    entry = exported[0].entries[0]
    assert entry.answer == "工作人员更新：简易注销公示期为20日。"
    assert entry.paraphrases == ["简易注销公告几天"] and entry.source == VALID_ENTRY["source"]
