"""Reading the forms' answers from free text (knowledge/materials/conditions.yml)."""

from __future__ import annotations

import pytest

from core.materials.parsing import default_reader, mask
from core.materials.specs import UNSURE


@pytest.fixture(scope="module")
def reader():
    return default_reader()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("我想开个奶茶店", {"food": "catering"}),
        ("铺面是租的，家里人一起做", {"premises": "rented", "residential": False, "family_run": True}),
        ("在自己家的房子", {"premises": "owned", "residential": True}),
        ("不是住宅，是商铺", {"residential": False}),
        ("我是香港人，找中介代办", {"hk_macao": True, "agent": True}),
        ("自己办，不找中介", {"agent": False}),
        ("只卖预包装食品", {"food": "prepackaged"}),
        ("不涉及食品", {"food": "none"}),
        ("只在淘宝开网店", {"premises": "online"}),
        ("朋友免费借我用", {"premises": "free_use"}),
    ],
)
def test_conditions(reader, text, expected):
    assert reader.conditions(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("我想开个个体户", "个体工商户"),
        ("不对，是合伙企业", "合伙企业"),
        ("不是个体户，是一人公司", "一人有限责任公司"),
        ("找会计公司代办", None),
        ("开个奶茶店", None),
    ],
)
def test_entity_type(reader, text, expected):
    assert reader.entity_type(text) == expected


@pytest.mark.parametrize(
    "text, has_licence, expected",
    [
        ("我想开个奶茶店", False, "setup"),
        ("公司想简易注销", False, "simple_dereg"),
        ("普通注销要什么", False, "general_dereg"),
        ("住所申报要什么材料", False, "address"),
        ("我开了奶茶店，想办食品经营许可", False, "food"),
        ("开奶茶店要办食品经营许可吗", False, "setup"),
        ("要办食品经营许可", True, "food"),
        ("公司要注销", False, None),
    ],
)
def test_procedure(reader, text, has_licence, expected):
    assert reader.procedure(text, has_licence) == expected


@pytest.mark.parametrize(
    "key, text, expected",
    [
        ("residential", "是的", True),
        ("residential", "不是", False),
        ("agent", "没有", False),
        ("hk_macao", "不知道", UNSURE),
        ("food", "没有", "none"),
        ("premises", "是的", None),
        ("residential", "我想问一下年报什么时候报", None),
    ],
)
def test_short_answers(reader, key, text, expected):
    assert reader.condition_answer(key, text) == expected


def test_cancel_and_correction_words(reader):
    assert reader.is_cancel("结束吧") and not reader.is_cancel("租的")
    assert reader.is_correction("不对，是合伙企业")
    assert reader.says_all_no("以上都没有") and reader.says_none_held("还没准备")


def test_mask_keeps_offsets():
    assert mask("有公司章程吗", [(1, 5)]) == "有□□□□吗"
