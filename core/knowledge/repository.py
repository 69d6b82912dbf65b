"""The questions the actions ask of the knowledge base, one named method each.

Actions never query the database themselves: they get a ``KnowledgeRepository`` for one short session and read
plain ``Answer`` values from it, so a test can hand in a repository over a small temporary database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.knowledge.models import STATUS_PUBLISHED, KnowledgeEntry, Topic, UnansweredQuestion
from core.knowledge.schema import ALL
from core.logs import mask_personal


@dataclass(frozen=True)
class Answer:
    """A published knowledge entry, detached from the database session."""

    id: str
    topic: str
    intent: Optional[str]
    entity_types: List[str]
    question: str
    answer: str
    to_confirm: Optional[str]
    source: str
    source_url: Optional[str]
    rule_date: str
    reviewed: str
    paraphrases: List[str] = field(default_factory=list)
    buttons: List[Dict[str, str]] = field(default_factory=list)

    def covers(self, entity_type: Optional[str]) -> bool:
        return entity_type is None or ALL in self.entity_types or entity_type in self.entity_types

    @classmethod
    def from_row(cls, row: KnowledgeEntry) -> Answer:
        return cls(
            id=row.id,
            topic=row.topic_id,
            intent=row.intent,
            entity_types=list(row.entity_types or [ALL]),
            question=row.question,
            answer=row.answer,
            to_confirm=row.to_confirm,
            source=row.source,
            source_url=row.source_url,
            rule_date=row.rule_date,
            reviewed=row.reviewed,
            paraphrases=list(row.paraphrases or []),
            buttons=list(row.buttons or []),
        )


class KnowledgeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _published(self, *conditions) -> List[KnowledgeEntry]:
        query = select(KnowledgeEntry).where(KnowledgeEntry.status == STATUS_PUBLISHED, *conditions)
        return list(self.session.execute(query.order_by(KnowledgeEntry.id)).scalars())

    def answer_for_intent(self, intent: str, entity_type: Optional[str] = None) -> Optional[Answer]:
        """The entry answering ``intent``: the variant written for ``entity_type`` if there is one, else the
        general entry when it covers that entity type; None when the knowledge base has no answer for it."""
        rows = [Answer.from_row(r) for r in self._published(KnowledgeEntry.intent == intent)]
        if not rows:
            return None
        if entity_type:
            specific = [a for a in rows if entity_type in a.entity_types]
            if specific:
                return specific[0]
        general = [a for a in rows if ALL in a.entity_types]
        if general and (entity_type is None or general[0].covers(entity_type)):
            return general[0]
        if entity_type is None:
            return rows[0]
        return None

    def has_intent(self, intent: str) -> bool:
        return bool(self._published(KnowledgeEntry.intent == intent))

    def topic_of_intent(self, intent: str) -> Optional[str]:
        rows = self._published(KnowledgeEntry.intent == intent)
        return rows[0].topic_id if rows else None

    def followup_intent(self, topic: str, kind: str, after_intent: Optional[str] = None) -> Optional[str]:
        """Which intent answers a short follow-up (要多久/要什么材料/…) while ``topic`` is the subject; a
        ``kind@intent`` entry of the topic wins right after that intent was answered."""
        row = self.session.get(Topic, topic)
        followups = (row.followups or {}) if row else {}
        return followups.get(f"{kind}@{after_intent}") or followups.get(kind)

    def topic_title(self, topic: str) -> Optional[str]:
        row = self.session.get(Topic, topic)
        return row.title if row else None

    def entry(self, entry_id: str) -> Optional[Answer]:
        rows = self._published(KnowledgeEntry.id == entry_id)
        return Answer.from_row(rows[0]) if rows else None

    def knowledge_stamp(self) -> tuple:
        """Changes whenever an entry is added, edited, published or retired (cheap: one aggregate query)."""
        from sqlalchemy import func

        query = select(func.count(KnowledgeEntry.id), func.max(KnowledgeEntry.updated_at), func.sum(KnowledgeEntry.version))
        return tuple(self.session.execute(query.where(KnowledgeEntry.status == STATUS_PUBLISHED)).one())

    def published_answers(self) -> List[Answer]:
        return [Answer.from_row(r) for r in self._published()]

    def record_unanswered(self, text: str, reason: str) -> None:
        """Keep a message the bot could not answer for the staff's unanswered-questions view, without the phone and
        ID numbers in it (kept UNANSWERED_RETENTION_DAYS, ``make retention``)."""
        text = mask_personal((text or "").strip())
        if text:
            self.session.add(UnansweredQuestion(text=text[:500], reason=reason))

    def questions_for_intents(self, intents: List[str]) -> Dict[str, str]:
        """The standard question of each intent's general entry (for clarification buttons)."""
        result: Dict[str, str] = {}
        for intent in intents:
            answer = self.answer_for_intent(intent)
            if answer:
                result[intent] = answer.question
        return result


def knowledge_repository():
    """One short transaction with a repository over it: ``with knowledge_repository() as kb: ...``."""
    from contextlib import contextmanager

    from core.db import session_scope

    @contextmanager
    def _scope():
        with session_scope() as session:
            yield KnowledgeRepository(session)

    return _scope()
