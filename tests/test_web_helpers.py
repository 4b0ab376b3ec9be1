"""The pages' helpers on their own: safe Markdown, SVG charts, formatting."""

from __future__ import annotations

import math
import re

import pytest

from flask_model_registry.web import charts
from flask_model_registry.web.format import (
    fmt_duration,
    fmt_metric,
    fmt_size,
    fmt_time,
    iso_time,
    order_key,
)
from flask_model_registry.web.markdown import render_markdown

# --- markdown ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "html"),
    [
        ("", ""),
        ("plain", "<p>plain</p>"),
        ("one\ntwo\n\nthree", "<p>one\ntwo</p>\n<p>three</p>"),
        (
            "**bold** and *em* and _em_",
            "<p><strong>bold</strong> and <em>em</em> and <em>em</em></p>",
        ),
        ("snake_case_name stays", "<p>snake_case_name stays</p>"),
        ("2 * 3 * 4", "<p>2 * 3 * 4</p>"),
        ("use `a < b`", "<p>use <code>a &lt; b</code></p>"),
        ("`**not bold**`", "<p><code>**not bold**</code></p>"),
        ("- a\n- b", "<ul><li>a</li><li>b</li></ul>"),
        ("1. a\n2. b", "<ol><li>a</li><li>b</li></ol>"),
        ("text\n- item", "<p>text</p>\n<ul><li>item</li></ul>"),
        ("- a\n  continued", "<ul><li>a continued</li></ul>"),
        ("```\n<b>x</b>\n```", "<pre><code>&lt;b&gt;x&lt;/b&gt;</code></pre>"),
        ("# Title", '<p class="md-heading"><strong>Title</strong></p>'),
        (
            "[site](https://example.com/a?b=1&c=2)",
            '<p><a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener">site</a></p>',
        ),
        ("[x](http://e.org)", '<p><a href="http://e.org" rel="nofollow noopener">x</a></p>'),
    ],
)
def test_markdown_subset(source: str, html: str) -> None:
    assert str(render_markdown(source)) == html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "[x](javascript:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](//evil.example/)",
        '[x](https://e.com" onclick="alert(1))',
        "<img src=x onerror=alert(1)>",
        "**<b>bold</b>**",
        "`<script>`",
        "[<script>](https://e.com)",
        "x\x00<script>",
    ],
)
def test_markdown_never_emits_active_content(source: str) -> None:
    html = str(render_markdown(source))
    assert "<script" not in html
    assert "<img" not in html
    assert "<b>" not in html
    assert not re.search(r"\son\w+=\"", html)
    for href in re.findall(r'href="([^"]*)"', html):
        assert href.startswith(("https://", "http://"))


def test_markdown_escapes_quotes_inside_links() -> None:
    html = str(render_markdown('[x](https://e.com/"a)'))
    assert 'href="https://e.com/&#34;a"' in html


# --- charts -----------------------------------------------------------------------------------


def _path_points(svg: str) -> list[list[tuple[float, float]]]:
    paths = re.findall(r'<path d="([^"]+)"', svg)
    return [[(float(x), float(y)) for x, y in re.findall(r"[ML](-?[\d.]+) (-?[\d.]+)", d)]
            for d in paths]


def test_line_chart_draws_each_series_through_its_points() -> None:
    svg = str(charts.line_chart(
        [charts.Series("a", [(0, 1.0), (1, 2.0), (2, 4.0)]), charts.Series("b", [(0, 4.0)])],
        label="loss", x_label="step", y_label="loss",
    ))
    assert svg.startswith('<svg class="chart line-chart" role="img" aria-label="loss"')
    first, second = _path_points(svg)
    assert len(first) == 3
    assert len(second) == 1
    assert first[0][0] < first[1][0] < first[2][0]
    assert first[0][1] > first[1][1] > first[2][1]
    assert second[0][1] == pytest.approx(first[2][1])  # same value, same height
    assert charts.PALETTE[0] in svg
    assert charts.PALETTE[1] in svg
    assert svg.count("<circle") == 4  # a marker per point: a lone point stays visible


def test_line_chart_skips_nan_and_infinite_points() -> None:
    svg = str(charts.line_chart(
        [charts.Series("a", [(0, 1.0), (1, math.nan), (2, math.inf), (3, 2.0)])], label="x"
    ))
    assert 'data-points="2"' in svg


def test_line_chart_without_finite_points_says_so() -> None:
    svg = str(charts.line_chart([charts.Series("a", [(0, math.nan)])], label="x"))
    assert "No finite values to draw" in svg
    assert "<path" not in svg


def test_line_chart_with_many_points_has_no_markers() -> None:
    svg = str(charts.line_chart([charts.Series("a", [(i, i * i) for i in range(500)])],
                                label="x"))
    assert 'data-points="500"' in svg
    assert "<circle" not in svg


def test_charts_escape_every_text() -> None:
    evil = "<script>alert(1)</script>"
    svg = str(charts.line_chart([charts.Series(evil, [(0, 1.0)])], label=evil, x_label=evil,
                                y_label=evil))
    bars = str(charts.bar_chart([charts.Bar(evil, 1.0, f"/x?{evil}")], label=evil, y_label=evil))
    for out in (svg, bars):
        assert "<script>" not in out
        assert "&lt;script&gt;" in out


def test_bar_chart_bars_follow_values_from_a_zero_baseline() -> None:
    svg = str(charts.bar_chart(
        [charts.Bar("a", 2.0, "/a"), charts.Bar("b", None), charts.Bar("c", -1.0),
         charts.Bar("d", math.nan)],
        label="m",
    ))
    bar = r'<rect class="bar" x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"'
    rects = re.findall(bar, svg)
    assert len(rects) == 2  # missing and NaN values draw no bar
    (a_top, a_height), (c_top, c_height) = ((float(y), float(h)) for y, h in rects)
    assert a_height == pytest.approx(2 * c_height, rel=0.01)
    assert a_top + a_height == pytest.approx(c_top)  # both start at zero
    assert '<a href="/a">' in svg
    assert "<title>a: 2</title>" in svg


@pytest.mark.parametrize(
    ("low", "high", "first", "last"),
    [(0, 0.86, 0.0, 1.0), (0.75, 0.9, 0.75, 0.9), (-3, 7, -4, 8), (5, 5, 4.4, 5.6)],
)
def test_nice_ticks_cover_the_range(low: float, high: float, first: float, last: float) -> None:
    ticks = charts.nice_ticks(low, high)
    assert ticks[0] == pytest.approx(first)
    assert ticks[-1] == pytest.approx(last)
    assert ticks[0] <= low
    assert ticks[-1] >= high
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1


def test_nice_ticks_near_the_double_limits() -> None:
    ticks = charts.nice_ticks(-1.7976931348623157e308, 1.7976931348623157e308)
    assert all(math.isfinite(v) for v in ticks)
    assert ticks[0] < 0 < ticks[-1]


# --- formatting -------------------------------------------------------------------------------


def test_formatting() -> None:
    assert fmt_time(0) == "1970-01-01 00:00 UTC"
    assert fmt_time(None) == ""
    assert iso_time(1_700_000_000_000) == "2023-11-14T22:13:20Z"
    assert fmt_metric(0.123456789) == "0.123457"
    assert fmt_metric(3.0) == "3"
    assert fmt_metric(math.nan) == "NaN"
    assert fmt_metric(0.0, True) == "NaN"
    assert fmt_metric(-math.inf) == "-Infinity"
    assert fmt_metric(None) == ""
    assert fmt_duration(0, 5_600) == "5.6s"
    assert fmt_duration(0, 125_000) == "2m 5s"
    assert fmt_duration(0, 3_725_000) == "1h 2m"
    assert fmt_duration(0, None) == ""
    assert fmt_size(12) == "12 B"
    assert fmt_size(2048) == "2.0 KiB"
    assert fmt_size(5 * 1024**3) == "5.0 GiB"


@pytest.mark.parametrize(
    ("key", "quoted"),
    [("acc", "acc"), ("val loss", "`val loss`"), ("a.b", "`a.b`"), ("x`y", '"x`y"')],
)
def test_order_key_quotes_what_the_search_language_needs(key: str, quoted: str) -> None:
    assert order_key(key) == quoted
