"""Deciding between answering, clarifying, referring and saying "not known" (core.knowledge.decide), on the real
knowledge base: the examples of the wrong answers the first version gave."""

from __future__ import annotations

import pytest

from core.knowledge.decide import ANSWER, CLARIFY, REFER, UNKNOWN, decide
from core.knowledge.repository import knowledge_repository
from core.knowledge.search import faq_search


def decision_for(text, intent=None, confidence=0.0):
    with knowledge_repository() as kb:
        intent_answer = kb.answer_for_intent(intent) if intent else None
        return decide(text, faq_search.search(kb, text, limit=5), intent, confidence, intent_answer)


@pytest.mark.parametrize(
    "text, entry",
    [
        ("公司被列入经营异常名录了怎么移出", "abnormal.how_to_remove"),
        ("合伙企业变更合伙人要什么手续", "change.partner"),
        ("我想换法人", "change.legal_rep_materials"),
    ],
)
def test_the_right_lifecycle_entry_wins_over_a_wrong_nlu_topic(database, text, entry):
    # the first version answered these with 简易注销, the setup materials and 个体户过户
    decision = decision_for(text, "simple_dereg_eligibility", 0.6)
    assert decision.kind == ANSWER and decision.answer.id == entry


def test_a_confident_topic_backed_by_the_words_is_answered(database):
    decision = decision_for("简易注销公示多少天", "simple_dereg_notice", 0.95)
    assert decision.kind == ANSWER and decision.answer.intent == "simple_dereg_notice"


def test_a_confident_topic_the_words_do_not_support_is_not_answered(database):
    decision = decision_for("我们股东之间闹矛盾了，大股东不让小股东查账", "one_person_company", 0.95)
    assert decision.answer is None or decision.answer.intent != "one_person_company"


@pytest.mark.parametrize("text", ["个体户每个月怎么报税", "注册商标要多少钱", "香港人在广州买房有什么限制"])
def test_neighbouring_matters_are_referred_not_answered(database, text):
    decision = decision_for(text, "hk_macao_investor", 0.9)
    assert decision.kind == REFER and decision.referral


def test_a_vague_message_gets_plausible_readings(database):
    decision = decision_for("变更的事情")
    assert decision.kind == CLARIFY
    assert all("变更" in a.question or "变更" in " ".join(a.paraphrases) for a in decision.choices)


def test_nothing_close_is_not_known(database):
    assert decision_for("量子计算机的退相干时间").kind == UNKNOWN


@pytest.mark.parametrize(
    "text, intent, entry",
    [
        ("年报逾期了怎么办", "annual_report", "annual_report.overdue"),
        ("公司改名要什么手续", "name_reservation", "change.name"),
        ("吊销了还要报年报吗", "revoked_licence", "annual_report.suspended_or_revoked"),
        ("年检和年报是不是一回事", "annual_report", "annual_report.no_inspection"),
    ],
)
def test_a_specific_entry_beats_a_confident_general_topic(database, text, intent, entry):
    # the NLU is sure of the big topic, but a specific entry answers the question
    decision = decision_for(text, intent, 0.97)
    assert decision.kind == ANSWER and decision.answer.id == entry


def test_a_general_topic_that_only_ties_a_specific_entry_is_not_answered(database):
    decision = decision_for("公司吊销了法人有什么影响", "revoked_licence", 0.97)
    assert decision.answer is None or decision.answer.id != "dereg.revoked_licence"
