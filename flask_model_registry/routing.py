"""Routes: one table per blueprint of what runs where, who may call it and what it reads.

A view receives the project's :class:`~.services.context.ProjectContext`, then the request's
parameters parsed with the route's schema (when the route declares one), then the URL's values:
``view(ctx, data, **url_values)`` or ``view(ctx, **url_values)``.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from flask import Blueprint, request
from marshmallow import Schema

from .dispatch import run_in_project
from .hooks import Permission
from .services.context import ProjectContext
from .state import RegistryState
from .wire import check_url_values, parse

__all__ = ["Route", "View", "register_routes"]

View = t.Callable[..., t.Any]


@dataclass(frozen=True)
class Route:
    """One endpoint: its methods and URL rules, its view, the permission it needs and the
    schema its request is read with (``None``: the view reads no parameters, or the raw body).

    ``write_permission`` guards the POST of a page that also answers GET.
    """

    methods: tuple[str, ...]
    rules: tuple[str, ...]
    view: View
    permission: Permission | None
    schema: Schema | None = None
    endpoint: str = ""
    write_permission: Permission | None = None

    def __post_init__(self) -> None:
        if not self.endpoint:
            object.__setattr__(self, "endpoint", self.view.__name__)

    def permission_for(self, method: str) -> Permission | None:
        """The permission a ``method`` request needs."""
        if method == "POST" and self.write_permission is not None:
            return self.write_permission
        return self.permission

    @property
    def declared_permission(self) -> Permission | None:
        """The permission recorded for the endpoint: a reader's if it answers GET."""
        return self.permission_for("GET" if "GET" in self.methods else self.methods[0])


def register_routes(
    bp: Blueprint,
    routes: t.Iterable[Route],
    state: RegistryState,
    respond: t.Callable[[t.Any], t.Any] | None = None,
) -> None:
    """Add ``routes`` to ``bp`` and record each endpoint's permission.

    A route with several rules gets one endpoint per rule, numbered ``<endpoint>_<i>``.
    ``respond`` turns a view's result into the response (default: the result itself).
    """
    for route in routes:
        view = _endpoint(route, respond)
        for i, rule in enumerate(route.rules):
            name = route.endpoint if len(route.rules) == 1 else f"{route.endpoint}_{i}"
            bp.add_url_rule(rule, name, view, methods=list(route.methods))
            state.endpoint_permissions[f"{bp.name}.{name}"] = route.declared_permission


def _endpoint(route: Route, respond: t.Callable[[t.Any], t.Any] | None) -> View:
    view, schema = route.view, route.schema

    def call(ctx: ProjectContext, url_values: dict[str, t.Any]) -> t.Any:
        check_url_values(url_values)
        if schema is None:
            return view(ctx, **url_values)
        return view(ctx, parse(schema), **url_values)

    def endpoint(project_id: int, **url_values: t.Any) -> t.Any:
        permission = (
            route.permission
            if route.write_permission is None
            else route.permission_for(request.method)
        )
        result = run_in_project(project_id, permission, lambda ctx: call(ctx, url_values))
        return result if respond is None else respond(result)

    endpoint.__name__ = route.endpoint
    return endpoint
