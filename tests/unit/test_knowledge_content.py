"""The curated answers say the right things: every topic intent is answered, key figures are right, outdated
beliefs are corrected, and unconfirmed points stay out of the answer text."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import yaml

from actions import names
from core.knowledge.schema import ALL, ENTITY_TYPES, Entry, TopicFile, load_topic_files

ROOT = Path(__file__).resolve().parents[2]
ANSWERS = ROOT / "knowledge" / "answers"
DOMAIN = ROOT / "bot" / "domain" / "answers.yml"
INDIVIDUAL = "个体工商户"


def _domain_intents() -> List[str]:
    data = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))
    result = []
    for item in data["intents"]:
        result.append(next(iter(item)) if isinstance(item, dict) else item)
    return result


TOPICS: List[TopicFile] = load_topic_files(ANSWERS)
ENTRIES: List[Entry] = [e for t in TOPICS for e in t.entries]
DOMAIN_INTENTS = _domain_intents()
TOPIC_INTENTS = [
    i
    for i in DOMAIN_INTENTS
    if not i.startswith(names.FOLLOWUP_PREFIX) and i not in names.NON_TOPIC_INTENTS
]


def flat(text: str) -> str:
    """The text without blanks, so that "20 日" and "20日" compare equal."""
    return re.sub(r"\s+", "", text)


def entry_for(intent: str, entity_type: Optional[str] = None) -> Entry:
    wanted = entity_type or ALL
    found = [e for e in ENTRIES if e.intent == intent and wanted in e.entity_types]
    assert len(found) == 1, f"expected one entry for {intent!r}/{wanted!r}, found {[e.id for e in found]}"
    return found[0]


def text_of(intent: str, entity_type: Optional[str] = None) -> str:
    return flat(entry_for(intent, entity_type).answer)


# ------------------------------------------------------------------------------------------- coverage


def test_the_domain_lists_topic_intents():
    assert "simple_dereg_notice" in TOPIC_INTENTS
    assert "inform_entity_type" not in TOPIC_INTENTS
    assert not [i for i in TOPIC_INTENTS if i.startswith("followup_")]


@pytest.mark.parametrize("intent", TOPIC_INTENTS)
def test_every_topic_intent_has_exactly_one_general_entry(intent):
    general = [e.id for e in ENTRIES if e.intent == intent and ALL in e.entity_types]
    assert len(general) == 1, f"{intent}: general entries {general}"


def test_every_entry_answers_an_intent_of_the_domain():
    unknown = {e.id: e.intent for e in ENTRIES if e.intent and e.intent not in TOPIC_INTENTS}
    assert not unknown


@pytest.mark.parametrize(
    "intent, entity_type",
    [
        ("simple_dereg_notice", INDIVIDUAL),
        ("simple_dereg_materials", INDIVIDUAL),
        ("simple_dereg_process", INDIVIDUAL),
        ("simple_dereg_eligibility", INDIVIDUAL),
        ("general_dereg_materials", INDIVIDUAL),
        ("startup_materials", INDIVIDUAL),
        ("startup_materials", "个人独资企业"),
        ("startup_materials", "合伙企业"),
        ("startup_materials", "一人有限责任公司"),
        ("startup_materials", "分公司"),
    ],
)
def test_entity_type_variants_exist(intent, entity_type):
    variant = entry_for(intent, entity_type)
    assert ALL not in variant.entity_types


def test_followups_point_to_general_entries_of_the_same_topic():
    for topic in TOPICS:
        intents = {e.intent for e in topic.entries if ALL in e.entity_types}
        for kind, intent in topic.followups.items():
            assert intent in TOPIC_INTENTS, f"{topic.topic}: {kind} -> unknown intent {intent}"
            assert intent in intents, f"{topic.topic}: {kind} -> {intent} has no general entry in the topic"


def test_simple_deregistration_followups():
    dereg = next(t for t in TOPICS if "simple_dereg_notice" in {e.intent for e in t.entries})
    plain = {kind: intent for kind, intent in dereg.followups.items() if "@" not in kind}
    assert plain == {
        "duration": "simple_dereg_notice",
        "materials": "simple_dereg_materials",
        "process": "simple_dereg_process",
        "where": "simple_dereg_process",
    }
    assert dereg.followups["duration@general_dereg_process"] == "general_dereg_process"
    assert dereg.followups["materials@general_dereg_process"] == "general_dereg_materials"


# ------------------------------------------------------------------------------------------- figures


def test_simple_deregistration_notice_is_20_days_and_45_is_outdated():
    text = text_of("simple_dereg_notice")
    assert "20日" in text or "20天" in text
    assert "期满之日起20日内" in text
    assert "45天" in text or "45日" in text
    assert "旧规定" in text or "过时" in text
    assert "30" in flat(entry_for("simple_dereg_notice").to_confirm or ""), "the 30-day extension stays to_confirm"


def test_individual_simple_deregistration_has_no_public_notice_and_10_days():
    for intent in ("simple_dereg_notice", "simple_dereg_process", "simple_dereg_eligibility"):
        text = text_of(intent, INDIVIDUAL)
        assert "10日" in text, intent
    notice = text_of("simple_dereg_notice", INDIVIDUAL)
    assert "不需要公示" in notice or "无需公示" in notice or "不用公示" in notice


def test_individual_general_deregistration_needs_no_resolution_or_clearing_report():
    text = text_of("general_dereg_materials", INDIVIDUAL)
    assert "不需要" in text and "决议" in text and "清算报告" in text
    assert "清税证明" in text


def test_general_deregistration_periods():
    text = text_of("general_dereg_process")
    for figure in ("15日内", "10日内", "60日内", "30日内", "45日内"):
        assert figure in text, figure
    assert "清税证明" in text_of("general_dereg_materials")


def test_one_person_company_corrects_the_100k_minimum():
    text = text_of("one_person_company")
    assert "10万" in text
    assert "旧规定" in text or "取消" in text
    assert "5年内缴足" in text
    assert "连带责任" in text


def test_registered_capital_is_subscribed_and_paid_within_five_years():
    text = text_of("registered_capital")
    assert "认缴" in text and "5年内缴足" in text


def test_startup_takes_half_a_day():
    assert "0.5天" in text_of("startup_process")


def test_name_reservation_is_self_declared_and_kept_two_months():
    text = text_of("name_reservation")
    assert "2个月" in text and "1年" in text
    assert "预先核准" in text and "自主申报" in text


def test_branch_registration_within_30_days_where_the_branch_is():
    text = text_of("branch_setup")
    assert "30日内" in text and "所在地" in text


def test_suspension_at_most_three_years():
    assert "3年" in text_of("business_suspension")


def test_annual_report_window():
    text = text_of("annual_report")
    assert "1月1日" in text and "6月30日" in text


def test_food_licence_valid_five_years_and_prepackaged_needs_filing():
    text = text_of("food_licence")
    assert "5年" in text and "预包装" in text and "备案" in text


def test_individual_operator_change_no_longer_needs_deregistration():
    text = text_of("individual_change_operator")
    assert "不用先注销" in text or "无需先注销" in text
    assert "过时" in text
    assert "第十三条" in entry_for("individual_change_operator").source


def test_cbso_offers_a_human_and_keeps_contacts_unconfirmed():
    entry = entry_for("cbso_info")
    assert "转人工" in entry.answer
    assert entry.to_confirm and "联系" in entry.to_confirm


# ------------------------------------------------------------------------------------------- uncertainty


def test_no_answer_contains_the_unconfirmed_marker():
    for entry in ENTRIES:
        assert "待确认" not in entry.answer, entry.id
        assert "〔" not in entry.answer, entry.id


def test_known_unconfirmed_points_are_in_to_confirm():
    assert "枚" in (entry_for("startup_free").to_confirm or "")
    assert entry_for("address_prohibited").to_confirm
    assert "一人一元" in (entry_for("hk_macao_investor").to_confirm or "")
    assert "地址" in (entry_for("startup_where").to_confirm or "")


def test_other_cities_are_only_references():
    cities = ("中山", "清远", "深圳", "江门", "四川", "佛山")
    for entry in ENTRIES:
        if any(city in entry.answer for city in cities):
            assert entry.to_confirm, f"{entry.id} cites another city without a to_confirm note"
            assert "以登记机关口径为准" in entry.answer, entry.id


# ------------------------------------------------------------------------------------------- form


def test_entries_are_phone_sized_and_well_formed():
    for entry in ENTRIES:
        assert 100 <= len(entry.answer) <= 900, f"{entry.id}: {len(entry.answer)} characters"
        # enough wordings for retrieval to find it the way people ask (colloquial, Cantonese, Traditional, typos)
        assert 4 <= len(entry.paraphrases) <= 20, entry.id
        assert len(entry.buttons) <= 3, entry.id
        assert entry.reviewed >= entry.rule_date[:4] and entry.reviewed >= "2026-11-25", entry.id
        assert entry.source_url, entry.id


# buttons may also start the guided checks of the materials check (bot/domain/materials.yml)
SELF_CHECK_INTENTS = {"check_materials", "check_simple_dereg_eligibility", "check_address"}


def test_buttons_ask_known_intents():
    for entry in ENTRIES:
        for button in entry.buttons:
            assert len(button.title) <= 12, (entry.id, button.title)
            match = re.match(r"^/([a-z_]+)(\{.*\})?$", button.payload)
            assert match and match.group(1) in set(TOPIC_INTENTS) | SELF_CHECK_INTENTS, (entry.id, button.payload)
            if match.group(2):
                values: Dict[str, str] = json.loads(match.group(2))
                assert values.get("entity_type") in ENTITY_TYPES, (entry.id, button.payload)
