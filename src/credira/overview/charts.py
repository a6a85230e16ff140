"""Charts drawn on the server as SVG: pure functions from figures to markup, no script.

Each chart is an ``<svg role="img">`` named by its ``<title>`` and described by its ``<desc>``
(which states the figures in words), each bar or point carries its own ``<title>`` (the
browser shows it on hover), and ``table`` gives the same figures as a data table for those who
would rather read them, or cannot see the picture. Colours keep at least 3:1 contrast against
white (WCAG 1.4.11) and the series are told apart by position and legend too, not colour alone.
Every text that reaches the markup is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from markupsafe import Markup, escape

Number = int | float | Decimal

# Okabe-Ito hues darkened to 3:1 or more against white.
PALETTE = ("#0b5fa5", "#b34700", "#1b7f4b", "#7a4fa3", "#8a6d00", "#5c5c5c", "#a1245e")
TEXT = "#222222"
GRID = "#d0d0d0"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Number]


@dataclass(frozen=True)
class Point:
    """A mark on a timeline: when, its label (shown on hover and in the description), and
    which group it belongs to (its colour)."""

    at: datetime
    label: str
    group: int = 0


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at least ``value`` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop ends at 10


def format_number(value: Number) -> str:
    """``1,234`` or ``1,234.5`` (up to two decimals, none when whole)."""
    number = float(value)
    if number == int(number):
        return f"{int(number):,}"
    return f"{number:,.2f}".rstrip("0").rstrip(".")


def _markup(parts: list[str]) -> Markup:
    # Every text that went into ``parts`` went through ``escape``; the rest is our own markup.
    return Markup("".join(parts))  # noqa: S704


def _open(chart_id: str, title: str, desc: str, width: int, height: int) -> list[str]:
    cid = escape(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'aria-labelledby="{cid}-title {cid}-desc" id="{cid}">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(desc)}</desc>',
    ]


LEGEND_STEP = 150  # horizontal room for one legend entry
LEGEND_LINE = 16


def _legend_rows(count: int, width: float) -> int:
    per_row = max(int(width // LEGEND_STEP), 1)
    return math.ceil(count / per_row)


def _legend(series_names: Sequence[str], x: float, y: float, width: float = 600) -> list[str]:
    """Entries in rows of what fits in ``width``, the first row's baseline at ``y``."""
    parts = []
    per_row = max(int(width // LEGEND_STEP), 1)
    for n, name in enumerate(series_names):
        colour = PALETTE[n % len(PALETTE)]
        left = x + (n % per_row) * LEGEND_STEP
        y_row = y + (n // per_row) * LEGEND_LINE
        parts.append(
            f'<rect x="{left:.1f}" y="{y_row - 9:.1f}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{left + 14:.1f}" y="{y_row:.1f}" font-size="11" fill="{TEXT}">'
            f"{escape(name)}</text>"
        )
    return parts


def describe_series(labels: Sequence[str], series: Sequence[Series], unit: str = "") -> str:
    """The figures in words: each series' total and its largest value with its label."""
    if not labels or not series:
        return "No data."
    sentences = []
    suffix = f" {unit}" if unit else ""
    for s in series:
        total = sum((Decimal(str(v)) for v in s.values), Decimal(0))
        if not s.values or total == 0:
            sentences.append(f"{s.name}: none.")
            continue
        peak = max(range(len(s.values)), key=lambda n: float(s.values[n]))
        sentences.append(
            f"{s.name}: {format_number(total)}{suffix} in all, most on {labels[peak]} "
            f"({format_number(s.values[peak])}{suffix})."
        )
    return " ".join(sentences)


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = True,
    unit: str = "",
    desc: str | None = None,
    width: int = 640,
    height: int = 240,
) -> Markup:
    """Bars per label, one colour per series, stacked or side by side."""
    if any(len(s.values) != len(labels) for s in series):
        raise ValueError("each series needs one value per label")
    left, right, top = 48.0, 8.0, 16.0
    legend = len(series) > 1 or bool(series and series[0].name)
    rows = _legend_rows(len(series), width - left - right) if legend else 0
    bottom = 24.0 + LEGEND_LINE * rows
    height += int(LEGEND_LINE * max(rows - 1, 0))  # the plot keeps its height
    plot_w, plot_h = width - left - right, height - top - bottom
    if stacked:
        peak = max((sum(float(s.values[n]) for s in series) for n in range(len(labels))), default=0)
    else:
        peak = max((float(v) for s in series for v in s.values), default=0)
    if all(isinstance(v, int) for s in series for v in s.values):
        # Counts: whole numbers at each of the four ticks.
        ceiling = 4 * max(nice_ceiling(peak / 4), 1.0)
    else:
        ceiling = nice_ceiling(peak)
    parts = _open(chart_id, title, desc or describe_series(labels, series, unit), width, height)
    for tick in range(5):
        value = ceiling * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{left:.1f}" x2="{width - right:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="{TEXT}">{escape(format_number(value))}</text>'
        )
    slot = plot_w / max(len(labels), 1)
    bar_w = slot * 0.7
    every = max(1, math.ceil(len(labels) / 12))  # at most about 12 axis labels
    for n, label in enumerate(labels):
        x0 = left + slot * n + (slot - bar_w) / 2
        base = top + plot_h
        for k, s in enumerate(series):
            value = float(s.values[n])
            if value <= 0:
                continue
            h = plot_h * value / ceiling
            colour = PALETTE[k % len(PALETTE)]
            if stacked:
                x, w, y = x0, bar_w, base - h
                base -= h
            else:
                w = bar_w / len(series)
                x, y = x0 + w * k, top + plot_h - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(label)}: {escape(s.name)} '
                f"{escape(format_number(s.values[n]))}{escape(' ' + unit if unit else '')}"
                "</title></rect>"
            )
        if n % every == 0:
            parts.append(
                f'<text x="{left + slot * n + slot / 2:.1f}" y="{top + plot_h + 14:.1f}" '
                f'font-size="11" text-anchor="middle" fill="{TEXT}">{escape(label)}</text>'
            )
    if legend:
        parts += _legend([s.name for s in series], left, top + plot_h + 30, width - left - right)
    parts.append("</svg>")
    return _markup(parts)


def timeline(
    chart_id: str,
    title: str,
    start: datetime,
    end: datetime,
    points: Sequence[Point],
    *,
    groups: Sequence[str] = (),
    tick_label: str = "%H:%M",
    desc: str | None = None,
    width: int = 640,
    height: int = 120,
) -> Markup:
    """Points on a time axis from ``start`` to ``end`` (labelled in ``start``'s zone), one row
    per group; points at nearly the same time are spread upwards so each stays visible."""
    if end <= start:
        raise ValueError("a timeline ends after it starts")
    left, right = 16.0, 16.0
    rows = max(len(groups), 1)
    axis_y = height - 22.0
    span = (end - start).total_seconds()
    plot_w = width - left - right
    if desc is None:
        desc = (
            f"{len(points)} contacts between {start:%H:%M} and {end:%H:%M}."
            if points
            else f"No contacts between {start:%H:%M} and {end:%H:%M}."
        )
    parts = _open(chart_id, title, desc, width, height)
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{axis_y}" y2="{axis_y}" '
        f'stroke="{TEXT}" stroke-width="1"/>'
    )
    ticks = 6
    for n in range(ticks + 1):
        at = start + (end - start) * n / ticks
        x = left + plot_w * n / ticks
        anchor = "start" if n == 0 else "end" if n == ticks else "middle"
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{axis_y}" y2="{axis_y + 4}" stroke="{TEXT}"/>'
            f'<text x="{x:.1f}" y="{axis_y + 16:.1f}" font-size="11" text-anchor="{anchor}" '
            f'fill="{TEXT}">{escape(at.strftime(tick_label))}</text>'
        )
    taken: dict[tuple[int, int], int] = {}
    lane_h = (axis_y - 12) / rows
    for point in sorted(points, key=lambda p: p.at):
        offset = min(max((point.at - start).total_seconds() / span, 0.0), 1.0)
        x = left + plot_w * offset
        slot = (point.group, int(x // 8))
        stack = taken.get(slot, 0)
        taken[slot] = stack + 1
        y = axis_y - 8 - lane_h * point.group - (stack % 6) * 7
        colour = PALETTE[point.group % len(PALETTE)]
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}">'
            f"<title>{escape(point.label)}</title></circle>"
        )
    if len(groups) > 1:
        parts += _legend(groups, left, 12, plot_w)
    parts.append("</svg>")
    return _markup(parts)


def table(
    caption: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    numeric: Sequence[int] = (),
) -> Markup:
    """The figures of a chart as a table (column headers ``scope="col"``, the first cell of a
    row its header); ``numeric`` columns are aligned right and formatted."""
    parts = [f'<table class="data"><caption>{escape(caption)}</caption><thead><tr>']
    parts += [f'<th scope="col">{escape(h)}</th>' for h in headers]
    parts.append("</tr></thead><tbody>")
    for row in rows:
        parts.append("<tr>")
        for n, cell in enumerate(row):
            text = (
                format_number(cell)
                if n in numeric and isinstance(cell, int | float | Decimal)
                else ""
                if cell is None
                else str(cell)
            )
            if n == 0:
                parts.append(f'<th scope="row">{escape(text)}</th>')
            elif n in numeric:
                parts.append(f'<td class="num">{escape(text)}</td>')
            else:
                parts.append(f"<td>{escape(text)}</td>")
        parts.append("</tr>")
    parts.append("</tbody></table>")
    return _markup(parts)


def series_table(
    caption: str, label_header: str, labels: Sequence[str], series: Sequence[Series]
) -> Markup:
    """A bar chart's figures as a table: one row per label, one column per series."""
    rows = [[label, *(s.values[n] for s in series)] for n, label in enumerate(labels)]
    return table(
        caption,
        [label_header, *(s.name for s in series)],
        rows,
        numeric=range(1, len(series) + 1),
    )
