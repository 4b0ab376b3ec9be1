"""``python -m benchmarks.web_pages``: how long the experiment page's HTML takes with 1,000
candidates of 20 metrics and 8 parameters each.

For each database (SQLite, plus PostgreSQL when ``MODEL_REGISTRY_TEST_POSTGRES_URL`` is set),
on a fresh database: bulk-load the experiment, sign in as a reporter, request each page once to
warm up, then print the median of several requests through the Flask test client for the
default page, a filtered and sorted page, and the last page, with the page's statement count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import make_project
from tests.rel_support import app_on
from tests.support.seeding import seed_experiment
from tests.test_web_factories import count_statements, login, web

QUERY = "?filter=metrics.m00+%3E+0.2&order_by=metrics.m01+DESC"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.web_pages", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument("--params", type=int, default=8)
    parser.add_argument("--runs", type=int, default=7, help="requests per page (the median)")
    parser.add_argument("--databases", default=None,
                        help="comma-separated: sqlite,postgresql (default: sqlite, plus "
                             "postgresql when MODEL_REGISTRY_TEST_POSTGRES_URL is set)")
    return parser.parse_args(argv)


def median_ms(client: FlaskClient, url: str, runs: int) -> float:
    """The median time of ``runs`` requests of ``url``, in milliseconds."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times)


def measure(app: Flask, args: argparse.Namespace) -> str:
    """One line of figures for the experiment page on ``app``'s database."""
    project = make_project(app)
    number = seed_experiment(app, project.id, "big", args.candidates, metrics=args.metrics,
                             params=args.params)
    client = app.test_client()
    login(client, "alpha-reporter")
    urls = {
        "default": web(project.id, f"/experiments/{number}"),
        "filtered_sorted": web(project.id, f"/experiments/{number}{QUERY}"),
        "last_page": web(project.id, f"/experiments/{number}?page={-(-args.candidates // 100)}"),
    }
    for url in urls.values():
        client.get(url)
    with count_statements(app) as statements:
        client.get(urls["filtered_sorted"])
    figures = {name: median_ms(client, url, args.runs) for name, url in urls.items()}
    with app.app_context():
        dialect = app.extensions["sqlalchemy"].engine.dialect.name
    return (
        f"experiment page, {args.candidates} candidates x {args.metrics} metrics, {dialect}: "
        + ", ".join(f"{name} {ms:.0f} ms" for name, ms in figures.items())
        + f" (median of {args.runs}, {statements.count} statements)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    postgres = os.environ.get("MODEL_REGISTRY_TEST_POSTGRES_URL")
    databases = args.databases or ("sqlite,postgresql" if postgres else "sqlite")
    for database in databases.split(","):
        backend = "postgres" if database == "postgresql" else database
        with tempfile.TemporaryDirectory() as directory, app_on(backend, Path(directory)) as app:
            print(measure(app, args), flush=True)


if __name__ == "__main__":
    main()
