"""What the benchmark says to the bot: 40-message conversations as users hold them.

Each conversation is built from segments users were seen to go through — a topic question and its follow-ups
("要多久", "那个体户呢"), the materials form step by step or all at once, the guided self-checks, a correction, a
vague message that gets a clarification, small talk, a button click, a hand-off started and withdrawn — drawn
with a seeded random generator so every stack (ours, BASE, scaled) hears exactly the same conversations.
"""

from __future__ import annotations

import random
from typing import List, Tuple

TURNS = 40

# (kind, message): the kind is reported beside the latency
Message = Tuple[str, str]

TOPIC_QUESTIONS = [
    "开公司要多久",
    "简易注销要公示多少天",
    "住所自主申报是什么意思",
    "一个地址可以注册几家公司",
    "公司名称不能用哪些字",
    "注销公司要什么材料",
    "點樣開公司",
    "免费刻章吗",
    "歇业最长多久",
    "个体户可以转成公司吗",
    "普通注销的流程是怎样的",
    "住宅可以用来注册公司吗",
    "企业名称怎么自主申报",
    "一人有限公司有什么要注意的",
    "注册资本要实缴吗",
    "个体户换经营者怎么办",
    "年报没报会怎样",
    "开奶茶店要办食品经营许可证吗",
    "港澳居民可以在海珠开公司吗",
    "营业执照被吊销了还能注销吗",
    "可以网上办理营业执照吗",
    "分公司怎么设立",
]

FOLLOW_UPS = [
    "要多久",
    "需要什么材料",
    "要钱吗",
    "在哪里办",
    "怎么办理",
    "那个体户呢",
    "那合伙企业呢",
    "一人公司呢",
    "大概几天",
    "要帶啲咩嘢去",
]

# whole forms, as the end-to-end tests hold them
MATERIALS_FORMS = [
    ["我想在海珠开个奶茶店，个体户，现在只有身份证和租房合同", "不是住宅，是商铺", "个人经营", "不是，内地居民", "自己办"],
    ["帮我核对一下材料", "设立登记", "个体工商户", "不对，是合伙企业", "租的", "是写字楼", "不涉及食品",
     "不是，内地居民", "找中介办", "我有合伙协议和身份证"],
    ["开一人公司，自己的写字楼，不涉及食品，内地居民，自己办，我有身份证和房产证，帮我核对材料",
     "我现在有章程了", "我还差什么"],
    ["开个人独资企业，租的商铺，不涉及食品，自己办，只有身份证，帮我核对材料", "我还差什么"],
]

SELF_CHECKS = [
    ["帮我看看能不能简易注销", "个体户", "都没有"],
    ["在小区住宅里开奶茶店行不行，帮我判断"],
]

CLARIFICATIONS = ["那个东西怎么弄", "我想问一下", "asdfgh", "搞不懂", "这个呢", "能不能帮我弄一下"]

SMALL_TALK = ["你好", "谢谢", "好的", "你是机器人吗", "明白了", "不用了"]

BUTTON_CLICKS = ["/startup_process", "/address_self_declaration", "/simple_dereg_eligibility", "/name_rules"]

HANDOFF = ["转人工", "取消人工"]


def _segment(rng: random.Random) -> List[Message]:
    roll = rng.random()
    if roll < 0.40:
        question = [("question", rng.choice(TOPIC_QUESTIONS))]
        return question + [("follow-up", rng.choice(FOLLOW_UPS)) for _ in range(rng.randint(0, 2))]
    if roll < 0.55:
        return [("form", text) for text in rng.choice(MATERIALS_FORMS)]
    if roll < 0.62:
        return [("form", text) for text in rng.choice(SELF_CHECKS)]
    if roll < 0.75:
        # one vague message, answered by a clarification; then the user asks properly
        return [("clarification", rng.choice(CLARIFICATIONS)), ("question", rng.choice(TOPIC_QUESTIONS))]
    if roll < 0.85:
        return [("small talk", rng.choice(SMALL_TALK))]
    if roll < 0.95:
        return [("small talk", "你好"), ("button", rng.choice(BUTTON_CLICKS))]
    return [("hand-off", text) for text in HANDOFF]


def conversation(seed: int, turns: int = TURNS) -> List[Message]:
    """``turns`` messages; the same seed gives the same conversation."""
    rng = random.Random(seed)
    messages: List[Message] = [("question", rng.choice(TOPIC_QUESTIONS))]
    while len(messages) < turns:
        messages += _segment(rng)
    return messages[:turns]
