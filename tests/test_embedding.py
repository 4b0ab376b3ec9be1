"""Embedding: one registry object serving several apps, and a host whose own requests see its
database exactly as it configured it."""

from __future__ import annotations

import pathlib
import threading
import typing as t

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event, text

from flask_model_registry import ModelRegistry, Permission
from flask_model_registry.errors import HookMissing
from flask_model_registry.state import get_state

MLFLOW = "/api/v4/projects/1/ml/mlflow/api/2.0/mlflow/"


def host_app(directory: pathlib.Path, **config: t.Any) -> Flask:
    app = Flask("host", instance_path=str(directory / "instance"))
    app.config.update(TESTING=True, **config)
    return app


def open_registry() -> ModelRegistry:
    """A registry whose hooks let anyone do anything."""
    registry = ModelRegistry()
    registry.user_loader(lambda: "someone")
    registry.project_access(lambda user, project_id, permission: True)
    return registry


def create_experiment(app: Flask, name: str) -> None:
    response = app.test_client().post(MLFLOW + "experiments/create", json={"name": name})
    assert response.status_code == 200, response.get_data(as_text=True)


def experiment_names(app: Flask) -> set[str]:
    response = app.test_client().post(MLFLOW + "experiments/search", json={"max_results": 100})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {experiment["name"] for experiment in response.get_json()["experiments"]}


def upgraded(app: Flask, registry: ModelRegistry) -> Flask:
    with app.app_context():
        registry.upgrade_database()
    return app


# -------------------------------------------------------------------------------------------
# one registry object, several apps


def test_one_registry_serves_two_apps_with_their_own_databases(tmp_path: pathlib.Path) -> None:
    registry = open_registry()
    apps, dbs = [], []
    for name in ("a", "b"):
        app = host_app(tmp_path / name, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/{name}.db")
        db = SQLAlchemy()
        db.init_app(app)
        registry.init_app(app)
        apps.append(upgraded(app, registry))
        dbs.append(db)
    assert [get_state(app).db for app in apps] == dbs
    create_experiment(apps[0], "only-in-a")
    create_experiment(apps[1], "only-in-b")
    assert experiment_names(apps[0]) == {"Default", "only-in-a"}
    assert experiment_names(apps[1]) == {"Default", "only-in-b"}


def test_one_registry_creates_a_database_per_app(tmp_path: pathlib.Path) -> None:
    registry = open_registry()
    first = host_app(tmp_path / "a")
    second = host_app(tmp_path / "b")
    for app in (first, second):
        registry.init_app(app)
        upgraded(app, registry)
    databases = []
    for app in (first, second):
        with app.app_context():
            databases.append(get_state(app).db.engine.url.database)
    assert databases == [
        str(tmp_path / "a" / "instance" / "model_registry.sqlite"),
        str(tmp_path / "b" / "instance" / "model_registry.sqlite"),
    ]
    create_experiment(first, "only-in-a")
    assert experiment_names(first) == {"Default", "only-in-a"}
    assert experiment_names(second) == {"Default"}


def test_an_app_with_its_own_db_after_one_without(tmp_path: pathlib.Path) -> None:
    registry = open_registry()
    owned = host_app(tmp_path / "owned")
    registry.init_app(owned)
    hosted = host_app(tmp_path / "hosted", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/h.db")
    db = SQLAlchemy()
    db.init_app(hosted)
    registry.init_app(hosted)
    assert get_state(hosted).db is db
    assert get_state(owned).db is not db
    upgraded(hosted, registry)
    create_experiment(hosted, "hosted")
    assert experiment_names(hosted) == {"Default", "hosted"}


def test_the_registry_object_holds_no_app_state(tmp_path: pathlib.Path) -> None:
    registry = open_registry()
    before = dict(vars(registry))
    app = host_app(tmp_path)
    registry.init_app(app)
    assert vars(registry) == before
    assert registry.db is None
    assert get_state(app).registry is registry


@pytest.mark.parametrize("host_has_db", [False, True])
def test_the_db_passed_in_serves_every_app(tmp_path: pathlib.Path, host_has_db: bool) -> None:
    db = SQLAlchemy()
    registry = ModelRegistry(db=db)
    for name in ("a", "b"):
        app = host_app(tmp_path / name, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/{name}.db")
        if host_has_db:
            db.init_app(app)
        registry.init_app(app)
        assert get_state(app).db is db
        with app.app_context():
            assert db.engine.url.database == f"{tmp_path}/{name}.db"


# -------------------------------------------------------------------------------------------
# the host's own requests see the host's engine settings


class Host:
    """A bare host on its own SQLite engine, configured its own way (no WAL, no foreign keys,
    ``BEGIN DEFERRED``, a 7 s busy timeout), sharing that engine with the registry.

    Every statement SQLite runs on the engine is traced, implicit ``BEGIN``s included, and
    what the host's and the user loader's transactions see is recorded.
    """

    def __init__(self, directory: pathlib.Path, *, timeout: float = 7) -> None:
        self.app = host_app(
            directory,
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{directory}/host.db",
            SQLALCHEMY_ENGINE_OPTIONS={
                "connect_args": {"timeout": timeout, "isolation_level": "DEFERRED"},
                "pool_size": 1,
                "max_overflow": 0,
            },
        )
        self.db = SQLAlchemy()
        self.db.init_app(self.app)
        self.trace: list[str] = []
        self.loader_saw: list[dict[str, t.Any]] = []
        self.registry = ModelRegistry(db=self.db, sqlite_busy_timeout=12)
        self.registry.user_loader(self._load_user)
        self.registry.project_access(lambda user, project_id, permission: True)
        self.registry.init_app(self.app)
        with self.app.app_context():
            event.listen(self.db.engine, "connect", self._trace_connection)
            self.db.session.execute(text("CREATE TABLE host_notes (body TEXT)"))
            self.db.session.commit()
        upgraded(self.app, self.registry)
        self.app.add_url_rule("/notes", "add_note", self._add_note, methods=["POST"])

    def _trace_connection(self, dbapi_connection: t.Any, _record: t.Any) -> None:
        dbapi_connection.set_trace_callback(self.trace.append)

    def _settings(self) -> dict[str, t.Any]:
        session = self.db.session
        dbapi_connection = session.connection().connection.dbapi_connection
        assert dbapi_connection is not None
        return {
            "isolation_level": dbapi_connection.isolation_level,
            "foreign_keys": session.execute(text("PRAGMA foreign_keys")).scalar(),
            "busy_timeout": session.execute(text("PRAGMA busy_timeout")).scalar(),
        }

    def _load_user(self) -> str:
        self.loader_saw.append(self._settings())
        return "someone"

    def _add_note(self) -> dict[str, t.Any]:
        self.db.session.execute(text("INSERT INTO host_notes (body) VALUES ('hello')"))
        seen = self._settings()
        self.db.session.commit()
        return seen

    def add_note(self) -> dict[str, t.Any]:
        """POST a host write; what it saw, and the BEGIN statements SQLite ran for it."""
        del self.trace[:]
        response = self.app.test_client().post("/notes")
        assert response.status_code == 200, response.get_data(as_text=True)
        return {**response.get_json(), "begins": self.begins()}

    def begins(self) -> list[str]:
        return [s.strip() for s in self.trace if s.strip().upper().startswith("BEGIN")]


HOST_SETTINGS = {"isolation_level": "DEFERRED", "foreign_keys": 0, "busy_timeout": 7000}


def test_a_host_write_sees_the_hosts_engine_settings(tmp_path: pathlib.Path) -> None:
    host = Host(tmp_path)
    assert host.add_note() == {**HOST_SETTINGS, "begins": ["BEGIN DEFERRED"]}


def test_a_host_write_after_registry_writes_sees_the_hosts_settings(
    tmp_path: pathlib.Path,
) -> None:
    host = Host(tmp_path)
    create_experiment(host.app, "first")  # the pool's one connection served the registry
    assert host.add_note() == {**HOST_SETTINGS, "begins": ["BEGIN DEFERRED"]}
    create_experiment(host.app, "second")
    assert host.add_note() == {**HOST_SETTINGS, "begins": ["BEGIN DEFERRED"]}


def test_registry_requests_get_the_registrys_settings_on_a_shared_engine(
    tmp_path: pathlib.Path,
) -> None:
    host = Host(tmp_path)
    host.add_note()
    del host.trace[:]
    create_experiment(host.app, "locked")
    assert host.begins() == ["BEGIN", "BEGIN IMMEDIATE"]  # authorization, then the write
    assert host.loader_saw[-1] == {
        "isolation_level": "DEFERRED",  # untouched: the registry begins explicitly
        "foreign_keys": 1,
        "busy_timeout": 12000,
    }
    del host.trace[:]
    assert experiment_names(host.app) == {"Default", "locked"}  # a search POST only reads
    assert host.begins() == ["BEGIN"]


def test_a_host_write_on_the_registrys_own_engine_takes_no_write_lock(
    tmp_path: pathlib.Path,
) -> None:
    app = host_app(tmp_path)
    registry = open_registry()
    registry.init_app(app)
    db = get_state(app).db
    trace: list[str] = []
    with app.app_context():
        event.listen(db.engine, "connect", lambda c, _r: c.set_trace_callback(trace.append))
        db.session.execute(text("CREATE TABLE host_notes (body TEXT)"))
        db.session.commit()

    @app.post("/notes")
    def add_note() -> str:
        db.session.execute(text("INSERT INTO host_notes (body) VALUES ('hello')"))
        db.session.commit()
        return "ok"

    del trace[:]
    assert app.test_client().post("/notes").status_code == 200
    assert [s for s in trace if s.upper().startswith("BEGIN")] == ["BEGIN"]


def test_registry_writes_queue_on_a_shared_engine_without_wal(tmp_path: pathlib.Path) -> None:
    host = Host(tmp_path, timeout=0.01)
    with host.app.app_context():
        assert host.db.session.execute(text("PRAGMA journal_mode")).scalar() == "delete"
    failures: list[str] = []

    def work(worker: int) -> None:
        client = host.app.test_client()
        for i in range(4):
            response = client.post(MLFLOW + "experiments/create", json={"name": f"{worker}-{i}"})
            if response.status_code != 200:
                failures.append(response.get_data(as_text=True))
            client.post("/notes")

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert len(experiment_names(host.app)) == 1 + 8 * 4


# -------------------------------------------------------------------------------------------
# the host hooks


def test_project_access_receives_the_permission_member(tmp_path: pathlib.Path) -> None:
    registry = ModelRegistry()
    asked: list[t.Any] = []
    registry.user_loader(lambda: "someone")

    @registry.project_access
    def can(user: t.Any, project_id: int, permission: Permission) -> bool:
        asked.append(permission)
        return True

    app = host_app(tmp_path)
    registry.init_app(app)
    upgraded(app, registry)
    create_experiment(app, "e")
    assert asked == [Permission.WRITE_MODEL_EXPERIMENTS]
    assert type(asked[0]) is Permission


def test_host_hooks_answer_through_public_methods() -> None:
    hooks = ModelRegistry().hooks
    with pytest.raises(HookMissing, match=r"@registry\.project_access"):
        hooks.allows(None, 1, Permission.READ_MODEL_REGISTRY)
    with pytest.raises(HookMissing, match=r"@registry\.package_resolver"):
        hooks.forget_package(1, "fraud", "1.0.0")
    assert hooks.package_url(1, 7) is None  # optional hook

    calls: list[tuple[t.Any, ...]] = []

    def resolve(project_id: int, name: str, semver: str, *, deleted: bool = False) -> int:
        calls.append((project_id, name, semver, deleted))
        return 7

    hooks.package_resolver = resolve
    hooks.package_page = lambda project_id, package_id: f"/p/{project_id}/{package_id}"
    assert hooks.resolve_package(1, "fraud", "1.0.0") == 7
    hooks.forget_package(1, "fraud", "1.0.0")
    assert calls == [(1, "fraud", "1.0.0", False), (1, "fraud", "1.0.0", True)]
    assert hooks.package_url(1, 7) == "/p/1/7"
    assert hooks.package_url(1, None) is None
