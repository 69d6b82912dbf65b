"""Plain values the materials logic works on, detached from YAML and database rows.

The repository builds them from the database, the schema from the YAML files; ``comparison`` and ``eligibility``
only ever see these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

ALL = "all"
MANDATORY = "mandatory"
CONDITIONAL = "conditional"
UNCONFIRMED = "unconfirmed"
REQUIREMENTS = (MANDATORY, CONDITIONAL, UNCONFIRMED)

# procedure kinds (the value of the materials_procedure slot)
SETUP = "setup"
SIMPLE_DEREG = "simple_dereg"
GENERAL_DEREG = "general_dereg"
ADDRESS = "address"
FOOD = "food"
KINDS = (SETUP, SIMPLE_DEREG, GENERAL_DEREG, ADDRESS, FOOD)

# a condition the user could not answer ("不知道"): treated as unknown, and not asked again
UNSURE = "unsure"

When = Dict[str, Tuple[Any, ...]]


def matches(when: When, facts: Dict[str, Any]) -> bool | None:
    """True/False when every key of ``when`` is known in ``facts``; None when some key is still unknown."""
    unknown = False
    for key, allowed in when.items():
        value = facts.get(key)
        if value is None or value == UNSURE:
            unknown = True
            continue
        if value not in allowed:
            return False
    return None if unknown else True


@dataclass(frozen=True)
class Sourced:
    source: str
    source_url: str | None
    rule_date: str
    reviewed: str


@dataclass(frozen=True)
class WhereVariant:
    when: When
    where: str


@dataclass(frozen=True)
class Requirement:
    """One material of a procedure: what it is, when it is needed, where to get it, and where that is written."""

    id: str
    name: str
    satisfied_by: Tuple[str, ...]
    requirement: str
    where: str
    sourced: Sourced
    when: When = field(default_factory=dict)
    condition: str | None = None
    entity_types: Tuple[str, ...] = (ALL,)
    where_variants: Tuple[WhereVariant, ...] = ()
    deferrable: str | None = None
    deferrable_confirmed: bool = False
    note: str | None = None

    def covers(self, entity_type: str | None) -> bool:
        return ALL in self.entity_types or entity_type in self.entity_types

    def where_for(self, facts: Dict[str, Any]) -> str:
        for variant in self.where_variants:
            if matches(variant.when, facts):
                return variant.where
        return self.where


@dataclass(frozen=True)
class Note:
    """A point shown with the checklist when its condition holds (食品经营许可 after the licence, …)."""

    id: str
    text: str
    sourced: Sourced
    when: When = field(default_factory=dict)
    entity_types: Tuple[str, ...] = (ALL,)
    confirmed: bool = True
    only_if_missing: bool = False

    def covers(self, entity_type: str | None) -> bool:
        return ALL in self.entity_types or entity_type in self.entity_types


@dataclass(frozen=True)
class NotCovered:
    """A case the knowledge base has no checklist for: the bot says so and offers a CBSO officer."""

    what: str
    when: When = field(default_factory=dict)
    entity_types: Tuple[str, ...] = (ALL,)

    def covers(self, entity_type: str | None) -> bool:
        return ALL in self.entity_types or entity_type in self.entity_types


@dataclass(frozen=True)
class Exclusion:
    """One case in which 简易注销 is not possible, asked as a yes/no question (slot ``sd_<key>``)."""

    key: str
    label: str
    reason: str
    way_forward: str
    sourced: Sourced
    entity_types: Tuple[str, ...] = (ALL,)
    keywords: Tuple[str, ...] = ()
    confirmed: bool = True

    @property
    def slot(self) -> str:
        return f"sd_{self.key}"

    def covers(self, entity_type: str | None) -> bool:
        return ALL in self.entity_types or entity_type in self.entity_types


@dataclass(frozen=True)
class Eligibility:
    exclusions: Tuple[Exclusion, ...]
    eligible_text: str
    sourced: Sourced
    to_confirm: str | None = None


@dataclass(frozen=True)
class AddressRule:
    """One row of the address check: address type × business type (× entity type) → verdict."""

    id: str
    when: When
    verdict: str  # allowed | not_allowed | check_window | not_covered
    reason: str
    sourced: Sourced
    provide: Tuple[str, ...] = ()
    promise: Tuple[str, ...] = ()
    confirmed: bool = True


@dataclass(frozen=True)
class AddressCheck:
    address_types: Dict[str, str]
    business_types: Dict[str, str]
    rules: Tuple[AddressRule, ...]


@dataclass(frozen=True)
class Procedure:
    id: str
    kind: str
    title: str
    entity_types: Tuple[str, ...]
    requirements: Tuple[Requirement, ...]
    notes: Tuple[Note, ...] = ()
    not_covered: Tuple[NotCovered, ...] = ()
    eligibility: Eligibility | None = None
    address_check: AddressCheck | None = None

    def covers(self, entity_type: str | None) -> bool:
        return ALL in self.entity_types or entity_type in self.entity_types

    @property
    def needs_entity_type(self) -> bool:
        return ALL not in self.entity_types


@dataclass
class HeldMaterials:
    """What the user said about each material: True = has it, False = said they lack it."""

    status: Dict[str, bool] = field(default_factory=dict)

    @property
    def has(self) -> List[str]:
        return [m for m, held in self.status.items() if held]

    def update(self, changes: Dict[str, bool]) -> None:
        self.status.update(changes)
