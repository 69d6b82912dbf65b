"""Validation of the three materials forms: the checklist form, the 简易注销 check and the address check.

Each message can answer several questions, out of order, or correct an earlier answer, so each validation action
reads the whole message in one pass (``flow.read_turn`` and ``parsing.Reader``) instead of one ``validate_<slot>``
per slot, then names the next question (``requested_slot``) - the first one whose answer still matters. When a
message answers nothing, the form is rejected so the rules can answer it (a question on another topic, 转人工); 「结束」 ends
the form at once (the closing action sees ``materials_stopped``); a short reply that was meant as an answer but not understood is asked again instead.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.materials import names
from actions.materials.context import MaterialsContext, latest_intent
from actions.rendering import response_text
from core.knowledge.schema import ENTITY_TYPES
from core.materials.comparison import compare
from core.materials.eligibility import ADDRESS_QUESTIONS, open_address_questions, open_exclusions
from core.materials.extraction import Mention
from core.materials.flow import ANSWERED, PROCEDURE, MaterialsState, current_procedure, open_questions, read_turn
from core.materials.rendering import checklist_messages
from core.materials.repository import SavedChecklist
from core.materials.specs import UNSURE, HeldMaterials

DomainDict = Dict[str, Any]


def _changed(tracker: Tracker, values: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [SlotSet(slot, value) for slot, value in values.items() if tracker.get_slot(slot) != value]


def _stop() -> List[Dict[str, Any]]:
    """「结束」: end the form now; the action that follows it sees the flag and only says how to come back."""
    return [SlotSet(names.SLOT_STOPPED, True), SlotSet(names.REQUESTED_SLOT, None)]


def _reask(
    dispatcher: CollectingDispatcher, tracker: Tracker, requested: str, response: str = "utter_materials_reask"
) -> List[Dict[str, Any]]:
    """Say that the answer was not understood (or ask which one was meant) and ask the same question again."""
    dispatcher.utter_message(response=response)
    count = tracker.get_slot(names.SLOT_REASK)
    return [
        SlotSet(names.SLOT_REASK, (count if isinstance(count, int) else 0) + 1),
        SlotSet(names.REQUESTED_SLOT, requested),
    ]


class ValidateMaterialsForm(MaterialsContext, Action):
    """Reads procedure, entity type, conditions and materials from each message; shows a first checklist as soon
    as the user said what they have, then asks only the questions that still change it.

    Domain: form ``materials_form``; slots of actions/materials/names.py and the condition slots of
    knowledge/materials/conditions.yml; responses ``utter_ask_<slot>``, ``utter_materials_reask``,
    ``utter_materials_preview_intro``, ``utter_materials_more_questions`` and the checklist responses.
    """

    def name(self) -> str:
        return "validate_materials_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        requested = tracker.get_slot(names.REQUESTED_SLOT)
        asking = self.question_of(requested)
        text = self.read_text(tracker)
        mentions = self.mentions(text)
        with self.repository_scope() as repo:
            procedures = repo.procedures()
            state = self.state_from(tracker)
            saved = repo.saved_checklist(tracker.sender_id) if state.procedure is None else None
        state, resumed = self._resume(state, saved, text, mentions)
        reading = read_turn(state, text, mentions, self.reader, asking)
        if reading.cancel:
            return _stop()
        wants_list = latest_intent(tracker) == names.INTENT_ASK_MISSING and not reading.held_changed
        if asking and not reading.understood and not resumed and not wants_list:
            return self._not_understood(dispatcher, tracker, text, reading, asking, requested)
        new = reading.state
        events = _changed(tracker, self.slot_values(new))
        if new.entity_type and new.entity_type != tracker.get_slot(names.SHARED_ENTITY_TYPE):
            events.append(SlotSet(names.SHARED_ENTITY_TYPE, new.entity_type))
        procedure = current_procedure(new, procedures)
        if procedure is not None and new.held:  # saved as it grows, so the user can come back at any point
            with self.repository_scope() as repo:
                repo.save_checklist(tracker.sender_id, procedure.id, new.entity_type, new.conditions, new.held)
        questions = open_questions(new, procedures, self.condition_values, self.condition_order)
        if wants_list and procedure is not None:
            # 「我还差什么」: the checklist as it stands. Inside the questions: show it, then the open question once
            # more; otherwise (after 「结束」, or coming back) end the form so the checklist action sends it.
            if asking and questions:
                self._preview(dispatcher, domain, procedure, new, len(questions))
                events.append(SlotSet(names.SLOT_PREVIEWED, True))
                return events + [SlotSet(names.REQUESTED_SLOT, self.slot_of(questions[0]))]
            return events + [SlotSet(names.REQUESTED_SLOT, None)]
        preview_due = reading.held_changed and questions and questions[0] != ANSWERED
        if procedure is not None and preview_due and not tracker.get_slot(names.SLOT_PREVIEWED):
            self._preview(dispatcher, domain, procedure, new, len(questions))
            events.append(SlotSet(names.SLOT_PREVIEWED, True))
        events.append(SlotSet(names.REQUESTED_SLOT, self.slot_of(questions[0]) if questions else None))
        return events

    def _resume(
        self, state: MaterialsState, saved: SavedChecklist | None, text: str, mentions: List[Mention]
    ) -> Tuple[MaterialsState, bool]:
        """Coming back (maybe after a restart): start from the saved checklist - unless this message is about another
        procedure or entity type, which makes it a new case."""
        if saved is None:
            return state, False
        said = read_turn(MaterialsState(), text, mentions, self.reader, None).state
        if said.procedure not in (None, saved.kind) or said.entity_type not in (None, saved.entity_type):
            return state, False
        return MaterialsState(saved.kind, saved.entity_type, dict(saved.conditions), dict(saved.held), True), True

    def _not_understood(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, text: str, reading, asking: str, requested: str  # noqa: ANN001
    ) -> List[Dict[str, Any]]:
        """Ask again when the message was meant as an answer; otherwise reject so the rules answer it."""
        masked = self.masked(text, reading.mentions)
        if asking == PROCEDURE and self.reader.mentions_deregistration(masked):
            return _reask(dispatcher, tracker, requested, "utter_materials_which_deregistration")
        intent = latest_intent(tracker)
        if (intent in names.ANSWER_INTENTS and len(text) <= 30) or intent in names.FORM_INTENTS:
            return _reask(dispatcher, tracker, requested)  # no other rule answers these: never reject (a loop)
        return []  # rejected: the rules answer it, then the form asks its question again

    def _preview(
        self, dispatcher: CollectingDispatcher, domain: DomainDict, procedure, state: MaterialsState, open_count: int  # noqa: ANN001
    ) -> None:
        """The checklist as it stands, before the questions that can still change it."""
        checklist = compare(procedure, state.entity_type, state.conditions, HeldMaterials(dict(state.held)))
        dispatcher.utter_message(response="utter_materials_preview_intro")
        for message in checklist_messages(domain, checklist, self.labels, self.material_names):
            dispatcher.utter_message(text=message)
        dispatcher.utter_message(text=response_text(domain, "utter_materials_more_questions", count=open_count))


class ValidateSimpleDeregForm(MaterialsContext, Action):
    """Asks each 简易注销 exclusion of the knowledge base as a yes/no question (entity type first).

    Domain: form ``simple_dereg_form``; slots ``mat_entity_type`` and ``sd_<key>`` for every exclusion key of
    knowledge/materials/simple_dereg_*.yml; responses ``utter_ask_sd_<key>``, ``utter_simple_dereg_intro``.
    """

    def name(self) -> str:
        return "validate_simple_dereg_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        requested = tracker.get_slot(names.REQUESTED_SLOT)
        text = self.read_text(tracker)
        masked = self.masked(text, self.mentions(text))
        if requested and self.reader.is_cancel(masked):
            return _stop()
        entity_type = tracker.get_slot(names.SLOT_ENTITY_TYPE) or tracker.get_slot(names.SHARED_ENTITY_TYPE)
        said_type = self.reader.entity_type(masked)
        if said_type and (requested in (None, names.SLOT_ENTITY_TYPE) or self.reader.is_correction(masked)):
            entity_type = said_type
        values: Dict[str, Any] = {names.SLOT_ENTITY_TYPE: entity_type}
        with self.repository_scope() as repo:
            procedure = repo.simple_dereg_eligibility(entity_type) if entity_type else None
        exclusions = list(procedure.eligibility.exclusions) if procedure else []
        answers = {e.key: tracker.get_slot(e.slot) for e in exclusions}
        stated = self.reader.exclusions(masked, exclusions)
        asked_key = requested[len(names.EXCLUSION_SLOT_PREFIX) :] if requested and requested.startswith(names.EXCLUSION_SLOT_PREFIX) else None
        if asked_key and asked_key not in stated:
            if self.reader.says_all_no(masked):
                stated.update({key: False for key, value in answers.items() if value is None})
            else:
                answer = self.reader.answer(masked)
                if answer is not None:
                    stated[asked_key] = {"yes": True, "no": False}.get(answer, UNSURE)
        answers.update(stated)
        values.update({e.slot: answers.get(e.key) for e in exclusions})
        events = _changed(tracker, values)
        if requested and not events:
            if latest_intent(tracker) in names.ANSWER_INTENTS and len(text) <= 30:
                return _reask(dispatcher, tracker, requested)
            return []
        if requested is None:
            dispatcher.utter_message(response="utter_simple_dereg_intro")
        if entity_type is None:
            next_slot = names.SLOT_ENTITY_TYPE
        elif procedure is None:
            next_slot = None  # not covered: the verdict action says so
        else:
            remaining = open_exclusions(procedure.eligibility, entity_type, answers)
            next_slot = remaining[0].slot if remaining else None
        return events + [SlotSet(names.REQUESTED_SLOT, next_slot)]


class ValidateAddressCheckForm(MaterialsContext, Action):
    """Asks the address type and the business type (and the entity type when it matters) for the address check.

    Domain: form ``address_check_form``; slots ``addr_type``, ``addr_business``, ``mat_entity_type``; responses
    ``utter_ask_addr_type``, ``utter_ask_addr_business``, ``utter_ask_mat_entity_type``.
    """

    def name(self) -> str:
        return "validate_address_check_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        requested = tracker.get_slot(names.REQUESTED_SLOT)
        text = self.read_text(tracker)
        masked = self.masked(text, self.mentions(text))
        if requested and self.reader.is_cancel(masked):
            return _stop()
        facts: Dict[str, Any] = {
            "addr_type": tracker.get_slot(names.SLOT_ADDR_TYPE),
            "addr_business": tracker.get_slot(names.SLOT_ADDR_BUSINESS),
            "entity_type": tracker.get_slot(names.SLOT_ENTITY_TYPE) or tracker.get_slot(names.SHARED_ENTITY_TYPE),
        }
        stated = self.reader.address_facts(masked)
        said_type = self.reader.entity_type(masked)
        if said_type:
            stated["entity_type"] = said_type
        asked = {
            names.SLOT_ADDR_TYPE: "addr_type",
            names.SLOT_ADDR_BUSINESS: "addr_business",
            names.SLOT_ENTITY_TYPE: "entity_type",
        }.get(requested)
        correcting = self.reader.is_correction(masked)
        for key, value in stated.items():
            if facts.get(key) is None or key == asked or correcting:
                facts[key] = value
        with self.repository_scope() as repo:
            check = repo.address_check()
        values = {
            names.SLOT_ADDR_TYPE: facts["addr_type"],
            names.SLOT_ADDR_BUSINESS: facts["addr_business"],
            names.SLOT_ENTITY_TYPE: facts["entity_type"],
        }
        events = _changed(tracker, values)
        if requested and not events:
            if latest_intent(tracker) in names.ANSWER_INTENTS and len(text) <= 30:
                return _reask(dispatcher, tracker, requested)
            return []
        if requested is None:
            dispatcher.utter_message(response="utter_address_check_intro")
        questions = open_address_questions(check, facts, ENTITY_TYPES, ADDRESS_QUESTIONS) if check else []
        slot_names = {"addr_type": names.SLOT_ADDR_TYPE, "addr_business": names.SLOT_ADDR_BUSINESS, "entity_type": names.SLOT_ENTITY_TYPE}
        next_slot: str | None = slot_names[questions[0]] if questions else None
        return events + [SlotSet(names.REQUESTED_SLOT, next_slot)]
