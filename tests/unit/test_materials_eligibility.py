"""The guided checks as pure logic: 简易注销 exclusions and the address matrix."""

from __future__ import annotations

import pytest

from core.knowledge.schema import ENTITY_TYPES
from core.materials.comparison import procedure_for
from core.materials.eligibility import (
    address_rule,
    exclusions_for,
    open_address_questions,
    open_exclusions,
    simple_dereg_verdict,
)
from core.materials.schema import load_knowledge


@pytest.fixture(scope="module")
def procedures():
    return load_knowledge().procedure_specs()


@pytest.fixture(scope="module")
def check(procedures):
    return next(p.address_check for p in procedures if p.address_check)


def test_listed_company_question_only_for_joint_stock_companies(procedures):
    eligibility = procedure_for(procedures, "simple_dereg", "有限责任公司").eligibility
    assert "listed" not in {e.key for e in exclusions_for(eligibility, "有限责任公司")}
    assert "listed" in {e.key for e in exclusions_for(eligibility, "股份有限公司")}


def test_individual_business_has_its_own_shorter_list(procedures):
    eligibility = procedure_for(procedures, "simple_dereg", "个体工商户").eligibility
    assert {e.key for e in exclusions_for(eligibility, "个体工商户")} == {
        "debts", "abnormal", "investigation", "revoked", "penalty"}


@pytest.mark.parametrize("entity_type", ["有限责任公司", "一人有限责任公司", "股份有限公司", "个人独资企业", "合伙企业", "个体工商户"])
def test_each_exclusion_alone_blocks_with_a_way_forward(procedures, entity_type):
    eligibility = procedure_for(procedures, "simple_dereg", entity_type).eligibility
    relevant = exclusions_for(eligibility, entity_type)
    for exclusion in relevant:
        answers = {e.key: e.key == exclusion.key for e in relevant}
        verdict = simple_dereg_verdict(eligibility, entity_type, answers)
        assert verdict.eligible is False and verdict.blockers == [exclusion]
        assert exclusion.way_forward and exclusion.sourced.source
    assert simple_dereg_verdict(eligibility, entity_type, {e.key: False for e in relevant}).eligible is True
    assert open_exclusions(eligibility, entity_type, {})[0] == relevant[0]


def test_unsure_answer_gives_no_verdict(procedures):
    eligibility = procedure_for(procedures, "simple_dereg", "合伙企业").eligibility
    answers = {e.key: False for e in exclusions_for(eligibility, "合伙企业")}
    answers["debts"] = "unsure"
    verdict = simple_dereg_verdict(eligibility, "合伙企业", answers)
    assert verdict.eligible is None and [e.key for e in verdict.unsure] == ["debts"]


@pytest.mark.parametrize(
    "facts, verdict",
    [
        ({"addr_type": "commercial", "addr_business": "office"}, "allowed"),
        ({"addr_type": "commercial", "addr_business": "catering"}, "allowed"),
        ({"addr_type": "commercial", "addr_business": "production"}, "not_covered"),
        ({"addr_type": "residential", "addr_business": "office"}, "allowed"),
        ({"addr_type": "residential", "addr_business": "retail"}, "allowed"),
        ({"addr_type": "residential", "addr_business": "catering"}, "check_window"),
        ({"addr_type": "residential", "addr_business": "entertainment"}, "check_window"),
        ({"addr_type": "online", "entity_type": "个体工商户"}, "allowed"),
        ({"addr_type": "online", "entity_type": "一人有限责任公司"}, "not_allowed"),
        ({"addr_type": "restricted"}, "not_allowed"),
        ({"addr_type": "cluster"}, "check_window"),
        ({"addr_type": "industrial"}, "not_covered"),
    ],
)
def test_address_matrix(check, facts, verdict):
    assert address_rule(check, facts).verdict == verdict


def test_every_address_combination_has_a_verdict(check):
    for addr_type in check.address_types:
        for business in check.business_types:
            for entity_type in ENTITY_TYPES:
                rule = address_rule(check, {"addr_type": addr_type, "addr_business": business, "entity_type": entity_type})
                assert rule is not None, (addr_type, business, entity_type)
                if not rule.confirmed or rule.verdict == "check_window":
                    assert "窗口" in rule.reason


@pytest.mark.parametrize(
    "facts, expected",
    [
        ({}, ["addr_type", "addr_business", "entity_type"]),
        ({"addr_type": "restricted"}, []),
        ({"addr_type": "online"}, ["entity_type"]),
        ({"addr_type": "residential"}, ["addr_business"]),
    ],
)
def test_address_asks_only_what_changes_the_verdict(check, facts, expected):
    assert open_address_questions(check, facts, ENTITY_TYPES) == expected
