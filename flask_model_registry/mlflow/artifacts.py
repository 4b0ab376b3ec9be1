"""The proxied artifact service (``mlflow-artifacts``) and the tracking service's run listing.

Artifact paths start with the project id (``<project_id>/<experiment>/<run_id>/artifacts/...``);
a path outside the caller's project is answered 404 without saying whether it exists. Uploads
stream the request body to the store, downloads stream the file back: neither holds a file in
memory.
"""

from __future__ import annotations

import mimetypes
import typing as t
import unicodedata
from urllib.parse import quote

from flask import Response, request
from werkzeug.exceptions import ClientDisconnected
from werkzeug.wsgi import wrap_file

from flask_model_registry.artifacts import FileInfo
from flask_model_registry.services import artifacts as service
from flask_model_registry.services.context import ProjectContext

__all__ = [
    "delete_artifact",
    "download_artifact",
    "file_info_json",
    "list_artifacts",
    "list_run_artifacts",
    "upload_artifact",
]

Json = dict[str, t.Any]

#: Bytes sent per iteration when streaming a download.
DOWNLOAD_CHUNK = 256 * 1024

#: Served as text/plain like MLflow does, whatever the platform's MIME table says.
_TEXT_EXTENSIONS = frozenset(
    """txt log err cfg conf cnf cf ini properties prop hocon toml yaml yml xml json js py py3 csv
    tsv md rst ipynb""".split()
)
_TEXT_NAMES = frozenset({"MLmodel", "MLproject"})


def file_info_json(info: FileInfo) -> dict[str, t.Any]:
    """A ``FileInfo`` on the wire: ``file_size`` only for files."""
    payload: dict[str, t.Any] = {"path": info.path, "is_dir": info.is_dir}
    if not info.is_dir and info.file_size is not None:
        payload["file_size"] = info.file_size
    return payload


def _files_json(files: t.Sequence[FileInfo]) -> dict[str, t.Any]:
    return {"files": [file_info_json(info) for info in files]} if files else {}


def list_artifacts(ctx: ProjectContext, args: Json) -> dict[str, t.Any]:
    """``GET artifacts?path=``: children by basename, ``{}`` for a missing directory."""
    return _files_json(service.list_directory(ctx, args["path"]))


def list_run_artifacts(ctx: ProjectContext, args: Json) -> dict[str, t.Any]:
    """``GET mlflow/artifacts/list?run_id=&path=``: run-relative paths and the run's root."""
    listing = service.list_run_artifacts(ctx, args["run_id"], args["path"])
    return {"root_uri": listing.root_uri, **_files_json(listing.files)}


def _mimetype(name: str) -> str:
    extension = name.rsplit(".", 1)[-1] if "." in name else ""
    if extension in _TEXT_EXTENSIONS or name in _TEXT_NAMES:
        return "text/plain"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def download_artifact(ctx: ProjectContext, artifact_path: str) -> Response:
    """``GET artifacts/<path>``: the file as an attachment, streamed (Range requests work)."""
    item = service.open_artifact(ctx, artifact_path)
    try:
        body = wrap_file(request.environ, item.stream, buffer_size=DOWNLOAD_CHUNK)
        response = Response(body, mimetype=_mimetype(item.name), direct_passthrough=True)
        response.content_length = item.size
        response.headers.set("Content-Disposition", "attachment", **_filename(item.name))
        # Stored files are user content: never let a browser render or sniff them here.
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "sandbox"
        response.cache_control.no_cache = True
        response.make_conditional(request.environ, accept_ranges=True, complete_length=item.size)
        return response
    except BaseException:
        item.stream.close()
        raise


def _filename(name: str) -> dict[str, str]:
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name)
        ascii_name = simple.encode("ascii", "ignore").decode("ascii") or "download"
        return {"filename": ascii_name, "filename*": "UTF-8''" + quote(name, safe="")}
    return {"filename": name}


class _ExactLength:
    """The request body, refusing to end before ``Content-Length`` bytes arrived.

    Servers that terminate the input themselves (gunicorn) signal a vanished client as an
    early end of the stream; storing that would commit a truncated file.
    """

    def __init__(self, stream: t.BinaryIO, length: int) -> None:
        self._stream = stream
        self._remaining = length

    def read(self, size: int = -1) -> bytes:
        if self._remaining <= 0:
            return b""
        want = self._remaining if size is None or size < 0 else min(size, self._remaining)
        chunk = self._stream.read(want)
        if not chunk:
            raise ClientDisconnected(
                "The client sent fewer bytes than its Content-Length announced."
            )
        self._remaining -= len(chunk)
        return chunk


def upload_artifact(ctx: ProjectContext, artifact_path: str) -> dict[str, t.Any]:
    """``PUT artifacts/<path>``: stream the raw body into the store (any Content-Type).

    Works with ``Content-Length`` and with chunked bodies (which the WSGI server de-chunks).
    """
    stream = t.cast(t.BinaryIO, request.stream)
    length = request.content_length
    if length is not None:
        stream = t.cast(t.BinaryIO, _ExactLength(stream, length))
    target = service.upload_target(ctx, artifact_path, expected_size=length)
    # Nothing is written to the database: end the read now so that no lock (SQLite's write
    # lock included) is held while a large body streams in.
    ctx.session.commit()
    service.write_upload(ctx, target, stream)
    return {}


def delete_artifact(ctx: ProjectContext, artifact_path: str) -> dict[str, t.Any]:
    """``DELETE artifacts/<path>``: remove a file or a whole directory."""
    service.delete_artifact(ctx, artifact_path)
    return {}
