"""The proxied artifact service (``mlflow-artifacts``) over HTTP: paths, scoping, streaming."""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import time
import typing as t
import uuid
from pathlib import Path

import pytest
from flask import Flask

from flask_model_registry.dispatch import make_context
from flask_model_registry.errors import InvalidParameter, NotFound, StorageError
from flask_model_registry.models import Run
from flask_model_registry.services import artifacts as artifact_service
from flask_model_registry.services import experiments, runs
from flask_model_registry.state import get_state
from tests.conftest import Project
from tests.support.live import LiveServer

MLFLOW = "/api/v4/projects/{}/ml/mlflow"


class Seeded(t.NamedTuple):
    experiment_iid: int
    run_id: str
    artifact_uri: str

    @property
    def root(self) -> str:
        """The store path of the run's artifact root."""
        return self.artifact_uri.removeprefix("mlflow-artifacts:/")


def seed_run(app: Flask, project_id: int, experiment: str = "exp") -> Seeded:
    """An experiment and a run in ``project_id``, created through the services."""
    with app.test_request_context():
        ctx = make_context(project_id, None)
        found = experiments.find_experiment_by_name(ctx, experiment)
        exp = found or experiments.create_experiment(ctx, experiment)
        run = runs.create_run(ctx, experiment_id=str(exp.iid)).run
        seeded = Seeded(exp.iid, run.run_id, run.artifact_uri)
        ctx.session.commit()
    return seeded


def artifacts_url(project_id: int, path: str = "") -> str:
    base = f"{MLFLOW.format(project_id)}/api/2.0/mlflow-artifacts/artifacts"
    return f"{base}/{path}" if path else base


def artifact_root(app: Flask) -> Path:
    return Path(app.config["MODEL_REGISTRY_ARTIFACT_ROOT"])


@pytest.fixture
def seeded(app: Flask, project: Project) -> Seeded:
    return seed_run(app, project.id)


def put(client: t.Any, project: Project, path: str, data: bytes, role: str = "developer",
        project_id: int | None = None, **kwargs: t.Any) -> t.Any:
    return client.put(
        artifacts_url(project.id if project_id is None else project_id, path),
        data=data,
        headers=project.headers(role),
        **kwargs,
    )


# -- round trip -------------------------------------------------------------------------------


def test_upload_list_download_delete_round_trip(
    client: t.Any, project: Project, seeded: Seeded, app: Flask
) -> None:
    dev = project.headers("developer")
    response = put(client, project, f"{seeded.root}/notes.txt", b"hello", content_type="text/plain")
    assert response.status_code == 200
    assert response.get_json() == {}
    nested_put = put(client, project, f"{seeded.root}/sub/dir/data.bin", b"\x00\x01\x02")
    assert nested_put.status_code == 200
    assert (artifact_root(app) / seeded.root / "notes.txt").read_bytes() == b"hello"

    listing = client.get(artifacts_url(project.id), query_string={"path": seeded.root},
                         headers=dev)
    assert listing.status_code == 200
    assert listing.get_json() == {
        "files": [
            {"path": "notes.txt", "is_dir": False, "file_size": 5},
            {"path": "sub", "is_dir": True},
        ]
    }
    nested = client.get(artifacts_url(project.id), query_string={"path": f"{seeded.root}/sub/dir"},
                        headers=dev)
    assert nested.get_json() == {"files": [{"path": "data.bin", "is_dir": False, "file_size": 3}]}

    download = client.get(artifacts_url(project.id, f"{seeded.root}/sub/dir/data.bin"),
                          headers=dev)
    assert download.status_code == 200
    assert download.data == b"\x00\x01\x02"
    assert download.headers["Content-Disposition"] == "attachment; filename=data.bin"
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Length"] == "3"
    assert download.headers["X-Content-Type-Options"] == "nosniff"

    deleted = client.delete(artifacts_url(project.id, f"{seeded.root}/sub"), headers=dev)
    assert deleted.status_code == 200
    assert deleted.get_json() == {}
    after = client.get(artifacts_url(project.id), query_string={"path": seeded.root}, headers=dev)
    assert after.get_json() == {"files": [{"path": "notes.txt", "is_dir": False, "file_size": 5}]}


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("MLmodel", "text/plain"),
        ("conda.yaml", "text/plain"),
        ("input_example.json", "text/plain"),
        ("page.html", "text/html"),
        ("image.png", "image/png"),
        ("model.pkl", "application/octet-stream"),
    ],
)
def test_download_content_type_is_guessed_like_mlflow(
    client: t.Any, project: Project, seeded: Seeded, name: str, content_type: str
) -> None:
    assert put(client, project, f"{seeded.root}/{name}", b"x").status_code == 200
    download = client.get(artifacts_url(project.id, f"{seeded.root}/{name}"),
                          headers=project.headers("reporter"))
    assert download.status_code == 200
    assert download.mimetype == content_type
    assert download.headers["Content-Disposition"] == f"attachment; filename={name}"
    assert download.headers["Content-Security-Policy"] == "sandbox"


def test_non_ascii_file_name_gets_rfc5987_disposition(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    assert put(client, project, f"{seeded.root}/résumé.txt", b"cv").status_code == 200
    download = client.get(artifacts_url(project.id, f"{seeded.root}/résumé.txt"),
                          headers=project.headers("developer"))
    assert download.status_code == 200
    assert download.data == b"cv"
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=resume.txt; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"
    )


def test_range_request_returns_partial_content(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    assert put(client, project, f"{seeded.root}/digits.txt", b"0123456789").status_code == 200
    response = client.get(artifacts_url(project.id, f"{seeded.root}/digits.txt"),
                          headers={**project.headers("developer"), "Range": "bytes=2-5"})
    assert response.status_code == 206
    assert response.data == b"2345"
    assert response.headers["Content-Range"] == "bytes 2-5/10"


def test_listing_a_missing_directory_is_empty_and_a_file_lists_itself(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    dev = project.headers("developer")
    assert put(client, project, f"{seeded.root}/model/MLmodel", b"flavors: {}").status_code == 200
    missing = client.get(artifacts_url(project.id), query_string={"path": f"{seeded.root}/nope"},
                         headers=dev)
    assert missing.status_code == 200
    assert missing.get_json() == {}
    file_listing = client.get(artifacts_url(project.id),
                              query_string={"path": f"{seeded.root}/model/MLmodel"}, headers=dev)
    assert file_listing.get_json() == {
        "files": [{"path": "MLmodel", "is_dir": False, "file_size": 11}]
    }


def test_download_of_missing_file_or_directory_is_json_404(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    dev = project.headers("developer")
    assert put(client, project, f"{seeded.root}/dir/f.txt", b"1").status_code == 200
    for path in (f"{seeded.root}/missing.txt", f"{seeded.root}/dir"):
        response = client.get(artifacts_url(project.id, path), headers=dev)
        assert response.status_code == 404
        assert response.get_json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_upload_is_exempt_from_the_json_content_type_check(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    no_type = client.put(artifacts_url(project.id, f"{seeded.root}/raw"), data=b"abc",
                         headers=project.headers("developer"))
    assert no_type.status_code == 200
    yaml = put(client, project, f"{seeded.root}/c.yaml", b"a: 1", content_type="application/x-yaml")
    assert yaml.status_code == 200


def test_upload_overwrites_an_existing_file(
    client: t.Any, project: Project, seeded: Seeded, app: Flask
) -> None:
    assert put(client, project, f"{seeded.root}/f.txt", b"first").status_code == 200
    assert put(client, project, f"{seeded.root}/f.txt", b"second").status_code == 200
    assert (artifact_root(app) / seeded.root / "f.txt").read_bytes() == b"second"


# -- where writes may go ----------------------------------------------------------------------


def test_writes_outside_every_artifact_root_are_404(
    client: t.Any, project: Project, seeded: Seeded, app: Flask
) -> None:
    pid = project.id
    outside = [
        f"{pid}/{seeded.experiment_iid}/x.txt",
        f"{pid}/{seeded.experiment_iid}/{seeded.run_id}/x.txt",
        f"{pid}/{seeded.experiment_iid}/{uuid.uuid4().hex}/artifacts/x.txt",
        f"{pid}/{seeded.experiment_iid}/models/m-{uuid.uuid4().hex}/artifacts/x.txt",
        f"{pid}/x.txt",
    ]
    for path in outside:
        response = put(client, project, path, b"data")
        assert response.status_code == 404, path
        assert response.get_json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
        deleted = client.delete(artifacts_url(pid, path), headers=project.headers("developer"))
        assert deleted.status_code == 404, path
    assert not (artifact_root(app) / str(pid) / "x.txt").exists()
    assert not (artifact_root(app) / str(pid) / str(seeded.experiment_iid) / "x.txt").exists()


def test_upload_to_the_root_a_directory_or_below_a_file_is_400(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    assert put(client, project, f"{seeded.root}/dir/f.txt", b"1").status_code == 200
    for path in (seeded.root, f"{seeded.root}/dir", f"{seeded.root}/dir/f.txt/g.txt"):
        response = put(client, project, path, b"2")
        assert response.status_code == 400, path
        assert response.get_json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_writes_to_a_deleted_run_are_refused(
    client: t.Any, project: Project, seeded: Seeded, app: Flask
) -> None:
    assert put(client, project, f"{seeded.root}/keep.txt", b"1").status_code == 200
    with app.test_request_context():
        ctx = make_context(project.id, None)
        runs.delete_run(ctx, seeded.run_id)
        ctx.session.commit()
    response = put(client, project, f"{seeded.root}/new.txt", b"2")
    assert response.status_code == 400
    assert "must be in the 'active' state" in response.get_json()["message"]
    deleted = client.delete(artifacts_url(project.id, f"{seeded.root}/keep.txt"),
                            headers=project.headers("developer"))
    assert deleted.status_code == 400
    # Reading a deleted run's files still works, as in MLflow.
    read = client.get(artifacts_url(project.id, f"{seeded.root}/keep.txt"),
                      headers=project.headers("developer"))
    assert read.status_code == 200
    assert read.data == b"1"


def test_delete_of_the_whole_root_empties_it(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    dev = project.headers("developer")
    assert put(client, project, f"{seeded.root}/a/b.txt", b"1").status_code == 200
    assert client.delete(artifacts_url(project.id, seeded.root), headers=dev).status_code == 200
    listing = client.get(artifacts_url(project.id), query_string={"path": seeded.root},
                         headers=dev)
    assert listing.get_json() == {}


# -- permissions and project scoping -----------------------------------------------------------


def test_reporter_reads_but_cannot_write(client: t.Any, project: Project, seeded: Seeded) -> None:
    assert put(client, project, f"{seeded.root}/f.txt", b"1").status_code == 200
    upload = put(client, project, f"{seeded.root}/g.txt", b"2", role="reporter")
    assert upload.status_code == 403
    assert upload.get_json()["error_code"] == "PERMISSION_DENIED"
    delete = client.delete(artifacts_url(project.id, f"{seeded.root}/f.txt"),
                           headers=project.headers("reporter"))
    assert delete.status_code == 403
    read = client.get(artifacts_url(project.id, f"{seeded.root}/f.txt"),
                      headers=project.headers("reporter"))
    assert read.status_code == 200


def test_anonymous_and_guest_get_401_and_404(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    anonymous = client.get(artifacts_url(project.id), query_string={"path": seeded.root})
    assert anonymous.status_code == 401
    assert anonymous.get_json()["error_code"] == "UNAUTHENTICATED"
    guest = client.get(artifacts_url(project.id), query_string={"path": seeded.root},
                       headers=project.headers("guest"))
    assert guest.status_code == 404


def test_other_projects_artifacts_are_unreachable(
    app: Flask, client: t.Any, project: Project, seeded: Seeded
) -> None:
    """Project A's files cannot be reached through project B's prefix, even by B's owner."""
    assert put(client, project, f"{seeded.root}/secret.txt", b"top secret").status_code == 200
    other = seed_run(app, project.other_id)
    b_owner = project.headers("outsider")  # owner of project B, not a member of A
    b_prefix = project.other_id
    via_b = [
        client.get(artifacts_url(b_prefix, f"{seeded.root}/secret.txt"), headers=b_owner),
        client.get(artifacts_url(b_prefix), query_string={"path": seeded.root}, headers=b_owner),
        client.get(artifacts_url(b_prefix), query_string={"path": str(project.id)},
                   headers=b_owner),
        client.put(artifacts_url(b_prefix, f"{seeded.root}/evil.txt"), data=b"x",
                   headers=b_owner),
        client.delete(artifacts_url(b_prefix, f"{seeded.root}/secret.txt"), headers=b_owner),
        # a path that starts inside B but climbs into A
        client.get(artifacts_url(b_prefix, f"{other.root}/../../../{seeded.root}/secret.txt"),
                   headers=b_owner),
    ]
    assert [r.status_code for r in via_b[:5]] == [404] * 5
    assert [r.get_json()["error_code"] for r in via_b[:5]] == ["RESOURCE_DOES_NOT_EXIST"] * 5
    assert via_b[5].status_code == 400
    assert all(b"top secret" not in r.data for r in via_b)
    direct = client.get(artifacts_url(project.id, f"{seeded.root}/secret.txt"), headers=b_owner)
    assert direct.status_code == 404
    assert (artifact_root(app) / seeded.root / "secret.txt").read_bytes() == b"top secret"
    assert not (artifact_root(app) / seeded.root / "evil.txt").exists()


def test_listing_without_a_path_is_404(client: t.Any, project: Project, seeded: Seeded) -> None:
    response = client.get(artifacts_url(project.id), headers=project.headers("developer"))
    assert response.status_code == 404


# -- path safety ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query_path",
    ["{root}/../../../../etc", "/etc/passwd", "{root}/%2e%2e/%2e%2e/%2e%2e", "{root}/a\x00b",
     "{root}\\..\\..", "C:/Windows"],
)
def test_unsafe_listing_paths_are_400(
    client: t.Any, project: Project, seeded: Seeded, query_path: str
) -> None:
    response = client.get(artifacts_url(project.id),
                          query_string={"path": query_path.format(root=seeded.root)},
                          headers=project.headers("developer"))
    assert response.status_code == 400
    assert response.get_json()["error_code"] == "INVALID_PARAMETER_VALUE"


def raw_request(server: LiveServer, method: str, target: str, body: bytes = b"",
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Send ``target`` byte for byte (no client-side normalization of ``..``)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for key, value in {**(headers or {}), "Content-Length": str(len(body))}.items():
            conn.putheader(key, value)
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _traversal_targets(root: str) -> list[str]:
    name = "pwned.txt"
    return [
        f"{root}/../../../../../../{name}",
        f"{root}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/{name}",
        f"{root}/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f{name}",
        f"{root}/%252e%252e%252f%252e%252e%252f%252e%252e%252f%252e%252e%252f{name}",
        f"{root}/..%2f..%2f..%2f..%2f..%2f..%2f{name}",
        f"{root}/%00{name}",
        f"{root}/a%00/../{name}",
        f"{root}/..%5c..%5c..%5c{name}",
    ]


@pytest.mark.live
def test_traversal_over_raw_http_never_escapes_the_root(
    live_server: LiveServer, project: Project, seeded: Seeded, app: Flask, tmp_path: Path
) -> None:
    (tmp_path / "secret.txt").write_bytes(b"outside the root")
    headers = project.headers("developer")
    base = artifacts_url(project.id)
    for target in _traversal_targets(seeded.root):
        status, body = raw_request(live_server, "PUT", f"{base}/{target}", b"owned", headers)
        assert 400 <= status < 500, (target, status, body)
        status, body = raw_request(live_server, "GET", f"{base}/{target}", headers=headers)
        assert 400 <= status < 500, (target, status, body)
    for target in (f"{seeded.root}/../../../../secret.txt",
                   f"{seeded.root}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/secret.txt",
                   f"{seeded.root}/%252e%252e%252f%252e%252e%252f%252e%252e%252f%252e%252e"
                   "%252fsecret.txt"):
        status, body = raw_request(live_server, "GET", f"{base}/{target}", headers=headers)
        assert 400 <= status < 500, (target, status)
        assert b"outside the root" not in body
    # absolute paths: in the query string and as a URL path segment
    status, _ = raw_request(live_server, "GET", f"{base}?path=%2Fetc%2Fpasswd", headers=headers)
    assert status == 400
    status, body = raw_request(live_server, "GET", f"{base}/%2Fetc%2Fpasswd", headers=headers)
    assert 400 <= status < 500, (status, body)
    assert b"root:" not in body
    status, _ = raw_request(live_server, "PUT", f"{base}/%2Ftmp%2Fpwned.txt", b"x", headers)
    assert 400 <= status < 500
    assert not Path("/tmp/pwned.txt").exists()
    everything = [p.name for p in tmp_path.rglob("*")]
    assert "pwned.txt" not in everything
    assert not any(name.startswith(".upload-") for name in everything)


@pytest.mark.live
def test_symlinks_out_of_the_root_are_refused(
    live_server: LiveServer, project: Project, seeded: Seeded, app: Flask, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"outside the root")
    run_dir = artifact_root(app) / seeded.root
    run_dir.mkdir(parents=True)
    os.symlink(outside, run_dir / "link")
    headers = project.headers("developer")
    base = artifacts_url(project.id)
    status, body = raw_request(live_server, "GET", f"{base}/{seeded.root}/link/secret.txt",
                               headers=headers)
    assert status == 400
    assert b"outside the root" not in body
    status, _ = raw_request(live_server, "PUT", f"{base}/{seeded.root}/link/new.txt", b"x",
                            headers)
    assert status == 400
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    status, body = raw_request(live_server, "GET", f"{base}?path={seeded.root}", headers=headers)
    assert status == 200
    assert b"link" not in body  # the listing hides links that leave the root


#: Paths with an empty segment: what follows ``//`` would be an absolute path.
EMPTY_SEGMENTS = ["{root}//name.txt", "{root}/sub//name.txt", "{root}/%2Fname.txt",
                  "{root}%2F%2Fname.txt"]


def _json_of(body: bytes) -> dict[str, t.Any]:
    return t.cast("dict[str, t.Any]", json.loads(body))


@pytest.mark.live
@pytest.mark.parametrize("path", EMPTY_SEGMENTS)
def test_empty_path_segments_are_400_and_store_nothing(
    live_server: LiveServer, project: Project, seeded: Seeded, app: Flask, path: str
) -> None:
    headers = project.headers("developer")
    base = artifacts_url(project.id)
    target = path.format(root=seeded.root)
    status, body = raw_request(live_server, "PUT", f"{base}/{target}", b"stored?", headers)
    assert status == 400, body
    assert _json_of(body)["error_code"] == "INVALID_PARAMETER_VALUE"
    assert not [p for p in artifact_root(app).rglob("*") if p.is_file()]

    # The same file under its proper name exists: a download or listing through '//' is
    # still refused, not answered for the merged path.
    proper = f"{seeded.root}/sub/name.txt" if "sub" in path else f"{seeded.root}/name.txt"
    status, _ = raw_request(live_server, "PUT", f"{base}/{proper}", b"proper", headers)
    assert status == 200
    status, body = raw_request(live_server, "GET", f"{base}/{target}", headers=headers)
    assert status == 400, body
    assert _json_of(body)["error_code"] == "INVALID_PARAMETER_VALUE"
    listing = target.rsplit("name.txt", 1)[0] + "x"
    status, body = raw_request(live_server, "GET", f"{base}?path={listing}", headers=headers)
    assert status == 400, body
    assert _json_of(body)["error_code"] == "INVALID_PARAMETER_VALUE"
    status, body = raw_request(live_server, "DELETE", f"{base}/{target}", headers=headers)
    assert status == 400, body
    assert [p.name for p in artifact_root(app).rglob("*") if p.is_file()] == ["name.txt"]


@pytest.mark.live
@pytest.mark.parametrize("path", ["sub//name.txt", "sub/%2Fname.txt", "sub/%2F%2Fname.txt"])
def test_run_listing_and_page_paths_with_empty_segments_are_400(
    live_server: LiveServer, project: Project, seeded: Seeded, path: str
) -> None:
    headers = project.headers("developer")
    base = artifacts_url(project.id)
    status, _ = raw_request(live_server, "PUT", f"{base}/{seeded.root}/sub/name.txt", b"x",
                            headers)
    assert status == 200
    listing = (f"{MLFLOW.format(project.id)}/api/2.0/mlflow/artifacts/list"
               f"?run_id={seeded.run_id}&path={path.replace('/', '%2F')}")
    status, body = raw_request(live_server, "GET", listing, headers=headers)
    assert status == 400, body
    assert _json_of(body)["error_code"] == "INVALID_PARAMETER_VALUE"
    page = f"/projects/{project.id}/-/ml/candidates/{seeded.run_id}/artifacts/{path}"
    status, body = raw_request(live_server, "GET", page, headers=headers)
    assert status == 400, body


# -- streaming transport ----------------------------------------------------------------------


@pytest.mark.live
def test_chunked_upload_through_the_werkzeug_server(
    live_server: LiveServer, project: Project, seeded: Seeded, app: Flask
) -> None:
    payload = [os.urandom(100_000) for _ in range(7)]
    conn = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=30)
    try:
        conn.request("PUT", artifacts_url(project.id, f"{seeded.root}/chunked.bin"),
                     body=iter(payload), headers=project.headers("developer"),
                     encode_chunked=True)
        response = conn.getresponse()
        assert response.status == 200, response.read()
        assert response.read() == b"{}"
    finally:
        conn.close()
    assert (artifact_root(app) / seeded.root / "chunked.bin").read_bytes() == b"".join(payload)


def _stored(app: Flask, seeded: Seeded) -> list[str]:
    run_dir = artifact_root(app) / seeded.root
    return sorted(p.name for p in run_dir.rglob("*")) if run_dir.exists() else []


@pytest.mark.live
def test_client_disconnect_mid_upload_leaves_no_file(
    live_server: LiveServer, project: Project, seeded: Seeded, app: Flask
) -> None:
    target = artifacts_url(project.id, f"{seeded.root}/partial.bin")
    token = project.headers("developer")["Authorization"]
    with socket.create_connection(("127.0.0.1", live_server.port)) as sock:
        head = (f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {token}\r\n"
                f"Content-Type: application/octet-stream\r\nContent-Length: {10 * 2**20}\r\n\r\n")
        sock.sendall(head.encode())
        sock.sendall(b"x" * 2**20)
        time.sleep(0.3)  # let the server start writing the temporary file
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        names = _stored(app, seeded)
        if not any(name.startswith(".upload-") for name in names):
            break
        time.sleep(0.1)
    assert _stored(app, seeded) == []
    listing = live_get_json(live_server, project, seeded.root)
    assert listing == {}


def live_get_json(server: LiveServer, project: Project, path: str) -> t.Any:
    import json

    status, body = raw_request(server, "GET", f"{artifacts_url(project.id)}?path={path}",
                               headers=project.headers("developer"))
    assert status == 200
    return json.loads(body)


# -- limits and failures ----------------------------------------------------------------------


def test_uploads_over_the_size_limit_are_refused_and_leave_nothing(
    client: t.Any, project: Project, seeded: Seeded, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = get_state(app)
    monkeypatch.setattr(state, "settings", state.settings.__class__(
        **{**state.settings.__dict__, "max_artifact_bytes": 1000}
    ))
    announced = put(client, project, f"{seeded.root}/big.bin", b"y" * 1001)
    assert announced.status_code == 400
    assert "maximum upload size of 1000 bytes" in announced.get_json()["message"]
    streamed = client.put(
        artifacts_url(project.id, f"{seeded.root}/big.bin"),
        input_stream=io.BytesIO(b"z" * 1200),
        headers={**project.headers("developer"), "Transfer-Encoding": "chunked"},
        # what a server that de-chunks the body (werkzeug's, gunicorn) tells the app
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert streamed.status_code == 400
    assert put(client, project, f"{seeded.root}/ok.bin", b"y" * 1000).status_code == 200
    assert _stored(app, seeded) == ["ok.bin"]


def test_storage_failure_is_a_json_5xx(
    client: t.Any, project: Project, seeded: Seeded, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = get_state(app).artifact_store

    def broken_write(path: str, stream: t.Any, *, max_bytes: int | None = None) -> int:
        raise StorageError(f"Could not write artifact {path!r}: No space left on device.")

    monkeypatch.setattr(store, "write", broken_write)
    response = put(client, project, f"{seeded.root}/f.txt", b"data")
    assert response.status_code == 500
    assert response.get_json() == {
        "error_code": "INTERNAL_ERROR",
        "message": f"Could not write artifact '{seeded.root}/f.txt': No space left on device.",
    }
    assert _stored(app, seeded) == []


# -- the tracking service's run listing ---------------------------------------------------------


def test_run_artifact_listing_uses_run_relative_paths(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    assert put(client, project, f"{seeded.root}/top.txt", b"12").status_code == 200
    assert put(client, project, f"{seeded.root}/sub/inner.txt", b"123").status_code == 200
    url = f"{MLFLOW.format(project.id)}/api/2.0/mlflow/artifacts/list"
    dev = project.headers("reporter")
    root = client.get(url, query_string={"run_id": seeded.run_id}, headers=dev)
    assert root.status_code == 200
    assert root.get_json() == {
        "root_uri": seeded.artifact_uri,
        "files": [
            {"path": "sub", "is_dir": True},
            {"path": "top.txt", "is_dir": False, "file_size": 2},
        ],
    }
    sub = client.get(url, query_string={"run_uuid": seeded.run_id, "path": "sub"}, headers=dev)
    assert sub.get_json() == {
        "root_uri": seeded.artifact_uri,
        "files": [{"path": "sub/inner.txt", "is_dir": False, "file_size": 3}],
    }
    empty = client.get(url, query_string={"run_id": seeded.run_id, "path": "none"}, headers=dev)
    assert empty.get_json() == {"root_uri": seeded.artifact_uri}
    missing_run = client.get(url, query_string={"run_id": "0" * 32}, headers=dev)
    assert missing_run.status_code == 404
    no_run = client.get(url, headers=dev)
    assert no_run.status_code == 400
    assert "Missing value for required parameter 'run_id'" in no_run.get_json()["message"]
    traversal = client.get(url, query_string={"run_id": seeded.run_id, "path": "../.."},
                           headers=dev)
    assert traversal.status_code == 400


def test_run_listing_is_scoped_to_the_project(
    app: Flask, client: t.Any, project: Project, seeded: Seeded
) -> None:
    url = f"{MLFLOW.format(project.other_id)}/api/2.0/mlflow/artifacts/list"
    response = client.get(url, query_string={"run_id": seeded.run_id},
                          headers=project.headers("outsider"))
    assert response.status_code == 404


# -- service helpers ----------------------------------------------------------------------------


def test_service_helpers_map_uris_of_this_project_only(
    app: Flask, client: t.Any, project: Project, seeded: Seeded
) -> None:
    assert put(client, project, f"{seeded.root}/a.txt", b"1").status_code == 200
    assert put(client, project, f"{seeded.root}/d/b.txt", b"22").status_code == 200
    with app.test_request_context():
        ctx = make_context(project.id, None)
        assert artifact_service.store_path(ctx, seeded.artifact_uri) == seeded.root
        assert artifact_service.store_path(ctx, seeded.artifact_uri + "/") == seeded.root
        files = artifact_service.list_files(ctx, seeded.artifact_uri)
        assert [(f.path, f.is_dir, f.file_size) for f in files] == [
            ("a.txt", False, 1), ("d", True, None)
        ]
        assert [f.path for f in artifact_service.list_files(ctx, seeded.artifact_uri, "d")] == [
            "d/b.txt"
        ]
        walked = list(artifact_service.walk_files(ctx, seeded.artifact_uri))
        assert [(f.path, f.file_size) for f in walked] == [("a.txt", 1), ("d/b.txt", 2)]
        with pytest.raises(NotFound):
            artifact_service.store_path(ctx, f"mlflow-artifacts:/{project.other_id}/1/x")
        with pytest.raises(InvalidParameter):
            artifact_service.store_path(ctx, "s3://bucket/key")
        with pytest.raises(InvalidParameter):
            artifact_service.store_path(ctx, "mlflow-artifacts://otherhost/1/x")
        with pytest.raises(InvalidParameter):
            artifact_service.list_files(ctx, seeded.artifact_uri, "../../..")


def test_run_artifact_uri_follows_the_project_scheme(
    app: Flask, project: Project, seeded: Seeded
) -> None:
    with app.app_context():
        run = get_state(app).db.session.query(Run).filter_by(run_id=seeded.run_id).one()
        assert run.artifact_uri == (
            f"mlflow-artifacts:/{project.id}/{seeded.experiment_iid}/{seeded.run_id}/artifacts"
        )
