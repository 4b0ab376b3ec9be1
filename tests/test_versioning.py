"""Tests for semantic versions and npm-style version ranges."""

from __future__ import annotations

import random

import pytest

from flask_model_registry.errors import InvalidParameter
from flask_model_registry.versioning import (
    MAX_VERSION_LENGTH,
    Comparator,
    SemVer,
    bump_patch_of_highest,
    latest,
    looks_like_range,
    parse_range,
)

V = SemVer.parse

PRECEDENCE_CHAIN = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.10.0",
]


# --- parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "0.0.0",
        "0.0.4",
        "1.2.3",
        "10.20.30",
        "1.1.2-prerelease+meta",
        "1.1.2+meta",
        "1.1.2+meta-valid",
        "1.0.0-alpha",
        "1.0.0-alpha.beta.1",
        "1.0.0-alpha0.valid",
        "1.0.0-alpha.0valid",
        "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay",
        "1.0.0-rc.1+build.1",
        "10.2.3-DEV-SNAPSHOT",
        "1.2.3-SNAPSHOT-123",
        "2.0.0+build.1848",
        "1.0.0-alpha+beta",
        "1.2.3----RC-SNAPSHOT.12.9.1--.12+788",
        "1.0.0+0.build.1-rc.10000aaa-kk-0.1",
        "1.0.0+001",
        "1.0.0-0A.is.legal",
        "1.0.0-x-y-z.--",
        "99999999999999999999999.999999999999999999.99999999999999999",
    ],
)
def test_valid_versions_round_trip(text: str) -> None:
    assert str(V(text)) == text


def test_parse_fields() -> None:
    version = V("1.2.3-rc.1.x-y+build.007")
    assert version == SemVer(1, 2, 3, ("rc", 1, "x-y"), ("build", "007"))
    assert version.prerelease == ("rc", 1, "x-y")
    assert version.build == ("build", "007")
    assert version.core == (1, 2, 3)


def test_maximum_length_is_accepted() -> None:
    text = "1.0.0+" + "a" * (MAX_VERSION_LENGTH - 6)
    assert len(text) == MAX_VERSION_LENGTH
    assert str(V(text)) == text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1.0", "2 dot-separated numbers"),
        ("1", "1 dot-separated numbers"),
        ("1.2.3.4", "4 dot-separated numbers"),
        ("v1.0.0", "'v' prefix"),
        ("V1.0.0", "'v' prefix"),
        ("01.0.0", "MAJOR '01' has a leading zero"),
        ("1.01.1", "MINOR '01' has a leading zero"),
        ("1.1.01", "PATCH '01' has a leading zero"),
        ("1.0.0-", "prerelease after '-' is empty"),
        ("1.0.0-01", "'01' has a leading zero"),
        ("1.2.3-0123.0123", "'0123' has a leading zero"),
        ("1.0.0-alpha..1", "empty identifier"),
        ("1.0.0-alpha.", "empty identifier"),
        ("1.0.0-alpha_beta", "'alpha_beta'"),
        ("1.0.0+", "build metadata after '+' is empty"),
        ("1.1.2+.123", "empty identifier"),
        ("9.8.7+meta+meta", "'meta+meta'"),
        ("1.0.0-rc.1+", "build metadata after '+' is empty"),
        (" 1.0.0", "whitespace"),
        ("1.0.0 ", "whitespace"),
        ("1.0.0\n", "whitespace"),
        ("", "empty"),
        ("alpha", "MAJOR 'alpha'"),
        ("1.2-SNAPSHOT", "2 dot-separated numbers"),
        ("-1.0.3-gamma+b7718", "MAJOR is empty"),
        ("+justmeta", "MAJOR is empty"),
        ("1.2.3.DEV", "4 dot-separated numbers"),
        ("\uff11.0.0", "MAJOR '\uff11'"),
        ("1.x.0", "MINOR 'x'"),
    ],
)
def test_invalid_versions_are_rejected_with_a_clear_message(text: str, problem: str) -> None:
    with pytest.raises(InvalidParameter) as excinfo:
        V(text)
    message = str(excinfo.value)
    assert repr(text) in message
    assert problem in message
    assert "expected MAJOR.MINOR.PATCH" in message
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"


def test_too_long_version_is_rejected() -> None:
    text = "1.0.0+" + "a" * MAX_VERSION_LENGTH
    with pytest.raises(InvalidParameter) as excinfo:
        V(text)
    assert f"longer than {MAX_VERSION_LENGTH} characters" in str(excinfo.value)


def test_constructor_normalises_numeric_prerelease_strings() -> None:
    assert SemVer(1, 0, 0, ("rc", "1")).prerelease == ("rc", 1)
    assert SemVer(1, 0, 0, ("rc", "1")) == V("1.0.0-rc.1")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"major": -1, "minor": 0, "patch": 0},
        {"major": True, "minor": 0, "patch": 0},
        {"major": 1, "minor": 0, "patch": 0, "prerelease": ("01",)},
        {"major": 1, "minor": 0, "patch": 0, "prerelease": ("",)},
        {"major": 1, "minor": 0, "patch": 0, "prerelease": (-1,)},
        {"major": 1, "minor": 0, "patch": 0, "build": ("a.b",)},
        {"major": 1, "minor": 0, "patch": 0, "build": ("",)},
    ],
)
def test_constructor_rejects_invalid_components(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidParameter):
        SemVer(**kwargs)  # type: ignore[arg-type]


# --- precedence --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lower", "higher"), list(zip(PRECEDENCE_CHAIN, PRECEDENCE_CHAIN[1:], strict=False))
)
def test_precedence_pairs(lower: str, higher: str) -> None:
    low, high = V(lower), V(higher)
    assert low < high
    assert low <= high
    assert high > low
    assert high >= low
    assert not high < low
    assert low != high
    assert low.sort_key() < high.sort_key()


@pytest.mark.parametrize("seed", range(5))
def test_sorting_a_shuffled_list_gives_the_chain(seed: int) -> None:
    versions = [V(text) for text in PRECEDENCE_CHAIN]
    random.Random(seed).shuffle(versions)
    assert [str(v) for v in sorted(versions)] == PRECEDENCE_CHAIN
    assert [str(v) for v in sorted(versions, key=SemVer.sort_key)] == PRECEDENCE_CHAIN


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("1.0.0", "2.0.0"),
        ("2.0.0", "2.1.0"),
        ("2.1.0", "2.1.1"),
        ("1.9.0", "1.10.0"),
        ("1.0.0-2", "1.0.0-10"),
        ("1.0.0-999", "1.0.0-a"),
        ("1.0.0-Z", "1.0.0-a"),
        ("1.0.0-rc.1", "1.0.0-rc.1.0"),
        ("1.0.0-alpha", "1.0.0-alpha-1"),
    ],
)
def test_more_precedence_rules(lower: str, higher: str) -> None:
    assert V(lower) < V(higher)
    assert sorted([V(higher), V(lower)]) == [V(lower), V(higher)]


def test_build_metadata_is_ignored_by_precedence_but_not_equality() -> None:
    a, b = V("1.0.0+a"), V("1.0.0+b")
    assert a != b
    assert a.sort_key() == b.sort_key()
    assert a <= b
    assert a >= b
    assert not a < b
    assert not a > b
    assert len({V("1.0.0+a"), a, b}) == 2


def test_ordering_with_other_types_is_unsupported() -> None:
    with pytest.raises(TypeError):
        _ = V("1.0.0") < "1.0.1"


@pytest.mark.parametrize(
    ("text", "expected"), [("1.0.0", False), ("1.0.0+b", False), ("1.0.0-rc.1", True)]
)
def test_is_prerelease(text: str, expected: bool) -> None:
    assert V(text).is_prerelease is expected


# --- bump / latest -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.2.3", "1.2.4"), ("1.2.3+build", "1.2.4"), ("1.2.3-rc.1", "1.2.3"), ("0.0.0", "0.0.1")],
)
def test_next_patch(text: str, expected: str) -> None:
    assert V(text).next_patch() == V(expected)


@pytest.mark.parametrize(
    ("versions", "expected"),
    [
        ([], "1.0.0"),
        (["1.0.0"], "1.0.1"),
        (["1.0.0", "1.10.0", "1.2.3"], "1.10.1"),
        (["0.1.0"], "0.1.1"),
        (["2.0.0-rc.1"], "1.0.0"),
        (["1.0.0-alpha", "1.0.0-beta"], "1.0.0"),
        (["1.2.3", "2.0.0-rc.1"], "1.2.4"),
        (["1.2.3+build.5"], "1.2.4"),
    ],
)
def test_bump_patch_of_highest(versions: list[str], expected: str) -> None:
    assert bump_patch_of_highest(V(v) for v in versions) == V(expected)


@pytest.mark.parametrize(
    ("versions", "expected"),
    [
        ([], None),
        (["1.0.0"], "1.0.0"),
        (["1.0.0", "2.0.0-rc.1", "1.5.0"], "1.5.0"),
        (["1.0.0-alpha", "1.0.0-beta", "0.9.0-rc.1"], "1.0.0-beta"),
        (["1.9.0", "1.10.0", "1.2.0"], "1.10.0"),
        (["1.0.0+first", "1.0.0+second"], "1.0.0+first"),
    ],
)
def test_latest(versions: list[str], expected: str | None) -> None:
    result = latest(V(v) for v in versions)
    assert result == (None if expected is None else V(expected))


# --- ranges ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("range_text", "version"),
    [
        ("1.2.3", "1.2.3"),
        ("1.2.3", "1.2.3+build.7"),
        ("=1.2.3", "1.2.3"),
        (">=2.0.0", "2.0.0"),
        (">=2.0.0", "10.0.0"),
        (">2.0.0", "2.0.1"),
        ("<=2.0.0", "2.0.0"),
        ("<3", "2.99.99"),
        ("<3.1", "3.0.9"),
        (">=1.2", "1.2.0"),
        (">1.2", "1.3.0"),
        (">1", "2.0.0"),
        ("<=2", "2.9.9"),
        ("<=2.1", "2.1.7"),
        (">= 1.2.0", "1.2.0"),
        (">=2.0.0,<3", "2.5.0"),
        (">=2.0.0, <3", "2.0.0"),
        (">=1.2 <2", "1.9.9"),
        (">=1.2  ,  <2", "1.2.0"),
        ("^1.2.3", "1.2.3"),
        ("^1.2.3", "1.9.0"),
        ("^0.2.3", "0.2.9"),
        ("^0.0.3", "0.0.3"),
        ("^1.2", "1.2.0"),
        ("^1.2", "1.99.0"),
        ("^0.2", "0.2.5"),
        ("^1", "1.0.0"),
        ("^1", "1.9.9"),
        ("~1.4", "1.4.0"),
        ("~1.4", "1.4.9"),
        ("~1.4.2", "1.4.2"),
        ("~1.4.2", "1.4.10"),
        ("~>1.4.2", "1.4.3"),
        ("~1", "1.9.9"),
        ("1.x", "1.0.0"),
        ("1.x", "1.9.9"),
        ("1.X", "1.2.0"),
        ("1", "1.2.0"),
        ("1.2", "1.2.5"),
        ("1.2.*", "1.2.7"),
        ("1.2.x", "1.2.0"),
        ("=1.2", "1.2.1"),
        ("*", "0.0.0"),
        ("*", "99.1.0"),
        ("x", "3.0.0"),
        ("1.2.3 - 2.3.4", "1.2.3"),
        ("1.2.3 - 2.3.4", "2.0.0"),
        ("1.2.3 - 2.3.4", "2.3.4"),
        ("1.2 - 2.3", "2.3.9"),
        ("1.2.3 - *", "9.0.0"),
        ("1.0.0 || 2.0.0", "2.0.0"),
        ("^1 || ^3", "3.4.0"),
        ("<1 || >=2.0.0 <2.1", "2.0.5"),
    ],
)
def test_range_matches(range_text: str, version: str) -> None:
    assert parse_range(range_text).matches(V(version)) is True


@pytest.mark.parametrize(
    ("range_text", "version"),
    [
        ("1.2.3", "1.2.4"),
        ("=1.2.3", "1.2.2"),
        (">=2.0.0", "1.9.9"),
        (">2.0.0", "2.0.0"),
        ("<=2.0.0", "2.0.1"),
        ("<3", "3.0.0"),
        ("<3.1", "3.1.0"),
        (">1.2", "1.2.9"),
        (">1", "1.9.9"),
        ("<=2", "3.0.0"),
        ("<=2.1", "2.2.0"),
        (">=2.0.0,<3", "3.0.0"),
        (">=2.0.0,<3", "1.0.0"),
        (">=1.2 <2", "1.1.9"),
        (">=1.2 <2", "2.0.0"),
        ("^1.2.3", "1.2.2"),
        ("^1.2.3", "2.0.0"),
        ("^0.2.3", "0.3.0"),
        ("^0.2.3", "0.2.2"),
        ("^0.0.3", "0.0.4"),
        ("^1.2", "1.1.9"),
        ("^1.2", "2.0.0"),
        ("^0.2", "0.3.0"),
        ("^1", "2.0.0"),
        ("^1", "0.9.0"),
        ("~1.4", "1.5.0"),
        ("~1.4", "1.3.9"),
        ("~1.4.2", "1.4.1"),
        ("~1.4.2", "1.5.0"),
        ("~1", "2.0.0"),
        ("1.x", "2.0.0"),
        ("1.x", "0.9.0"),
        ("1.2.*", "1.3.0"),
        ("1.2.*", "1.1.9"),
        ("1.2.3 - 2.3.4", "1.2.2"),
        ("1.2.3 - 2.3.4", "2.3.5"),
        ("1.2 - 2.3", "2.4.0"),
        ("1.0.0 || 2.0.0", "1.5.0"),
        (">*", "0.0.0"),
        ("<*", "0.0.0"),
    ],
)
def test_range_does_not_match(range_text: str, version: str) -> None:
    assert parse_range(range_text).matches(V(version)) is False


@pytest.mark.parametrize(
    ("range_text", "version", "expected"),
    [
        ("^2.0.0-rc.1", "2.0.0-rc.1", True),
        ("^2.0.0-rc.1", "2.0.0-rc.2", True),
        ("^2.0.0-rc.1", "2.0.0", True),
        ("^2.0.0-rc.1", "2.1.0", True),
        ("^2.0.0-rc.1", "2.1.0-beta", False),
        ("^2.0.0-rc.1", "2.0.0-beta", False),
        ("^2.0.0-rc.1", "3.0.0-alpha", False),
        ("1.0.0-rc.1", "1.0.0-rc.1", True),
        ("1.0.0-rc.1", "1.0.0-rc.2", False),
        (">=1.0.0-alpha <1.0.0", "1.0.0-beta", True),
        (">=1.0.0-alpha", "1.0.1-alpha", False),
        ("~1.2.3-beta.2", "1.2.3-beta.4", True),
        ("~1.2.3-beta.2", "1.2.4-beta.2", False),
        ("1.2.3-beta.2 - 2.0.0", "1.2.3-beta.3", True),
        ("1.2.3-beta.2 - 2.0.0", "1.2.4-beta", False),
        ("1.0.0 - 2.0.0-rc.2", "2.0.0-rc.1", True),
        ("*", "1.0.0-rc.1", False),
        ("^1.0.0", "1.5.0-beta", False),
        ("<=2.0.0", "2.0.0-rc.1", False),
        ("<2", "2.0.0-rc.1", False),
        ("^1 || >=2.0.0-rc.1", "2.0.0-rc.2", True),
        ("^1 || >=2.0.0-rc.1", "1.5.0-rc.2", False),
        ("* || >=1.0.0-rc.1", "1.0.0-rc.2", False),
        (">=0 || >=1.0.0-rc.1", "1.0.0-rc.2", False),
        (">=0.0.0 <=0.0.0-beta", "0.0.0-alpha", True),
    ],
)
def test_prerelease_rule(range_text: str, version: str, expected: bool) -> None:
    assert parse_range(range_text).matches(V(version)) is expected


@pytest.mark.parametrize(
    ("range_text", "desugared"),
    [
        ("1.2.3", "=1.2.3"),
        ("^1.2.3", ">=1.2.3 <2.0.0-0"),
        ("^0.2.3", ">=0.2.3 <0.3.0-0"),
        ("^0.0.3", ">=0.0.3 <0.0.4-0"),
        ("^1.2", ">=1.2.0 <2.0.0-0"),
        ("^1", ">=1.0.0 <2.0.0-0"),
        ("~1.4", ">=1.4.0 <1.5.0-0"),
        ("~1", ">=1.0.0 <2.0.0-0"),
        ("1.2.*", ">=1.2.0 <1.3.0-0"),
        ("*", "*"),
        (">=2.0.0,<3", ">=2.0.0 <3.0.0-0"),
        ("1.2.3 - 2.3.4", ">=1.2.3 <=2.3.4"),
        ("1.2.3+build", "=1.2.3"),
        ("^1 || 2.x", ">=1.0.0 <2.0.0-0 || >=2.0.0 <3.0.0-0"),
        ("^1 || *", "*"),
        (">=0", "*"),
        (">*", "<0.0.0-0"),
    ],
)
def test_range_desugaring(range_text: str, desugared: str) -> None:
    parsed = parse_range(range_text)
    assert str(parsed) == desugared
    assert parsed.text == range_text


def test_comparator_sets_are_exposed() -> None:
    assert parse_range(">=2.0.0,<3").comparator_sets == (
        (Comparator(">=", V("2.0.0")), Comparator("<", V("3.0.0-0"))),
    )


@pytest.mark.parametrize(
    ("range_text", "versions", "expected"),
    [
        ("^1.0", ["1.0.0", "1.0.1", "1.0.2", "2.0.0-rc.1", "2.0.0"], "1.0.2"),
        ("^2.0.0-rc.1", ["1.0.0", "1.0.1", "1.0.2", "2.0.0-rc.1", "2.0.0"], "2.0.0"),
        (">=2.0.0-rc.1", ["2.0.0-rc.2", "2.0.0-rc.1"], "2.0.0-rc.2"),
        ("~1.4", ["1.4.0", "1.4.10", "1.4.9", "1.5.0"], "1.4.10"),
        ("*", ["1.0.0", "3.0.0-rc.1", "2.0.0"], "2.0.0"),
        ("^3", ["1.0.0", "2.0.0"], None),
        ("^3", [], None),
    ],
)
def test_best_match(range_text: str, versions: list[str], expected: str | None) -> None:
    result = parse_range(range_text).best_match(V(v) for v in versions)
    assert result == (None if expected is None else V(expected))


@pytest.mark.parametrize(
    ("range_text", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("||", "empty alternative"),
        ("1.0.0 ||", "empty alternative"),
        (">=1,,<2", "empty comparator"),
        (">=1,", "empty comparator"),
        (">=", "not followed by a version"),
        ("^", "not followed by a version"),
        ("1.x.3", "wildcard may only be followed by wildcards"),
        ("v1.0.0", "'v' prefix"),
        ("latest", "'latest' is neither a version nor a partial version"),
        ("champion", "'champion'"),
        (">>1", "'>1'"),
        ("1 | 2", "'|'"),
        ("1.2.3 -", "'-'"),
        ("01.2", "leading zero"),
        ("^01.2.3", "leading zero"),
        ("1.2.3-", "prerelease after '-' is empty"),
        ("~1.2.3.4", "4 dot-separated numbers"),
        ("1.2-rc.1", "2 dot-separated numbers"),
        (">=1.0.0 - 2.0.0", "'>=1.0.0'"),
    ],
)
def test_invalid_ranges_are_rejected(range_text: str, problem: str) -> None:
    with pytest.raises(InvalidParameter) as excinfo:
        parse_range(range_text)
    message = str(excinfo.value)
    assert repr(range_text) in message
    assert problem in message


def test_too_long_range_is_rejected() -> None:
    with pytest.raises(InvalidParameter) as excinfo:
        parse_range(" || ".join(["1.0.0"] * 500))
    assert "longer than" in str(excinfo.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2.0", True),
        ("1.2.0-rc.1", True),
        ("1.2", True),
        ("1.x", True),
        ("*", True),
        ("^1", True),
        ("~1.4", True),
        (">=2.0.0,<3", True),
        (">=1.2 <2", True),
        ("1.2.3 - 2.3.4", True),
        ("^1 || ^2", True),
        ("champion", False),
        ("latest", False),
        ("prod-2024", False),
        ("my_alias", False),
        ("x", False),
        ("3", False),
        ("v1.0.0", False),
        ("1.0.0 ||", False),
        ("", False),
        ("champion v2", False),
    ],
)
def test_looks_like_range(text: str, expected: bool) -> None:
    assert looks_like_range(text) is expected
