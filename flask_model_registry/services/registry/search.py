"""MLflow's ``search_registered_models`` and ``search_model_versions`` as plain-row records."""

from __future__ import annotations

import functools
import typing as t
from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.sql import Select

from flask_model_registry.pagination import check_max_results, decode_page_token, encode_page_token
from flask_model_registry.search.compile import (
    model_version_filter_clauses,
    model_version_order_by,
    registered_model_filter_clauses,
    registered_model_order_by,
)
from flask_model_registry.services.context import ProjectContext

from .records import (
    MODELS_BY_ID,
    ModelRecord,
    VersionRecord,
    records_of_models,
    records_of_versions,
    versions_where,
)
from .tables import MODELS, PROJECT

SEARCH_MODELS_DEFAULT = 100
SEARCH_MODELS_MAX = 1000
SEARCH_VERSIONS_DEFAULT = 200_000
SEARCH_VERSIONS_MAX = 200_000


class ModelRecordPage(t.NamedTuple):
    """One page of registered models and the token of the next page, if any."""

    models: list[ModelRecord]
    next_page_token: str | None


class VersionRecordPage(t.NamedTuple):
    """One page of model versions and the token of the next page, if any."""

    versions: list[VersionRecord]
    next_page_token: str | None


#: Filters longer than this are compiled per request instead of cached.
_CACHED_FILTER_LENGTH = 1000
_SearchBuilder = t.Callable[[str | None, tuple[str, ...] | None], Select[t.Any]]


def _cached_search(
    build: _SearchBuilder,
) -> t.Callable[[str | None, Sequence[str] | None], Select[t.Any]]:
    """Cache the statements ``build`` compiles from the (short) filters clients repeat."""
    cached = functools.lru_cache(maxsize=256)(build)

    @functools.wraps(build)
    def statement(filter_string: str | None, order_by: Sequence[str] | None) -> Select[t.Any]:
        key = None if order_by is None else tuple(order_by)
        if filter_string is not None and len(filter_string) > _CACHED_FILTER_LENGTH:
            return build(filter_string, key)
        return cached(filter_string, key)

    return statement


def _page(
    ctx: ProjectContext,
    run: t.Callable[..., t.Any],
    statement: Select[t.Any],
    limit: int,
    page_token: str | None,
) -> tuple[Sequence[t.Any], str | None]:
    """The rows of one page of a search ``statement`` (read with ``run``) and the next page's
    token: one row more than ``limit`` is read to tell whether another page follows."""
    offset = decode_page_token(page_token)
    rows = run(statement, {"project_id": ctx.project_id, "offset": offset, "limit": limit + 1})
    found = rows.all()
    token = encode_page_token(offset + limit) if len(found) > limit else None
    return found[:limit], token


@_cached_search
def _model_search(filter_string: str | None, order_by: tuple[str, ...] | None) -> Select[t.Any]:
    """The ids of a page of the models matching ``filter_string``, in ``order_by`` order."""
    clauses = registered_model_filter_clauses(filter_string)
    ordering = registered_model_order_by(order_by)
    return (
        select(MODELS.c.id)
        .where(MODELS.c.project_id == PROJECT, *clauses)
        .order_by(*ordering)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )


def search_model_records(
    ctx: ProjectContext,
    filter_string: str | None,
    *,
    max_results: t.Any = None,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
) -> ModelRecordPage:
    """MLflow's ``search_registered_models``: filter, order, offset page tokens."""
    limit = check_max_results(max_results, default=SEARCH_MODELS_DEFAULT, maximum=SEARCH_MODELS_MAX)
    statement = _model_search(filter_string, order_by)
    ids, token = _page(ctx, ctx.session.scalars, statement, limit, page_token)
    if not ids:
        return ModelRecordPage([], token)
    by_id = {m.id: m for m in records_of_models(ctx, MODELS_BY_ID, model_ids=list(ids))}
    return ModelRecordPage([by_id[model_id] for model_id in ids if model_id in by_id], token)


@_cached_search
def _version_search(filter_string: str | None, order_by: tuple[str, ...] | None) -> Select[t.Any]:
    """A page of the versions matching ``filter_string``, in ``order_by`` order."""
    clauses = model_version_filter_clauses(filter_string)
    ordering = model_version_order_by(order_by)
    return (
        versions_where(*clauses)
        .order_by(*ordering)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )


def search_version_records(
    ctx: ProjectContext,
    filter_string: str | None,
    *,
    max_results: t.Any = None,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
) -> VersionRecordPage:
    """MLflow's ``search_model_versions``: filter, order, offset page tokens (no aliases)."""
    limit = check_max_results(
        max_results, default=SEARCH_VERSIONS_DEFAULT, maximum=SEARCH_VERSIONS_MAX
    )
    statement = _version_search(filter_string, order_by)
    rows, token = _page(ctx, ctx.session.execute, statement, limit, page_token)
    return VersionRecordPage(records_of_versions(ctx, rows, aliases=False), token)
