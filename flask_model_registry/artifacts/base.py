"""Storage-agnostic pieces of the artifact layer: path normalization, ``FileInfo``, the protocol."""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable
from urllib.parse import unquote

from flask_model_registry.errors import InvalidParameter

__all__ = ["CHUNK_SIZE", "ArtifactStore", "FileInfo", "normalize_path"]

#: Bytes read from an upload stream (or a stored file) at a time.
CHUNK_SIZE = 1024 * 1024

_DRIVE = re.compile(r"^[A-Za-z]:")


#: Longest file or directory name, and longest relative path, the store accepts.
MAX_SEGMENT_BYTES = 255
MAX_PATH_BYTES = 2048

def normalize_path(path: str) -> str:
    """Turn a client-supplied relative artifact path into a safe POSIX relative path.

    The path is percent-decoded exactly once and then validated, so encoded traversal such as
    ``%2e%2e%2f`` is caught.  ``.`` segments and a trailing ``/`` are dropped; ``""`` means the
    root.

    Raises :class:`.InvalidParameter` for NUL bytes, backslashes, absolute or drive-letter paths,
    an empty segment (``a//b``), any ``..`` segment, and percent-escapes that do not decode to
    UTF-8.

    :param path: The path as the client sent it, possibly percent-encoded.
    :return: The path's segments joined by ``/``, without leading or trailing ``/``.
    """
    try:
        decoded = unquote(path, errors="strict")
        decoded.encode("utf-8")  # lone surrogates cannot name a file
    except UnicodeError:
        message = f"Invalid artifact path {path!r}: the path is not valid UTF-8."
        raise InvalidParameter(message) from None
    problem: str
    if "\x00" in decoded:
        problem = "contains a NUL byte"
    elif "\\" in decoded:
        problem = "contains a backslash"
    elif decoded.startswith("/") or _DRIVE.match(decoded):
        problem = "is absolute"
    elif "//" in decoded:
        # Joined naively (``os.path.join``, a URL), what follows the empty segment is absolute.
        problem = "has an empty segment ('//')"
    else:
        segments = [s for s in decoded.split("/") if s not in ("", ".")]
        if ".." in segments:
            problem = "contains a '..' segment"
        elif any(len(s.encode("utf-8")) > MAX_SEGMENT_BYTES for s in segments):
            problem = f"has a name longer than {MAX_SEGMENT_BYTES} bytes"
        elif len(decoded.encode("utf-8")) > MAX_PATH_BYTES:
            problem = f"is longer than {MAX_PATH_BYTES} bytes"
        else:
            return "/".join(segments)
    raise InvalidParameter(f"Invalid artifact path {path!r}: the path {problem}.")


@dataclass(frozen=True)
class FileInfo:
    """One entry of a store: ``path`` is relative to the store root (POSIX separators)."""

    #: Where the entry is, relative to the store root, segments joined by ``/``.
    path: str
    #: Whether the entry is a directory.
    is_dir: bool
    #: The file's size in bytes; ``None`` for a directory.
    file_size: int | None = None


@runtime_checkable
class ArtifactStore(Protocol):
    """What the tracking server needs from an artifact backend.

    Paths are client-supplied relative paths; implementations pass them through
    :func:`normalize_path`.  ``""`` is the store root. A path that
    :func:`normalize_path` refuses raises :class:`.InvalidParameter`; a failure of the storage
    itself raises :class:`~flask_model_registry.errors.StorageError`.
    """

    def write(self, path: str, stream: BinaryIO, *, max_bytes: int | None = None) -> int:
        """Stream ``stream`` into ``path`` atomically and return the number of bytes written.

        Raises :class:`.InvalidParameter` when more than ``max_bytes`` bytes arrive; nothing is
        then left behind.

        :param path: The file to create or replace; missing parent directories are created.
        :param stream: A binary file object, read in chunks of :data:`CHUNK_SIZE` bytes until
            it is exhausted.
        :param max_bytes: The largest size accepted; ``None`` for no limit.
        """
        ...

    def open(self, path: str) -> BinaryIO:
        """Open a stored file for binary reading; :class:`.NotFound` if missing or a directory.

        :param path: The file to read. The caller closes the returned file.
        """
        ...

    def size(self, path: str) -> int:
        """Return a stored file's size; :class:`.NotFound` if missing or a directory.

        :param path: The file to measure.
        """
        ...

    def list(self, path: str = "") -> builtins.list[FileInfo]:
        """Direct children of ``path`` sorted by name; ``[]`` if missing; ``[file]`` for a file.

        :param path: The directory to list; the root by default.
        """
        ...

    def exists(self, path: str) -> bool:
        """Whether a file or directory exists at ``path``.

        :param path: The entry to look for.
        """
        ...

    def is_dir(self, path: str) -> bool:
        """Whether ``path`` is an existing directory.

        :param path: The entry to look at.
        """
        ...

    def delete(self, path: str) -> None:
        """Delete a file or a whole tree; a missing path is not an error.

        :param path: The file or directory to delete; ``""`` empties the store.
        """
        ...

    def walk(self, path: str = "") -> Iterator[FileInfo]:
        """Yield every file (not directory) under ``path`` recursively, or ``path`` itself.

        :param path: The directory to walk, or a single file; the root by default. A missing
            path yields nothing.
        """
        ...

    def copy_tree(self, src: str, dst: str) -> None:
        """Copy the file or tree at ``src`` to ``dst`` (merging into an existing directory).

        :param src: The file or directory to copy; :class:`.NotFound` if missing.
        :param dst: Where the copy goes; a directory cannot be copied into itself.
        """
        ...
