"""Curating the knowledge entries: one named method per operation, the roles' permissions, versions and audit.

Roles: editors (``editor``) and administrators (``admin``) change entries; officers only read. While review is
required (the default, a setting), an editor's change that would reach the bot — publishing, or changing or
retiring a published entry — is refused with ``ReviewRequired``; the editor proposes it instead
(``propose``) and an administrator approves it. Without review, editors publish like administrators.

Every change is checked against the version the editor started from (``expected_version``): when someone else
saved in between, ``VersionConflict`` is raised and nothing is written. The check is made twice: on the loaded
row, and by the database itself (SQLAlchemy's version counter turns the save into ``UPDATE … WHERE id = ? AND
version = ?``), so two saves racing each other cannot both succeed.

The caller owns the transaction (``with curation_repository() as repo:``); an exception rolls everything back.
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from core.accounts.models import ROLE_ADMIN, ROLE_EDITOR, AuditEntry, Setting
from core.catalogue import labels, message
from core.curation import diff
from core.curation.models import (
    ACTION_APPROVE,
    ACTION_CREATE,
    ACTION_EDIT,
    ACTION_PUBLISH,
    ACTION_RETIRE,
    ACTION_ROLLBACK,
    ACTION_SEED,
    REVIEW_APPROVED,
    REVIEW_PENDING,
    REVIEW_REJECTED,
    EntryVersion,
    ReviewRequest,
)
from core.curation.validation import EDITABLE, SNAPSHOT_FIELDS, STATUS_LABELS, check_id, normalise, problems
from core.knowledge.models import (
    ORIGIN_SEED,
    ORIGIN_STAFF,
    STATUS_DRAFT,
    STATUS_PUBLISHED,
    STATUS_RETIRED,
    KnowledgeEntry,
    Topic,
)

SETTING_REVIEW_REQUIRED = "review_required"
STAFF_TOPIC = ("staff", message("curation.staff_topic"))
MAX_REVIEW_COMMENT = 300


def now() -> datetime:
    return datetime.utcnow()


def _china_time(moment: datetime) -> str:
    from zoneinfo import ZoneInfo

    from core.settings import get_settings

    return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(get_settings().timezone)).strftime("%Y-%m-%d %H:%M")


def china_today() -> str:
    from zoneinfo import ZoneInfo

    from core.settings import get_settings

    return datetime.now(ZoneInfo(get_settings().timezone)).strftime("%Y-%m-%d")


# ---- who acts, and what can go wrong ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """The signed-in account behind a change (console session, HTTP Basic or API token)."""

    username: str
    role: str
    officer_id: Optional[int] = None
    ip: Optional[str] = None
    via: str = "console"

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    @property
    def can_edit(self) -> bool:
        return self.role in (ROLE_ADMIN, ROLE_EDITOR)


class CurationError(Exception):
    """A refusal with a Chinese message for the user; ``status`` is the HTTP status the API answers with."""

    status = 400
    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidEntry(CurationError):
    code = "invalid"

    def __init__(self, errors: Mapping[str, str], text: str = "") -> None:
        super().__init__(text or message("curation.invalid"))
        self.errors = dict(errors)


class Forbidden(CurationError):
    status = 403
    code = "forbidden"


class ReviewRequired(Forbidden):
    code = "review_required"

    def __init__(self) -> None:
        super().__init__(
            message("curation.review_required")
        )


class NotFound(CurationError):
    status = 404
    code = "not_found"


class VersionConflict(CurationError):
    status = 409
    code = "version_conflict"

    def __init__(
        self, entry_id: str, expected: Optional[int], current: Optional[int], by: str = "", at: Optional[datetime] = None
    ) -> None:
        who = message("curation.conflict_by", by=by) if by else message("curation.conflict_by_someone")
        when = message("curation.conflict_at", at=_china_time(at)) if at is not None else ""
        now_at = message("curation.conflict_now", current=current) if current else ""
        super().__init__(message("curation.conflict", who=who, when=when, expected=expected, now=now_at))
        self.entry_id = entry_id
        self.expected = expected
        self.current = current
        self.by = by


@dataclass
class Change:
    """What an operation did: the entry, its new version (None when nothing changed), the labels of the fields
    that changed, and the review request when the change waits for an administrator."""

    entry: KnowledgeEntry
    version: Optional[int] = None
    changed: List[str] = field(default_factory=list)
    review: Optional[ReviewRequest] = None


# ---- the repository -------------------------------------------------------------------------------------------------


class CurationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # ---- reading ----------------------------------------------------------------------------------------------

    def topics(self) -> List[Topic]:
        return list(self.session.execute(select(Topic).order_by(Topic.id)).scalars())

    def topic(self, value: str) -> Optional[Topic]:
        """A topic by its id or its title (spreadsheets may carry either)."""
        value = (value or "").strip()
        if not value:
            return None
        row = self.session.get(Topic, value)
        if row is None:
            row = self.session.execute(select(Topic).where(Topic.title == value)).scalars().first()
        return row

    def staff_topic(self) -> Topic:
        """The topic of staff questions that fit no other topic (created on first use)."""
        topic_id, title = STAFF_TOPIC
        row = self.session.get(Topic, topic_id)
        if row is None:
            row = Topic(id=topic_id, title=title, followups={})
            self.session.add(row)
            self.session.flush()
        return row

    def entry(self, entry_id: str) -> KnowledgeEntry:
        row = self.session.get(KnowledgeEntry, entry_id) if entry_id else None
        if row is None:
            raise NotFound(message("curation.no_entry"))
        return row

    def find(self, entry_id: str) -> Optional[KnowledgeEntry]:
        return self.session.get(KnowledgeEntry, entry_id) if entry_id else None

    def search(
        self,
        text: str = "",
        topic: str = "",
        status: str = "",
        origin: str = "",
        limit: int = 50,
        offset: int = 0,
    ) -> Tuple[List[KnowledgeEntry], int]:
        """Entries whose id, question, paraphrases, answer or source contain ``text`` (question matches first),
        filtered by topic, status and origin; and how many match in all. The knowledge base holds hundreds of
        entries, so the text is matched in Python (paraphrases are a JSON column)."""
        query = select(KnowledgeEntry)
        if topic:
            query = query.where(KnowledgeEntry.topic_id == topic)
        if status:
            query = query.where(KnowledgeEntry.status == status)
        if origin:
            query = query.where(KnowledgeEntry.origin == origin)
        rows = list(self.session.execute(query.order_by(KnowledgeEntry.topic_id, KnowledgeEntry.id)).scalars())
        needle = (text or "").strip().lower()
        if needle:
            ranked = []
            for row in rows:
                if needle in row.id.lower() or needle in row.question.lower():
                    ranked.append((0, row))
                elif any(needle in p.lower() for p in row.paraphrases or []):
                    ranked.append((1, row))
                elif needle in (row.answer or "").lower() or needle in (row.source or "").lower():
                    ranked.append((2, row))
            rows = [row for _rank, row in sorted(ranked, key=lambda item: item[0])]
        return rows[offset : offset + limit], len(rows)

    def counts_by_status(self) -> Dict[str, int]:
        query = select(KnowledgeEntry.status, func.count(KnowledgeEntry.id)).group_by(KnowledgeEntry.status)
        return {status: count for status, count in self.session.execute(query)}

    def history(self, entry_id: str) -> List[EntryVersion]:
        query = select(EntryVersion).where(EntryVersion.entry_id == entry_id).order_by(EntryVersion.version.desc())
        return list(self.session.execute(query).scalars())

    def version(self, entry_id: str, number: int) -> Optional[EntryVersion]:
        query = select(EntryVersion).where(EntryVersion.entry_id == entry_id, EntryVersion.version == number)
        return self.session.execute(query).scalars().first()

    # ---- settings ---------------------------------------------------------------------------------------------

    def review_required(self) -> bool:
        row = self.session.get(Setting, SETTING_REVIEW_REQUIRED)
        return row is None or row.value != "0"

    def set_review_required(self, required: bool, actor: Actor) -> None:
        if not actor.is_admin:
            raise Forbidden(message("curation.admins_set_review"))
        row = self.session.get(Setting, SETTING_REVIEW_REQUIRED)
        if row is None:
            row = Setting(key=SETTING_REVIEW_REQUIRED)
            self.session.add(row)
        row.value = "1" if required else "0"
        row.updated_at = now()
        row.updated_by = actor.username
        self.audit(actor, "faq_settings", message("curation.review_setting_yes" if required else "curation.review_setting_no"))

    def can_publish(self, actor: Actor) -> bool:
        return actor.is_admin or (actor.role == ROLE_EDITOR and not self.review_required())

    # ---- changing entries -------------------------------------------------------------------------------------

    def create(self, raw: Mapping[str, Any], actor: Actor, entry_id: Optional[str] = None, note: str = "") -> Change:
        """A new staff entry (status from ``raw``, draft by default). Review and rule dates default to today."""
        self._require_editor(actor)
        data = normalise(raw)
        status = data.get("status") or STATUS_DRAFT
        if status == STATUS_RETIRED:
            raise InvalidEntry({"status": message("curation.new_status")})
        self._require_may_change(actor, None, status)
        errors: Dict[str, str] = {}
        topic = self.topic(data.get("topic_id", ""))
        if topic is None:
            errors["topic_id"] = self._topic_problem(data.get("topic_id", ""))
        if entry_id:
            problem = check_id(entry_id)
            if problem:
                errors["id"] = problem
            elif self.find(entry_id) is not None:
                errors["id"] = message("curation.id_taken", id=entry_id)
        if not data.get("reviewed"):
            data["reviewed"] = china_today()
        if not data.get("rule_date") and status == STATUS_PUBLISHED:
            data["rule_date"] = data["reviewed"]
        candidate = {**self._blank(), **data, "status": status}
        errors.update(problems(candidate, publish=status == STATUS_PUBLISHED))
        if errors:
            raise InvalidEntry(errors)
        assert topic is not None
        row = KnowledgeEntry(
            id=entry_id or self._new_id(topic.id),
            topic_id=topic.id,
            intent=None,
            entity_types=["all"],
            question=candidate["question"],
            paraphrases=candidate["paraphrases"],
            answer=candidate["answer"],
            to_confirm=candidate["to_confirm"] or None,
            buttons=[],
            source=candidate["source"],
            source_url=candidate["source_url"] or None,
            rule_date=candidate["rule_date"],
            reviewed=candidate["reviewed"],
            status=status,
            origin=ORIGIN_STAFF,
            updated_at=now(),
            updated_by=actor.username,
        )
        self.session.add(row)
        self.session.flush()
        self._record(row, None, actor, ACTION_CREATE if status == STATUS_DRAFT else ACTION_PUBLISH, note)
        return Change(row, row.version, diff.changed_labels(None, diff.snapshot(row)))

    def update(
        self, entry_id: str, raw: Mapping[str, Any], expected_version: Optional[int], actor: Actor, note: str = ""
    ) -> Change:
        """Change the fields present in ``raw`` (and the status, if given) of the entry at ``expected_version``."""
        self._require_editor(actor)
        row = self.entry(entry_id)
        data = normalise(raw)
        self._check_version(row, expected_version)
        proposed = self._proposed(row, data)
        self._require_may_change(actor, row.status, proposed["status"])
        return self._apply(row, proposed, actor, self._action_for(row.status, proposed["status"]), note)

    def publish(self, entry_id: str, expected_version: Optional[int], actor: Actor) -> Change:
        return self.update(entry_id, {"status": STATUS_PUBLISHED}, expected_version, actor)

    def retire(self, entry_id: str, actor: Actor, expected_version: Optional[int] = None) -> Change:
        """Stop answering with the entry (kept, with its history; it can be rolled back or published again)."""
        self._require_editor(actor)
        row = self.entry(entry_id)
        if expected_version is not None:
            self._check_version(row, expected_version)
        if row.status == STATUS_RETIRED:
            return Change(row)
        self._require_may_change(actor, row.status, STATUS_RETIRED)
        proposed = {**diff.snapshot(row), "status": STATUS_RETIRED}
        return self._apply(row, proposed, actor, ACTION_RETIRE, "")

    def rollback(self, entry_id: str, to_version: int, expected_version: Optional[int], actor: Actor) -> Change:
        """Make the entry again what it was at ``to_version`` (content and status), as a new version."""
        self._require_editor(actor)
        row = self.entry(entry_id)
        self._check_version(row, expected_version)
        old = self.version(entry_id, to_version)
        if old is None:
            raise NotFound(message("curation.no_version", version=to_version))
        proposed = diff.snapshot(old.snapshot)
        if self.topic(proposed.get("topic_id") or "") is None:
            proposed["topic_id"] = row.topic_id
        self._require_may_change(actor, row.status, proposed["status"])
        errors = problems({**proposed, "id": row.id}, publish=proposed["status"] == STATUS_PUBLISHED)
        if errors:
            raise InvalidEntry(errors, message("curation.rollback_invalid", version=to_version))
        return self._apply(row, proposed, actor, ACTION_ROLLBACK, message("curation.rolled_back_to", version=to_version), validated=True)

    # ---- review -------------------------------------------------------------------------------------------------

    def propose(
        self, entry_id: str, raw: Mapping[str, Any], expected_version: Optional[int], actor: Actor
    ) -> Change:
        """An editor's change for an administrator to approve (``raw`` may set status "published"/"retired")."""
        self._require_editor(actor)
        row = self.entry(entry_id)
        self._check_version(row, expected_version)
        proposed = self._proposed(row, normalise(raw))
        current = diff.snapshot(row)
        if proposed == current:
            raise InvalidEntry({}, message("curation.nothing_to_review"))
        errors = problems({**proposed, "id": row.id}, publish=proposed["status"] == STATUS_PUBLISHED)
        errors.update(self._topic_errors(proposed))
        if errors:
            raise InvalidEntry(errors)
        request = ReviewRequest(
            entry_id=row.id,
            base_version=row.version,
            proposed=proposed,
            author=actor.username,
            created_at=now(),
            status=REVIEW_PENDING,
        )
        self.session.add(request)
        self.session.flush()
        labels = diff.changed_labels(current, proposed)
        detail = message("curation.audit_review", id=row.id, version=row.version, fields="、".join(labels))
        self.audit(actor, "faq_review_submit", detail)
        return Change(row, None, labels, request)

    def pending_reviews(self) -> List[ReviewRequest]:
        query = select(ReviewRequest).where(ReviewRequest.status == REVIEW_PENDING).order_by(ReviewRequest.id)
        return list(self.session.execute(query).scalars())

    def reviews_of(self, entry_id: str) -> List[ReviewRequest]:
        query = select(ReviewRequest).where(ReviewRequest.entry_id == entry_id).order_by(ReviewRequest.id.desc())
        return list(self.session.execute(query).scalars())

    def review(self, review_id: int) -> ReviewRequest:
        row = self.session.get(ReviewRequest, review_id)
        if row is None:
            raise NotFound(message("curation.no_review"))
        return row

    def approve(self, review_id: int, actor: Actor) -> Change:
        if not actor.is_admin:
            raise Forbidden(message("curation.admins_review"))
        request = self._pending(review_id)
        row = self.entry(request.entry_id)
        self._check_version(row, request.base_version)
        proposed = diff.snapshot(request.proposed)
        errors = problems({**proposed, "id": row.id}, publish=proposed["status"] == STATUS_PUBLISHED)
        if errors:
            raise InvalidEntry(errors)
        change = self._apply(
            row, proposed, actor, ACTION_APPROVE, message("curation.approved_note", author=request.author, by=actor.username),
            author=request.author, validated=True,
        )
        request.status = REVIEW_APPROVED
        request.decided_by = actor.username
        request.decided_at = now()
        change.review = request
        return change

    def reject(self, review_id: int, actor: Actor, comment: str = "") -> ReviewRequest:
        if not actor.is_admin:
            raise Forbidden(message("curation.admins_review"))
        request = self._pending(review_id)
        request.status = REVIEW_REJECTED
        request.decided_by = actor.username
        request.decided_at = now()
        request.comment = (comment or "").strip()[:MAX_REVIEW_COMMENT] or None
        self.audit(actor, "faq_review_reject", message("curation.audit_reject", id=request.entry_id, author=request.author, comment=request.comment or ""))
        return request

    # ---- audit --------------------------------------------------------------------------------------------------

    def audit(self, actor: Actor, action: str, detail: str = "") -> None:
        via = "（API）" if actor.via == "api" else ""
        self.session.add(
            AuditEntry(
                at=now(),
                officer_id=actor.officer_id,
                username=actor.username[:80],
                action=action[:40],
                detail=((detail + via)[:300]) or None,
                ip=actor.ip,
            )
        )

    # ---- internals ----------------------------------------------------------------------------------------------

    @staticmethod
    def _blank() -> Dict[str, Any]:
        return {key: "" for key in EDITABLE} | {"paraphrases": [], "intent": None, "entity_types": ["all"], "buttons": []}

    def _topic_problem(self, value: str) -> str:
        titles = "、".join(f"{t.id}（{t.title}）" for t in self.topics())
        if not value:
            return message("curation.topic_needed")
        return message("curation.no_topic", topic=value[:40], titles=titles)

    def _topic_errors(self, proposed: Mapping[str, Any]) -> Dict[str, str]:
        if self.topic(proposed.get("topic_id") or "") is None:
            return {"topic_id": self._topic_problem(proposed.get("topic_id") or "")}
        return {}

    def _new_id(self, topic_id: str) -> str:
        while True:
            candidate = f"{topic_id}.staff_{secrets.token_hex(3)}"
            if self.find(candidate) is None:
                return candidate

    @staticmethod
    def _require_editor(actor: Actor) -> None:
        if not actor.can_edit:
            raise Forbidden(message("curation.editors_only"))

    def _require_may_change(self, actor: Actor, old_status: Optional[str], new_status: str) -> None:
        """Editors under review may only touch what the bot does not answer with."""
        if actor.is_admin:
            return
        if self.review_required() and STATUS_PUBLISHED in (old_status, new_status):
            raise ReviewRequired()

    @staticmethod
    def _check_version(row: KnowledgeEntry, expected: Optional[int]) -> None:
        if expected is None:
            raise InvalidEntry({"version": message("curation.version_needed")})
        if int(expected) != row.version:
            raise VersionConflict(row.id, expected, row.version, row.updated_by, row.updated_at)

    def _pending(self, review_id: int) -> ReviewRequest:
        request = self.review(review_id)
        if request.status != REVIEW_PENDING:
            raise CurationError(message("curation.review_decided"))
        return request

    def _proposed(self, row: KnowledgeEntry, data: Mapping[str, Any]) -> Dict[str, Any]:
        """The entry's snapshot with ``data`` applied; the topic may be given by id or title."""
        proposed = diff.snapshot(row)
        for key, value in data.items():
            if key in SNAPSHOT_FIELDS:
                proposed[key] = value
        topic = self.topic(proposed.get("topic_id") or "")
        if topic is not None:
            proposed["topic_id"] = topic.id
        if not proposed.get("status"):
            proposed["status"] = row.status
        return proposed

    @staticmethod
    def _action_for(old_status: str, new_status: str) -> str:
        if new_status != old_status:
            return {STATUS_PUBLISHED: ACTION_PUBLISH, STATUS_RETIRED: ACTION_RETIRE}.get(new_status, ACTION_EDIT)
        return ACTION_EDIT

    def _apply(
        self,
        row: KnowledgeEntry,
        proposed: Dict[str, Any],
        actor: Actor,
        action: str,
        note: str,
        author: Optional[str] = None,
        validated: bool = False,
    ) -> Change:
        """Write ``proposed`` onto ``row`` as a new version (nothing when nothing changed)."""
        current = diff.snapshot(row)
        if proposed == current:
            return Change(row)
        self._keep_followup_answered(row, proposed["status"])
        if not validated:
            errors = problems({**proposed, "id": row.id}, publish=proposed["status"] == STATUS_PUBLISHED)
            errors.update(self._topic_errors(proposed))
            if errors:
                raise InvalidEntry(errors)
        self._ensure_baseline(row, current)
        loaded_version, entry_id = row.version, row.id  # plain values: the row is unusable if the flush fails
        for key in SNAPSHOT_FIELDS:
            value = proposed[key]
            if key in ("to_confirm", "source_url", "intent"):
                value = value or None
            setattr(row, key, value)
        row.updated_at = now()
        row.updated_by = author or actor.username
        try:
            self.session.flush()
        except StaleDataError as exc:
            # someone saved between our read and our write: the database refused the UPDATE … WHERE version = ?
            raise VersionConflict(entry_id, loaded_version, None) from exc
        labels = diff.changed_labels(current, proposed)
        self._record(row, current, actor, action, note, author)
        return Change(row, row.version, labels)

    def _keep_followup_answered(self, row: KnowledgeEntry, new_status: str) -> None:
        """A topic's short follow-ups (要多久/要什么材料/…) point to intents; the last published entry of such an
        intent cannot be taken out of service (the follow-up would go unanswered, and the topic's seed file would
        no longer be valid for ``make kb-export``). Its text can be changed instead."""
        if row.status != STATUS_PUBLISHED or new_status == STATUS_PUBLISHED or not row.intent:
            return
        topic = self.session.get(Topic, row.topic_id)
        kinds = [kind for kind, intent in ((topic.followups or {}) if topic else {}).items() if intent == row.intent]
        if not kinds:
            return
        others = self.session.execute(
            select(func.count(KnowledgeEntry.id)).where(
                KnowledgeEntry.intent == row.intent, KnowledgeEntry.status == STATUS_PUBLISHED,
                KnowledgeEntry.id != row.id,
            )
        ).scalar()
        if not others:
            names = labels("followup_kinds")
            asked = "、".join(f"「{names.get(k, k)}」" for k in kinds)
            raise Forbidden(message("curation.followup_answer", topic=topic.title, asked=asked))

    def _ensure_baseline(self, row: KnowledgeEntry, current: Dict[str, Any]) -> None:
        """Before the first staff change of an entry that has no history (a seed entry), keep it as it was, so it
        can be rolled back to."""
        exists = self.session.execute(
            select(func.count(EntryVersion.id)).where(EntryVersion.entry_id == row.id)
        ).scalar()
        if not exists:
            self.session.add(
                EntryVersion(
                    entry_id=row.id,
                    version=row.version,
                    action=ACTION_SEED if row.origin == ORIGIN_SEED else ACTION_CREATE,
                    snapshot=current,
                    author=row.updated_by or "seed",
                    at=row.updated_at or now(),
                    note=message("curation.seed_note") if row.origin == ORIGIN_SEED else None,
                )
            )

    def _record(
        self,
        row: KnowledgeEntry,
        before: Optional[Dict[str, Any]],
        actor: Actor,
        action: str,
        note: str = "",
        author: Optional[str] = None,
    ) -> None:
        after = diff.snapshot(row)
        self.session.add(
            EntryVersion(
                entry_id=row.id,
                version=row.version,
                action=action,
                snapshot=after,
                author=author or actor.username,
                at=row.updated_at,
                note=note or None,
            )
        )
        changed = "、".join(diff.changed_labels(before, after)) if before is not None else message("curation.created")
        status = STATUS_LABELS.get(row.status, row.status)
        detail = message("curation.audit_change", id=row.id, version=row.version, status=status, fields=changed)
        self.audit(actor, f"faq_{action}", f"{detail} {note}".strip())


@contextmanager
def curation_repository() -> Iterator[CurationRepository]:
    """One transaction with a repository over it."""
    from core.db import session_scope

    with session_scope() as session:
        yield CurationRepository(session)
