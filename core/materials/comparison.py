"""Comparing what a user has with what a procedure requires (pure logic, no I/O).

``compare()`` sorts every requirement of a procedure into: ✅ have, ❌ missing (mandatory, or required because of
an answered condition), ⚠ depends (on a condition not known yet or never asked), ⚠ unconfirmed (请以窗口要求为准) and
🕒 later (容缺). ``open_conditions()`` says which unanswered conditions would change that answer: the form asks
exactly those, found by trying every value of every unknown condition.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Tuple

from core.materials import specs
from core.materials.specs import (
    CONDITIONAL,
    MANDATORY,
    UNCONFIRMED,
    UNSURE,
    HeldMaterials,
    Note,
    Procedure,
    Requirement,
    matches,
)

HAVE = "have"
MISSING = "missing"
LATER = "later"
DEPENDS = "depends"
WINDOW = "window"  # unconfirmed: 请以窗口要求为准

ENTITY_TYPE = "entity_type"


@dataclass(frozen=True)
class ItemStatus:
    requirement: Requirement
    state: str
    where: str
    held_as: Tuple[str, ...] = ()
    because: str | None = None  # the answered condition that makes it needed
    condition: str | None = None  # the condition it depends on, when not known


@dataclass
class Checklist:
    procedure: Procedure
    entity_type: str | None
    conditions: Dict[str, Any]
    items: List[ItemStatus] = field(default_factory=list)
    notes: List[Note] = field(default_factory=list)
    not_covered: str | None = None
    extra_held: List[str] = field(default_factory=list)

    def of_state(self, state: str) -> List[ItemStatus]:
        return [i for i in self.items if i.state == state]

    @property
    def have(self) -> List[ItemStatus]:
        return self.of_state(HAVE)

    @property
    def missing(self) -> List[ItemStatus]:
        return self.of_state(MISSING)

    @property
    def later(self) -> List[ItemStatus]:
        return self.of_state(LATER)

    @property
    def depends(self) -> List[ItemStatus]:
        return self.of_state(DEPENDS) + self.of_state(WINDOW)

    def signature(self) -> Tuple:
        """What the user would be told, apart from what they hold: used to tell which questions matter."""
        return (
            tuple((i.requirement.id, i.state, i.where) for i in self.items),
            tuple(n.id for n in self.notes),
            self.not_covered,
        )


def facts_for(entity_type: str | None, conditions: Mapping[str, Any]) -> Dict[str, Any]:
    facts = dict(conditions)
    facts[ENTITY_TYPE] = entity_type
    return facts


def _status(req: Requirement, facts: Dict[str, Any], held: HeldMaterials) -> ItemStatus | None:
    needed = matches(req.when, facts) if req.when else True
    if needed is False:
        return None
    where = req.where_for(facts)
    held_as = tuple(m for m in req.satisfied_by if held.status.get(m))
    if held_as:
        return ItemStatus(req, HAVE, where, held_as=held_as)
    if req.requirement == UNCONFIRMED:
        return ItemStatus(req, WINDOW, where, condition=req.condition if needed is None else None)
    required_now = needed is True and (req.requirement == MANDATORY or (req.requirement == CONDITIONAL and req.when))
    if required_now:
        state = LATER if req.deferrable else MISSING
        return ItemStatus(req, state, where, because=req.condition if req.when else None)
    return ItemStatus(req, DEPENDS, where, condition=req.condition)


def compare(
    procedure: Procedure,
    entity_type: str | None,
    conditions: Mapping[str, Any],
    held: HeldMaterials | None = None,
) -> Checklist:
    """The checklist of ``procedure`` for ``entity_type`` under the known ``conditions``, given what is ``held``."""
    held = held or HeldMaterials()
    facts = facts_for(entity_type, conditions)
    checklist = Checklist(procedure, entity_type, dict(conditions))
    for gap in procedure.not_covered:
        if gap.covers(entity_type) and matches(gap.when, facts) is True:
            checklist.not_covered = gap.what
            break
    used = set()
    for req in procedure.requirements:
        if not req.covers(entity_type):
            continue
        status = _status(req, facts, held)
        if status is None:
            continue
        used.update(req.satisfied_by)
        checklist.items.append(status)
    anything_missing = bool(checklist.missing or checklist.later)
    for note in procedure.notes:
        if not note.covers(entity_type):
            continue
        if (matches(note.when, facts) if note.when else True) is not True:
            continue
        if note.only_if_missing and not anything_missing:
            continue
        checklist.notes.append(note)
    checklist.extra_held = [m for m in held.has if m not in used]
    return checklist


def _unknown(value: Any) -> bool:
    return value is None


def keys_in_use(procedure: Procedure) -> set:
    """The condition keys any requirement, variant, note or gap of ``procedure`` depends on."""
    keys = set()
    for req in procedure.requirements:
        keys.update(req.when)
        for variant in req.where_variants:
            keys.update(variant.when)
    for note in procedure.notes:
        keys.update(note.when)
    for gap in procedure.not_covered:
        keys.update(gap.when)
    return keys


def open_conditions(
    procedure: Procedure,
    entity_type: str | None,
    conditions: Mapping[str, Any],
    condition_values: Mapping[str, Sequence[Any]],
    order: Iterable[str],
) -> List[str]:
    """The unanswered conditions (in ``order``) whose answer changes the checklist; "unsure" counts as answered.

    A condition matters if, for some answers to the other open conditions, two of its values give different
    checklists. The `when` clauses are conjunctions, so trying complete answers is enough.
    """
    in_use = keys_in_use(procedure)
    unknown = [key for key in order if key in in_use and _unknown(conditions.get(key))]
    base = dict(conditions)
    relevant = []
    for key in unknown:
        others = [k for k in unknown if k != key]
        for combo in itertools.product(*[tuple(condition_values[k]) for k in others]):
            assignment = {**base, **dict(zip(others, combo, strict=True))}
            seen = {
                compare(procedure, entity_type, {**assignment, key: value}).signature()
                for value in condition_values[key]
            }
            if len(seen) > 1:
                relevant.append(key)
                break
    return relevant


def procedure_for(procedures: Iterable[Procedure], kind: str, entity_type: str | None) -> Procedure | None:
    """The procedure of ``kind`` that covers ``entity_type`` (None if the knowledge base has none)."""
    candidates = [p for p in procedures if p.kind == kind]
    for procedure in candidates:
        if procedure.needs_entity_type and entity_type in procedure.entity_types:
            return procedure
    for procedure in candidates:
        if not procedure.needs_entity_type:
            return procedure
    return None


def needs_entity_type(procedures: Iterable[Procedure], kind: str) -> bool:
    return any(p.kind == kind and p.needs_entity_type for p in procedures)


__all__ = [
    "HAVE",
    "MISSING",
    "LATER",
    "DEPENDS",
    "WINDOW",
    "UNSURE",
    "Checklist",
    "ItemStatus",
    "compare",
    "open_conditions",
    "procedure_for",
    "needs_entity_type",
    "specs",
]
