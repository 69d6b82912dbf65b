"""The 政务服务「好差评」 rating levels, and the follow-up items a negative rating with a comment opens.

Five levels, from 非常满意 to 非常不满意. Tickets keep the score (5 … 1, the order of the levels, which is also what
the earlier 1–5 star ratings meant) and the level's code; migration 0004 gave every earlier 1–5 rating its level.
A 不满意 or 非常不满意 rating that comes with a comment opens a follow-up item (回访 by default, 整改 when staff decide
the service itself must change), which staff work and close in the console (``FollowupRepository``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core.accounts.models import Officer
from core.catalogue import labels
from core.handoff.contact import vocabulary
from core.handoff.models import FOLLOWUP_CLOSED, FOLLOWUP_OPEN, RatingFollowup, Ticket


@dataclass(frozen=True)
class Level:
    code: str
    score: int
    label: str

    @property
    def negative(self) -> bool:
        return self.score <= 2


# knowledge/handoff/vocabulary.yml, best first
LEVELS: Sequence[Level] = tuple(
    Level(str(level["code"]), int(level["score"]), str(level["label"])) for level in vocabulary()["rating_levels"]
)
BY_CODE: Dict[str, Level] = {level.code: level for level in LEVELS}
BY_SCORE: Dict[int, Level] = {level.score: level for level in LEVELS}
MAX_COMMENT = 200

KIND_REVISIT = "revisit"  # 回访: call the user back
KIND_RECTIFY = "rectify"  # 整改: the service itself has to change
KIND_LABELS = labels("rating_followup_kinds")  # knowledge/console.yml
FOLLOWUP_STATUS_LABELS = labels("rating_followup_statuses")


def level_of(score: Optional[int]) -> Optional[Level]:
    return BY_SCORE.get(score) if score is not None else None


def label_of(score: Optional[int]) -> str:
    level = level_of(score)
    return level.label if level else ""


def clean_comment(text: Optional[str]) -> Optional[str]:
    """A comment on one line, at most ``MAX_COMMENT`` characters; None when nothing is left."""
    line = " ".join((text or "").split())
    return line[:MAX_COMMENT] or None


# a reply to "可以说说原因吗？" that declines to comment (compared on the compact form: no spaces or punctuation)
SKIP_WORDS = frozenset(str(word) for word in vocabulary()["rating_skip"])  # knowledge/handoff/vocabulary.yml


def is_skip(compact_text: str) -> bool:
    return not compact_text or compact_text in SKIP_WORDS


def comment_in_rating(text: Optional[str], compact_text: str) -> Optional[str]:
    """The comment in a rating typed with words ("不满意，等了太久"): the whole message when it says more than the
    rating (over six characters once compacted); None for "5分", "非常满意" or a button's payload."""
    if not text or text.startswith("/") or len(compact_text) <= 6:
        return None
    return clean_comment(text)


def opens_followup(score: int, comment: Optional[str]) -> bool:
    level = level_of(score)
    return bool(level and level.negative and clean_comment(comment))


class FollowupRepository:
    """Follow-up items of negative ratings, for the console: one named method per operation."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def open_for(self, ticket: Ticket) -> Optional[RatingFollowup]:
        """Open the item of a negative rating with a comment (once per ticket); None when none is due."""
        if ticket.rating is None or not opens_followup(ticket.rating, ticket.rating_comment):
            return None
        existing = self.session.execute(
            select(RatingFollowup).where(RatingFollowup.ticket_id == ticket.id)
        ).scalars().first()
        if existing is not None:
            return existing
        item = RatingFollowup(ticket=ticket, kind=KIND_REVISIT, status=FOLLOWUP_OPEN, created_at=datetime.utcnow())
        self.session.add(item)
        self.session.flush()
        return item

    def items(self, status: str = FOLLOWUP_OPEN, limit: int = 200) -> List[RatingFollowup]:
        query = select(RatingFollowup).options(selectinload(RatingFollowup.ticket), selectinload(RatingFollowup.closed_by))
        if status:
            query = query.where(RatingFollowup.status == status)
        return list(self.session.execute(query.order_by(RatingFollowup.id.desc()).limit(limit)).scalars())

    def item(self, item_id: int) -> Optional[RatingFollowup]:
        return self.session.get(RatingFollowup, item_id)

    def count_open(self) -> int:
        query = select(func.count(RatingFollowup.id)).where(RatingFollowup.status == FOLLOWUP_OPEN)
        return int(self.session.execute(query).scalar() or 0)

    def update(self, item: RatingFollowup, officer: Officer, kind: str, note: Optional[str], action: str = "save") -> None:
        """Set the kind (回访/整改) and the staff's note; ``action`` "close" marks the item done (it stays listed
        under 已完成), "reopen" opens it again, "save" keeps its state."""
        if kind in KIND_LABELS:
            item.kind = kind
        if note is not None:
            item.note = note[:1000] or None
        item.updated_at = datetime.utcnow()
        item.updated_by_id = officer.id
        if action == "close" and item.status == FOLLOWUP_OPEN:
            item.status = FOLLOWUP_CLOSED
            item.closed_at = datetime.utcnow()
            item.closed_by_id = officer.id
        elif action == "reopen" and item.status == FOLLOWUP_CLOSED:
            item.status = FOLLOWUP_OPEN
            item.closed_at = None
            item.closed_by_id = None
