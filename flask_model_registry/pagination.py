"""Offset page tokens and ``max_results`` checks shared by every MLflow search endpoint.

A page token is base64 of a JSON object holding ``offset`` (``{"offset": 1000}`` gives
``eyJvZmZzZXQiOiAxMDAwfQ==``, MLflow's format), plus any values the token is bound to (logged
model searches bind ``experiment_ids``, ``filter_string`` and ``order_by``), so that a token
reused with a different request is rejected.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .errors import InvalidParameter

__all__ = ["check_max_results", "decode_page_token", "encode_page_token"]


#: Largest offset a page token may carry (beyond any real result set, within 64 bits).
MAX_OFFSET = 2**53

def _normalise(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists...)."""
    return json.loads(json.dumps(value))


def encode_page_token(offset: int, **bind: Any) -> str:
    """The page token for ``offset``, bound to the given request values (JSON-serialisable)."""
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise ValueError(f"offset must be a non-negative integer, got {offset!r}")
    payload = {**bind, "offset": offset}
    return base64.b64encode(json.dumps(payload).encode("utf-8")).decode("ascii")


def decode_page_token(token: str | None, **bind: Any) -> int:
    """The offset in ``token`` (0 for ``None`` or empty).

    Raises :class:`InvalidParameter` when the token is not base64 JSON with a non-negative
    integer ``offset``, or when a bound value differs from ``bind``.
    """
    if token is None or token == "":
        return 0
    if not isinstance(token, str):
        raise InvalidParameter("Invalid page token, could not base64-decode")
    text = token.strip()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParameter("Invalid page token, could not base64-decode") from None
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidParameter(f"Invalid page token, decoded value={raw[:100]!r}") from None
    if not isinstance(parsed, dict):
        raise InvalidParameter(f"Invalid page token, parsed value={parsed!r}")
    offset = parsed.get("offset")
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise InvalidParameter(f"Invalid page token, parsed value={parsed!r}")
    for name, expected in bind.items():
        if parsed.get(name) != _normalise(expected):
            raise InvalidParameter(
                f"Invalid page token: its {name} does not match the request "
                f"(token: {parsed.get(name)!r}, request: {expected!r})"
            )
    return offset


def check_max_results(
    value: Any, *, default: int | None, maximum: int, name: str = "max_results"
) -> int:
    """Validate a ``max_results``-like request value and return it as an ``int``.

    ``None`` gives ``default`` (``None`` as default makes the value required, answered like
    MLflow's 0). Integral strings and floats are accepted (query strings, JSON numbers);
    values below 1 or above ``maximum`` raise :class:`InvalidParameter`.
    """
    if value is None:
        value = 0 if default is None else default
    number: int
    if isinstance(value, bool):
        raise InvalidParameter(
            f"Invalid value {value!r} for parameter '{name}' supplied. It must be a positive "
            "integer"
        )
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        number = int(value.strip())
    else:
        raise InvalidParameter(
            f"Invalid value {value!r} for parameter '{name}' supplied. It must be a positive "
            "integer"
        )
    if number < 1:
        raise InvalidParameter(
            f"Invalid value {number} for parameter '{name}' supplied. It must be a positive integer"
        )
    if number > maximum:
        raise InvalidParameter(
            f"Invalid value for request parameter {name}. It must be at most {maximum}, but got "
            f"value {number}"
        )
    return number
