"""``python -m benchmarks.run``: ours against MLflow's own server, side by side.

For each database (SQLite, plus PostgreSQL when ``MODEL_REGISTRY_TEST_POSTGRES_URL`` is set) and
each server (MLflow under uvicorn, MLflow under gunicorn, the example app under gunicorn; same
worker count), on a fresh database: start once (MLflow creates its schema), stop, start again
timed to the first 200 (cold start), run the workload, read the memory of the process tree,
stop. Then measure the database's own insert limit for the ingest rows. Print the table and
write the JSON. Servers are stopped on every exit path.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import platform
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import typing as t
from dataclasses import replace
from importlib import metadata
from pathlib import Path

from .rawdb import raw_ingest
from .report import FIGURES, PHASE_OF, Section, median_figures, render
from .servers import GUNICORN_OPTS, ROOT, DatabaseFactory, Server, ServerSpec, stop_all
from .workload import FULL, QUICK, Client, Sizes, Workload

RESULTS = Path(__file__).resolve().parent / "results"
DB_TITLES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
SPECS = {
    "mlflow-uvicorn": ServerSpec("mlflow", "uvicorn"),
    "mlflow-gunicorn": ServerSpec("mlflow", "gunicorn"),
    "ours": ServerSpec("ours", "gunicorn"),
}

_STARTED = time.monotonic()
#: Run last, and only within the time budget: MLflow's default mode is its slowest.
OPTIONAL = "mlflow-uvicorn"
#: How much longer than its gunicorn mode MLflow's uvicorn mode takes (measured: 1.3-1.5x).
UVICORN_FACTOR = 1.6
RAW_RESERVE_S = 30.0


def progress(message: str) -> None:
    print(f"[{time.monotonic() - _STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--rounds", type=int, default=1,
                        help="interleaved rounds; the table shows medians over rounds")
    parser.add_argument("--workers", type=int, default=4,
                        help="worker processes of every server (MLflow's default: 4)")
    parser.add_argument("--threads", type=int, default=None,
                        help="client threads (default: the worker count)")
    parser.add_argument("--databases", default=None,
                        help="comma-separated: sqlite,postgresql (default: sqlite, plus "
                             "postgresql when MODEL_REGISTRY_TEST_POSTGRES_URL is set)")
    parser.add_argument("--servers", default=",".join(SPECS),
                        help=f"comma-separated subset of {','.join(SPECS)}")
    parser.add_argument("--postgresql-servers", default=",".join(SPECS),
                        help="servers run on PostgreSQL (default: all)")
    parser.add_argument("--budget-s", type=float, default=540.0,
                        help="MLflow's uvicorn mode runs last and only if it is expected to "
                             "finish within this many seconds of the start (0: always)")
    parser.add_argument("--gunicorn-opts", default=" ".join(GUNICORN_OPTS),
                        help="options of every gunicorn (MLflow's gunicorn mode and ours), "
                             "e.g. add --preload (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=None, help="JSON file to write")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    for name, default in FULL.as_dict().items():
        if name != "threads":
            parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=None,
                                help=f"workload size (full: {default})")
    return parser.parse_args(argv)


def sizes_from(args: argparse.Namespace) -> Sizes:
    sizes = QUICK if args.quick else FULL
    overrides = {name: getattr(args, name) for name in FULL.as_dict() if name != "threads"}
    sizes = replace(sizes, **{k: v for k, v in overrides.items() if v is not None})
    return replace(sizes, threads=args.threads or args.workers)


def environment(postgres_url: str | None) -> dict[str, t.Any]:
    """What the figures were measured on."""
    env: dict[str, t.Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
    }
    for package in ("mlflow", "gunicorn", "uvicorn", "flask", "sqlalchemy", "psycopg"):
        try:
            env[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            env[package] = None
    if postgres_url:
        try:
            import psycopg

            from .servers import libpq_url

            with psycopg.connect(libpq_url(postgres_url)) as conn:
                row = conn.execute(b"SHOW server_version").fetchone()
                env["postgresql"] = row[0] if row else None
        except Exception as exc:
            env["postgresql"] = f"unavailable: {exc}"
    git = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    env["git_commit"] = git.stdout.strip() if git.returncode == 0 else None
    return env


def run_server(
    spec: ServerSpec, url: str, workdir: Path, args: argparse.Namespace, sizes: Sizes
) -> dict[str, t.Any]:
    """Start, measure and stop one server on the fresh database ``url``."""
    started = time.monotonic()
    workdir.mkdir(parents=True)
    opts = tuple(shlex.split(args.gunicorn_opts))
    server = Server(spec, url, workdir, args.workers, gunicorn_opts=opts)
    result: dict[str, t.Any] = {"figures": {}, "phases": {}, "log": str(server.log_path)}
    try:
        server.prepare()
        result["figures"]["first_start_s"] = server.start()
        server.stop()
        result["figures"]["cold_start_s"] = server.start()
        client = Client(server.tracking_uri, server.headers)
        workload = Workload(client, sizes, analyze_database(url))
        try:
            workload.run(lambda phase: progress(f"  {spec.name}: {phase}"))
        finally:
            client.close()
        result["figures"].update(workload.figures)
        result["phases"] = workload.phases
        result["figures"].update(server.memory())
    except Exception as exc:
        result["failed"] = f"{type(exc).__name__}: {exc}"
        progress(f"  {spec.name} FAILED: {exc}")
    finally:
        server.stop()
    result["timings"] = server.timings
    result["elapsed_s"] = time.monotonic() - started
    return result


def fits_budget(budget_s: float, done: dict[str, list[dict[str, t.Any]]]) -> bool:
    """Whether a uvicorn-mode run, estimated from the gunicorn-mode run on the same database,
    ends within ``budget_s`` of the start (with time left for the raw measurement)."""
    if budget_s <= 0:
        return True
    gunicorn = done.get("mlflow-gunicorn", [])
    estimate = UVICORN_FACTOR * gunicorn[-1]["elapsed_s"] if gunicorn else 300.0
    return time.monotonic() - _STARTED + estimate + RAW_RESERVE_S <= budget_s


def analyze_database(url: str) -> t.Callable[[], None] | None:
    """``ANALYZE`` for a PostgreSQL database; nothing for SQLite (its planner keeps no
    statistics unless asked to)."""
    if not url.startswith("postgresql"):
        return None

    def analyze() -> None:
        import psycopg

        from .servers import libpq_url

        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute(b"ANALYZE")

    return analyze


def flagged_figures(phases: dict[str, dict[str, t.Any]]) -> set[str]:
    """Figures whose phase had failed requests, wrong answers or did not finish."""
    bad_phases = set()
    for name, details in phases.items():
        errors = sum(v.get("errors", 0) for v in details.values() if isinstance(v, dict))
        if errors or details.get("wrong_answers") or details.get("failed"):
            bad_phases.add(name)
    return {
        figure.key for figure in FIGURES
        for prefix, phase in PHASE_OF.items()
        if figure.key.startswith(prefix) and phase in bad_phases
    }


def problems(results: dict[str, dict[str, list[dict[str, t.Any]]]]) -> list[str]:
    """One line per failed server, failed phase, request errors or wrong answers."""
    lines = []
    for db, servers in results.items():
        for name, rounds in servers.items():
            for i, result in enumerate(rounds):
                where = f"{db}/{name}/round {i + 1}"
                if "failed" in result:
                    lines.append(f"{where}: {result['failed']} (log: {result['log']})")
                for phase, details in result["phases"].items():
                    if details.get("failed"):
                        lines.append(f"{where}/{phase}: {details['failed']}")
                    for kind, stats in details.items():
                        if isinstance(stats, dict) and stats.get("errors"):
                            lines.append(f"{where}/{phase}/{kind}: {stats['errors']} errors, "
                                         f"first: {stats.get('first_error')}")
                    if details.get("wrong_answers"):
                        lines.append(f"{where}/{phase}: {details['wrong_answers']} wrong "
                                     f"answers, e.g. {details['wrong_examples']}")
    return lines


def summarise(
    results: dict[str, dict[str, list[dict[str, t.Any]]]], raw: dict[str, dict[str, t.Any]]
) -> tuple[str, dict[str, dict[str, dict[str, float]]]]:
    """The printed table and the per-database, per-server median figures."""
    sections, medians = [], {}
    for db, servers in results.items():
        figures = {
            name: median_figures([r["figures"] for r in rounds]) for name, rounds in servers.items()
        }
        medians[db] = figures
        flagged = {
            name: set().union(*(flagged_figures(r["phases"]) for r in rounds))
            for name, rounds in servers.items()
        }
        sections.append(Section(DB_TITLES[db], figures, flagged, raw.get(db, {})))
    present = {name for servers in results.values() for name in servers}
    columns = [(name, SPECS[name].label) for name in SPECS if name in present]
    note = ("Medians. ours/MLflow is against the faster MLflow mode; ! marks figures measured "
            "with failed requests or wrong answers.")
    return note + "\n" + render(columns, sections), medians


def _on_signal(signum: int, _frame: t.Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sizes_from(args)
    postgres_url = os.environ.get("MODEL_REGISTRY_TEST_POSTGRES_URL") or None
    databases = (args.databases or ("sqlite,postgresql" if postgres_url else "sqlite")).split(",")
    if "postgresql" in databases and not postgres_url:
        print("postgresql needs MODEL_REGISTRY_TEST_POSTGRES_URL", file=sys.stderr)
        return 2
    chosen = [s for s in args.servers.split(",") if s]
    unknown = set(chosen) - set(SPECS)
    if unknown:
        print(f"unknown servers: {sorted(unknown)}", file=sys.stderr)
        return 2
    per_db = {
        db: [s for s in chosen if db != "postgresql" or s in args.postgresql_servers.split(",")]
        for db in databases
    }
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)

    workdir = Path(tempfile.mkdtemp(prefix="fmr-bench-"))
    factory = DatabaseFactory(workdir, postgres_url)
    results: dict[str, dict[str, list[dict[str, t.Any]]]] = {db: {} for db in databases}
    raw: dict[str, dict[str, t.Any]] = {}
    skipped: list[str] = []
    progress(f"sizes {sizes.as_dict()}; databases {databases}; workdir {workdir}")
    # MLflow's gunicorn mode and ours first; the slower uvicorn mode last, if time allows.
    order = [(db, name) for db in databases for name in per_db[db] if name != OPTIONAL]
    order += [(db, name) for db in databases for name in per_db[db] if name == OPTIONAL]
    try:
        for round_no in range(args.rounds):
            for db, name in order:
                label = f"{db}-{name}-r{round_no + 1}"
                if name == OPTIONAL and not fits_budget(args.budget_s, results[db]):
                    progress(f"skipping {label}: it would not finish within {args.budget_s:.0f}s")
                    skipped.append(label)
                    continue
                progress(f"round {round_no + 1}/{args.rounds} {db} {name}")
                url = factory.new(db, label.replace("-", "_"))
                result = run_server(SPECS[name], url, workdir / label, args, sizes)
                results[db].setdefault(name, []).append(result)
        for db in databases:
            progress(f"raw executemany limit on {db}")
            try:
                raw[db] = raw_ingest(functools.partial(factory.new, db), sizes)
            except Exception as exc:
                raw[db] = {"failed": f"{type(exc).__name__}: {exc}"}
    except BaseException:
        progress(f"interrupted; stopping the servers (logs stay in {workdir})")
        raise
    finally:
        stop_all()
        factory.close()

    table, medians = summarise(results, raw)
    issues = problems(results)
    report = {
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "elapsed_s": time.monotonic() - _STARTED,
        "sizes": sizes.as_dict(),
        "workers": args.workers,
        "gunicorn_opts": args.gunicorn_opts,
        "rounds": args.rounds,
        "environment": environment(postgres_url),
        "medians": medians,
        "raw_limit": raw,
        "targets": {f.key: f.target for f in FIGURES if f.target is not None},
        "runs": results,
        "problems": issues,
        "skipped": skipped,
    }
    output = args.output or RESULTS / f"{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2))
    print(table)
    if skipped:
        print(f"\nSkipped to stay within {args.budget_s:.0f} s: {', '.join(skipped)}.")
    if issues:
        print("\nProblems:\n" + "\n".join(f"- {line}" for line in issues))
    print(f"\nFigures written to {output} ({report['elapsed_s']:.0f} s in all).")
    if args.keep or issues:
        print(f"Server logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
