"""Reasoning about the case a user describes (pure functions over knowledge/dialogue/cases.yml and the materials
knowledge): 简易 or 普通注销, 变更登记 or 备案, which entity type fits, whether an address can be declared.

Each reader returns None when the message does not describe such a case, so the caller can answer it otherwise.
The text given here is normalised and has material names masked (core.materials.parsing.mask).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from core.dialogue.knowledge import FILING, REGISTRATION, Cases, ChangeItem, Outcome
from core.materials.eligibility import address_rule, exclusions_for
from core.materials.parsing import KeywordTable, Reader, mask
from core.materials.specs import UNSURE, AddressCheck, AddressRule, Eligibility, Exclusion

DEREG = "dereg"
CHANGE = "change"
ENTITY = "entity"
ADDRESS = "address"
DECISIONS = (DEREG, CHANGE, ENTITY, ADDRESS)


def has_any(text: str, words: Sequence[str]) -> bool:
    return any(w and w in text for w in words)


def asks(text: str, cases: Cases) -> bool:
    """The message asks something about the user's own case (能不能、要不要、还是 …)."""
    return has_any(text, cases.asks)


NEGATIONS = ("没有", "没", "无", "不", "未")


def only_denied(text: str, terms: Sequence[str]) -> bool:
    """Every occurrence of every term in ``text`` comes right after a negation ("也没有打官司")."""
    for term in terms:
        start = text.find(term)
        while start != -1:
            before = text[max(0, start - 3) : start]
            if not any(before.endswith(n) or before[:-1].endswith(n) for n in NEGATIONS):
                return False
            start = text.find(term, start + 1)
    return True


def own_case(text: str, neighbour_terms: Sequence[str], cases: Cases) -> bool:
    """Whether a message naming a neighbouring matter is still the user's own registration case."""
    named = [t for t in neighbour_terms if t and t in text]
    return not named or only_denied(text, named) or has_any(text, cases.own_case)


# --- 简易 or 普通注销 ------------------------------------------------------------------------------------------------


@dataclass
class DeregCase:
    answers: Dict[str, Any]  # exclusion key → True / False / UNSURE, this message and earlier ones
    stated: Dict[str, bool]  # what this message said
    blockers: List[Exclusion] = field(default_factory=list)
    cleared: List[Exclusion] = field(default_factory=list)
    open: List[Exclusion] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """general (an exclusion applies), simple (none applies, all answered), or open (some not known yet)."""
        if self.blockers:
            return "general"
        return "open" if self.open else "simple"


def is_dereg_intake(text: str, cases: Cases) -> bool:
    """"我想注销公司" and nothing else: the case still has to be described."""
    compact = "".join(ch for ch in text if ch not in "，,。.！!～~ ")
    return len(compact) <= cases.dereg_intake_max_chars and has_any(compact, cases.dereg_intake)


def read_dereg(
    text: str, reader: Reader, eligibility: Eligibility, entity_type: Optional[str], known: Mapping[str, Any]
) -> Optional[DeregCase]:
    """The 简易注销 exclusions the message states or denies, with what earlier messages said (``known``); None
    when the message says nothing about them."""
    exclusions = list(eligibility.exclusions)
    stated = reader.exclusions(text, exclusions)
    if not stated:
        return None
    relevant = exclusions_for(eligibility, entity_type)
    answers = {e.key: known.get(e.key) for e in exclusions}
    answers.update(stated)
    case = DeregCase(answers=answers, stated=stated)
    for e in relevant:
        value = answers.get(e.key)
        if value is True:
            case.blockers.append(e)
        elif value is False:
            case.cleared.append(e)
        elif value is None or value == UNSURE:
            case.open.append(e)
    return case


# --- 变更登记 or 备案 -------------------------------------------------------------------------------------------------


@dataclass
class ChangeCase:
    items: List[ChangeItem]

    def of_kind(self, kind: str) -> List[ChangeItem]:
        return [i for i in self.items if i.kind == kind]

    @property
    def registration(self) -> List[ChangeItem]:
        return self.of_kind(REGISTRATION)

    @property
    def filing(self) -> List[ChangeItem]:
        return self.of_kind(FILING)


def change_items(text: str, cases: Cases) -> List[ChangeItem]:
    """The changeable items the text names, in order, each once (longest keyword first, 股东会 is no 股东)."""
    ignore = KeywordTable((w, "ignore", True) for w in cases.change_ignore)
    text = mask(text, [(hit.start, hit.end) for hit in ignore.scan(text)])
    by_key = {item.key: item for item in cases.change_items}
    table = KeywordTable((w, "item", item.key) for item in cases.change_items for w in item.keywords)
    found: List[ChangeItem] = []
    for hit in table.scan(text):
        item = by_key[hit.targets[0][1]]
        if item not in found:
            found.append(item)
    return found


def read_change(text: str, cases: Cases, require_change_word: bool = True) -> Optional[ChangeCase]:
    """The items a described change touches; None when the message names no item (or no change)."""
    items = change_items(text, cases)
    if not items or (require_change_word and not has_any(text, cases.change_words)):
        return None
    return ChangeCase(items)


# --- which entity type ---------------------------------------------------------------------------------------------


@dataclass
class EntityChoice:
    outcome: Outcome
    traits: List[str]


def read_entity_choice(text: str, cases: Cases, in_context: bool = False) -> Optional[EntityChoice]:
    """The entity type that fits the described case, when the message asks which type to choose (or, ``in_context``,
    the conversation was about choosing one: "就我一个人，小本生意" after 「开个体户还是公司好？」)."""
    if not in_context and not has_any(text, cases.entity_words):
        return None
    traits = [name for name, words in cases.entity_traits.items() if has_any(text, words)]
    for outcome in cases.entity_outcomes:
        if all(t in traits for t in outcome.when):
            return EntityChoice(outcome, traits)
    return None


# --- whether an address can be declared ---------------------------------------------------------------------------


@dataclass
class AddressCase:
    facts: Dict[str, Any]
    rule: Optional[AddressRule]  # None: a question is still open


def read_address(
    text: str, reader: Reader, check: AddressCheck, entity_type: Optional[str], cases: Cases
) -> Optional[AddressCase]:
    """The address check for the premises the message describes; None when it describes none or does not ask."""
    facts: Dict[str, Any] = {"addr_type": None, "addr_business": None, "entity_type": entity_type}
    facts.update(reader.address_facts(text))
    described = facts.get("addr_business") is not None or has_any(text, cases.address_words) or asks(text, cases)
    if facts.get("addr_type") is None or not described:
        return None
    return AddressCase(facts, address_rule(check, facts))
