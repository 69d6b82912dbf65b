"""Schema of ``knowledge/materials/``: the requirement files, the shared items, the vocabulary and the language.

Every requirement names the canonical materials that satisfy it (keys of ``vocabulary.yml``), whether it is
mandatory, conditional (``condition`` in words, ``when`` in terms of the form's conditions) or unconfirmed, where to
get it, and its source, rule date and review date. ``load_knowledge()`` validates all files together and reports
every problem at once; ``make test`` (tests/unit/test_materials_schema.py) fails on an invalid file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml
from pydantic import BaseModel, Extra, Field, root_validator, validator

from core.knowledge.schema import ENTITY_TYPES
from core.knowledge.schema import Sourced as KnowledgeSourced
from core.materials import specs
from core.settings import KNOWLEDGE_DIR

MATERIALS_DIR = KNOWLEDGE_DIR / "materials"
SPECIAL_FILES = {"vocabulary.yml", "conditions.yml", "extraction.yml", "common.yml"}
ENTITY_TYPE_KEY = "entity_type"
ADDRESS_KEYS = ("addr_type", "addr_business")
VERDICTS = ("allowed", "not_allowed", "check_window", "not_covered")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_PROCEDURE_ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


class Sourced(KnowledgeSourced):
    """Source, rule date and review date, validated as for the knowledge answers."""

    def to_spec(self) -> specs.Sourced:
        return specs.Sourced(self.source, self.source_url, self.rule_date, self.reviewed)


WhenValue = Any  # a value or a list of values; kept as YAML typed them (true/false stay booleans)


def _when_tuple(when: Dict[str, WhenValue]) -> specs.When:
    return {key: tuple(value) if isinstance(value, list) else (value,) for key, value in (when or {}).items()}


class WhereVariant(BaseModel, extra=Extra.forbid):
    when: Dict[str, WhenValue]
    where: str = Field(..., min_length=4)


class Item(Sourced, extra=Extra.forbid):
    id: str
    name: str = Field(..., min_length=2)
    satisfied_by: List[str] = Field(..., min_items=1)
    requirement: str
    where: str = Field(..., min_length=4, description="where to get it or what form it takes")
    when: Dict[str, WhenValue] = Field(default_factory=dict)
    condition: str | None = None
    entity_types: List[str] = Field(default_factory=lambda: [specs.ALL])
    where_variants: List[WhereVariant] = Field(default_factory=list)
    deferrable: str | None = Field(None, description="容缺: what may be handed in later, in words")
    deferrable_confirmed: bool = False
    note: str | None = None

    @validator("requirement")
    def _requirement(cls, value):  # noqa: N805
        if value not in specs.REQUIREMENTS:
            raise ValueError(f"requirement must be one of {specs.REQUIREMENTS}, got {value!r}")
        return value

    @root_validator(skip_on_failure=True)
    def _condition_text(cls, values):  # noqa: N805
        if (values["requirement"] == specs.CONDITIONAL or values["when"]) and not values.get("condition"):
            raise ValueError(f"{values['id']}: a conditional item (or one with `when`) needs its `condition` in words")
        if values["requirement"] == specs.MANDATORY and values.get("condition") and not values["when"]:
            raise ValueError(f"{values['id']}: a mandatory item with a condition needs `when`")
        return values

    def to_spec(self, procedure_id: str) -> specs.Requirement:
        return specs.Requirement(
            id=f"{procedure_id}.{self.id}",
            name=self.name,
            satisfied_by=tuple(self.satisfied_by),
            requirement=self.requirement,
            where=self.where.strip(),
            sourced=Sourced.to_spec(self),
            when=_when_tuple(self.when),
            condition=self.condition,
            entity_types=tuple(self.entity_types),
            where_variants=tuple(specs.WhereVariant(_when_tuple(v.when), v.where.strip()) for v in self.where_variants),
            deferrable=self.deferrable,
            deferrable_confirmed=self.deferrable_confirmed,
            note=self.note,
        )


class NoteModel(Sourced, extra=Extra.forbid):
    id: str
    text: str = Field(..., min_length=6)
    when: Dict[str, WhenValue] = Field(default_factory=dict)
    entity_types: List[str] = Field(default_factory=lambda: [specs.ALL])
    confirmed: bool = True
    only_if_missing: bool = False

    @validator("text")
    def _no_marker(cls, value, values):  # noqa: N805
        if "待确认" in value:
            raise ValueError("say unconfirmed points with `confirmed: false` (shown as 请以窗口要求为准), not 待确认")
        return value.strip()

    def to_spec(self) -> specs.Note:
        return specs.Note(
            id=self.id,
            text=self.text,
            sourced=Sourced.to_spec(self),
            when=_when_tuple(self.when),
            entity_types=tuple(self.entity_types),
            confirmed=self.confirmed,
            only_if_missing=self.only_if_missing,
        )


class Use(BaseModel, extra=Extra.allow):
    """``- use: <key>`` takes a shared item or note from common.yml; other fields given here override it."""

    use: str


class NotCoveredModel(BaseModel, extra=Extra.forbid):
    what: str = Field(..., min_length=4)
    when: Dict[str, WhenValue] = Field(default_factory=dict)
    entity_types: List[str] = Field(default_factory=lambda: [specs.ALL])

    def to_spec(self) -> specs.NotCovered:
        return specs.NotCovered(self.what, _when_tuple(self.when), tuple(self.entity_types))


class ExclusionModel(Sourced, extra=Extra.forbid):
    key: str
    label: str
    reason: str
    way_forward: str
    entity_types: List[str] = Field(default_factory=lambda: [specs.ALL])
    keywords: List[str] = Field(default_factory=list)
    confirmed: bool = True

    def to_spec(self) -> specs.Exclusion:
        return specs.Exclusion(
            key=self.key,
            label=self.label,
            reason=self.reason.strip(),
            way_forward=self.way_forward.strip(),
            sourced=Sourced.to_spec(self),
            entity_types=tuple(self.entity_types),
            keywords=tuple(self.keywords),
            confirmed=self.confirmed,
        )


class EligibilityModel(Sourced, extra=Extra.forbid):
    eligible_text: str
    to_confirm: str | None = None
    exclusions: List[ExclusionModel] = Field(..., min_items=1)

    def to_spec(self) -> specs.Eligibility:
        return specs.Eligibility(
            exclusions=tuple(e.to_spec() for e in self.exclusions),
            eligible_text=self.eligible_text.strip(),
            sourced=Sourced.to_spec(self),
            to_confirm=self.to_confirm,
        )


class AddressRuleModel(Sourced, extra=Extra.forbid):
    id: str
    when: Dict[str, WhenValue] = Field(default_factory=dict)
    verdict: str
    reason: str
    provide: List[str] = Field(default_factory=list)
    promise: List[str] = Field(default_factory=list)
    confirmed: bool = True

    @validator("verdict")
    def _verdict(cls, value):  # noqa: N805
        if value not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}")
        return value

    def to_spec(self) -> specs.AddressRule:
        return specs.AddressRule(
            id=self.id,
            when=_when_tuple(self.when),
            verdict=self.verdict,
            reason=self.reason.strip(),
            sourced=Sourced.to_spec(self),
            provide=tuple(self.provide),
            promise=tuple(self.promise),
            confirmed=self.confirmed,
        )


class AddressCheckModel(BaseModel, extra=Extra.forbid):
    address_types: Dict[str, str]
    business_types: Dict[str, str]
    rules: List[AddressRuleModel] = Field(..., min_items=1)

    def to_spec(self) -> specs.AddressCheck:
        return specs.AddressCheck(
            dict(self.address_types), dict(self.business_types), tuple(r.to_spec() for r in self.rules)
        )


class ProcedureFile(BaseModel, extra=Extra.forbid):
    procedure: str
    kind: str
    title: str
    entity_types: List[str]
    materials: List[Item]
    notes: List[NoteModel] = Field(default_factory=list)
    not_covered: List[NotCoveredModel] = Field(default_factory=list)
    eligibility: EligibilityModel | None = None
    address_check: AddressCheckModel | None = None

    @validator("procedure")
    def _procedure_id(cls, value):  # noqa: N805
        if not _PROCEDURE_ID.match(value):
            raise ValueError(f"procedure id must look like 'kind.name' in lower-case ascii: {value!r}")
        return value

    @validator("kind")
    def _kind(cls, value):  # noqa: N805
        if value not in specs.KINDS:
            raise ValueError(f"kind must be one of {specs.KINDS}")
        return value

    def to_spec(self) -> specs.Procedure:
        return specs.Procedure(
            id=self.procedure,
            kind=self.kind,
            title=self.title,
            entity_types=tuple(self.entity_types),
            requirements=tuple(item.to_spec(self.procedure) for item in self.materials),
            notes=tuple(n.to_spec() for n in self.notes),
            not_covered=tuple(n.to_spec() for n in self.not_covered),
            eligibility=self.eligibility.to_spec() if self.eligibility else None,
            address_check=self.address_check.to_spec() if self.address_check else None,
        )


# --- the language files ------------------------------------------------------------------------------------------


class Reviewed(BaseModel):
    reviewed: str

    @validator("reviewed", pre=True)
    def _date(cls, value):  # noqa: N805
        return str(value)


class ValueWords(BaseModel, extra=Extra.forbid):
    label: str
    keywords: List[str] = Field(default_factory=list)


class ConditionModel(BaseModel, extra=Extra.forbid):
    slot: str
    values: Dict[Any, ValueWords]


class ProcedureWords(BaseModel, extra=Extra.forbid):
    label: str
    keywords: List[str]


class ConditionsFile(Reviewed, extra=Extra.forbid):
    order: List[str]
    conditions: Dict[str, ConditionModel]
    negations: List[str]
    procedures: Dict[str, ProcedureWords]
    address_check: Dict[str, Dict[str, List[str]]]
    setup_patterns: List[str] = Field(default_factory=list)
    dereg_words: List[str]
    answers: Dict[str, List[str]]

    @root_validator(skip_on_failure=True)
    def _consistent(cls, values):  # noqa: N805
        if set(values["order"]) != set(values["conditions"]):
            raise ValueError("`order` must list every condition exactly once")
        if set(values["procedures"]) != set(specs.KINDS):
            raise ValueError(f"`procedures` must describe every kind {specs.KINDS}")
        needed = {"yes", "no", "unsure", "all_no", "none_held", "cancel", "correction"}
        if needed - set(values["answers"]):
            raise ValueError(f"`answers` lacks {sorted(needed - set(values['answers']))}")
        return values


class VocabularyFile(Reviewed, extra=Extra.forbid):
    source: str
    materials: Dict[str, List[str]]

    @root_validator(skip_on_failure=True)
    def _unique(cls, values):  # noqa: N805
        owner: Dict[str, str] = {}
        problems = []
        for canonical, synonyms in values["materials"].items():
            for name in [canonical, *synonyms]:
                if owner.get(name, canonical) != canonical:
                    problems.append(f"{name!r} is a name of both {owner[name]!r} and {canonical!r}")
                owner[name] = canonical
        if problems:
            raise ValueError("; ".join(problems))
        return values


class ExtractionFile(Reviewed, extra=Extra.forbid):
    label: str
    typo_min_length: int = 4
    post_window: int = 6
    clause_breaks: List[str]
    connectors: List[str]
    fillers: List[str]
    cues: Dict[str, List[str]]
    question_marks: List[str]
    all_else_present: List[str]

    @validator("cues")
    def _cue_kinds(cls, value):  # noqa: N805
        if set(value) != {"lacks", "has", "mention", "except"}:
            raise ValueError("cues must have exactly: lacks, has, mention, except")
        return value


class CommonFile(Reviewed, extra=Extra.forbid):
    materials: Dict[str, Dict[str, Any]] = Field(default_factory=dict)
    notes: Dict[str, Dict[str, Any]] = Field(default_factory=dict)


@dataclass(frozen=True)
class MaterialsKnowledge:
    procedures: Tuple[ProcedureFile, ...]
    vocabulary: VocabularyFile
    conditions: ConditionsFile
    extraction: ExtractionFile

    def procedure_specs(self) -> List[specs.Procedure]:
        return [p.to_spec() for p in self.procedures]


class MaterialsKnowledgeError(ValueError):
    """The materials files are invalid; the message lists every problem found."""


def _read(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _resolve(entries: List[Any], shared: Dict[str, Dict[str, Any]], kind: str) -> List[Dict[str, Any]]:
    resolved = []
    for entry in entries or []:
        if isinstance(entry, dict) and "use" in entry:
            key = entry["use"]
            if key not in shared:
                raise ValueError(f"`use: {key}` - no {kind} {key!r} in common.yml")
            merged = {"id": key, **shared[key], **{k: v for k, v in entry.items() if k != "use"}}
            resolved.append(merged)
        else:
            resolved.append(entry)
    return resolved


def _check_when(where: str, when: specs.When, conditions: ConditionsFile, extra: Dict[str, set]) -> List[str]:
    problems = []
    for key, allowed in when.items():
        if key == ENTITY_TYPE_KEY:
            known = set(ENTITY_TYPES)
        elif key in extra:
            known = extra[key]
        elif key in conditions.conditions:
            known = set(conditions.conditions[key].values)
        else:
            problems.append(f"{where}: unknown condition {key!r} in `when`")
            continue
        for value in allowed:
            if value not in known:
                problems.append(f"{where}: {key}={value!r} is not one of {sorted(map(str, known))}")
    return problems


def _check_entity_types(where: str, entity_types: Tuple[str, ...]) -> List[str]:
    return [
        f"{where}: unknown entity type {e!r}" for e in entity_types if e != specs.ALL and e not in ENTITY_TYPES
    ]


def _check_procedure(
    spec: specs.Procedure, model: ProcedureFile, vocabulary: VocabularyFile, conditions: ConditionsFile
) -> List[str]:
    problems = _check_entity_types(spec.id, spec.entity_types)
    ids = set()
    for item in spec.requirements:
        where = f"{spec.id}.{item.id.rsplit('.', 1)[-1]}"
        if item.id in ids:
            problems.append(f"{where}: duplicate item id")
        ids.add(item.id)
        for material in item.satisfied_by:
            if material not in vocabulary.materials:
                problems.append(f"{where}: satisfied_by {material!r} is not a canonical name in vocabulary.yml")
        problems += _check_when(where, item.when, conditions, {})
        for variant in item.where_variants:
            problems += _check_when(f"{where} (where_variants)", variant.when, conditions, {})
        problems += _check_entity_types(where, item.entity_types)
        if item.deferrable and not item.deferrable_confirmed and "窗口" not in item.deferrable:
            problems.append(f"{where}: an unconfirmed 容缺 note must send the user to the window (请以窗口要求为准)")
    for note in spec.notes:
        problems += _check_when(f"{spec.id} note {note.id}", note.when, conditions, {})
        problems += _check_entity_types(f"{spec.id} note {note.id}", note.entity_types)
    for gap in spec.not_covered:
        problems += _check_when(f"{spec.id} not_covered", gap.when, conditions, {})
    if spec.kind == specs.SIMPLE_DEREG and spec.eligibility is None:
        problems.append(f"{spec.id}: a 简易注销 file needs its `eligibility` exclusions")
    if spec.address_check is not None:
        check = spec.address_check
        extra = {"addr_type": set(check.address_types), "addr_business": set(check.business_types)}
        for rule in check.rules:
            problems += _check_when(f"{spec.id} address rule {rule.id}", rule.when, conditions, extra)
    return problems


@lru_cache(maxsize=4)
def load_knowledge(directory: Path = MATERIALS_DIR) -> MaterialsKnowledge:
    """Read and validate every file of ``knowledge/materials``; raise MaterialsKnowledgeError listing all problems."""
    problems: List[str] = []

    def parse(model, path: Path):
        try:
            return model.parse_obj(_read(path))
        except Exception as exc:  # noqa: BLE001 - every problem is reported together
            problems.append(f"{path.name}: {exc}")
            return None

    vocabulary = parse(VocabularyFile, directory / "vocabulary.yml")
    conditions = parse(ConditionsFile, directory / "conditions.yml")
    extraction = parse(ExtractionFile, directory / "extraction.yml")
    common = parse(CommonFile, directory / "common.yml") if (directory / "common.yml").exists() else CommonFile(
        reviewed="2000-01-01"
    )
    procedures: List[ProcedureFile] = []
    for path in sorted(directory.glob("*.yml")):
        if path.name in SPECIAL_FILES:
            continue
        try:
            raw = _read(path)
            raw["materials"] = _resolve(raw.get("materials"), common.materials if common else {}, "item")
            raw["notes"] = _resolve(raw.get("notes"), common.notes if common else {}, "note")
            procedures.append(ProcedureFile.parse_obj(raw))
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{path.name}: {exc}")
    if vocabulary and conditions:
        seen: Dict[str, str] = {}
        for model in procedures:
            if model.procedure in seen:
                problems.append(f"procedure {model.procedure!r} defined twice")
            seen[model.procedure] = model.procedure
            problems += _check_procedure(model.to_spec(), model, vocabulary, conditions)
        combos: Dict[Tuple[str, str], str] = {}
        for model in procedures:
            for entity_type in model.entity_types:
                key = (model.kind, entity_type)
                if key in combos:
                    problems.append(f"{model.kind} × {entity_type} is covered by both {combos[key]} and {model.procedure}")
                combos[key] = model.procedure
    if problems:
        raise MaterialsKnowledgeError("Invalid materials knowledge:\n- " + "\n- ".join(problems))
    return MaterialsKnowledge(tuple(procedures), vocabulary, conditions, extraction)
