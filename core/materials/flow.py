"""One turn of the materials form, as pure functions: what the message answers, and what to ask next.

A message may answer several questions at once, out of order ("开个奶茶店，个体户，只有身份证和租房合同"), or
correct an earlier answer ("不对，是合伙企业"); every turn reads all of them. The next question is the first one
whose answer still changes the checklist (``comparison.open_conditions``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Sequence

from core.materials.comparison import compare, open_conditions, procedure_for
from core.materials.extraction import HAS, LACKS, Mention
from core.materials.parsing import Reader, mask
from core.materials.specs import SETUP, Procedure

PROCEDURE = "procedure"
ENTITY_TYPE = "entity_type"
ANSWERED = "answered"

# what a held document says about the premises when the user has not said it in words
PREMISES_FROM_HELD = (("租赁合同", "rented"), ("网络经营场所信息", "online"), ("无偿使用证明", "free_use"))


@dataclass(frozen=True)
class MaterialsState:
    procedure: str | None = None
    entity_type: str | None = None
    conditions: Dict[str, Any] = field(default_factory=dict)
    held: Dict[str, bool] = field(default_factory=dict)
    answered: bool = False


@dataclass(frozen=True)
class Reading:
    """What one message said: the new state and whether anything in it answered the form."""

    state: MaterialsState
    understood: bool
    held_changed: bool
    cancel: bool = False
    mentions: List[Mention] = field(default_factory=list)


def read_turn(
    state: MaterialsState,
    text: str,
    mentions: Sequence[Mention],
    reader: Reader,
    asking: str | None,
) -> Reading:
    """Apply one normalised message to ``state``; ``asking`` is the question the bot asked last (or None)."""
    masked = mask(text, [(m.start, m.end) for m in mentions])
    if asking and reader.is_cancel(masked) and not mentions:
        return Reading(state, understood=False, held_changed=False, cancel=True)
    updates: Dict[str, Any] = {}
    conditions = dict(state.conditions)
    held = dict(state.held)

    changes = {m.material: m.polarity == HAS for m in mentions if m.polarity in (HAS, LACKS)}
    held_changed = any(held.get(k) != v for k, v in changes.items())
    held.update(changes)
    answered = state.answered or bool(changes) or any(m.polarity in (HAS, LACKS) for m in mentions)
    if asking == ANSWERED and not answered and reader.says_none_held(masked):
        answered = True

    procedure = reader.procedure(masked, has_licence=held.get("营业执照") is True)
    if procedure:
        updates[PROCEDURE] = procedure
    entity_type = reader.entity_type(masked)
    if entity_type:
        updates[ENTITY_TYPE] = entity_type

    stated = reader.conditions(masked)
    if asking and asking in reader.language.conditions and asking not in stated:
        short = reader.condition_answer(asking, masked)
        if short is not None:
            stated[asking] = short
    if "premises" not in stated and conditions.get("premises") is None:
        for material, premises in PREMISES_FROM_HELD:
            if held.get(material):
                stated["premises"] = premises
                break
    conditions.update(stated)

    new_state = replace(
        state,
        procedure=updates.get(PROCEDURE, state.procedure),
        entity_type=updates.get(ENTITY_TYPE, state.entity_type),
        conditions=conditions,
        held=held,
        answered=answered,
    )
    understood = new_state != state
    return Reading(new_state, understood=understood, held_changed=held_changed, mentions=list(mentions))


def current_procedure(state: MaterialsState, procedures: Sequence[Procedure]) -> Procedure | None:
    if not state.procedure:
        return None
    return procedure_for(procedures, state.procedure, state.entity_type)


def needs_entity_type(state: MaterialsState, procedures: Sequence[Procedure]) -> bool:
    return any(p.kind == state.procedure and p.needs_entity_type for p in procedures)


def open_questions(
    state: MaterialsState,
    procedures: Sequence[Procedure],
    condition_values: Mapping[str, Sequence[Any]],
    order: Sequence[str],
) -> List[str]:
    """The questions still to ask, in order: procedure, entity type, the conditions that matter, the materials."""
    if not state.procedure:
        return [PROCEDURE]
    if state.entity_type is None and needs_entity_type(state, procedures):
        return [ENTITY_TYPE]
    procedure = current_procedure(state, procedures)
    if procedure is None:
        return []  # the knowledge base has no checklist for this: the reply says so
    if compare(procedure, state.entity_type, state.conditions).not_covered:
        return []
    questions = open_conditions(procedure, state.entity_type, state.conditions, condition_values, order)
    if not state.answered:
        questions.append(ANSWERED)
    return questions


# how many of the named materials must belong to a procedure before the form assumes it
MIN_MATERIALS_FOR_PROCEDURE = 2


def infer_procedure(
    state: MaterialsState, procedures: Sequence[Procedure], hint: str | None = None, deregistering: bool = False
) -> str | None:
    """The procedure the user means when the message does not name it, so the form does not ask 「您要办哪项业务？」:

    - ``hint``, what the conversation was about (the last answer's topic: knowledge/dialogue/checks.yml);
    - else the one procedure whose requirements the materials the user named belong to most, when at least two of
      them do ("一人有限公司，身份证和章程都有了" → 设立登记: both are setup materials); a tie with 设立登记 goes to 设立登记 when an entity type was
      named (people list their materials with the type when they are opening);
    - never a guess for a deregistration ("注销" without 简易/普通): the form asks which one.
    """
    if state.procedure:
        return state.procedure
    kinds = {p.kind for p in procedures}
    if hint in kinds:
        return hint
    named = set(state.held)
    if not named or deregistering:
        return None
    scores: Dict[str, int] = {}
    for kind in sorted(kinds):
        satisfied: set = set()
        for procedure in procedures:
            if procedure.kind != kind:
                continue
            if procedure.needs_entity_type and state.entity_type and state.entity_type not in procedure.entity_types:
                continue
            for req in procedure.requirements:
                if req.covers(state.entity_type) or state.entity_type is None:
                    satisfied.update(req.satisfied_by)
        scores[kind] = len(named & satisfied)
    best = max(scores.values(), default=0)
    if best < MIN_MATERIALS_FOR_PROCEDURE:
        # one named document does not tell the procedure ("法人身份证丢了，变更要怎么办" is no setup check): ask
        return None
    tied = [kind for kind, score in scores.items() if score == best]
    if len(tied) == 1:
        return tied[0]
    if SETUP in tied and state.entity_type:
        return SETUP
    return None
