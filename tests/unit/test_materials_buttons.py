"""Every button of every materials question, sent back as the user's message, sets the value its title promises
(the payload is read as free text, so a payload like 「不是，内地居民」 must not read as the opposite)."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import pytest

from actions.materials import names
from actions.materials.forms import ValidateAddressCheckForm, ValidateMaterialsForm, ValidateSimpleDeregForm

# response → (validation action, slots before, the slot the answer fills, {button title: expected value})
INDIVIDUAL = {names.SLOT_PROCEDURE: "setup", names.SLOT_ENTITY_TYPE: "个体工商户"}
YES_NO = {"是/有": True, "不是/没有": False, "不确定": "unsure"}
EXPECTED: Dict[str, Tuple[type, Dict[str, Any], str, Dict[str, Any]]] = {
    "utter_ask_materials_procedure": (ValidateMaterialsForm, {}, names.SLOT_PROCEDURE, {
        "开办（设立登记）": "setup", "简易注销": "simple_dereg", "普通注销": "general_dereg",
        "住所自主申报": "address", "食品经营许可/备案": "food"}),
    "utter_materials_which_deregistration": (ValidateMaterialsForm, {}, names.SLOT_PROCEDURE, {
        "简易注销": "simple_dereg", "普通注销": "general_dereg"}),
    "utter_ask_mat_entity_type": (ValidateMaterialsForm, {names.SLOT_PROCEDURE: "setup"}, names.SLOT_ENTITY_TYPE, {
        "有限公司": "有限责任公司", "一人有限公司": "一人有限责任公司", "个人独资企业": "个人独资企业",
        "合伙企业": "合伙企业", "个体工商户": "个体工商户", "分公司": "分公司"}),
    "utter_ask_mat_premises": (ValidateMaterialsForm, INDIVIDUAL, "mat_premises", {
        "租的": "rented", "自己的房产": "owned", "别人免费给我用": "free_use", "只开网店": "online"}),
    "utter_ask_mat_residential": (ValidateMaterialsForm, INDIVIDUAL, "mat_residential", {
        "是住宅": True, "不是（商铺、写字楼等）": False, "不确定": "unsure"}),
    "utter_ask_mat_family_run": (ValidateMaterialsForm, INDIVIDUAL, "mat_family_run", {
        "个人经营": False, "家庭经营": True}),
    "utter_ask_mat_food": (ValidateMaterialsForm, INDIVIDUAL, "mat_food", {
        "餐饮/奶茶（现做现卖）": "catering", "只卖预包装食品": "prepackaged", "卖散装食品": "food_sales",
        "不涉及食品": "none"}),
    "utter_ask_mat_hk_macao": (ValidateMaterialsForm, INDIVIDUAL, "mat_hk_macao", {
        "是": True, "不是，内地居民": False}),
    "utter_ask_mat_agent": (ValidateMaterialsForm, INDIVIDUAL, "mat_agent", {
        "自己办": False, "委托别人代办": True}),
    "utter_ask_addr_type": (ValidateAddressCheckForm, {}, names.SLOT_ADDR_TYPE, {
        "商铺/写字楼": "commercial", "住宅（居民楼、自己家）": "residential", "只开网店": "online",
        "厂房/仓库": "industrial", "集群注册（托管）地址": "cluster", "违建/公租房/人防工程等": "restricted"}),
    "utter_ask_addr_business": (ValidateAddressCheckForm, {names.SLOT_ADDR_TYPE: "commercial"}, names.SLOT_ADDR_BUSINESS, {
        "办公类（贸易、咨询、设计等）": "office", "零售或服务门店": "retail", "餐饮/奶茶": "catering",
        "生产加工": "production", "娱乐场所": "entertainment", "只在网上卖": "online_sales"}),
}


def _questions(domain) -> List[str]:
    """Every materials question with buttons: the materials form's, the address check's and the 简易注销 ones."""
    materials_slots = {names.SLOT_PROCEDURE, names.SLOT_ENTITY_TYPE, names.SLOT_ADDR_TYPE, names.SLOT_ADDR_BUSINESS}
    materials_slots |= {s for s in domain["slots"] if s.startswith(("mat_", names.EXCLUSION_SLOT_PREFIX))}
    found = [f"utter_ask_{slot}" for slot in sorted(materials_slots) if f"utter_ask_{slot}" in domain["responses"]]
    found.append("utter_materials_which_deregistration")
    return [r for r in found if any(v.get("buttons") for v in domain["responses"][r])]


def _buttons(domain, response: str) -> List[Dict[str, str]]:
    return [b for variant in domain["responses"][response] for b in variant.get("buttons") or []]


def _cases(domain) -> List[Tuple[str, type, Dict[str, Any], str, str, str, Any]]:
    cases = []
    for response in _questions(domain):
        if response.startswith(f"utter_ask_{names.EXCLUSION_SLOT_PREFIX}"):
            slot = response[len("utter_ask_") :]
            action, before, expected = ValidateSimpleDeregForm, {names.SLOT_ENTITY_TYPE: "有限责任公司"}, YES_NO
        else:
            assert response in EXPECTED, f"{response}: add its buttons' intended values to EXPECTED"
            action, before, slot, expected = EXPECTED[response]
        for button in _buttons(domain, response):
            assert button["title"] in expected, f"{response}: button {button['title']!r} has no expected value"
            cases.append((response, action, before, slot, button["title"], button["payload"], expected[button["title"]]))
    return cases


def test_every_question_with_buttons_is_covered(domain):
    covered = {case[0] for case in _cases(domain)}
    assert set(EXPECTED) <= covered
    assert any(r.startswith("utter_ask_sd_") for r in covered)


async def test_every_button_sets_the_value_its_title_says(database, domain, tracker_for):
    from rasa_sdk.executor import CollectingDispatcher

    wrong = []
    for response, action, before, slot, title, payload, expected in _cases(domain):
        slots = {**before, names.REQUESTED_SLOT: slot}
        events = await action().run(CollectingDispatcher(), tracker_for(payload, slots=slots), domain)
        got = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}.get(slot, before.get(slot))
        if got != expected:
            wrong.append(f"{response} 「{title}」 → payload {payload!r} set {slot}={got!r}, expected {expected!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("text, expected", [("不是，内地居民", False), ("不是港澳的，内地居民", False), ("是港澳居民", True)])
async def test_a_denial_before_a_comma_does_not_flip_the_next_clause(database, domain, dispatcher, tracker_for, text, expected):
    slots = {**INDIVIDUAL, names.REQUESTED_SLOT: "mat_hk_macao"}
    events = await ValidateMaterialsForm().run(dispatcher, tracker_for(text, intent="inform_condition", slots=slots), domain)
    assert {e["name"]: e["value"] for e in events if e.get("event") == "slot"}["mat_hk_macao"] is expected
