"""Deciding what to do with a question: answer one entry, offer the plausible readings, refer it elsewhere, or say
that the knowledge base does not know. A wrong answer is worse than a clarifying question.

Inputs are the NLU's intent and confidence (the big topics) and the retrieval's best entries (every entry, seed
and staff alike, core.knowledge.search). Measured on the development questions (tests/realq, ``split: dev``;
``python -m scripts.sim_matching`` replays the decision offline, ``scripts.tune_matching`` dumps what it sees), the
NLU's topic is reliable only when it is confident, the question's words resemble that topic's entries, and no
other entry (a specific one: 年报逾期 rather than 年报) matches as well or is the retrieval ranker's first choice;
otherwise the retrieval's best entry is answered when the ranker agrees and it scores high enough. Chosen on the
58 dev questions (2026-12-04): NLU_CONFIDENT 0.85 → 0.75 (+1 right, no wrong), RETRIEVAL_ANSWER stays 0.60
(0.55 turned 4 deferrals into wrong answers), NLU_LEAD 0.05 (0.10 lost one right answer).
A question about a neighbouring matter (tax, trademarks, property …: knowledge/scope.yml) that the chosen
entry does not mention is referred, never answered with the nearest registration entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import List, Optional, Sequence

import yaml

from core.knowledge.repository import Answer
from core.knowledge.search import Match
from core.settings import KNOWLEDGE_DIR
from core.text import normalize_text

ANSWER = "answer"
CLARIFY = "clarify"
REFER = "refer"
UNKNOWN = "unknown"

# the NLU's topic is answered when it is at least this confident and retrieval finds its entry this similar
NLU_CONFIDENT = 0.75
NLU_SUPPORT = 0.30
# the retrieval's best entry is answered when it scores this high and the ranker prefers it too (without a
# ranker: when it leads the next entry by this margin)
RETRIEVAL_ANSWER = 0.60
RETRIEVAL_MARGIN = 0.08
# ... and when its entry leads the best entry of any other topic by this much (else the specific entry wins)
NLU_LEAD = 0.05
# an entry this similar is a plausible reading worth offering as a choice
PLAUSIBLE = 0.30
MAX_CHOICES = 3


@dataclass(frozen=True)
class Neighbour:
    name: str
    terms: tuple
    referral: str


@dataclass
class Decision:
    kind: str
    answer: Optional[Answer] = None
    choices: List[Answer] = field(default_factory=list)
    referral: Optional[str] = None
    reason: str = ""


@lru_cache(maxsize=1)
def neighbours() -> tuple:
    """Neighbouring matters people bring to a registration assistant (knowledge/scope.yml)."""
    data = yaml.safe_load((KNOWLEDGE_DIR / "scope.yml").read_text(encoding="utf-8")) or {}
    return tuple(
        Neighbour(n["name"], tuple(normalize_text(t) for t in n["terms"]), n["referral"].strip())
        for n in data.get("neighbours") or []
    )


def _entry_text(answer: Answer) -> str:
    return normalize_text(" ".join([answer.question, *answer.paraphrases, answer.answer]), max_chars=10000)


def neighbour_asked(text: str, answer: Optional[Answer]) -> Optional[Neighbour]:
    """The neighbouring matter the question names and the entry does not mention, if any."""
    clean = normalize_text(text, max_chars=2000)
    entry = _entry_text(answer) if answer is not None else ""
    for neighbour in neighbours():
        asked = [t for t in neighbour.terms if t and t in clean]
        if asked and not any(t in entry for t in asked):
            return neighbour
    return None


def _distinct(matches: Sequence[Match]) -> List[Match]:
    seen, out = set(), []
    for m in matches:
        key = m.answer.intent or m.answer.id
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


def decide(
    text: str,
    matches: Sequence[Match],
    intent: Optional[str] = None,
    confidence: float = 0.0,
    intent_answer: Optional[Answer] = None,
) -> Decision:
    """What to do with ``text``. ``intent_answer`` is the entry of the NLU's topic intent (None when the NLU
    named no topic); ``matches`` are the retrieval's best entries, best first."""
    ranked = _distinct(matches)
    top = ranked[0] if ranked else None
    second = ranked[1].score if len(ranked) > 1 else 0.0
    support = max((m.score for m in matches if intent and m.answer.intent == intent), default=0.0)

    chosen: Optional[Answer] = None
    reason = ""
    # the best entry of another topic: a specific entry (年报逾期, 吊销后法定代表人的限制 …) the words match as well
    # as the NLU topic's general entry is the likelier reading, so the topic must lead it, and the retrieval's
    # ranker must not prefer it
    other = max((m.score for m in ranked if m.answer.intent != intent), default=0.0) if intent else 0.0
    ranker_prefers_other = top is not None and bool(top.ranked_first) and top.answer.intent != intent
    if (
        intent_answer is not None
        and confidence >= NLU_CONFIDENT
        and support >= NLU_SUPPORT
        and support - other >= NLU_LEAD
        and not ranker_prefers_other
    ):
        chosen, reason = intent_answer, "nlu"
    elif top is not None and top.score >= RETRIEVAL_ANSWER and (
        top.ranked_first if top.ranked_first is not None else top.score - second >= RETRIEVAL_MARGIN
    ):
        chosen, reason = top.answer, "retrieval"
    if chosen is not None:
        neighbour = neighbour_asked(text, chosen)
        if neighbour is not None:
            return Decision(REFER, referral=neighbour.referral, reason=f"neighbour:{neighbour.name}")
        return Decision(ANSWER, answer=chosen, reason=reason)

    neighbour = neighbour_asked(text, top.answer if top else None)
    if neighbour is not None:
        return Decision(REFER, referral=neighbour.referral, reason=f"neighbour:{neighbour.name}")
    choices: List[Answer] = []
    if intent_answer is not None and support >= PLAUSIBLE:
        choices.append(intent_answer)
    for m in ranked:
        if m.score >= PLAUSIBLE and (not top or m.score >= top.score - 0.15) and len(choices) < MAX_CHOICES:
            if all(c.id != m.answer.id and (not c.intent or c.intent != m.answer.intent) for c in choices):
                choices.append(m.answer)
    if choices:
        return Decision(CLARIFY, choices=choices, reason="unsure")
    return Decision(UNKNOWN, reason="no entry")
