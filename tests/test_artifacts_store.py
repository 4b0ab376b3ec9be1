"""The HTTP-free artifact storage layer: path safety, atomic streaming writes, listing."""

from __future__ import annotations

import errno
import io
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest

from flask_model_registry.artifacts import (
    ArtifactStore,
    FileInfo,
    LocalArtifactStore,
    normalize_path,
)
from flask_model_registry.artifacts.local import TEMP_PREFIX
from flask_model_registry.errors import InvalidParameter, NotFound, StorageError

MiB = 1024 * 1024


class ChunkStream(io.RawIOBase):
    """A read-only stream fed by an iterator of byte chunks, like a WSGI request body."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._pending:
            self._pending = memoryview(next(self._chunks, b""))
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def as_stream(chunks: Iterator[bytes]) -> BinaryIO:
    return cast(BinaryIO, ChunkStream(chunks))


class ClientGone(Exception):
    """Stands in for the WSGI server's "client disconnected" error."""


def failing_chunks(error: BaseException, good_chunks: int = 3) -> Iterator[bytes]:
    for _ in range(good_chunks):
        yield b"x" * 1000
    raise error


def snapshot(directory: Path) -> list[str]:
    """Every path under ``directory``, relative and sorted."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "artifacts"


@pytest.fixture
def store(root: Path) -> LocalArtifactStore:
    return LocalArtifactStore(root)


def put(store: LocalArtifactStore, path: str, data: bytes) -> int:
    return store.write(path, io.BytesIO(data))


# -- normalize_path ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        (".", ""),
        ("./", ""),
        ("model.pkl", "model.pkl"),
        ("a/./b/c/", "a/b/c"),
        ("a%20b/c%2Fd", "a b/c/d"),
        ("..data/x..", "..data/x.."),
        # Decoded exactly once: a double-encoded ".." stays the literal name "%2e%2e".
        ("%252e%252e/x", "%2e%2e/x"),
    ],
)
def test_normalize_path_accepts_safe_paths(raw: str, expected: str) -> None:
    assert normalize_path(raw) == expected


TRAVERSALS = [
    "..",
    "a/../../x",
    "a/..",
    "%2e%2e%2f",
    "%2e%2e/x",
    "%2E%2E%2Fx",
    "/etc/passwd",
    "%2fetc/passwd",
    "a//etc/passwd",
    "a/%2fetc/passwd",
    "C:\\x",
    "C:/x",
    "a\\..\\b",
    "a%5c..%5cb",
    "a\x00b",
    "a%00b",
    "%ff",
]


@pytest.mark.parametrize("bad", TRAVERSALS)
def test_normalize_path_rejects_unsafe_paths(bad: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        normalize_path(bad)
    assert repr(bad) in info.value.message
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


# -- reading and writing ----------------------------------------------------------------------


def test_store_satisfies_protocol_and_creates_root(root: Path) -> None:
    assert not root.exists()
    store = LocalArtifactStore(root)
    assert root.is_dir()
    assert isinstance(store, ArtifactStore)
    assert store.root == os.path.realpath(root)


def test_round_trip_bytes(store: LocalArtifactStore, root: Path) -> None:
    data = bytes(range(256)) * 1000
    assert put(store, "model/weights.bin", data) == len(data)
    with store.open("model/weights.bin") as fh:
        assert fh.read() == data
    assert store.size("model/weights.bin") == len(data)
    assert (root / "model" / "weights.bin").read_bytes() == data
    assert store.exists("model/weights.bin") is True
    assert store.is_dir("model") is True
    assert store.is_dir("model/weights.bin") is False


def test_overwrite_replaces_content(store: LocalArtifactStore) -> None:
    put(store, "f.txt", b"first version, longer")
    put(store, "f.txt", b"second")
    with store.open("f.txt") as fh:
        assert fh.read() == b"second"


def test_empty_file_round_trip(store: LocalArtifactStore) -> None:
    assert put(store, "empty", b"") == 0
    assert store.list("empty") == [FileInfo("empty", False, 0)]


def test_nested_listing(store: LocalArtifactStore) -> None:
    put(store, "top.txt", b"12345")
    put(store, "a/d.bin", b"xy")
    put(store, "a/b/c.txt", b"abc")
    put(store, "a/B.txt", b"")
    assert store.list("") == [FileInfo("a", True, None), FileInfo("top.txt", False, 5)]
    assert store.list("a") == [
        FileInfo("a/B.txt", False, 0),
        FileInfo("a/b", True, None),
        FileInfo("a/d.bin", False, 2),
    ]
    assert store.list("a/b/") == [FileInfo("a/b/c.txt", False, 3)]


def test_listing_a_file_returns_that_file(store: LocalArtifactStore) -> None:
    put(store, "a/d.bin", b"xy")
    assert store.list("a/d.bin") == [FileInfo("a/d.bin", False, 2)]


def test_listing_missing_dir_is_empty(store: LocalArtifactStore) -> None:
    assert store.list("no/such/dir") == []
    assert store.list("") == []
    assert store.exists("no/such/dir") is False
    assert store.is_dir("no/such/dir") is False


def test_walk_yields_all_files_in_name_order(store: LocalArtifactStore) -> None:
    for path in ["z.txt", "a/2.txt", "a/1/x.txt", "b/y.txt"]:
        put(store, path, b"-")
    assert [info.path for info in store.walk()] == ["a/1/x.txt", "a/2.txt", "b/y.txt", "z.txt"]
    assert [info.path for info in store.walk("a")] == ["a/1/x.txt", "a/2.txt"]
    assert list(store.walk("z.txt")) == [FileInfo("z.txt", False, 1)]
    assert list(store.walk("missing")) == []


def test_open_directory_or_missing_is_not_found(store: LocalArtifactStore) -> None:
    put(store, "dir/f.txt", b"x")
    for path in ["dir", "", "missing.txt", "dir/f.txt/below"]:
        with pytest.raises(NotFound) as info:
            store.open(path)
        assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(NotFound):
        store.size("dir")


# -- path safety ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", TRAVERSALS)
def test_traversal_rejected_and_nothing_written_outside(
    store: LocalArtifactStore, root: Path, tmp_path: Path, bad: str
) -> None:
    before = snapshot(tmp_path)
    with pytest.raises(InvalidParameter):
        put(store, bad, b"pwned")
    with pytest.raises(InvalidParameter):
        store.open(bad)
    with pytest.raises(InvalidParameter):
        store.list(bad)
    with pytest.raises(InvalidParameter):
        store.delete(bad)
    assert snapshot(tmp_path) == before
    assert snapshot(root) == []


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret_dir = tmp_path / "outside"
    secret_dir.mkdir()
    (secret_dir / "secret.txt").write_bytes(b"top secret")
    return secret_dir


def test_symlink_escape_rejected_for_read_and_write(
    store: LocalArtifactStore, root: Path, outside: Path
) -> None:
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "leak.txt").symlink_to(outside / "secret.txt")
    put(store, "real.txt", b"ok")

    for path in ["escape/secret.txt", "leak.txt"]:
        with pytest.raises(InvalidParameter) as info:
            store.open(path)
        assert "outside the artifact root" in info.value.message
    with pytest.raises(InvalidParameter):
        put(store, "escape/new.txt", b"pwned")
    with pytest.raises(InvalidParameter):
        put(store, "escape/deeper/new.txt", b"pwned")
    with pytest.raises(InvalidParameter):
        store.list("escape")
    with pytest.raises(InvalidParameter):
        store.delete("escape")

    assert snapshot(outside) == ["secret.txt"]
    assert (outside / "secret.txt").read_bytes() == b"top secret"
    # Escaping links are not even listed or walked.
    assert store.list("") == [FileInfo("real.txt", False, 2)]
    assert [info.path for info in store.walk()] == ["real.txt"]


def test_symlink_inside_root_is_followed(store: LocalArtifactStore, root: Path) -> None:
    put(store, "real/f.txt", b"data")
    (root / "alias").symlink_to(root / "real", target_is_directory=True)
    with store.open("alias/f.txt") as fh:
        assert fh.read() == b"data"
    assert store.list("alias") == [FileInfo("alias/f.txt", False, 4)]


def test_temp_prefix_is_reserved(store: LocalArtifactStore) -> None:
    with pytest.raises(InvalidParameter) as info:
        put(store, "dir/.upload-abc", b"x")
    assert "reserved" in info.value.message


def test_cannot_write_root(store: LocalArtifactStore) -> None:
    with pytest.raises(InvalidParameter):
        put(store, "", b"x")
    with pytest.raises(InvalidParameter):
        put(store, "./", b"x")


# -- atomicity and limits ---------------------------------------------------------------------


def test_max_bytes_exceeded_leaves_nothing(store: LocalArtifactStore, root: Path) -> None:
    with pytest.raises(InvalidParameter) as info:
        store.write("big.bin", io.BytesIO(b"x" * 11), max_bytes=10)
    assert info.value.message == "Artifact exceeds the maximum upload size of 10 bytes"
    assert store.exists("big.bin") is False
    assert snapshot(root) == []


def test_max_bytes_exact_limit_is_allowed(store: LocalArtifactStore) -> None:
    assert store.write("ok.bin", io.BytesIO(b"x" * 10), max_bytes=10) == 10
    assert store.size("ok.bin") == 10


def test_max_bytes_stops_reading_early(store: LocalArtifactStore) -> None:
    endless = as_stream(iter(lambda: b"y" * MiB, b""))
    with pytest.raises(InvalidParameter):
        store.write("endless.bin", endless, max_bytes=3 * MiB)
    assert store.exists("endless.bin") is False


@pytest.mark.parametrize("error", [ClientGone("client went away"), ConnectionResetError()])
def test_stream_failing_midway_leaves_no_partial_or_temp_file(
    store: LocalArtifactStore, root: Path, error: BaseException
) -> None:
    with pytest.raises(type(error)) as info:
        store.write("dir/upload.bin", as_stream(failing_chunks(error)))
    # The client's failure is passed through, not disguised as a storage failure.
    assert info.value is error
    assert store.exists("dir/upload.bin") is False
    assert os.listdir(root / "dir") == []


def test_failed_overwrite_keeps_previous_content(store: LocalArtifactStore, root: Path) -> None:
    put(store, "model.pkl", b"version 1")
    with pytest.raises(ClientGone):
        store.write("model.pkl", as_stream(failing_chunks(ClientGone())))
    with pytest.raises(InvalidParameter):
        store.write("model.pkl", io.BytesIO(b"v" * 100), max_bytes=50)
    with store.open("model.pkl") as fh:
        assert fh.read() == b"version 1"
    assert os.listdir(root) == ["model.pkl"]


def test_listing_hides_in_flight_uploads(store: LocalArtifactStore, root: Path) -> None:
    put(store, "d/done.txt", b"1")
    (root / "d" / ".upload-0123abcd").write_bytes(b"partial")
    assert store.list("d") == [FileInfo("d/done.txt", False, 1)]
    assert [info.path for info in store.walk("d")] == ["d/done.txt"]


def test_large_write_keeps_memory_flat(store: LocalArtifactStore) -> None:
    block = b"\xab" * (64 * 1024)
    total = 200 * MiB

    def body() -> Iterator[bytes]:
        for _ in range(total // len(block)):
            yield block

    tracemalloc.start()
    try:
        written = store.write("huge.bin", as_stream(body()))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written == total
    assert store.size("huge.bin") == total
    assert peak < 16 * MiB


# -- storage errors ---------------------------------------------------------------------------


def test_file_where_directory_needed_is_storage_error(
    store: LocalArtifactStore, tmp_path: Path
) -> None:
    put(store, "a", b"file")
    with pytest.raises(StorageError) as info:
        put(store, "a/b", b"x")
    assert info.value.error_code == "INTERNAL_ERROR"
    assert info.value.status_code == 500
    assert "'a/b'" in info.value.message
    assert str(tmp_path) not in info.value.message  # no server paths disclosed


def test_writing_over_a_directory_is_storage_error(store: LocalArtifactStore) -> None:
    put(store, "d/f", b"x")
    with pytest.raises(StorageError) as info:
        put(store, "d", b"y")
    assert "is a directory" in info.value.message
    assert store.list("d") == [FileInfo("d/f", False, 1)]


class FullDisk(io.RawIOBase):
    """A writable sink that fails like a full disk after the first chunk."""

    def __init__(self) -> None:
        self.calls = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.calls += 1
        if self.calls > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return len(data)


def test_disk_full_is_storage_error_and_cleans_up(
    store: LocalArtifactStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fdopen(fd: int, mode: str) -> BinaryIO:
        os.close(fd)
        return cast(BinaryIO, FullDisk())

    monkeypatch.setattr(os, "fdopen", fdopen)
    with pytest.raises(StorageError) as info:
        store.write("d/big.bin", io.BytesIO(b"z" * (3 * MiB)))
    assert info.value.message == "Could not write artifact 'd/big.bin': No space left on device."
    assert os.listdir(root / "d") == []


def test_permission_denied_is_storage_error(
    store: LocalArtifactStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Refuse the temporary file as a read-only directory would (root ignores real modes).
    real_open = os.open

    def refuse(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if TEMP_PREFIX in os.fspath(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(StorageError) as info:
        put(store, "locked/f", b"x")
    assert "Permission denied" in info.value.message
    assert not (root / "locked" / "f").exists()


# -- delete and copy --------------------------------------------------------------------------


def test_delete_tree_file_and_missing(store: LocalArtifactStore, root: Path) -> None:
    put(store, "a/b/c.txt", b"1")
    put(store, "a/d.txt", b"2")
    put(store, "keep.txt", b"3")
    store.delete("a/b")
    assert store.list("a") == [FileInfo("a/d.txt", False, 1)]
    store.delete("a")
    assert store.exists("a") is False
    store.delete("keep.txt")
    assert store.exists("keep.txt") is False
    store.delete("never/existed")
    assert snapshot(root) == []


def test_delete_root_empties_store(store: LocalArtifactStore, root: Path) -> None:
    put(store, "a/b.txt", b"1")
    put(store, "c.txt", b"2")
    store.delete("")
    assert root.is_dir()
    assert store.list("") == []


def test_delete_internal_symlink_removes_only_the_link(
    store: LocalArtifactStore, root: Path
) -> None:
    put(store, "real/f.txt", b"data")
    (root / "alias").symlink_to(root / "real", target_is_directory=True)
    store.delete("alias")
    assert store.exists("alias") is False
    assert store.list("real") == [FileInfo("real/f.txt", False, 4)]


def test_copy_tree_copies_files_and_dirs(store: LocalArtifactStore) -> None:
    put(store, "src/a.txt", b"a")
    put(store, "src/sub/b.txt", b"bb")
    put(store, "src/100%25.txt", b"p")  # stored as "100%.txt"
    put(store, "dst/existing.txt", b"e")
    store.copy_tree("src", "dst")
    assert [(i.path, i.file_size) for i in store.walk("dst")] == [
        ("dst/100%.txt", 1),
        ("dst/a.txt", 1),
        ("dst/existing.txt", 1),
        ("dst/sub/b.txt", 2),
    ]
    store.copy_tree("src/sub/b.txt", "single.txt")
    with store.open("single.txt") as fh:
        assert fh.read() == b"bb"
    assert [i.path for i in store.walk("src")] == ["src/100%.txt", "src/a.txt", "src/sub/b.txt"]


def test_copy_tree_errors(store: LocalArtifactStore) -> None:
    put(store, "src/a.txt", b"a")
    with pytest.raises(NotFound):
        store.copy_tree("missing", "dst")
    with pytest.raises(InvalidParameter):
        store.copy_tree("src", "src/inner")
    with pytest.raises(InvalidParameter):
        store.copy_tree("src", "../elsewhere")
    assert [i.path for i in store.walk()] == ["src/a.txt"]
