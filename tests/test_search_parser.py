"""The search lexer and parser alone: prefixes, quoting, comparators, lists and error positions."""

from __future__ import annotations

import pytest

from flask_model_registry.errors import InvalidParameter
from flask_model_registry.search.lexer import TokenKind, tokenize
from flask_model_registry.search.parser import (
    Comparison,
    OrderKey,
    parse_filter,
    parse_order_by,
)


def one(filter_string: str) -> Comparison:
    comparisons = parse_filter(filter_string)
    assert len(comparisons) == 1
    return comparisons[0]


# lexer ---------------------------------------------------------------------------------------


def test_tokenize_kinds_and_positions() -> None:
    tokens = tokenize("metrics.`my key` >= -1.5e2 AND tags.x IN ('a', \"b\")")
    assert [(t.kind, t.pos) for t in tokens] == [
        (TokenKind.IDENT, 0),
        (TokenKind.OP, 17),
        (TokenKind.NUMBER, 20),
        (TokenKind.KEYWORD, 27),
        (TokenKind.IDENT, 31),
        (TokenKind.KEYWORD, 38),
        (TokenKind.LPAREN, 41),
        (TokenKind.STRING, 42),
        (TokenKind.COMMA, 45),
        (TokenKind.STRING, 47),
        (TokenKind.RPAREN, 50),
        (TokenKind.EOF, 51),
    ]
    assert tokens[0].parts == ("metrics", "my key")
    assert tokens[2].value == -150.0
    assert tokens[9].value == "b"
    assert tokens[9].quote == '"'


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1),
        ("-2", -2),
        ("1.5", 1.5),
        ("-.5", -0.5),
        ("1.", 1.0),
        ("1e3", 1000.0),
        ("2.5E-1", 0.25),
        ("1e+2", 100.0),
    ],
)
def test_tokenize_numbers(text: str, value: float) -> None:
    token = tokenize(text)[0]
    assert token.kind is TokenKind.NUMBER
    assert token.value == value
    assert type(token.value) is type(value)


@pytest.mark.parametrize("word", ["and", "AND", "And", "like", "ILike", "in", "not", "is", "null"])
def test_tokenize_keywords_case_insensitive(word: str) -> None:
    token = tokenize(word)[0]
    assert token.kind is TokenKind.KEYWORD
    assert token.value == word.upper()


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("'it''s'", "it's"),
        (r"'it\'s'", "it's"),
        (r"'a\\b'", "a\\b"),
        (r"'100\%'", r"100\%"),
        ('"say ""hi"""', 'say "hi"'),
        ("''", ""),
    ],
)
def test_tokenize_string_escapes(source: str, value: str) -> None:
    token = tokenize(source)[0]
    assert token.kind is TokenKind.STRING
    assert token.value == value


# filters: prefixes, keys and quoting -------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "entity_type"),
    [
        ("metrics", "metric"),
        ("metric", "metric"),
        ("params", "param"),
        ("param", "param"),
        ("parameter", "param"),
        ("parameters", "param"),
        ("tags", "tag"),
        ("tag", "tag"),
        ("attributes", "attribute"),
        ("attribute", "attribute"),
        ("attr", "attribute"),
        ("run", "attribute"),
        ("datasets", "dataset"),
        ("dataset", "dataset"),
    ],
)
def test_every_prefix(prefix: str, entity_type: str) -> None:
    c = one(f"{prefix}.key = 'v'")
    assert c == Comparison(entity_type, "key", "=", "v")
    assert c.prefix == prefix


def test_bare_identifier_is_attribute() -> None:
    c = one("status = 'FINISHED'")
    assert c == Comparison("attribute", "status", "=", "FINISHED")
    assert c.prefix is None


@pytest.mark.parametrize(
    ("source", "key"),
    [
        ("tags.mlflow.runName = 'x'", "mlflow.runName"),
        ("tags.`mlflow.runName` = 'x'", "mlflow.runName"),
        ("tags.\"mlflow.runName\" = 'x'", "mlflow.runName"),
        ("metrics.`my key` = 'x'", "my key"),
        ("params.`a-b` = 'x'", "a-b"),
        ("params.1st = 'x'", "1st"),
        ("params.`weird``tick` = 'x'", "weird`tick"),
    ],
)
def test_quoted_and_dotted_keys(source: str, key: str) -> None:
    assert one(source).key == key


def test_backticked_prefix() -> None:
    assert one("`tags`.x = 'y'") == Comparison("tag", "x", "=", "y")


@pytest.mark.parametrize("source", ["`run name` = 'x'", "\"run name\" = 'x'"])
def test_quoted_bare_attribute(source: str) -> None:
    assert one(source) == Comparison("attribute", "run name", "=", "x")


def test_double_quoted_value_is_a_string() -> None:
    assert one('params.a = "b c"') == Comparison("param", "a", "=", "b c")


# filters: comparators and values ----------------------------------------------------------------


@pytest.mark.parametrize("op", ["=", "!=", "<>", "<", "<=", ">", ">="])
def test_each_symbolic_comparator(op: str) -> None:
    assert one(f"metrics.acc {op} 0.5") == Comparison("metric", "acc", op, 0.5)


def test_comparators_without_spaces() -> None:
    assert one("metrics.acc>=-1") == Comparison("metric", "acc", ">=", -1)


@pytest.mark.parametrize("op", ["LIKE", "like", "ILIKE", "iLike"])
def test_like_comparators_upper_cased(op: str) -> None:
    assert one(f"params.m {op} 'a%'") == Comparison("param", "m", op.upper(), "a%")


def test_in_and_not_in_lists() -> None:
    assert one("run_id IN ('a', 'b')") == Comparison("attribute", "run_id", "IN", ("a", "b"))
    assert one("run_id not in ('a',)") == Comparison("attribute", "run_id", "NOT IN", ("a",))
    assert one('datasets.name IN ("x")') == Comparison("dataset", "name", "IN", ("x",))


def test_is_null_and_is_not_null() -> None:
    assert one("params.a IS NULL") == Comparison("param", "a", "IS NULL", None)
    assert one("tags.a is not null") == Comparison("tag", "a", "IS NOT NULL", None)


def test_numbers_keep_int_or_float() -> None:
    assert one("start_time > 5").value == 5
    assert isinstance(one("start_time > 5").value, int)
    assert one("start_time > 5.0").value == 5.0
    assert isinstance(one("start_time > 5.0").value, float)


def test_raw_value_and_positions() -> None:
    c = parse_filter("params.a = 'x' AND metrics.b  >  1e2")[1]
    assert c.raw_value == "1e2"
    assert (c.position, c.op_position, c.value_position) == (19, 30, 33)


def test_and_joins_many_comparisons_case_insensitively() -> None:
    assert parse_filter("metrics.a > 1 and params.b = 'x' AnD tags.c != 'y'") == [
        Comparison("metric", "a", ">", 1),
        Comparison("param", "b", "=", "x"),
        Comparison("tag", "c", "!=", "y"),
    ]


@pytest.mark.parametrize("source", [None, "", "   "])
def test_empty_filter(source: str | None) -> None:
    assert parse_filter(source) == []


# filter errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("metrics.acc >> 1", "Invalid filter 'metrics.acc >> 1': unexpected '>' at position 13"),
        ("metrics.acc == 1", "unexpected '=' at position 13"),
        ("metrics.a > 1 OR metrics.b > 1", "unsupported 'OR' at position 14"),
        ("metrics.a > 1 or metrics.b > 1", "Invalid clause(s) in filter string: 'or'"),
        ("(metrics.a > 1)", "unexpected '(' at position 0"),
        ("NOT metrics.a > 1", "unexpected 'NOT' at position 0"),
        ("metrics.a > 1 AND", "unexpected end of input at position 17"),
        ("AND metrics.a > 1", "unexpected 'AND' at position 0"),
        ("metrics.a > 1 metrics.b > 2", "unexpected 'metrics.b' at position 14"),
        ("metrics.a > 1 AND AND metrics.b > 2", "unexpected 'AND' at position 18"),
        ("status = RUNNING", "unexpected 'RUNNING' at position 9"),
        ("params.a = 'open", "unterminated string at position 11"),
        ("params.`a = 'x'", "unterminated quoted identifier at position 7"),
        ("metrics.a-b > 1", "unexpected '-' at position 9"),
        ("metrics.a > +1", "unexpected '+' at position 12"),
        ("metrics.a > 1x", "unexpected 'x' at position 13"),
        ("metrics. > 1", "unexpected '.' at position 7"),
        ("foo.bar = 'x'", "Invalid entity type 'foo' at position 0"),
        ("run_id IN ()", "empty list at position 11"),
        ("run_id IN (1, 2)", "unexpected '1' at position 11"),
        ("run_id IN 'a'", "unexpected \"'a'\" at position 10"),
        ("run_id IN ('a' 'b')", "unexpected \"'b'\" at position 15"),
        ("run_id = ('a')", "unexpected '(' at position 9"),
        ("params.a IS 'x'", "unexpected \"'x'\" at position 12"),
        ("params.a NOT LIKE 'x'", "unexpected 'LIKE' at position 13"),
        ("tags.x = 'a' ; tags.y = 'b'", "unexpected ';' at position 13"),
        ("params.a", "unexpected end of input at position 8"),
    ],
)
def test_filter_errors_quote_filter_and_position(source: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as excinfo:
        parse_filter(source)
    assert message in excinfo.value.message
    assert excinfo.value.message.startswith(f"Invalid filter '{source}': ")
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"


# order_by ------------------------------------------------------------------------------------


def test_order_by_directions_and_default() -> None:
    assert parse_order_by(
        ["metrics.acc DESC", "params.lr asc", "start_time", "tags.`a b` Desc"]
    ) == [
        OrderKey("metric", "acc", False),
        OrderKey("param", "lr", True),
        OrderKey("attribute", "start_time", True),
        OrderKey("tag", "a b", False),
    ]


def test_order_by_keeps_prefix() -> None:
    (key,) = parse_order_by(["attr.run_name"])
    assert key == OrderKey("attribute", "run_name", True)
    assert key.prefix == "attr"


def test_order_by_none_and_empty_list() -> None:
    assert parse_order_by(None) == []
    assert parse_order_by([]) == []


@pytest.mark.parametrize(
    ("clause", "message"),
    [
        ("", "unexpected end of input at position 0"),
        ("metrics.acc sideways", "unexpected 'sideways' at position 12"),
        ("metrics.acc DESC ASC", "unexpected 'ASC' at position 17"),
        ("metrics.acc, params.x", "unexpected ',' at position 11"),
        ("bogus.acc", "Invalid entity type 'bogus' at position 0"),
        ("'quoted'", "unexpected \"'quoted'\" at position 0"),
    ],
)
def test_order_by_errors(clause: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as excinfo:
        parse_order_by([clause])
    assert excinfo.value.message.startswith(f"Invalid order_by clause '{clause}': ")
    assert message in excinfo.value.message


def test_order_by_rejects_a_bare_string() -> None:
    with pytest.raises(InvalidParameter, match="expected a list"):
        parse_order_by("metrics.acc")


def test_unicode_keys() -> None:
    assert one("params.café = 'x'") == Comparison("param", "café", "=", "x")


def test_non_string_filter_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match="expected a string"):
        parse_filter(42)  # type: ignore[arg-type]
