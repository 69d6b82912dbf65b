"""What the hand-off form accepts: topics, names, phone numbers, consent; and reading short replies (ratings,
"结束人工"). Pure functions, so the form validation and the tests share them."""

from __future__ import annotations

import re
import unicodedata
from typing import Optional, Tuple

# Topics of the form, in the order of its buttons; each with the words that point to it.
TOPICS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("开办企业", ("开办", "开公司", "注册公司", "设立", "成立", "新办", "开店", "开个体", "注册个体")),
    ("住所申报", ("住所", "地址", "经营场所", "场地", "一址多照", "一照多址")),
    ("企业名称", ("名称", "名字", "起名", "核名", "字号")),
    ("变更登记", ("变更", "转让", "过户", "换法人", "迁移", "增资", "减资", "个转企")),
    ("注销与歇业", ("注销", "歇业", "吊销", "清算")),
    ("投诉与建议", ("投诉", "建议", "意见", "不满", "举报")),
    ("其他业务", ("其他", "别的", "年报", "许可")),
)
TOPIC_NAMES = tuple(name for name, _ in TOPICS)
OTHER_TOPIC = "其他业务"
COMPLAINT_TOPIC = "投诉与建议"

# knowledge-base topic ids (knowledge/answers/*.yml) → form topic, to suggest the topic of the conversation
KB_TOPIC_TO_FORM = {
    "startup": "开办企业",
    "address": "住所申报",
    "name": "企业名称",
    "deregistration": "注销与歇业",
    "individual_business": "变更登记",
}

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_MAINLAND = re.compile(r"(?<!\d)(?:\+?86|0086)?(1[3-9]\d{9})(?!\d)")
_HONG_KONG = re.compile(r"(?:\+|00)852([4-9]\d{7})(?!\d)")
_MACAU = re.compile(r"(?:\+|00)853(6\d{7})(?!\d)")

AGREE_WORDS = frozenset(
    {
        "同意",
        "我同意",
        "同意的",
        "可以",
        "好",
        "好的",
        "行",
        "是",
        "是的",
        "愿意",
        "没问题",
        "确认",
        "接受",
        "ok",
        "yes",
        "嗯",
        "对",
    }
)
DECLINE_WORDS = frozenset({"不同意", "不", "不行", "不要", "不可以", "拒绝", "no", "不愿意", "算了"})
KEEP_DRAFT_WORDS = frozenset(
    {
        "确认",
        "可以",
        "好",
        "好的",
        "对",
        "是",
        "是的",
        "没问题",
        "就这样",
        "不用改",
        "就用这个",
        "行",
        "ok",
        "嗯",
        "对的",
    }
)
END_WORDS = (
    "结束人工",
    "取消人工",
    "退出人工",
    "不要人工",
    "不用人工",
    "关闭人工",
    "结束对话",
    "返回机器人",
    "回到机器人",
)
RATING_WORDS = {
    "满分": 5,
    "好评": 5,
    "差评": 1,
    "非常满意": 5,
    "很满意": 5,
    "满意": 4,
    "一般": 3,
    "还行": 3,
    "不满意": 2,
    "很不满意": 1,
    "非常不满意": 1,
}
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}


def compact(text: Optional[str]) -> str:
    """``text`` without spaces and punctuation, NFKC-normalised and lower-cased (for comparing short replies)."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text or "")).lower()


def one_line(text: Optional[str], limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis marks a cut)."""
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def match_topic(text: Optional[str]) -> str:
    """The form topic ``text`` names: a title, its button number (1–7) or a word pointing to it; else 其他业务."""
    value = compact(text)
    if not value:
        return OTHER_TOPIC
    for name in TOPIC_NAMES:
        if value == compact(name):
            return name
    if value.isdigit() and 1 <= int(value) <= len(TOPICS):
        return TOPIC_NAMES[int(value) - 1]
    for name, words in TOPICS:
        if any(word in value for word in words):
            return name
    return OTHER_TOPIC


def normalize_phone(text: Optional[str]) -> Optional[str]:
    """A mainland mobile number (11 digits, +86 optional) as ``13812345678``, a Hong Kong or Macau mobile number
    (only with +852/+853 or 00852/00853) as ``+852 91234567``; None when ``text`` holds none of these."""
    value = unicodedata.normalize("NFKC", text or "")
    value = re.sub(r"[\s\-()（）.]", "", value)
    for pattern, prefix in ((_HONG_KONG, "+852 "), (_MACAU, "+853 ")):
        match = pattern.search(value)
        if match:
            return prefix + match.group(1)
    if re.search(r"(?:\+|00)85[23]", value):
        return None
    match = _MAINLAND.search(value)
    if match:
        return match.group(1)
    return None


def mask_phone(phone: Optional[str]) -> str:
    """For logs and messages: ``138****5678``, ``+852 ****5678``."""
    if not phone:
        return ""
    if phone.startswith("+"):
        prefix, _, number = phone.partition(" ")
        return f"{prefix} ****{number[-4:]}"
    if len(phone) == 11:
        return f"{phone[:3]}****{phone[-4:]}"
    return "****" + phone[-4:]


def valid_contact_name(text: Optional[str]) -> Optional[str]:
    """How to address the user: 1–20 characters with at least one letter, no phone number in it."""
    name = one_line(text, 1000)
    if not name or len(name) > 20 or not re.search(r"[^\W\d_]", name) or re.search(r"\d{5,}", name):
        return None
    return name


def is_agreement(text: Optional[str]) -> bool:
    return compact(text) in AGREE_WORDS


def is_refusal(text: Optional[str]) -> bool:
    return compact(text) in DECLINE_WORDS


def keeps_draft(text: Optional[str]) -> bool:
    return compact(text) in KEEP_DRAFT_WORDS


def is_end_request(text: Optional[str], intent: Optional[str], confidence: float) -> bool:
    """Whether a message sent while a ticket is open asks to go back to the bot.

    An explicit phrase (结束人工, 取消人工 …) always counts; the ``end_handoff`` intent counts only for a short message
    and a confident classifier, so a question such as "我想取消公司名称…" still reaches the officer.
    """
    value = compact(text)
    if any(word in value for word in END_WORDS):
        return True
    return intent == "end_handoff" and confidence >= 0.6 and len(value) <= 8


def parse_rating(text: Optional[str]) -> Optional[int]:
    """1–5 from "5", "5分", "五星", "非常满意" …; None when the reply holds no single rating."""
    value = compact(text)
    if not value:
        return None
    for words, score in sorted(RATING_WORDS.items(), key=lambda kv: -len(kv[0])):
        if words in value:
            return score
    digits = re.findall(r"\d+", value)
    if len(digits) == 1 and 1 <= int(digits[0]) <= 5:
        return int(digits[0])
    chinese = [c for c in value if c in _CN_DIGITS]
    if len(chinese) == 1 and re.search(r"[分星颗]", value):
        return _CN_DIGITS[chinese[0]]
    return None
