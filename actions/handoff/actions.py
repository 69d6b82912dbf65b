"""The user's side of the hand-off: Rasa custom actions and form validations.

Flow (data/rules/handoff.yml): ``request_human``/``not_helpful`` (or two fallbacks in a row, or another action
returning ``start_handoff_events``) → ``action_handoff_start`` → ``handoff_form`` (topic, summary, name, phone,
consent) → ``action_handoff_submit`` creates the ticket → ``handoff_chat_form`` relays every message to the ticket
and brings back officer replies, until the officer resolves the ticket or the user says 结束人工 →
``action_handoff_relay_end`` returns the user to the bot and asks for a rating (``action_handoff_rate``).

结束人工 only takes the user back to the bot: the ticket stays open for the officers (``Ticket.user_left_at``), and
their replies still reach the user (the next message, through bot/channels/handoff.py; the web page's poll; the
WeChat push). 取消人工 withdraws the ticket while no officer has replied yet; after that it counts as 结束人工.
Giving up in the contact form ("算了", "不用了") or refusing consent ends the form without a ticket.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, FollowupAction, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.handoff import REASON_FALLBACK, REASON_NOT_HELPFUL, REASON_USER_REQUEST, REASONS
from actions.rendering import original_user_text, response_text, response_variant
from core import ratings
from core.handoff import contact, payloads
from core.handoff import names as n
from core.handoff.delivery import officer_message_text
from core.handoff.models import AUTHOR_BOT, AUTHOR_SYSTEM, AUTHOR_USER, STATUS_OPEN, STATUS_RESOLVED, Ticket
from core.handoff.office_hours import OfficeHours, format_moment
from core.handoff.repository import NewTicket, TicketRepository, TranscriptLine, ticket_repository
from core.settings import get_settings

log = logging.getLogger(__name__)

RepositoryScope = Callable[[], Any]
Clock = Callable[[], datetime]

# user turns that say nothing about the question itself (skipped when drafting the summary)
_NO_CONTENT_INTENTS = frozenset(
    {
        "greet",
        "goodbye",
        "thanks",
        "affirm",
        "deny",
        "bot_challenge",
        "empty_input",
        n.INTENT_REQUEST_HUMAN,
        n.INTENT_NOT_HELPFUL,
        n.INTENT_END,
        n.INTENT_STATUS,
        n.INTENT_RATE,
    }
)
SUMMARY_DRAFT_CHARS = 60
SUMMARY_CHARS = 200
STATUS_CONFIDENCE = 0.6


def user_channel(tracker: Tracker) -> str:
    """The channel of the user's messages; with the sender id it names the user whose tickets these are."""
    return tracker.get_latest_input_channel() or "rest"


def _intent(tracker: Tracker) -> tuple[str, float]:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name") or "", float(intent.get("confidence") or 0.0)


def _session_events(tracker: Tracker) -> List[Dict[str, Any]]:
    events = list(tracker.events)
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") == "session_started":
            return events[i + 1 :]
    return events


def _as_utc(timestamp: Any) -> Optional[datetime]:
    try:
        return datetime.utcfromtimestamp(float(timestamp))
    except (TypeError, ValueError, OverflowError):
        return None


def transcript(tracker: Tracker) -> List[TranscriptLine]:
    """The user's and the bot's messages of this session up to the start of the hand-off; button clicks as the
    user saw them (``payloads.shown_text``), payloads sent without a click left out."""
    events = _session_events(tracker)
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") == "action" and events[i].get("name") == "action_handoff_start":
            events = events[:i]
            break
    lines = []
    titles: Dict[str, str] = {}
    for event in events:
        kind, text = event.get("event"), (event.get("text") or "").strip()
        if kind == "bot":
            titles.update(payloads.conversation_titles([event]))
        if kind == "user":
            text = payloads.shown_text(text, titles, payloads.knowledge_question) or ""
        if kind in ("user", "bot") and text:
            author = AUTHOR_USER if kind == "user" else AUTHOR_BOT
            lines.append(TranscriptLine(author, text, _as_utc(event.get("timestamp"))))
    return lines


def summary_draft(tracker: Tracker) -> Optional[str]:
    """The user's latest message that carries the question ("转人工" alone does not), as one line."""
    for event in reversed(_session_events(tracker)):
        if event.get("event") != "user":
            continue
        text = (event.get("text") or "").strip()
        if not text or text.startswith("/") or not contact.compact(text):
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent in _NO_CONTENT_INTENTS and len(contact.compact(text)) <= 8:
            continue
        return contact.one_line(text, SUMMARY_DRAFT_CHARS)
    return None


def office_hours(tickets: TicketRepository) -> OfficeHours:
    settings = get_settings()
    return OfficeHours.from_spec(tickets.office_hours_spec(settings.office_hours), settings.timezone)


def status_text(
    domain: DomainDict, ticket: Ticket, hours: Optional[OfficeHours] = None, moment: Optional[datetime] = None
) -> str:
    if ticket.status == STATUS_OPEN and hours is not None and moment is not None and not hours.is_open(moment):
        pickup = hours.next_opening(moment)
        if pickup is not None:
            return response_text(domain, "utter_ticket_state_open_closed_hours", pickup=format_moment(pickup))
    return response_text(domain, f"utter_ticket_state_{ticket.status}")


def send_waiting_replies(
    dispatcher: CollectingDispatcher,
    tickets: TicketRepository,
    ticket: Ticket,
    channel: str,
    include_notices: bool = True,
) -> int:
    """Officer replies (and notices) waiting for the user, sent with this turn's answer; returns how many."""
    sent = 0
    for message in tickets.take_undelivered(ticket, channel):
        if message.author == AUTHOR_SYSTEM and not include_notices:
            continue
        dispatcher.utter_message(text=officer_message_text(message))
        sent += 1
    return sent


def _reset_form() -> List[Dict[str, Any]]:
    return [SlotSet(slot, None) for slot in n.FORM_SLOTS] + [
        SlotSet(n.SUMMARY_DRAFT, None),
        SlotSet(n.REASON, None),
        SlotSet(n.TOPIC_HINT, None),
    ]


def _leave_form(dispatcher: CollectingDispatcher, response: str) -> Dict[str, Any]:
    """A form validation's answer that ends the contact form without a ticket (the user gave up or refused
    consent): say ``response``, empty the form; ``ValidateHandoffForm.run`` then makes the bot listen."""
    dispatcher.utter_message(response=response)
    values: Dict[str, Any] = {event["name"]: None for event in _reset_form()}
    values[n.REQUESTED_SLOT] = None
    return values


# how the user left a ticket (``end_ticket``) → what the bot says
ENDED_CANCELLED = "utter_handoff_back_closed"
ENDED_LEFT = "utter_handoff_back_left"
ENDED_LEFT_ANSWERED = "utter_handoff_back_left_answered"
ENDED_CANNOT_CANCEL = "utter_handoff_cannot_cancel"


def end_ticket(tickets: TicketRepository, ticket: Ticket, text: str) -> str:
    """结束人工/取消人工 for an open ticket: 取消人工 before any officer replied withdraws it; anything else takes the
    user back to the bot and leaves the ticket open for the officers. Returns the response that says which."""
    if contact.is_cancel_request(text) and tickets.cancel_by_user(ticket):
        return ENDED_CANCELLED
    cancel_refused = contact.is_cancel_request(text)
    tickets.leave(ticket)
    if cancel_refused:
        return ENDED_CANNOT_CANCEL
    return ENDED_LEFT if tickets.can_cancel(ticket) else ENDED_LEFT_ANSWERED


def ended_response(tickets: TicketRepository, ticket: Ticket, text: str) -> str:
    """The response for a ticket the user has just left or cancelled (see ``end_ticket``), from its state."""
    if not ticket.is_active:
        return ENDED_CANCELLED
    if contact.is_cancel_request(text):
        return ENDED_CANNOT_CANCEL
    return ENDED_LEFT if tickets.can_cancel(ticket) else ENDED_LEFT_ANSWERED


class ActionHandoffStart(Action):
    """Introduce the hand-off and open the contact form, or rejoin the user's open ticket.

    Domain: form ``handoff_form``, ``handoff_chat_form``; slots ``handoff_reason``, ``handoff_summary_draft``,
    ``handoff_topic_hint``, ``handoff_ticket``; responses ``utter_handoff_intro_<reason>``,
    ``utter_handoff_phone_note``, ``utter_handoff_already_open``, ``utter_ticket_state_*``.
    """

    def __init__(self, repository_scope: RepositoryScope = ticket_repository) -> None:
        self.repository_scope = repository_scope

    def name(self) -> str:
        return "action_handoff_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        intent, _ = _intent(tracker)
        reason = tracker.get_slot(n.REASON) or {
            n.INTENT_NOT_HELPFUL: REASON_NOT_HELPFUL,
            "nlu_fallback": REASON_FALLBACK,
        }.get(intent, REASON_USER_REQUEST)
        if reason not in REASONS:
            reason = REASON_USER_REQUEST
        with self.repository_scope() as tickets:
            active = tickets.active_ticket_of(tracker.sender_id, user_channel(tracker))
            if active is not None:
                # back to the ticket (also after 结束人工): the officer's waiting replies first, then the relay
                tickets.come_back(active)
                dispatcher.utter_message(
                    text=response_text(
                        domain, "utter_handoff_already_open", ticket=active.number, status=status_text(domain, active)
                    )
                )
                send_waiting_replies(dispatcher, tickets, active, tracker.get_latest_input_channel() or "rest")
                return [SlotSet(n.TICKET, active.number), *_reset_form(), FollowupAction(n.CHAT_FORM)]
        text = original_user_text(tracker)
        dispatcher.utter_message(response=f"utter_handoff_intro_{reason}")
        if reason == REASON_USER_REQUEST and "电话" in text:
            dispatcher.utter_message(response="utter_handoff_phone_note")
        topic = tracker.get_slot(n.TOPIC_HINT)
        if topic not in contact.TOPIC_NAMES:
            topic = contact.COMPLAINT_TOPIC if reason == REASON_USER_REQUEST and contact.COMPLAINT_WORD in text else None
        draft = tracker.get_slot(n.SUMMARY_DRAFT) or summary_draft(tracker)
        return [
            *_reset_form(),
            SlotSet(n.TOPIC, topic),
            SlotSet(n.SUMMARY_DRAFT, draft),
            SlotSet(n.REASON, reason),
            SlotSet(n.REQUESTED_SLOT, None),
            FollowupAction(n.HANDOFF_FORM),
        ]


class ActionAskHandoffSummary(Action):
    """Ask for the one-line summary, offering the draft taken from the conversation when there is one."""

    def name(self) -> str:
        return "action_ask_handoff_summary"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        draft = tracker.get_slot(n.SUMMARY_DRAFT)
        if draft:
            variant = response_variant(domain, "utter_ask_handoff_summary_with_draft")
            dispatcher.utter_message(
                text=response_text(domain, "utter_ask_handoff_summary_with_draft", draft=draft),
                buttons=variant.get("buttons"),
            )
        else:
            dispatcher.utter_message(response="utter_ask_handoff_summary")
        return []


class ActionAskHandoffConsent(Action):
    """Ask for consent, stating how long the ticket is kept: the TICKET_RETENTION_DAYS setting, so the text the
    user agrees to and what ``make retention`` does are the same number."""

    def name(self) -> str:
        return "action_ask_handoff_consent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        variant = response_variant(domain, "utter_ask_handoff_consent")
        dispatcher.utter_message(
            text=response_text(domain, "utter_ask_handoff_consent", retention_days=get_settings().ticket_retention_days),
            buttons=variant.get("buttons"),
        )
        return []


class ValidateHandoffForm(FormValidationAction):
    """One ``validate_<slot>`` per question of the contact form. Giving up ("算了", "不用了", "唔使喇") at any
    question, or refusing consent, ends the form without a ticket (``_leave_form``)."""

    def name(self) -> str:
        return "validate_handoff_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        events = await super().run(dispatcher, tracker, domain)
        left = any(
            e.get("event") == "slot" and e.get("name") == n.REQUESTED_SLOT and e.get("value") is None for e in events
        )
        if left:
            # the form ends here: listen for the next message instead of the rule's action_handoff_submit
            events.append(FollowupAction("action_listen"))
        return events

    async def validate_handoff_topic(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if value is None:
            return {n.TOPIC: None}  # not answered yet (the form validates slots set before it starts)
        if contact.is_giving_up(str(value)):
            return _leave_form(dispatcher, "utter_handoff_cancelled")
        topic = contact.match_topic(str(value or ""))
        if topic is None:
            dispatcher.utter_message(response="utter_handoff_invalid_topic")
            return {n.TOPIC: None}
        result: Dict[str, Any] = {n.TOPIC: topic}
        text = str(value or "")
        if topic == contact.OTHER_TOPIC and len(contact.compact(text)) > 8 and not tracker.get_slot(n.SUMMARY_DRAFT):
            result[n.SUMMARY_DRAFT] = contact.one_line(text, SUMMARY_DRAFT_CHARS)
        return result

    async def validate_handoff_summary(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if value is None:
            return {n.SUMMARY: None}  # not answered yet (the form validates slots set before it starts)
        text = str(value or "")
        draft = tracker.get_slot(n.SUMMARY_DRAFT)
        if draft and contact.keeps_draft(text):
            return {n.SUMMARY: draft}
        if contact.is_giving_up(text):
            return _leave_form(dispatcher, "utter_handoff_cancelled")
        if len(contact.compact(text)) < 2 or text.startswith("/") or contact.is_abusive(text):
            dispatcher.utter_message(response="utter_handoff_invalid_summary")
            return {n.SUMMARY: None}
        return {n.SUMMARY: contact.one_line(text, SUMMARY_CHARS)}

    async def validate_handoff_contact_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if value is None:
            return {n.CONTACT_NAME: None}  # not answered yet (the form validates slots set before it starts)
        if contact.is_giving_up(str(value)):
            return _leave_form(dispatcher, "utter_handoff_cancelled")
        if contact.looks_like_a_question(str(value)):
            dispatcher.utter_message(response="utter_handoff_name_is_question")
            return {n.CONTACT_NAME: None}
        name = None if contact.is_abusive(str(value)) else contact.valid_contact_name(str(value or ""))
        if name is None:
            dispatcher.utter_message(response="utter_handoff_invalid_name")
        return {n.CONTACT_NAME: name}

    async def validate_handoff_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if value is None:
            return {n.PHONE: None}  # not answered yet (the form validates slots set before it starts)
        phone = contact.normalize_phone(str(value or ""))
        if phone is None and contact.is_giving_up(str(value)):
            return _leave_form(dispatcher, "utter_handoff_cancelled")
        if phone is None:
            dispatcher.utter_message(response="utter_handoff_invalid_phone")
        return {n.PHONE: phone}

    async def validate_handoff_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if value is None:
            return {n.CONSENT: None}  # not answered yet (the form validates slots set before it starts)
        if value is True:
            return {n.CONSENT: True}
        text = str(value or "")
        intent, confidence = _intent(tracker)
        if contact.is_agreement(text) or (
            intent == n.INTENT_AFFIRM and confidence >= 0.8 and not contact.is_refusal(text)
        ):
            return {n.CONSENT: True}
        if contact.is_refusal(text) or contact.is_giving_up(text) or (intent == n.INTENT_DENY and confidence >= 0.8):
            # 不同意: no ticket, and the form ends here instead of asking again at every message
            return _leave_form(dispatcher, "utter_handoff_consent_declined")
        dispatcher.utter_message(response="utter_handoff_consent_required")
        return {n.CONSENT: None}


class ActionHandoffCancel(Action):
    """结束人工/取消人工: leave the contact form; with no form active, go back to the bot from the user's open
    ticket, which stays open for the officers, or withdraw it (取消人工 before any officer replied)."""

    def __init__(self, repository_scope: RepositoryScope = ticket_repository) -> None:
        self.repository_scope = repository_scope

    def name(self) -> str:
        return "action_handoff_cancel"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        if (tracker.active_loop or {}).get("name") == n.HANDOFF_FORM:
            dispatcher.utter_message(response="utter_handoff_cancelled")
            return [ActiveLoop(None), SlotSet(n.REQUESTED_SLOT, None), *_reset_form()]
        with self.repository_scope() as tickets:
            ticket = tickets.active_ticket_of(tracker.sender_id, user_channel(tracker))
            if ticket is None:
                dispatcher.utter_message(response="utter_handoff_nothing_to_end")
                return [ActiveLoop(None), SlotSet(n.TICKET, None)]
            channel = tracker.get_latest_input_channel() or "rest"
            send_waiting_replies(dispatcher, tickets, ticket, channel, include_notices=False)
            said = end_ticket(tickets, ticket, original_user_text(tracker))
            number = ticket.number
        dispatcher.utter_message(text=response_text(domain, said, ticket=number))
        return [ActiveLoop(None), SlotSet(n.TICKET, None)]


class ActionHandoffSubmit(Action):
    """Create the ticket from the form, with the conversation so far, and say what happens next and when.

    The next action (rule) is ``handoff_chat_form``, which relays the user's messages while the ticket is open.
    """

    def __init__(self, repository_scope: RepositoryScope = ticket_repository, clock: Clock = datetime.utcnow) -> None:
        self.repository_scope = repository_scope
        self.clock = clock

    def name(self) -> str:
        return "action_handoff_submit"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        channel = tracker.get_latest_input_channel() or "rest"
        moment = self.clock()
        new = NewTicket(
            sender_id=tracker.sender_id,
            channel=channel,
            reason=tracker.get_slot(n.REASON) or REASON_USER_REQUEST,
            topic=tracker.get_slot(n.TOPIC) or contact.OTHER_TOPIC,
            summary=tracker.get_slot(n.SUMMARY) or "",
            contact_name=tracker.get_slot(n.CONTACT_NAME) or "",
            phone=tracker.get_slot(n.PHONE) or "",
            consent=tracker.get_slot(n.CONSENT) is True,
        )
        if not (new.consent and new.phone and new.contact_name and new.summary):
            # the form was left before it was complete: nothing to submit, and no relay to start
            return [*_reset_form(), FollowupAction("action_listen")]
        try:
            with self.repository_scope() as tickets:
                hours = office_hours(tickets)
                open_now = hours.is_open(moment)
                pickup = hours.next_opening(moment)
                new = replace(new, pickup_at=_naive_utc(pickup))
                ticket, token = tickets.open_ticket(new, transcript(tracker))
                number = ticket.number
        except SQLAlchemyError as exc:
            # database locked or unavailable: nothing was written (the transaction rolled back). Keep what the user
            # gave and ask for consent again, so 「同意」 submits it once the database is back.
            # the driver's message ("database is locked"), not the statement: engines hide parameters, and the
            # original error never carries them
            log.error("hand-off ticket not saved (channel %s): %s: %s", channel, type(exc).__name__,
                      getattr(exc, "orig", None) or exc)
            dispatcher.utter_message(response="utter_handoff_submit_failed")
            return [
                SlotSet(n.CONSENT, None),
                ActiveLoop(n.HANDOFF_FORM),
                SlotSet(n.REQUESTED_SLOT, n.CONSENT),
                FollowupAction("action_listen"),
            ]
        log.info(
            "hand-off ticket %s opened (channel %s, topic %s, phone %s)",
            number,
            channel,
            new.topic,
            contact.mask_phone(new.phone),
        )
        values = {"ticket": number, "phone": contact.mask_phone(new.phone)}
        if open_now:
            dispatcher.utter_message(text=response_text(domain, "utter_handoff_created", **values))
        else:
            values.update(hours=hours.describe(), pickup=format_moment(pickup) if pickup else "下一个工作日")
            dispatcher.utter_message(text=response_text(domain, "utter_handoff_created_closed", **values))
        if channel != "wechat":
            # for the web page: poll GET /api/handoff/messages with this token for officer replies
            dispatcher.utter_message(
                json_message={"handoff": {"ticket": number, "poll_token": token, "poll_url": "/api/handoff/messages"}}
            )
        return [*_reset_form(), SlotSet(n.TICKET, number)]


def _naive_utc(moment: Optional[datetime]) -> Optional[datetime]:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


class ValidateHandoffChatForm(FormValidationAction):
    """While a ticket is open every message lands in ``handoff_relay``: store it on the ticket, send the officer
    replies that are waiting, and empty the slot so the form goes on. The form ends (``requested_slot`` None) when
    the ticket is closed or the user says 结束人工/取消人工; ``action_handoff_relay_end`` then takes over."""

    def __init__(self, repository_scope: RepositoryScope = ticket_repository) -> None:
        self.repository_scope = repository_scope

    def name(self) -> str:
        return "validate_handoff_chat_form"

    async def validate_handoff_relay(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if value is None:
            return {n.RELAY: None}  # the form starting: no message to relay yet
        text = original_user_text(tracker).strip()
        intent, confidence = _intent(tracker)
        channel = tracker.get_latest_input_channel() or "rest"
        done = {n.RELAY: None, n.REQUESTED_SLOT: None}
        with self.repository_scope() as tickets:
            ticket = tickets.ticket_of(
                tracker.sender_id, tracker.get_slot(n.TICKET), user_channel(tracker)
            ) or tickets.active_ticket_of(tracker.sender_id, user_channel(tracker))
            if ticket is None:
                return done
            if not ticket.is_active:
                send_waiting_replies(dispatcher, tickets, ticket, channel, include_notices=False)
                rating = (
                    contact.parse_rating(text) if intent == n.INTENT_RATE or len(contact.compact(text)) <= 5 else None
                )
                if rating and tickets.needs_rating(ticket):
                    # the user saw the resolution (poll or push) and answers the rating question right away; a
                    # negative rating without a comment is asked for one by action_handoff_relay_end
                    comment = ratings.comment_in_rating(text, contact.compact(text))
                    tickets.rate(ticket, rating, comment)
                    back = (
                        "utter_handoff_back_resolved"
                        if ticket.status == STATUS_RESOLVED
                        else "utter_handoff_back_closed"
                    )
                    dispatcher.utter_message(text=response_text(domain, back, ticket=ticket.number))
                    say_rated(dispatcher, domain, rating, comment)
                return {**done, n.TICKET: ticket.number}
            if contact.is_end_request(text, intent, confidence):
                send_waiting_replies(dispatcher, tickets, ticket, channel, include_notices=False)
                end_ticket(tickets, ticket, text)  # action_handoff_relay_end says what happened
                return {**done, n.TICKET: ticket.number}
            titles = payloads.conversation_titles(_session_events(tracker))
            shown = payloads.shown_text(text, titles, payloads.knowledge_question)
            if shown:
                tickets.add_user_message(ticket, shown)
            sent = send_waiting_replies(dispatcher, tickets, ticket, channel)
            if intent == n.INTENT_STATUS and confidence >= STATUS_CONFIDENCE:
                hours = office_hours(tickets)
                dispatcher.utter_message(response="utter_ticket_status_header")
                dispatcher.utter_message(text=_status_line(domain, ticket, hours, datetime.utcnow()))
            elif not sent and tickets.user_messages_waiting(ticket) == 1:
                dispatcher.utter_message(text=response_text(domain, "utter_handoff_relay_ack", ticket=ticket.number))
            return {n.RELAY: None, n.TICKET: ticket.number}


class ActionAskHandoffRelay(Action):
    """The relay form "asks" for the next message silently: while a ticket is open the bot does not answer."""

    def name(self) -> str:
        return "action_ask_handoff_relay"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        return []


class ActionHandoffRelayEnd(Action):
    """After the relay form: tell the user they are back with the bot (the ticket resolved, withdrawn, or still open
    for the officers after 结束人工) and ask for a rating when one is due."""

    def __init__(self, repository_scope: RepositoryScope = ticket_repository) -> None:
        self.repository_scope = repository_scope

    def name(self) -> str:
        return "action_handoff_relay_end"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        events = [SlotSet(n.TICKET, None), SlotSet(n.RELAY, None)]
        with self.repository_scope() as tickets:
            ticket = tickets.ticket_of(tracker.sender_id, tracker.get_slot(n.TICKET), user_channel(tracker))
            if ticket is not None and ticket.is_active and ticket.user_left:
                said = ended_response(tickets, ticket, original_user_text(tracker))
                dispatcher.utter_message(text=response_text(domain, said, ticket=ticket.number))
                return events
            if ticket is not None and comment_due(ticket):
                # a 不满意/非常不满意 rating given in the closing turn (answered by the validation): ask why
                return [SlotSet(n.TICKET, ticket.number), SlotSet(n.RELAY, None), FollowupAction(n.RATING_COMMENT_FORM)]
            if ticket is None or ticket.is_active or ticket.rating is not None:
                return events  # (a rating given in the closing turn was already answered by the validation)
            number, status, rate = ticket.number, ticket.status, tickets.needs_rating(ticket)
        back = "utter_handoff_back_resolved" if status == STATUS_RESOLVED else "utter_handoff_back_closed"
        dispatcher.utter_message(text=response_text(domain, back, ticket=number))
        if rate:
            dispatcher.utter_message(response="utter_handoff_ask_rating")
        return events


def _status_line(domain: DomainDict, ticket: Ticket, hours: OfficeHours, moment: datetime) -> str:
    created = format_moment(hours.local(ticket.created_at))
    return response_text(
        domain,
        "utter_ticket_status_line",
        ticket=ticket.number,
        topic=ticket.topic,
        status=status_text(domain, ticket, hours, moment),
        created=created,
    )


class ActionTicketStatus(Action):
    """我的工单怎么样了: the state of the user's latest tickets."""

    def __init__(self, repository_scope: RepositoryScope = ticket_repository, clock: Clock = datetime.utcnow) -> None:
        self.repository_scope = repository_scope
        self.clock = clock

    def name(self) -> str:
        return "action_ticket_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        with self.repository_scope() as tickets:
            mine = tickets.tickets_of(tracker.sender_id, limit=5, channel=user_channel(tracker))
            if not mine:
                dispatcher.utter_message(response="utter_ticket_status_none")
                return []
            hours = office_hours(tickets)
            lines = [_status_line(domain, t, hours, self.clock()) for t in mine]
        dispatcher.utter_message(text="\n".join([response_text(domain, "utter_ticket_status_header"), *lines]))
        return []


def say_rated(dispatcher: CollectingDispatcher, domain: DomainDict, rating: int, comment: Optional[str]) -> None:
    """Thank the user for their 好差评 rating; a negative one is apologised for (and, without a comment, is asked
    for one next: ``handoff_rating_comment_form``)."""
    level = ratings.level_of(rating)
    if level is None:
        return
    if not level.negative:
        dispatcher.utter_message(text=response_text(domain, "utter_handoff_rating_thanks", level=level.label))
    elif comment:
        dispatcher.utter_message(text=response_text(domain, "utter_handoff_rating_followup", level=level.label))
    else:
        dispatcher.utter_message(text=response_text(domain, "utter_handoff_rating_sorry", level=level.label))


def comment_due(ticket: Ticket, moment: Optional[datetime] = None) -> bool:
    """A 不满意/非常不满意 rating of the last two minutes without a comment: the user is asked why."""
    level = ratings.level_of(ticket.rating)
    if level is None or not level.negative or ticket.rating_comment or ticket.rated_at is None:
        return False
    return ((moment or datetime.utcnow()) - ticket.rated_at).total_seconds() <= 120


class ActionHandoffRate(Action):
    """Record the 好差评 rating (非常满意 … 非常不满意, or 5 … 1 分) of the user's last closed ticket, with the
    comment typed in the same message ("不满意，等了太久"); a 不满意/非常不满意 rating without one is asked for it
    (``handoff_rating_comment_form``; a negative rating with a comment opens a follow-up item for staff)."""

    def __init__(self, repository_scope: RepositoryScope = ticket_repository) -> None:
        self.repository_scope = repository_scope

    def name(self) -> str:
        return "action_handoff_rate"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        rating = None
        for entity in tracker.latest_message.get("entities") or []:
            if entity.get("entity") == n.ENTITY_RATING:
                rating = contact.parse_rating(str(entity.get("value")))
        text = original_user_text(tracker)
        if rating is None:
            rating = contact.parse_rating(text)
        with self.repository_scope() as tickets:
            ticket = tickets.ticket_to_rate(tracker.sender_id, user_channel(tracker))
            if ticket is None:
                dispatcher.utter_message(response="utter_handoff_no_rating_due")
                return []
            if rating is None:
                dispatcher.utter_message(response="utter_handoff_rating_invalid")
                return []
            comment = ratings.comment_in_rating(text, contact.compact(text))
            tickets.rate(ticket, rating, comment)
            number, due = ticket.number, comment_due(ticket)
        say_rated(dispatcher, domain, rating, comment)
        if due:
            return [SlotSet(n.TICKET, number), FollowupAction(n.RATING_COMMENT_FORM)]
        return []


class ValidateHandoffRatingCommentForm(FormValidationAction):
    """The answer to "可以说说哪里不满意吗？": stored on the ticket as the rating's comment (a follow-up item opens
    for staff), unless the user declines (跳过, 不用了 …). The slot ends up "stored" or "skipped"."""

    def __init__(self, repository_scope: RepositoryScope = ticket_repository) -> None:
        self.repository_scope = repository_scope

    def name(self) -> str:
        return "validate_handoff_rating_comment_form"

    async def validate_handoff_rating_comment(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        text = original_user_text(tracker).strip()
        if text.startswith("/") or ratings.is_skip(contact.compact(text)):
            return {n.RATING_COMMENT: "skipped"}
        with self.repository_scope() as tickets:
            ticket = tickets.ticket_of(tracker.sender_id, tracker.get_slot(n.TICKET), user_channel(tracker))
            stored = ticket is not None and tickets.comment_rating(ticket, text)
        return {n.RATING_COMMENT: "stored" if stored else "skipped"}


class ActionHandoffRatingComment(Action):
    """After the comment form: say what became of the comment, and forget the ticket and the comment."""

    def name(self) -> str:
        return "action_handoff_rating_comment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        stored = tracker.get_slot(n.RATING_COMMENT) == "stored"
        dispatcher.utter_message(
            response="utter_handoff_rating_comment_thanks" if stored else "utter_handoff_rating_comment_skipped"
        )
        return [SlotSet(n.RATING_COMMENT, None), SlotSet(n.TICKET, None)]


class ActionSessionStart(Action):
    """Start a session as Rasa does; if the user is still chatting in an open ticket (they come back after the
    session expired), resume the relay so their messages keep going to the officer."""

    def __init__(self, repository_scope: RepositoryScope = ticket_repository) -> None:
        self.repository_scope = repository_scope

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        events: List[Dict[str, Any]] = [SessionStarted()]
        try:
            with self.repository_scope() as tickets:
                # not one the user left with 结束人工
                ticket = tickets.relayed_ticket_of(tracker.sender_id, user_channel(tracker))
                number = ticket.number if ticket else None
        except Exception:  # noqa: BLE001 - a database problem must not stop the conversation from starting
            log.exception("could not look up open tickets at session start")
            number = None
        if number:
            events += [SlotSet(n.TICKET, number), ActiveLoop(n.CHAT_FORM), SlotSet(n.REQUESTED_SLOT, n.RELAY)]
        events.append(ActionExecuted("action_listen"))
        return events
