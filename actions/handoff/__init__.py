"""Hand-off to a CBSO 首席商事服务官: tickets, the relay while a ticket is open, office hours and the console's data.

Shared by the action server (the user's side) and the web app (the staff console and the poll endpoint); both read
the same DATABASE_URL. Modules:

- ``models``: tables (tickets, messages, status history, staff notes, officers, console sessions, audit log);
- ``repository``: one named method per question about tickets, taking the session as an argument;
- ``accounts``: officer accounts, password hashing (argon2), console sessions, login throttling, audit log and the
  first-admin seeder;
- ``office_hours``: when officers work (OFFICE_HOURS, public holidays from knowledge/holidays/);
- ``contact``: phone number validation and masking; topics of the form;
- ``delivery``: officer replies waiting for the user (the outbox) and the push hook per channel (WeChat);
- ``actions``: the Rasa custom actions and form validations.

Other actions start a hand-off by returning :func:`start_handoff_events` (for example when a check finds a case the
knowledge base does not cover).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

REASON_USER_REQUEST = "user_request"
REASON_FALLBACK = "fallback"
REASON_NOT_HELPFUL = "not_helpful"
REASON_KB_GAP = "kb_gap"
REASONS = (REASON_USER_REQUEST, REASON_FALLBACK, REASON_NOT_HELPFUL, REASON_KB_GAP)


def _user_turns(tracker: Any) -> int:
    return sum(1 for event in tracker.events if event.get("event") == "user")


def is_second_fallback(tracker: Any) -> bool:
    """Whether the previous user message also ended in a clarification (``fallback_marker``): the fallback fired
    twice in a row, so the bot hands off instead of asking again."""
    from core.handoff import names as slots
    marker = tracker.get_slot(slots.FALLBACK_TURN)
    try:
        return marker is not None and int(marker) == _user_turns(tracker) - 1
    except (TypeError, ValueError):
        return False


def fallback_marker(tracker: Any) -> Dict[str, Any]:
    """The event that remembers "this user message ended in a clarification" for ``is_second_fallback``."""
    from rasa_sdk.events import SlotSet

    from core.handoff import names as slots
    return SlotSet(slots.FALLBACK_TURN, _user_turns(tracker))


def start_handoff_events(
    reason: str, summary: Optional[str] = None, topic: Optional[str] = None
) -> List[Dict[str, Any]]:
    """Events that make the bot hand the conversation to a CBSO officer right after the calling action.

    ``reason`` is one of ``REASONS`` (it picks the bot's introduction); ``summary`` pre-fills the one-line summary
    the user confirms or edits; ``topic`` (one of ``contact.TOPICS``) skips the topic question.
    """
    from rasa_sdk.events import FollowupAction, SlotSet

    from core.handoff import names as slots
    events: List[Dict[str, Any]] = [SlotSet(slots.REASON, reason)]
    if summary:
        events.append(SlotSet(slots.SUMMARY_DRAFT, summary))
    if topic:
        events.append(SlotSet(slots.TOPIC_HINT, topic))
    events.append(FollowupAction("action_handoff_start"))
    return events
