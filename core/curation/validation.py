"""The fields staff edit, their Chinese labels, and the checks an entry must pass.

The rules are those of ``core.knowledge.schema`` (the seed files' schema): a source, a rule date, a review
date, an answer of 10–1800 characters with no 〔待确认〕 in it. Each problem is reported per field, in Chinese, so
the console and the API can show it next to the field. A draft may still lack its answer, source and dates; it
must be complete to be published.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any, Dict, List, Mapping, Optional, Tuple

from pydantic import ValidationError

from core.catalogue import labels, message
from core.knowledge.models import STATUS_DRAFT, STATUS_PUBLISHED, STATUS_RETIRED
from core.knowledge.schema import (
    ID_PATTERN,
    MAX_ANSWER,
    MAX_PARAPHRASE,
    MAX_PARAPHRASES,
    MAX_QUESTION,
    MAX_SOURCE,
    MAX_SOURCE_URL,
    MAX_TO_CONFIRM,
    MIN_ANSWER,
    MIN_QUESTION,
    MIN_SOURCE,
    UNCONFIRMED_MARK,
    Entry,
    date_problem,
    source_url_ok,
)

STATUSES = (STATUS_DRAFT, STATUS_PUBLISHED, STATUS_RETIRED)
STATUS_LABELS = labels("entry_status")

# fields staff edit (console form, API, spreadsheet), in display order
EDITABLE = ("topic_id", "question", "paraphrases", "answer", "to_confirm", "source", "source_url", "rule_date", "reviewed")
# fields a version keeps: the editable ones, the status, and what ties a seed entry to the NLU
SNAPSHOT_FIELDS = EDITABLE + ("status", "intent", "entity_types", "buttons")
# may be empty in a draft, required to publish
REQUIRED_TO_PUBLISH = ("answer", "source", "rule_date", "reviewed")

LABELS = labels("entry_fields")  # knowledge/console.yml

_CONTROL = {"Cc", "Cf", "Cs", "Co"}


def clean_text(value: Any, multiline: bool = True) -> str:
    """``value`` as text: control characters removed (newlines kept in multi-line fields), ends trimmed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (datetime, date)):
        value = value.strftime("%Y-%m-%d")
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    kept = []
    for char in text:
        if char == "\n" and multiline:
            kept.append(char)
        elif char in "\n\t":
            kept.append(" ")
        elif unicodedata.category(char) not in _CONTROL or char == "\u200d":  # keep the emoji joiner
            kept.append(char)
    return "".join(kept).strip()


def clean_list(value: Any) -> List[str]:
    """Paraphrases from a list, or from text with one per line (also ``|`` or ``；`` between them)."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else re.split(r"\n|\s*\|\s*|；", clean_text(value))
    result: List[str] = []
    for item in items:
        text = clean_text(item, multiline=False)
        if text and text not in result:
            result.append(text)
    return result


def normalise(raw: Mapping[str, Any]) -> Dict[str, Any]:
    """The known fields of ``raw`` as clean values (text trimmed, paraphrases a list, dates as text)."""
    data: Dict[str, Any] = {}
    if "topic" in raw and "topic_id" not in raw:
        raw = {**raw, "topic_id": raw["topic"]}
    for key in EDITABLE:
        if key not in raw:
            continue
        if key == "paraphrases":
            data[key] = clean_list(raw[key])
        elif key in ("answer", "to_confirm"):
            data[key] = clean_text(raw[key])
        else:
            data[key] = clean_text(raw[key], multiline=False)
    if "status" in raw:
        data["status"] = clean_text(raw["status"], multiline=False).lower()
    return data


def _say(name: str, **values: Any) -> str:
    return message(f"entry.{name}", **values)


def _check_date(value: str, full: bool) -> Optional[str]:
    problem = date_problem(value, full)
    if problem == "format":
        return _say("full_date_format" if full else "date_format")
    return _say("no_such_date") if problem else None


def problems(data: Mapping[str, Any], publish: bool) -> Dict[str, str]:
    """Per-field problems (Chinese) of a complete entry ``data``; ``publish``: must it be complete?"""
    errors: Dict[str, str] = {}
    status = data.get("status") or STATUS_DRAFT
    if status not in STATUSES:
        errors["status"] = _say("statuses")
    question = data.get("question") or ""
    if not question:
        errors["question"] = _say("question_needed")
    elif len(question) < MIN_QUESTION:
        errors["question"] = _say("question_short", min=MIN_QUESTION)
    elif len(question) > MAX_QUESTION:
        errors["question"] = _say("question_long", max=MAX_QUESTION, now=len(question))
    paraphrases = data.get("paraphrases") or []
    if len(paraphrases) > MAX_PARAPHRASES:
        errors["paraphrases"] = _say("paraphrases_many", max=MAX_PARAPHRASES, now=len(paraphrases))
    else:
        too_long = [p for p in paraphrases if len(p) > MAX_PARAPHRASE]
        if too_long:
            errors["paraphrases"] = _say("paraphrase_long", max=MAX_PARAPHRASE, start=too_long[0][:20])
    answer = data.get("answer") or ""
    if UNCONFIRMED_MARK in answer:
        errors["answer"] = _say("answer_unconfirmed")
    elif len(answer) > MAX_ANSWER:
        errors["answer"] = _say("answer_long", max=MAX_ANSWER, now=len(answer))
    elif answer and len(answer) < MIN_ANSWER:
        errors["answer"] = _say("answer_short", min=MIN_ANSWER)
    if len(data.get("to_confirm") or "") > MAX_TO_CONFIRM:
        errors["to_confirm"] = _say("to_confirm_long", max=MAX_TO_CONFIRM)
    source = data.get("source") or ""
    if len(source) > MAX_SOURCE:
        errors["source"] = _say("source_long", max=MAX_SOURCE)
    elif source and len(source) < MIN_SOURCE:
        errors["source"] = _say("source_short", min=MIN_SOURCE)
    source_url = data.get("source_url") or ""
    if source_url and not source_url_ok(source_url):
        errors["source_url"] = _say("source_url", max=MAX_SOURCE_URL)
    for key, full in (("rule_date", False), ("reviewed", True)):
        value = data.get(key) or ""
        if value:
            problem = _check_date(value, full)
            if problem:
                errors[key] = f"{LABELS[key]}{problem}"
    if publish:
        for key in REQUIRED_TO_PUBLISH:
            if not data.get(key):
                errors.setdefault(key, _say(f"publish_needs_{key}"))
        if not errors:
            errors.update(_schema_problems(data))
    return errors


def _schema_problems(data: Mapping[str, Any]) -> Dict[str, str]:
    """The seed files' schema as the final word, for anything the checks above let through."""
    try:
        Entry(
            id=data.get("id") or "staff.check",
            intent=data.get("intent"),
            entity_types=list(data.get("entity_types") or ["all"]),
            question=data.get("question") or "",
            paraphrases=list(data.get("paraphrases") or []),
            answer=data.get("answer") or "",
            to_confirm=data.get("to_confirm") or None,
            buttons=list(data.get("buttons") or []),
            source=data.get("source") or "",
            source_url=data.get("source_url") or None,
            rule_date=data.get("rule_date") or "",
            reviewed=data.get("reviewed") or "",
        )
    except ValidationError as exc:
        errors: Dict[str, str] = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error.get("loc") else "answer"
            errors.setdefault(field, _say("schema", field=LABELS.get(field, field), problem=error["msg"]))
        return errors
    return {}


def check_id(entry_id: str) -> Optional[str]:
    if not ID_PATTERN.match(entry_id or ""):
        return _say("bad_id")
    return None


def describe_errors(errors: Mapping[str, str]) -> List[Tuple[str, str]]:
    """(label, message) pairs in field order, for a list on a page or in a spreadsheet report."""
    order = {name: i for i, name in enumerate(("id",) + SNAPSHOT_FIELDS + ("version",))}
    return [(LABELS.get(k, k), v) for k, v in sorted(errors.items(), key=lambda kv: order.get(kv[0], 99))]
