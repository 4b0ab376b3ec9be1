"""Shared schema pieces for MLflow's protobuf-JSON wire format."""

from __future__ import annotations

import math
import typing as t

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from ..errors import InvalidParameter
from ..rules import is_missing_message, missing_message

__all__ = [
    "Int64",
    "KeyValueSchema",
    "MlflowSchema",
    "RequiredString",
    "WireFloat",
    "load",
    "optional_string",
    "validation_message",
    "value_string",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class MlflowSchema(Schema):
    """Unknown fields are ignored, as MLflow's server ignores them."""

    class Meta:
        unknown = EXCLUDE


class Int64(fields.Field):  # type: ignore[type-arg]
    """An int64 that may arrive as a JSON number or a numeric string (protobuf JSON)."""

    default_error_messages = {"invalid": "Not a valid 64-bit integer."}

    def _deserialize(self, value: t.Any, attr: str | None, data: t.Any, **kwargs: t.Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, float):
            if not value.is_integer():
                raise self.make_error("invalid")
            value = int(value)
        elif isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise self.make_error("invalid") from None
        elif not isinstance(value, int):
            raise self.make_error("invalid")
        if not INT64_MIN <= value <= INT64_MAX:
            raise self.make_error("invalid")
        return int(value)


_SPECIAL_FLOATS = {
    "nan": math.nan,
    "infinity": math.inf,
    "-infinity": -math.inf,
    "inf": math.inf,
    "-inf": -math.inf,
}


class WireFloat(fields.Field):  # type: ignore[type-arg]
    """A double: a JSON number, a numeric string, or ``"NaN"``, ``"Infinity"``, ``"-Infinity"``."""

    default_error_messages = {"invalid": "Not a valid number."}

    def _deserialize(self, value: t.Any, attr: str | None, data: t.Any, **kwargs: t.Any) -> float:
        return parse_wire_float(value, self)


def parse_wire_float(value: t.Any, field: fields.Field | None = None) -> float:  # type: ignore[type-arg]
    """Turn a wire double into a float or raise ``ValidationError``."""
    if isinstance(value, bool):
        raise ValidationError("Not a valid number.")
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            raise ValidationError("Number out of range for a double.") from None
    if isinstance(value, str):
        special = _SPECIAL_FLOATS.get(value.strip().lower())
        if special is not None:
            return special
        try:
            return float(value)
        except ValueError:
            pass
    raise ValidationError("Not a valid number.")


class RequiredString(fields.String):
    """A required string where ``""`` counts as missing, as in MLflow."""

    def __init__(self, **kwargs: t.Any) -> None:
        kwargs.setdefault("required", True)
        super().__init__(**kwargs)

    def _deserialize(self, value: t.Any, attr: str | None, data: t.Any, **kwargs: t.Any) -> str:
        result = super()._deserialize(value, attr, data, **kwargs)
        if result == "":
            raise ValidationError(missing_message(str(self.data_key or attr)))
        return result


def optional_string() -> fields.String:
    """A string that may be absent or ``null``: both read as ``None``."""
    return fields.String(load_default=None, allow_none=True)


def value_string() -> fields.String:
    """A tag's or param's value: absent reads as ``""``, as protobuf leaves it unset."""
    return fields.String(load_default="", allow_none=True)


class KeyValueSchema(MlflowSchema):
    """A ``{key, value}`` message (a tag or a param): the key required, the value a
    :func:`value_string`."""

    key = RequiredString()
    value = value_string()


def validation_message(messages: t.Any, prefix: str = "") -> str:
    """Flatten marshmallow's nested messages into one sentence naming the first bad field."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = (
                f"{prefix}[{key}]"
                if isinstance(key, int)
                else (f"{prefix}.{key}" if prefix else str(key))
            )
            return validation_message(value, name)
    if isinstance(messages, list) and messages:
        first = messages[0]
        if isinstance(first, (dict, list)):
            return validation_message(first, prefix)
        text = str(first)
        if text == "Missing data for required field.":
            return missing_message(prefix)
        if is_missing_message(text):
            return text
        return f"Invalid value for parameter '{prefix}': {text}"
    return f"Invalid value for parameter '{prefix}'."


def load(schema: Schema, data: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Validate ``data`` with ``schema``; errors become ``INVALID_PARAMETER_VALUE``."""
    try:
        return t.cast(dict[str, t.Any], schema.load(data))
    except ValidationError as exc:
        raise InvalidParameter(validation_message(exc.messages)) from None
