"""The servers under test: fresh databases, start, readiness, memory and stop.

Every server is a :class:`~tests.support.live.ServerProcess` in its own process group, so
stopping it (``SIGTERM``, then ``SIGKILL``) reaches every worker it forked or spawned. Ours
serves a socket bound here (gunicorn ``--bind fd://N``); MLflow listens on port 0 and its port
is read once it listens. :func:`stop_all` stops whatever is still running; the runner calls it
on every exit path.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.live import ServerProcess, listening_socket, process_tree

__all__ = [
    "GUNICORN_OPTS",
    "DatabaseFactory",
    "Server",
    "ServerSpec",
    "process_tree",
    "stop_all",
    "tree_memory",
]

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
#: What a server must answer 200 to before it counts as started (relative to its tracking URI).
PROBE = "/api/2.0/mlflow/experiments/get?experiment_id=0"
READY_TIMEOUT_S = 120.0
#: gunicorn options of both MLflow's gunicorn mode and ours (before ``-b`` and ``-w``).
GUNICORN_OPTS = ("--log-level", "warning", "--timeout", "120")

_RUNNING: list[Server] = []


# --- databases ---------------------------------------------------------------------------------


class DatabaseFactory:
    """Hands out fresh, empty databases and drops the PostgreSQL ones at :meth:`close`."""

    def __init__(self, workdir: Path, postgres_url: str | None) -> None:
        self.workdir = workdir
        self.postgres_url = postgres_url
        self._created: list[str] = []

    def new(self, kind: str, label: str) -> str:
        """A SQLAlchemy URL (``postgresql+psycopg://`` on PostgreSQL) of a new database."""
        if kind == "sqlite":
            return f"sqlite:///{self.workdir / (label + '.sqlite')}"
        from sqlalchemy.engine import make_url

        assert self.postgres_url is not None
        name = f"bench_{label.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        self._admin(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        url = make_url(self.postgres_url).set(drivername="postgresql+psycopg", database=name)
        return url.render_as_string(hide_password=False)

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(libpq_url(self.postgres_url or ""), autocommit=True) as conn:
            conn.execute(sql.encode())

    def close(self) -> None:
        """Drop every PostgreSQL database this factory created."""
        while self._created:
            name = self._created.pop()
            try:
                self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as exc:  # keep dropping the others
                print(f"warning: could not drop database {name}: {exc}", file=sys.stderr)


def libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://u@h/db?x`` as a plain libpq URL ``postgresql://u@h/db``."""
    from sqlalchemy.engine import make_url

    url = make_url(sqlalchemy_url).set(drivername="postgresql", query={})
    return url.render_as_string(hide_password=False)


# --- processes ---------------------------------------------------------------------------------


def _kib(path: str, field_name: str) -> int:
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_memory(root: int) -> dict[str, float]:
    """Resident (RSS) and proportional (PSS) memory of the process tree, in MiB."""
    pids = process_tree(root)
    rss = sum(_kib(f"/proc/{pid}/status", "VmRSS") for pid in pids)
    pss = sum(_kib(f"/proc/{pid}/smaps_rollup", "Pss") for pid in pids)
    return {"rss_mb": rss / 1024, "pss_mb": pss / 1024, "processes": float(len(pids))}


# --- servers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerSpec:
    """Which server: ``mlflow`` under ``uvicorn`` or ``gunicorn``, or ``ours`` (gunicorn)."""

    kind: str
    mode: str

    @property
    def name(self) -> str:
        return "ours" if self.kind == "ours" else f"mlflow-{self.mode}"

    @property
    def label(self) -> str:
        return "ours (gunicorn)" if self.kind == "ours" else f"MLflow {self.mode}"


@dataclass
class Server:
    """One server under test on one database, with its log in ``workdir``."""

    spec: ServerSpec
    database_url: str
    workdir: Path
    workers: int
    gunicorn_opts: tuple[str, ...] = GUNICORN_OPTS
    project_id: int | None = None
    token: str | None = None
    process: ServerProcess | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def root_url(self) -> str:
        assert self.process is not None, f"{self.spec.name} is not running"
        return self.process.url

    @property
    def tracking_uri(self) -> str:
        """What ``MLFLOW_TRACKING_URI`` would be for this server."""
        if self.spec.kind == "ours":
            return f"{self.root_url}/api/v4/projects/{self.project_id}/ml/mlflow"
        return self.root_url

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.spec.name}.log"

    # -- environment and commands --

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
            MLFLOW_DISABLE_TELEMETRY="true",
            DO_NOT_TRACK="true",
            PYTHONUNBUFFERED="1",
        )
        if self.spec.kind == "ours":
            env.update(
                FLASK_SQLALCHEMY_DATABASE_URI=self.database_url,
                FLASK_MODEL_REGISTRY_ARTIFACT_ROOT=str(self.workdir / "ours-artifacts"),
                FLASK_SECRET_KEY=secrets.token_hex(32),
            )
        return env

    def _process(self) -> ServerProcess:
        """Ours on a socket bound here; MLflow (which binds itself) on port 0."""
        log_path, env = self.log_path, self._env()
        if self.spec.kind == "ours":
            listener = listening_socket()
            command = [
                sys.executable, "-m", "gunicorn", *self.gunicorn_opts,
                "-b", f"fd://{listener.fileno()}", "-w", str(self.workers),
                "example_app:create_app()",
            ]
            return ServerProcess(
                command, log_path=log_path, env=env, listener=listener, name=self.spec.name
            )
        command = [
            str(BIN / "mlflow"), "server",
            "--backend-store-uri", self.database_url,
            "--artifacts-destination", str(self.workdir / f"{self.spec.name}-artifacts"),
            "--host", "127.0.0.1", "--port", "0", "--workers", str(self.workers),
        ]
        if self.spec.mode == "gunicorn":
            command += ["--gunicorn-opts", " ".join(self.gunicorn_opts)]
        return ServerProcess(command, log_path=log_path, env=env, name=self.spec.name)

    def _flask(self, *args: str) -> str:
        """Run ``flask --app example_app ARGS`` on this server's database; its last line."""
        result = subprocess.run(
            [str(BIN / "flask"), "--app", "example_app", *args],
            cwd=ROOT, env=self._env(), capture_output=True, text=True, timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout.strip().splitlines()[-1]

    # -- lifecycle --

    def prepare(self) -> None:
        """Ours: create the tables, a user with a token and a project (timed as ``init_s``)."""
        if self.spec.kind != "ours":
            return
        started = time.perf_counter()
        self._flask("init-db")
        self.token = self._flask("create-user", "bench")
        self.project_id = int(self._flask("create-project", "bench", "--owner", "bench"))
        self.timings["init_s"] = time.perf_counter() - started

    def start(self) -> float:
        """Start the server and wait for its first 200; the seconds that took."""
        if self.process is not None:
            raise RuntimeError(f"{self.spec.name} is already running")
        started = time.perf_counter()
        self.process = self._process()
        _RUNNING.append(self)
        self.process.start()
        self.process.wait_ready(
            self._probe_path(), timeout=READY_TIMEOUT_S, headers=self.headers,
            ready=lambda response: response.status_code == 200,
        )
        return time.perf_counter() - started

    def _probe_path(self) -> str:
        if self.spec.kind == "ours":
            return f"/api/v4/projects/{self.project_id}/ml/mlflow{PROBE}"
        return PROBE

    def memory(self) -> dict[str, float]:
        assert self.process is not None
        return tree_memory(self.process.pid)

    def stop(self) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after a grace period."""
        process, self.process = self.process, None
        if self in _RUNNING:
            _RUNNING.remove(self)
        if process is not None:
            process.stop()


def stop_all() -> None:
    """Stop every server still running (called on every exit path of the runner)."""
    for server in list(_RUNNING):
        try:
            server.stop()
        except Exception as exc:  # stop the rest regardless
            print(f"warning: stopping {server.spec.name} failed: {exc}", file=sys.stderr)
