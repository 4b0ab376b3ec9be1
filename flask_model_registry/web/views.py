"""The pages: experiments, candidates, comparison, models and model versions.

Views receive ``(ctx, **path_values)`` after the blueprint checked the route's permission, and
return a response. Reads go through :mod:`..services.pages`; writes through the domain
services, after the form's CSRF token is checked.
"""

from __future__ import annotations

import json
import math
import mimetypes
import typing as t
from collections.abc import Sequence
from dataclasses import dataclass

from flask import Response, flash, redirect, render_template, request, send_file, url_for

from flask_model_registry.artifacts import FileInfo, normalize_path
from flask_model_registry.errors import AlreadyExists, InvalidParameter, NotFound
from flask_model_registry.hooks import Permission
from flask_model_registry.models import ModelVersion, RegisteredModel, Run
from flask_model_registry.permissions import is_allowed
from flask_model_registry.services import artifacts as artifact_service
from flask_model_registry.services import experiments as experiment_service
from flask_model_registry.services import pages
from flask_model_registry.services import registry as registry_service
from flask_model_registry.services import requirements as requirement_service
from flask_model_registry.services.context import ProjectContext
from flask_model_registry.state import get_state
from flask_model_registry.versioning import SemVer

from . import charts
from .csrf import check_csrf, csrf_token
from .format import (
    fmt_duration,
    fmt_metric,
    fmt_size,
    fmt_time,
    iso_time,
    order_key,
    profile_items,
    schema_columns,
)
from .markdown import render_markdown
from .sections import bounded_files, history_charts, history_series, logged_model_cards

__all__ = [
    "candidate",
    "compare",
    "delete_experiment",
    "download_artifact",
    "download_logged_model_file",
    "download_version_file",
    "experiment",
    "experiments",
    "model",
    "model_version",
    "models",
    "promote",
]

BLUEPRINT = "model_registry_web"
EXPERIMENTS_PER_PAGE = 50
CANDIDATES_PER_PAGE = 100
MODELS_PER_PAGE = 50
MAX_PER_PAGE = 500
DEFAULT_COLUMNS = 10
MAX_COLUMNS = 50
MAX_VERSION_FILES = 500
MAX_PAGE = 1_000_000
_INT64_MAX = 2**63 - 1


# --- helpers ----------------------------------------------------------------------------------


def _url(ctx: ProjectContext) -> t.Callable[..., str]:
    def url(endpoint: str, **values: t.Any) -> str:
        return url_for(f"{BLUEPRINT}.{endpoint}", project_id=ctx.project_id, **values)

    return url


def _with_args(**changes: t.Any) -> str:
    """The current page's URL with some query values replaced (``None`` drops one)."""
    view_args: dict[str, t.Any] = dict(request.view_args or {})
    args: dict[str, t.Any] = {
        key: values
        for key, values in request.args.to_dict(flat=False).items()
        if not key.startswith("_") and key not in view_args
    }
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value if isinstance(value, list) else [str(value)]
    return url_for(request.endpoint or "", **{**args, **view_args})


def _tracking_uri(ctx: ProjectContext) -> str:
    path = ctx.settings.mlflow_prefix.replace("<int:project_id>", str(ctx.project_id))
    return request.host_url.rstrip("/") + path


class _Allowed:
    """Whether the caller holds a permission, asked of the host only if a template tests it."""

    def __init__(self, project_id: int, permission: Permission) -> None:
        self.project_id = project_id
        self.permission = permission

    def __bool__(self) -> bool:
        return is_allowed(self.project_id, self.permission)


def _render(ctx: ProjectContext, template: str, *, status: int = 200, **context: t.Any) -> Response:
    body = render_template(
        f"model_registry/{template}",
        base_template=ctx.settings.base_template,
        project_id=ctx.project_id,
        tracking_uri=_tracking_uri(ctx),
        url=_url(ctx),
        with_args=_with_args,
        mr_csrf_token=csrf_token,
        can_write_experiments=_Allowed(ctx.project_id, Permission.WRITE_MODEL_EXPERIMENTS),
        can_write_registry=_Allowed(ctx.project_id, Permission.WRITE_MODEL_REGISTRY),
        fmt_time=fmt_time,
        iso_time=iso_time,
        fmt_metric=fmt_metric,
        fmt_duration=fmt_duration,
        fmt_size=fmt_size,
        schema_columns=schema_columns,
        profile_items=profile_items,
        **context,
    )
    return Response(body, status=status, mimetype="text/html")


def _int_arg(name: str, default: int, *, maximum: int | None = None) -> int:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18 or int(raw) < 1:
        raise InvalidParameter(f"'{name}' must be a positive whole number, got '{raw[:40]}'.")
    value = int(raw)
    if maximum is not None and value > maximum:
        raise InvalidParameter(f"'{name}' must be at most {maximum}, got {value}.")
    return value


def _page_arg() -> int:
    return _int_arg("page", 1, maximum=MAX_PAGE)


def _known_id(value: int, what: str) -> int:
    """A path number that can name a row; larger ones name nothing (and overflow BIGINT)."""
    if not 0 <= value <= _INT64_MAX:
        raise NotFound(f"No {what} with id={value} exists")
    return value


def _list_arg(name: str) -> list[str] | None:
    """Values given as ``?name=a,b`` or ``?name=a&name=b``; ``None`` when absent."""
    if name not in request.args:
        return None
    values: list[str] = []
    for raw in request.args.getlist(name):
        values.extend(part.strip() for part in raw.split(","))
    return list(dict.fromkeys(v for v in values if v))


def _columns(name: str, available: list[str]) -> list[str]:
    chosen = _list_arg(name)
    if chosen is None:
        return available[:DEFAULT_COLUMNS]
    return chosen[:MAX_COLUMNS]


def _redirect(location: str) -> Response:
    return t.cast(Response, redirect(location, code=303))


# --- experiments ------------------------------------------------------------------------------


def experiments(ctx: ProjectContext) -> Response:
    """The project's experiments with candidate counts, last activity and linked model."""
    page = _page_arg()
    per_page = _int_arg("per_page", EXPERIMENTS_PER_PAGE, maximum=MAX_PER_PAGE)
    return _render(ctx, "experiments.html", rows=pages.experiment_page(ctx, page=page,
                                                                        per_page=per_page))


def delete_experiment(ctx: ProjectContext, iid: int) -> Response:
    """Delete an experiment (writers only; the blueprint checked the permission)."""
    check_csrf()
    experiment = experiment_service.delete_experiment(ctx, _known_id(iid, "Experiment"))
    flash(f"Experiment “{experiment.name}” was deleted.", "info")
    return _redirect(_url(ctx)("experiments"))


@dataclass(frozen=True)
class Column:
    """A sortable column of the candidates table."""

    kind: str  # "attribute", "param" or "metric"
    key: str
    label: str

    @property
    def order_expression(self) -> str:
        prefix = {"attribute": "attributes", "param": "params", "metric": "metrics"}[self.kind]
        return f"{prefix}.{order_key(self.key)}"


ATTRIBUTE_COLUMNS = (
    Column("attribute", "run_name", "Name"),
    Column("attribute", "status", "Status"),
    Column("attribute", "start_time", "Created"),
    Column("attribute", "user_id", "User"),
)


def _sort_state(column: Column, current: str) -> tuple[str | None, str]:
    """(``aria-sort`` value, the ``order_by`` a click on the header sets)."""
    expression = column.order_expression
    words = current.rsplit(" ", 1)
    same = words[0].strip() == expression
    descending = same and len(words) == 2 and words[1].upper() == "DESC"
    ascending = same and not descending
    if descending:
        return "descending", f"{expression} ASC"
    if ascending:
        return "ascending", f"{expression} DESC"
    first = "DESC" if column.kind == "metric" or column.key == "start_time" else "ASC"
    return None, f"{expression} {first}"


def _metric_bars(
    ctx: ProjectContext, table: pages.CandidateTable, key: str | None
) -> list[charts.Bar]:
    if key is None:
        return []
    url = _url(ctx)
    return [
        charts.Bar(c.name, table.metrics[c.id].get(key), url("candidate", run_id=c.run_id))
        for c in table.candidates
    ]


def experiment(ctx: ProjectContext, iid: int) -> Response:
    """An experiment's candidates: filter, sort, choose columns, chart, select to compare."""
    exp = pages.active_experiment(ctx, _known_id(iid, "Experiment"))
    all_params, all_metrics = pages.experiment_keys(ctx, exp)
    params = _columns("params", all_params)
    metrics = _columns("metrics", all_metrics)
    chart_key = request.args.get("chart", "").strip() or next(iter(metrics or all_metrics), None)
    filter_string = request.args.get("filter", "").strip()
    order_by = request.args.get("order_by", "").strip()
    page = _page_arg()
    per_page = _int_arg("per_page", CANDIDATES_PER_PAGE, maximum=MAX_PER_PAGE)
    error: str | None = None
    try:
        table = pages.candidate_table(
            ctx,
            exp,
            filter_string=filter_string or None,
            order_by=[order_by] if order_by else [],
            param_keys=params,
            metric_keys=list(dict.fromkeys([*metrics, *([chart_key] if chart_key else [])])),
            offset=(page - 1) * per_page,
            limit=per_page,
        )
    except InvalidParameter as exc:
        error = exc.message
        table = pages.CandidateTable([], 0)
    columns = [
        *ATTRIBUTE_COLUMNS,
        *(Column("param", key, key) for key in params),
        *(Column("metric", key, key) for key in metrics),
    ]
    paged = pages.Paged(table.candidates, table.total, page, per_page)
    chart = None
    if chart_key and table.candidates:
        chart = charts.bar_chart(
            _metric_bars(ctx, table, chart_key),
            label=f"Latest {chart_key} of the candidates on this page",
            y_label=chart_key,
        )
    return _render(
        ctx,
        "experiment.html",
        status=400 if error else 200,
        experiment=exp,
        table=table,
        paged=paged,
        columns=columns,
        sort_states={c.order_expression: _sort_state(c, order_by) for c in columns},
        params=params,
        metrics=metrics,
        all_params=all_params,
        all_metrics=all_metrics,
        filter_string=filter_string,
        order_by=order_by,
        chart_key=chart_key,
        chart=chart,
        error=error,
        max_compare=pages.MAX_COMPARE,
    )


# --- candidates -------------------------------------------------------------------------------


def _artifact_listing(ctx: ProjectContext, candidate: Run, path: str) -> list[FileInfo]:
    try:
        return artifact_service.list_files(ctx, candidate.artifact_uri, path.replace("%", "%25"))
    except NotFound:
        return []


def _breadcrumbs(path: str) -> list[tuple[str, str]]:
    parts = [p for p in path.split("/") if p]
    return [(part, "/".join(parts[: i + 1])) for i, part in enumerate(parts)]


def _model_names(ctx: ProjectContext) -> list[str]:
    return pages.model_names(ctx)


def _candidate_page(
    ctx: ProjectContext,
    run_id: str,
    *,
    status: int = 200,
    form: dict[str, str] | None = None,
    form_error: str | None = None,
) -> Response:
    candidate = pages.candidate_detail(ctx, run_id)
    path = normalize_path(request.args.get("path", "").strip())
    histories = pages.metric_histories(ctx, [candidate.id])[candidate.id]
    return _render(
        ctx,
        "candidate.html",
        status=status,
        candidate=candidate,
        experiment=candidate.experiment,
        versions=pages.versions_of_candidate(ctx, candidate),
        files=_artifact_listing(ctx, candidate, path),
        path=path,
        crumbs=_breadcrumbs(path),
        metric_charts=history_charts(histories),
        datasets=pages.dataset_inputs(ctx, candidate),
        logged_models=logged_model_cards(ctx, candidate),
        system_tags=[tag for tag in candidate.tags if tag.key.startswith("mlflow.")],
        user_tags=[tag for tag in candidate.tags if not tag.key.startswith("mlflow.")],
        model_names=_model_names(ctx) if is_allowed(
            ctx.project_id, Permission.WRITE_MODEL_REGISTRY) else [],
        form=form or {"model_name": candidate.experiment.name if candidate.experiment else ""},
        form_error=form_error,
    )


def candidate(ctx: ProjectContext, run_id: str) -> Response:
    """A candidate: params, metrics, tags, metric charts, datasets, logged models, artifacts,
    versions, promotion."""
    return _candidate_page(ctx, run_id)


def download_artifact(ctx: ProjectContext, run_id: str, path: str) -> Response:
    """Stream one artifact file of a candidate as a download."""
    candidate = pages.candidate_detail(ctx, run_id)
    root = artifact_service.store_path(ctx, candidate.artifact_uri)
    return _send(ctx, root, path)


def download_logged_model_file(ctx: ProjectContext, run_id: str, model_id: str,
                               path: str) -> Response:
    """Stream one file of a logged model the candidate produced as a download."""
    model = pages.logged_model_of_candidate(ctx, run_id, model_id)
    return _send(ctx, artifact_service.store_path(ctx, model.artifact_uri), path)


def _send(ctx: ProjectContext, root: str, path: str) -> Response:
    rel = normalize_path(path)
    if not rel:
        raise NotFound("No file selected.")
    opened = artifact_service.open_artifact(ctx, f"{root}/{rel}".replace("%", "%25"))
    mimetype = mimetypes.guess_type(opened.name)[0] or "application/octet-stream"
    # Always an attachment: a stored HTML or SVG file must never run on this origin.
    response = send_file(
        opened.stream, mimetype=mimetype, as_attachment=True, download_name=opened.name,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Length"] = str(opened.size)
    return response


def _promote_form() -> dict[str, str]:
    return {
        "model_name": request.form.get("model_name", "").strip(),
        "semver": request.form.get("semver", "").strip(),
        "description": request.form.get("description", "").strip(),
    }


def _check_promote_form(form: dict[str, str]) -> None:
    if not form["model_name"]:
        raise InvalidParameter("Enter the name of the model to promote to.")
    if form["semver"]:
        SemVer.parse(form["semver"])


def _model_to_promote_to(ctx: ProjectContext, name: str) -> RegisteredModel:
    """The named model, created (with its default experiment) when it does not exist yet."""
    try:
        return registry_service.get_model(ctx, name)
    except NotFound:
        return registry_service.create_model(ctx, name)


def promote(ctx: ProjectContext, run_id: str) -> Response:
    """Promote a candidate to a model version (writers of the registry only)."""
    check_csrf()
    form = _promote_form()
    try:
        _check_promote_form(form)
        version = registry_service.promote_candidate(
            ctx,
            _model_to_promote_to(ctx, form["model_name"]),
            run_id,
            semver=form["semver"] or None,
            description=form["description"] or None,
        )
    except (InvalidParameter, AlreadyExists) as exc:
        ctx.session.rollback()
        return _candidate_page(ctx, run_id, status=400, form=form, form_error=exc.message)
    flash(f"Promoted to {version.model.name} {version.semver}.", "info")
    return _redirect(
        _url(ctx)("model_version", model_id=version.model_id, semver=version.semver)
    )


# --- compare ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompareRow:
    """One key across the compared candidates."""

    key: str
    values: list[t.Any]
    differs: bool


def _same(values: Sequence[t.Any]) -> bool:
    def norm(value: t.Any) -> t.Any:
        return "NaN" if isinstance(value, float) and math.isnan(value) else value

    return len({json.dumps(norm(v)) for v in values}) <= 1


def _compare_rows(keys: set[str], values: list[dict[str, t.Any]]) -> list[CompareRow]:
    rows = []
    for key in sorted(keys):
        row = [v.get(key) for v in values]
        rows.append(CompareRow(key, row, not _same(row)))
    return rows


def _overlaid_charts(
    candidates: list[Run], histories: dict[int, dict[str, list[pages.HistoryPoint]]]
) -> list[tuple[str, t.Any]]:
    keys = sorted(
        {key for per_key in histories.values() for key, points in per_key.items()
         if len(points) > 1}
    )
    result = []
    for key in keys:
        series = []
        x_label = "step"
        for c in candidates:
            points, x_label_c = history_series(histories[c.id].get(key, []))
            x_label = x_label_c if points else x_label
            series.append(charts.Series(c.name, points))
        result.append((key, charts.line_chart(series, label=f"History of {key}",
                                              x_label=x_label, y_label=key)))
    return result


def compare(ctx: ProjectContext) -> Response:
    """2 to 10 candidates side by side, differences highlighted, histories overlaid."""
    ids = _list_arg("ids") or []
    candidates = pages.candidates_by_run_ids(ctx, ids)
    only_diff = request.args.get("only_diff") == "1"
    params = [{p.key: p.value for p in c.params} for c in candidates]
    metrics = [
        {m.key: math.nan if m.is_nan else m.value for m in c.latest_metrics} for c in candidates
    ]
    histories = pages.metric_histories(ctx, [c.id for c in candidates])
    return _render(
        ctx,
        "compare.html",
        candidates=candidates,
        colors=[charts.color(i) for i in range(len(candidates))],
        param_rows=_compare_rows({k for p in params for k in p}, params),
        metric_rows=_compare_rows({k for m in metrics for k in m}, metrics),
        overlaid=_overlaid_charts(candidates, histories),
        only_diff=only_diff,
        ids=",".join(c.run_id for c in candidates),
    )


# --- models -----------------------------------------------------------------------------------


def models(ctx: ProjectContext) -> Response:
    """The project's registered models."""
    page = _page_arg()
    per_page = _int_arg("per_page", MODELS_PER_PAGE, maximum=MAX_PER_PAGE)
    return _render(ctx, "models.html", rows=pages.model_page(ctx, page=page, per_page=per_page))


def model(ctx: ProjectContext, model_id: int) -> Response:
    """A model: description, versions by SemVer precedence with aliases, latest version."""
    detail = pages.model_detail(ctx, _known_id(model_id, "Registered Model"))
    return _render(
        ctx,
        "model.html",
        detail=detail,
        model=detail.model,
        description=render_markdown(detail.model.description),
    )


def _load_snippet(version: ModelVersion) -> str:
    name = version.model.name
    by_semver = json.dumps(f"models:/{name}@{version.semver}", ensure_ascii=False)
    by_number = json.dumps(f"models:/{name}/{version.sequence}", ensure_ascii=False)
    return (
        "import mlflow\n\n"
        f"model = mlflow.pyfunc.load_model({by_semver})\n"
        "# or by MLflow version number:\n"
        f"model = mlflow.pyfunc.load_model({by_number})"
    )


def _version_candidate(ctx: ProjectContext, version: ModelVersion) -> Run | None:
    if version.run is not None:
        return version.run
    if version.run_id:
        try:
            return pages.candidate_detail(ctx, version.run_id)
        except NotFound:
            return None
    return None


def model_version(ctx: ProjectContext, model_id: int, semver: str) -> Response:
    """A model version: aliases, package, files, requirements, provenance (the candidate, its
    datasets, params and metrics) and how to load it."""
    version, aliases = pages.model_version_detail(
        ctx, _known_id(model_id, "Registered Model"), semver
    )
    files, truncated = bounded_files(
        ctx, registry_service.files_uri(ctx, version), MAX_VERSION_FILES
    )
    candidate = _version_candidate(ctx, version)
    return _render(
        ctx,
        "model_version.html",
        version=version,
        model=version.model,
        aliases=aliases,
        description=render_markdown(version.description),
        package_url=get_state().registry.hooks.package_url(ctx.project_id, version.package_id),
        files=files,
        files_truncated=truncated,
        candidate=candidate,
        datasets=pages.dataset_inputs(ctx, candidate) if candidate is not None else [],
        requirements=requirement_service.version_requirements(ctx, version),
        snippet=_load_snippet(version),
    )


def download_version_file(ctx: ProjectContext, model_id: int, semver: str, path: str) -> Response:
    """Stream one file of a model version as a download."""
    version, _ = pages.model_version_detail(ctx, _known_id(model_id, "Registered Model"), semver)
    uri = registry_service.files_uri(ctx, version)
    if uri is None:
        raise NotFound("This model version has no stored files.")
    return _send(ctx, artifact_service.store_path(ctx, uri), path)
