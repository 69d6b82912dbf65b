"""What the hand-off form accepts and how short replies are read (core/handoff/contact.py)."""

from __future__ import annotations

import pytest

from core.handoff import contact


@pytest.mark.parametrize(
    "text, expected",
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("我的手机是13912345678，谢谢", "13912345678"),
        ("１３８１２３４５６７８", "13812345678"),  # full-width digits from a Chinese keyboard
        ("+852 9123 4567", "+852 91234567"),
        ("00852 61234567", "+852 61234567"),
        ("+853 6612 3456", "+853 66123456"),
        ("12812345678", None),  # no mainland mobile starts with 12
        ("1381234567", None),  # ten digits
        ("138123456789", None),  # twelve digits
        ("91234567", None),  # Hong Kong without +852 is ambiguous
        ("+852 1234 5678", None),  # not a Hong Kong mobile prefix
        ("+853 2812 3456", None),  # Macau landline
        ("+852 13812345678", None),  # a mainland number behind a Hong Kong prefix
        ("020-12345678", None),  # Guangzhou landline
        ("不告诉你", None),
        ("", None),
    ],
)
def test_phone_numbers(text, expected):
    assert contact.normalize_phone(text) == expected


@pytest.mark.parametrize(
    "phone, masked",
    [("13812345678", "138****5678"), ("+852 91234567", "+852 ****4567"), ("+853 66123456", "+853 ****3456"), ("", "")],
)
def test_phone_masking(phone, masked):
    assert contact.mask_phone(phone) == masked


@pytest.mark.parametrize(
    "text, topic",
    [
        ("开办企业", "开办企业"),
        ("1", "开办企业"),
        ("5", "注销与歇业"),
        ("我想问注销的事", "注销与歇业"),
        ("地址变更", "住所申报"),
        ("起名字", "企业名称"),
        ("我要投诉窗口", "投诉与建议"),
        ("随便问问", "其他业务"),
        ("9", "其他业务"),
        ("点解你咁蠢", None),  # abuse names no topic
        ("你个傻瓜", None),
        ("？？？", None),
    ],
)
def test_topics(text, topic):
    assert contact.match_topic(text) == topic


@pytest.mark.parametrize(
    "text, name",
    [
        ("陈先生", "陈先生"),
        ("  李 女士 ", "李 女士"),
        ("Tom", "Tom"),
        ("13812345678", None),
        ("", None),
        ("。。", None),
        ("名" * 21, None),
    ],
)
def test_contact_names(text, name):
    assert contact.valid_contact_name(text) == name


@pytest.mark.parametrize(
    "text, rating",
    [
        ("5", 5),
        ("4分", 4),
        ("打3分吧", 3),
        ("五星", 5),
        ("一颗星", 1),
        ("非常满意", 5),
        ("满意", 4),
        ("不满意", 2),
        ("非常不满意", 1),
        ("满分", 5),
        ("6分", None),
        ("3到4分之间", None),
        ("开公司要多久", None),
    ],
)
def test_ratings(text, rating):
    assert contact.parse_rating(text) == rating


@pytest.mark.parametrize(
    "text, intent, confidence, ends",
    [
        ("结束人工", "end_handoff", 0.9, True),
        ("取消人工", "greet", 0.2, True),  # the phrase itself always counts
        ("麻烦结束人工服务，谢谢", "thanks", 0.5, True),
        ("取消", "end_handoff", 0.8, True),
        ("取消", "end_handoff", 0.4, False),  # unsure classifier
        ("我想取消之前核准的公司名称，应该怎么办", "end_handoff", 0.7, False),  # a question for the officer
        ("好的谢谢", "thanks", 0.9, False),
    ],
)
def test_end_requests(text, intent, confidence, ends):
    assert contact.is_end_request(text, intent, confidence) is ends


def test_consent_and_draft_words():
    assert contact.is_agreement("同意") and contact.is_agreement("同意！") and contact.is_agreement("OK")
    assert not contact.is_agreement("不同意") and contact.is_refusal("不同意")
    assert contact.keeps_draft("确认") and not contact.keeps_draft("我想问个体户转公司")


@pytest.mark.parametrize(
    "text, gives_up",
    [
        ("唉算啦", True),
        ("算了", True),
        ("算了吧", True),
        ("好吧算了", True),
        ("不用了", True),
        ("不用了，谢谢", True),
        ("唔使喇", True),
        ("唔使住", True),
        ("取消", True),
        ("不要了", True),
        ("没事了", True),
        ("冇事喇", True),
        ("Cancel", True),
        ("算了不用了", True),  # two give-up words in one reply
        ("算了，不要了，谢谢", True),
        ("不用改", False),  # keeps the summary draft
        ("开办企业", False),
        ("我想取消公司名称", False),
        ("陈先生", False),
        ("13812345678", False),
        ("不同意", False),  # the consent question's own answer
        ("", False),
    ],
)
def test_giving_up(text, gives_up):
    assert contact.is_giving_up(text) is gives_up


@pytest.mark.parametrize(
    "text, cancels",
    [
        ("取消人工", True),
        ("取消工单", True),
        ("不用人工了", True),
        ("结束人工", False),
        ("返回机器人", False),
        ("取消", False),  # the classifier alone: back to the bot, the ticket stays
        ("唔使人工喇", False),
    ],
)
def test_cancelling_is_told_from_leaving(text, cancels):
    assert contact.is_cancel_request(text) is cancels


def test_abuse():
    assert contact.is_abusive("点解你咁蠢") and contact.is_abusive("你是白痴吗")
    assert not contact.is_abusive("个体户转公司要准备什么材料") and not contact.is_abusive("陈先生")
