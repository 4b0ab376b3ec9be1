"""Live servers for the tests and the benchmarks, on ports nobody else can take.

:class:`LiveServer` serves an app with werkzeug in a thread; it binds port 0 itself.
:class:`ServerProcess` runs a server command in its own process group: either on a listening
socket the parent bound and hands over (:func:`listening_socket`, gunicorn's ``--bind fd://N``),
or on port 0, reading the port the child listens on from ``/proc``. Its readiness wait fails
with the server's log when the process dies, and :meth:`ServerProcess.stop` always stops the
whole group. :class:`GunicornServer` is the example app under gunicorn.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import sys
import threading
import time
import typing as t
from collections.abc import Callable, Mapping, Sequence

import requests
from werkzeug.serving import make_server

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = [
    "GunicornServer",
    "LiveServer",
    "ServerDied",
    "ServerProcess",
    "listening_socket",
    "listening_ports",
    "process_tree",
]

_S = t.TypeVar("_S", bound="ServerProcess")

HOST = "127.0.0.1"
ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
STOP_TIMEOUT_S = 15.0
LOG_TAIL_CHARS = 8000


def tracking_path(project_id: int) -> str:
    """Where the example app mounts a project's MLflow tracking server."""
    return f"/api/v4/projects/{project_id}/ml/mlflow"


class LiveServer:
    """A WSGI app served by werkzeug in a thread on 127.0.0.1, on a port of its own choosing."""

    def __init__(self, app: WSGIApplication) -> None:
        self.server = make_server(HOST, 0, app, threaded=True)
        self.port = int(self.server.server_port)
        self.url = f"http://{HOST}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()

    def tracking_uri(self, project_id: int) -> str:
        return self.url + tracking_path(project_id)


def listening_socket() -> socket.socket:
    """A socket listening on an ephemeral port of 127.0.0.1 that a child process may inherit."""
    sock = socket.create_server((HOST, 0), backlog=128)
    sock.set_inheritable(True)
    return sock


class ServerDied(RuntimeError):
    """The server process exited, or never answered, while we waited for it."""


class ServerProcess:
    """A server command in its own process group, its output in ``log_path``.

    With ``listener``, the command serves that socket (its descriptor number is
    ``listener.fileno()`` in the child too) and the port is known at once; without it, the
    command listens on port 0 and :attr:`port` is read from ``/proc`` once it listens.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        log_path: pathlib.Path,
        env: Mapping[str, str] | None = None,
        listener: socket.socket | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        ready_path: str = "/",
        name: str = "server",
    ) -> None:
        self.command = list(command)
        self.log_path = log_path
        self.env = dict(os.environ if env is None else env)
        self.listener = listener
        self.stop_signal = stop_signal
        self.ready_path = ready_path
        self.name = name
        self._port: int | None = int(listener.getsockname()[1]) if listener else None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"{self.name} is not listening yet")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def tracking_uri(self, project_id: int) -> str:
        """The tracking URI of a project, when the server is the example app."""
        return self.url + tracking_path(project_id)

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not running"
        return self.process.pid

    def start(self) -> None:
        """Start the command; the parent's copy of the listening socket is closed."""
        if self.process is not None:
            raise RuntimeError(f"{self.name} is already running")
        fds = (self.listener.fileno(),) if self.listener else ()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, pass_fds=fds, start_new_session=True,
            )
        if self.listener is not None:
            # Only the child holds the socket now: connections fail once it is gone.
            self.listener.close()
            self.listener = None

    def wait_ready(
        self,
        path: str | None = None,
        *,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
        ready: Callable[[requests.Response], bool] = lambda response: True,
    ) -> None:
        """Wait until ``GET path`` (default: ``ready_path``) gets an answer that ``ready``
        accepts (by default any); raise :class:`ServerDied` with the server's log if the
        server exits or the time runs out."""
        path = self.ready_path if path is None else path
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            self._check_alive()
            if self._port is None:
                self._port = self._reported_port()
            if self._port is not None:
                try:
                    response = requests.get(self.url + path, headers=headers, timeout=5)
                except requests.RequestException as exc:
                    last = type(exc).__name__
                else:
                    if ready(response):
                        return
                    last = f"{response.status_code} {response.text[:200]}"
            time.sleep(0.02)
        raise ServerDied(f"{self.name} not ready after {timeout:.0f} s ({last}).\n{self.log()}")

    def _check_alive(self) -> None:
        assert self.process is not None, f"{self.name} was not started"
        if self.process.poll() is not None:
            raise ServerDied(
                f"{self.name} exited with {self.process.returncode} before it was ready.\n"
                + self.log()
            )

    def _reported_port(self) -> int | None:
        ports = listening_ports(process_tree(self.pid))
        if len(ports) > 1:
            raise ServerDied(f"{self.name} listens on several ports: {sorted(ports)}")
        return ports.pop() if ports else None

    def stop(self) -> None:
        """Stop the whole process group: ``stop_signal``, then SIGKILL after a grace period."""
        process, self.process = self.process, None
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        if process is None:
            return
        group = process.pid  # start_new_session: the group id is the leader's pid
        _signal_group(group, self.stop_signal)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline and (process.poll() is None or _group_alive(group)):
            time.sleep(0.05)
        _signal_group(group, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_S)

    def log(self) -> str:
        """The tail of the server's output."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return text[-LOG_TAIL_CHARS:]

    def __enter__(self: _S) -> _S:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants that are alive (Linux ``/proc``)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = pathlib.Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: fields start after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        if os.path.exists(f"/proc/{pid}"):
            tree.append(pid)
            todo.extend(children.get(pid, []))
    return tree


def listening_ports(pids: Sequence[int]) -> set[int]:
    """The TCP ports that sockets of ``pids`` listen on (Linux ``/proc``)."""
    inodes = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as fh:
            next(fh)  # the header
            for line in fh:
                fields = line.split()
                listening = fields[3] == "0A"
                if listening and fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


class GunicornServer(ServerProcess):
    """The example app under gunicorn (``gthread`` workers) on a socket bound by the parent,
    on ``database_url`` with its artifacts and instance folder in ``directory``; ``testing``
    sets ``FLASK_TESTING``."""

    def __init__(
        self,
        database_url: str,
        directory: pathlib.Path,
        *,
        workers: int = 4,
        threads: int = 4,
        testing: bool = True,
    ) -> None:
        listener = listening_socket()
        env = {
            **os.environ,
            "FLASK_SQLALCHEMY_DATABASE_URI": database_url,
            "FLASK_MODEL_REGISTRY_ARTIFACT_ROOT": str(directory / "artifacts"),
            "FLASK_SECRET_KEY": "test-secret",
        }
        if testing:
            env["FLASK_TESTING"] = "true"
        instance = directory / "instance"
        command = [
            sys.executable, "-m", "gunicorn",
            "--workers", str(workers),
            "--worker-class", "gthread",
            "--threads", str(threads),
            "--bind", f"fd://{listener.fileno()}",
            "--timeout", "120",
            "--graceful-timeout", "2",
            "--no-control-socket",
            "--preload",
            f"example_app:create_app(instance_path={str(instance)!r})",
        ]
        super().__init__(
            command, log_path=directory / "gunicorn.log", env=env, listener=listener,
            stop_signal=signal.SIGINT,  # quick shutdown, keep-alive clients or not
            ready_path="/login",
            name="gunicorn",
        )
