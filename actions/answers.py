"""Answering topic questions from the knowledge base, with context across turns, and the clarification step."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import names
from actions.knowledge_base.repository import Answer, KnowledgeRepository, knowledge_repository
from actions.rendering import latest_entity, original_user_text, response_text, split_message

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
    if len(parts[-1]) + len(source_line) + 1 <= 700:
        parts[-1] = f"{parts[-1]}\n{source_line}"
    else:
        parts.append(source_line)
    return parts


def send_answer(dispatcher: CollectingDispatcher, domain: Dict[str, Any], answer: Answer) -> None:
    parts = compose_answer(domain, answer)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        dispatcher.utter_message(text=part, buttons=answer.buttons if last and answer.buttons else None)


class ActionAnswer(Action):
    """Answer the intent of the last message from its knowledge entry.

    Domain: the intents of bot/domain/answers.yml, slots ``entity_type``, ``current_topic``,
    ``last_answer_intent``, responses ``utter_source_line``, ``utter_to_confirm``, ``utter_no_variant``,
    ``utter_no_answer``, ``utter_ask_followup_topic`` and ``utter_long_message_note``.
    """

    def __init__(self, repository_scope: RepositoryScope = knowledge_repository) -> None:
        self.repository_scope = repository_scope

    def name(self) -> Text:
        return "action_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        entity_type = latest_entity(tracker, names.ENTITY_TYPE) or tracker.get_slot(names.SLOT_ENTITY_TYPE)
        if len(original_user_text(tracker)) > names.MAX_MESSAGE_CHARS:
            dispatcher.utter_message(
                text=response_text(domain, "utter_long_message_note", limit=names.MAX_MESSAGE_CHARS)
            )
        with self.repository_scope() as kb:
            target = self._target_intent(kb, intent, tracker)
            if target is None:
                dispatcher.utter_message(response="utter_ask_followup_topic")
                return [SlotSet(names.SLOT_ENTITY_TYPE, entity_type)]
            if target == "":
                dispatcher.utter_message(response="utter_no_answer")
                return []
            answer = kb.answer_for_intent(target, entity_type)
            general = answer or kb.answer_for_intent(target)
        if answer is None and general is not None:
            dispatcher.utter_message(
                text=response_text(domain, "utter_no_variant", question=general.question, entity_type=entity_type)
            )
            return [SlotSet(names.SLOT_ENTITY_TYPE, entity_type), SlotSet(names.SLOT_LAST_ANSWER_INTENT, target)]
        if answer is None:
            dispatcher.utter_message(response="utter_no_answer")
            return []
        send_answer(dispatcher, domain, answer)
        return [
            SlotSet(names.SLOT_ENTITY_TYPE, entity_type),
            SlotSet(names.SLOT_CURRENT_TOPIC, answer.topic),
            SlotSet(names.SLOT_LAST_ANSWER_INTENT, target),
        ]

    @staticmethod
    def _target_intent(kb: KnowledgeRepository, intent: str, tracker: Tracker) -> Optional[str]:
        """The intent whose entry answers this turn: None when the subject is unknown, "" when there is none."""
        if intent.startswith(names.FOLLOWUP_PREFIX):
            topic = tracker.get_slot(names.SLOT_CURRENT_TOPIC)
            if not topic:
                return None
            return kb.followup_intent(topic, intent[len(names.FOLLOWUP_PREFIX) :]) or ""
        if intent == names.INTENT_INFORM_ENTITY_TYPE:
            return tracker.get_slot(names.SLOT_LAST_ANSWER_INTENT)
        return intent


class ActionClarify(Action):
    """After an unsure NLU result: "您是想问……吗？" with the two most likely topics as buttons.

    Domain: responses ``utter_clarify``, ``utter_clarify_other`` and ``utter_clarify_none``.
    """

    min_confidence = 0.05

    def __init__(self, repository_scope: RepositoryScope = knowledge_repository) -> None:
        self.repository_scope = repository_scope

    def name(self) -> Text:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        ranking = tracker.latest_message.get("intent_ranking") or []
        candidates = [
            r["name"]
            for r in ranking
            if r.get("name") not in names.NON_TOPIC_INTENTS
            and not str(r.get("name", "")).startswith(names.FOLLOWUP_PREFIX)
            and (r.get("confidence") or 0) >= self.min_confidence
        ]
        with self.repository_scope() as kb:
            questions = kb.questions_for_intents(candidates[:4])
        choices = [(intent, questions[intent]) for intent in candidates if intent in questions][:2]
        if not choices:
            dispatcher.utter_message(response="utter_clarify_none")
            return []
        buttons = [{"title": question, "payload": f"/{intent}"} for intent, question in choices]
        buttons.append({"title": response_text(domain, "utter_clarify_other"), "payload": "/deny"})
        dispatcher.utter_message(text=response_text(domain, "utter_clarify"), buttons=buttons)
        return []
