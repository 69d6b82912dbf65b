"""Guided checks (pure logic): can this business use 简易注销, and can this address be registered?"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Sequence

from core.materials.specs import UNSURE, AddressCheck, AddressRule, Eligibility, Exclusion, matches

ADDRESS_QUESTIONS = ("addr_type", "addr_business", "entity_type")


# --- 简易注销 -------------------------------------------------------------------------------------------------------


def exclusions_for(eligibility: Eligibility, entity_type: str | None) -> List[Exclusion]:
    return [e for e in eligibility.exclusions if e.covers(entity_type)]


def open_exclusions(eligibility: Eligibility, entity_type: str | None, answers: Mapping[str, Any]) -> List[Exclusion]:
    """The exclusions not answered yet, in the order of the knowledge file."""
    return [e for e in exclusions_for(eligibility, entity_type) if answers.get(e.key) is None]


@dataclass
class DeregVerdict:
    eligible: bool | None  # None: some answers were "不确定"
    blockers: List[Exclusion] = field(default_factory=list)
    unsure: List[Exclusion] = field(default_factory=list)


def simple_dereg_verdict(eligibility: Eligibility, entity_type: str | None, answers: Mapping[str, Any]) -> DeregVerdict:
    relevant = exclusions_for(eligibility, entity_type)
    blockers = [e for e in relevant if answers.get(e.key) is True]
    unsure = [e for e in relevant if answers.get(e.key) == UNSURE]
    eligible = False if blockers else (None if unsure else True)
    return DeregVerdict(eligible, blockers, unsure)


# --- the address check -------------------------------------------------------------------------------------------


def address_rule(check: AddressCheck, facts: Mapping[str, Any]) -> AddressRule | None:
    """The first rule that applies; None while an earlier rule could still apply (a question is open)."""
    for rule in check.rules:
        applies = matches(rule.when, facts) if rule.when else True
        if applies is True:
            return rule
        if applies is None:
            return None
    return None


def _values(check: AddressCheck, key: str, entity_types: Sequence[str]) -> List[Any]:
    if key == "addr_type":
        return list(check.address_types)
    if key == "addr_business":
        return list(check.business_types)
    return list(entity_types)


def open_address_questions(
    check: AddressCheck, facts: Mapping[str, Any], entity_types: Sequence[str], order: Iterable[str] = ADDRESS_QUESTIONS
) -> List[str]:
    """The unanswered questions (in ``order``) whose answer can change the verdict."""
    unknown = [k for k in order if facts.get(k) is None]
    relevant = []
    for key in unknown:
        others = [k for k in unknown if k != key]
        for combo in itertools.product(*[_values(check, k, entity_types) for k in others]):
            base: Dict[str, Any] = {**facts, **dict(zip(others, combo, strict=True))}
            outcomes = {
                getattr(address_rule(check, {**base, key: value}), "id", None)
                for value in _values(check, key, entity_types)
            }
            if len(outcomes) > 1:
                relevant.append(key)
                break
    return relevant
