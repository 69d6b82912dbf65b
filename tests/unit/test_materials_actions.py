"""The actions that close the materials forms: the checklist (saved per conversation, surviving a restart) and
the two verdicts. Real domain, real repository over a temporary SQLite database."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from actions.materials import names
from actions.materials.actions import ActionAddressVerdict, ActionMaterialsChecklist, ActionSimpleDeregVerdict
from core import db
from core.materials.repository import MaterialsRepository, materials_repository


def _text(dispatcher) -> str:
    return "\n".join(m.get("text") or m.get("response") or "" for m in dispatcher.messages)


MILK_TEA_SLOTS: Dict[str, Any] = {
    names.SLOT_PROCEDURE: "setup",
    names.SLOT_ENTITY_TYPE: "个体工商户",
    "mat_premises": "rented",
    "mat_residential": False,
    "mat_family_run": False,
    "mat_food": "catering",
    "mat_hk_macao": False,
    "mat_agent": False,
    names.SLOT_ANSWERED: True,
    names.SLOT_HELD: {"身份证明": True, "租赁合同": True},
}


async def test_checklist_for_the_milk_tea_shop(database, domain, dispatcher, tracker_for):
    events = await ActionMaterialsChecklist().run(dispatcher, tracker_for("自己办", slots=MILK_TEA_SLOTS), domain)
    text = _text(dispatcher)
    assert "个体工商户登记（备案）申请书" in text
    assert "✅" in text and "❌" in text and "📌" in text and "依据" in text
    assert "食品经营许可" in text
    assert "家庭成员" not in text and "授权委托书" not in text  # answered: 个人经营, 自己办
    assert all(len(m["text"]) <= 600 for m in dispatcher.messages)
    assert {"event": "slot", "timestamp": None, "name": names.SLOT_PREVIEWED, "value": None} in events
    with materials_repository() as repo:
        saved = repo.saved_checklist("test-user")
    assert saved.procedure_id == "setup.individual" and saved.held == {"身份证明": True, "租赁合同": True}
    assert saved.conditions["food"] == "catering"


async def test_updated_intro_after_a_preview(database, domain, dispatcher, tracker_for):
    slots = {**MILK_TEA_SLOTS, names.SLOT_PREVIEWED: True}
    await ActionMaterialsChecklist().run(dispatcher, tracker_for("自己办", slots=slots), domain)
    assert dispatcher.messages[0]["response"] == "utter_materials_updated_intro"


async def test_checklist_survives_a_restart(database, domain, tracker_for):
    """A checklist saved by one process is read back by a new engine on the same SQLite file."""
    from rasa_sdk.executor import CollectingDispatcher

    await ActionMaterialsChecklist().run(
        CollectingDispatcher(), tracker_for("x", slots=MILK_TEA_SLOTS, sender="restart-user"), domain
    )
    db.get_engine().dispose()
    engine = db._make_engine(database)  # a new engine, as after a restart
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        saved = MaterialsRepository(session).saved_checklist("restart-user")
    engine.dispose()
    assert saved is not None and saved.entity_type == "个体工商户"
    assert saved.held == {"身份证明": True, "租赁合同": True}
    db.configure(database)  # and the process-wide one, re-made, sees it too
    with materials_repository() as repo:
        assert repo.saved_checklist("restart-user").conditions["premises"] == "rented"


async def test_later_materials_update_the_saved_checklist(database, domain, dispatcher, tracker_for):
    await ActionMaterialsChecklist().run(dispatcher, tracker_for("x", slots=MILK_TEA_SLOTS), domain)
    held = {**MILK_TEA_SLOTS[names.SLOT_HELD], "登记申请书": True}
    await ActionMaterialsChecklist().run(dispatcher, tracker_for("申请书填好了", slots={**MILK_TEA_SLOTS, names.SLOT_HELD: held}), domain)
    with materials_repository() as repo:
        assert repo.saved_checklist("test-user").held["登记申请书"] is True
    assert "已经齐了" in dispatcher.messages[-3]["text"] or "已经齐了" in _text(dispatcher)


async def test_not_covered_combination_offers_a_person(database, domain, dispatcher, tracker_for):
    slots = {names.SLOT_PROCEDURE: "setup", names.SLOT_ENTITY_TYPE: "股份有限公司"}
    await ActionMaterialsChecklist().run(dispatcher, tracker_for("x", slots=slots), domain)
    assert "转人工" in _text(dispatcher) and "股份有限公司" in _text(dispatcher)
    slots = {names.SLOT_PROCEDURE: "setup", names.SLOT_ENTITY_TYPE: "合伙企业", "mat_hk_macao": True}
    await ActionMaterialsChecklist().run(dispatcher, tracker_for("x", slots=slots), domain)
    assert "港澳台或境外投资者设立合伙企业" in _text(dispatcher)


async def test_stopped_form_says_how_to_come_back(database, domain, dispatcher, tracker_for):
    slots = {**MILK_TEA_SLOTS, names.SLOT_STOPPED: True}
    events = await ActionMaterialsChecklist().run(dispatcher, tracker_for("结束", slots=slots), domain)
    assert dispatcher.messages[-1]["response"] == "utter_materials_stopped"
    assert any(e["name"] == names.SLOT_STOPPED and e["value"] is None for e in events)


@pytest.mark.parametrize(
    "slots",
    [
        {},
        {names.SLOT_PROCEDURE: "nonsense", names.SLOT_ENTITY_TYPE: "<script>"},
        {names.SLOT_PROCEDURE: "setup", names.SLOT_ENTITY_TYPE: "'; DROP TABLE x; --", names.SLOT_HELD: "oops"},
        {names.SLOT_PROCEDURE: "setup", names.SLOT_ENTITY_TYPE: "个体工商户", "mat_food": "🍵", names.SLOT_HELD: {"x" * 300: True}},
    ],
)
async def test_bad_slot_values_never_crash(database, domain, dispatcher, tracker_for, slots):
    events = await ActionMaterialsChecklist().run(dispatcher, tracker_for("x", slots=slots, sender="s" * 500), domain)
    assert isinstance(events, list) and dispatcher.messages


# --- verdicts ---


async def test_simple_dereg_not_eligible_explains_the_way_forward(database, domain, dispatcher, tracker_for):
    slots = {names.SLOT_ENTITY_TYPE: "有限责任公司", "sd_debts": False, "sd_abnormal": True, "sd_branches": True,
             "sd_revoked": False}
    events = await ActionSimpleDeregVerdict().run(dispatcher, tracker_for("没有", slots=slots), domain)
    text = _text(dispatcher)
    assert "还不能走" in text and "移出经营异常名录" in text and "先注销分支机构" in text
    assert {e["name"] for e in events} == {"sd_debts", "sd_abnormal", "sd_branches", "sd_revoked"}


async def test_simple_dereg_revoked_goes_to_general_deregistration(database, domain, dispatcher, tracker_for):
    slots = {names.SLOT_ENTITY_TYPE: "个体工商户", "sd_revoked": True}
    await ActionSimpleDeregVerdict().run(dispatcher, tracker_for("有", slots=slots), domain)
    assert "普通注销" in _text(dispatcher)


async def test_simple_dereg_eligible(database, domain, dispatcher, tracker_for):
    slots = {names.SLOT_ENTITY_TYPE: "合伙企业", **{f"sd_{k}": False for k in
             ("debts", "abnormal", "pledged", "investment", "investigation", "revoked", "penalty", "branches", "approval")}}
    await ActionSimpleDeregVerdict().run(dispatcher, tracker_for("没有", slots=slots), domain)
    text = _text(dispatcher)
    assert "✅" in text and "20日" in text and "请以窗口要求为准" in text


async def test_simple_dereg_unsure_answers_are_flagged(database, domain, dispatcher, tracker_for):
    slots = {names.SLOT_ENTITY_TYPE: "个体工商户", "sd_debts": "unsure", "sd_abnormal": False}
    await ActionSimpleDeregVerdict().run(dispatcher, tracker_for("不确定", slots=slots), domain)
    assert "不确定" in _text(dispatcher)


async def test_simple_dereg_for_a_branch_is_not_covered(database, domain, dispatcher, tracker_for):
    await ActionSimpleDeregVerdict().run(dispatcher, tracker_for("x", slots={names.SLOT_ENTITY_TYPE: "分公司"}), domain)
    assert "转人工" in _text(dispatcher)


@pytest.mark.parametrize(
    "facts, expected",
    [
        ({"addr_type": "residential", "addr_business": "catering"}, "请以窗口要求为准"),
        ({"addr_type": "residential", "addr_business": "office"}, "✅"),
        ({"addr_type": "commercial", "addr_business": "catering"}, "食品经营许可"),
        ({"addr_type": "online", "entity_type": "个体工商户"}, "网络经营场所"),
        ({"addr_type": "online", "entity_type": "有限责任公司"}, "❌"),
        ({"addr_type": "restricted"}, "❌"),
        ({"addr_type": "industrial"}, "转人工"),
    ],
)
async def test_address_verdicts(database, domain, dispatcher, tracker_for, facts, expected):
    slots = {names.SLOT_ADDR_TYPE: facts.get("addr_type"), names.SLOT_ADDR_BUSINESS: facts.get("addr_business"),
             names.SLOT_ENTITY_TYPE: facts.get("entity_type")}
    events = await ActionAddressVerdict().run(dispatcher, tracker_for("x", slots=slots), domain)
    assert expected in _text(dispatcher)
    assert "依据" in _text(dispatcher) or "转人工" in _text(dispatcher)
    assert {e["name"] for e in events} == {names.SLOT_ADDR_TYPE, names.SLOT_ADDR_BUSINESS}


async def test_address_verdict_says_what_to_promise(database, domain, dispatcher, tracker_for):
    slots = {names.SLOT_ADDR_TYPE: "commercial", names.SLOT_ADDR_BUSINESS: "office"}
    await ActionAddressVerdict().run(dispatcher, tracker_for("x", slots=slots), domain)
    assert "要承诺" in _text(dispatcher) and "送达地址" in _text(dispatcher)
