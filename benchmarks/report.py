"""The figures, their targets, medians over rounds and the printed table."""

from __future__ import annotations

import statistics
import typing as t
from dataclasses import dataclass

__all__ = ["FIGURES", "RAW_TARGET", "Figure", "Section", "median_figures", "meets", "render"]

#: Goal for ours/raw: the ingest rate at least half of the database's own executemany rate.
RAW_TARGET = 0.5


@dataclass(frozen=True)
class Figure:
    """One reported number; ``target`` is the goal for ours/MLflow, where one is set."""

    key: str
    label: str
    higher_is_better: bool
    target: float | None = None
    unit: str = "ms"


FIGURES: tuple[Figure, ...] = (
    Figure("ingest_points_per_s", "ingest: metric points/s (log-batch)", True, 5.0, "/s"),
    Figure("ingest_batch_p50_ms", "  log-batch of 1000 entities p50 ms", False),
    Figure("fill_runs_per_s", "runs/create + small log-batch, runs/s", True, None, "/s"),
    Figure("single_calls_per_s", "single log-metric: calls/s", True, 2.0, "/s"),
    Figure("single_p50_ms", "  log-metric p50 ms", False),
    Figure("single_p95_ms", "  log-metric p95 ms", False),
    Figure("search_filter_p50_ms", "runs/search filter+order_by, all pages p50 ms", False, 1 / 3),
    Figure("search_filter_p95_ms", "  same, p95 ms", False),
    Figure("search_all_p50_ms", "runs/search no filter, all pages p50 ms", False),
    Figure("search_all_p95_ms", "  same, p95 ms", False),
    Figure("history_p50_ms", "metrics/get-history p50 ms", False, 0.5),
    Figure("history_p95_ms", "  same, p95 ms", False),
    Figure("get_run_p50_ms", "runs/get p50 ms", False, 0.5),
    Figure("get_run_p95_ms", "  runs/get p95 ms", False),
    Figure("get_model_p50_ms", "registered-models/get p50 ms", False, 0.5),
    Figure("get_model_p95_ms", "  registered-models/get p95 ms", False),
    Figure("search_versions_p50_ms", "model-versions/search p50 ms", False, 0.5),
    Figure("search_versions_p95_ms", "  model-versions/search p95 ms", False),
    Figure("get_alias_p50_ms", "registered-models/alias (get) p50 ms", False, 0.5),
    Figure("get_alias_p95_ms", "  registered-models/alias p95 ms", False),
    Figure("registry_models_per_s", "registry writes: models/s (+versions, alias)", True, None,
           "/s"),
    Figure("rss_mb", "server RSS after workload, MiB (process tree)", False, 0.5, "MiB"),
    Figure("pss_mb", "  PSS (shared pages split), MiB", False, None, "MiB"),
    Figure("processes", "  processes", False, None, "n"),
    Figure("cold_start_s", "cold start to first 200, s", False, 0.25, "s"),
    Figure("first_start_s", "  first start on an empty database, s", False, None, "s"),
)

#: Which workload phase produced a figure (to flag figures of phases with errors).
PHASE_OF = {
    "ingest": "ingest", "fill": "fill", "single": "single", "search_filter": "search_filter",
    "search_all": "search_all", "history": "history", "get_run": "get_run",
    "get_model": "registry_read", "search_versions": "registry_read",
    "get_alias": "registry_read", "registry_models": "registry_write",
}


def median_figures(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Per figure, the median over the rounds that produced it."""
    keys = {key for figures in rounds for key in figures}
    return {
        key: statistics.median([r[key] for r in rounds if key in r]) for key in sorted(keys)
    }


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit in ("/s", "MiB", "n"):
        return f"{value:,.0f}"
    if unit == "s":
        return f"{value:.2f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def best_mlflow(figure: Figure, values: dict[str, float | None]) -> float | None:
    """The faster (or smaller) MLflow figure among the modes that produced one."""
    candidates = [v for name, v in values.items() if name.startswith("mlflow") and v is not None]
    if not candidates:
        return None
    return max(candidates) if figure.higher_is_better else min(candidates)


def ratio(figure: Figure, values: dict[str, float | None]) -> float | None:
    ours, best = values.get("ours"), best_mlflow(figure, values)
    if ours is None or not best:
        return None
    return ours / best


@dataclass
class Section:
    """One database's part of the table."""

    title: str
    figures: dict[str, dict[str, float]]  # server name -> figure key -> median
    flagged: dict[str, set[str]]  # server name -> figures measured with errors
    raw: dict[str, t.Any]  # the database's own insert limit (see rawdb.raw_ingest)


def meets(target: float, higher_is_better: bool, ratio: float) -> bool:
    """Whether ``ratio`` (ours/MLflow or ours/raw) reaches ``target``."""
    return ratio >= target if higher_is_better else ratio <= target + 1e-9


def _target_cells(target: float | None, higher: bool, r: float | None) -> list[str]:
    if target is None:
        return ["", ""]
    sign = ">=" if higher else "<="
    text = f"{sign} {target:.2f}".rstrip("0").rstrip(".")
    return [text, "n/a" if r is None else ("yes" if meets(target, higher, r) else "NO")]


def _figure_rows(section: Section, servers: list[tuple[str, str]]) -> list[list[str]]:
    rows = []
    for figure in FIGURES:
        values = {name: section.figures.get(name, {}).get(figure.key) for name, _ in servers}
        if all(v is None for v in values.values()):
            continue
        cells = [figure.label]
        for name, _ in servers:
            mark = "!" if figure.key in section.flagged.get(name, set()) else ""
            cells.append("" if values[name] is None and name not in section.figures
                         else _fmt(values[name], figure.unit) + mark)
        r = ratio(figure, values)
        cells.append("n/a" if r is None else f"{r:.2f}")
        cells += _target_cells(figure.target, figure.higher_is_better, r)
        rows.append(cells)
    return rows


def _raw_rows(section: Section, width: int) -> list[list[str]]:
    """The ingest rate against the database's own limit, as ratio rows."""
    ours = section.figures.get("ours", {}).get("ingest_points_per_s")
    rows = []
    for key, what, target in (
        ("raw_points_per_s", "1 txn", RAW_TARGET),
        ("raw_per_run_txn_points_per_s", "1 txn per run", None),
    ):
        limit = section.raw.get(key)
        if limit is None:
            continue
        r = ours / limit if ours else None
        label = f"ingest ours/raw executemany ({what}: {limit:,.0f}/s)"
        rows.append([label, *[""] * width, "n/a" if r is None else f"{r:.2f}",
                     *_target_cells(target, True, r)])
    if not rows and section.raw.get("failed"):
        rows.append([f"raw DB limit not measured: {section.raw['failed']}"[:90],
                     *[""] * (width + 3)])
    return rows


def render(servers: list[tuple[str, str]], sections: list[Section]) -> str:
    """One table: a column per server, ours/MLflow against the faster MLflow mode, the goal,
    and a block of rows per database. ``servers`` are (name, label) pairs; figures measured
    with failed requests or wrong answers are marked ``!``."""
    headers = ["figure", *[label for _, label in servers], "ours/MLflow", "target", "met"]
    blocks: list[tuple[str, list[list[str]]]] = [
        (s.title, _figure_rows(s, servers) + _raw_rows(s, len(servers))) for s in sections
    ]
    every = [headers, *[row for _, rows in blocks for row in rows]]
    widths = [max(len(row[i]) for row in every) for i in range(len(headers))]

    def line(cells: t.Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    for title, rows in blocks:
        out.append(f"[{title}]")
        out += [line(row) for row in rows]
    return "\n".join(out)
