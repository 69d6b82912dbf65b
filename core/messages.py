"""Filling in user-facing sentences and cutting replies to phone size.

The sentences themselves live in the domain (bot/domain/*.yml) and the knowledge base; this module only fills in
their variables and cuts long replies into phone-sized messages. Used by the actions, the channels and the console.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, List, Optional

# messages longer than this are answered on their first part (bot/nlu_components cut them to this length)
MAX_MESSAGE_CHARS = 2000
# a phone screen: replies are split into messages of at most about this many characters
MAX_REPLY_CHARS = 600


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


@lru_cache(maxsize=1)
def _domain_responses() -> Dict[str, Any]:
    """The responses of bot/domain/*.yml, for calls without the domain (endpoints.yml: enable_selective_domain,
    so Rasa does not send the whole domain with every action call)."""
    import yaml

    from core.settings import DOMAIN_DIR

    responses: Dict[str, Any] = {}
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        responses.update((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {})
    return responses


def response_variant(domain: Optional[Dict[str, Any]], name: str) -> Dict[str, Any]:
    """The first variant of domain response ``name`` (from the domain Rasa sent, else from the domain files)."""
    variants = ((domain or {}).get("responses") or _domain_responses()).get(name) or []
    if not variants:
        raise KeyError(f"response {name!r} is not in the domain")
    return variants[0]


def response_text(domain: Optional[Dict[str, Any]], name: str, **values: Any) -> str:
    """The text of domain response ``name`` with ``{variables}`` filled in."""
    return str(response_variant(domain, name).get("text", "")).format_map(_Blank(values))


def split_message(text: str, limit: int = MAX_REPLY_CHARS) -> List[str]:
    """Split ``text`` into parts of at most ``limit`` characters, at paragraph or line ends where possible."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    parts: List[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current.strip())
        while len(line) > limit:
            cut = max(line.rfind(p, 0, limit) for p in "。；;，,！？ ")
            cut = cut + 1 if cut > limit // 2 else limit
            parts.append(line[:cut].strip())
            line = line[cut:]
        current = line
    if current.strip():
        parts.append(current.strip())
    return [p for p in parts if p]
