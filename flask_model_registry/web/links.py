"""Where the links of the MLflow client and of MLflow's UI lead on this server.

After every run the mlflow client prints ``<tracking URI>/#/experiments/<id>/runs/<run_id>``;
MLflow's UI links models as ``#/models/<name>/versions/<n>``. The part after ``#`` never reaches
the server, so the tracking URI's root answers a browser with :func:`tracking_root_page`, whose
script (``static/model_registry/links.js``) reads the fragment and goes on to the matching page.
Models are addressed by name there, so :func:`model_by_name` finds them for the script.
"""

from __future__ import annotations

import typing as t

from flask import Response, redirect, render_template, request, url_for

from flask_model_registry.services import registry as registry_service
from flask_model_registry.services.context import ProjectContext

from .views import BLUEPRINT

__all__ = ["RUN_ID_MARK", "model_by_name", "tracking_root_page"]

#: Stands for the run id in the candidate page's URL handed to the script.
RUN_ID_MARK = "RUN_ID"


def _page_url(project_id: int, endpoint: str, **values: t.Any) -> str:
    return url_for(f"{BLUEPRINT}.{endpoint}", project_id=project_id, **values)


def tracking_root_page(project_id: int) -> Response:
    """A page that sends the browser on to the page its URL's fragment names.

    It reads nothing of the project, so it needs no permission: the target pages check theirs.
    """
    body = render_template(
        "model_registry/tracking_root.html",
        experiments=_page_url(project_id, "experiments"),
        candidate=_page_url(project_id, "candidate", run_id=RUN_ID_MARK),
        model=_page_url(project_id, "model_by_name"),
        script=_page_url(project_id, "static", filename="links.js"),
    )
    response = Response(body, mimetype="text/html")
    response.cache_control.no_store = True
    return response


def model_by_name(ctx: ProjectContext) -> Response:
    """``?name=<name>[&version=<n>]``: redirect to the model's page, or to the page of its
    version with MLflow version number ``n``; 404 when there is none."""
    name = request.args.get("name", "")
    number = request.args.get("version")
    if number is None:
        model = registry_service.get_model(ctx, name)
        location = _page_url(ctx.project_id, "model", model_id=model.id)
    else:
        version = registry_service.get_version(ctx, name, number)
        location = _page_url(
            ctx.project_id, "model_version", model_id=version.model_id, semver=version.semver
        )
    return t.cast(Response, redirect(location, code=303))
