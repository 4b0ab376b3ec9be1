"""The real ``mlflow`` client logging, listing and downloading artifacts through the live app,
large transfers with flat memory, and uploads through gunicorn."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import time
import typing as t
from pathlib import Path

import pytest
import requests
from flask import Flask

from tests.conftest import Project
from tests.support.live import GunicornServer, LiveServer
from tests.test_mlflow_artifacts import artifact_root, artifacts_url, seed_run

pytestmark = pytest.mark.live

MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def _forget_active_experiment() -> t.Iterator[None]:
    """``mlflow.set_experiment`` exports MLFLOW_EXPERIMENT_ID; keep it out of other tests."""
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    yield
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)


def make_tree(base: Path) -> dict[str, bytes]:
    """A nested directory of files; returns their relative paths and contents."""
    files = {
        "top.txt": b"top level\n",
        "data/table.csv": b"a,b\n1,2\n",
        "data/deep/blob.bin": os.urandom(70_000),
        "data/deep/deeper/empty.txt": b"",
    }
    for rel, content in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return files


def read_tree(base: Path) -> dict[str, bytes]:
    return {
        p.relative_to(base).as_posix(): p.read_bytes() for p in base.rglob("*") if p.is_file()
    }


def test_fluent_logging_listing_and_downloads(
    mlflow_env: str, tmp_path: Path, project: Project
) -> None:
    import mlflow
    from mlflow import MlflowClient

    note = tmp_path / "notes.txt"
    note.write_bytes(b"hello artifacts\n")
    tree = tmp_path / "tree"
    files = make_tree(tree)
    mlflow.set_experiment("artifacts-live")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(note))
        mlflow.log_artifact(str(note), artifact_path="sub/dir")
        mlflow.log_artifacts(str(tree), artifact_path="tree")
        mlflow.log_text("some text", "texts/t.txt")
        mlflow.log_dict({"a": 1, "b": [1, 2]}, "d.json")
    run_id = run.info.run_id
    assert run.info.artifact_uri.startswith(f"mlflow-artifacts:/{project.id}/")

    client = MlflowClient()
    root = {(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id)}
    dict_size = len(json.dumps({"a": 1, "b": [1, 2]}, indent=2).encode())
    assert root == {
        ("notes.txt", False, 16),
        ("sub", True, None),
        ("tree", True, None),
        ("texts", True, None),
        ("d.json", False, dict_size),
    }
    assert [(f.path, f.is_dir) for f in client.list_artifacts(run_id, "sub")] == [
        ("sub/dir", True)
    ]
    assert [(f.path, f.file_size) for f in client.list_artifacts(run_id, "sub/dir")] == [
        ("sub/dir/notes.txt", 16)
    ]
    data_dir = client.list_artifacts(run_id, "tree/data")
    assert [(f.path, f.is_dir, f.file_size) for f in data_dir] == [
        ("tree/data/deep", True, None), ("tree/data/table.csv", False, 8)
    ]

    single = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="notes.txt", dst_path=str(tmp_path / "dl1")
    )
    assert Path(single).read_bytes() == note.read_bytes()
    whole = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="tree", dst_path=str(tmp_path / "dl2")
    )
    assert read_tree(Path(whole)) == files
    everything = mlflow.artifacts.download_artifacts(
        run_id=run_id, dst_path=str(tmp_path / "dl3")
    )
    got = read_tree(Path(everything))
    assert got["texts/t.txt"] == b"some text"
    assert json.loads(got["d.json"]) == {"a": 1, "b": [1, 2]}
    assert got["sub/dir/notes.txt"] == note.read_bytes()
    assert {k.removeprefix("tree/"): v for k, v in got.items() if k.startswith("tree/")} == files
    assert mlflow.artifacts.load_text(f"{run.info.artifact_uri}/texts/t.txt") == "some text"
    assert mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/d.json") == {"a": 1, "b": [1, 2]}

    client.delete_run(run_id)
    client.restore_run(run_id)


def test_client_cannot_reach_another_projects_artifacts(
    app: Flask, mlflow_env: str, project: Project, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A member of project B (the outsider owns it) addressing project A's files gets 404."""
    import mlflow
    from mlflow.exceptions import MlflowException

    with mlflow.start_run() as run:
        mlflow.log_text("project A only", "secret.txt")
    a_uri = f"{run.info.artifact_uri}/secret.txt"
    assert mlflow.artifacts.load_text(a_uri) == "project A only"

    other_uri = mlflow_env.replace(f"/projects/{project.id}/", f"/projects/{project.other_id}/")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", project.tokens["outsider"])
    mlflow.set_tracking_uri(other_uri)
    with pytest.raises((MlflowException, requests.HTTPError)) as error:
        mlflow.artifacts.download_artifacts(artifact_uri=a_uri, dst_path=str(tmp_path / "x"))
    assert "404" in str(error.value)
    assert "RESOURCE_DOES_NOT_EXIST" in str(error.value)
    assert not any((tmp_path / "x").rglob("secret.txt"))


# -- 200 MB with flat memory ------------------------------------------------------------------


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/self/status")


def _reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def _write_big_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(MiB)
    with path.open("wb") as out:
        for i in range(size // MiB):
            chunk = block[i % 7 :] + block[: i % 7]  # vary the content a little per MiB
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.mark.timeout(240)
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_200_mb_upload_and_download_keep_memory_flat(
    mlflow_env: str, tmp_path: Path, app: Flask
) -> None:
    """Server and client share this process: the peak RSS over a 200 MB round trip through
    the real client must stay within 50 MB of where it started."""
    import mlflow

    size = 200 * MiB
    big = tmp_path / "big.bin"
    expected = _write_big_file(big, size)
    with mlflow.start_run() as run:
        pass
    baseline = _rss_kib("VmRSS")
    _reset_peak_rss()
    mlflow.MlflowClient().log_artifact(run.info.run_id, str(big), artifact_path="large")
    upload_peak = _rss_kib("VmHWM")
    stored = artifact_root(app) / run.info.artifact_uri.removeprefix("mlflow-artifacts:/")
    assert (stored / "large" / "big.bin").stat().st_size == size

    _reset_peak_rss()
    downloaded = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="large/big.bin", dst_path=str(tmp_path / "dl")
    )
    download_peak = _rss_kib("VmHWM")
    assert Path(downloaded).stat().st_size == size
    assert _sha256(Path(downloaded)) == expected
    assert _sha256(stored / "large" / "big.bin") == expected
    limit = 50 * 1024
    assert upload_peak - baseline < limit, f"upload grew RSS by {upload_peak - baseline} KiB"
    assert download_peak - baseline < limit, f"download grew RSS by {download_peak - baseline} KiB"


# -- gunicorn ---------------------------------------------------------------------------------


def _put(port: int, target: str, body: t.Any, headers: dict[str, str],
         chunked: bool = False) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("PUT", target, body=body, headers=headers, encode_chunked=chunked)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_uploads_through_gunicorn_with_length_chunked_and_disconnect(
    app: Flask, project: Project, tmp_path: Path
) -> None:
    seeded = seed_run(app, project.id)
    run_dir = artifact_root(app) / seeded.root
    headers = project.headers("developer")
    parts = [os.urandom(300_000) for _ in range(5)]
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    with GunicornServer(database_url, tmp_path, workers=1, threads=2, testing=False) as server:
        port = server.port
        status, body = _put(port, artifacts_url(project.id, f"{seeded.root}/sized.bin"),
                            b"".join(parts), headers)
        assert (status, json.loads(body)) == (200, {})
        status, body = _put(port, artifacts_url(project.id, f"{seeded.root}/chunked.bin"),
                            iter(parts), headers, chunked=True)
        assert (status, json.loads(body)) == (200, {})

        # announce 10 MiB, send 1 MiB, hang up: gunicorn reports that as an early end of body
        target = artifacts_url(project.id, f"{seeded.root}/partial.bin")
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(
                (f"PUT {target} HTTP/1.1\r\nHost: x\r\nAuthorization: {headers['Authorization']}"
                 f"\r\nContent-Length: {10 * MiB}\r\n\r\n").encode()
            )
            sock.sendall(b"p" * MiB)
            time.sleep(0.3)
        time.sleep(1.0)
        deadline = time.monotonic() + 15
        while any(p.name.startswith(".upload-") for p in run_dir.iterdir()):
            assert time.monotonic() < deadline
            time.sleep(0.1)

    assert (run_dir / "sized.bin").read_bytes() == b"".join(parts)
    assert (run_dir / "chunked.bin").read_bytes() == b"".join(parts)
    assert sorted(p.name for p in run_dir.iterdir()) == ["chunked.bin", "sized.bin"]


def test_werkzeug_server_sets_what_streaming_needs(
    live_server: LiveServer, project: Project, app: Flask
) -> None:
    """A 64 MiB body through the threaded werkzeug server is stored whole."""
    seeded = seed_run(app, project.id)
    digest = hashlib.sha256()
    block = os.urandom(MiB)

    def body() -> t.Iterator[bytes]:
        for _ in range(64):
            digest.update(block)
            yield block

    status, payload = _put(live_server.port,
                           artifacts_url(project.id, f"{seeded.root}/streamed.bin"), body(),
                           project.headers("developer"), chunked=True)
    assert (status, json.loads(payload)) == (200, {})
    stored = artifact_root(app) / seeded.root / "streamed.bin"
    assert stored.stat().st_size == 64 * MiB
    assert _sha256(stored) == digest.hexdigest()
