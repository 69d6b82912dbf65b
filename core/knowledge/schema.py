"""Schema of the curated knowledge files in ``knowledge/answers/``.

Every entry carries its answer in the project's own words, its source, the date of the rule and the date it was
last reviewed. ``make test`` (tests/unit/test_knowledge_schema.py) fails on an invalid or unsourced entry.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional

import yaml
from pydantic import BaseModel, Extra, Field, root_validator, validator

ENTITY_TYPES = (
    "有限责任公司",
    "一人有限责任公司",
    "股份有限公司",
    "个人独资企业",
    "合伙企业",
    "个体工商户",
    "分公司",
)
ALL = "all"
FOLLOWUP_KINDS = ("duration", "materials", "fee", "where", "process")

# The rules of an entry, in one place: the seed files' models below apply them, and so do the console's per-field
# checks (core/curation/validation.py, which reports them in Chinese next to each field).
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_.]{0,79}$")  # lower-case ascii, _ and ., at most 80 characters
DATE_PATTERN = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")  # YYYY, YYYY-MM or YYYY-MM-DD
URL_PATTERN = re.compile(r"^(https?://\S+|seed: \S.*)$")  # a web address, or the seed file an entry came from
MIN_QUESTION, MAX_QUESTION = 2, 200
MAX_PARAPHRASE, MAX_PARAPHRASES = 200, 50
MIN_ANSWER, MAX_ANSWER = 10, 1800
MAX_TO_CONFIRM = 600
MIN_SOURCE, MAX_SOURCE = 4, 300
MAX_SOURCE_URL = 500
UNCONFIRMED_MARK = "待确认"  # never in an answer: points not confirmed by an official source go to to_confirm


def date_problem(value: str, full: bool) -> Optional[str]:
    """None for a valid date (``full``: YYYY-MM-DD only); "format" or "invalid" (no such day) otherwise."""
    if not DATE_PATTERN.match(value) or (full and len(value) != 10):
        return "format"
    try:
        datetime.strptime(value, {4: "%Y", 7: "%Y-%m", 10: "%Y-%m-%d"}[len(value)])
    except ValueError:
        return "invalid"
    return None


def source_url_ok(value: str) -> bool:
    return len(value) <= MAX_SOURCE_URL and bool(URL_PATTERN.match(value))


class Button(BaseModel, extra=Extra.forbid):
    title: str = Field(..., min_length=1, max_length=30)
    payload: str = Field(..., regex=r"^/[a-z_]+(\{.*\})?$")


class Sourced(BaseModel):
    source: str = Field(..., min_length=MIN_SOURCE, max_length=MAX_SOURCE, description="document and article, or a URL")
    source_url: Optional[str] = None
    rule_date: str = Field(..., description="date of the rule: YYYY, YYYY-MM or YYYY-MM-DD")
    reviewed: str = Field(..., description="date this entry was last reviewed: YYYY-MM-DD")

    @validator("rule_date", "reviewed", pre=True)
    def _date_text(cls, value, field):  # noqa: N805
        text = str(value).strip()
        problem = date_problem(text, full=field.name == "reviewed")
        if problem == "format":
            raise ValueError(
                "reviewed must be a full date YYYY-MM-DD" if field.name == "reviewed"
                else f"not a date (YYYY, YYYY-MM or YYYY-MM-DD): {value!r}"
            )
        if problem:
            raise ValueError(f"no such date: {value!r}")
        return text

    @validator("source_url")
    def _url(cls, value):  # noqa: N805
        if value is not None and not source_url_ok(value):
            raise ValueError(f"source_url must be an http(s) URL or 'seed: <file>' (at most {MAX_SOURCE_URL}): {value!r}")
        return value


class Entry(Sourced, extra=Extra.forbid):
    id: str
    intent: Optional[str] = Field(None, description="NLU intent answered by this entry; none for FAQ-only entries")
    entity_types: List[str] = Field(default_factory=lambda: [ALL])
    question: str = Field(..., min_length=MIN_QUESTION, max_length=MAX_QUESTION)
    paraphrases: List[str] = Field(default_factory=list, max_items=MAX_PARAPHRASES)
    answer: str = Field(..., min_length=MIN_ANSWER, max_length=MAX_ANSWER)
    to_confirm: Optional[str] = Field(
        None,
        max_length=MAX_TO_CONFIRM,
        description="points not confirmed by an official source (〔待确认〕): shown as 'confirm at the window'",
    )
    buttons: List[Button] = Field(default_factory=list)

    @validator("id")
    def _id(cls, value):  # noqa: N805
        if not ID_PATTERN.match(value):
            raise ValueError(f"id must be lower-case ascii with _ or ., at most 80 characters: {value!r}")
        return value

    @validator("paraphrases", each_item=True)
    def _paraphrase(cls, value):  # noqa: N805
        if len(value) > MAX_PARAPHRASE:
            raise ValueError(f"a paraphrase has at most {MAX_PARAPHRASE} characters: {value[:20]!r}…")
        return value

    @validator("entity_types", each_item=True)
    def _entity_type(cls, value):  # noqa: N805
        if value != ALL and value not in ENTITY_TYPES:
            raise ValueError(f"unknown entity type {value!r}; use one of {ENTITY_TYPES} or 'all'")
        return value

    @validator("answer")
    def _no_uncertain_marker(cls, value):  # noqa: N805
        if UNCONFIRMED_MARK in value:
            raise ValueError("put unconfirmed points in to_confirm, not in the answer text")
        return value.strip()


class TopicFile(BaseModel, extra=Extra.forbid):
    topic: str
    title: str
    followups: Dict[str, str] = Field(
        default_factory=dict,
        description="short follow-up questions (要多久/要什么材料…) → intent answered; a key 'kind@intent' "
        "applies only right after that intent was answered (e.g. duration@general_dereg_process)",
    )
    entries: List[Entry]

    @validator("followups")
    def _followup_kinds(cls, value):  # noqa: N805
        unknown = {key for key in value if key.partition("@")[0] not in FOLLOWUP_KINDS}
        if unknown:
            raise ValueError(f"unknown follow-up kinds {sorted(unknown)}; use {FOLLOWUP_KINDS}")
        return value

    @root_validator(skip_on_failure=True)
    def _followups_point_to_entries(cls, values):  # noqa: N805
        intents = {e.intent for e in values["entries"] if e.intent}
        for kind, intent in values["followups"].items():
            if intent not in intents:
                raise ValueError(f"followup {kind!r} points to intent {intent!r} that has no entry in this topic")
            after = kind.partition("@")[2]
            if after and after not in intents:
                raise ValueError(f"followup {kind!r} names intent {after!r} that has no entry in this topic")
        return values


class KnowledgeError(ValueError):
    """The knowledge files are invalid; the message says which file and entry."""


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10× faster on the 0.5 MB of knowledge files


@lru_cache(maxsize=256)
def _parsed(path: str, _mtime_ns: int, _size: int) -> object:
    """The YAML of one file, parsed once per version of the file (each process and test loads the same files
    many times: the loader, the search index, the curation seeders)."""
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - a safe loader


def read_yaml(path: Path) -> object:
    stat = path.stat()
    return copy.deepcopy(_parsed(str(path), stat.st_mtime_ns, stat.st_size))


def load_topic_files(directory: Path) -> List[TopicFile]:
    """Read and validate every ``*.yml`` in ``directory``; raise KnowledgeError listing every problem found."""
    topics: List[TopicFile] = []
    problems: List[str] = []
    for path in sorted(directory.glob("*.yml")):
        try:
            raw = read_yaml(path)
            topic = TopicFile.parse_obj(raw)
            if topic.topic != path.stem:
                raise ValueError(f"the file of topic {topic.topic!r} must be named {topic.topic}.yml")
            topics.append(topic)
        except Exception as exc:  # noqa: BLE001 - every problem is reported together
            problems.append(f"{path.name}: {exc}")
    seen: Dict[str, str] = {}
    variants: Dict[tuple, str] = {}
    for topic in topics:
        for entry in topic.entries:
            if entry.id in seen:
                problems.append(f"{topic.topic}: duplicate entry id {entry.id!r} (also in {seen[entry.id]})")
            seen[entry.id] = topic.topic
            if entry.intent:
                for entity_type in entry.entity_types:
                    key = (entry.intent, entity_type)
                    if key in variants:
                        problems.append(
                            f"{topic.topic}: intent {entry.intent!r} for {entity_type!r} answered by both "
                            f"{variants[key]!r} and {entry.id!r}"
                        )
                    variants[key] = entry.id
    if problems:
        raise KnowledgeError("Invalid knowledge files:\n- " + "\n- ".join(problems))
    return topics
