"""scripts/realq_report.py: choosing a split, so tuning asks only the development items, and the figures-only
report that names no held-out item."""

from __future__ import annotations

import pytest

from scripts.realq_report import format_report, grade, select

ITEMS = [
    {"id": "d1", "question": "开公司要什么材料", "kind": "in_scope", "expect": "answer", "must": [["身份证"]], "split": "dev"},
    {"id": "h1", "question": "年报什么时候报", "kind": "in_scope", "expect": "answer", "must": [["6月30日"]]},
    {"id": "h2", "question": "今天天气怎么样", "kind": "out_of_scope", "expect": "defer"},
]


def test_select_by_split():
    assert [i["id"] for i in select(ITEMS, "dev")] == ["d1"]
    assert [i["id"] for i in select(ITEMS, "heldout")] == ["h1", "h2"]
    assert len(select(ITEMS, "all")) == 3
    with pytest.raises(ValueError):
        select(ITEMS, "train")


def _report():
    rows = []
    for item, reply in zip(ITEMS, ["要身份证 📖 来源：x", "每年报 📖 来源：x", "今天天气 📖 来源：x"], strict=True):
        row = {**item, "split": "dev" if item.get("split") == "dev" else "heldout", "reply": reply}
        row.update(grade(item, reply, ["📖 来源："]))
        rows.append(row)
    from scripts.realq_report import _summary

    return {
        "heldout": _summary([r for r in rows if r["split"] == "heldout"]),
        "dev": _summary([r for r in rows if r["split"] == "dev"]),
        "items": rows,
    }


def test_figures_only_names_no_item():
    text = format_report(_report(), "heldout", items=False)
    assert "held-out" in text and "wrong   2" in text
    assert "h1" not in text and "年报" not in text and "development" not in text


def test_dev_split_shows_only_dev_items():
    text = format_report(_report(), "dev")
    assert "development" in text and "held-out" not in text and "h2" not in text
