"""Dialect-aware SQL constructs the search compiler needs.

* :func:`like` is a case-sensitive ``LIKE`` on every dialect. SQLite's ``LIKE`` ignores ASCII
  case, so there it compiles to ``GLOB`` with the pattern translated; elsewhere it is
  ``LIKE ... ESCAPE '\\'``.
* :func:`ilike` is a case-insensitive ``LIKE`` (``ILIKE`` on PostgreSQL,
  ``lower(x) LIKE lower(p)`` elsewhere).
* :func:`json_list_tag_value` extracts ``value`` of the first ``{"key": k, "value": v}`` item of
  a JSON list stored in a text column (SQLite ``json_each``, PostgreSQL
  ``json_array_elements``).

In patterns ``%`` matches any run of characters, ``_`` one character, and a backslash makes
the next character literal (PostgreSQL's default); a trailing lone backslash is literal.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, String, bindparam, literal
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import coercions, operators, roles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import (
    BindParameter,
    ColumnElement,
    Grouping,
    SQLColumnExpression,
    UnaryExpression,
)
from sqlalchemy.sql.visitors import InternalTraversal

__all__ = [
    "CaseSensitiveLike",
    "JsonListTagValue",
    "glob_pattern",
    "ilike",
    "json_list_tag_value",
    "like",
    "like_pattern",
    "pattern_parts",
]

_ANY = "%"
_ONE = "_"


def pattern_parts(pattern: str) -> list[tuple[bool, str]]:
    """Split a LIKE pattern into ``(is_wildcard, char)`` items, resolving backslash escapes."""
    parts: list[tuple[bool, str]] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            parts.append((False, pattern[i + 1]))
            i += 2
            continue
        parts.append((ch in (_ANY, _ONE), ch))
        i += 1
    return parts


def like_pattern(pattern: str) -> str:
    """The pattern in canonical ``LIKE ... ESCAPE '\\'`` form."""
    out: list[str] = []
    for wildcard, ch in pattern_parts(pattern):
        if not wildcard and ch in (_ANY, _ONE, "\\"):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def glob_pattern(pattern: str) -> str:
    """The pattern as an SQLite ``GLOB`` pattern (``*``, ``?``, literals bracketed)."""
    out: list[str] = []
    for wildcard, ch in pattern_parts(pattern):
        if wildcard:
            out.append("*" if ch == _ANY else "?")
        elif ch in "*?[":
            out.append(f"[{ch}]")
        else:
            out.append(ch)
    return "".join(out)


class CaseSensitiveLike(ColumnElement[bool]):
    """``expr LIKE pattern`` that respects case on every dialect (``GLOB`` on SQLite)."""

    __visit_name__ = "case_sensitive_like"
    type = Boolean()

    _traverse_internals = [
        ("expr", InternalTraversal.dp_clauseelement),
        ("like_value", InternalTraversal.dp_clauseelement),
        ("glob_value", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, expr: SQLColumnExpression[Any], pattern: str) -> None:
        self.expr: ColumnElement[Any] = coercions.expect(roles.ExpressionElementRole, expr)
        self.like_value: BindParameter[str] = bindparam(
            None, like_pattern(pattern), type_=String(), unique=True
        )
        self.glob_value: BindParameter[str] = bindparam(
            None, glob_pattern(pattern), type_=String(), unique=True
        )

    def self_group(self, against: Any = None) -> ColumnElement[Any]:
        """Parenthesise, so dialects without booleans do not append ``= 1``."""
        return Grouping(self)

    def _negate(self) -> ColumnElement[Any]:
        return UnaryExpression(Grouping(self), operator=operators.inv)


@compiles(CaseSensitiveLike)
def _like_default(element: CaseSensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.expr.like(element.like_value, escape="\\"), **kw)


@compiles(CaseSensitiveLike, "sqlite")
def _like_sqlite(element: CaseSensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.expr.op("GLOB", is_comparison=True)(element.glob_value), **kw)


def like(expr: SQLColumnExpression[Any], pattern: str) -> ColumnElement[bool]:
    """Case-sensitive ``LIKE`` on every dialect."""
    return CaseSensitiveLike(expr, pattern)


def ilike(expr: SQLColumnExpression[Any], pattern: str) -> ColumnElement[bool]:
    """Case-insensitive ``LIKE`` on every dialect."""
    return expr.ilike(like_pattern(pattern), escape="\\")


class JsonListTagValue(ColumnElement[str]):
    """``value`` of the first ``{"key": <key>, "value": ...}`` object in a JSON list column."""

    __visit_name__ = "json_list_tag_value"
    type = String()

    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("tag_key", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: SQLColumnExpression[Any], key: str) -> None:
        self.column: ColumnElement[Any] = coercions.expect(roles.ExpressionElementRole, column)
        self.tag_key: BindParameter[str] = bindparam(None, key, type_=String(), unique=True)


@compiles(JsonListTagValue)
def _json_default(element: JsonListTagValue, compiler: SQLCompiler, **kw: Any) -> str:
    raise CompileError(
        f"JSON tag lookups are not implemented for the {compiler.dialect.name} dialect"
    )


@compiles(JsonListTagValue, "sqlite")
def _json_sqlite(element: JsonListTagValue, compiler: SQLCompiler, **kw: Any) -> str:
    col = compiler.process(element.column, **kw)
    key = compiler.process(element.tag_key, **kw)
    empty = compiler.process(literal("[]"), **kw)
    return (
        "(SELECT json_extract(_jt.value, '$.value') FROM json_each("
        f"CASE WHEN json_valid({col}) THEN {col} ELSE {empty} END) AS _jt "
        f"WHERE json_extract(_jt.value, '$.key') = {key} LIMIT 1)"
    )


@compiles(JsonListTagValue, "postgresql")
def _json_postgresql(element: JsonListTagValue, compiler: SQLCompiler, **kw: Any) -> str:
    col = compiler.process(element.column, **kw)
    key = compiler.process(element.tag_key, **kw)
    return (
        "(SELECT _jt.value ->> 'value' FROM json_array_elements("
        f"CAST({col} AS json)) AS _jt WHERE _jt.value ->> 'key' = {key} LIMIT 1)"
    )


def json_list_tag_value(column: SQLColumnExpression[Any], key: str) -> ColumnElement[str]:
    """Scalar SQL expression: the tag ``key``'s value in a JSON ``[{key, value}]`` column."""
    return JsonListTagValue(column, key)
