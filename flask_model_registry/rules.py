"""MLflow's naming rules, its length limits and the words of its validation errors.

Each rule and each message is written once here; services and schemas apply them.
"""

from __future__ import annotations

import json
import posixpath
import re
import typing as t

from flask_model_registry.errors import InvalidParameter

__all__ = [
    "MAX_ALIAS_LENGTH",
    "MAX_EXPERIMENT_NAME_LENGTH",
    "MAX_EXPERIMENT_TAG_VALUE_LENGTH",
    "MAX_KEY_LENGTH",
    "MAX_LOGGED_MODEL_NAME_LENGTH",
    "MAX_MODEL_NAME_LENGTH",
    "MAX_MODEL_TAG_VALUE_LENGTH",
    "check_alias",
    "check_entity_name",
    "check_model_name",
    "check_tag",
    "check_tag_key",
    "invalid_value",
    "is_missing_message",
    "missing",
    "missing_message",
    "too_long",
]

#: Keys of tags, params and metrics, everywhere.
MAX_KEY_LENGTH = 250
MAX_MODEL_NAME_LENGTH = 255
MAX_MODEL_TAG_VALUE_LENGTH = 100_000
MAX_ALIAS_LENGTH = 255
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_VALUE_LENGTH = 20_000
MAX_LOGGED_MODEL_NAME_LENGTH = 500

_ENTITY_NAME_RE = re.compile(r"^[/\w.\- :]*$")
_ALIAS_RE = re.compile(r"^[\w\-]*$")
_BAD_CHARACTERS = (
    "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.),"
    " spaces ( ), colon(:) and slashes (/)."
)


_MISSING = "Missing value for required parameter"


def missing_message(name: str) -> str:
    """MLflow's words for a required parameter that is absent or empty."""
    return (
        f"{_MISSING} '{name}'. See the API docs for more information about request parameters."
    )


def is_missing_message(text: str) -> bool:
    """Whether ``text`` is a :func:`missing_message`."""
    return text.startswith(_MISSING)


def missing(name: str) -> InvalidParameter:
    """The error of :func:`missing_message`."""
    return InvalidParameter(missing_message(name))


def invalid_value(path: str, value: t.Any, message: str | None = None) -> InvalidParameter:
    """MLflow's "Invalid value ... for parameter ... supplied" error."""
    shown = json.dumps(value, sort_keys=True, separators=(",", ":"))
    text = f"Invalid value {shown} for parameter '{path}' supplied"
    return InvalidParameter(f"{text}: {message}" if message else f"{text}.")


def too_long(path: str, limit: int) -> InvalidParameter:
    """MLflow's length-limit error."""
    return InvalidParameter(f"'{path}' exceeds the maximum length of {limit} characters")


def _check_path_like(name: str, path: str) -> None:
    """Names may become file names: they must not resolve to another name."""
    norm = posixpath.normpath(name)
    if norm != name or norm == "." or norm.startswith("..") or norm.startswith("/"):
        raise invalid_value(
            path,
            name,
            "Names may be treated as files in certain cases, and must not resolve to other"
            f" names when treated as such. This name would resolve to {norm!r}",
        )


def check_entity_name(name: str, path: str) -> None:
    """A metric, param or tag key: MLflow's characters, and a normalised relative path."""
    if not _ENTITY_NAME_RE.match(name):
        raise invalid_value(path, name, _BAD_CHARACTERS)
    _check_path_like(name, path)


def check_model_name(name: t.Any, param: str = "name") -> str:
    """MLflow's registered model name rules, plus the column's length limit."""
    if not isinstance(name, str) or not name.strip():
        raise missing(param)
    if "/" in name or ":" in name:
        raise InvalidParameter(f"Invalid model name '{name}'. Names cannot contain '/' or ':'.")
    _check_path_like(name, param)
    if len(name) > MAX_MODEL_NAME_LENGTH:
        raise too_long(param, MAX_MODEL_NAME_LENGTH)
    return name


def check_tag_key(key: t.Any) -> str:
    """A registry tag key: present, MLflow's characters, at most :data:`MAX_KEY_LENGTH`."""
    if not isinstance(key, str) or key == "":
        raise missing("key")
    check_entity_name(key, "key")
    if len(key) > MAX_KEY_LENGTH:
        raise too_long("key", MAX_KEY_LENGTH)
    return key


def check_tag(key: t.Any, value: t.Any) -> tuple[str, str]:
    """A registry tag: :func:`check_tag_key` and a string value within the limit."""
    key = check_tag_key(key)
    if value is None:
        raise InvalidParameter("Tag value cannot be None")
    if not isinstance(value, str):
        raise invalid_value("value", value)
    if len(value) > MAX_MODEL_TAG_VALUE_LENGTH:
        raise too_long("value", MAX_MODEL_TAG_VALUE_LENGTH)
    return key, value


def check_alias(alias: t.Any) -> str:
    """MLflow's alias rules."""
    if not isinstance(alias, str) or alias == "":
        raise InvalidParameter("Registered model alias name cannot be empty.")
    if not _ALIAS_RE.match(alias):
        raise InvalidParameter(
            f"Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores (_),"
            " and dashes (-)."
        )
    if len(alias) > MAX_ALIAS_LENGTH:
        raise too_long("Registered model alias name", MAX_ALIAS_LENGTH)
    return alias
