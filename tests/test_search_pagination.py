"""Page tokens and ``max_results`` validation."""

from __future__ import annotations

import base64
import typing as t

import pytest

from flask_model_registry.errors import InvalidParameter
from flask_model_registry.pagination import (
    check_max_results,
    decode_page_token,
    encode_page_token,
)


def test_token_matches_mlflow_format() -> None:
    assert encode_page_token(1) == "eyJvZmZzZXQiOiAxfQ=="
    assert decode_page_token("eyJvZmZzZXQiOiAxfQ==") == 1


def test_round_trip() -> None:
    assert decode_page_token(encode_page_token(1000)) == 1000
    assert decode_page_token(encode_page_token(0)) == 0


@pytest.mark.parametrize("token", [None, ""])
def test_missing_token_is_offset_zero(token: str | None) -> None:
    assert decode_page_token(token) == 0


def test_bound_token_round_trips_and_rejects_other_requests() -> None:
    bind: dict[str, t.Any] = {
        "experiment_ids": ["1", "2"],
        "filter_string": "metrics.acc > 1",
        "order_by": [{"field_name": "name", "ascending": True}],
    }
    token = encode_page_token(50, **bind)
    assert decode_page_token(token, **bind) == 50
    with pytest.raises(InvalidParameter, match="filter_string does not match"):
        decode_page_token(token, **{**bind, "filter_string": "metrics.acc > 2"})
    with pytest.raises(InvalidParameter, match="experiment_ids does not match"):
        decode_page_token(token, **{**bind, "experiment_ids": ["1"]})


def test_bound_values_compare_as_json() -> None:
    token = encode_page_token(5, ids=("1", "2"))
    assert decode_page_token(token, ids=["1", "2"]) == 5


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("not base64!", "Invalid page token, could not base64-decode"),
        ("%%%%", "Invalid page token, could not base64-decode"),
        (_b64(b"not json"), "Invalid page token, decoded value="),
        (_b64(b"\xff\xfe"), "Invalid page token, decoded value="),
        (_b64(b"[1]"), "Invalid page token, parsed value="),
        (_b64(b'{"offset": -1}'), "Invalid page token, parsed value="),
        (_b64(b'{"offset": "5"}'), "Invalid page token, parsed value="),
        (_b64(b'{"offset": 1.5}'), "Invalid page token, parsed value="),
        (_b64(b'{"offset": true}'), "Invalid page token, parsed value="),
        (_b64(b'{"other": 1}'), "Invalid page token, parsed value="),
    ],
)
def test_garbage_tokens(token: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as excinfo:
        decode_page_token(token)
    assert message in excinfo.value.message
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"


def test_token_without_padding_is_accepted() -> None:
    assert decode_page_token("eyJvZmZzZXQiOiAxfQ") == 1


def test_encode_rejects_negative_offsets() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        encode_page_token(-1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 100), (1, 1), (1000, 1000), ("250", 250), (10.0, 10)],
)
def test_max_results_accepted(value: t.Any, expected: int) -> None:
    assert check_max_results(value, default=100, maximum=1000) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer"),
        (-5, "Invalid value -5 for parameter 'max_results' supplied"),
        (1001, "It must be at most 1000, but got value 1001"),
        ("ten", "Invalid value 'ten' for parameter 'max_results'"),
        (1.5, "Invalid value 1.5 for parameter 'max_results'"),
        (True, "Invalid value True for parameter 'max_results'"),
    ],
)
def test_max_results_rejected(value: t.Any, message: str) -> None:
    with pytest.raises(InvalidParameter) as excinfo:
        check_max_results(value, default=100, maximum=1000)
    assert message in excinfo.value.message


def test_max_results_required_when_no_default() -> None:
    with pytest.raises(InvalidParameter, match="Invalid value 0 for parameter 'max_results'"):
        check_max_results(None, default=None, maximum=50000)


def test_max_results_custom_name() -> None:
    with pytest.raises(InvalidParameter, match="parameter 'page_size'"):
        check_max_results(0, default=10, maximum=20, name="page_size")
