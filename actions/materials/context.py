"""What the materials actions share: the injected knowledge base, extractor and reader, and slot helpers.

Actions get these in their constructor (defaults: the process-wide ones, all made lazily), so tests can hand in a
repository over a temporary database. Nothing here opens a database or builds a model at import.
"""

from __future__ import annotations

from typing import Any, Callable, ContextManager, Dict, List

from rasa_sdk import Tracker

from actions.materials import names
from core.materials.extraction import MaterialExtractor, Mention, get_extractor
from core.materials.flow import ANSWERED, ENTITY_TYPE, PROCEDURE, MaterialsState
from core.materials.parsing import Reader, default_reader, mask
from core.materials.repository import MaterialsRepository, materials_repository
from core.materials.schema import MaterialsKnowledge, load_knowledge

RepositoryScope = Callable[[], ContextManager[MaterialsRepository]]


class MaterialsContext:
    """Mixin for the materials actions (not an Action itself, so rasa-sdk does not register it)."""

    def __init__(
        self,
        repository_scope: RepositoryScope = materials_repository,
        extractor: MaterialExtractor | None = None,
        reader: Reader | None = None,
        knowledge: MaterialsKnowledge | None = None,
    ) -> None:
        self.repository_scope = repository_scope
        self._extractor = extractor
        self._reader = reader
        self._knowledge = knowledge

    # -- lazily made helpers ----------------------------------------------------------------------------------------

    @property
    def knowledge(self) -> MaterialsKnowledge:
        if self._knowledge is None:
            self._knowledge = load_knowledge()
        return self._knowledge

    @property
    def extractor(self) -> MaterialExtractor:
        if self._extractor is None:
            self._extractor = get_extractor()
        return self._extractor

    @property
    def reader(self) -> Reader:
        if self._reader is None:
            self._reader = default_reader()
        return self._reader

    # -- the conditions of knowledge/materials/conditions.yml ---------------------------------------------------------

    @property
    def condition_slots(self) -> Dict[str, str]:
        return {key: c.slot for key, c in self.knowledge.conditions.conditions.items()}

    @property
    def condition_values(self) -> Dict[str, tuple]:
        return {key: tuple(c.values) for key, c in self.knowledge.conditions.conditions.items()}

    @property
    def condition_order(self) -> List[str]:
        return list(self.knowledge.conditions.order)

    @property
    def labels(self) -> Dict[str, Dict[Any, str]]:
        return {key: {v: w.label for v, w in c.values.items()} for key, c in self.knowledge.conditions.conditions.items()}

    @property
    def material_names(self) -> Dict[str, str]:
        return {canonical: canonical for canonical in self.knowledge.vocabulary.materials}

    def procedure_label(self, kind: str | None) -> str:
        words = self.knowledge.conditions.procedures.get(kind or "")
        return words.label if words else (kind or "")

    # -- slots ↔ state ----------------------------------------------------------------------------------------------

    def slot_of(self, question: str | None) -> str | None:
        if question is None:
            return None
        fixed = {PROCEDURE: names.SLOT_PROCEDURE, ENTITY_TYPE: names.SLOT_ENTITY_TYPE, ANSWERED: names.SLOT_ANSWERED}
        return fixed.get(question) or self.condition_slots.get(question)

    def question_of(self, slot: str | None) -> str | None:
        if not slot:
            return None
        for question in (PROCEDURE, ENTITY_TYPE, ANSWERED, *self.condition_slots):
            if self.slot_of(question) == slot:
                return question
        return None

    def state_from(self, tracker: Tracker) -> MaterialsState:
        held = tracker.get_slot(names.SLOT_HELD)
        return MaterialsState(
            procedure=tracker.get_slot(names.SLOT_PROCEDURE),
            entity_type=tracker.get_slot(names.SLOT_ENTITY_TYPE),
            conditions={key: tracker.get_slot(slot) for key, slot in self.condition_slots.items()},
            held=dict(held) if isinstance(held, dict) else {},
            answered=bool(tracker.get_slot(names.SLOT_ANSWERED)),
        )

    def slot_values(self, state: MaterialsState) -> Dict[str, Any]:
        values = {
            names.SLOT_PROCEDURE: state.procedure,
            names.SLOT_ENTITY_TYPE: state.entity_type,
            names.SLOT_HELD: dict(state.held) or None,
            names.SLOT_ANSWERED: True if state.answered else None,
        }
        for key, slot in self.condition_slots.items():
            values[slot] = state.conditions.get(key)
        return values

    # -- the user's words -------------------------------------------------------------------------------------------

    def read_text(self, tracker: Tracker) -> str:
        text = tracker.latest_message.get("text") if isinstance(tracker.latest_message, dict) else ""
        return self.extractor.normalise(text if isinstance(text, str) else "")

    def mentions(self, text: str) -> List[Mention]:
        return self.extractor.extract(text, normalised=True) if text else []

    def masked(self, text: str, mentions: List[Mention]) -> str:
        return mask(text, [(m.start, m.end) for m in mentions])


def latest_intent(tracker: Tracker) -> str:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name") or "" if isinstance(intent, dict) else ""
