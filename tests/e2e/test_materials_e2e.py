"""The materials check over HTTP (REST channel) against the running servers, and a checklist read back from the
database file with a new engine, as after a restart."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from core.db import _make_engine
from core.materials.repository import MaterialsRepository

MILK_TEA = "我想在海珠开个奶茶店，个体户，现在只有身份证和租房合同"


def test_milk_tea_shop_gets_missing_items_and_the_food_licence_note_in_one_reply(running_bot):
    messages = running_bot.say("e2e-milk-tea", MILK_TEA)
    reply = "\n".join(m.get("text", "") for m in messages)
    assert "个体工商户登记（备案）申请书" in reply  # missing, with where to get it
    assert "👉" in reply and "依据" in reply
    assert "食品经营许可" in reply  # after the licence
    assert "✅" in reply and "身份证明" in reply and "租赁合同" in reply
    assert "公司章程" not in reply  # not a 个体户 material
    assert all(len(m.get("text", "")) <= 600 for m in messages)
    # the remaining questions follow; answering them gives the updated list
    for answer in ("不是住宅，是商铺", "个人经营", "不是，内地居民", "自己办"):
        reply = running_bot.texts("e2e-milk-tea", answer)
    assert "更新后的清单" in reply and "申请书" in reply


def test_come_back_with_a_new_material_and_ask_what_is_missing(running_bot):
    sender = "e2e-come-back"
    running_bot.texts(sender, "开一人公司，自己的写字楼，不涉及食品，内地居民，自己办，我有身份证和房产证，帮我核对材料")
    reply = running_bot.texts(sender, "我现在有章程了")
    assert "公司章程" in reply and "✅" in reply
    reply = running_bot.texts(sender, "我还差什么")
    assert "❌" in reply and "任职文件" in reply


def test_checklist_survives_a_restart(running_bot):
    """What the action server saved is read back by a new engine on the same SQLite file."""
    sender = "e2e-restart"
    running_bot.texts(sender, "开个人独资企业，租的商铺，不涉及食品，自己办，只有身份证，帮我核对材料")
    engine = _make_engine(running_bot.env["DATABASE_URL"])
    try:
        with Session(engine) as session:
            saved = MaterialsRepository(session).saved_checklist(sender)
    finally:
        engine.dispose()
    assert saved is not None
    assert saved.procedure_id == "setup.sole_proprietorship" and saved.held.get("身份证明") is True


def test_simple_deregistration_self_check(running_bot):
    sender = "e2e-simple-dereg"
    running_bot.texts(sender, "帮我看看能不能简易注销")
    running_bot.texts(sender, "个体户")
    reply = running_bot.texts(sender, "都没有")
    assert "可以走简易注销" in reply and "10日" in reply


def test_address_check(running_bot):
    reply = running_bot.texts("e2e-address", "在小区住宅里开奶茶店行不行，帮我判断")
    assert "请以窗口要求为准" in reply and "依据" in reply


@pytest.mark.parametrize(
    "text", ["", "🍵🍵", "<b>身份证</b>", "'; DROP TABLE material_checklists; --", "章程" * 1500]
)
def test_bad_input_inside_the_materials_form(running_bot, text):
    sender = f"e2e-bad-{abs(hash(text)) % 10000}"
    running_bot.texts(sender, "帮我核对材料")
    messages = running_bot.say(sender, text)
    assert isinstance(messages, list)
    assert running_bot.say(sender, "结束") is not None
