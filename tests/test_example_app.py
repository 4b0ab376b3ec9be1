"""Tests of the example host application that embeds the model registry."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from example_app import DEV_SECRET_KEY, create_app
from example_app.access import project_access
from example_app.auth import CSRF_SESSION_KEY, SESSION_USER_KEY, load_request_user
from example_app.cli import init_database
from example_app.models import (
    Membership,
    Package,
    PersonalAccessToken,
    Project,
    User,
    db,
    hash_token,
)
from example_app.registry import registry, resolve_package
from flask_model_registry.artifacts import FileInfo

ROLES = ["guest", "reporter", "developer", "maintainer", "owner"]
PERMISSIONS = [
    "read_model_experiments",
    "read_model_registry",
    "write_model_experiments",
    "write_model_registry",
]
#: Builds request headers from a user's token.
Headers = Callable[[str], dict[str, str]]
MLFLOW_SEARCH = "/api/v4/projects/{}/ml/mlflow/api/2.0/mlflow/experiments/search?max_results=10"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/t.db",
        },
        instance_path=str(tmp_path / "instance"),
    )
    with app.app_context():
        init_database()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def cli(app: Flask, *args: str) -> list[str]:
    """Run a command that must succeed; return its output lines."""
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def make_user(app: Flask, name: str, password: str | None = None) -> str:
    """Create a user through the CLI and return their personal access token."""
    args = ["create-user", name] + (["--password", password] if password else [])
    return cli(app, *args)[-1]


def make_project(app: Flask, name: str, owner: str, *, public: bool = False) -> int:
    return int(
        cli(app, "create-project", name, "--owner", owner, *(["--public"] if public else []))[-1]
    )


def get_user(name: str) -> User:
    return db.session.execute(select(User).where(User.username == name)).scalar_one()


def get_user_id(app: Flask, name: str) -> int:
    with app.app_context():
        return get_user(name).id


def login(client: FlaskClient, username: str, password: str, **extra: str) -> TestResponse:
    client.get("/login")
    with client.session_transaction() as session:
        token = session[CSRF_SESSION_KEY]
    data = {"username": username, "password": password, "csrf_token": token, **extra}
    return client.post("/login", data=data)


def basic(username: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()


# --- configuration -----------------------------------------------------------------------------


def test_defaults_point_at_instance_folder_and_host_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("FLASK_SECRET_KEY", "FLASK_SQLALCHEMY_DATABASE_URI"):
        monkeypatch.delenv(name, raising=False)

    app = create_app(instance_path=str(tmp_path / "inst"))

    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/inst/example.sqlite"
    assert app.config["SECRET_KEY"] == DEV_SECRET_KEY
    assert app.config["MODEL_REGISTRY_BASE_TEMPLATE"] == "layout.html"
    assert app.config["MODEL_REGISTRY_LOGIN_VIEW"] == "auth.login"
    assert (tmp_path / "inst").is_dir()


def test_flask_env_vars_override_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_SECRET_KEY", "from-env")
    monkeypatch.setenv("FLASK_SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path}/env.db")

    app = create_app(instance_path=str(tmp_path / "inst"))

    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/env.db"


def test_config_mapping_wins_over_env_vars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_SECRET_KEY", "from-env")

    app = create_app({"SECRET_KEY": "from-config"}, instance_path=str(tmp_path / "inst"))

    assert app.config["SECRET_KEY"] == "from-config"


# --- stored credentials ------------------------------------------------------------------------


def test_password_is_stored_hashed(app: Flask) -> None:
    make_user(app, "alice", "correct horse")

    with app.app_context():
        user = get_user("alice")
        assert user.password_hash is not None
        assert user.password_hash != "correct horse"
        assert "correct horse" not in user.password_hash
        assert user.check_password("correct horse") is True
        assert user.check_password("wrong") is False


def test_token_is_stored_only_as_sha256(app: Flask, tmp_path: Path) -> None:
    token = make_user(app, "alice")

    assert token.startswith("fmr_")
    with app.app_context():
        (row,) = get_user("alice").tokens
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in (row.token_hash, row.name)
        db.engine.dispose()  # flush SQLite's files before reading them raw
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("t.db*"))
    assert token.encode() not in raw
    assert hash_token(token).encode() in raw


# --- CLI ---------------------------------------------------------------------------------------


def test_create_user_prints_a_working_token_last(app: Flask) -> None:
    token = make_user(app, "alice", "pw")

    assert re.fullmatch(r"fmr_[A-Za-z0-9_-]{43}", token)
    with app.test_request_context(headers={"Authorization": f"Bearer {token}"}):
        user = load_request_user()
        assert user is not None
        assert user.username == "alice"


def test_create_user_without_password_cannot_log_in(app: Flask, client: FlaskClient) -> None:
    make_user(app, "bot")

    with app.app_context():
        assert get_user("bot").password_hash is None
    login(client, "bot", "")
    with client.session_transaction() as session:
        assert SESSION_USER_KEY not in session


def test_create_user_twice_fails(app: Flask) -> None:
    make_user(app, "alice")

    result = app.test_cli_runner().invoke(args=["create-user", "alice"])

    assert result.exit_code == 1
    assert "already exists" in result.output


def test_create_user_rejects_invalid_name(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["create-user", "a:b"])

    assert result.exit_code == 2
    assert "Invalid username" in result.output


def test_create_project_prints_id_last_and_makes_owner(app: Flask) -> None:
    make_user(app, "alice")

    private_id = make_project(app, "vision", "alice")
    public_id = make_project(app, "open", "alice", public=True)

    with app.app_context():
        private = db.session.get_one(Project, private_id)
        public = db.session.get_one(Project, public_id)
        assert (private.name, private.visibility) == ("vision", "private")
        assert (public.name, public.visibility) == ("open", "public")
        assert [(m.user.username, m.role) for m in private.memberships] == [("alice", "owner")]


def test_create_project_with_unknown_owner_fails(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["create-project", "p", "--owner", "ghost"])

    assert result.exit_code == 1
    assert "No user named 'ghost'" in result.output


def test_add_member_sets_and_changes_role(app: Flask) -> None:
    make_user(app, "alice")
    make_user(app, "bob")
    project_id = make_project(app, "p", "alice")

    cli(app, "add-member", str(project_id), "bob", "--role", "reporter")
    cli(app, "add-member", str(project_id), "bob", "--role", "developer")

    with app.app_context():
        roles = db.session.execute(
            select(Membership.role).where(Membership.user_id == get_user("bob").id)
        ).scalars()
        assert list(roles) == ["developer"]


def test_add_member_rejects_bad_role(app: Flask) -> None:
    make_user(app, "alice")
    project_id = make_project(app, "p", "alice")

    result = app.test_cli_runner().invoke(
        args=["add-member", str(project_id), "alice", "--role", "admin"]
    )

    assert result.exit_code == 2
    assert "'admin' is not one of" in result.output


def test_add_member_to_unknown_project_fails(app: Flask) -> None:
    make_user(app, "alice")

    result = app.test_cli_runner().invoke(args=["add-member", "999", "alice", "--role", "guest"])

    assert result.exit_code == 1
    assert "No project with id 999" in result.output


def test_create_token_prints_a_new_token_last(app: Flask) -> None:
    first = make_user(app, "alice")

    second = cli(app, "create-token", "alice", "--name", "laptop")[-1]

    assert second != first
    with app.app_context():
        names = sorted(t.name for t in get_user("alice").tokens)
        assert names == ["default", "laptop"]
    with app.test_request_context(headers={"PRIVATE-TOKEN": second}):
        user = load_request_user()
        assert user is not None
        assert user.username == "alice"


def test_create_token_for_unknown_user_fails(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["create-token", "ghost"])

    assert result.exit_code == 1
    assert "No user named 'ghost'" in result.output


def test_commands_explain_a_missing_schema(tmp_path: Path) -> None:
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/empty.db"},
        instance_path=str(tmp_path / "inst"),
    )

    result = app.test_cli_runner().invoke(args=["create-user", "alice"])

    assert result.exit_code == 1
    assert "init-db" in result.output


def test_seed_demo_is_idempotent_and_prints_usage(app: Flask, client: FlaskClient) -> None:
    first = cli(app, "seed-demo")
    second = cli(app, "seed-demo")

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
        (project,) = db.session.execute(select(Project)).scalars()
        assert project.name == "demo"
        assert [m.role for m in project.memberships] == ["owner"]
        assert len(get_user("demo").tokens) == 2
    uri = f"export MLFLOW_TRACKING_URI=http://127.0.0.1:5000/api/v4/projects/{project.id}/ml/mlflow"
    assert uri in first
    assert uri in second
    assert any("'demo' with password 'demo'" in line for line in second)
    token = second[-1].removeprefix("export MLFLOW_TRACKING_TOKEN=")
    assert token != first[-1].removeprefix("export MLFLOW_TRACKING_TOKEN=")
    with app.test_request_context(headers={"Authorization": f"Bearer {token}"}):
        user = load_request_user()
        assert user is not None
        assert user.username == "demo"
    assert login(client, "demo", "demo").status_code == 302


# --- roles and visibility ----------------------------------------------------------------------

EXPECTED_ACCESS = {
    None: set(),
    "guest": set(),
    "reporter": {"read_model_experiments", "read_model_registry"},
    "developer": set(PERMISSIONS),
    "maintainer": set(PERMISSIONS),
    "owner": set(PERMISSIONS),
}


@pytest.fixture
def members(app: Flask) -> int:
    """A private project with one user per role, plus the non-member ``outsider``."""
    make_user(app, "owner")
    project_id = make_project(app, "p", "owner")
    for role in ROLES[:-1]:
        make_user(app, role)
        cli(app, "add-member", str(project_id), role, "--role", role)
    make_user(app, "outsider")
    return project_id


@pytest.mark.parametrize("permission", PERMISSIONS)
@pytest.mark.parametrize("role", [None, *ROLES])
def test_role_table(app: Flask, members: int, role: str | None, permission: str) -> None:
    with app.app_context():
        user = get_user(role or "outsider")

        allowed = project_access(user, members, permission)

    assert allowed is (permission in EXPECTED_ACCESS[role])


@pytest.mark.parametrize("permission", PERMISSIONS)
def test_anonymous_gets_nothing_in_private_project(
    app: Flask, members: int, permission: str
) -> None:
    with app.app_context():
        assert project_access(None, members, permission) is False


@pytest.mark.parametrize(
    ("who", "permission", "expected"),
    [
        (None, "read_model_experiments", True),
        (None, "read_model_registry", True),
        (None, "write_model_experiments", False),
        (None, "write_model_registry", False),
        ("outsider", "read_model_registry", True),
        ("outsider", "write_model_registry", False),
        ("guest", "read_model_experiments", True),
        ("guest", "write_model_experiments", False),
        ("developer", "write_model_experiments", True),
    ],
)
def test_public_project_is_readable_by_anyone(
    app: Flask, members: int, who: str | None, permission: str, expected: bool
) -> None:
    with app.app_context():
        db.session.get_one(Project, members).visibility = "public"
        db.session.commit()
        user = get_user(who) if who else None

        assert project_access(user, members, permission) is expected


def test_unknown_project_or_permission_is_refused(app: Flask, members: int) -> None:
    with app.app_context():
        owner = get_user("owner")

        assert project_access(owner, members + 100, "read_model_registry") is False
        assert project_access(owner, members, "delete_everything") is False


# --- API credentials ---------------------------------------------------------------------------


@pytest.fixture
def alice_token(app: Flask) -> str:
    return make_user(app, "alice", "alice-password")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda t: {"Authorization": f"Bearer {t}"}, id="bearer"),
        pytest.param(lambda t: {"Authorization": f"bearer {t}"}, id="bearer-lowercase"),
        pytest.param(lambda t: {"PRIVATE-TOKEN": t}, id="private-token"),
        pytest.param(lambda t: {"Authorization": basic("alice", t)}, id="basic-token"),
        pytest.param(lambda t: {"Authorization": basic("alice", "alice-password")}, id="basic-pw"),
    ],
)
def test_valid_credentials_identify_the_user(
    app: Flask, alice_token: str, headers: Headers
) -> None:
    with app.test_request_context(headers=headers(alice_token)):
        user = load_request_user()

    assert user is not None
    assert user.username == "alice"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda t: {"Authorization": "Bearer fmr_not-a-real-token"}, id="bad-bearer"),
        pytest.param(lambda t: {"Authorization": "Bearer "}, id="empty-bearer"),
        pytest.param(lambda t: {"PRIVATE-TOKEN": t + "x"}, id="bad-private-token"),
        pytest.param(lambda t: {"Authorization": basic("alice", "wrong")}, id="basic-bad-pw"),
        pytest.param(lambda t: {"Authorization": basic("mallory", t)}, id="basic-other-user"),
        pytest.param(lambda t: {"Authorization": basic("ghost", "x")}, id="basic-unknown-user"),
        pytest.param(lambda t: {"Authorization": "Basic !!!not-base64"}, id="basic-garbage"),
        pytest.param(lambda t: {"Authorization": f"Token {t}"}, id="unknown-scheme"),
    ],
)
def test_invalid_credentials_yield_no_user(app: Flask, alice_token: str, headers: Headers) -> None:
    with app.test_request_context(headers=headers(alice_token)):
        assert load_request_user() is None


def test_bad_token_does_not_fall_back_to_the_session(
    app: Flask, client: FlaskClient, alice_token: str
) -> None:
    login(client, "alice", "alice-password")
    project_id = make_project(app, "p", "alice")

    with_session = client.get(MLFLOW_SEARCH.format(project_id))
    with_bad_token = client.get(
        MLFLOW_SEARCH.format(project_id), headers={"Authorization": "Bearer fmr_bad"}
    )

    assert with_session.status_code != 401
    assert with_bad_token.status_code == 401
    assert (with_bad_token.json or {})["error_code"] == "UNAUTHENTICATED"


def test_mlflow_api_answers_by_token(app: Flask, client: FlaskClient, alice_token: str) -> None:
    project_id = make_project(app, "p", "alice")
    url = MLFLOW_SEARCH.format(project_id)
    bob_token = make_user(app, "bob")

    anonymous = client.get(url)
    member = client.get(url, headers={"Authorization": f"Bearer {alice_token}"})
    outsider = client.get(url, headers={"Authorization": f"Bearer {bob_token}"})

    assert anonymous.status_code == 401
    assert member.status_code == 200
    assert "experiments" in (member.json or {})
    assert outsider.status_code == 404


def test_token_use_is_recorded(app: Flask, client: FlaskClient, alice_token: str) -> None:
    project_id = make_project(app, "p", "alice")

    response = client.get(MLFLOW_SEARCH.format(project_id), headers={"PRIVATE-TOKEN": alice_token})
    response.close()  # the stamp is written once the server closes the response

    with app.app_context():
        token = db.session.execute(
            select(PersonalAccessToken).where(
                PersonalAccessToken.token_hash == hash_token(alice_token)
            )
        ).scalar_one()
        assert token.last_used_at is not None


# --- browser login -----------------------------------------------------------------------------


def test_login_form_has_labelled_fields_and_csrf_token(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)

    assert '<label for="username">' in page
    assert '<label for="password">' in page
    assert 'name="csrf_token"' in page


def test_login_without_csrf_token_is_rejected(app: Flask, client: FlaskClient) -> None:
    make_user(app, "alice", "pw")
    client.get("/login")

    response = client.post("/login", data={"username": "alice", "password": "pw"})

    assert response.status_code == 400
    with client.session_transaction() as session:
        assert SESSION_USER_KEY not in session


def test_login_with_wrong_csrf_token_is_rejected(app: Flask, client: FlaskClient) -> None:
    make_user(app, "alice", "pw")

    response = login(client, "alice", "pw", csrf_token="forged")

    assert response.status_code == 400
    with client.session_transaction() as session:
        assert SESSION_USER_KEY not in session


def test_login_with_wrong_password_shows_error(app: Flask, client: FlaskClient) -> None:
    make_user(app, "alice", "pw")

    response = login(client, "alice", "nope")

    assert response.status_code == 200
    assert "Invalid username or password." in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert SESSION_USER_KEY not in session


def test_login_logout_flow(app: Flask, client: FlaskClient) -> None:
    make_user(app, "alice", "pw")
    project_id = make_project(app, "vision", "alice")

    response = login(client, "alice", "pw", next=f"/projects/{project_id}")
    home = client.get("/").get_data(as_text=True)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/projects/{project_id}"
    assert "Signed in as <strong>alice</strong>" in home
    assert "vision" in home

    rejected = client.post("/logout")
    with client.session_transaction() as session:
        assert session[SESSION_USER_KEY] == get_user_id(app, "alice")
        csrf = session[CSRF_SESSION_KEY]
    logged_out = client.post("/logout", data={"csrf_token": csrf})

    assert rejected.status_code == 400
    assert logged_out.status_code == 302
    with client.session_transaction() as session:
        assert SESSION_USER_KEY not in session


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
def test_login_ignores_offsite_next(app: Flask, client: FlaskClient, target: str) -> None:
    make_user(app, "alice", "pw")

    response = login(client, "alice", "pw", next=target)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# --- pages -------------------------------------------------------------------------------------


def test_project_page_links_to_ml_pages(app: Flask, client: FlaskClient) -> None:
    make_user(app, "alice", "pw")
    project_id = make_project(app, "vision", "alice")
    login(client, "alice", "pw")

    page = client.get(f"/projects/{project_id}").get_data(as_text=True)

    assert f'href="/projects/{project_id}/-/ml/experiments"' in page
    assert f'href="/projects/{project_id}/-/ml/models"' in page
    assert f"http://localhost/api/v4/projects/{project_id}/ml/mlflow" in page


@pytest.mark.parametrize(("role", "status"), [("guest", 404), ("reporter", 200), (None, 404)])
def test_project_pages_need_reporter(
    app: Flask, client: FlaskClient, role: str | None, status: int
) -> None:
    make_user(app, "alice")
    make_user(app, "bob", "pw")
    project_id = make_project(app, "vision", "alice")
    if role:
        cli(app, "add-member", str(project_id), "bob", "--role", role)
    login(client, "bob", "pw")

    assert client.get(f"/projects/{project_id}").status_code == status
    assert client.get(f"/projects/{project_id}/packages").status_code == status


def test_public_project_pages_are_open_to_anonymous(app: Flask, client: FlaskClient) -> None:
    make_user(app, "alice")
    public_id = make_project(app, "open", "alice", public=True)
    private_id = make_project(app, "closed", "alice")

    home = client.get("/").get_data(as_text=True)

    assert client.get(f"/projects/{public_id}").status_code == 200
    assert client.get(f"/projects/{private_id}").status_code == 404
    assert client.get("/projects/999").status_code == 404
    assert "open" in home
    assert "closed" not in home


def test_project_name_is_escaped(app: Flask, client: FlaskClient) -> None:
    make_user(app, "alice", "pw")
    project_id = make_project(app, "<script>x</script>", "alice")
    login(client, "alice", "pw")

    page = client.get(f"/projects/{project_id}").get_data(as_text=True)

    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page


# --- packages ----------------------------------------------------------------------------------


def test_package_resolver_finds_or_creates_and_deletes(app: Flask) -> None:
    make_user(app, "alice")
    project_id = make_project(app, "p", "alice")

    with app.app_context():
        first = resolve_package(project_id, "clf", "1.0.0")
        again = resolve_package(project_id, "clf", "1.0.0")
        other = resolve_package(project_id, "clf", "1.1.0")
        db.session.commit()
        package = db.session.get_one(Package, first)
        assert (package.name, package.version, package.package_type) == (
            "clf",
            "1.0.0",
            "ml_model",
        )

        resolve_package(project_id, "clf", "1.0.0", deleted=True)
        db.session.commit()
        remaining = db.session.execute(select(Package.version)).scalars()
        assert list(remaining) == ["1.1.0"]

    assert again == first
    assert other != first


def test_package_page_lists_files(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user(app, "alice", "pw")
    project_id = make_project(app, "p", "alice")
    with app.app_context():
        package_id = resolve_package(project_id, "clf", "1.2.0")
        db.session.commit()
    calls: list[tuple[int, object]] = []

    def fake_files(project: int, package: object) -> list[FileInfo]:
        calls.append((project, package))
        return [
            FileInfo("model/model.pkl", False, 2048),
            FileInfo("model", True, None),
            FileInfo("model/<MLmodel>", False, 17),
        ]

    monkeypatch.setattr(registry, "package_files", fake_files)
    login(client, "alice", "pw")

    listing = client.get(f"/projects/{project_id}/packages").get_data(as_text=True)
    page = client.get(f"/projects/{project_id}/packages/{package_id}").get_data(as_text=True)

    assert calls == [(project_id, package_id)]
    assert f'href="/projects/{project_id}/packages/{package_id}"' in listing
    assert "1.2.0" in page
    assert "ml_model" in page
    assert re.search(r"<code>model/model\.pkl</code></td>\s*<td[^>]*>2048</td>", page)
    assert "<code>model/</code>" in page
    assert "model/&lt;MLmodel&gt;" in page


def test_package_of_another_project_is_404(app: Flask, client: FlaskClient) -> None:
    make_user(app, "alice", "pw")
    mine = make_project(app, "mine", "alice")
    other = make_project(app, "other", "alice")
    with app.app_context():
        package_id = resolve_package(other, "clf", "1.0.0")
        db.session.commit()
    login(client, "alice", "pw")

    assert client.get(f"/projects/{mine}/packages/{package_id}").status_code == 404


# --- the embedded registry, end to end ---------------------------------------------------------


def register_model_version(client: FlaskClient, project_id: int, token: str) -> None:
    """Log a run with two model files and register them as version 1.0.0 of ``clf``."""
    headers = {"Authorization": f"Bearer {token}"}
    base = f"/api/v4/projects/{project_id}/ml/mlflow/api/2.0"

    def call(method: str, path: str, **kwargs: Any) -> Any:
        response = client.open(f"{base}/{path}", method=method, headers=headers, **kwargs)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.json or {}

    experiment_id = call("POST", "mlflow/experiments/create", json={"name": "e"})["experiment_id"]
    run = call("POST", "mlflow/runs/create", json={"experiment_id": experiment_id})["run"]
    info = run["info"]
    root = info["artifact_uri"].removeprefix("mlflow-artifacts:/")
    call("PUT", f"mlflow-artifacts/artifacts/{root}/model/MLmodel", data=b"flavors: {}\n")
    call("PUT", f"mlflow-artifacts/artifacts/{root}/model/model.pkl", data=b"\0" * 2048)
    call("POST", "mlflow/registered-models/create", json={"name": "clf"})
    source = f"runs:/{info['run_id']}/model"
    body = {"name": "clf", "source": source, "run_id": info["run_id"]}
    call("POST", "mlflow/model-versions/create", json=body)


def test_registered_version_becomes_a_package_listing_its_files(
    app: Flask, client: FlaskClient
) -> None:
    token = make_user(app, "alice", "pw")
    project_id = make_project(app, "p", "alice")

    register_model_version(client, project_id, token)

    with app.app_context():
        package = db.session.execute(select(Package)).scalar_one()
        package_id = package.id
        assert (package.project_id, package.name, package.version, package.package_type) == (
            project_id,
            "clf",
            "1.0.0",
            "ml_model",
        )
    login(client, "alice", "pw")
    page = client.get(f"/projects/{project_id}/packages/{package_id}").get_data(as_text=True)
    version_page = client.get(f"/projects/{project_id}/-/ml/models/1/versions/1.0.0")
    assert re.search(r"<code>MLmodel</code></td>\s*<td[^>]*>12</td>", page)
    assert re.search(r"<code>model\.pkl</code></td>\s*<td[^>]*>2048</td>", page)
    assert version_page.status_code == 200
    assert f"/projects/{project_id}/packages/{package_id}" in version_page.get_data(as_text=True)


def test_deleting_the_version_deletes_its_package(app: Flask, client: FlaskClient) -> None:
    token = make_user(app, "alice")
    project_id = make_project(app, "p", "alice")
    register_model_version(client, project_id, token)

    response = client.delete(
        f"/api/v4/projects/{project_id}/ml/mlflow/api/2.0/mlflow/model-versions/delete",
        json={"name": "clf", "version": "1"},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Package)) == 0


def test_reporter_cannot_write_through_the_api(app: Flask, client: FlaskClient) -> None:
    make_user(app, "alice")
    reporter_token = make_user(app, "rita")
    project_id = make_project(app, "p", "alice")
    cli(app, "add-member", str(project_id), "rita", "--role", "reporter")

    response = client.post(
        f"/api/v4/projects/{project_id}/ml/mlflow/api/2.0/mlflow/experiments/create",
        json={"name": "e"},
        headers={"Authorization": f"Bearer {reporter_token}"},
    )

    assert response.status_code == 403
    assert (response.json or {})["error_code"] == "PERMISSION_DENIED"


def test_registry_pages_send_anonymous_visitors_to_login_and_back(
    app: Flask, client: FlaskClient
) -> None:
    make_user(app, "alice", "pw")
    project_id = make_project(app, "vision", "alice")
    models_url = f"/projects/{project_id}/-/ml/models"

    anonymous = client.get(models_url)
    location = anonymous.headers["Location"]
    form = client.get(location).get_data(as_text=True)
    next_value = re.search(r'name="next" value="([^"]*)"', form).group(1)  # type: ignore[union-attr]
    signed_in = login(client, "alice", "pw", next=next_value)
    page = client.get(models_url)

    assert anonymous.status_code == 302
    assert location.startswith("/login?next=")
    assert next_value.startswith(models_url)
    assert signed_in.headers["Location"].startswith(models_url)
    assert page.status_code == 200
    assert "Signed in as <strong>alice</strong>" in page.get_data(as_text=True)
