"""Semantic versions (semver.org 2.0.0) and npm-style version ranges.

Versions
--------
:class:`SemVer` follows the semver.org 2.0.0 grammar exactly: ``MAJOR.MINOR.PATCH``
with optional ``-PRERELEASE`` and ``+BUILD``, no leading zeros in numeric identifiers,
no ``v`` prefix, no empty identifiers, no surrounding whitespace, at most
:data:`MAX_VERSION_LENGTH` characters.  Equality compares every field (build included);
ordering (``<``, ``<=``, ``>``, ``>=``, :meth:`SemVer.sort_key`) follows SemVer precedence,
which ignores build metadata.

Ranges
------
:func:`parse_range` accepts the node-semver range syntax::

    range-set   ::= set ( '||' set )*
    set         ::= hyphen | simple ( sep simple )*
    sep         ::= ',' | whitespace        (any mix, e.g. ">=1.2, <2" or ">=1.2 <2")
    hyphen      ::= partial ' - ' partial   (whitespace required around '-')
    simple      ::= op? partial | '~' partial | '~>' partial | '^' partial
    op          ::= '>' | '>=' | '<' | '<=' | '='
    partial     ::= xr ( '.' xr ( '.' xr )? )? | full semantic version
    xr          ::= 'x' | 'X' | '*' | number without leading zeros

Whitespace may follow an operator (``>= 1.2``).  Prerelease and build parts are only
allowed on full versions, a wildcard may only be followed by wildcards (``1.x.3`` is
rejected), and empty ranges or empty ``||`` alternatives are rejected.  Build metadata
is ignored when matching.

Desugaring is that of node-semver 7 (upper bounds exclude the prereleases of the bound):

* ``1.2.3`` / ``=1.2.3``: exactly that precedence.
* ``1.2``, ``1.2.x``, ``=1.2``: ``>=1.2.0 <1.3.0-0``; ``1``, ``1.x``: ``>=1.0.0 <2.0.0-0``;
  ``*``, ``x``: any release.
* ``>1`` = ``>=2.0.0``; ``>1.2`` = ``>=1.3.0``; ``>=1.2`` = ``>=1.2.0``;
  ``<3`` = ``<3.0.0-0``; ``<=3.1`` = ``<3.2.0-0``; ``>*`` and ``<*`` match nothing.
* ``~1.2.3`` = ``>=1.2.3 <1.3.0-0``; ``~1.4`` = ``>=1.4.0 <1.5.0-0``; ``~1`` = ``>=1.0.0 <2.0.0-0``.
* ``^1.2.3`` = ``>=1.2.3 <2.0.0-0``; ``^0.2.3`` = ``>=0.2.3 <0.3.0-0``;
  ``^0.0.3`` = ``>=0.0.3 <0.0.4-0``; ``^1.2`` = ``>=1.2.0 <2.0.0-0``;
  ``^0.2`` = ``>=0.2.0 <0.3.0-0``; ``^1`` = ``>=1.0.0 <2.0.0-0``.
* ``1.2.3 - 2.3.4`` = ``>=1.2.3 <=2.3.4``; a partial upper end is exclusive of the next
  release (``1.2 - 2.3`` = ``>=1.2.0 <2.4.0-0``).

Prerelease rule (as node-semver without ``includePrerelease``): a prerelease version matches
a comparator set only if it satisfies every comparator AND some comparator in that set has
a prerelease on the same ``MAJOR.MINOR.PATCH``.  So ``^2.0.0-rc.1`` matches ``2.0.0-rc.2``,
``2.0.0`` and ``2.1.0`` but not ``2.1.0-beta``.  As in node-semver, a range with a ``*``
alternative is just ``*`` (``* || >=1.0.0-rc.1`` does not match ``1.0.0-rc.2``), and
``>=0.0.0`` (also written ``>=0``) counts as ``*``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

from .errors import InvalidParameter

__all__ = [
    "MAX_RANGE_LENGTH",
    "MAX_VERSION_LENGTH",
    "Comparator",
    "SemVer",
    "VersionRange",
    "bump_patch_of_highest",
    "latest",
    "looks_like_range",
    "parse_range",
]

MAX_VERSION_LENGTH = 255
MAX_RANGE_LENGTH = 1024

_NUM = r"0|[1-9][0-9]*"
_PRE_IDENT = r"0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*"
_SEMVER_RE = re.compile(
    rf"(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<prerelease>(?:{_PRE_IDENT})(?:\.(?:{_PRE_IDENT}))*))?"
    r"(?:\+(?P<build>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?",
    re.ASCII,
)
_PRE_IDENT_RE = re.compile(_PRE_IDENT, re.ASCII)
_ALNUM_RE = re.compile(r"[0-9a-zA-Z-]+", re.ASCII)
_DIGITS_RE = re.compile(r"[0-9]+", re.ASCII)
_EXPECTED_VERSION = (
    "expected MAJOR.MINOR.PATCH with optional -PRERELEASE and +BUILD, "
    "as in 1.2.3 or 2.0.0-rc.1 (see semver.org)"
)

PrereleaseKey = tuple[tuple[int, int, str], ...]
SortKey = tuple[int, int, int, int, PrereleaseKey]


def _shown(text: str, limit: int) -> str:
    return repr(text) if len(text) <= limit else f"{text[:40]!r}... ({len(text)} characters)"


def _semver_problem(text: str) -> str:
    """Explain why ``text`` is not a semantic version, for error messages."""
    if not text:
        return "the version is empty"
    if len(text) > MAX_VERSION_LENGTH:
        return f"it is longer than {MAX_VERSION_LENGTH} characters"
    if text != text.strip():
        return "it has leading or trailing whitespace"
    if text[0] in "vV":
        return "a 'v' prefix is not allowed"
    core_pre, plus, build = text.partition("+")
    if plus:
        problem = _identifiers_problem(build, "build metadata", "+", "build")
        if problem:
            return problem
    core, dash, pre = core_pre.partition("-")
    parts = core.split(".")
    for name, part in zip(("MAJOR", "MINOR", "PATCH"), parts, strict=False):
        if not part:
            return f"{name} is empty"
        if not _DIGITS_RE.fullmatch(part):
            return f"{name} {part!r} is not a non-negative integer"
        if len(part) > 1 and part[0] == "0":
            return f"{name} {part!r} has a leading zero"
    if len(parts) != 3:
        return f"it has {len(parts)} dot-separated numbers instead of 3"
    if dash:
        problem = _identifiers_problem(pre, "prerelease", "-", "prerelease", numeric=True)
        if problem:
            return problem
    return "it does not follow the semantic version grammar"


def _identifiers_problem(
    text: str, part: str, sign: str, kind: str, *, numeric: bool = False
) -> str | None:
    """Why ``text``, the dot-separated identifiers of the ``part`` after ``sign``, is invalid;
    ``numeric`` identifiers may not have leading zeros (prerelease). ``None`` when valid."""
    if not text:
        return f"the {part} after '{sign}' is empty"
    for ident in text.split("."):
        if not ident:
            return f"the {part} contains an empty identifier"
        if not _ALNUM_RE.fullmatch(ident):
            return f"{kind} identifier {ident!r} may only contain ASCII letters, digits and '-'"
        if numeric and _DIGITS_RE.fullmatch(ident) and len(ident) > 1 and ident[0] == "0":
            return f"numeric {kind} identifier {ident!r} has a leading zero"
    return None


def _invalid_version(text: str) -> InvalidParameter:
    return InvalidParameter(
        f"Invalid semantic version {_shown(text, MAX_VERSION_LENGTH)}: "
        f"{_semver_problem(text)}; {_EXPECTED_VERSION}"
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, order=False)
class SemVer:
    """A semantic version.  ``==`` compares all fields; ordering ignores build metadata."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str | int, ...] = field(default=())
    build: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in ("major", "minor", "patch"):
            value = getattr(self, name)
            if not _is_int(value) or value < 0:
                raise InvalidParameter(
                    f"Invalid semantic version component {name}={value!r}: "
                    "expected a non-negative integer"
                )
        prerelease: list[str | int] = []
        for ident in self.prerelease:
            if isinstance(ident, int) and not isinstance(ident, bool) and ident >= 0:
                prerelease.append(ident)
            elif isinstance(ident, str) and _PRE_IDENT_RE.fullmatch(ident):
                prerelease.append(int(ident) if _DIGITS_RE.fullmatch(ident) else ident)
            else:
                raise InvalidParameter(
                    f"Invalid prerelease identifier {ident!r}: expected a non-negative integer "
                    "or a non-empty string of ASCII letters, digits and '-' without leading zeros"
                )
        object.__setattr__(self, "prerelease", tuple(prerelease))
        for ident in self.build:
            if not isinstance(ident, str) or not _ALNUM_RE.fullmatch(ident):
                raise InvalidParameter(
                    f"Invalid build identifier {ident!r}: expected a non-empty string of "
                    "ASCII letters, digits and '-'"
                )
        object.__setattr__(self, "build", tuple(self.build))

    @classmethod
    def parse(cls, text: str) -> SemVer:
        """Parse ``text`` strictly per semver.org 2.0.0, raising :class:`InvalidParameter`."""
        if not isinstance(text, str):
            raise InvalidParameter(
                f"Invalid semantic version {text!r}: expected a string; {_EXPECTED_VERSION}"
            )
        match = _SEMVER_RE.fullmatch(text) if len(text) <= MAX_VERSION_LENGTH else None
        if match is None:
            raise _invalid_version(text)
        prerelease = match["prerelease"]
        build = match["build"]
        return cls(
            int(match["major"]),
            int(match["minor"]),
            int(match["patch"]),
            tuple(prerelease.split(".")) if prerelease else (),
            tuple(build.split(".")) if build else (),
        )

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(str(ident) for ident in self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    @property
    def is_prerelease(self) -> bool:
        """Whether the version has a prerelease part."""
        return bool(self.prerelease)

    @property
    def core(self) -> tuple[int, int, int]:
        """``(major, minor, patch)``."""
        return (self.major, self.minor, self.patch)

    def sort_key(self) -> SortKey:
        """A key whose natural ordering is SemVer precedence (build metadata ignored)."""
        pre: PrereleaseKey = tuple(
            (0, ident, "") if isinstance(ident, int) else (1, 0, ident) for ident in self.prerelease
        )
        return (self.major, self.minor, self.patch, 0 if pre else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self.sort_key() < other.sort_key()

    def __le__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self.sort_key() <= other.sort_key()

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self.sort_key() > other.sort_key()

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self.sort_key() >= other.sort_key()

    def next_patch(self) -> SemVer:
        """``1.2.3`` -> ``1.2.4``; a prerelease ``1.2.3-rc.1`` -> its release ``1.2.3``."""
        if self.prerelease:
            return SemVer(self.major, self.minor, self.patch)
        return SemVer(self.major, self.minor, self.patch + 1)


def bump_patch_of_highest(versions: Iterable[SemVer]) -> SemVer:
    """The highest release version with its patch incremented, or ``1.0.0`` if there is none.

    Prereleases are ignored entirely: with only ``2.0.0-rc.1`` registered the result is
    ``1.0.0``.  The result never has the precedence of an existing release, since it is
    above every release (or there are no releases).
    """
    highest = max((v for v in versions if not v.prerelease), key=SemVer.sort_key, default=None)
    return SemVer(1, 0, 0) if highest is None else highest.next_patch()


def latest(versions: Iterable[SemVer]) -> SemVer | None:
    """The highest release, else the highest prerelease, else ``None``.

    Among versions of equal precedence (differing only in build) the first one wins.
    """
    best_release: SemVer | None = None
    best_prerelease: SemVer | None = None
    for version in versions:
        if version.prerelease:
            if best_prerelease is None or version > best_prerelease:
                best_prerelease = version
        elif best_release is None or version > best_release:
            best_release = version
    return best_release if best_release is not None else best_prerelease


Operator = Literal["<", "<=", ">", ">=", "="]


@dataclass(frozen=True)
class Comparator:
    """One primitive constraint such as ``>=1.2.0`` (compared by precedence)."""

    operator: Operator
    version: SemVer

    def test(self, version: SemVer) -> bool:
        """Whether ``version`` satisfies this comparator, ignoring the prerelease rule."""
        left, right = version.sort_key(), self.version.sort_key()
        if self.operator == "<":
            return left < right
        if self.operator == "<=":
            return left <= right
        if self.operator == ">":
            return left > right
        if self.operator == ">=":
            return left >= right
        return left == right

    def __str__(self) -> str:
        return f"{self.operator}{self.version}"


ComparatorSet = tuple[Comparator, ...]


def _set_matches(comparators: ComparatorSet, version: SemVer) -> bool:
    if not all(c.test(version) for c in comparators):
        return False
    if not version.prerelease:
        return True
    return any(c.version.prerelease and c.version.core == version.core for c in comparators)


@dataclass(frozen=True)
class VersionRange:
    """A parsed range: alternatives (``||``) of comparator sets (an empty set matches any release).

    ``str()`` gives the desugared form, e.g. ``>=1.2.0 <2.0.0-0``; ``text`` keeps the source.
    """

    text: str
    comparator_sets: tuple[ComparatorSet, ...]

    def matches(self, version: SemVer) -> bool:
        """Whether ``version`` is in the range (including the prerelease rule)."""
        return any(_set_matches(cs, version) for cs in self.comparator_sets)

    def best_match(self, versions: Iterable[SemVer]) -> SemVer | None:
        """The highest-precedence matching version, or ``None``; ties keep the first seen."""
        best: SemVer | None = None
        for version in versions:
            if self.matches(version) and (best is None or version > best):
                best = version
        return best

    def __str__(self) -> str:
        return " || ".join(
            " ".join(str(c) for c in cs) if cs else "*" for cs in self.comparator_sets
        )


_XR = r"[xX*]|0|[1-9][0-9]*"
_PARTIAL_RE = re.compile(rf"(?P<M>{_XR})(?:\.(?P<m>{_XR})(?:\.(?P<p>{_XR}))?)?", re.ASCII)
_OPERATOR_RE = re.compile(r"(~>|[~^]|>=|<=|[<>=])?(.*)", re.ASCII | re.DOTALL)
_OPERATOR_SPACE_RE = re.compile(r"(~>|[~^]|[<>]=?|=)\s+", re.ASCII)
_HYPHEN_RE = re.compile(r"(?P<low>[^\s,]+)\s+-\s+(?P<high>[^\s,]+)", re.ASCII)
_SEPARATOR_RE = re.compile(r"\s*,\s*|\s+", re.ASCII)
_IDENTIFIER_RE = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)
_EXPECTED_RANGE = (
    "expected an npm-style range such as 1.2.3, >=1.2.0 <2, >=2.0.0,<3, ^1.2, ~1.4.2, 1.x, *, "
    "or 1.2.3 - 2.3.4, with alternatives joined by '||'"
)


@dataclass(frozen=True)
class _Partial:
    major: int | None
    minor: int | None
    patch: int | None
    full: SemVer | None


class _RangeError(Exception):
    pass


def _parse_partial(text: str) -> _Partial:
    match = _PARTIAL_RE.fullmatch(text)
    if match is None:
        try:
            version = SemVer.parse(text)
        except InvalidParameter:
            raise _RangeError(
                f"{text!r} is neither a version nor a partial version ({_semver_problem(text)})"
            ) from None
        version = replace(version, build=())
        return _Partial(version.major, version.minor, version.patch, version)
    numbers: list[int | None] = []
    for part in (match["M"], match["m"], match["p"]):
        if part is None or part in ("x", "X", "*"):
            numbers.append(None)
        elif numbers and numbers[-1] is None:
            raise _RangeError(f"in {text!r} a wildcard may only be followed by wildcards")
        else:
            numbers.append(int(part))
    major, minor, patch = numbers
    full = None
    if major is not None and minor is not None and patch is not None:
        full = SemVer(major, minor, patch)
    return _Partial(major, minor, patch, full)


def _cmp(operator: Operator, major: int, minor: int, patch: int, floor: bool = False) -> Comparator:
    return Comparator(operator, SemVer(major, minor, patch, (0,) if floor else ()))


_OPERATORS: dict[str, Operator] = {"": "=", "=": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_GTE0 = _cmp(">=", 0, 0, 0)
_NOTHING: ComparatorSet = (_cmp("<", 0, 0, 0, floor=True),)


def _desugar_primitive(operator: str, p: _Partial) -> ComparatorSet:
    if p.major is None:
        return _NOTHING if operator in ("<", ">") else ()
    if p.full is not None:
        return (Comparator(_OPERATORS[operator], p.full),)
    major, minor = p.major, p.minor
    if operator in ("", "="):
        if minor is None:
            return (_cmp(">=", major, 0, 0), _cmp("<", major + 1, 0, 0, floor=True))
        return (_cmp(">=", major, minor, 0), _cmp("<", major, minor + 1, 0, floor=True))
    if operator == ">":
        if minor is None:
            return (_cmp(">=", major + 1, 0, 0),)
        return (_cmp(">=", major, minor + 1, 0),)
    if operator == ">=":
        return (_cmp(">=", major, minor or 0, 0),)
    if operator == "<":
        return (_cmp("<", major, minor or 0, 0, floor=True),)
    if minor is None:
        return (_cmp("<", major + 1, 0, 0, floor=True),)
    return (_cmp("<", major, minor + 1, 0, floor=True),)


def _desugar_tilde(p: _Partial) -> ComparatorSet:
    if p.major is None:
        return ()
    if p.minor is None:
        return (_cmp(">=", p.major, 0, 0), _cmp("<", p.major + 1, 0, 0, floor=True))
    low = p.full if p.full is not None else SemVer(p.major, p.minor, 0)
    return (Comparator(">=", low), _cmp("<", p.major, p.minor + 1, 0, floor=True))


def _desugar_caret(p: _Partial) -> ComparatorSet:
    if p.major is None:
        return ()
    if p.minor is None:
        return (_cmp(">=", p.major, 0, 0), _cmp("<", p.major + 1, 0, 0, floor=True))
    low = Comparator(">=", p.full if p.full is not None else SemVer(p.major, p.minor, 0))
    if p.major != 0:
        return (low, _cmp("<", p.major + 1, 0, 0, floor=True))
    if p.minor != 0 or p.patch is None:
        return (low, _cmp("<", 0, p.minor + 1, 0, floor=True))
    return (low, _cmp("<", 0, 0, p.patch + 1, floor=True))


def _desugar_hyphen(low: _Partial, high: _Partial) -> ComparatorSet:
    result: list[Comparator] = []
    if low.major is not None:
        low_version = low.full if low.full is not None else SemVer(low.major, low.minor or 0, 0)
        result.append(Comparator(">=", low_version))
    if high.full is not None:
        result.append(Comparator("<=", high.full))
    elif high.major is not None:
        result.extend(_desugar_primitive("<=", high))
    return tuple(result)


def _parse_simple(token: str) -> ComparatorSet:
    match = _OPERATOR_RE.fullmatch(token)
    assert match is not None
    operator, rest = match[1] or "", match[2]
    if not rest:
        raise _RangeError(f"operator {operator!r} is not followed by a version")
    partial = _parse_partial(rest)
    if operator in ("~", "~>"):
        return _desugar_tilde(partial)
    if operator == "^":
        return _desugar_caret(partial)
    return _desugar_primitive(operator, partial)


def _parse_set(text: str) -> ComparatorSet:
    stripped = text.strip()
    if not stripped:
        raise _RangeError("it contains an empty alternative")
    hyphen = _HYPHEN_RE.fullmatch(stripped)
    if hyphen is not None:
        return _desugar_hyphen(_parse_partial(hyphen["low"]), _parse_partial(hyphen["high"]))
    comparators: list[Comparator] = []
    for token in _SEPARATOR_RE.split(_OPERATOR_SPACE_RE.sub(r"\1", stripped)):
        if not token:
            raise _RangeError("it contains an empty comparator (stray ',')")
        comparators.extend(_parse_simple(token))
    return tuple(comparators)


def parse_range(text: str) -> VersionRange:
    """Parse an npm-style range (see the module docstring), raising :class:`InvalidParameter`."""
    if not isinstance(text, str):
        raise InvalidParameter(f"Invalid version range {text!r}: expected a string")
    shown = _shown(text, MAX_RANGE_LENGTH)
    if len(text) > MAX_RANGE_LENGTH:
        raise InvalidParameter(
            f"Invalid version range {shown}: it is longer than {MAX_RANGE_LENGTH} characters"
        )
    if not text.strip():
        raise InvalidParameter(f"Invalid version range {shown}: it is empty; {_EXPECTED_RANGE}")
    try:
        sets = tuple(_parse_set(part) for part in text.split("||"))
    except _RangeError as exc:
        raise InvalidParameter(f"Invalid version range {shown}: {exc}; {_EXPECTED_RANGE}") from None
    sets = tuple(tuple(c for c in cs if c != _GTE0) for cs in sets)
    if () in sets:
        sets = ((),)
    return VersionRange(text, sets)


def looks_like_range(text: str) -> bool:
    """Whether ``text`` is a version range rather than a plain name.

    Bare words of ASCII letters, digits, ``_`` and ``-`` (``champion``, ``latest``, ``x``, or
    an MLflow integer version such as ``3``) are names, not ranges; anything else is a
    range iff :func:`parse_range` accepts it, so ``1.2.0``, ``1.x``, ``*`` and ``^1`` are ranges.
    """
    if not isinstance(text, str) or _IDENTIFIER_RE.fullmatch(text):
        return False
    try:
        parse_range(text)
    except InvalidParameter:
        return False
    return True
