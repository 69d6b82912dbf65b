"""Filling in user-facing sentences and cutting replies to phone size.

The sentences themselves live in the domain (bot/domain/*.yml) and the knowledge base; this module only fills in
their variables and cuts long replies into phone-sized messages. Used by the actions, the channels and the console.
"""

from __future__ import annotations

from typing import Any, Dict, List

# messages longer than this are answered on their first part (bot/nlu_components cut them to this length)
MAX_MESSAGE_CHARS = 2000
# a phone screen: replies are split into messages of at most about this many characters
MAX_REPLY_CHARS = 600


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def response_text(domain: Dict[str, Any], name: str, **values: Any) -> str:
    """The text of domain response ``name`` with ``{variables}`` filled in."""
    variants = (domain.get("responses") or {}).get(name) or []
    if not variants:
        raise KeyError(f"response {name!r} is not in the domain")
    return str(variants[0].get("text", "")).format_map(_Blank(values))


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
