"""The questions the materials actions ask of the database, one named method each.

Actions get a ``MaterialsRepository`` for one short transaction (``with materials_repository() as repo:``) and
read plain values (``core.materials.specs``) from it; tests hand in a repository over a temporary database.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, Iterator, List

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.materials import specs
from core.materials.comparison import procedure_for
from core.materials.models import Checklist, ChecklistMaterial, MaterialProcedure, MaterialRequirement
from core.materials.schema import (
    AddressCheckModel,
    EligibilityModel,
    NotCoveredModel,
    NoteModel,
    _when_tuple,
)

MAX_SENDER_CHARS = 128


def _requirement(row: MaterialRequirement) -> specs.Requirement:
    return specs.Requirement(
        id=row.id,
        name=row.name,
        satisfied_by=tuple(row.satisfied_by or ()),
        requirement=row.requirement,
        where=row.where_to_get,
        sourced=specs.Sourced(row.source, row.source_url, row.rule_date, row.reviewed),
        when=_when_tuple(row.when or {}),
        condition=row.condition,
        entity_types=tuple(row.entity_types or (specs.ALL,)),
        where_variants=tuple(
            specs.WhereVariant(_when_tuple(v.get("when") or {}), v["where"]) for v in row.where_variants or []
        ),
        deferrable=row.deferrable,
        deferrable_confirmed=bool(row.deferrable_confirmed),
        note=row.note,
    )


def _procedure(row: MaterialProcedure) -> specs.Procedure:
    return specs.Procedure(
        id=row.id,
        kind=row.kind,
        title=row.title,
        entity_types=tuple(row.entity_types or ()),
        requirements=tuple(_requirement(r) for r in row.requirements),
        notes=tuple(NoteModel.parse_obj(n).to_spec() for n in row.notes or []),
        not_covered=tuple(NotCoveredModel.parse_obj(n).to_spec() for n in row.not_covered or []),
        eligibility=EligibilityModel.parse_obj(row.eligibility).to_spec() if row.eligibility else None,
        address_check=AddressCheckModel.parse_obj(row.address_check).to_spec() if row.address_check else None,
    )


@dataclass(frozen=True)
class SavedChecklist:
    """A conversation's checklist as stored: enough to recompute the reply after a restart."""

    sender_id: str
    procedure_id: str
    kind: str
    entity_type: str | None
    conditions: Dict[str, Any]
    held: Dict[str, bool] = field(default_factory=dict)
    updated_at: datetime | None = None


def _saved(row: Checklist) -> SavedChecklist:
    return SavedChecklist(
        sender_id=row.sender_id,
        procedure_id=row.procedure_id,
        kind=row.procedure.kind,
        entity_type=row.entity_type,
        conditions=dict(row.conditions or {}),
        held={m.material: bool(m.held) for m in row.materials},
        updated_at=row.updated_at,
    )


def sender_key(sender_id: str | None) -> str:
    return (sender_id or "anonymous")[:MAX_SENDER_CHARS]


class MaterialsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- requirements -----------------------------------------------------------------------------------------------

    def procedures(self) -> List[specs.Procedure]:
        query = select(MaterialProcedure).options(selectinload(MaterialProcedure.requirements))
        return [_procedure(row) for row in self.session.execute(query.order_by(MaterialProcedure.id)).scalars()]

    def procedure(self, procedure_id: str) -> specs.Procedure | None:
        row = self.session.get(MaterialProcedure, procedure_id)
        return _procedure(row) if row else None

    def materials_for(self, kind: str, entity_type: str | None) -> specs.Procedure | None:
        """The requirements of procedure ``kind`` for ``entity_type``; None when the knowledge base has none."""
        return procedure_for(self.procedures(), kind, entity_type)

    def needs_entity_type(self, kind: str) -> bool:
        return any(p.kind == kind and p.needs_entity_type for p in self.procedures())

    def simple_dereg_eligibility(self, entity_type: str | None) -> specs.Procedure | None:
        """The 简易注销 procedure (with its exclusions) for ``entity_type``."""
        procedure = self.materials_for(specs.SIMPLE_DEREG, entity_type)
        return procedure if procedure and procedure.eligibility else None

    def address_check(self) -> specs.AddressCheck | None:
        procedure = next((p for p in self.procedures() if p.kind == specs.ADDRESS and p.address_check), None)
        return procedure.address_check if procedure else None

    # -- checklists per conversation --------------------------------------------------------------------------------

    def _checklist_row(self, sender_id: str, procedure_id: str | None = None) -> Checklist | None:
        query = select(Checklist).where(Checklist.sender_id == sender_key(sender_id))
        if procedure_id:
            query = query.where(Checklist.procedure_id == procedure_id)
        query = query.order_by(Checklist.updated_at.desc(), Checklist.id.desc()).limit(1)
        return self.session.execute(query).scalars().first()

    def saved_checklist(self, sender_id: str, procedure_id: str | None = None) -> SavedChecklist | None:
        """The conversation's checklist for ``procedure_id``, or its most recent one."""
        row = self._checklist_row(sender_id, procedure_id)
        return _saved(row) if row else None

    def save_checklist(
        self,
        sender_id: str,
        procedure_id: str,
        entity_type: str | None,
        conditions: Dict[str, Any],
        held: Dict[str, bool],
    ) -> SavedChecklist:
        """Create or update the conversation's checklist for ``procedure_id``."""
        now = datetime.utcnow()
        row = self._checklist_row(sender_id, procedure_id)
        if row is None:
            row = Checklist(sender_id=sender_key(sender_id), procedure_id=procedure_id, created_at=now)
            self.session.add(row)
        row.entity_type = entity_type
        row.conditions = {k: v for k, v in conditions.items() if v is not None}
        row.updated_at = now
        existing = {m.material: m for m in row.materials}
        for material, value in held.items():
            item = existing.get(material)
            if item is None:
                row.materials.append(ChecklistMaterial(material=material, held=bool(value), updated_at=now))
            elif item.held != bool(value):
                item.held = bool(value)
                item.updated_at = now
        self.session.flush()
        return _saved(row)


@contextmanager
def materials_repository() -> Iterator[MaterialsRepository]:
    """One short transaction with a repository over it: ``with materials_repository() as repo: ...``."""
    from core.db import session_scope

    with session_scope() as session:
        yield MaterialsRepository(session)
