"""The materials knowledge files are valid, sourced and consistent with the domain; the loader seeds them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from actions.materials import names
from core.materials.loader import load_all
from core.materials.repository import materials_repository
from core.materials.schema import MATERIALS_DIR, MaterialsKnowledgeError, load_knowledge


@pytest.fixture(scope="module")
def knowledge():
    return load_knowledge()


def test_files_load(knowledge):
    assert len(knowledge.procedures) >= 10
    assert {p.kind for p in knowledge.procedures} == {"setup", "simple_dereg", "general_dereg", "address", "food"}


def test_every_item_is_sourced_dated_and_says_where_to_get_it(knowledge):
    for procedure in knowledge.procedure_specs():
        for item in procedure.requirements:
            assert item.sourced.source and item.sourced.rule_date and len(item.sourced.reviewed) == 10, item.id
            assert item.where, item.id
            if item.requirement == "conditional":
                assert item.condition, item.id


def test_unconfirmed_items_send_the_user_to_the_window(knowledge):
    for procedure in knowledge.procedure_specs():
        for item in procedure.requirements:
            if item.requirement == "unconfirmed":
                assert "窗口" in item.where, item.id


def test_every_condition_has_a_slot_and_a_question_in_the_domain(knowledge, domain):
    for key, condition in knowledge.conditions.conditions.items():
        assert condition.slot in domain["slots"], key
        assert f"utter_ask_{condition.slot}" in domain["responses"], key
    for slot in (names.SLOT_PROCEDURE, names.SLOT_ENTITY_TYPE, names.SLOT_ANSWERED, names.SLOT_ADDR_TYPE,
                 names.SLOT_ADDR_BUSINESS):
        assert f"utter_ask_{slot}" in domain["responses"], slot


def test_every_exclusion_has_a_slot_and_a_question_in_the_domain(knowledge, domain):
    for procedure in knowledge.procedure_specs():
        if procedure.eligibility:
            for exclusion in procedure.eligibility.exclusions:
                assert exclusion.slot in domain["slots"], exclusion.key
                assert f"utter_ask_{exclusion.slot}" in domain["responses"], exclusion.key


def test_every_response_the_code_uses_is_in_the_domain(domain):
    import re

    used = set()
    for path in Path("actions/materials").glob("*.py"):
        used.update(re.findall(r'"(utter_[a-z_]+)"', path.read_text(encoding="utf-8")))
    used.update(f"utter_address_{v}" for v in ("allowed", "not_allowed", "check_window", "not_covered"))
    missing = sorted(u for u in used if u not in domain["responses"])
    assert not missing, missing


def test_vocabulary_is_in_the_jieba_dictionary(knowledge):
    words = {line.split()[0] for line in Path("bot/jieba_dict/registration.txt").read_text(encoding="utf-8").splitlines() if line}
    for canonical, synonyms in knowledge.vocabulary.materials.items():
        for name in [canonical, *synonyms]:
            if len(name) >= 2:
                assert name in words, f"{name} missing: run `make vocab`"


def test_invalid_files_are_all_reported(tmp_path):
    target = tmp_path / "materials"
    shutil.copytree(MATERIALS_DIR, target)
    for name, breakage in (("setup_llc.yml", "material"), ("setup_branch.yml", "source")):
        path = target / name
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if breakage == "material":
            data["materials"][0]["satisfied_by"] = ["不存在的材料"]
        else:
            data["materials"][0].pop("source")
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(MaterialsKnowledgeError) as error:
        load_knowledge(target)
    assert "不存在的材料" in str(error.value) and "setup_branch.yml" in str(error.value)


def test_loader_is_idempotent_and_keeps_checklists(database):
    with materials_repository() as repo:
        repo.save_checklist("seed-user", "setup.llc", "有限责任公司", {}, {"身份证明": True})
    counts = load_all()
    assert counts["procedures_inserted"] == 0 and counts["procedures_updated"] == 0
    with materials_repository() as repo:
        assert repo.saved_checklist("seed-user").held == {"身份证明": True}
        assert len(repo.procedures()) == len(load_knowledge().procedures)
