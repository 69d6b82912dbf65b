"""Answering questions from the knowledge base, with context across turns, and the clarification step.

A message reaches one of two actions:
- ``action_answer`` for a recognised topic intent: the knowledge entry of that intent (the variant for the
  user's entity type), unless a staff FAQ entry matches the words of the question almost exactly;
- ``action_clarify`` when the NLU is unsure or the question is out of scope: the closest FAQ entry if it is
  close enough, else "您是想问……吗？" with the likeliest entries as buttons, else what the bot can do.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff, names
from actions.rendering import latest_entity, original_user_text, response_text, split_message
from core.dialogue.knowledge import check_payloads, offered_button
from core.knowledge.decide import ANSWER, CLARIFY, REFER, Decision, decide
from core.knowledge.repository import Answer, KnowledgeRepository, knowledge_repository
from core.knowledge.schema import ALL
from core.knowledge.search import ANSWER_THRESHOLD, STAFF_OVERRIDE_THRESHOLD, faq_search
from core.text import normalize_text

RepositoryScope = Callable[[], Any]


def compose_answer(domain: Dict[str, Any], answer: Answer) -> List[str]:
    """The answer text, the 'to confirm' note when there is one, and the source line last."""
    text = answer.answer.strip()
    if answer.to_confirm:
        text += "\n\n" + response_text(domain, "utter_to_confirm", points=answer.to_confirm.strip())
    source_line = response_text(
        domain, "utter_source_line", source=answer.source, rule_date=answer.rule_date, reviewed=answer.reviewed
    )
    parts = split_message(text)
    if len(parts[-1]) + len(source_line) + 1 <= names.MAX_REPLY_CHARS + 100:
        parts[-1] = f"{parts[-1]}\n{source_line}"
    else:
        parts.append(source_line)
    return parts


def answer_buttons(answer: Answer, offer_check: bool = True) -> List[Dict[str, str]]:
    """The entry's own buttons, then the guided check that fits the question (knowledge/dialogue/checks.yml):
    the answer comes first, the check is only offered."""
    buttons = [dict(b) for b in answer.buttons or []]
    if not offer_check:  # inside a form: no other check is started from an answer
        return [b for b in buttons if b.get("payload") not in check_payloads()]
    check = offered_button(answer.intent, answer.topic)
    if check and all(b.get("payload") != check["payload"] for b in buttons):
        buttons.append(check)
    return buttons


def in_form(tracker: Tracker) -> bool:
    loop = tracker.active_loop if isinstance(tracker.active_loop, dict) else {}
    return bool(loop.get("name"))


def send_answer(
    dispatcher: CollectingDispatcher, domain: Dict[str, Any], answer: Answer, offer_check: bool = True
) -> List[Dict[str, Any]]:
    """Send the answer (phone-sized parts, buttons on the last) and return the context slots it sets."""
    parts = compose_answer(domain, answer)
    buttons = answer_buttons(answer, offer_check)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        dispatcher.utter_message(text=part, buttons=buttons if last and buttons else None)
    events = [SlotSet(names.SLOT_CURRENT_TOPIC, answer.topic)]
    if answer.intent:
        events.append(SlotSet(names.SLOT_LAST_ANSWER_INTENT, answer.intent))
    return events


def note_long_message(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> None:
    """Say so when the NLU only read the first part of the message (after repeated marks etc. were collapsed)."""
    original = original_user_text(tracker)
    if len(original) > names.MAX_MESSAGE_CHARS and len(normalize_text(original, max_chars=len(original))) > names.MAX_MESSAGE_CHARS:
        dispatcher.utter_message(text=response_text(domain, "utter_long_message_note", limit=names.MAX_MESSAGE_CHARS))


def question_text(tracker: Tracker) -> str:
    return (tracker.latest_message.get("text") or original_user_text(tracker))[: names.MAX_MESSAGE_CHARS]


class ActionAnswer(Action):
    """Answer the intent of the last message from its knowledge entry.

    Domain: the intents of bot/domain/answers.yml, slots ``entity_type``, ``current_topic``,
    ``last_answer_intent``, entity ``faq_id``, responses ``utter_source_line``, ``utter_to_confirm``,
    ``utter_no_variant``, ``utter_no_answer``, ``utter_ask_followup_topic`` and ``utter_long_message_note``.
    """

    def __init__(self, repository_scope: RepositoryScope = knowledge_repository, reasoner: Any = None) -> None:
        self.repository_scope = repository_scope
        self._reasoner = reasoner

    @property
    def reasoner(self) -> Any:
        if self._reasoner is None:
            from actions.cases import CaseReasoner

            self._reasoner = CaseReasoner()
        return self._reasoner

    def name(self) -> str:
        return "action_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        mentioned = latest_entity(tracker, names.ENTITY_TYPE)
        entity_type = mentioned or tracker.get_slot(names.SLOT_ENTITY_TYPE)
        type_event = [SlotSet(names.SLOT_ENTITY_TYPE, entity_type)]
        note_long_message(dispatcher, tracker, domain)
        offer = not in_form(tracker)
        if self._is_topic_question(intent):
            # a question that describes the user's own case gets the verdict on that case (actions/cases.py)
            case = self.reasoner.reason(dispatcher, tracker, domain, strict=True)
            if case.handled:
                return case.events
            type_event += case.events
        with self.repository_scope() as kb:
            if intent == names.INTENT_FAQ_SELECT:
                chosen = kb.entry(latest_entity(tracker, names.ENTITY_FAQ_ID) or "")
                if chosen is None:
                    dispatcher.utter_message(response="utter_no_answer")
                    return []
                return type_event + send_answer(dispatcher, domain, chosen, offer)
            staff_entry = self._staff_entry_matching(kb, intent, tracker)
            if staff_entry is not None:
                return type_event + send_answer(dispatcher, domain, staff_entry, offer)
            if self._is_topic_question(intent) and kb.has_intent(intent):
                general = kb.answer_for_intent(intent, entity_type) or kb.answer_for_intent(intent)
                confidence = float((tracker.latest_message.get("intent") or {}).get("confidence") or 0.0)
                text = question_text(tracker)
                decision = decide(text, faq_search.search(kb, text, limit=5), intent, confidence, general)
                if decision.kind != ANSWER:
                    kb.record_unanswered(text, "fallback")
                    return render_decision(dispatcher, domain, tracker, decision)
                if decision.answer is not None and decision.answer.intent != intent:
                    return type_event + send_answer(dispatcher, domain, decision.answer, offer)
            target = self._target_intent(kb, intent, tracker)
            if target is None:
                dispatcher.utter_message(response="utter_ask_followup_topic")
                return type_event
            if target == "":
                dispatcher.utter_message(response="utter_no_answer")
                return []
            answer = kb.answer_for_intent(target, entity_type)
            general = answer or kb.answer_for_intent(target)
        if answer is None and general is not None:
            dispatcher.utter_message(
                text=response_text(domain, "utter_no_variant", question=general.question, entity_type=entity_type)
            )
            return type_event + [SlotSet(names.SLOT_LAST_ANSWER_INTENT, target)]
        if answer is None:
            dispatcher.utter_message(response="utter_no_answer")
            return []
        self._say_which_entity_type(dispatcher, domain, intent, answer, entity_type, mentioned)
        return type_event + send_answer(dispatcher, domain, answer, offer)

    @staticmethod
    def _is_topic_question(intent: str) -> bool:
        """A topic intent (not a follow-up, an entity type or a clarification button): its answer is checked
        against the words of the question before it is given (core.knowledge.decide)."""
        return not (
            intent.startswith(names.FOLLOWUP_PREFIX)
            or intent in (names.INTENT_INFORM_ENTITY_TYPE, names.INTENT_FAQ_SELECT)
        )

    @staticmethod
    def _say_which_entity_type(
        dispatcher: CollectingDispatcher,
        domain: Dict[str, Any],
        intent: str,
        answer: Answer,
        entity_type: Optional[str],
        mentioned: Optional[str],
    ) -> None:
        """Make the entity type behind the answer visible: "对个体工商户来说：" when the general answer covers
        the type asked about, or "（按您前面说的…回答）" when a variant was chosen from earlier in the conversation."""
        if not entity_type:
            return
        if intent == names.INTENT_INFORM_ENTITY_TYPE and ALL in answer.entity_types:
            dispatcher.utter_message(text=response_text(domain, "utter_same_for_type", entity_type=entity_type))
        elif not mentioned and entity_type in answer.entity_types:
            dispatcher.utter_message(text=response_text(domain, "utter_answer_for_type", entity_type=entity_type))

    @staticmethod
    def _target_intent(kb: KnowledgeRepository, intent: str, tracker: Tracker) -> Optional[str]:
        """The intent whose entry answers this turn: None when the subject is unknown, "" when there is none."""
        if intent.startswith(names.FOLLOWUP_PREFIX):
            topic = tracker.get_slot(names.SLOT_CURRENT_TOPIC)
            if not topic:
                return None
            kind = intent[len(names.FOLLOWUP_PREFIX) :]
            return kb.followup_intent(topic, kind, tracker.get_slot(names.SLOT_LAST_ANSWER_INTENT)) or ""
        if intent == names.INTENT_INFORM_ENTITY_TYPE:
            return tracker.get_slot(names.SLOT_LAST_ANSWER_INTENT)
        return intent

    @staticmethod
    def _staff_entry_matching(kb: KnowledgeRepository, intent: str, tracker: Tracker) -> Optional[Answer]:
        """A staff FAQ entry asked almost word for word wins over the NLU's topic (no retrain needed)."""
        if intent == names.INTENT_INFORM_ENTITY_TYPE:
            return None
        if intent.startswith(names.FOLLOWUP_PREFIX) and tracker.get_slot(names.SLOT_CURRENT_TOPIC):
            return None  # "要多久？" in a conversation about a topic is about that topic
        matches = faq_search.search(kb, question_text(tracker), limit=1)
        if matches and matches[0].answer.intent is None and matches[0].score >= STAFF_OVERRIDE_THRESHOLD:
            return matches[0].answer
        return None


class ActionClarify(Action):
    """When the NLU is unsure or the question is out of scope.

    1. a knowledge/FAQ entry close enough to the words of the question is answered directly;
    2. else "您是想问……吗？" with the likeliest entries (FAQ search, then the NLU's ranking) as buttons;
    3. else what the bot can do (out of scope) or the menu.
    Unanswered messages are kept for the staff's review.

    Domain: responses ``utter_clarify``, ``utter_clarify_other``, ``utter_clarify_none``, ``utter_out_of_scope``.
    """

    min_confidence = 0.05

    def __init__(
        self, repository_scope: RepositoryScope = knowledge_repository, reasoner: Any = None, read_case: bool = True
    ) -> None:
        self.repository_scope = repository_scope
        self._reasoner = reasoner
        self.read_case = read_case

    reasoner = ActionAnswer.reasoner

    def name(self) -> str:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        events = await self._clarify(dispatcher, tracker, domain)
        if (tracker.active_loop or {}).get("name") and not any(e.get("event") == "followup" for e in events):
            # in a form that rejected the message nothing predicts listening after the fallback: Rasa would run
            # this action again and again (10 clarifications, then its circuit breaker)
            events.append(FollowupAction("action_listen"))
        return events

    async def _clarify(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        text = question_text(tracker)
        note_long_message(dispatcher, tracker, domain)
        out_of_scope = intent == names.INTENT_OUT_OF_SCOPE
        if self.read_case:
            # the NLU was unsure: the message may describe the user's case, read with the conversation's context
            case = self.reasoner.reason(dispatcher, tracker, domain)
            if case.handled:
                return case.events
        with self.repository_scope() as kb:
            matches = faq_search.search(kb, text, limit=5)
            decision = decide(text, matches)
            if decision.kind == ANSWER and (not out_of_scope or matches[0].score >= ANSWER_THRESHOLD):
                return send_answer(dispatcher, domain, decision.answer, not in_form(tracker))
            if not out_of_scope and handoff.is_second_fallback(tracker) and not in_form(tracker):
                kb.record_unanswered(text, "fallback")
                return handoff.start_handoff_events(handoff.REASON_FALLBACK)  # second fallback in a row: a person
            kb.record_unanswered(text, "out_of_scope" if out_of_scope else "fallback")
            if out_of_scope and decision.kind != REFER:  # out of scope: only a close match or a referral, never a guess
                dispatcher.utter_message(response="utter_out_of_scope")
                return []
            if decision.kind == ANSWER:
                decision = Decision(CLARIFY, choices=[decision.answer])
            if decision.kind != REFER and not decision.choices:
                decision = Decision(CLARIFY, choices=self._choices_from_ranking(kb, tracker))
            if not decision.choices and not matches:  # nothing recognisable in the message: the menu
                dispatcher.utter_message(response="utter_clarify_none")
                return [handoff.fallback_marker(tracker)]
        return render_decision(dispatcher, domain, tracker, decision)

    def _choices_from_ranking(self, kb: KnowledgeRepository, tracker: Tracker) -> List[Answer]:
        ranking = tracker.latest_message.get("intent_ranking") or []
        candidates = [
            r["name"]
            for r in ranking
            if r.get("name") not in names.NON_TOPIC_INTENTS
            and not str(r.get("name", "")).startswith(names.FOLLOWUP_PREFIX)
            and (r.get("confidence") or 0) >= self.min_confidence
        ]
        found = [kb.answer_for_intent(i) for i in candidates[:2]]
        return [a for a in found if a is not None]


def clarification_button(answer: Answer) -> Dict[str, str]:
    """A button choosing one reading: the intent (with its entity type) or the entry itself."""
    if answer.intent:
        payload = f"/{answer.intent}"
        if answer.entity_types and ALL not in answer.entity_types:
            payload += json.dumps({names.ENTITY_TYPE: answer.entity_types[0]}, ensure_ascii=False)
    else:
        payload = f"/{names.INTENT_FAQ_SELECT}" + json.dumps({names.ENTITY_FAQ_ID: answer.id})
    return {"title": answer.question[:40], "payload": payload}


def render_decision(
    dispatcher: CollectingDispatcher, domain: Dict[str, Any], tracker: Tracker, decision: Decision
) -> List[Dict[str, Any]]:
    """Say what the assistant does when no entry is clearly right: the plausible readings as buttons, whom to ask
    about a neighbouring matter, or that the knowledge base does not know (with a CBSO officer offered)."""
    if decision.kind == CLARIFY and decision.choices:
        buttons = [clarification_button(a) for a in decision.choices]
        buttons.append({"title": response_text(domain, "utter_clarify_other"), "payload": "/deny"})
        dispatcher.utter_message(text=response_text(domain, "utter_clarify"), buttons=buttons)
    elif decision.kind == REFER and decision.referral:
        human = {"title": response_text(domain, "utter_refer_human_button"), "payload": "/request_human"}
        dispatcher.utter_message(text=decision.referral, buttons=[human])
    else:
        dispatcher.utter_message(response="utter_not_known")
    return [handoff.fallback_marker(tracker)]
