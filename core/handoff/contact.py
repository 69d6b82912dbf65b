"""What the hand-off form accepts: topics, names, phone numbers, consent; and reading short replies (ratings,
"结束人工"). Pure functions, so the form validation and the tests share them. The words themselves are in
knowledge/handoff/vocabulary.yml."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import yaml

from core.settings import KNOWLEDGE_DIR

VOCABULARY_FILE = KNOWLEDGE_DIR / "handoff" / "vocabulary.yml"


def _load(path: Path = VOCABULARY_FILE) -> Dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _alternatives(words: Any) -> str:
    return "|".join(re.escape(str(word)) for word in sorted(words, key=len, reverse=True))


_WORDS = _load()  # a small file, read once: the form's questions are asked in every process that imports this


def vocabulary() -> Dict[str, Any]:
    """The whole of knowledge/handoff/vocabulary.yml, as read once (core/ratings.py takes the rating levels)."""
    return _WORDS

# Topics of the form, in the order of its buttons; each with the words that point to it.
TOPICS: Tuple[Tuple[str, Tuple[str, ...]], ...] = tuple(
    (str(topic["name"]), tuple(str(w) for w in topic["words"])) for topic in _WORDS["topics"]
)
TOPIC_NAMES = tuple(name for name, _ in TOPICS)
OTHER_TOPIC: str = _WORDS["other_topic"]
COMPLAINT_TOPIC: str = _WORDS["complaint_topic"]
COMPLAINT_WORD: str = _WORDS["complaint_word"]

AGREE_WORDS = frozenset(str(w) for w in _WORDS["agree"])
DECLINE_WORDS = frozenset(str(w) for w in _WORDS["decline"])
KEEP_DRAFT_WORDS = frozenset(str(w) for w in _WORDS["keep_draft"])
# 结束人工 and the like: back to the bot, the ticket stays open for the officers
END_WORDS = tuple(str(w) for w in _WORDS["end"])
# 取消人工 and the like: withdraw the ticket (only while no officer has replied; else the same as 结束人工)
CANCEL_WORDS = tuple(str(w) for w in _WORDS["cancel"])
# Giving up in the middle of the contact form ("唉算啦", "不用了", "唔使喇"): a short reply that is one of these,
# with interjections before and particles after (compared on the compact form, see ``is_giving_up``).
_GIVE_UP = re.compile(
    "^(?:{before})*(?:(?:{words})(?:{after})*)+(?:{thanks})?$".format(
        **{part: _alternatives(_WORDS["give_up"][part]) for part in ("before", "words", "after", "thanks")}
    )
)
# Abuse is not a topic, a question or a name ("点解你咁蠢"); compared on the compact, lower-cased text.
ABUSIVE_WORDS = tuple(str(w) for w in _WORDS["abusive"])
NOT_A_NAME_WORDS = tuple(str(w) for w in _WORDS["not_a_name"])
RATING_WORDS: Dict[str, int] = {str(k): int(v) for k, v in _WORDS["rating_words"].items()}
_CN_DIGITS: Dict[str, int] = {str(k): int(v) for k, v in _WORDS["rating_digits"].items()}
_RATING_UNIT = re.compile(_alternatives(_WORDS["rating_units"]))

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_MAINLAND = re.compile(r"(?<!\d)(?:\+?86|0086)?(1[3-9]\d{9})(?!\d)")
_HONG_KONG = re.compile(r"(?:\+|00)852([4-9]\d{7})(?!\d)")
_MACAU = re.compile(r"(?:\+|00)853(6\d{7})(?!\d)")


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


def looks_like_a_question(text: Optional[str]) -> bool:
    """A reply to 「怎么称呼您」 that is a question or a business matter rather than a name."""
    value = one_line(text, 1000)
    return any(word in value for word in NOT_A_NAME_WORDS)


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
    if len(chinese) == 1 and _RATING_UNIT.search(value):
        return _CN_DIGITS[chinese[0]]
    return None
