"""Tables of the curation: entry versions and review requests (its settings and API tokens are the console's,
core/accounts/models.py).

Times are naive UTC (``datetime.utcnow``), shown in China time by the console.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import relationship

from core.db import Base

# what a version records
ACTION_SEED = "seed"  # the entry as the seed files had it, kept the first time staff change it
ACTION_CREATE = "create"
ACTION_EDIT = "edit"
ACTION_PUBLISH = "publish"
ACTION_RETIRE = "retire"
ACTION_ROLLBACK = "rollback"
ACTION_IMPORT = "import"
ACTION_APPROVE = "approve"  # an editor's change, applied when an administrator approved it

# review requests
REVIEW_PENDING = "pending"
REVIEW_APPROVED = "approved"
REVIEW_REJECTED = "rejected"


class EntryVersion(Base):
    """One version of a knowledge entry: the full snapshot after a change, who made it and when.

    The entry's own ``version`` column (SQLAlchemy's version counter) numbers the versions, so version N here is
    the entry as it was while its ``version`` was N. Rolling back applies an old snapshot as a new version.
    """

    __tablename__ = "curation_entry_versions"
    __table_args__ = (UniqueConstraint("entry_id", "version", name="uq_curation_entry_version"),)

    id = Column(Integer, primary_key=True)
    entry_id = Column(String(80), ForeignKey("knowledge_entries.id"), nullable=False, index=True)
    version = Column(Integer, nullable=False)
    action = Column(String(16), nullable=False)
    snapshot = Column(JSON, nullable=False)
    author = Column(String(80), nullable=False)
    at = Column(DateTime, nullable=False, default=datetime.utcnow)
    note = Column(String(300))

    def __repr__(self) -> str:
        return f"EntryVersion({self.entry_id!r}, v{self.version}, {self.action!r}, by={self.author!r})"


class ReviewRequest(Base):
    """An editor's change waiting for an administrator while review is required: the proposed snapshot and the
    version of the entry it was based on (approval is refused when the entry changed since)."""

    __tablename__ = "curation_review_requests"

    id = Column(Integer, primary_key=True)
    entry_id = Column(String(80), ForeignKey("knowledge_entries.id"), nullable=False, index=True)
    base_version = Column(Integer, nullable=False)
    proposed = Column(JSON, nullable=False)
    author = Column(String(80), nullable=False)
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    status = Column(String(16), nullable=False, default=REVIEW_PENDING, index=True)
    decided_by = Column(String(80))
    decided_at = Column(DateTime)
    comment = Column(String(300))

    entry = relationship("KnowledgeEntry")

    def __repr__(self) -> str:
        return f"ReviewRequest({self.id!r}, {self.entry_id!r}, {self.status!r}, by={self.author!r})"


