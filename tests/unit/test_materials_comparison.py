"""The comparison of what a user has with what each procedure requires, for every procedure × entity type of the
knowledge base (read through the real repository over a temporary database)."""

from __future__ import annotations

from typing import Dict, Set, Tuple

import pytest

from core.knowledge.schema import ENTITY_TYPES
from core.materials.comparison import (
    DEPENDS,
    HAVE,
    LATER,
    MISSING,
    WINDOW,
    compare,
    open_conditions,
)
from core.materials.repository import materials_repository
from core.materials.schema import load_knowledge
from core.materials.specs import KINDS, HeldMaterials

# (kind, entity type) → the items a user with no materials is missing, whatever the conditions ("must hand in").
# Written from ../shared/domain/materials.yaml, not derived from the knowledge files under test.
COMPANY = ("有限责任公司", "一人有限责任公司")
MANDATORY: Dict[Tuple[str, str], Set[str]] = {
    **{("setup", t): {"application", "articles", "shareholders", "setup_address", "appointments", "officer_ids"} for t in COMPANY},
    ("setup", "个人独资企业"): {"application", "investor_id", "setup_address"},
    ("setup", "合伙企业"): {"application", "agreement", "partner_ids", "setup_address"},
    ("setup", "个体工商户"): {"application", "operator_id", "premises"},
    ("setup", "分公司"): {"application", "setup_address", "head_appointment", "head_id"},
    **{
        ("simple_dereg", t): {"dereg_application", "commitment"}
        for t in ("有限责任公司", "一人有限责任公司", "股份有限公司", "个人独资企业", "合伙企业")
    },
    ("simple_dereg", "个体工商户"): {"dereg_application"},
    **{
        ("general_dereg", t): {"dereg_application", "resolution", "liquidation", "tax_clearance"}
        for t in ("有限责任公司", "一人有限责任公司", "股份有限公司", "个人独资企业", "合伙企业")
    },
    ("general_dereg", "个体工商户"): {"dereg_application", "tax_clearance"},
    **{("address", t): set() for t in ENTITY_TYPES},
    **{("food", t): set() for t in ENTITY_TYPES},
}
# combinations the knowledge base has no checklist for: the bot says so and offers a CBSO officer
NOT_COVERED = {("setup", "股份有限公司"), ("simple_dereg", "分公司"), ("general_dereg", "分公司")}


@pytest.fixture()
def procedures(database):
    with materials_repository() as repo:
        return {(kind, t): repo.materials_for(kind, t) for kind in KINDS for t in ENTITY_TYPES}


@pytest.fixture(scope="module")
def values():
    conditions = load_knowledge().conditions
    return {k: tuple(c.values) for k, c in conditions.conditions.items()}, list(conditions.order)


def _short(item_id: str) -> str:
    return item_id.rsplit(".", 1)[-1]


def test_every_combination_is_either_in_the_table_or_not_covered(procedures):
    for key, procedure in procedures.items():
        if procedure is None:
            assert key in NOT_COVERED, f"{key} has no checklist but is not listed as not covered"
        else:
            assert key in MANDATORY, f"{key} ({procedure.id}) has a checklist but no test row"
    assert set(MANDATORY) | NOT_COVERED == set(procedures)


@pytest.mark.parametrize("key", sorted(MANDATORY))
def test_nothing_held_everything_mandatory_is_missing(procedures, key):
    procedure = procedures[key]
    checklist = compare(procedure, key[1], {})
    assert {_short(i.requirement.id) for i in checklist.missing} == MANDATORY[key]
    assert not checklist.have


@pytest.mark.parametrize("key", sorted(MANDATORY))
def test_holding_one_accepted_material_per_item_leaves_nothing_missing(procedures, key):
    procedure = procedures[key]
    first = compare(procedure, key[1], {})
    held = HeldMaterials({i.requirement.satisfied_by[0]: True for i in first.missing})
    checklist = compare(procedure, key[1], {}, held)
    assert not checklist.missing
    assert {_short(i.requirement.id) for i in checklist.have} >= MANDATORY[key]


@pytest.mark.parametrize("key", sorted(MANDATORY))
def test_saying_you_lack_a_material_keeps_it_missing(procedures, key):
    procedure = procedures[key]
    for item in compare(procedure, key[1], {}).missing:
        held = HeldMaterials({m: False for m in item.requirement.satisfied_by})
        still = {i.requirement.id for i in compare(procedure, key[1], {}, held).missing}
        assert item.requirement.id in still


def test_milk_tea_individual_business(procedures):
    procedure = procedures[("setup", "个体工商户")]
    held = HeldMaterials({"身份证明": True, "租赁合同": True})
    checklist = compare(procedure, "个体工商户", {"premises": "rented", "food": "catering"}, held)
    assert {_short(i.requirement.id) for i in checklist.missing} == {"application"}
    assert {_short(i.requirement.id) for i in checklist.have} == {"operator_id", "premises"}
    assert "food_catering" in {n.id for n in checklist.notes}
    depends = {_short(i.requirement.id): i.state for i in checklist.depends}
    assert depends["family"] == DEPENDS and depends["owners_consent"] == WINDOW and depends["agent_letter"] == DEPENDS


def test_answered_conditions_make_conditional_items_required_or_drop_them(procedures):
    procedure = procedures[("setup", "个体工商户")]
    yes = compare(procedure, "个体工商户", {"family_run": True, "agent": True, "hk_macao": True})
    missing = {_short(i.requirement.id): i for i in yes.missing}
    assert {"family", "agent_letter", "agent_id", "hk_identity"} <= set(missing)
    assert missing["family"].because == "组成形式是家庭经营"
    no = compare(procedure, "个体工商户", {"family_run": False, "agent": False, "hk_macao": False})
    ids = {_short(i.requirement.id) for i in no.items}
    assert not {"family", "agent_letter", "agent_id", "hk_identity"} & ids


def test_unconfirmed_items_are_never_shown_as_certain(procedures):
    for procedure in {p.id: p for p in procedures.values() if p is not None}.values():
        everything_known = {"premises": "rented", "residential": True, "family_run": True, "food": "catering",
                            "hk_macao": True, "agent": True}
        for entity_type in procedure.entity_types:
            checklist = compare(procedure, None if entity_type == "all" else entity_type, everything_known)
            for item in checklist.items:
                if item.requirement.requirement == "unconfirmed":
                    assert item.state in (WINDOW, HAVE), item.requirement.id


def test_residence_asks_for_owners_consent_only_for_a_physical_residence(procedures):
    procedure = procedures[("setup", "有限责任公司")]
    home = compare(procedure, "有限责任公司", {"premises": "owned", "residential": True})
    assert "owners_consent" in {_short(i.requirement.id) for i in home.depends}
    shop = compare(procedure, "有限责任公司", {"premises": "owned", "residential": False})
    assert "owners_consent" not in {_short(i.requirement.id) for i in shop.items}


def test_hong_kong_investor_material_may_be_handed_in_later(procedures):
    procedure = procedures[("setup", "一人有限责任公司")]
    checklist = compare(procedure, "一人有限责任公司", {"hk_macao": True})
    later = {_short(i.requirement.id): i for i in checklist.later}
    assert "foreign_notary" in later and "窗口" in later["foreign_notary"].requirement.deferrable
    assert "deferral" in {n.id for n in checklist.notes}


def test_where_to_get_follows_the_answers(procedures):
    procedure = procedures[("setup", "个体工商户")]
    online = compare(procedure, "个体工商户", {"premises": "online"})
    premises = next(i for i in online.missing if _short(i.requirement.id) == "premises")
    assert "网络经营场所" in premises.where
    rented = compare(procedure, "个体工商户", {"premises": "rented"})
    assert "租赁合同" in next(i for i in rented.missing if _short(i.requirement.id) == "premises").where
    sole = compare(procedures[("setup", "一人有限责任公司")], "一人有限责任公司", {})
    assert "唯一" in next(i for i in sole.missing if _short(i.requirement.id) == "articles").where


def test_food_licence_only_filing_for_prepackaged(procedures):
    procedure = procedures[("food", "个体工商户")]
    catering = compare(procedure, "个体工商户", {"food": "catering"})
    assert {"application", "licence", "layout", "safety_rules"} == {_short(i.requirement.id) for i in catering.missing}
    prepackaged = compare(procedure, "个体工商户", {"food": "prepackaged"})
    assert {_short(i.requirement.id) for i in prepackaged.missing} == {"filing"}
    none = compare(procedure, "个体工商户", {"food": "none"})
    assert not none.missing and "no_food" in {n.id for n in none.notes}


def test_individual_business_general_deregistration_needs_no_resolution(procedures):
    checklist = compare(procedures[("general_dereg", "个体工商户")], "个体工商户", {})
    assert not {"resolution", "liquidation"} & {_short(i.requirement.id) for i in checklist.items}


def test_not_covered_case_is_reported(procedures):
    checklist = compare(procedures[("setup", "个人独资企业")], "个人独资企业", {"hk_macao": True})
    assert checklist.not_covered and "个人独资企业" in checklist.not_covered


def test_materials_not_needed_are_reported_as_extra(procedures):
    checklist = compare(procedures[("setup", "个人独资企业")], "个人独资企业", {}, HeldMaterials({"公司章程": True}))
    assert checklist.extra_held == ["公司章程"]


@pytest.mark.parametrize(
    "key, conditions, expected",
    [
        (("setup", "个体工商户"), {}, ["premises", "residential", "family_run", "food", "hk_macao", "agent"]),
        (("setup", "个体工商户"), {"premises": "online"}, ["family_run", "food", "hk_macao", "agent"]),
        (("setup", "有限责任公司"), {}, ["premises", "residential", "food", "hk_macao", "agent"]),
        (("setup", "分公司"), {"premises": "rented", "residential": False}, ["food", "agent"]),
        (("simple_dereg", "个体工商户"), {}, ["agent"]),
        (("general_dereg", "合伙企业"), {"agent": "unsure"}, []),
        (("food", "个体工商户"), {}, ["food", "agent"]),
        (("address", "有限责任公司"), {"premises": "online"}, []),
    ],
)
def test_only_questions_that_change_the_answer_are_asked(procedures, values, key, conditions, expected):
    condition_values, order = values
    assert open_conditions(procedures[key], key[1], conditions, condition_values, order) == expected


def test_states_are_exclusive(procedures):
    procedure = procedures[("setup", "合伙企业")]
    checklist = compare(procedure, "合伙企业", {"agent": True}, HeldMaterials({"合伙协议": True}))
    for state in (HAVE, MISSING, LATER, DEPENDS, WINDOW):
        for item in checklist.of_state(state):
            assert sum(item.requirement.id == other.requirement.id for other in checklist.items) == 1
