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
# 结束人工 and the like: back to the bot, the ticket stays open for the officers
END_WORDS = (
    "结束人工",
    "退出人工",
    "关闭人工",
    "结束对话",
    "返回机器人",
    "回到机器人",
)
# 取消人工 and the like: withdraw the ticket (only while no officer has replied; else the same as 结束人工)
CANCEL_WORDS = (
    "取消人工",
    "取消转人工",
    "取消工单",
    "撤回工单",
    "撤销工单",
    "不要人工",
    "不用人工",
    "不需要人工",
    "不找人工",
)
# Giving up in the middle of the contact form ("唉算啦", "不用了", "唔使喇"): a short reply that is one of these,
# with interjections before and particles after (compared on the compact form, see ``is_giving_up``).
_GIVE_UP = re.compile(
    r"^(?:[唉哎嗳啊呃嗯哦噢诶欸咳噢]|那|那就|还是|我|好吧|好啦)*"
    r"(?:算|算数|罢|不用|不使|唔使|唔驶|唔洗|唔用|不要|唔要|取消|不需要|唔需要|没事|冇事|不问|唔问|放弃|退出|不填|唔填|"
    r"不弄|不搞|不办|唔办|cancel|nevermind|forgetit|stop|quit)"
    r"(?:[了啦喇吧呀啊嘞咯喔哦嘛住先罗啰喂]|了吧|咯喂|人工|转人工|填|问)*"
    r"(?:谢谢|多谢|唔该|thanks|thankyou)?$"
)
# Abuse is not a topic, a question or a name ("点解你咁蠢"); compared on the compact, lower-cased text.
ABUSIVE_WORDS = (
    "蠢",
    "傻",
    "笨蛋",
    "白痴",
    "智障",
    "弱智",
    "脑残",
    "垃圾",
    "废物",
    "废柴",
    "有病",
    "神经病",
    "去死",
    "滚",
    "妈的",
    "他妈",
    "你妈",
    "尼玛",
    "操你",
    "草泥马",
    "傻逼",
    "煞笔",
    "沙比",
    "sb",
    "fuck",
    "shit",
    "屌",
    "扑街",
    "仆街",
    "痴线",
    "黐线",
    "戆居",
    "低能",
    "冚家",
    "顶你",
    "丢你",
    "diu",
)
RATING_WORDS = {
    "满分": 5,
    "好评": 5,
    "差评": 1,
    "非常满意": 5,
    "很满意": 5,
    "满意": 4,
    "比较满意": 4,
    "基本满意": 3,
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


def match_topic(text: Optional[str]) -> Optional[str]:
    """The form topic ``text`` names: a title, its button number (1–7) or a word pointing to it; else 其他业务 (the
    text may be the question itself); None for text that names no topic at all (empty, punctuation, abuse)."""
    value = compact(text)
    if not value or is_abusive(text):
        return None
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
    if any(word in value for word in END_WORDS + CANCEL_WORDS):
        return True
    return intent == "end_handoff" and confidence >= 0.6 and len(value) <= 8


def is_cancel_request(text: Optional[str]) -> bool:
    """Whether an end request asks to withdraw the ticket (取消人工, 取消工单 …) rather than only to go back to the
    bot (结束人工, 返回机器人, or anything the classifier alone took for ``end_handoff``: the ticket stays)."""
    value = compact(text)
    return any(word in value for word in CANCEL_WORDS) and not any(word in value for word in END_WORDS)


def is_giving_up(text: Optional[str]) -> bool:
    """A short reply that gives up on the contact form: 算了, 唉算啦, 不用了, 唔使喇, 取消, 不要了, 没事了 …"""
    value = compact(text)
    return 0 < len(value) <= 14 and bool(_GIVE_UP.match(value))


def is_abusive(text: Optional[str]) -> bool:
    value = compact(text)
    return any(word in value for word in ABUSIVE_WORDS)


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
