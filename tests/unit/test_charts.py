"""The server-drawn SVG charts (core/charts.py): well-formed, escaped, scaled to the data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from core.charts import bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_a_line_chart_has_one_line_per_series_and_a_point_per_label():
    svg = line_chart("量", ["11-28", "11-29", "11-30"], [("会话", [1, 5, 2]), ("消息", [3, 10, 4])])
    root = ET.fromstring(svg)
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 2 and len(root.findall(f"{SVG}circle")) == 6
    assert root.get("role") == "img" and "会话共8" in root.get("aria-label")
    ticks = [t.text for t in root.findall(f"{SVG}text")]
    assert "12" in ticks and "2.5" not in ticks  # whole-number ticks for counts, the top rounded up
    top, peak = (float(v.split(",")[1]) for v in (lines[1].get("points").split()[0], lines[1].get("points").split()[1]))
    assert peak < top  # higher values are drawn higher


def test_bars_are_proportional_and_text_is_escaped():
    svg = bar_chart("主题", [("<script>alert(1)</script>", 10), ("住所申报", 5), ("空", 0)])
    root = ET.fromstring(svg)  # parses: nothing unescaped
    bars = root.findall(f"{SVG}rect")
    widths = [float(b.get("width")) for b in bars]
    assert widths[0] == 2 * widths[1] and widths[2] == 0
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    empty = ET.fromstring(bar_chart("评价", []))
    assert "无数据" in "".join(empty.itertext())
