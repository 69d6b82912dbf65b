"""Recognising real attempts to change the assistant's rules (prompt injection, role play, asking for its
instructions, asking it to fabricate documents), as opposed to ordinary questions that merely contain words such
as 规则, 规定, 黑名单, 异常 or 限制.

The statistical classifier alone learned those words and refused questions like 「被列入经营异常黑名单怎么办」 or
「公司名称有什么规则」. bot.nlu_components.input_guard.InputGuard therefore lets ``rule_override`` stand only when
``is_rule_override`` also says so, and sets it when it does. An attempt is an *instruction to the assistant*
about its own behaviour: ignore / forget / bypass its rules or instructions, pretend to be something else, reveal
its prompt, or make up false papers. The patterns are in knowledge/dialogue/override.yml; they are matched on the
normalised text (core.text.normalize_text).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional

import yaml

from core.settings import KNOWLEDGE_DIR
from core.text import normalize_text

OVERRIDE_FILE = KNOWLEDGE_DIR / "dialogue" / "override.yml"


def load_patterns(path: Path = OVERRIDE_FILE) -> List[str]:
    """The file's patterns with its named parts ({rules}, {ignore}, {your}) filled in."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    parts = {str(name): str(value) for name, value in data["parts"].items()}
    patterns = []
    for pattern in data["patterns"]:
        text = str(pattern)
        for name, value in parts.items():
            text = text.replace("{" + name + "}", value)
        patterns.append(text)
    return patterns


_ATTEMPT = re.compile("|".join(f"(?:{p})" for p in load_patterns()), re.IGNORECASE)


def rule_override_match(text: Optional[str]) -> Optional[str]:
    """The part of ``text`` that tries to change the assistant's rules, or None for an ordinary message."""
    clean = normalize_text(text or "", max_chars=2000)
    found = _ATTEMPT.search(clean)
    return found.group(0) if found else None


def is_rule_override(text: Optional[str]) -> bool:
    return rule_override_match(text) is not None
