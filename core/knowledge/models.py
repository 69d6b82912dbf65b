"""Tables of the curated knowledge (SQLAlchemy 1.4, 2.0 style)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import relationship

from core.db import Base

STATUS_PUBLISHED = "published"
STATUS_DRAFT = "draft"
STATUS_RETIRED = "retired"
ORIGIN_SEED = "seed"
ORIGIN_STAFF = "staff"


class Topic(Base):
    __tablename__ = "topics"

    id = Column(String(64), primary_key=True)
    title = Column(String(100), nullable=False)
    followups = Column(JSON, nullable=False, default=dict)

    entries = relationship("KnowledgeEntry", back_populates="topic")

    def __repr__(self) -> str:
        return f"Topic({self.id!r}, {self.title!r})"


class KnowledgeEntry(Base):
    """One answer: its question and paraphrases, the answer text and where it comes from."""

    __tablename__ = "knowledge_entries"

    id = Column(String(80), primary_key=True)
    topic_id = Column(String(64), ForeignKey("topics.id"), nullable=False, index=True)
    intent = Column(String(80), index=True)
    entity_types = Column(JSON, nullable=False, default=lambda: ["all"])
    question = Column(Text, nullable=False)
    paraphrases = Column(JSON, nullable=False, default=list)
    answer = Column(Text, nullable=False)
    to_confirm = Column(Text)
    buttons = Column(JSON, nullable=False, default=list)
    source = Column(Text, nullable=False)
    source_url = Column(Text)
    rule_date = Column(String(10), nullable=False)
    reviewed = Column(String(10), nullable=False)
    status = Column(String(16), nullable=False, default=STATUS_PUBLISHED, index=True)
    origin = Column(String(16), nullable=False, default=ORIGIN_SEED)
    seed_hash = Column(String(64), doc="hash of the YAML entry last seeded; tells staff edits from seed updates")
    version = Column(Integer, nullable=False, default=1)
    updated_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    updated_by = Column(String(80), nullable=False, default="seed")

    topic = relationship("Topic", back_populates="entries")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"KnowledgeEntry({self.id!r}, intent={self.intent!r}, status={self.status!r})"


class UnansweredQuestion(Base):
    """A message the bot could not answer (fell back, out of scope, or handed to an officer).

    Staff review these grouped by similarity and turn them into FAQ entries. Only the text is kept (cut to 500
    characters), never who sent it.
    """

    __tablename__ = "unanswered_questions"

    id = Column(Integer, primary_key=True)
    text = Column(Text, nullable=False)
    reason = Column(String(20), nullable=False, index=True)
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow, index=True)
    resolved_entry_id = Column(String(80), ForeignKey("knowledge_entries.id"), nullable=True)

    def __repr__(self) -> str:
        return f"UnansweredQuestion({self.id!r}, {self.reason!r})"
