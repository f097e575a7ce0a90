"""Server-rendered, accessible SVG charts for the leadership page.

Each chart is `role="img"` with a <title> and a <desc> that says every figure
in words; every bar carries its label and value as text, so nothing depends
on colour. No inline `style` attributes (the CSP allows only 'self' styles):
colours are presentation attributes (`fill=`) that app.css may override by
class, e.g. for dark mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from ideas.leadership.metrics import Funnel, ParticipationEntry, QuarterCount

#: a narrow canvas, so the text stays legible when scaled down to a phone
WIDTH = 360
VALUE_ROOM = 104
ROW = 46
BAR = 16
MAX_LABEL = 40

INK = "#1b1f24"
BAR_FILL = "#1d4ed8"
MUTED_FILL = "#57606a"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    #: the value as shown next to the bar, e.g. "12" or "40% (2 of 5)"
    text: str
    #: drawn hatched and muted: outside the main flow (declined, duplicate)
    aside: bool = False


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def _open(chart_id: str, title: str, desc: str, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{_e(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-labelledby="{_e(chart_id)}-title {_e(chart_id)}-desc" font-size="13">',
        f'<title id="{_e(chart_id)}-title">{_e(title)}</title>',
        f'<desc id="{_e(chart_id)}-desc">{_e(desc)}</desc>',
        "<defs>"
        f'<pattern id="{_e(chart_id)}-hatch" width="6" height="6" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="6" height="6" class="chart-hatch" fill="{MUTED_FILL}"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="3"/>'
        "</pattern></defs>",
    ]


def horizontal_bars(
    chart_id: str, title: str, desc: str, bars: Sequence[Bar], scale_max: float | None = None
) -> str:
    """One row per bar: the label above it, the value written after it. Bars
    are scaled to `scale_max` (e.g. 1.0 for shares), else to the largest."""
    height = max(len(bars), 1) * ROW + 4
    top = scale_max or max((b.value for b in bars), default=0) or 1
    # room for the longest value written after its bar ("100% (14 of 14)"
    # must not be clipped at the chart's edge): ~8 px a character at 13 px
    longest = max((len(b.text) for b in bars), default=0)
    span = WIDTH - max(VALUE_ROOM, 8 * longest + 10)
    parts = _open(chart_id, title, desc, height)
    for i, bar in enumerate(bars):
        y = i * ROW + 18
        bar_y = y + 6
        width = round(span * min(bar.value, top) / top, 1) if bar.value > 0 else 0
        fill = f"url(#{_e(chart_id)}-hatch)" if bar.aside else BAR_FILL
        css = "chart-bar chart-bar-aside" if bar.aside else "chart-bar"
        parts.append(
            '<g class="chart-row">'
            f'<text x="0" y="{y}" class="chart-text" fill="{INK}">{_e(_short(bar.label))}</text>'
            f'<rect x="0" y="{bar_y}" width="{width}" height="{BAR}" rx="3" '
            f'class="{css}" fill="{fill}"/>'
            f'<text x="{width + 6}" y="{bar_y + BAR - 3}" class="chart-text chart-value" '
            f'fill="{INK}" font-weight="600">{_e(bar.text)}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def vertical_bars(chart_id: str, title: str, desc: str, bars: Sequence[Bar]) -> str:
    """Columns with the value above and the label (split at a space) below."""
    plot, top_room, bottom_room = 120, 22, 40
    height = top_room + plot + bottom_room
    column = WIDTH / max(len(bars), 1)
    width = round(min(40, column * 0.6), 1)
    top = max((b.value for b in bars), default=0) or 1
    base = top_room + plot
    parts = _open(chart_id, title, desc, height)
    parts.append(
        f'<line x1="0" y1="{base}" x2="{WIDTH}" y2="{base}" class="chart-axis" '
        f'stroke="{MUTED_FILL}" stroke-width="1"/>'
    )
    for i, bar in enumerate(bars):
        centre = round(column * i + column / 2, 1)
        h = round(plot * bar.value / top, 1) if bar.value > 0 else 0
        first, _, second = bar.label.partition(" ")
        parts.append(
            '<g class="chart-col">'
            f'<rect x="{round(centre - width / 2, 1)}" y="{round(base - h, 1)}" width="{width}" '
            f'height="{h}" rx="3" class="chart-bar" fill="{BAR_FILL}"/>'
            f'<text x="{centre}" y="{round(base - h - 8, 1)}" text-anchor="middle" '
            f'class="chart-text chart-value" fill="{INK}" font-weight="600">{_e(bar.text)}</text>'
            f'<text x="{centre}" y="{base + 17}" text-anchor="middle" class="chart-text" '
            f'fill="{INK}">{_e(first)}</text>'
            f'<text x="{centre}" y="{base + 34}" text-anchor="middle" class="chart-text" '
            f'fill="{INK}">{_e(second)}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _percent(share: float) -> str:
    return f"{round(share * 100)}%"


FUNNEL_STEPS = (
    ("submitted", "Submitted", False),
    ("triaged", "Triaged", False),
    ("accepted", "Accepted", False),
    ("shipped", "Shipped", False),
    ("declined", "Declined", True),
    ("duplicate", "Duplicate", True),
)


def funnel_chart(funnel: Funnel, period_name: str, chart_id: str = "chart-funnel") -> str:
    bars = [
        Bar(label, getattr(funnel, key), str(getattr(funnel, key)), aside)
        for key, label, aside in FUNNEL_STEPS
    ]
    desc = (
        f"Of {funnel.submitted} ideas submitted ({period_name}): "
        + ", ".join(f"{b.label.lower()} {b.text}" for b in bars[1:])
        + ". Declined and duplicate are drawn hatched: they left the funnel."
    )
    return horizontal_bars(chart_id, f"Idea funnel, {period_name}", desc, bars)


def quarters_chart(items: Sequence[QuarterCount], chart_id: str = "chart-quarters") -> str:
    bars = [Bar(q.quarter.replace("-", " "), q.shipped, str(q.shipped)) for q in items]
    span = f"{items[0].quarter} to {items[-1].quarter}" if items else "no quarters"
    desc = f"Ideas shipped per quarter, {span}: " + ", ".join(
        f"{q.quarter} {q.shipped}" for q in items
    )
    return vertical_bars(chart_id, "Ideas shipped per quarter", desc + ".", bars)


def participation_chart(
    items: Sequence[ParticipationEntry],
    period_name: str,
    k: int,
    chart_id: str = "chart-participation",
) -> str:
    bars = [
        Bar(e.name, e.share, f"{_percent(e.share)} ({e.participants} of {e.people})") for e in items
    ]
    if items:
        desc = (
            f"Share of each department's active people who submitted or voted ({period_name}): "
            + "; ".join(f"{b.label} {b.text}" for b in bars)
            + f". Departments with fewer than {k} people are not shown on their own."
        )
    else:
        desc = f"No department has {k} or more active people to show."
    title = f"Participation by department, {period_name}"
    return horizontal_bars(chart_id, title, desc, bars, scale_max=1.0)
