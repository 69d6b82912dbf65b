"""Small SVG charts drawn on the server (no script, no CDN): lines for volumes over time, horizontal bars for
counts by category. Each chart scales to its container's width (``viewBox``), carries a ``<title>`` and an
``aria-label`` for screen readers, and a ``<title>`` per point or bar as a hover tip; the table under each chart
on the page holds the same numbers. Every text is escaped."""

from __future__ import annotations

import math
from html import escape
from typing import List, Optional, Sequence, Tuple

# colours with at least 4.5:1 contrast on white (lines and text)
PALETTE = ("#0b5cad", "#b45309", "#15803d", "#7e22ce", "#b42318", "#475569")
AXIS = "#52606d"
GRID = "#e4e7eb"


def _nice_max(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^n at or above ``value`` (a round top for the axis)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10.0 * magnitude


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Tuple[str, Sequence[float]]],
    width: int = 440,
    height: int = 220,
) -> str:
    """Lines over ``labels`` (hours or days), one per ``(name, values)``; a legend above. Counts get whole-number
    ticks."""
    left, right, top, bottom = 40, 14, 34, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((max(values, default=0) for _, values in series), default=0))
    if all(float(v).is_integer() for _, values in series for v in values) and not float(top_value / 4).is_integer():
        top_value = 4 * math.ceil(top_value / 4)
    count = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * (v / top_value)

    summary = "；".join(f"{name}共{_fmt(sum(values))}" for name, values in series)
    parts: List[str] = [_open("line", width, height, f"{title}：{summary}"), f"<title>{escape(title)}</title>"]
    for k in range(5):
        value = top_value * k / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="13" fill="{AXIS}">'
            f"{_fmt(value)}</text>"
        )
    step = max(1, -(-count // 6))  # at most about six labels under the axis
    for i, label in enumerate(labels):
        if i % step == 0 or i == count - 1:
            anchor = "start" if i == 0 and count > 1 else "end" if i == count - 1 and count > 1 else "middle"
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="{anchor}" font-size="13" '
                f'fill="{AXIS}">{escape(label)}</text>'
            )
    for index, (name, values) in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline class="series" data-series="{escape(name)}" fill="none" stroke="{colour}" '
            f'stroke-width="2.5" points="{points}"/>'
        )
        for i, v in enumerate(values):
            label = labels[i] if i < len(labels) else ""
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
                f"<title>{escape(label)} {escape(name)}：{_fmt(v)}</title></circle>"
            )
        legend_x = left + index * 110
        parts.append(
            f'<rect x="{legend_x}" y="8" width="14" height="4" fill="{colour}"/>'
            f'<text x="{legend_x + 20}" y="15" font-size="13" fill="#1f2933">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    title: str,
    items: Sequence[Tuple[str, float]],
    width: int = 400,
    colour: str = PALETTE[0],
    colours: Optional[Sequence[str]] = None,
    suffix: str = "",
) -> str:
    """Horizontal bars, one per ``(label, value)``, the value written at the end of the bar."""
    label_w, right, bar_h, gap, top = 118, 52, 22, 8, 6
    height = top * 2 + max(len(items), 1) * (bar_h + gap)
    plot_w = width - label_w - right
    top_value = max((v for _, v in items), default=0) or 1
    summary = "；".join(f"{label}{_fmt(v)}{suffix}" for label, v in items) or "无数据"
    parts: List[str] = [_open("bars", width, height, f"{title}：{summary}"), f"<title>{escape(title)}</title>"]
    if not items:
        parts.append(f'<text x="{width / 2}" y="{height / 2 + 4}" text-anchor="middle" font-size="13" fill="{AXIS}">无数据</text>')
    for i, (label, value) in enumerate(items):
        y = top + i * (bar_h + gap)
        w = plot_w * value / top_value
        fill = colours[i % len(colours)] if colours else colour
        short = label if len(label) <= 8 else label[:7] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar_h - 6}" text-anchor="end" font-size="13" fill="#1f2933">'
            f"{escape(short)}<title>{escape(label)}</title></text>"
            f'<rect class="bar" x="{label_w}" y="{y}" width="{max(w, 1 if value else 0):.1f}" height="{bar_h}" '
            f'fill="{fill}"><title>{escape(label)}：{_fmt(value)}{escape(suffix)}</title></rect>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + bar_h - 6}" font-size="13" fill="#1f2933">'
            f"{_fmt(value)}{escape(suffix)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _open(kind: str, width: int, height: int, label: str) -> str:
    return (
        f'<svg class="chart {kind}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" role="img" aria-label="{escape(label)}" '
        f'font-family="sans-serif">'
    )
