"""The parts of the candidate and version pages that gather more than one service's data:
metric history charts, logged model cards and bounded file listings."""

from __future__ import annotations

import typing as t
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from flask_model_registry.artifacts import FileInfo
from flask_model_registry.errors import RegistryError
from flask_model_registry.models import LoggedModel, LoggedModelMetric, ModelVersion, Run
from flask_model_registry.services import artifacts as artifact_service
from flask_model_registry.services import pages
from flask_model_registry.services.context import ProjectContext

from . import charts

__all__ = [
    "LoggedModelCard",
    "MetricChart",
    "bounded_files",
    "history_charts",
    "history_series",
    "logged_model_cards",
]

#: Most files listed per logged model.
MAX_LOGGED_MODEL_FILES = 100


class MetricChart(t.NamedTuple):
    """A metric's history chart and how many points it draws."""

    key: str
    svg: Markup
    points: int


def history_series(points: Sequence[pages.HistoryPoint]) -> tuple[list[tuple[float, float]], str]:
    """Points over steps; over elapsed seconds when every point sits on one step."""
    if len(points) > 1 and len({p.step for p in points}) == 1:
        start = min(p.timestamp for p in points)
        return [((p.timestamp - start) / 1000, p.value) for p in points], "seconds"
    return [(float(p.step), p.value) for p in points], "step"


def history_charts(histories: dict[str, list[pages.HistoryPoint]]) -> list[MetricChart]:
    """A chart per metric with a history; a single value is read in the metrics table."""
    result = []
    for key in sorted(histories):
        if len(histories[key]) < 2:
            continue
        points, x_label = history_series(histories[key])
        svg = charts.line_chart([charts.Series(key, points)], label=f"History of {key}",
                                x_label=x_label, y_label=key)
        result.append(MetricChart(key, svg, len(points)))
    return result


@dataclass(frozen=True)
class LoggedModelCard:
    """A logged model of a candidate as its page shows it."""

    model: LoggedModel
    versions: list[ModelVersion]
    files: list[FileInfo]
    files_truncated: bool
    metrics: list[LoggedModelMetric]

    @property
    def status(self) -> str:
        return self.model.status.removeprefix("LOGGED_MODEL_")


def _latest_model_metrics(points: Sequence[LoggedModelMetric]) -> list[LoggedModelMetric]:
    latest: dict[str, LoggedModelMetric] = {}
    for point in points:
        seen = latest.get(point.key)
        if seen is None or (point.step, point.timestamp) >= (seen.step, seen.timestamp):
            latest[point.key] = point
    return [latest[key] for key in sorted(latest)]


def logged_model_cards(ctx: ProjectContext, candidate: Run) -> list[LoggedModelCard]:
    """The candidate's logged models with their files and latest metric values."""
    cards = []
    for entry in pages.logged_models_of_candidate(ctx, candidate):
        files, truncated = bounded_files(ctx, entry.model.artifact_uri, MAX_LOGGED_MODEL_FILES)
        cards.append(LoggedModelCard(entry.model, entry.versions, files, truncated,
                                     _latest_model_metrics(entry.model.metrics)))
    return cards


def bounded_files(ctx: ProjectContext, uri: str | None, limit: int) -> tuple[
    list[FileInfo], bool
]:
    """Up to ``limit`` files under the artifact location ``uri``, and whether more exist."""
    if uri is None:
        return [], False
    files: list[FileInfo] = []
    try:
        for info in artifact_service.walk_files(ctx, uri):
            if len(files) == limit:
                return files, True
            files.append(info)
    except RegistryError:
        return [], False
    return files, False
