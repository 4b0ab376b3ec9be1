"""Artifacts of runs and logged models, addressed the way the MLflow artifact service does.

Every artifact URI the server hands out is ``mlflow-artifacts:/<project_id>/...``; its store
path is the part after the scheme, so every store path of a project starts with the project id.
Reads may address anything under the project's prefix. Writes (upload, delete) must lie under
the artifact root of a run or logged model of the project: a path no such owner claims is 404,
an owner that is deleted is 400.

Client paths are percent-decoded once more by :func:`normalize_path` (URL paths arrive decoded
by the WSGI server already), which is what catches ``%252e%252e%252f``. Paths that are already
normalized are escaped before they go back to the store so they are not decoded a third time.
"""

from __future__ import annotations

import io
import os
import typing as t
from collections.abc import Iterator, Sequence

from sqlalchemy import select

from flask_model_registry.artifacts import FileInfo, normalize_path
from flask_model_registry.errors import InvalidParameter, NotFound
from flask_model_registry.models import ACTIVE, LoggedModel, Run
from flask_model_registry.services.context import ProjectContext
from flask_model_registry.services.runs import get_run
from flask_model_registry.uris import ARTIFACT_SCHEME, artifact_path

__all__ = [
    "ARTIFACT_SCHEME",
    "ArtifactFile",
    "Listing",
    "delete_artifact",
    "escape",
    "list_directory",
    "list_files",
    "list_run_artifacts",
    "open_artifact",
    "project_path",
    "store_path",
    "upload_artifact",
    "walk_files",
]

_ROOT_SEGMENT = "artifacts"


class ArtifactFile(t.NamedTuple):
    """An opened stored file: the caller streams and closes ``stream``."""

    stream: t.BinaryIO
    size: int
    name: str


class Listing(t.NamedTuple):
    """Files under an artifact root, with paths relative to ``root_uri``."""

    root_uri: str
    files: list[FileInfo]


# -- paths ------------------------------------------------------------------------------------


def escape(rel: str) -> str:
    """A normalized path in the form the store decodes back to itself."""
    return rel.replace("%", "%25")


def _no_such_artifact(path: str) -> NotFound:
    return NotFound(f"No such artifact: '{path}'")


def project_path(ctx: ProjectContext, path: str) -> str:
    """Normalize a client path of the artifact service and require it to be in this project.

    Raises :class:`InvalidParameter` for traversal and malformed paths, :class:`NotFound`
    (revealing nothing about other projects) when the first segment is not the project id.
    """
    rel = normalize_path(path)
    if rel.split("/", 1)[0] != str(ctx.project_id):
        raise _no_such_artifact(path)
    return rel


def store_path(ctx: ProjectContext, uri: str) -> str:
    """The store path of an ``mlflow-artifacts:/<project_id>/...`` URI of this project."""
    path = artifact_path(uri)
    if path is None:
        raise InvalidParameter(f"Unsupported artifact URI '{uri}'.")
    return project_path(ctx, path)


def _join(base: str, relative: str) -> str:
    rel = normalize_path(relative) if relative else ""
    return f"{base}/{rel}" if rel else base


# -- reading ----------------------------------------------------------------------------------


def list_files(ctx: ProjectContext, uri: str, relative: str = "") -> list[FileInfo]:
    """Direct children of ``relative`` under the artifact root ``uri``, paths root-relative.

    A missing directory lists as ``[]``; a file lists as itself.
    """
    root = store_path(ctx, uri)
    target = _join(root, relative)
    return [
        FileInfo(
            info.path[len(root) + 1 :] if info.path != root else "",
            info.is_dir,
            info.file_size,
        )
        for info in ctx.artifacts.list(escape(target))
    ]


def walk_files(ctx: ProjectContext, uri: str) -> Iterator[FileInfo]:
    """Every file under the artifact root ``uri``, depth-first, paths root-relative."""
    root = store_path(ctx, uri)
    for info in ctx.artifacts.walk(escape(root)):
        yield FileInfo(info.path[len(root) + 1 :], False, info.file_size)


def list_directory(ctx: ProjectContext, path: str) -> list[FileInfo]:
    """The artifact service listing of ``path``: children by basename (a file lists itself)."""
    rel = project_path(ctx, path)
    return [
        FileInfo(info.path.rsplit("/", 1)[-1], info.is_dir, info.file_size)
        for info in ctx.artifacts.list(escape(rel))
    ]


def _size_of(ctx: ProjectContext, stream: t.BinaryIO, rel: str) -> int:
    # The size of the opened file, not of whatever a concurrent upload renamed into place.
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        return ctx.artifacts.size(escape(rel))


def open_artifact(ctx: ProjectContext, path: str) -> ArtifactFile:
    """Open the file at ``path`` for streaming; 404 for a missing file or a directory."""
    rel = project_path(ctx, path)
    try:
        stream = ctx.artifacts.open(escape(rel))
    except NotFound:
        raise _no_such_artifact(path) from None
    try:
        size = _size_of(ctx, stream, rel)
    except BaseException:
        stream.close()
        raise
    return ArtifactFile(stream, size, rel.rsplit("/", 1)[-1])


def list_run_artifacts(ctx: ProjectContext, run_id: str, path: str = "") -> Listing:
    """The tracking-service listing of a run: its artifact URI and the files under ``path``."""
    if "\x00" in run_id:  # PostgreSQL cannot even compare text with NUL in it
        raise NotFound(f"Run with id={run_id!r} not found")
    run = get_run(ctx, run_id)
    return Listing(run.artifact_uri, list_files(ctx, run.artifact_uri, path))


# -- writing ----------------------------------------------------------------------------------


class _Owner(t.NamedTuple):
    kind: str
    ident: str
    artifact_uri: str
    lifecycle_stage: str


#: How many ``artifacts`` segments of a path are considered as the end of an owner's root.
_MAX_OWNER_CANDIDATES = 8


def _owner_candidates(rel: str) -> list[str]:
    """Ids that may own ``rel``: the segments before its first few ``artifacts`` segments."""
    parts = rel.split("/")
    ids = [parts[i - 1] for i, part in enumerate(parts) if part == _ROOT_SEGMENT and i > 1]
    return list(dict.fromkeys(ids))[:_MAX_OWNER_CANDIDATES]


def _owners(ctx: ProjectContext, ids: Sequence[str]) -> list[_Owner]:
    runs = ctx.session.execute(
        select(Run.run_id, Run.artifact_uri, Run.lifecycle_stage).where(
            Run.project_id == ctx.project_id, Run.run_id.in_(ids)
        )
    )
    models = ctx.session.execute(
        select(LoggedModel.model_id, LoggedModel.artifact_uri, LoggedModel.lifecycle_stage).where(
            LoggedModel.project_id == ctx.project_id, LoggedModel.model_id.in_(ids)
        )
    )
    owners = [_Owner("run", *row) for row in runs]
    owners += [_Owner("logged model", *row) for row in models]
    return owners


def _owning_root(ctx: ProjectContext, rel: str, path: str) -> str:
    """The artifact root of the active run or logged model that ``rel`` lies under."""
    ids = _owner_candidates(rel)
    matches: list[tuple[str, _Owner]] = []
    for owner in _owners(ctx, ids) if ids else []:
        try:
            root = store_path(ctx, owner.artifact_uri)
        except (InvalidParameter, NotFound):
            continue
        if rel == root or rel.startswith(root + "/"):
            matches.append((root, owner))
    if not matches:
        raise NotFound(
            f"No run or logged model of this project has its artifact root at '{path}';"
            " artifacts can only be written under one."
        )
    root, owner = max(matches, key=lambda match: len(match[0]))
    if owner.lifecycle_stage != ACTIVE:
        raise InvalidParameter(
            f"The {owner.kind} {owner.ident} must be in the 'active' state."
            f" Current state is {owner.lifecycle_stage}."
        )
    return root


def _check_file_target(ctx: ProjectContext, root: str, rel: str) -> None:
    """Refuse (400) writing where a directory is, or below a file."""
    if rel == root:
        raise InvalidParameter(
            f"Invalid artifact path '{rel}': an upload must name a file under the artifact root."
        )
    if ctx.artifacts.is_dir(escape(rel)):
        raise InvalidParameter(f"Invalid artifact path '{rel}': it is a directory.")
    parent = rel.rsplit("/", 1)[0]
    while parent != root:
        escaped = escape(parent)
        if ctx.artifacts.exists(escaped):
            if not ctx.artifacts.is_dir(escaped):
                raise InvalidParameter(
                    f"Invalid artifact path '{rel}': '{parent}' is a file, not a directory."
                )
            return  # an existing directory's ancestors are directories
        parent = parent.rsplit("/", 1)[0]


def upload_artifact(
    ctx: ProjectContext, path: str, stream: t.BinaryIO, *, expected_size: int | None = None
) -> int:
    """Stream ``stream`` into ``path`` atomically; return the number of bytes written.

    Nothing is visible unless the whole body arrived; more than the configured maximum size
    (announced as ``expected_size`` or found while reading) is refused with nothing left behind.
    """
    target = upload_target(ctx, path, expected_size=expected_size)
    return write_upload(ctx, target, stream)


def upload_target(ctx: ProjectContext, path: str, *, expected_size: int | None = None) -> str:
    """Check that ``path`` may receive a file of ``expected_size``; its store path.

    The only step that reads the database, so a caller can end its transaction before the
    body streams in.
    """
    rel = project_path(ctx, path)
    root = _owning_root(ctx, rel, path)
    _check_file_target(ctx, root, rel)
    limit = ctx.settings.max_artifact_bytes
    if limit is not None and expected_size is not None and expected_size > limit:
        raise InvalidParameter(f"Artifact exceeds the maximum upload size of {limit} bytes")
    return escape(rel)


def write_upload(ctx: ProjectContext, target: str, stream: t.BinaryIO) -> int:
    """Stream ``stream`` into the store path ``target`` from :func:`upload_target`."""
    return ctx.artifacts.write(target, stream, max_bytes=ctx.settings.max_artifact_bytes)


def delete_artifact(ctx: ProjectContext, path: str) -> None:
    """Delete the file or tree at ``path`` (the whole root included); missing is fine."""
    rel = project_path(ctx, path)
    _owning_root(ctx, rel, path)
    ctx.artifacts.delete(escape(rel))
