"""Turning checklists and verdicts into phone-sized messages.

Every sentence comes from a domain response (bot/domain/materials.yml) or the knowledge files; this module only
chooses them, fills in their variables and cuts the result into messages of at most ~600 characters.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping

from core.materials.comparison import DEPENDS, WINDOW, Checklist, ItemStatus, keys_in_use
from core.materials.eligibility import DeregVerdict
from core.materials.specs import UNSURE, AddressCheck, AddressRule, Eligibility
from core.messages import MAX_REPLY_CHARS, response_text, split_message

Labels = Mapping[str, Mapping[Any, str]]
WINDOW_PHRASE = "请以窗口要求为准"


def _r(domain: Dict[str, Any], name: str, **values: Any) -> str:
    return response_text(domain, name, **values)


def situation(checklist: Checklist, labels: Labels) -> str:
    """"租用场地 · 个人经营 · 餐饮" for the answered conditions that matter to this procedure."""
    used = keys_in_use(checklist.procedure)
    parts = []
    for key, value in checklist.conditions.items():
        if key in used and value is not None and value != UNSURE and key in labels:
            label = labels[key].get(value)
            if label:
                parts.append(label)
    return " · ".join(parts)


def _item_line(domain: Dict[str, Any], status: ItemStatus) -> str:
    req = status.requirement
    source = dict(source=req.sourced.source, rule_date=req.sourced.rule_date)
    if status.state == "have":
        return _r(domain, "utter_materials_item_have", item=req.name, held="、".join(status.held_as))
    if status.state == "missing":
        if status.because:
            return _r(domain, "utter_materials_item_because", item=req.name, because=status.because, where=status.where, **source)
        return _r(domain, "utter_materials_item_missing", item=req.name, where=status.where, **source)
    if status.state == "later":
        return _r(domain, "utter_materials_item_later", item=req.name, deferrable=req.deferrable, where=status.where, **source)
    if status.state == WINDOW:
        if status.condition:
            return _r(domain, "utter_materials_item_window_if", item=req.name, condition=status.condition)
        return _r(domain, "utter_materials_item_window", item=req.name)
    if status.state == DEPENDS:
        return _r(domain, "utter_materials_item_depends", item=req.name, condition=status.condition or "")
    return _r(domain, "utter_materials_item_plain", item=req.name)


def _note_line(domain: Dict[str, Any], note) -> str:  # noqa: ANN001
    text = note.text
    if not note.confirmed and WINDOW_PHRASE not in text:
        text = _r(domain, "utter_materials_unconfirmed", text=text)
    return _r(domain, "utter_materials_note", text=text, source=note.sourced.source)


def _section(domain: Dict[str, Any], title: str, lines: Iterable[str]) -> str | None:
    lines = list(lines)
    return "\n".join([_r(domain, title), *lines]) if lines else None


def checklist_text(domain: Dict[str, Any], checklist: Checklist, labels: Labels, names: Mapping[str, str]) -> str:
    procedure = checklist.procedure
    if checklist.entity_type and procedure.needs_entity_type and checklist.entity_type not in procedure.title:
        title = _r(domain, "utter_materials_title", title=procedure.title, entity_type=checklist.entity_type)
    else:
        title = _r(domain, "utter_materials_title_plain", title=procedure.title)
    blocks: List[str | None] = [title]
    where_we_are = situation(checklist, labels)
    if where_we_are:
        blocks.append(_r(domain, "utter_materials_situation", labels=where_we_are))
    blocks.append(_section(domain, "utter_materials_have", (_item_line(domain, i) for i in checklist.have)))
    missing = _section(domain, "utter_materials_missing", (_item_line(domain, i) for i in checklist.missing))
    blocks.append(missing or (None if not checklist.items else _r(domain, "utter_materials_none_missing")))
    blocks.append(_section(domain, "utter_materials_later", (_item_line(domain, i) for i in checklist.later)))
    blocks.append(_section(domain, "utter_materials_depends", (_item_line(domain, i) for i in checklist.depends)))
    blocks.append(_section(domain, "utter_materials_notes", (_note_line(domain, n) for n in checklist.notes)))
    if checklist.extra_held:
        extra = "、".join(names.get(m, m) for m in checklist.extra_held)
        blocks.append(_r(domain, "utter_materials_extra", materials=extra))
    reviewed = max((r.sourced.reviewed for r in procedure.requirements), default="")
    blocks.append(_r(domain, "utter_materials_footer", reviewed=reviewed))
    return "\n\n".join(b for b in blocks if b)


def pack(blocks: Iterable[str], limit: int = MAX_REPLY_CHARS) -> List[str]:
    """Messages of at most ``limit`` characters, keeping each block (a section) whole where it fits."""
    messages: List[str] = []
    current = ""
    for block in blocks:
        for part in split_message(block, limit) if len(block) > limit else [block]:
            candidate = f"{current}\n\n{part}" if current else part
            if len(candidate) <= limit:
                current = candidate
            else:
                messages.append(current)
                current = part
    if current:
        messages.append(current)
    return messages


def checklist_messages(domain: Dict[str, Any], checklist: Checklist, labels: Labels, names: Mapping[str, str]) -> List[str]:
    """The checklist in messages of at most ~600 characters (or the 'not covered' reply)."""
    if checklist.not_covered:
        return [_r(domain, "utter_materials_not_covered", what=checklist.not_covered)]
    return pack(checklist_text(domain, checklist, labels, names).split("\n\n"))


# --- verdicts ----------------------------------------------------------------------------------------------------


def dereg_verdict_messages(
    domain: Dict[str, Any], eligibility: Eligibility, verdict: DeregVerdict, title: str
) -> List[str]:
    blocks: List[str] = []
    source = _r(
        domain,
        "utter_check_source",
        source=eligibility.sourced.source,
        rule_date=eligibility.sourced.rule_date,
        reviewed=eligibility.sourced.reviewed,
    )
    if verdict.blockers:
        lines = [
            _r(
                domain,
                "utter_simple_dereg_blocker",
                reason=e.reason if e.confirmed else _r(domain, "utter_materials_unconfirmed", text=e.reason),
                way_forward=e.way_forward,
                source=e.sourced.source,
            )
            for e in verdict.blockers
        ]
        blocks.append("\n".join([_r(domain, "utter_simple_dereg_not_eligible", title=title), *lines]))
    elif verdict.eligible:
        blocks.append(_r(domain, "utter_simple_dereg_eligible", text=eligibility.eligible_text))
        blocks.append(source)
        if eligibility.to_confirm:
            blocks.append(_r(domain, "utter_materials_unconfirmed", text=eligibility.to_confirm))
        blocks.append(_r(domain, "utter_simple_dereg_next"))
    if verdict.unsure:
        blocks.append(_r(domain, "utter_simple_dereg_unsure", labels="、".join(e.label for e in verdict.unsure)))
    if verdict.blockers:
        blocks.append(_r(domain, "utter_simple_dereg_after_blockers"))
    return pack(blocks)


def address_verdict_messages(
    domain: Dict[str, Any], check: AddressCheck, rule: AddressRule, facts: Mapping[str, Any]
) -> List[str]:
    blocks = []
    described = [check.address_types.get(facts.get("addr_type"), ""), check.business_types.get(facts.get("addr_business"), "")]
    blocks.append(_r(domain, "utter_address_situation", situation="；".join(d for d in described if d)))
    reason = rule.reason
    if not rule.confirmed and WINDOW_PHRASE not in reason:
        reason = _r(domain, "utter_materials_unconfirmed", text=reason)
    blocks.append(_r(domain, f"utter_address_{rule.verdict}", reason=reason))
    if rule.provide:
        blocks.append(_r(domain, "utter_address_provide", items="\n".join(_r(domain, "utter_address_item", item=p) for p in rule.provide)))
    if rule.promise:
        blocks.append(_r(domain, "utter_address_promise", items="\n".join(_r(domain, "utter_address_item", item=p) for p in rule.promise)))
    blocks.append(
        _r(
            domain,
            "utter_check_source",
            source=rule.sourced.source,
            rule_date=rule.sourced.rule_date,
            reviewed=rule.sourced.reviewed,
        )
    )
    return pack(blocks)
