"""Bar charts as inline SVG, drawn on the server: no JavaScript, no chart library,
and the numbers stay readable in a table beside each chart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

WIDTH = 600
HEIGHT = 180
LEFT = 36  # room for the axis labels
BOTTOM = 22
TOP = 10  # room for the top label's upper half


def _nice_top(value: int) -> int:
    """The axis' top: the smallest of 1, 2, 5 x 10^n at or above ``value``."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def bar_chart(title: str, days: Sequence[date], values: Sequence[int], css_class: str) -> Markup:
    """One bar per day, the newest on the right; ``title`` names it for screen readers."""
    top = _nice_top(max(values, default=0))
    plot_w = WIDTH - LEFT
    plot_h = HEIGHT - BOTTOM - TOP
    slot = plot_w / max(len(values), 1)
    parts = [
        f'<svg class="chart {escape(css_class)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h - fraction * plot_h
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{top * fraction:g}</text>"
        )
    for index, (day, value) in enumerate(zip(days, values, strict=True)):
        height = plot_h * value / top
        x = LEFT + index * slot + slot * 0.15
        y = TOP + plot_h - height
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{height:.1f}"><title>{day.isoformat()}: {value}</title></rect>'
        )
        last = len(values) - 1
        # A date every week, and the last day's (the weekly one too close to it is left out).
        if (index % 7 == 0 and last - index >= 4) or index == last:
            anchor = "end" if index == last else "middle"  # the last stays inside
            label_x = WIDTH if index == last else x + slot * 0.35
            parts.append(
                f'<text class="axis" x="{label_x:.1f}" y="{HEIGHT - 6}" '
                f'text-anchor="{anchor}">{day.strftime("%d.%m")}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value in it is escaped or a number
