"""An artifact store backed by a directory on the local filesystem."""

from __future__ import annotations

import builtins
import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from typing import BinaryIO

from flask_model_registry.artifacts.base import CHUNK_SIZE, FileInfo, normalize_path
from flask_model_registry.errors import InvalidParameter, NotFound, StorageError

__all__ = ["LocalArtifactStore"]

#: Name prefix of in-flight uploads; such entries are hidden and may not be addressed by clients.
TEMP_PREFIX = ".upload-"

_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def _storage_error(action: str, rel: str, exc: OSError) -> StorageError:
    # strerror only: str(exc) would disclose the server's absolute paths to clients.
    reason = exc.strerror or type(exc).__name__
    return StorageError(f"Could not {action} artifact {rel!r}: {reason}.")


class LocalArtifactStore:
    """Stores artifacts as files under ``root`` (created if missing).

    Every client path is normalized with :func:`normalize_path` and must resolve, symlinks
    included, inside the real root.  Writes are atomic: data is streamed to a hidden
    ``.upload-*`` file next to the target and renamed into place only once complete.
    It implements :class:`~flask_model_registry.artifacts.base.ArtifactStore`.

    :param root: The directory holding the files; created with its parents if missing.
    :raises ~flask_model_registry.errors.StorageError: ``root`` cannot be created.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        try:
            os.makedirs(root, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"Could not create the artifact root: {exc.strerror}.") from exc
        self._root = os.path.realpath(root)
        self._root_prefix = self._root if self._root.endswith(os.sep) else self._root + os.sep

    @property
    def root(self) -> str:
        """The real (symlink-free) absolute path of the store root."""
        return self._root

    def __repr__(self) -> str:
        return f"LocalArtifactStore({self._root!r})"

    # -- path handling -------------------------------------------------------------------------

    def _inside(self, real: str) -> bool:
        return real == self._root or real.startswith(self._root_prefix)

    def _locate(self, rel: str, shown: str | None = None) -> str:
        """Absolute path of the already-normalized ``rel``, checked to stay inside the root."""
        shown = rel if shown is None else shown
        if any(segment.startswith(TEMP_PREFIX) for segment in rel.split("/")):
            reason = f"names starting with {TEMP_PREFIX!r} are reserved"
            raise InvalidParameter(f"Invalid artifact path {shown!r}: {reason}.")
        full = os.path.join(self._root, *rel.split("/")) if rel else self._root
        if not self._inside(os.path.realpath(full)):
            raise InvalidParameter(
                f"Invalid artifact path {shown!r}: it resolves outside the artifact root."
            )
        return full

    def _resolve(self, path: str) -> tuple[str, str]:
        rel = normalize_path(path)
        return rel, self._locate(rel, shown=path)

    def _child_info(self, rel_dir: str, entry: os.DirEntry[str]) -> FileInfo | None:
        """``FileInfo`` for a directory entry, or ``None`` if it must not be exposed."""
        if entry.name.startswith(TEMP_PREFIX):
            return None
        if entry.is_symlink() and not self._inside(os.path.realpath(entry.path)):
            return None
        child = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
        try:
            if entry.is_dir():
                return FileInfo(child, True, None)
            if entry.is_file():
                return FileInfo(child, False, entry.stat().st_size)
        except FileNotFoundError:  # removed (or a dangling symlink) since scandir saw it
            return None
        return None  # FIFOs, sockets, devices: reading them could block or leak

    def _stat(self, rel: str, full: str) -> os.stat_result | None:
        try:
            return os.stat(full)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise _storage_error("read", rel, exc) from exc

    # -- writing -------------------------------------------------------------------------------

    def write(self, path: str, stream: BinaryIO, *, max_bytes: int | None = None) -> int:
        """Stream ``stream`` into ``path`` atomically and return the number of bytes written."""
        rel, full = self._resolve(path)
        return self._write_located(rel, full, stream, max_bytes)

    def _write_located(self, rel: str, full: str, stream: BinaryIO, max_bytes: int | None) -> int:
        if not rel:
            raise InvalidParameter("Invalid artifact path '': cannot write to the artifact root.")
        if os.path.isdir(full):
            raise StorageError(f"Could not write artifact {rel!r}: it is a directory.")
        parent = os.path.dirname(full)
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as exc:
            raise _storage_error("write", rel, exc) from exc
        # Re-check now the directories exist, in case one was replaced by a symlink meanwhile.
        if not self._inside(os.path.realpath(parent)):
            raise InvalidParameter(
                f"Invalid artifact path {rel!r}: it resolves outside the artifact root."
            )
        fd, tmp = self._create_temp(parent, rel)
        try:
            with os.fdopen(fd, "wb") as out:
                written = self._pump(rel, stream, out, max_bytes)
                try:
                    out.flush()
                except OSError as exc:
                    raise _storage_error("write", rel, exc) from exc
            try:
                os.replace(tmp, full)
            except OSError as exc:
                raise _storage_error("write", rel, exc) from exc
        except BaseException:
            # Any failure, including the client vanishing mid-upload, leaves no partial file.
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return written

    @staticmethod
    def _create_temp(directory: str, rel: str) -> tuple[int, str]:
        while True:
            tmp = os.path.join(directory, TEMP_PREFIX + secrets.token_hex(8))
            try:
                # 0o666 so the umask applies as for any ordinary file (mkstemp would force 0o600).
                return os.open(tmp, _TEMP_FLAGS, 0o666), tmp
            except FileExistsError:
                continue
            except OSError as exc:
                raise _storage_error("write", rel, exc) from exc

    @staticmethod
    def _pump(rel: str, stream: BinaryIO, out: BinaryIO, max_bytes: int | None) -> int:
        """Copy ``stream`` to ``out`` chunk by chunk; errors raised by ``stream`` pass through."""
        written = 0
        while True:
            # Ask for at most one byte past the limit so an oversized upload is not read further.
            # (Never <= 0: read(-1) would slurp the whole stream into memory.)
            want = (
                CHUNK_SIZE
                if max_bytes is None
                else max(1, min(CHUNK_SIZE, max_bytes - written + 1))
            )
            chunk = stream.read(want)
            if not chunk:
                return written
            written += len(chunk)
            if max_bytes is not None and written > max_bytes:
                raise InvalidParameter(
                    f"Artifact exceeds the maximum upload size of {max_bytes} bytes"
                )
            try:
                out.write(chunk)
            except OSError as exc:
                raise _storage_error("write", rel, exc) from exc

    # -- reading -------------------------------------------------------------------------------

    def open(self, path: str) -> BinaryIO:
        """Open a stored file for binary reading; :class:`.NotFound` if missing or a directory."""
        rel, full = self._resolve(path)
        return self._open_located(rel, full)

    def _open_located(self, rel: str, full: str) -> BinaryIO:
        st = self._stat(rel, full)
        if st is None or not stat.S_ISREG(st.st_mode):
            raise NotFound(f"Artifact {rel!r} does not exist or is not a file.")
        try:
            return builtins.open(full, "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise NotFound(f"Artifact {rel!r} does not exist or is not a file.") from exc
        except OSError as exc:
            raise _storage_error("read", rel, exc) from exc

    def size(self, path: str) -> int:
        """Return a stored file's size; :class:`.NotFound` if missing or a directory."""
        rel, full = self._resolve(path)
        st = self._stat(rel, full)
        if st is None or not stat.S_ISREG(st.st_mode):
            raise NotFound(f"Artifact {rel!r} does not exist or is not a file.")
        return st.st_size

    def exists(self, path: str) -> bool:
        """Whether a file or directory exists at ``path``."""
        rel, full = self._resolve(path)
        return self._stat(rel, full) is not None

    def is_dir(self, path: str) -> bool:
        """Whether ``path`` is an existing directory."""
        rel, full = self._resolve(path)
        st = self._stat(rel, full)
        return st is not None and stat.S_ISDIR(st.st_mode)

    def list(self, path: str = "") -> builtins.list[FileInfo]:
        """Direct children of ``path`` sorted by name; ``[]`` if missing; ``[file]`` for a file."""
        rel, full = self._resolve(path)
        st = self._stat(rel, full)
        if st is None:
            return []
        if stat.S_ISREG(st.st_mode):
            return [FileInfo(rel, False, st.st_size)]
        if not stat.S_ISDIR(st.st_mode):
            return []
        return self._children(rel, full)

    def _children(self, rel: str, full: str) -> builtins.list[FileInfo]:
        infos: builtins.list[FileInfo] = []
        try:
            with os.scandir(full) as entries:
                for entry in entries:
                    info = self._child_info(rel, entry)
                    if info is not None:
                        infos.append(info)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise _storage_error("list", rel, exc) from exc
        return sorted(infos, key=lambda info: info.path)

    def walk(self, path: str = "") -> Iterator[FileInfo]:
        """Yield every file under ``path`` depth-first in name order, or ``path`` if a file."""
        rel, full = self._resolve(path)  # validate eagerly, not on first ``next()``
        return self._walk(rel, full)

    def _walk(self, rel: str, full: str) -> Iterator[FileInfo]:
        st = self._stat(rel, full)
        if st is None:
            return
        if stat.S_ISREG(st.st_mode):
            yield FileInfo(rel, False, st.st_size)
            return
        if not stat.S_ISDIR(st.st_mode):
            return
        # Symlinked directories (inside the root) are followed; remember inodes to avoid cycles.
        # An explicit stack of listings, not recursion, so deep trees cannot hit the limit.
        seen = {(st.st_dev, st.st_ino)}
        stack = [iter(self._children(rel, full))]
        while stack:
            info = next(stack[-1], None)
            if info is None:
                stack.pop()
            elif not info.is_dir:
                yield info
            else:
                child_full = self._located_child(info.path)
                child_st = self._stat(info.path, child_full)
                if child_st is not None and (child_st.st_dev, child_st.st_ino) not in seen:
                    seen.add((child_st.st_dev, child_st.st_ino))
                    stack.append(iter(self._children(info.path, child_full)))

    def _located_child(self, rel: str) -> str:
        return os.path.join(self._root, *rel.split("/")) if rel else self._root

    # -- deleting and copying ------------------------------------------------------------------

    def delete(self, path: str) -> None:
        """Delete a file or a whole tree; a missing path is fine.  ``""`` empties the store."""
        rel, full = self._resolve(path)
        if not rel:
            for info in self._children("", self._root):
                self._delete_located(info.path, self._located_child(info.path))
            return
        self._delete_located(rel, full)

    @staticmethod
    def _delete_located(rel: str, full: str) -> None:
        try:
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            else:
                os.unlink(full)
        except (FileNotFoundError, NotADirectoryError):
            pass
        except OSError as exc:
            raise _storage_error("delete", rel, exc) from exc

    def copy_tree(self, src: str, dst: str) -> None:
        """Copy the file or tree at ``src`` to ``dst``, merging into an existing directory.

        Each file is written atomically; empty directories are not copied.
        """
        src_rel, src_full = self._resolve(src)
        dst_rel, _ = self._resolve(dst)
        st = self._stat(src_rel, src_full)
        if st is None:
            raise NotFound(f"Artifact {src_rel!r} does not exist.")
        if src_rel == dst_rel:
            return
        if stat.S_ISDIR(st.st_mode) and (not src_rel or dst_rel.startswith(src_rel + "/")):
            raise InvalidParameter(
                f"Cannot copy artifact directory {src_rel!r} into itself ({dst_rel!r})."
            )
        # Materialized first so files written below are never walked again.
        files = builtins.list(self._walk(src_rel, src_full))
        for info in files:
            suffix = info.path[len(src_rel) :].lstrip("/")
            # Compose from already-normalized parts: normalizing again would decode ``%`` twice.
            target = "/".join(part for part in (dst_rel, suffix) if part)
            target_full = self._locate(target)
            with self._open_located(info.path, self._locate(info.path)) as source:
                self._write_located(target, target_full, source, None)
