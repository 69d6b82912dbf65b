"""Which entry the bot would answer a question with, and how confident it is (the console's "preview").

It runs the bot's own FAQ retrieval (``core.knowledge.search``) over the published entries — the same index the
action server uses, rebuilt when the knowledge changes — or, to try a draft before publishing it, over the
published entries plus the drafts. The verdict follows the thresholds of ``actions.answers``:

- a staff entry (no intent) scoring at least STAFF_OVERRIDE_THRESHOLD is answered whatever topic the NLU sees;
- any entry scoring at least ANSWER_THRESHOLD is answered when the NLU is unsure or finds the question out of
  scope; a message the NLU recognises as one of its topics is answered by that topic's entry;
- entries scoring at least SUGGEST_THRESHOLD are offered as "您是想问……" buttons;
- below that the bot does not answer from the knowledge base.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import select

from core.knowledge.models import STATUS_DRAFT, STATUS_PUBLISHED, KnowledgeEntry
from core.knowledge.repository import Answer, KnowledgeRepository
from core.knowledge.search import (
    ANSWER_THRESHOLD,
    STAFF_OVERRIDE_THRESHOLD,
    SUGGEST_THRESHOLD,
    FaqIndex,
    Match,
    faq_search,
)

MAX_PREVIEW_CHARS = 500

VERDICT_OVERRIDE = "answer_always"
VERDICT_ANSWER = "answer"
VERDICT_SUGGEST = "suggest"
VERDICT_NONE = "none"
VERDICT_TEXT = {
    VERDICT_OVERRIDE: "机器人会直接用这条回答（相似度很高，即使识别到其他话题也用它；被识别为「在哪里」「要多久」这类追问时除外）。",
    VERDICT_ANSWER: "机器人会直接用这条回答（当它没把问题识别为某个已训练的话题时；识别为话题的，用该话题的问答回答）。",
    VERDICT_SUGGEST: "机器人不会直接回答，会提示「您是想问……」并列出下面几条供用户选择。",
    VERDICT_NONE: "机器人在知识库里找不到足够接近的问答，会说明能力范围或建议转人工。",
}


@dataclass
class PreviewMatch:
    entry_id: str
    question: str
    answer: str
    topic: str
    score: float
    is_draft: bool
    intent: Optional[str]

    @property
    def percent(self) -> int:
        return round(self.score * 100)


@dataclass
class Preview:
    text: str
    matches: List[PreviewMatch]
    verdict: str
    include_drafts: bool

    @property
    def verdict_text(self) -> str:
        return VERDICT_TEXT[self.verdict]

    @property
    def best(self) -> Optional[PreviewMatch]:
        return self.matches[0] if self.matches else None

    def as_json(self) -> dict:
        return {
            "text": self.text,
            "verdict": self.verdict,
            "explanation": self.verdict_text,
            "include_drafts": self.include_drafts,
            "thresholds": {
                "answer": ANSWER_THRESHOLD,
                "suggest": SUGGEST_THRESHOLD,
                "staff_override": STAFF_OVERRIDE_THRESHOLD,
            },
            "matches": [
                {
                    "id": m.entry_id, "question": m.question, "topic": m.topic, "score": round(m.score, 3),
                    "status": STATUS_DRAFT if m.is_draft else STATUS_PUBLISHED, "intent": m.intent,
                    "answer": m.answer,
                }
                for m in self.matches
            ],
        }


def verdict_for(match: Optional[Match]) -> str:
    if match is None or match.score < SUGGEST_THRESHOLD:
        return VERDICT_NONE
    if match.answer.intent is None and match.score >= STAFF_OVERRIDE_THRESHOLD:
        return VERDICT_OVERRIDE
    if match.score >= ANSWER_THRESHOLD:
        return VERDICT_ANSWER
    return VERDICT_SUGGEST


def preview(session, text: str, include_drafts: bool = False, limit: int = 3) -> Preview:
    text = " ".join((text or "").split())[:MAX_PREVIEW_CHARS]
    kb = KnowledgeRepository(session)
    drafts: List[Answer] = []
    if include_drafts:
        query = select(KnowledgeEntry).where(KnowledgeEntry.status == STATUS_DRAFT, KnowledgeEntry.question != "")
        drafts = [Answer.from_row(row) for row in session.execute(query).scalars()]
    if drafts:
        matches = FaqIndex(kb.published_answers() + drafts).search(text, limit) if text else []
    else:
        matches = faq_search.search(kb, text, limit) if text else []
    draft_ids = {d.id for d in drafts}
    result = [
        PreviewMatch(
            m.answer.id, m.answer.question, m.answer.answer, m.answer.topic, m.score, m.answer.id in draft_ids,
            m.answer.intent,
        )
        for m in matches
    ]
    return Preview(text, result, verdict_for(matches[0] if matches else None), include_drafts)

