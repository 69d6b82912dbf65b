"""Turning domain responses and knowledge entries into messages.

User-facing sentences live in the domain (bot/domain/*.yml) and the knowledge base; this module only fills in
their variables and cuts long replies into phone-sized messages.
"""

from __future__ import annotations

from typing import Optional

from rasa_sdk import Tracker

from core.messages import response_text, response_variant, split_message  # noqa: F401 - the actions' one import


def original_user_text(tracker: Tracker) -> str:
    """The user's last message as sent (the NLU pipeline may have normalised or shortened ``latest_message``)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event.get("text") or ""
    return tracker.latest_message.get("text") or ""


def latest_entity(tracker: Tracker, entity: str) -> Optional[str]:
    """The most specific (longest matched) value of ``entity`` in the last message."""
    found = [e for e in tracker.latest_message.get("entities", []) if e.get("entity") == entity and e.get("value")]
    if not found:
        return None
    found.sort(key=lambda e: (e.get("end", 0) - e.get("start", 0)), reverse=True)
    return str(found[0]["value"])
