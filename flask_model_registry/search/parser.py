"""Recursive-descent parser of MLflow search filters and ``order_by`` clauses.

Grammar (keywords case-insensitive)::

    filter     := comparison ( AND comparison )*
    comparison := identifier comparator value
                | identifier [NOT] IN '(' string ( ',' string )* [','] ')'
                | identifier IS [NOT] NULL
    comparator := = | != | <> | < | <= | > | >= | LIKE | ILIKE
    value      := string | number
    identifier := [prefix '.'] key          (segments may be `backticked` or "quoted")
    order_by   := identifier [ASC | DESC]

The parser checks syntax only and normalises entity prefixes; which keys, comparators and
value types an entity accepts is decided per search in :mod:`.compile`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from flask_model_registry.errors import InvalidParameter

from .lexer import Token, TokenKind, tokenize

__all__ = [
    "ATTRIBUTE",
    "DATASET",
    "ENTITY_PREFIXES",
    "METRIC",
    "PARAM",
    "TAG",
    "Comparison",
    "OrderKey",
    "Value",
    "parse_filter",
    "parse_order_by",
    "parse_order_by_clause",
]

METRIC = "metric"
PARAM = "param"
TAG = "tag"
ATTRIBUTE = "attribute"
DATASET = "dataset"

#: Every entity prefix MLflow's run search accepts, mapped to its entity type.
ENTITY_PREFIXES: dict[str, str] = {
    "metric": METRIC,
    "metrics": METRIC,
    "param": PARAM,
    "params": PARAM,
    "parameter": PARAM,
    "parameters": PARAM,
    "tag": TAG,
    "tags": TAG,
    "attribute": ATTRIBUTE,
    "attributes": ATTRIBUTE,
    "attr": ATTRIBUTE,
    "run": ATTRIBUTE,
    "dataset": DATASET,
    "datasets": DATASET,
}

#: A comparison's right-hand side: a string, a number, a list (``IN``) or ``None`` (``IS NULL``).
Value = str | int | float | tuple[str, ...] | None


@dataclass(frozen=True)
class Comparison:
    """One ``<entity>.<key> <comparator> <value>`` clause.

    ``entity_type`` is one of ``metric``, ``param``, ``tag``, ``attribute``, ``dataset``;
    ``comparator`` is upper-cased (``=``, ``LIKE``, ``NOT IN``, ``IS NULL``...). ``prefix`` is the
    entity prefix as written (``None`` for a bare attribute), ``raw_value`` the source text of
    the value, and the ``*position`` fields the offsets of the clause, its comparator and its
    value; these do not take part in equality.
    """

    entity_type: str
    key: str
    comparator: str
    value: Value
    prefix: str | None = field(default=None, compare=False)
    position: int = field(default=0, compare=False)
    raw_value: str = field(default="", compare=False)
    op_position: int = field(default=0, compare=False)
    value_position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class OrderKey:
    """One ``order_by`` item; ``prefix`` (as written) and ``clause`` (the source text) do not
    take part in equality."""

    entity_type: str
    key: str
    ascending: bool = True
    prefix: str | None = field(default=None, compare=False)
    clause: str = field(default="", compare=False)


class _Parser:
    def __init__(self, source: str, what: str) -> None:
        self.source = source
        self.what = what
        self.tokens = tokenize(source, what)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        if token.kind is not TokenKind.EOF:
            self.i += 1
        return token

    def error(self, message: str, pos: int, hint: str = "") -> InvalidParameter:
        suffix = f"; {hint}" if hint else ""
        return InvalidParameter(
            f"Invalid {self.what} '{self.source}': {message} at position {pos}{suffix}"
        )

    def unexpected(self, token: Token, expected: str) -> InvalidParameter:
        if token.kind is TokenKind.EOF:
            return self.error("unexpected end of input", token.pos, f"expected {expected}")
        return self.error(f"unexpected {token.text!r}", token.pos, f"expected {expected}")

    def is_keyword(self, token: Token, *words: str) -> bool:
        return token.kind is TokenKind.KEYWORD and token.value in words

    # filter ---------------------------------------------------------------------------

    def filter(self) -> list[Comparison]:
        comparisons = [self.comparison()]
        while True:
            token = self.tok
            if token.kind is TokenKind.EOF:
                return comparisons
            if self.is_keyword(token, "AND"):
                self.advance()
                comparisons.append(self.comparison())
                continue
            if self.is_keyword(token, "OR"):
                raise self.error(
                    f"unsupported {token.text!r}",
                    token.pos,
                    "comparisons can only be joined with AND "
                    f"(Invalid clause(s) in filter string: '{token.text}')",
                )
            raise self.unexpected(token, "AND or end of input")

    def comparison(self) -> Comparison:
        start = self.tok
        if self.is_keyword(start, "OR", "NOT") or start.kind is TokenKind.LPAREN:
            raise self.error(
                f"unexpected {start.text!r}",
                start.pos,
                "a filter is a list of comparisons joined by AND, without OR, NOT or parentheses",
            )
        entity_type, key, prefix = self.identifier()
        op = self.advance()
        comparator: str
        if op.kind is TokenKind.OP or self.is_keyword(op, "LIKE", "ILIKE"):
            comparator = str(op.value)
            value_token = self.advance()
            value: Value
            if value_token.kind is TokenKind.STRING or value_token.kind is TokenKind.NUMBER:
                value = value_token.value
            elif value_token.kind is TokenKind.LPAREN:
                raise self.error(
                    "unexpected '('", value_token.pos, f"a list needs IN or NOT IN, not {op.text!r}"
                )
            elif value_token.kind is TokenKind.IDENT:
                raise self.error(
                    f"unexpected {value_token.text!r}",
                    value_token.pos,
                    "expected a quoted string or a number (string values must be quoted)",
                )
            else:
                raise self.unexpected(value_token, "a quoted string or a number")
            raw = value_token.text
            value_pos = value_token.pos
        elif self.is_keyword(op, "IN"):
            comparator = "IN"
            value_pos = self.tok.pos
            value, raw = self.string_list()
        elif self.is_keyword(op, "NOT"):
            nxt = self.advance()
            if not self.is_keyword(nxt, "IN"):
                raise self.unexpected(nxt, "IN after NOT")
            comparator = "NOT IN"
            value_pos = self.tok.pos
            value, raw = self.string_list()
        elif self.is_keyword(op, "IS"):
            nxt = self.advance()
            comparator = "IS NULL"
            if self.is_keyword(nxt, "NOT"):
                comparator = "IS NOT NULL"
                nxt = self.advance()
            if not self.is_keyword(nxt, "NULL"):
                raise self.unexpected(nxt, "NULL")
            value, raw, value_pos = None, "", op.pos
        else:
            raise self.unexpected(op, "a comparator (= != < <= > >= LIKE ILIKE IN IS)")
        return Comparison(
            entity_type,
            key,
            comparator,
            value,
            prefix=prefix,
            position=start.pos,
            raw_value=raw,
            op_position=op.pos,
            value_position=value_pos,
        )

    def string_list(self) -> tuple[tuple[str, ...], str]:
        open_ = self.advance()
        if open_.kind is not TokenKind.LPAREN:
            raise self.unexpected(open_, "'(' starting a list of quoted strings")
        items: list[str] = []
        while True:
            token = self.advance()
            if token.kind is TokenKind.RPAREN:
                if not items:
                    raise self.error(
                        "empty list", token.pos, "expected a non-empty list of quoted strings"
                    )
                break
            if token.kind is not TokenKind.STRING:
                raise self.unexpected(token, "a quoted string in the list")
            items.append(str(token.value))
            sep = self.advance()
            if sep.kind is TokenKind.RPAREN:
                break
            if sep.kind is not TokenKind.COMMA:
                raise self.unexpected(sep, "',' or ')'")
        end = self.tokens[self.i - 1].end
        return tuple(items), self.source[open_.pos : end]

    def identifier(self) -> tuple[str, str, str | None]:
        token = self.advance()
        if token.kind is TokenKind.STRING and token.quote == '"':
            parts: tuple[str, ...] = (str(token.value),)
        elif token.kind is TokenKind.IDENT:
            parts = token.parts
        else:
            raise self.unexpected(token, "an identifier such as metrics.<key> or params.<key>")
        if len(parts) == 1:
            return ATTRIBUTE, parts[0], None
        prefix, key = parts[0], ".".join(parts[1:])
        entity_type = ENTITY_PREFIXES.get(prefix)
        if entity_type is None:
            valid = ", ".join(sorted(ENTITY_PREFIXES))
            raise self.error(
                f"Invalid entity type {prefix!r}", token.pos, f"valid prefixes are {valid}"
            )
        return entity_type, key, prefix

    # order_by ---------------------------------------------------------------------------

    def order_key(self) -> OrderKey:
        if self.tok.kind is TokenKind.EOF:
            raise self.error("unexpected end of input", self.tok.pos, "expected an identifier")
        entity_type, key, prefix = self.identifier()
        ascending = True
        token = self.advance()
        if token.kind is TokenKind.IDENT and token.text.upper() in ("ASC", "DESC"):
            ascending = token.text.upper() == "ASC"
            token = self.advance()
        if token.kind is not TokenKind.EOF:
            raise self.unexpected(token, "ASC, DESC or end of input")
        return OrderKey(entity_type, key, ascending, prefix=prefix, clause=self.source)


def parse_filter(filter_string: str | None) -> list[Comparison]:
    """Parse an AND-joined filter; ``None``, empty or blank gives ``[]``.

    Raises :class:`InvalidParameter` naming the filter and the position of the problem.
    """
    if filter_string is None:
        return []
    if not isinstance(filter_string, str):
        raise InvalidParameter(f"Invalid filter {filter_string!r}: expected a string")
    if not filter_string.strip():
        return []
    return _Parser(filter_string, "filter").filter()


def parse_order_by_clause(clause: str) -> OrderKey:
    """Parse one ``"<identifier> [ASC|DESC]"`` item."""
    if not isinstance(clause, str):
        raise InvalidParameter(f"Invalid order_by clause {clause!r}: expected a string")
    return _Parser(clause, "order_by clause").order_key()


def parse_order_by(order_by: Iterable[str] | None) -> list[OrderKey]:
    """Parse a list of ``"<identifier> [ASC|DESC]"`` items (``ASC`` by default)."""
    if order_by is None:
        return []
    if isinstance(order_by, str):
        raise InvalidParameter(f"Invalid order_by {order_by!r}: expected a list of strings")
    return [parse_order_by_clause(clause) for clause in order_by]
