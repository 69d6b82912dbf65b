"""Button clicks in ticket transcripts, as the user saw them.

A click sends the button's payload (``/startup_process``, ``/rate_service{"handoff_rating": "5"}``), which is what
the bot receives but not what the user saw. In a transcript it becomes 「（点击了按钮：开办企业流程）」 with the
button's title: from the buttons the bot showed in the conversation, else from the domain's responses, else from a
label of the intent. Payloads the user never clicked (the web chat and WeChat send ``/greet`` on their own when a
conversation starts) are left out.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Callable, Dict, Iterable, Mapping, Optional

import yaml

from core.catalogue import labels, message
from core.settings import DOMAIN_DIR

# intents whose payload is sent without a click (hidden unless a button with that payload was shown)
AUTOMATIC = frozenset({"greet"})
INTENT_LABELS = labels("payload_intents")  # knowledge/console.yml, as the transcript's other words
NOT_TEXT = message("transcript.not_text")
_PAYLOAD = re.compile(r"^/([A-Za-z0-9_]+)(\{.*\})?\s*$", re.DOTALL)

Lookup = Callable[[str], Optional[str]]


def is_payload(text: Optional[str]) -> bool:
    return bool(_PAYLOAD.match((text or "").strip()))


def _key(payload: str) -> str:
    return re.sub(r"\s+", "", payload or "")


def button_titles(buttons: Iterable[Mapping[str, Any]]) -> Dict[str, str]:
    """payload → title of ``buttons`` (compared without spaces, so JSON spacing does not matter)."""
    titles: Dict[str, str] = {}
    for button in buttons or []:
        payload, title = button.get("payload"), button.get("title")
        if isinstance(payload, str) and isinstance(title, str) and payload.startswith("/") and title.strip():
            titles[_key(payload)] = title.strip()
    return titles


@lru_cache(maxsize=1)
def domain_titles() -> Dict[str, str]:
    """payload → title of every button in the domain's responses (bot/domain/*.yml)."""
    titles: Dict[str, str] = {}
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for variants in (data.get("responses") or {}).values():
            for variant in variants or []:
                if isinstance(variant, dict):
                    titles.update(button_titles(variant.get("buttons") or []))
    return titles


def conversation_titles(events: Iterable[Mapping[str, Any]]) -> Dict[str, str]:
    """payload → title of the buttons the bot showed in ``events`` (Rasa tracker events; later ones win)."""
    titles: Dict[str, str] = {}
    for event in events:
        if event.get("event") == "bot":
            titles.update(button_titles((event.get("data") or {}).get("buttons") or []))
    return titles


def shown_text(
    text: Optional[str], titles: Optional[Mapping[str, str]] = None, question_of: Optional[Lookup] = None
) -> Optional[str]:
    """What a transcript shows for a user message: the text itself, 「（点击了按钮：…）」 for a payload, or None for
    a payload sent without a click. ``titles`` (payload → title) wins over the domain's buttons; ``question_of``
    (intent → the knowledge base's question) labels payloads of answers no button here has."""
    text = (text or "").strip()
    match = _PAYLOAD.match(text)
    if not match:
        return text
    key = _key(text)
    intent, entities = match.group(1), match.group(2)
    title = (titles or {}).get(key)
    if title is None and intent in AUTOMATIC:
        return None  # a click only if the conversation showed such a button
    title = title or domain_titles().get(key)
    if title:
        return message("transcript.clicked", title=title)
    if intent == "empty_input":
        return NOT_TEXT
    label = INTENT_LABELS.get(intent)
    if intent == "rate_service":
        label = _rating_label(entities)
    if label is None and question_of is not None:
        try:
            label = question_of(intent)
        except Exception:  # noqa: BLE001 - a label is a nicety; the knowledge base may be unreachable
            label = None
    return message("transcript.clicked", title=label or intent)


def _rating_label(entities: Optional[str]) -> str:
    try:
        value = (json.loads(entities or "{}") or {}).get("handoff_rating")
    except ValueError:
        value = None
    return message("transcript.rating", value=value) if value else message("transcript.rating_unknown")


def knowledge_question(intent: str) -> Optional[str]:
    """The knowledge base's question for ``intent`` (for ``question_of``), or None."""
    from core.knowledge.repository import knowledge_repository

    with knowledge_repository() as kb:
        return kb.questions_for_intents([intent]).get(intent)
