"""Load ``knowledge/materials/*.yml`` into the database (one of the seeders of ``make db``).

The YAML files are the reviewed source; at run time the action server reads the requirements from the database
through ``MaterialsRepository``. A procedure whose file did not change is left alone; a changed one gets its
requirements replaced. Checklists saved for conversations are never touched.

Usage: ``python -m core.materials.loader [--check]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import List

from sqlalchemy.orm import Session

from core.materials.models import MaterialProcedure, MaterialRequirement
from core.materials.schema import MATERIALS_DIR, MaterialsKnowledge, ProcedureFile, load_knowledge

log = logging.getLogger(__name__)


def _digest(model: ProcedureFile) -> str:
    payload = json.dumps(model.dict(), ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _requirement_row(procedure_id: str, position: int, item) -> MaterialRequirement:  # noqa: ANN001
    return MaterialRequirement(
        id=f"{procedure_id}.{item.id}",
        procedure_id=procedure_id,
        position=position,
        name=item.name,
        satisfied_by=list(item.satisfied_by),
        requirement=item.requirement,
        when=dict(item.when),
        condition=item.condition,
        entity_types=list(item.entity_types),
        where_to_get=item.where.strip(),
        where_variants=[v.dict() for v in item.where_variants],
        deferrable=item.deferrable,
        deferrable_confirmed=item.deferrable_confirmed,
        note=item.note,
        source=item.source,
        source_url=item.source_url,
        rule_date=item.rule_date,
        reviewed=item.reviewed,
    )


def seed(session: Session, knowledge: MaterialsKnowledge) -> dict:
    """Insert new procedures, replace changed ones; return counts."""
    counts = {"procedures_inserted": 0, "procedures_updated": 0, "procedures_unchanged": 0, "requirements": 0}
    for model in knowledge.procedures:
        counts["requirements"] += len(model.materials)
        digest = _digest(model)
        row = session.get(MaterialProcedure, model.procedure)
        if row is not None and row.seed_hash == digest:
            counts["procedures_unchanged"] += 1
            continue
        if row is None:
            row = MaterialProcedure(id=model.procedure)
            session.add(row)
            counts["procedures_inserted"] += 1
        else:
            counts["procedures_updated"] += 1
            row.requirements.clear()
            session.flush()
        row.kind = model.kind
        row.title = model.title
        row.entity_types = list(model.entity_types)
        row.notes = [n.dict() for n in model.notes]
        row.not_covered = [n.dict() for n in model.not_covered]
        row.eligibility = model.eligibility.dict() if model.eligibility else None
        row.address_check = model.address_check.dict() if model.address_check else None
        row.seed_hash = digest
        row.updated_at = datetime.utcnow()
        row.requirements.extend(_requirement_row(model.procedure, i, item) for i, item in enumerate(model.materials))
    return counts


def load_all(directory: Path = MATERIALS_DIR) -> dict:
    from core.db import create_schema, session_scope

    knowledge = load_knowledge(directory)
    create_schema()
    with session_scope() as session:
        return seed(session, knowledge)


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only validate the YAML files")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    knowledge = load_knowledge()
    items = sum(len(p.materials) for p in knowledge.procedures)
    if args.check:
        print(f"materials knowledge OK: {len(knowledge.procedures)} procedures, {items} requirements")
        return 0
    print("materials loaded: " + ", ".join(f"{k} {v}" for k, v in load_all().items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
