"""Tables of the materials check: requirements per procedure (seeded from knowledge/materials) and the checklist
saved per conversation, so a user can come back ("我还差什么") after a restart."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import relationship

from core.db import Base


class MaterialProcedure(Base):
    """One requirement file: a procedure for some entity types, with its notes and checks kept as JSON."""

    __tablename__ = "material_procedures"

    id = Column(String(64), primary_key=True)
    kind = Column(String(32), nullable=False, index=True)
    title = Column(String(100), nullable=False)
    entity_types = Column(JSON, nullable=False)
    notes = Column(JSON, nullable=False, default=list)
    not_covered = Column(JSON, nullable=False, default=list)
    eligibility = Column(JSON)
    address_check = Column(JSON)
    seed_hash = Column(String(64))
    updated_at = Column(DateTime, nullable=False, default=datetime.utcnow)

    requirements = relationship(
        "MaterialRequirement",
        back_populates="procedure",
        order_by="MaterialRequirement.position",
        cascade="all, delete-orphan",
    )
    checklists = relationship("Checklist", back_populates="procedure")

    def __repr__(self) -> str:
        return f"MaterialProcedure({self.id!r}, kind={self.kind!r})"


class MaterialRequirement(Base):
    """One material of a procedure, with its condition, where to get it, 容缺 note and source."""

    __tablename__ = "material_requirements"

    id = Column(String(120), primary_key=True)
    procedure_id = Column(String(64), ForeignKey("material_procedures.id"), nullable=False, index=True)
    position = Column(Integer, nullable=False)
    name = Column(Text, nullable=False)
    satisfied_by = Column(JSON, nullable=False)
    requirement = Column(String(16), nullable=False)
    when = Column(JSON, nullable=False, default=dict)
    condition = Column(Text)
    entity_types = Column(JSON, nullable=False)
    where_to_get = Column(Text, nullable=False)
    where_variants = Column(JSON, nullable=False, default=list)
    deferrable = Column(Text)
    deferrable_confirmed = Column(Boolean, nullable=False, default=False)
    note = Column(Text)
    source = Column(Text, nullable=False)
    source_url = Column(Text)
    rule_date = Column(String(10), nullable=False)
    reviewed = Column(String(10), nullable=False)

    procedure = relationship("MaterialProcedure", back_populates="requirements")

    def __repr__(self) -> str:
        return f"MaterialRequirement({self.id!r}, {self.requirement!r})"


class Checklist(Base):
    """What one conversation (sender) told us for one procedure: entity type, conditions and materials."""

    __tablename__ = "material_checklists"
    __table_args__ = (UniqueConstraint("sender_id", "procedure_id", name="uq_checklist_sender_procedure"),)

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(128), nullable=False, index=True)
    procedure_id = Column(String(64), ForeignKey("material_procedures.id"), nullable=False)
    entity_type = Column(String(32))
    conditions = Column(JSON, nullable=False, default=dict)
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    updated_at = Column(DateTime, nullable=False, default=datetime.utcnow, index=True)

    procedure = relationship("MaterialProcedure", back_populates="checklists")
    materials = relationship("ChecklistMaterial", back_populates="checklist", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"Checklist({self.sender_id!r}, {self.procedure_id!r}, {self.entity_type!r})"


class ChecklistMaterial(Base):
    """A material the user said they have (held=True) or lack (held=False)."""

    __tablename__ = "material_checklist_items"
    __table_args__ = (UniqueConstraint("checklist_id", "material", name="uq_checklist_material"),)

    id = Column(Integer, primary_key=True)
    checklist_id = Column(Integer, ForeignKey("material_checklists.id"), nullable=False, index=True)
    material = Column(String(64), nullable=False)
    held = Column(Boolean, nullable=False)
    updated_at = Column(DateTime, nullable=False, default=datetime.utcnow)

    checklist = relationship("Checklist", back_populates="materials")

    def __repr__(self) -> str:
        return f"ChecklistMaterial({self.material!r}, held={self.held})"
