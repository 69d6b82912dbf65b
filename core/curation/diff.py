"""Readable differences between two versions of an entry (difflib).

For each field that changed: its label, the old and new value, and the text split into kept / removed / added
pieces (by character for a sentence, by line for a list of paraphrases), which the console shows with
strike-through and highlight; ``unified`` gives the same as plain text for the API and logs.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from core.curation.validation import LABELS, SNAPSHOT_FIELDS, STATUS_LABELS


def snapshot(row: Any) -> Dict[str, Any]:
    """The versioned fields of an entry (a ``KnowledgeEntry`` or a mapping), as plain JSON values."""
    get = row.get if isinstance(row, Mapping) else lambda key, default=None: getattr(row, key, default)
    data: Dict[str, Any] = {}
    for key in SNAPSHOT_FIELDS:
        value = get(key, None)
        if key in ("paraphrases", "entity_types", "buttons"):
            value = [dict(v) if isinstance(v, Mapping) else v for v in (value or [])]
        else:  # text: empty and missing are the same
            value = "" if value is None else str(value)
        data[key] = value
    if not data.get("entity_types"):
        data["entity_types"] = ["all"]
    return data


def as_text(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "status":
        return STATUS_LABELS.get(value, str(value))
    if key == "buttons":
        return "\n".join(f"{b.get('title', '')} → {b.get('payload', '')}" for b in value)
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


@dataclass
class FieldChange:
    field: str
    label: str
    before: str
    after: str
    # (kind, text) with kind "same", "removed" or "added"
    pieces: List[Tuple[str, str]] = field(default_factory=list)


# kept text shorter than this between two changes is shown as part of the change (reads better in Chinese)
SHORT_KEPT = 3
# below this similarity a text is shown as replaced as a whole
MIN_RATIO = 0.35


def _pieces(before: str, after: str, by_line: bool) -> List[Tuple[str, str]]:
    a: Any = before.split("\n") if by_line else before
    b: Any = after.split("\n") if by_line else after
    glue = "\n" if by_line else ""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if not by_line and matcher.ratio() < MIN_RATIO:
        return [(kind, text) for kind, text in (("removed", before), ("added", after)) if text]
    ops = matcher.get_opcodes()
    pieces: List[Tuple[str, str]] = []
    removed: List[str] = []
    added: List[str] = []

    def flush() -> None:
        if removed:
            pieces.append(("removed", glue.join(removed)))
        if added:
            pieces.append(("added", glue.join(added)))
        removed.clear()
        added.clear()

    for i, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag == "equal":
            kept = a[i1:i2]
            between_changes = (removed or added) and i + 1 < len(ops)
            if not by_line and between_changes and len(kept) < SHORT_KEPT:
                removed.append(glue.join(kept))
                added.append(glue.join(b[j1:j2]))
                continue
            flush()
            pieces.append(("same", glue.join(kept)))
            continue
        removed.extend(a[i1:i2])
        added.extend(b[j1:j2])
    flush()
    if by_line:  # one piece per line group, shown on its own line
        return [(kind, text + "\n") for kind, text in pieces]
    return pieces


def changes(old: Optional[Mapping[str, Any]], new: Mapping[str, Any]) -> List[FieldChange]:
    """The fields that differ between two snapshots (``old`` None: everything in ``new`` is added)."""
    result: List[FieldChange] = []
    for key in SNAPSHOT_FIELDS:
        before = as_text(key, (old or {}).get(key))
        after = as_text(key, new.get(key))
        if before == after:
            continue
        by_line = key in ("paraphrases", "buttons", "entity_types") or "\n" in before or "\n" in after
        result.append(FieldChange(key, LABELS.get(key, key), before, after, _pieces(before, after, by_line)))
    return result


def changed_labels(old: Optional[Mapping[str, Any]], new: Mapping[str, Any]) -> List[str]:
    return [c.label for c in changes(old, new)]


def unified(old: Optional[Mapping[str, Any]], new: Mapping[str, Any], old_name: str = "旧版本", new_name: str = "新版本") -> str:
    """A unified diff of the two snapshots, one ``label: value`` block per field."""

    def lines(data: Optional[Mapping[str, Any]]) -> List[str]:
        out: List[str] = []
        for key in SNAPSHOT_FIELDS:
            text = as_text(key, (data or {}).get(key))
            for i, line in enumerate(text.split("\n") if text else [""]):
                out.append(f"{LABELS.get(key, key) if i == 0 else '  '}: {line}")
        return out

    return "\n".join(difflib.unified_diff(lines(old), lines(new), old_name, new_name, n=0, lineterm=""))
