"""Validation of the three materials forms: the checklist form, the 简易注销 check and the address check.

Each message can answer several questions, out of order, or correct an earlier answer, so each validation action
reads the whole message in one pass (``flow.read_turn`` and ``parsing.Reader``) instead of one ``validate_<slot>``
per slot, then names the next question (``requested_slot``) - the first one whose answer still matters. When a
message answers nothing, the form is rejected so the rules can answer it (a question on another topic, 转人工); 「结束」 ends
the form at once (the closing action sees ``materials_stopped``); a short reply that was meant as an answer but not understood is asked again instead.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Dict, List, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.materials import names
from actions.materials.context import MaterialsContext, latest_intent
from actions.rendering import response_text
from core.dialogue.knowledge import checks
from core.knowledge.schema import ENTITY_TYPES
from core.materials.comparison import compare
from core.materials.eligibility import ADDRESS_QUESTIONS, open_address_questions, open_exclusions
from core.materials.extraction import MENTION, Mention
from core.materials.flow import (
    ANSWERED,
    PROCEDURE,
    MaterialsState,
    current_procedure,
    infer_procedure,
    open_questions,
    read_turn,
)
from core.materials.rendering import checklist_messages
from core.materials.repository import SavedChecklist
from core.materials.specs import SIMPLE_DEREG, UNSURE, HeldMaterials

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


# the slots an answer given inside a form may set (the conversation's topic, so a later 「要多久？」 is understood)
_ANSWER_SLOTS = ("current_topic", "last_answer_intent")


def is_question(text: str) -> bool:
    return checks().is_question(text)


def interrupts(tracker: Tracker, text: str) -> bool:
    """The message is a question of its own (a topic intent phrased as a question), even if it also answered the
    form ("一人公司要多少注册资本？" while the form asks the entity type): it is answered as well."""
    intent = latest_intent(tracker)
    form_intents = names.FORM_INTENTS | names.ANSWER_INTENTS | names.CHECK_INTENTS | names.LEAVE_INTENTS
    return bool(intent) and intent not in form_intents and intent not in names.SMALLTALK_RESPONSES and is_question(text)


async def answer_inside_form(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, procedure_kind: str | None
) -> List[Dict[str, Any]]:
    """Answer the message as the bot would outside the form (the knowledge base, the clarification step or small
    talk), read as being about the form's procedure; the form then asks its own question again."""
    from actions.answers import ActionAnswer, ActionClarify

    intent = latest_intent(tracker)
    if intent in names.SMALLTALK_RESPONSES:
        dispatcher.utter_message(response=names.SMALLTALK_RESPONSES[intent])
        return []
    view = tracker.copy()
    topic = checks().topic_of_procedure.get(procedure_kind or "")
    if topic:
        view.slots["current_topic"] = topic
    from actions.cases import ActionReasonCase

    if intent == "describe_case":
        action: Any = ActionReasonCase()
    elif intent in ("nlu_fallback", "out_of_scope", ""):
        action = ActionClarify()
    else:
        action = ActionAnswer()
    events = await action.run(dispatcher, view, domain)
    return [e for e in events if e.get("event") == "slot" and e.get("name") in _ANSWER_SLOTS]


def _leave_or_answer(tracker: Tracker) -> str:
    """What to do with a message that answered nothing of the form: "leave" (reject: the hand-off rules run),
    "stop" (end the form like 「结束」) or "answer" (answer it here, then ask again)."""
    intent = latest_intent(tracker)
    if intent in names.LEAVE_INTENTS:
        return "leave"
    if intent in names.STOP_INTENTS:
        return "stop"
    return "answer"


async def _nothing_read(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, text: str, requested: str, kind: str
) -> List[Dict[str, Any]]:
    """A self-check's message that answered nothing: ask again, answer it and ask again, stop, or leave."""
    what = _leave_or_answer(tracker)
    if what == "leave":
        return []
    if what == "stop":
        return _stop()
    if latest_intent(tracker) in names.ANSWER_INTENTS and len(text) <= 30 and not is_question(text):
        return _reask(dispatcher, tracker, requested)
    events = await answer_inside_form(dispatcher, tracker, domain, kind)
    return events + [SlotSet(names.REQUESTED_SLOT, requested)]


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
        question = bool(asking) and interrupts(tracker, text)
        if question:  # "最快几时拿到执照？" asks about the licence, it does not say the user has one
            mentions = [replace(m, polarity=MENTION) for m in mentions]
        # what the conversation was about (the answer the user just read), for a check started without naming it
        hint = None if asking else checks().procedure(tracker.get_slot("last_answer_intent"), tracker.get_slot("current_topic"))
        with self.repository_scope() as repo:
            procedures = repo.procedures()
            state = self.state_from(tracker)
            saved = repo.saved_checklist(tracker.sender_id) if state.procedure is None else None
        shared_type = tracker.get_slot(names.SHARED_ENTITY_TYPE)
        if not asking and state.entity_type is None and shared_type:
            state = replace(state, entity_type=shared_type)  # the type the conversation already named
        if saved is not None and hint and hint != saved.kind:
            saved = None  # the user asked about another procedure since: a new check
        state, resumed = self._resume(state, saved, text, mentions)
        reading = read_turn(state, text, mentions, self.reader, asking)
        if reading.cancel:
            return _stop()
        if not asking and latest_intent(tracker) == names.INTENT_INFORM_CONDITION and not reading.state.held and not reading.state.procedure:
            # details of the case outside a form ("我和老婆两个人一起做" after 「开个体户还是公司好？」): the verdict on the
            # case when the conversation was about a decision, else the materials check starts from them
            from actions.cases import CaseReasoner

            case = CaseReasoner().reason(dispatcher, tracker, domain)
            if case.handled:
                return case.events + [SlotSet(names.SLOT_STOPPED, names.STOPPED_FOR_CASE), SlotSet(names.REQUESTED_SLOT, None)]
        wants_list = latest_intent(tracker) == names.INTENT_ASK_MISSING and not reading.held_changed
        if asking and not reading.understood and not resumed and not wants_list:
            return await self._not_understood(dispatcher, tracker, domain, text, reading, asking, requested)
        new = reading.state
        if new.procedure is None:
            # the procedure the message or the conversation implies: the form asks only what was not said
            deregistering = self.reader.mentions_deregistration(self.masked(text, reading.mentions))
            new = replace(new, procedure=infer_procedure(new, procedures, hint, deregistering))
        answer_events: List[Dict[str, Any]] = []
        if question:
            answer_events = await answer_inside_form(dispatcher, tracker, domain, new.procedure)
        events = answer_events + _changed(tracker, self.slot_values(new))
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

    async def _not_understood(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, text: str, reading,  # noqa: ANN001
        asking: str, requested: str,
    ) -> List[Dict[str, Any]]:
        """Ask again when the message was meant as an answer; answer it when it is a question of its own (then ask
        again); reject it only for a hand-off, so its rules run."""
        masked = self.masked(text, reading.mentions)
        if asking == PROCEDURE and self.reader.mentions_deregistration(masked):
            return _reask(dispatcher, tracker, requested, "utter_materials_which_deregistration")
        intent = latest_intent(tracker)
        what = _leave_or_answer(tracker)
        if what == "leave":
            return []  # rejected: the hand-off rules run
        if what == "stop":
            return _stop()
        meant_as_answer = intent in names.ANSWER_INTENTS and len(text) <= 30 and not is_question(text)
        if meant_as_answer or intent in names.FORM_INTENTS:
            return _reask(dispatcher, tracker, requested)  # no other rule answers these: never reject (a loop)
        events = await answer_inside_form(dispatcher, tracker, domain, reading.state.procedure)
        return events + [SlotSet(names.REQUESTED_SLOT, requested)]

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
            return await _nothing_read(dispatcher, tracker, domain, text, requested, SIMPLE_DEREG)
        if requested and interrupts(tracker, text):
            events = await answer_inside_form(dispatcher, tracker, domain, SIMPLE_DEREG) + events
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
            return await _nothing_read(dispatcher, tracker, domain, text, requested, "address")
        if requested and interrupts(tracker, text):
            events = await answer_inside_form(dispatcher, tracker, domain, "address") + events
        if requested is None:
            dispatcher.utter_message(response="utter_address_check_intro")
        questions = open_address_questions(check, facts, ENTITY_TYPES, ADDRESS_QUESTIONS) if check else []
        slot_names = {"addr_type": names.SLOT_ADDR_TYPE, "addr_business": names.SLOT_ADDR_BUSINESS, "entity_type": names.SLOT_ENTITY_TYPE}
        next_slot: str | None = slot_names[questions[0]] if questions else None
        return events + [SlotSet(names.REQUESTED_SLOT, next_slot)]
