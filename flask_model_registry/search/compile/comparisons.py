"""What the per-entity filters share: the filter being compiled, with the checks that word its
errors, and comparisons of columns with values."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Double, and_, false, literal, literal_column, or_, true
from sqlalchemy.sql.elements import ColumnElement, SQLColumnExpression

from flask_model_registry.errors import InvalidParameter

from .. import sql
from ..parser import Comparison, Value, parse_filter


class Ops:
    """The comparators MLflow accepts, by the kind of value compared."""

    NUMERIC = ("=", "!=", "<", "<=", ">", ">=")
    STRING = ("=", "!=", "LIKE", "ILIKE")
    LIST = ("IN", "NOT IN")
    NULL = ("IS NULL", "IS NOT NULL")


_NUMERIC_FUNCS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

Col = SQLColumnExpression[Any]

#: The select list of every ``EXISTS`` subquery.
ONE: ColumnElement[Any] = literal_column("1")
Clauses = list[ColumnElement[bool]]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class Filter:
    """The filter being compiled, for error messages that quote it."""

    def __init__(self, filter_string: str | None) -> None:
        self.source = filter_string or ""
        self.comparisons = parse_filter(filter_string)

    def error(self, c: Comparison, message: str, at: str = "clause") -> InvalidParameter:
        """An error about ``c``; ``at`` picks the position quoted: clause, op or value."""
        pos = {"op": c.op_position, "value": c.value_position}.get(at, c.position)
        return InvalidParameter(f"Invalid filter '{self.source}': {message} at position {pos}")

    def check_prefix(self, c: Comparison, allowed: Sequence[str]) -> None:
        if c.prefix is not None and c.prefix not in allowed:
            raise self.error(
                c, f"Invalid entity type '{c.prefix}'. Valid entity types are {tuple(allowed)}"
            )

    def check_op(self, c: Comparison, allowed: Sequence[str], what: str) -> None:
        if c.comparator not in allowed:
            raise self.error(
                c,
                f"Invalid comparator '{c.comparator}' for {what}, expected one of "
                + ", ".join(allowed),
                at="op",
            )

    def number(self, c: Comparison, what: str) -> int | float:
        if isinstance(c.value, (int, float)) and not isinstance(c.value, bool):
            if isinstance(c.value, int) and not INT64_MIN <= c.value <= INT64_MAX:
                return float(c.value)  # beyond a 64-bit integer: compare as a double
            return c.value
        raise self.error(
            c, f"Expected numeric value type for {what}. Found {c.raw_value}", at="value"
        )

    def integer(self, c: Comparison, what: str, *, allow_quoted: bool = False) -> int:
        value = c.value
        if allow_quoted and isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                pass
        if isinstance(value, int) and not isinstance(value, bool):
            if INT64_MIN <= value <= INT64_MAX:
                return value
            raise self.error(
                c, f"Value for numeric attribute '{what}' is out of range: {c.raw_value}",
                at="value",
            )
        raise self.error(
            c, f"Invalid value for numeric attribute '{what}': {c.raw_value}", at="value"
        )

    def string(self, c: Comparison, what: str, *, allow_number: bool = False) -> str:
        if isinstance(c.value, str):
            return c.value
        if allow_number and isinstance(c.value, (int, float)):
            return c.raw_value
        raise self.error(
            c,
            f"Expected a quoted string value for {what} (e.g. 'my-value'). Got value {c.raw_value}",
            at="value",
        )

    def strings(self, c: Comparison, what: str, list_keys: Iterable[str]) -> str | tuple[str, ...]:
        """A string, or a list for IN/NOT IN on a key that supports lists."""
        if isinstance(c.value, tuple):
            keys = sorted(list_keys)
            if c.key not in keys:
                raise self.error(
                    c,
                    f"Only {keys} attributes support comparison with a list of quoted "
                    "string values",
                    at="value",
                )
            return c.value
        return self.string(c, what)


def compare_string(column: Col, comparator: str, value: Value) -> ColumnElement[bool]:
    if comparator in Ops.LIST:
        assert isinstance(value, tuple)
        return column.in_(value) if comparator == "IN" else column.not_in(value)
    assert isinstance(value, str)
    if comparator == "=":
        return column == value
    if comparator == "!=":
        return column != value
    if comparator == "LIKE":
        return sql.like(column, value)
    if comparator == "ILIKE":
        return sql.ilike(column, value)
    raise AssertionError(comparator)  # pragma: no cover - validated by callers


def compare_number(column: Col, comparator: str, value: int | float) -> ColumnElement[bool]:
    # A float bound to an integer column would be cast to the column type (PostgreSQL rounds
    # ``start_time > 1.5`` to ``> 2``); binding it as a double keeps the comparison exact.
    operand: Any = literal(value, Double()) if isinstance(value, float) else value
    result: ColumnElement[bool] = _NUMERIC_FUNCS[comparator](column, operand)
    return result


def nan_aware(
    value_col: Col,
    nan_col: Col,
    comparator: str,
    value: float,
) -> ColumnElement[bool]:
    """A metric comparison: NaN (stored as 0.0 + flag) satisfies only ``!=``."""
    base = compare_number(value_col, comparator, value)
    if comparator == "!=":
        return or_(base, nan_col == true())
    return and_(base, nan_col == false())
