"""Reasoning about the case the user describes, and saying the verdict with its reason and source.

``CaseReasoner.reason`` is asked by ``action_answer`` (strictly: only a message that itself describes a case),
``action_clarify`` and ``action_reason_case`` (the ``describe_case`` intent; also the conversation's context
counts: after 「我想注销公司」, 「两个股东，公司还欠银行贷款没还清」 is about deregistering). The logic is in
core/dialogue/cases.py, the rules in knowledge/dialogue/cases.yml and knowledge/materials/*.yml, the sentences in
bot/domain/cases.yml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import names as answer_names
from actions.materials import names
from actions.materials.context import MaterialsContext
from actions.rendering import response_text, response_variant
from core.dialogue import cases as reasoning
from core.dialogue.knowledge import FILING, REGISTRATION, Cases, Sourced, cases
from core.knowledge.decide import neighbour_asked
from core.materials.rendering import address_verdict_messages, pack
from core.messages import MAX_REPLY_CHARS

DomainDict = Dict[str, Any]
SLOT_DECISION = "case_decision"
DEREG_TOPIC = "deregistration"
# the entry a follow-up question (「要什么材料？」) is about after each deregistration verdict
DEREG_FOLLOWUP_INTENT = {"general": "general_dereg_process", "simple": "simple_dereg_process", "open": "dereg_compare"}
DEFAULT_DEREG_ENTITY = "有限责任公司"
INDIVIDUAL = "个体工商户"
MARKS = {REGISTRATION: "📝", FILING: "🗂"}


@dataclass
class CaseResult:
    handled: bool
    events: List[Dict[str, Any]] = field(default_factory=list)


NOT_A_CASE = CaseResult(False)


class CaseReasoner(MaterialsContext):
    """Reads the user's case from the last message (and the conversation) and sends the verdict."""

    def __init__(self, *args: Any, case_knowledge: Cases | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cases = case_knowledge

    @property
    def cases(self) -> Cases:
        if self._cases is None:
            self._cases = cases()
        return self._cases

    def reason(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, strict: bool = False
    ) -> CaseResult:
        """Send the verdict on the described case and return its events; ``handled`` is False (and nothing is
        sent) when the message describes no case. ``strict``: only the message itself counts, not the context."""
        text = self.read_text(tracker)
        if not text:
            return NOT_A_CASE
        neighbour = neighbour_asked(text, None)
        if neighbour is not None and not reasoning.own_case(text, neighbour.terms, self.cases):
            return NOT_A_CASE  # someone else's labour, tax, court … matter: referred by the clarification step
        masked = self.masked(text, self.mentions(text))
        said_type = self.reader.entity_type(masked)
        entity_type = said_type or tracker.get_slot(names.SLOT_ENTITY_TYPE) or tracker.get_slot(names.SHARED_ENTITY_TYPE)
        type_events = [SlotSet(names.SHARED_ENTITY_TYPE, said_type)] if said_type else []
        decision = tracker.get_slot(SLOT_DECISION)
        topic = tracker.get_slot(answer_names.SLOT_CURRENT_TOPIC)

        said_dereg = reasoning.has_any(masked, self.cases.dereg_words)
        if said_dereg or (not strict and (decision == reasoning.DEREG or topic == DEREG_TOPIC)):
            result = self._dereg(dispatcher, tracker, domain, masked, entity_type, strict)
            if result.handled:
                return CaseResult(True, type_events + result.events)
        change = reasoning.read_change(masked, self.cases)
        if change is not None and (not strict or self._change_is_the_question(masked, change)):
            self._send_change(dispatcher, domain, change)
            return CaseResult(True, [SlotSet(SLOT_DECISION, reasoning.CHANGE)])
        with self.repository_scope() as repo:
            check = repo.address_check()
        address = reasoning.read_address(masked, self.reader, check, entity_type, self.cases) if check else None
        if address is not None and address.rule is not None:
            for message in address_verdict_messages(domain, check, address.rule, address.facts):
                dispatcher.utter_message(text=message)
            return CaseResult(True, type_events + self._address_slots(address) + [SlotSet(SLOT_DECISION, reasoning.ADDRESS)])
        choosing = not strict and (
            decision == reasoning.ENTITY
            or tracker.get_slot(answer_names.SLOT_LAST_ANSWER_INTENT) in self.cases.entity_context_intents
        )
        choice = reasoning.read_entity_choice(masked, self.cases, in_context=choosing)
        if choice is not None:
            self._send_entity_choice(dispatcher, domain, choice)
            return CaseResult(True, [SlotSet(SLOT_DECISION, reasoning.ENTITY)])  # the types named are the options
        if address is not None:  # a partial address case: the answer follows, and a later check starts from it
            return CaseResult(False, self._address_slots(address))
        return NOT_A_CASE

    @staticmethod
    def _address_slots(address: reasoning.AddressCase) -> List[Dict[str, Any]]:
        """What the address check form would ask first, so a check started afterwards asks only the rest."""
        prefill = {names.SLOT_ADDR_TYPE: address.facts.get("addr_type"), names.SLOT_ADDR_BUSINESS: address.facts.get("addr_business")}
        return [SlotSet(k, v) for k, v in prefill.items() if v is not None]

    # -- 简易 or 普通注销 -------------------------------------------------------------------------------------------

    def _dereg(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, masked: str,
        entity_type: Optional[str], strict: bool,
    ) -> CaseResult:
        with self.repository_scope() as repo:
            procedure = repo.simple_dereg_eligibility(entity_type or DEFAULT_DEREG_ENTITY)
        if procedure is None:
            return NOT_A_CASE
        eligibility = procedure.eligibility
        known = {e.key: tracker.get_slot(e.slot) for e in eligibility.exclusions}
        case = reasoning.read_dereg(masked, self.reader, eligibility, entity_type, known)
        source = self._source(domain, eligibility.sourced.source, eligibility.sourced.rule_date)
        if case is None:
            if reasoning.is_dereg_intake(masked, self.cases):  # 「我想注销公司」 alone: the two ways, and what decides
                intake = response_variant(domain, "utter_case_dereg_intake")
                text = f"{response_text(domain, 'utter_case_dereg_intake')}\n{source}"
                dispatcher.utter_message(text=text, buttons=list(intake.get("buttons") or []))
                return CaseResult(True, [SlotSet(SLOT_DECISION, reasoning.DEREG), SlotSet(answer_names.SLOT_CURRENT_TOPIC, DEREG_TOPIC)])
            return NOT_A_CASE
        verdict = case.verdict
        if verdict == "general":
            lines = [
                response_text(domain, "utter_simple_dereg_blocker", reason=e.reason, way_forward=e.way_forward, source=e.sourced.source)
                for e in case.blockers
            ]
            route = self.cases.dereg_general_individual if entity_type == INDIVIDUAL else self.cases.dereg_general
            blocks = [
                "\n".join([response_text(domain, "utter_case_dereg_general"), *lines]),
                response_text(domain, "utter_case_dereg_general_route", route=route.text),
                self._source(domain, route.source, route.rule_date),
            ]
            self._send(dispatcher, blocks)
            dispatcher.utter_message(response="utter_case_dereg_buttons")
        elif verdict == "simple":
            blocks = [response_text(domain, "utter_case_dereg_simple", text=eligibility.eligible_text), source]
            if eligibility.to_confirm:
                blocks.append(response_text(domain, "utter_materials_unconfirmed", text=eligibility.to_confirm))
            self._send(dispatcher, blocks)
            dispatcher.utter_message(response="utter_case_dereg_buttons")
        else:
            cleared = "、".join(e.label for e in case.cleared) or "—"
            open_labels = "、".join(e.label for e in case.open)
            dispatcher.utter_message(response="utter_case_dereg_open", cleared=cleared, open=open_labels)
        events: List[Dict[str, Any]] = [SlotSet(f"{names.EXCLUSION_SLOT_PREFIX}{key}", value) for key, value in case.stated.items()]
        events += [
            SlotSet(SLOT_DECISION, reasoning.DEREG),
            SlotSet(answer_names.SLOT_CURRENT_TOPIC, DEREG_TOPIC),
            SlotSet(answer_names.SLOT_LAST_ANSWER_INTENT, DEREG_FOLLOWUP_INTENT[verdict]),
        ]
        return CaseResult(True, events)

    # -- 变更登记 or 备案 ----------------------------------------------------------------------------------------------

    def _change_is_the_question(self, masked: str, change: reasoning.ChangeCase) -> bool:
        """Inside action_answer the topic's entry answers a plain "how do I change X"; the verdict answers when the
        message asks which of the two it needs, names several items, or an item that only needs 备案."""
        return bool(change.filing) or len(change.items) > 1 or reasoning.has_any(masked, ("备案", "登记还是", "要不要登记", "要登记吗", "需要登记"))

    def _send_change(self, dispatcher: CollectingDispatcher, domain: DomainDict, change: reasoning.ChangeCase) -> None:
        blocks = [response_text(domain, "utter_case_change_intro", items="、".join(i.label for i in change.items))]
        sources = []
        for kind in (REGISTRATION, FILING):
            items = change.of_kind(kind)
            if not items:
                continue
            _, rule = self.cases.change_kinds[kind]
            blocks.append(response_text(domain, "utter_case_change_kind", mark=MARKS[kind], items="、".join(i.label for i in items), text=rule.text))
            sources.append(rule)
        notes = [i for i in change.items if i.note]
        if notes:
            blocks.append(
                "\n".join(
                    [response_text(domain, "utter_case_change_notes")]
                    + [response_text(domain, "utter_case_change_note", label=i.label, note=i.note, source=i.note_source or "") for i in notes]
                )
            )
        blocks.append(self.cases.change_penalty.text)
        sources.append(self.cases.change_penalty)
        blocks.append(self._source(domain, "；".join(s.source for s in sources), max(s.rule_date for s in sources)))
        blocks.append(response_text(domain, "utter_case_window"))
        self._send(dispatcher, blocks)

    # -- which entity type ----------------------------------------------------------------------------------------

    def _send_entity_choice(self, dispatcher: CollectingDispatcher, domain: DomainDict, choice: reasoning.EntityChoice) -> None:
        labels = "、".join(self.cases.entity_trait_labels[t] for t in choice.traits)
        rule: Sourced = choice.outcome.sourced
        blocks = [
            "\n".join([response_text(domain, "utter_case_entity_intro", traits=labels), rule.text]),
            self._source(domain, rule.source, rule.rule_date),
        ]
        self._send(dispatcher, blocks)
        dispatcher.utter_message(response="utter_case_entity_close")

    # -- helpers ---------------------------------------------------------------------------------------------------

    def _source(self, domain: DomainDict, source: str, rule_date: str) -> str:
        return response_text(domain, "utter_check_source", source=source, rule_date=rule_date, reviewed=self.cases.reviewed)

    @staticmethod
    def _send(dispatcher: CollectingDispatcher, blocks: List[str]) -> None:
        for message in pack([b for b in blocks if b], MAX_REPLY_CHARS):
            dispatcher.utter_message(text=message)


class ActionReasonCase(Action):
    """The user described their situation (intent ``describe_case``): the verdict on it, or, when it is not a case
    the bot can reason about, the clarification step.

    Domain: slot ``case_decision``; responses ``utter_case_*`` (bot/domain/cases.yml), ``utter_check_source``.
    """

    def __init__(self, reasoner: CaseReasoner | None = None) -> None:
        self.reasoner = reasoner or CaseReasoner()

    def name(self) -> str:
        return "action_reason_case"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        result = self.reasoner.reason(dispatcher, tracker, domain)
        if result.handled:
            return result.events
        from actions.answers import ActionClarify

        return result.events + await ActionClarify(reasoner=self.reasoner, read_case=False).run(dispatcher, tracker, domain)
