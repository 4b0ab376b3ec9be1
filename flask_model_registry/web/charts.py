"""Inline SVG charts made on the server: no script and no network needed to see them.

:func:`line_chart` draws one ``<path>`` per series through its real points (metric histories);
:func:`bar_chart` draws one bar per labelled value (a metric across candidates). Every text
that reaches the SVG is escaped. Colours come from :data:`PALETTE`, in series order, so an
HTML legend next to the chart can reuse them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["PALETTE", "Bar", "Series", "bar_chart", "color", "line_chart", "nice_ticks"]

#: Colour-blind friendly categorical palette (Okabe-Ito, then Tableau tones).
PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#f0e442",
    "#4e79a7",
    "#9c755f",
    "#59a14f",
)

_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 18, 14, 44
_MAX_MARKERS = 60


@dataclass(frozen=True)
class Series:
    """A named line; ``points`` are ``(x, y)`` pairs in drawing order."""

    name: str
    points: Sequence[tuple[float, float]]


@dataclass(frozen=True)
class Bar:
    """One bar; ``value`` ``None`` (or not finite) draws no bar."""

    label: str
    value: float | None
    href: str | None = None


def color(index: int) -> str:
    """The colour of series ``index``."""
    return PALETTE[index % len(PALETTE)]


def fmt(value: float) -> str:
    """A compact label for a number (4 significant digits, no trailing noise)."""
    if value == 0:
        return "0"
    if float(value).is_integer() and abs(value) < 1e7:
        return str(int(value))
    return f"{value:.4g}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]``: steps of 1, 2 or 5 times a power of ten."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0]
    if high < low:
        low, high = high, low
    if high == low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    if not math.isfinite(high - low):  # near the double limits, where infinities are clamped
        return [low, 0.0, high] if low < 0 < high else [low, high]
    raw = (high - low) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    ticks = [t for t in (round(i * step, 12) for i in range(first, last + 1)) if math.isfinite(t)]
    if not ticks or ticks[-1] < high:
        ticks.append(high)
    if ticks[0] > low:
        ticks.insert(0, low)
    return ticks


class _Scale:
    def __init__(self, low: float, high: float, start: float, end: float) -> None:
        self.low, self.high = low, high
        self.start, self.end = start, end

    def __call__(self, value: float) -> float:
        span = self.high - self.low
        if span == 0:
            return (self.start + self.end) / 2
        return self.start + (value - self.low) / span * (self.end - self.start)


def _svg_open(width: int, height: int, label: str, css_class: str) -> str:
    text = escape(label)
    return (
        f'<svg class="{css_class}" role="img" aria-label="{text}" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" preserveAspectRatio="xMinYMin meet"'
        f' xmlns="http://www.w3.org/2000/svg"><title>{text}</title>'
    )


def _empty(parts: list[str], width: int, height: int) -> Markup:
    """Close an opened chart that has nothing to draw, saying so."""
    parts.append(
        f'<text class="empty" x="{width / 2}" y="{height / 2}" text-anchor="middle">'
        "No finite values to draw</text></svg>"
    )
    return Markup("".join(parts))


def _y_axis(ticks: list[float], y: _Scale, width: int) -> list[str]:
    parts = []
    for tick in ticks:
        pos = y(tick)
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{width - _RIGHT}" y1="{pos:.1f}" y2="{pos:.1f}"/>'
            f'<text class="tick" x="{_LEFT - 6}" y="{pos + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(tick))}</text>"
        )
    return parts


def _axis_labels(width: int, height: int, x_label: str, y_label: str) -> str:
    mid_y = (_TOP + height - _BOTTOM) / 2
    return (
        f'<text class="axis-label" x="{(_LEFT + width - _RIGHT) / 2:.1f}" y="{height - 6}"'
        f' text-anchor="middle">{escape(x_label)}</text>'
        f'<text class="axis-label" x="14" y="{mid_y:.1f}" text-anchor="middle"'
        f' transform="rotate(-90 14 {mid_y:.1f})">{escape(y_label)}</text>'
    )


def _finite(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]


def _series_svg(index: int, series: Series, x: _Scale, y: _Scale, x_label: str) -> str:
    points = _finite(series.points)
    if not points:
        return ""
    stroke = color(index)
    coords = [(x(px), y(py)) for px, py in points]
    path = "M" + " L".join(f"{cx:.1f} {cy:.1f}" for cx, cy in coords)
    parts = [
        f'<g class="series" data-series="{escape(series.name)}">',
        f'<path d="{path}" fill="none" stroke="{stroke}" stroke-width="2"'
        f' stroke-linejoin="round" data-points="{len(points)}"/>',
    ]
    if len(points) <= _MAX_MARKERS:
        for (px, py), (cx, cy) in zip(points, coords, strict=True):
            tip = escape(f"{series.name}: {fmt(py)} at {x_label} {fmt(px)}")
            parts.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{stroke}"><title>{tip}</title>'
                "</circle>"
            )
    parts.append("</g>")
    return "".join(parts)


def line_chart(
    series: Sequence[Series],
    *,
    label: str,
    x_label: str = "step",
    y_label: str = "value",
    width: int = 460,
    height: int = 230,
) -> Markup:
    """An SVG line chart of ``series`` sharing one pair of axes."""
    points = [p for s in series for p in _finite(s.points)]
    parts = [_svg_open(width, height, label, "chart line-chart")]
    if not points:
        return _empty(parts, width, height)
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x_ticks = nice_ticks(min(xs), max(xs), 6)
    y_ticks = nice_ticks(min(ys), max(ys), 5)
    x = _Scale(min(x_ticks[0], min(xs)), max(x_ticks[-1], max(xs)), _LEFT, width - _RIGHT)
    y = _Scale(min(y_ticks[0], min(ys)), max(y_ticks[-1], max(ys)), height - _BOTTOM, _TOP)
    parts.extend(_y_axis(y_ticks, y, width))
    for tick in x_ticks:
        pos = x(tick)
        parts.append(
            f'<text class="tick" x="{pos:.1f}" y="{height - _BOTTOM + 16}" text-anchor="middle">'
            f"{escape(fmt(tick))}</text>"
        )
    parts.append(
        f'<line class="axis" x1="{_LEFT}" x2="{width - _RIGHT}" y1="{height - _BOTTOM}"'
        f' y2="{height - _BOTTOM}"/>'
    )
    parts.append(_axis_labels(width, height, x_label, y_label))
    parts.extend(_series_svg(i, s, x, y, x_label) for i, s in enumerate(series))
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(
    bars: Sequence[Bar],
    *,
    label: str,
    y_label: str = "value",
    width: int = 920,
    height: int = 200,
) -> Markup:
    """An SVG bar chart, one bar per item in order; bars link to ``href`` when given."""
    values = [b.value for b in bars if b.value is not None and math.isfinite(b.value)]
    parts = [_svg_open(width, height, label, "chart bar-chart")]
    if not values:
        return _empty(parts, width, height)
    ticks = nice_ticks(min(0.0, min(values)), max(0.0, max(values)), 5)
    y = _Scale(ticks[0], ticks[-1], height - _BOTTOM, _TOP)
    parts.extend(_y_axis(ticks, y, width))
    slot = (width - _LEFT - _RIGHT) / max(len(bars), 1)
    bar_width = max(min(slot * 0.7, 48.0), 1.0)
    base = y(0.0)
    show_labels = len(bars) <= 16
    for i, bar in enumerate(bars):
        left = _LEFT + i * slot + (slot - bar_width) / 2
        centre = left + bar_width / 2
        if show_labels:
            short = bar.label if len(bar.label) <= 14 else bar.label[:13] + "…"
            parts.append(
                f'<text class="tick" x="{centre:.1f}" y="{height - _BOTTOM + 16}"'
                f' text-anchor="middle">{escape(short)}</text>'
            )
        if bar.value is None or not math.isfinite(bar.value):
            continue
        top = min(y(bar.value), base)
        rect = (
            f'<rect class="bar" x="{left:.1f}" y="{top:.1f}" width="{bar_width:.1f}"'
            f' height="{max(abs(base - y(bar.value)), 1.0):.1f}" fill="{color(0)}">'
            f"<title>{escape(f'{bar.label}: {fmt(bar.value)}')}</title></rect>"
        )
        if bar.href:
            rect = f'<a href="{escape(bar.href)}">{rect}</a>'
        parts.append(rect)
    parts.append(
        f'<line class="axis" x1="{_LEFT}" x2="{width - _RIGHT}" y1="{base:.1f}" y2="{base:.1f}"/>'
    )
    parts.append(_axis_labels(width, height, "candidates", y_label))
    parts.append("</svg>")
    return Markup("".join(parts))
