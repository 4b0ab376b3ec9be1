"""The URIs the server reads and hands out: artifact locations, ``runs:/`` and ``models:/``.

Artifact locations are ``mlflow-artifacts:/<project_id>/...``; the part after the scheme is
the location's path in the artifact store (see :func:`artifact_path`).
"""

from __future__ import annotations

import typing as t
import urllib.parse

__all__ = [
    "ARTIFACT_SCHEME",
    "RegisteredModelReference",
    "RunsUri",
    "artifact_path",
    "is_artifact_uri",
    "parse_runs_uri",
    "registered_model_reference",
    "run_location",
    "uri_parts",
    "within",
]

ARTIFACT_SCHEME = "mlflow-artifacts"


def artifact_path(uri: str) -> str | None:
    """The path (still percent-encoded) of ``mlflow-artifacts:/<path>``; ``None`` for any other
    URI, one with a host, a query or a fragment."""
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme != ARTIFACT_SCHEME or parts.netloc or parts.query or parts.fragment:
        return None
    return parts.path.lstrip("/")


def is_artifact_uri(uri: str) -> bool:
    """Whether ``uri`` is an ``mlflow-artifacts:`` location."""
    return artifact_path(uri) is not None


class RunsUri(t.NamedTuple):
    """``runs:/<run_id>/<path>``: a path under a run's artifact root."""

    run_id: str
    path: str


def parse_runs_uri(uri: str) -> RunsUri | None:
    """The run id and relative path of ``runs:/<run_id>/<path>``; ``None`` if malformed."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme != "runs" or parsed.netloc:
        return None
    run_id, _, path = parsed.path.lstrip("/").partition("/")
    return RunsUri(run_id, path.strip("/")) if run_id else None


def run_location(artifact_uri: str, path: str) -> str:
    """The location of ``path`` under a run's artifact root ``artifact_uri``."""
    return artifact_uri.rstrip("/") + ("/" + path if path else "")


def uri_parts(uri: str) -> tuple[str, str, tuple[str, ...]]:
    """The lower-cased scheme and host, and the percent-decoded, non-empty path segments."""
    parsed = urllib.parse.urlsplit(uri)
    parts = tuple(urllib.parse.unquote(p) for p in parsed.path.split("/") if p)
    return parsed.scheme.lower(), parsed.netloc.lower(), parts


def within(uri: str, root: str) -> bool:
    """Whether ``uri`` lies under ``root`` (same scheme and host, ``root``'s segments first)."""
    u_scheme, u_netloc, u_parts = uri_parts(uri)
    r_scheme, r_netloc, r_parts = uri_parts(root)
    return (
        (u_scheme, u_netloc) == (r_scheme, r_netloc)
        and bool(r_parts)
        and u_parts[: len(r_parts)] == r_parts
    )


class RegisteredModelReference(t.NamedTuple):
    """``models:/<name>/<entry>`` (a version number, stage, alias or range) or
    ``models:/<name>@<alias>``."""

    name: str
    entry: str | None
    alias: str | None


def registered_model_reference(uri: str) -> RegisteredModelReference:
    """The parts of a ``models:/`` URI that names a registered model's version."""
    path = urllib.parse.urlparse(uri).path.lstrip("/")
    name, sep, entry = path.partition("/")
    if sep:
        return RegisteredModelReference(name, entry, None)
    name, _, alias = name.rpartition("@")
    return RegisteredModelReference(name, None, alias)
