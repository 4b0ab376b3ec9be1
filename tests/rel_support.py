"""Helpers of the reliability and security tests: apps on a chosen database, a TCP proxy that
can cut the database connection, and a snapshot of the registry's tables."""

from __future__ import annotations

import contextlib
import hashlib
import os
import pathlib
import selectors
import socket
import threading
import typing as t
import uuid
import weakref

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import MetaData, Table, create_engine, select, text
from sqlalchemy.engine import Engine, make_url
from werkzeug.test import TestResponse

from example_app import create_app

POSTGRES_URL = os.environ.get("MODEL_REGISTRY_TEST_POSTGRES_URL")

TEST_CONFIG: dict[str, t.Any] = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    # Cheap hashing keeps fixtures fast; the default (scrypt) is tested in the host's tests.
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
}


@contextlib.contextmanager
def fresh_database(backend: str, directory: pathlib.Path) -> t.Iterator[str]:
    """An empty database: a SQLite file in ``directory`` or a throw-away PostgreSQL schema."""
    if backend == "sqlite":
        yield f"sqlite:///{directory}/registry.sqlite"
        return
    assert POSTGRES_URL is not None
    schema = f"rel_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield with_schema(POSTGRES_URL, schema)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def with_schema(url: str, schema: str) -> str:
    """``url`` with PostgreSQL's ``search_path`` set to ``schema``."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


class ClosingClient(FlaskClient):
    """A test client whose responses are closed when the app is disposed of, as a WSGI server
    closes every response: no file a response streams stays open. (Closing runs the
    response's ``call_on_close`` work, so it waits until the test is over.)"""

    def open(self, *args: t.Any, **kwargs: t.Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        _OPEN_RESPONSES.setdefault(self.application, []).append(response)
        return response


_OPEN_RESPONSES: weakref.WeakKeyDictionary[Flask, list[TestResponse]] = (
    weakref.WeakKeyDictionary()
)


def build_app(
    database_url: str, directory: pathlib.Path, *, init: bool = True, **config: t.Any
) -> Flask:
    """The example host app on ``database_url``, its tables created unless ``init`` is false."""
    app = create_app(
        {
            **TEST_CONFIG,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "MODEL_REGISTRY_ARTIFACT_ROOT": str(directory / "artifacts"),
            **config,
        },
        instance_path=str(directory / "instance"),
    )
    app.test_client_class = ClosingClient
    if init:
        result = app.test_cli_runner().invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
    return app


@contextlib.contextmanager
def app_on(backend: str, directory: pathlib.Path, **config: t.Any) -> t.Iterator[Flask]:
    """The example host app on a fresh database of ``backend``, disposed of afterwards."""
    with fresh_database(backend, directory) as url:
        app = build_app(url, directory, **config)
        try:
            yield app
        finally:
            dispose(app)


def dispose(app: Flask) -> None:
    """Close the responses of the app's test clients, its sessions and pooled connections."""
    for response in _OPEN_RESPONSES.pop(app, []):
        response.close()
    with app.app_context():
        app.extensions["sqlalchemy"].session.remove()
        for engine in app.extensions["sqlalchemy"].engines.values():
            engine.dispose()


def engine_of(app: Flask) -> Engine:
    with app.app_context():
        return t.cast(Engine, app.extensions["sqlalchemy"].engine)


def add_member(app: Flask, project_id: int, username: str, role: str) -> None:
    result = app.test_cli_runner().invoke(
        args=["add-member", str(project_id), username, "--role", role]
    )
    assert result.exit_code == 0, result.output


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; :meth:`cut` drops every connection and refuses
    new ones until :meth:`restore`."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self._cut = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.listener.close()
        self._close_all()
        self._thread.join(timeout=5)

    def cut(self) -> None:
        self._cut.set()
        self._close_all()

    def restore(self) -> None:
        self._cut.clear()

    def _close_all(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._cut.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        try:
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.5):
                    source = t.cast(socket.socket, key.fileobj)
                    data = source.recv(65536)
                    if not data:
                        return
                    t.cast(socket.socket, key.data).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            selector.close()
            with self._lock:
                self._sockets.difference_update((a, b))
            for sock in (a, b):
                sock.close()


def proxied_postgres_url(url: str, port: int) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


_REFLECTED: weakref.WeakKeyDictionary[Engine, list[Table]] = weakref.WeakKeyDictionary()


def _registry_tables(engine: Engine) -> list[Table]:
    if engine not in _REFLECTED:
        metadata = MetaData()
        metadata.reflect(engine, only=lambda name, _: name.startswith("ml_"))
        _REFLECTED[engine] = sorted(metadata.tables.values(), key=lambda t: t.name)
    return _REFLECTED[engine]


def snapshot(engine: Engine) -> dict[str, str]:
    """A digest of every row of every registry table (``ml_*``), to prove nothing changed."""
    digests: dict[str, str] = {}
    with engine.connect() as connection:
        for table in _registry_tables(engine):
            rows = sorted(repr(tuple(row)) for row in connection.execute(select(table)))
            digests[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return digests


def files_under(root: pathlib.Path) -> list[str]:
    """Every file below ``root`` (hidden temporary files included), relative and sorted."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
