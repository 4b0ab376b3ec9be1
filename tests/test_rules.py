"""MLflow's naming rules and messages, written once in :mod:`flask_model_registry.rules`."""

from __future__ import annotations

import pytest

from flask_model_registry import rules
from flask_model_registry.errors import InvalidParameter


def test_missing_message_is_mlflows() -> None:
    message = rules.missing_message("name")
    assert message == (
        "Missing value for required parameter 'name'."
        " See the API docs for more information about request parameters."
    )
    assert rules.is_missing_message(message)
    assert not rules.is_missing_message("Invalid value for parameter 'name'")


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", "Missing value for required parameter 'name'"),
        ("a/b", "Names cannot contain '/' or ':'"),
        ("..", "must not resolve to other names"),
        ("x" * 256, "'name' exceeds the maximum length of 255 characters"),
    ],
)
def test_model_name_rules(name: str, words: str) -> None:
    with pytest.raises(InvalidParameter, match=words):
        rules.check_model_name(name)


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("", "Missing value for required parameter 'key'"),
        ("a!b", "Names may only contain alphanumerics"),
        ("a/../b", "must not resolve to other names"),
        ("k" * 251, "'key' exceeds the maximum length of 250 characters"),
    ],
)
def test_tag_key_rules(key: str, words: str) -> None:
    with pytest.raises(InvalidParameter, match=words):
        rules.check_tag_key(key)


def test_tag_value_rules() -> None:
    assert rules.check_tag("k", "v") == ("k", "v")
    with pytest.raises(InvalidParameter, match="Tag value cannot be None"):
        rules.check_tag("k", None)
    with pytest.raises(InvalidParameter, match=r"Invalid value 3 for parameter 'value' supplied\."):
        rules.check_tag("k", 3)


def test_alias_rules() -> None:
    assert rules.check_alias("champion-1") == "champion-1"
    with pytest.raises(InvalidParameter, match="cannot be empty"):
        rules.check_alias("")
    with pytest.raises(InvalidParameter, match="Invalid alias name"):
        rules.check_alias("a.b")
    with pytest.raises(InvalidParameter, match="'Registered model alias name' exceeds"):
        rules.check_alias("a" * 256)
