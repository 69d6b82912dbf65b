"""knowledge/dialogue/*.yml as plain values: the checks offered after answers and the case-reasoning rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

from core.settings import KNOWLEDGE_DIR
from core.text import normalize_text

DIALOGUE_DIR = KNOWLEDGE_DIR / "dialogue"

MATERIALS = "materials"
SIMPLE_DEREG = "simple_dereg"
ADDRESS = "address"
CHECKS = (MATERIALS, SIMPLE_DEREG, ADDRESS)

REGISTRATION = "registration"
FILING = "filing"


def _words(values: Any) -> Tuple[str, ...]:
    """Keywords as they are matched: normalised like the user's text (Traditional → Simplified, lower case)."""
    out = []
    for value in values or []:
        word = normalize_text(str(value)).lower()
        if word and word not in out:
            out.append(word)
    return tuple(out)


@dataclass(frozen=True)
class Checks:
    buttons: Dict[str, Dict[str, str]]
    offer_intents: Dict[str, str]
    offer_topics: Dict[str, str]
    procedure_intents: Dict[str, str]
    procedure_topics: Dict[str, str]
    topic_of_procedure: Dict[str, str]
    question_marks: Tuple[str, ...]

    def offer(self, intent: Optional[str], topic: Optional[str]) -> Optional[str]:
        """The check that fits an answer of ``intent`` (or, failing that, of ``topic``)."""
        return self.offer_intents.get(intent or "") or self.offer_topics.get(topic or "")

    def button(self, check: str) -> Dict[str, str]:
        return dict(self.buttons[check])

    def procedure(self, intent: Optional[str], topic: Optional[str]) -> Optional[str]:
        """The procedure kind the conversation was about, from the last answer's intent, then its topic."""
        return self.procedure_intents.get(intent or "") or self.procedure_topics.get(topic or "")

    def is_question(self, text: str) -> bool:
        return any(mark in text for mark in self.question_marks)


@dataclass(frozen=True)
class Sourced:
    text: str
    source: str
    source_url: str
    rule_date: str


@dataclass(frozen=True)
class ChangeItem:
    key: str
    label: str
    kind: str
    keywords: Tuple[str, ...]
    note: Optional[str] = None
    note_source: Optional[str] = None


@dataclass(frozen=True)
class Outcome:
    id: str
    when: Tuple[str, ...]
    sourced: Sourced


@dataclass(frozen=True)
class Cases:
    reviewed: str
    asks: Tuple[str, ...]
    own_case: Tuple[str, ...]
    dereg_words: Tuple[str, ...]
    dereg_intake: Tuple[str, ...]
    dereg_intake_max_chars: int
    change_words: Tuple[str, ...]
    change_ignore: Tuple[str, ...]
    change_kinds: Dict[str, Tuple[str, Sourced]]  # kind → (label, rule)
    change_penalty: Sourced
    change_items: Tuple[ChangeItem, ...]
    entity_words: Tuple[str, ...]
    entity_context_intents: Tuple[str, ...]
    entity_traits: Dict[str, Tuple[str, ...]]
    entity_trait_labels: Dict[str, str]
    entity_outcomes: Tuple[Outcome, ...]
    address_words: Tuple[str, ...]
    dereg_general: Optional[Sourced] = None
    dereg_general_individual: Optional[Sourced] = None
    facts: Dict[str, Tuple[int, ...]] = field(default_factory=dict)


def _sourced(data: Mapping[str, Any]) -> Sourced:
    return Sourced(
        text=str(data["text"]).strip(),
        source=str(data["source"]),
        source_url=str(data.get("source_url") or ""),
        rule_date=str(data["rule_date"]),
    )


def load_checks(path: Path = DIALOGUE_DIR / "checks.yml") -> Checks:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    buttons = {k: {"title": str(v["title"]), "payload": str(v["payload"])} for k, v in data["buttons"].items()}
    offers = data.get("offers") or {}
    context = data.get("procedure_from_context") or {}
    for check in [*(offers.get("intents") or {}).values(), *(offers.get("topics") or {}).values()]:
        if check not in buttons:
            raise ValueError(f"{path}: the check {check!r} has no button")
    return Checks(
        buttons=buttons,
        offer_intents=dict(offers.get("intents") or {}),
        offer_topics=dict(offers.get("topics") or {}),
        procedure_intents=dict(context.get("intents") or {}),
        procedure_topics=dict(context.get("topics") or {}),
        topic_of_procedure=dict(data.get("topic_of_procedure") or {}),
        question_marks=_words(data.get("question_marks")),
    )


def load_cases(path: Path = DIALOGUE_DIR / "cases.yml") -> Cases:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    dereg, change, entity, address = data["deregistration"], data["change"], data["entity_choice"], data["address"]
    items = []
    for item in change["items"]:
        if item["kind"] not in (REGISTRATION, FILING):
            raise ValueError(f"{path}: change item {item['key']!r} has kind {item['kind']!r}")
        items.append(
            ChangeItem(
                key=str(item["key"]),
                label=str(item["label"]),
                kind=str(item["kind"]),
                keywords=_words(item["keywords"]),
                note=item.get("note"),
                note_source=item.get("note_source"),
            )
        )
    traits = {name: _words(trait["words"]) for name, trait in entity["traits"].items()}
    trait_labels = {name: str(trait["label"]) for name, trait in entity["traits"].items()}
    outcomes = []
    for outcome in entity["outcomes"]:
        unknown = [t for t in outcome["when"] if t not in traits]
        if unknown:
            raise ValueError(f"{path}: outcome {outcome['id']!r} uses unknown traits {unknown}")
        outcomes.append(Outcome(str(outcome["id"]), tuple(outcome["when"]), _sourced(outcome)))
    return Cases(
        reviewed=str(data["reviewed"]),
        asks=_words(data["asks"]),
        own_case=_words(data.get("own_case")),
        dereg_words=_words(dereg["words"]),
        dereg_intake=_words(dereg["intake"]),
        dereg_intake_max_chars=int(dereg.get("intake_max_chars", 16)),
        change_words=_words(change["words"]),
        change_ignore=_words(change.get("ignore")),
        change_kinds={kind: (str(change[kind]["label"]), _sourced(change[kind])) for kind in (REGISTRATION, FILING)},
        change_penalty=_sourced(change["penalty"]),
        change_items=tuple(items),
        entity_words=_words(entity["words"]),
        entity_context_intents=tuple(entity.get("context_intents") or ()),
        entity_traits=traits,
        entity_trait_labels=trait_labels,
        entity_outcomes=tuple(outcomes),
        address_words=_words(address["words"]),
        dereg_general=_sourced(dereg["general"]),
        dereg_general_individual=_sourced(dereg["general_individual"]),
        facts={name: tuple(data[name].get("facts") or ()) for name in ("deregistration", "change", "entity_choice", "address")},
    )


@lru_cache(maxsize=1)
def checks() -> Checks:
    return load_checks()


@lru_cache(maxsize=1)
def cases() -> Cases:
    return load_cases()


def offered_button(intent: Optional[str], topic: Optional[str]) -> Optional[Dict[str, str]]:
    """The button of the check that fits an answer, or None."""
    check = checks().offer(intent, topic)
    return checks().button(check) if check else None


def check_payloads() -> frozenset:
    """The payloads that start a guided check."""
    return frozenset(b["payload"] for b in checks().buttons.values())


__all__: List[str] = ["Checks", "Cases", "ChangeItem", "Outcome", "Sourced", "checks", "cases", "offered_button"]
