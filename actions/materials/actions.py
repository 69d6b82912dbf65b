"""The actions run when a materials form ends: the checklist and the two verdicts (or a goodbye after 「结束」)."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.materials import names
from actions.materials.context import MaterialsContext
from actions.rendering import response_text
from core.materials.comparison import compare
from core.materials.eligibility import address_rule, simple_dereg_verdict
from core.materials.rendering import address_verdict_messages, checklist_messages, dereg_verdict_messages
from core.materials.specs import HeldMaterials

DomainDict = Dict[str, Any]


def _clear_exclusions(tracker: Tracker) -> List[Dict[str, Any]]:
    """The 简易注销 answers are about one check only: a later check asks again (things may have changed)."""
    slots = tracker.slots if isinstance(tracker.slots, dict) else {}
    return [
        SlotSet(slot, None)
        for slot, value in slots.items()
        if slot.startswith(names.EXCLUSION_SLOT_PREFIX) and value is not None
    ]


class ActionMaterialsChecklist(MaterialsContext, Action):
    """Send the checklist for the conversation's procedure, entity type, conditions and materials, and save it.

    Domain: the slots of ``materials_form``; responses ``utter_materials_*`` (checklist, not covered, updated).
    """

    def name(self) -> str:
        return "action_materials_checklist"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        state = self.state_from(tracker)
        events: List[Dict[str, Any]] = [SlotSet(names.SLOT_PREVIEWED, None), SlotSet(names.SLOT_STOPPED, None)]
        if tracker.get_slot(names.SLOT_STOPPED) == names.STOPPED_FOR_CASE:
            return events  # the verdict on the described case was the reply (actions/cases.py)
        if tracker.get_slot(names.SLOT_STOPPED):
            return self._stopped(dispatcher, tracker, state) + events
        if not state.procedure:
            dispatcher.utter_message(response="utter_materials_stopped_empty")
            return events
        with self.repository_scope() as repo:
            procedure = repo.materials_for(state.procedure, state.entity_type)
            if procedure is None:
                dispatcher.utter_message(
                    text=response_text(
                        domain,
                        "utter_materials_no_checklist",
                        procedure=self.procedure_label(state.procedure),
                        entity_type=state.entity_type or "",
                    )
                )
                return events
            repo.save_checklist(tracker.sender_id, procedure.id, state.entity_type, state.conditions, state.held)
        checklist = compare(procedure, state.entity_type, state.conditions, HeldMaterials(dict(state.held)))
        if tracker.get_slot(names.SLOT_PREVIEWED):
            dispatcher.utter_message(response="utter_materials_updated_intro")
        for message in checklist_messages(domain, checklist, self.labels, self.material_names):
            dispatcher.utter_message(text=message)
        return events

    def _stopped(self, dispatcher: CollectingDispatcher, tracker: Tracker, state) -> List[Dict[str, Any]]:  # noqa: ANN001
        """The user ended the form early: keep what is known, say how to come back."""
        saved = False
        if state.procedure and state.held:
            with self.repository_scope() as repo:
                procedure = repo.materials_for(state.procedure, state.entity_type)
                if procedure is not None:
                    repo.save_checklist(tracker.sender_id, procedure.id, state.entity_type, state.conditions, state.held)
                    saved = True
        dispatcher.utter_message(response="utter_materials_stopped" if saved else "utter_materials_stopped_empty")
        return []


class ActionSimpleDeregVerdict(MaterialsContext, Action):
    """The 简易注销 verdict: eligible, or which exclusions stand in the way and what to do about each.

    Domain: slots ``mat_entity_type`` and ``sd_<key>``; responses ``utter_simple_dereg_*``, ``utter_check_source``.
    """

    def name(self) -> str:
        return "action_simple_dereg_verdict"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        entity_type = tracker.get_slot(names.SLOT_ENTITY_TYPE)
        if tracker.get_slot(names.SLOT_STOPPED):
            dispatcher.utter_message(response="utter_check_stopped")
            return [SlotSet(names.SLOT_STOPPED, None)] + _clear_exclusions(tracker)
        with self.repository_scope() as repo:
            procedure = repo.simple_dereg_eligibility(entity_type) if entity_type else None
        if procedure is None:
            dispatcher.utter_message(
                text=response_text(
                    domain, "utter_materials_no_checklist", procedure="简易注销", entity_type=entity_type or ""
                )
            )
            return [SlotSet(names.REQUESTED_SLOT, None)]
        eligibility = procedure.eligibility
        answers = {e.key: tracker.get_slot(e.slot) for e in eligibility.exclusions}
        verdict = simple_dereg_verdict(eligibility, entity_type, answers)
        for message in dereg_verdict_messages(domain, eligibility, verdict, procedure.title):
            dispatcher.utter_message(text=message)
        return _clear_exclusions(tracker)


class ActionAddressVerdict(MaterialsContext, Action):
    """The address check verdict: allowed, not allowed, ask the window, or not covered (→ 转人工).

    Domain: slots ``addr_type``, ``addr_business``, ``mat_entity_type``; responses ``utter_address_*``.
    """

    def name(self) -> str:
        return "action_address_verdict"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        clear = [SlotSet(names.SLOT_ADDR_TYPE, None), SlotSet(names.SLOT_ADDR_BUSINESS, None)]
        if tracker.get_slot(names.SLOT_STOPPED):
            dispatcher.utter_message(response="utter_check_stopped")
            return [SlotSet(names.SLOT_STOPPED, None)] + clear
        facts = {
            "addr_type": tracker.get_slot(names.SLOT_ADDR_TYPE),
            "addr_business": tracker.get_slot(names.SLOT_ADDR_BUSINESS),
            "entity_type": tracker.get_slot(names.SLOT_ENTITY_TYPE),
        }
        with self.repository_scope() as repo:
            check = repo.address_check()
        rule = address_rule(check, facts) if check else None
        if rule is None:
            dispatcher.utter_message(response="utter_address_unknown")
        else:
            for message in address_verdict_messages(domain, check, rule, facts):
                dispatcher.utter_message(text=message)
        return clear
