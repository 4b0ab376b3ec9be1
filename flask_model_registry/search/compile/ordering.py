"""What the per-entity orderings share: directions, missing values last, and their errors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case
from sqlalchemy.sql.elements import ColumnElement

from flask_model_registry.errors import InvalidParameter

from ..parser import OrderKey
from .comparisons import Col

OrderBy = list[ColumnElement[Any]]


def null_last(expr: Col) -> ColumnElement[Any]:
    """A sort key that puts rows whose ``expr`` is NULL after the others, in either direction."""
    rank: ColumnElement[Any] = case((expr.is_(None), 1), else_=0)
    return rank


def direction(expr: Col, ascending: bool) -> ColumnElement[Any]:
    return expr.asc() if ascending else expr.desc()


def order_error(order_by: Any, key: OrderKey | None, message: str) -> InvalidParameter:
    """An error naming the offending clause, or the whole ``order_by`` when ``key`` is None."""
    if key is not None:
        return InvalidParameter(f"Invalid order_by clause '{key.clause}': {message}")
    return InvalidParameter(f"Invalid order_by {list(order_by or [])!r}: {message}")
