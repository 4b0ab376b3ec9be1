"""Every registry route, asked by every kind of caller, answers what its declared permission
says: anonymous and bad-token callers 401 (pages: a redirect to the login), non-members and
guests of the private project 404, readers 403 on writes, allowed callers success.

The routes come from ``app.url_map``: a route without a declared permission, or without a
sample request in ``tests/rel_samples.py``, fails the test.
"""

from __future__ import annotations

import pathlib
import typing as t
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from flask_model_registry.hooks import Permission
from flask_model_registry.web.routes import ROUTES as PAGE_ROUTES
from tests.conftest import Project, _backends, make_project
from tests.rel_samples import (
    SAMPLES,
    Factory,
    build_url,
    prepare_csrf,
    registry_rules,
    rule_method,
    send,
    short_name,
)
from tests.rel_support import app_on

IDENTITIES = ("anonymous", "bad-token", "non-member", "guest", "reporter", "developer",
              "maintainer")
BAD_TOKEN = "fmr_" + "x" * 43
WEB = "model_registry_web"
ERROR_CODES = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "RESOURCE_DOES_NOT_EXIST"}


@dataclass
class World:
    app: Flask
    project: Project
    factory: Factory
    clients: dict[str, FlaskClient]

    def headers(self, identity: str) -> dict[str, str]:
        if identity == "anonymous":
            return {}
        if identity == "bad-token":
            return {"Authorization": f"Bearer {BAD_TOKEN}"}
        return self.project.headers("outsider" if identity == "non-member" else identity)


@pytest.fixture(scope="module", params=_backends())
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> t.Iterator[World]:
    directory = pathlib.Path(tmp_path_factory.mktemp("matrix"))
    with app_on(request.param, directory) as app:
        project = make_project(app)
        factory = Factory(app.test_client(), project.id, project.headers("developer"), "m")
        clients = {identity: app.test_client() for identity in IDENTITIES}
        for client in clients.values():
            prepare_csrf(client)
        yield World(app, project, factory, clients)


def effective_permission(app: Flask, rule: Rule, method: str) -> Permission | None:
    """The permission the route enforces for ``method``."""
    declared = app.extensions["model_registry"].endpoint_permissions[rule.endpoint]
    blueprint, _, name = rule.endpoint.partition(".")
    if blueprint == WEB:
        page = next((p for p in PAGE_ROUTES if p.endpoint == name), None)
        if page is not None:
            return page.permission_for(method)
    return t.cast("Permission | None", declared)


def expected_status(permission: Permission | None, identity: str, ok: int, web: bool) -> int:
    if permission is None:
        return ok
    if identity in ("anonymous", "bad-token"):
        return 302 if web else 401
    if identity in ("non-member", "guest"):
        return 404
    if identity == "reporter" and permission.is_write:
        return 403
    return ok


def test_every_route_has_a_permission_and_a_sample(world: World) -> None:
    permissions = world.app.extensions["model_registry"].endpoint_permissions
    rules = registry_rules(world.app)
    assert rules, "no registry routes found"
    without_permission = sorted({r.endpoint for r in rules if r.endpoint not in permissions})
    assert without_permission == [], "routes without a declared permission"
    without_sample = sorted({short_name(r.endpoint) for r in rules} - set(SAMPLES))
    assert without_sample == [], "routes without a sample request in tests/rel_samples.py"
    stale = sorted(set(SAMPLES) - {short_name(r.endpoint) for r in rules})
    assert stale == [], "samples for routes that no longer exist"


def _check_answer(response: t.Any, expected: int, web: bool, refused: bool) -> str | None:
    """Why ``response`` is not the expected answer (``refused``: by authorization), or None."""
    if response.status_code != expected:
        return f"{response.status_code} instead of {expected}: {response.get_data()[:200]!r}"
    if web and expected == 302:
        if "/login" not in response.headers.get("Location", ""):
            return f"redirects to {response.headers.get('Location')!r}, not the login"
        return None
    if refused and not web:
        body = response.get_json(silent=True) or {}
        if body.get("error_code") != ERROR_CODES[expected] or not body.get("message"):
            return f"error body {body!r} lacks error_code {ERROR_CODES[expected]}"
    return None


def test_authorization_matrix(world: World) -> None:
    problems: list[str] = []
    checked = 0
    for rule in registry_rules(world.app):
        method = rule_method(rule)
        web = rule.endpoint.startswith(WEB + ".") and not rule.endpoint.endswith(".static")
        permission = effective_permission(world.app, rule, method)
        for identity in IDENTITIES:
            sample = SAMPLES[short_name(rule.endpoint)](world.factory)
            assert sample.method == method, (rule.endpoint, sample.method, method)
            expected = expected_status(permission, identity, sample.ok, web)
            url = build_url(world.app, rule, world.project.id, sample)
            response = send(world.clients[identity], url, sample, world.headers(identity))
            problem = _check_answer(response, expected, web, refused=expected != sample.ok)
            if problem:
                problems.append(f"{method} {rule.rule} as {identity}: {problem}")
            checked += 1
    assert problems == [], f"{len(problems)} of {checked} answers differ:\n" + "\n".join(problems)
