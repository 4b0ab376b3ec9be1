"""Check a release as a host meets it: ``pip install flask-model-registry``, nothing else.

1. Build the sdist and the wheel (the wheel from the sdist) and run ``twine check``.
2. Create a fresh virtual environment in a temporary directory, outside the checkout, and
   install only the wheel (with its ``postgres`` extra), ``mlflow`` at the test extra's pin for
   the client, and gunicorn to serve.
3. There, working in that directory with the source tree off ``sys.path``: for SQLite and for
   PostgreSQL (``MODEL_REGISTRY_TEST_POSTGRES_URL``, required when ``CI`` is set), run
   ``flask model-registry db upgrade`` and ``db check`` on the embedding guide's host
   (``docs/examples/host.py``), create its tables, a user, a project and a token, serve it under
   gunicorn and run the README's quick start with the ``mlflow`` client against it
   (``scripts/quickstart.py``), down to the experiments page listing the experiment.

Run from the checkout's root: ``python -m scripts.check_release`` (``make check-release``).
Every server started is stopped, and the temporary directory removed, whatever happens.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence

import tomllib
from packaging.requirements import Requirement

from tests.rel_support import fresh_database
from tests.support.live import ServerDied, ServerProcess, listening_socket

ROOT = pathlib.Path(__file__).resolve().parent.parent
HOST = ROOT / "docs" / "examples" / "host.py"
QUICKSTART = ROOT / "scripts" / "quickstart.py"
POSTGRES_ENV = "MODEL_REGISTRY_TEST_POSTGRES_URL"
#: Installed beside the wheel, at the pins of the test extra.
CLIENT_REQUIREMENTS = ("mlflow", "gunicorn")


class CheckFailed(RuntimeError):
    """A step of the release check failed; the message says which and why."""


class Step:
    """Prints what runs and how long it took."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    @contextlib.contextmanager
    def __call__(self, title: str) -> Iterator[None]:
        began = time.monotonic()
        print(f"==> {title}", flush=True)
        yield
        print(f"    done in {time.monotonic() - began:.1f} s", flush=True)

    def total(self) -> float:
        return time.monotonic() - self.started


def run(
    command: Sequence[str | os.PathLike[str]],
    *,
    cwd: pathlib.Path,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run ``command``; its output, or :class:`CheckFailed` with the output on failure."""
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
    )
    if result.returncode != 0:
        shown = " ".join(str(part) for part in command)
        raise CheckFailed(f"{shown} exited with {result.returncode}:\n{result.stdout}")
    return result.stdout


def build(dist: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """The sdist and the wheel built from it, checked by twine."""
    run([sys.executable, "-m", "build", "--outdir", dist, ROOT], cwd=ROOT)
    (sdist,), (wheel,) = dist.glob("*.tar.gz"), dist.glob("*.whl")
    twine: list[str | os.PathLike[str]] = [sys.executable, "-m", "twine", "--no-color"]
    twine += ["check", "--strict", sdist, wheel]
    print(run(twine, cwd=ROOT, env={**os.environ, "COLUMNS": "200"}).strip())
    return sdist, wheel


def pinned(names: Sequence[str]) -> list[str]:
    """The test extras' requirements for ``names``, as pyproject.toml pins them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    lines = [*extras["test-base"], *extras["test"]]
    wanted = {Requirement(line).name: line for line in lines}
    return [wanted[name] for name in names]


def venv_env(venv: pathlib.Path, **extra: str) -> dict[str, str]:
    """The environment of commands in ``venv``: nothing of the checkout on ``sys.path``."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        PYTHONNOUSERSITE="1",
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        MLFLOW_HTTP_REQUEST_TIMEOUT="60",
        **extra,
    )
    return env


def install(venv: pathlib.Path, wheel: pathlib.Path, work: pathlib.Path, python: str) -> None:
    """A fresh environment holding the wheel, the client and a server, and nothing else."""
    run([python, "-m", "venv", venv], cwd=work)
    requirements = [f"{wheel}[postgres]", *pinned(CLIENT_REQUIREMENTS)]
    # --no-compile: byte-compiling all of mlflow's dependencies would double the time.
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-compile",
         *requirements], cwd=work, env=venv_env(venv))


def check_installed(venv: pathlib.Path, work: pathlib.Path, version: str) -> None:
    """The package comes from the environment's site-packages, and nothing else of ours."""
    probe = (
        "import importlib.util, flask_model_registry as m; "
        "print(m.__version__, m.__file__, importlib.util.find_spec('example_app') is None)"
    )
    found, location, no_example_app = run(
        [venv / "bin" / "python", "-c", probe], cwd=work, env=venv_env(venv)
    ).split()
    print(f"    flask_model_registry {found} from {location}")
    if found != version:
        raise CheckFailed(f"installed version {found}, built {version}")
    if not pathlib.Path(location).is_relative_to(venv):
        raise CheckFailed(f"flask_model_registry imported from {location}, not the environment")
    if no_example_app != "True":
        raise CheckFailed("example_app is importable in the fresh environment")


class HostServer(ServerProcess):
    """The guide's host under gunicorn from the fresh environment, in ``work``."""

    def __init__(self, venv: pathlib.Path, work: pathlib.Path, env: Mapping[str, str]) -> None:
        listener = listening_socket()
        command = [
            str(venv / "bin" / "gunicorn"), "--chdir", str(work), "--workers", "2",
            "--bind", f"fd://{listener.fileno()}", "--graceful-timeout", "2",
            "--no-control-socket", "host:app",
        ]
        super().__init__(
            command, log_path=work / "gunicorn.log", env=env, listener=listener,
            stop_signal=signal.SIGINT, ready_path="/-/model-registry/openapi.json", name="host",
        )
        self.work = work

    def start(self) -> None:
        # As ServerProcess.start, but in the work directory rather than the checkout.
        assert self.listener is not None
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.work, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, pass_fds=(self.listener.fileno(),),
                start_new_session=True,
            )
        self.listener.close()
        self.listener = None


def check_host(
    venv: pathlib.Path, work: pathlib.Path, database_url: str, step: Step, backend: str
) -> None:
    """Migrate, seed, serve and drive the guide's host on ``database_url``."""
    shutil.rmtree(work / "artifacts", ignore_errors=True)
    env = venv_env(
        venv,
        FLASK_APP="host",
        FLASK_SQLALCHEMY_DATABASE_URI=database_url,
        FLASK_MODEL_REGISTRY_ARTIFACT_ROOT=str(work / "artifacts"),
        FLASK_SECRET_KEY="release-check",
    )
    flask = venv / "bin" / "flask"
    with step(f"{backend}: flask model-registry db upgrade, db check"):
        print("    " + run([flask, "model-registry", "db", "upgrade"], cwd=work, env=env).strip())
        print("    " + run([flask, "model-registry", "db", "check"], cwd=work, env=env).strip())
    with step(f"{backend}: the host's tables, a user, a project and a token"):
        run([flask, "init-db"], cwd=work, env=env)
        seeded = run([flask, "seed", "alice", "demo"], cwd=work, env=env)
        found = re.search(r"project (\d+)\ntoken (\S+)", seeded)
        if found is None:
            raise CheckFailed(f"unexpected seed output:\n{seeded}")
        project_id, token = found.groups()
    with step(f"{backend}: serve under gunicorn, run the quick start"), HostServer(
        venv, work, env
    ) as server:
        quickstart = [venv / "bin" / "python", work / "quickstart.py", server.url, project_id]
        try:
            output = run([*quickstart, token], cwd=work, env=env)
        except CheckFailed as failure:
            raise CheckFailed(f"{failure}\nThe host's log:\n{server.log()}") from None
        print("    " + output.strip().splitlines()[-1])


def backends() -> list[str]:
    """SQLite, and PostgreSQL when it is configured."""
    if os.environ.get(POSTGRES_ENV):
        return ["sqlite", "postgres"]
    print(f"!!  {POSTGRES_ENV} is not set: PostgreSQL is not checked", flush=True)
    return ["sqlite"]


@contextlib.contextmanager
def database(backend: str, work: pathlib.Path) -> Iterator[str]:
    """A fresh database: a SQLite file in ``work``, or a throw-away PostgreSQL schema."""
    if backend == "sqlite":
        (work / "host.sqlite").unlink(missing_ok=True)
        yield f"sqlite:///{work / 'host.sqlite'}"
        return
    with fresh_database(backend, work) as url:
        yield url


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter of the fresh environment (default: this one)")
    parser.add_argument("--require-postgres", action="store_true",
                        help=f"fail without {POSTGRES_ENV} (implied when CI is set)")
    args = parser.parse_args(argv)
    required = args.require_postgres or bool(os.environ.get("CI"))
    if required and not os.environ.get(POSTGRES_ENV):
        print(f"CI must set {POSTGRES_ENV} for the release check.", file=sys.stderr)
        return 1
    import flask_model_registry

    step = Step()
    try:
        with tempfile.TemporaryDirectory(prefix="fmr-release-") as tmp:
            base = pathlib.Path(tmp)
            venv, work = base / "venv", base / "host"
            work.mkdir()
            with step("build the sdist and the wheel, twine check"):
                _, wheel = build(base / "dist")
            with step(f"fresh environment with {wheel.name} only"):
                install(venv, wheel, work, args.python)
                check_installed(venv, work, flask_model_registry.__version__)
            shutil.copy(HOST, work / "host.py")
            shutil.copy(QUICKSTART, work / "quickstart.py")
            for backend in backends():
                with database(backend, work) as url:
                    check_host(venv, work, url, step, backend)
    except (CheckFailed, ServerDied) as failure:
        print(f"\nRelease check FAILED after {step.total():.0f} s: {failure}", file=sys.stderr)
        return 1
    print(f"Release check passed in {step.total():.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
