"""The web pages through the Flask test client: who sees what, escaping, filters, forms."""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from flask_model_registry.models import Experiment, ModelVersion, RegisteredModel
from flask_model_registry.services import registry as registry_service
from tests.conftest import Project
from tests.test_web_factories import (
    csrf_of,
    login,
    make_candidate,
    make_experiment,
    project_ctx,
    store_artifact,
    web,
)

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@dataclass
class Seeded:
    """An experiment ``fraud`` with three candidates, and a second experiment."""

    project: Project
    iid: int
    other_iid: int
    runs: dict[str, str]


@pytest.fixture
def seeded(app: Flask, project: Project) -> Seeded:
    iid = make_experiment(app, project.id, "fraud")
    other = make_experiment(app, project.id, f"notes {SCRIPT}")
    runs = {
        "low": make_candidate(
            app, project.id, iid, "low-lr", params={"lr": "0.001", "depth": "3"},
            metrics={"acc": [0.2, 0.3, 0.4], "loss": [0.9, 0.8, 0.7]},
            tags={"team": "risk"}, start=1_700_000_000_000,
        ),
        "mid": make_candidate(
            app, project.id, iid, "mid-lr", params={"lr": "0.01", "depth": "3"},
            metrics={"acc": [0.5, 0.6, 0.7], "loss": [0.6, 0.5, 0.4]},
            start=1_700_000_100_000,
        ),
        "high": make_candidate(
            app, project.id, iid, f"high {SCRIPT}", params={"lr": "0.1", "depth": SCRIPT},
            metrics={"acc": [0.8, 0.9], "loss": [0.3, 0.2]},
            start=1_700_000_200_000, status="FAILED",
        ),
    }
    store_artifact(app, project.id, runs["mid"], "model/MLmodel", b"flavors: {}\n")
    store_artifact(app, project.id, runs["mid"], "notes.txt", b"hello")
    return Seeded(project, iid, other, runs)


def as_role(client: FlaskClient, role: str) -> FlaskClient:
    """Sign the test client in as the project's ``role`` (``anonymous`` stays signed out)."""
    if role != "anonymous":
        login(client, f"alpha-{role}")
    return client


def text(response: t.Any) -> str:
    return t.cast(str, response.get_data(as_text=True))


def rows_of(html: str) -> list[str]:
    """The candidate names of the table, in order."""
    body = html.split('class="mr-table mr-candidates"', 1)[-1]
    return re.findall(r'<th scope="row"><a href="[^"]+/candidates/[0-9a-f]+">([^<]*)</a>', body)


# --- access -----------------------------------------------------------------------------------


PAGES = [
    "/experiments",
    "/experiments/{iid}",
    "/candidates/{mid}",
    "/compare?ids={low},{mid}",
    "/models",
]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(("role", "status"), [("reporter", 200), ("developer", 200),
                                              ("guest", 404), ("outsider", 404)])
def test_page_status_by_role(
    client: FlaskClient, seeded: Seeded, path: str, role: str, status: int
) -> None:
    url = web(seeded.project.id, path.format(iid=seeded.iid, **seeded.runs))
    response = as_role(client, role).get(url)
    assert response.status_code == status
    if status == 404:
        assert "Not found" in text(response)
        assert "fraud" not in text(response)


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_is_sent_to_the_host_login(
    client: FlaskClient, seeded: Seeded, path: str
) -> None:
    url = web(seeded.project.id, path.format(iid=seeded.iid, **seeded.runs))
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_unknown_project_is_404(client: FlaskClient, seeded: Seeded) -> None:
    response = as_role(client, "developer").get(web(99999, "/experiments"))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/experiments/99999999999999999999", 404),
        ("/models/99999999999999999999", 404),
        ("/models/99999999999999999999/versions/1.0.0", 404),
        ("/experiments?page=99999999999999999999", 400),
        ("/experiments?page=" + "9" * 5000, 400),
        ("/experiments?page=-1", 400),
        ("/models?per_page=0", 400),
        ("/experiments/{iid}?page=1000001", 400),
        ("/compare?ids=" + ",".join(["x"] * 500), 400),
    ],
)
def test_out_of_range_numbers_are_4xx(
    client: FlaskClient, seeded: Seeded, path: str, status: int
) -> None:
    as_role(client, "developer")
    response = client.get(web(seeded.project.id, path.format(iid=seeded.iid)))
    assert response.status_code == status


def test_huge_number_in_a_delete_is_404(client: FlaskClient, seeded: Seeded) -> None:
    as_role(client, "developer")
    token = csrf_of(text(client.get(web(seeded.project.id, "/experiments"))))
    response = client.post(
        web(seeded.project.id, "/experiments/99999999999999999999/delete"),
        data={"mr_csrf_token": token},
    )
    assert response.status_code == 404


def test_stylesheet_is_served_by_the_blueprint(client: FlaskClient, project: Project) -> None:
    as_role(client, "reporter")
    response = client.get(web(project.id, "/-/static/style.css"))
    assert response.status_code == 200
    assert b".mr-table" in response.data


# --- experiments list -------------------------------------------------------------------------


def test_experiments_list_shows_counts_activity_and_model(
    app: Flask, client: FlaskClient, seeded: Seeded
) -> None:
    with project_ctx(app, seeded.project.id) as ctx:
        model_id = registry_service.create_model(ctx, "fraud").id
    future = 4_102_444_800_000  # 2100-01-01: later than the experiment's own update time
    make_candidate(app, seeded.project.id, seeded.other_iid, "late", start=future)
    html = text(as_role(client, "reporter").get(web(seeded.project.id, "/experiments")))
    row = html.split(f'/experiments/{seeded.iid}">fraud</a>', 1)[1].split("</tr>", 1)[0]
    assert '<td class="mr-num">3</td>' in row
    assert f'/models/{model_id}">fraud</a>' in row
    other = html.split(f'/experiments/{seeded.other_iid}">', 1)[1].split("</tr>", 1)[0]
    assert '<td class="mr-num">1</td>' in other
    assert ">2100-01-01 00:01 UTC</time>" in other  # the candidate's end, 65 s after its start
    assert '<span class="mr-muted">–</span>' in other  # no model
    assert f"notes {ESCAPED}" in html
    assert SCRIPT not in html


def test_experiments_list_write_controls_only_for_writers(
    client: FlaskClient, seeded: Seeded
) -> None:
    reporter = text(as_role(client, "reporter").get(web(seeded.project.id, "/experiments")))
    assert "fraud" in reporter
    assert "/delete" not in reporter
    assert 'method="post"' not in reporter.split('<div class="mr">', 1)[1]
    client.post("/logout")
    developer = text(as_role(client, "developer").get(web(seeded.project.id, "/experiments")))
    assert f"/experiments/{seeded.iid}/delete" in developer


def test_experiments_list_paginates(client: FlaskClient, seeded: Seeded) -> None:
    as_role(client, "reporter")
    first = text(client.get(web(seeded.project.id, "/experiments?per_page=2")))
    second = text(client.get(web(seeded.project.id, "/experiments?per_page=2&page=2")))
    # "Default" (#0), which every project has, "fraud" (#1) and "notes" (#2), newest first
    assert "1–2 of 3 experiments" in first
    assert 'rel="next"' in first
    assert "3–3 of 3 experiments" in second
    assert 'rel="prev"' in second
    assert "fraud</a>" in first
    assert "notes " in first
    assert "Default</a>" in second
    assert "Default</a>" not in first
    bad = client.get(web(seeded.project.id, "/experiments?page=zero"))
    assert bad.status_code == 400
    assert "&#39;page&#39; must be a positive whole number" in text(bad)


def test_delete_experiment_as_developer(app: Flask, client: FlaskClient, seeded: Seeded) -> None:
    as_role(client, "developer")
    page = text(client.get(web(seeded.project.id, "/experiments")))
    response = client.post(
        web(seeded.project.id, f"/experiments/{seeded.iid}/delete"),
        data={"mr_csrf_token": csrf_of(page)},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(web(seeded.project.id, "/experiments"))
    after = text(client.get(response.headers["Location"]))
    assert "was deleted" in after
    assert f'/experiments/{seeded.iid}"' not in after
    assert client.get(web(seeded.project.id, f"/experiments/{seeded.iid}")).status_code == 404
    with app.app_context():
        stage = app.extensions["sqlalchemy"].session.scalar(
            select(Experiment.lifecycle_stage).where(
                Experiment.project_id == seeded.project.id, Experiment.iid == seeded.iid
            )
        )
    assert stage == "deleted"


def _experiment_stage(app: Flask, seeded: Seeded) -> str:
    with app.app_context():
        return t.cast(str, app.extensions["sqlalchemy"].session.scalar(
            select(Experiment.lifecycle_stage).where(
                Experiment.project_id == seeded.project.id, Experiment.iid == seeded.iid
            )
        ))


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_delete_without_a_valid_csrf_token_is_400(
    app: Flask, client: FlaskClient, seeded: Seeded, token: str | None
) -> None:
    as_role(client, "developer")
    client.get(web(seeded.project.id, "/experiments"))  # the session now holds a token
    data = {} if token is None else {"mr_csrf_token": token}
    response = client.post(web(seeded.project.id, f"/experiments/{seeded.iid}/delete"), data=data)
    assert response.status_code == 400
    assert "CSRF token" in text(response)
    assert _experiment_stage(app, seeded) == "active"


def test_forged_delete_by_a_reporter_is_403(
    app: Flask, client: FlaskClient, seeded: Seeded
) -> None:
    as_role(client, "developer")
    token = csrf_of(text(client.get(web(seeded.project.id, "/experiments"))))
    client.post("/logout")
    as_role(client, "reporter")
    response = client.post(
        web(seeded.project.id, f"/experiments/{seeded.iid}/delete"), data={"mr_csrf_token": token}
    )
    assert response.status_code == 403
    assert "Not allowed" in text(response)
    assert _experiment_stage(app, seeded) == "active"


def test_anonymous_post_goes_to_login_and_changes_nothing(
    app: Flask, client: FlaskClient, seeded: Seeded
) -> None:
    response = client.post(web(seeded.project.id, f"/experiments/{seeded.iid}/delete"))
    assert response.status_code == 302
    assert _experiment_stage(app, seeded) == "active"


# --- experiment page --------------------------------------------------------------------------


def test_experiment_page_lists_candidates_with_columns(client: FlaskClient, seeded: Seeded) -> None:
    html = text(
        as_role(client, "reporter").get(web(seeded.project.id, f"/experiments/{seeded.iid}"))
    )
    assert rows_of(html) == [f"high {ESCAPED}", "mid-lr", "low-lr"]  # newest first
    header = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    for label in ("Name", "Status", "Created", "User", "depth", "lr", "acc", "loss"):
        assert f">{label}<" in header
    assert SCRIPT not in html
    row = html.split(">mid-lr</a></th>", 1)[1].split("</tr>", 1)[0]
    assert "finished" in row
    assert "alpha-developer" in row
    assert '<td class="mr-param" >0.01</td>' in row
    assert '<td class="mr-num">0.7</td>' in row
    assert '<td class="mr-num">0.4</td>' in row
    assert "failed" in html.split(f"high {ESCAPED}</a></th>", 1)[1].split("</tr>", 1)[0]


def test_experiment_page_chosen_columns(client: FlaskClient, seeded: Seeded) -> None:
    as_role(client, "reporter")
    url = web(seeded.project.id, f"/experiments/{seeded.iid}?params=lr&metrics=loss")
    header = text(client.get(url)).split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert ">lr<" in header
    assert ">loss<" in header
    assert ">depth<" not in header
    assert ">acc<" not in header
    repeated = web(seeded.project.id, f"/experiments/{seeded.iid}?params=lr&params=depth&metrics=")
    header = text(client.get(repeated)).split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert ">lr<" in header
    assert ">depth<" in header
    assert ">acc<" not in header


def test_experiment_page_defaults_to_ten_columns_of_each(
    app: Flask, client: FlaskClient, project: Project
) -> None:
    iid = make_experiment(app, project.id, "wide")
    keys = [f"k{i:02d}" for i in range(12)]
    make_candidate(app, project.id, iid, "wide-run", params={k: "1" for k in keys},
                   metrics={k: [1.0] for k in keys})
    html = text(as_role(client, "reporter").get(web(project.id, f"/experiments/{iid}")))
    header = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert header.count('class="mr-col-param"') == 10
    assert header.count('class="mr-col-metric mr-num"') == 10
    assert ">k09<" in header
    assert ">k10<" not in header
    assert 'value="k11"' in html  # still offered in the column chooser


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.acc > 0.5", [f"high {ESCAPED}", "mid-lr"]),
        ("metrics.acc > 0.9 and params.lr = '0.01'", []),
        ("params.lr = '0.001'", ["low-lr"]),
        ("tags.team = 'risk'", ["low-lr"]),
        ("attributes.status = 'FAILED'", [f"high {ESCAPED}"]),
    ],
)
def test_experiment_filter_uses_the_search_runs_language(
    client: FlaskClient, seeded: Seeded, filter_string: str, expected: list[str]
) -> None:
    as_role(client, "reporter")
    response = client.get(
        web(seeded.project.id, f"/experiments/{seeded.iid}"), query_string={"filter": filter_string}
    )
    assert response.status_code == 200
    assert rows_of(text(response)) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"filter": "metrics.acc >"}, "Invalid filter"),
        ({"filter": f"bogus {SCRIPT}"}, "Invalid filter"),
        ({"filter": "metrics.acc > 'high'"}, "metric"),
        ({"order_by": "metrics.acc SIDEWAYS"}, "order_by"),
    ],
)
def test_bad_filter_or_order_shows_the_message_with_400(
    client: FlaskClient, seeded: Seeded, args: dict[str, str], message: str
) -> None:
    as_role(client, "reporter")
    response = client.get(web(seeded.project.id, f"/experiments/{seeded.iid}"), query_string=args)
    assert response.status_code == 400
    html = text(response)
    error = html.split('id="mr-filter-error"', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert SCRIPT not in html
    assert rows_of(html) == []
    assert 'aria-invalid="true"' in html


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("metrics.acc DESC", [f"high {ESCAPED}", "mid-lr", "low-lr"]),
        ("metrics.`acc` ASC", ["low-lr", "mid-lr", f"high {ESCAPED}"]),
        ("attributes.run_name ASC", [f"high {ESCAPED}", "low-lr", "mid-lr"]),
        ("params.lr DESC", [f"high {ESCAPED}", "mid-lr", "low-lr"]),
        ("attributes.start_time ASC", ["low-lr", "mid-lr", f"high {ESCAPED}"]),
    ],
)
def test_experiment_sorts_by_column(
    client: FlaskClient, seeded: Seeded, order_by: str, expected: list[str]
) -> None:
    as_role(client, "reporter")
    response = client.get(
        web(seeded.project.id, f"/experiments/{seeded.iid}"), query_string={"order_by": order_by}
    )
    assert rows_of(text(response)) == expected


def test_sort_headers_toggle_and_mark_the_sorted_column(
    client: FlaskClient, seeded: Seeded
) -> None:
    as_role(client, "reporter")
    html = text(client.get(
        web(seeded.project.id, f"/experiments/{seeded.iid}"),
        query_string={"order_by": "metrics.acc DESC"},
    ))
    header = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    acc = re.search(r'<th scope="col" aria-sort="descending"[^>]*>\s*<a href="([^"]+)"', header)
    assert acc is not None
    assert "order_by=metrics.acc+ASC" in acc.group(1).replace("&amp;", "&")
    assert header.count("aria-sort=") == 1


def test_experiment_page_paginates(client: FlaskClient, seeded: Seeded) -> None:
    as_role(client, "reporter")
    url = web(seeded.project.id, f"/experiments/{seeded.iid}")
    first = text(client.get(url, query_string={"per_page": 2}))
    second = text(client.get(url, query_string={"per_page": 2, "page": 2}))
    assert rows_of(first) == [f"high {ESCAPED}", "mid-lr"]
    assert rows_of(second) == ["low-lr"]
    assert "3–3 of 3 candidates" in second
    assert client.get(url, query_string={"per_page": 100000}).status_code == 400


def test_experiment_chart_of_a_chosen_metric(client: FlaskClient, seeded: Seeded) -> None:
    as_role(client, "reporter")
    url = web(seeded.project.id, f"/experiments/{seeded.iid}")
    html = text(client.get(url, query_string={"chart": "loss"}))
    chart = html.split('<svg class="chart bar-chart"', 1)[1].split("</svg>", 1)[0]
    bars = re.findall(r"<title>([^<]*)</title></rect>", chart)
    assert bars == [f"high {ESCAPED}: 0.2", "mid-lr: 0.4", "low-lr: 0.7"]
    assert chart.count(f"/candidates/{seeded.runs['mid']}") == 1
    assert '<option value="loss" selected>' in html


def test_experiment_of_another_project_is_404(
    client: FlaskClient, seeded: Seeded, app: Flask
) -> None:
    numbers = [make_experiment(app, seeded.project.other_id, f"secret-{i}") for i in range(4)]
    assert numbers[-1] > seeded.other_iid  # numbered there, but not in this project
    as_role(client, "developer")
    assert client.get(web(seeded.project.id, f"/experiments/{numbers[-1]}")).status_code == 404
    foreign = client.get(web(seeded.project.other_id, f"/experiments/{numbers[0]}"))
    assert foreign.status_code == 404
    assert "secret" not in text(foreign)


def test_compare_selection_form(client: FlaskClient, seeded: Seeded) -> None:
    html = text(
        as_role(client, "reporter").get(web(seeded.project.id, f"/experiments/{seeded.iid}"))
    )
    form = html.split("data-compare-form", 1)[1].split("</form>", 1)[0]
    assert f'action="{web(seeded.project.id, "/compare")}"' in html
    for run_id in seeded.runs.values():
        assert f'name="ids" value="{run_id}"' in form


# --- candidate page ---------------------------------------------------------------------------


def test_candidate_page_shows_params_metrics_tags(client: FlaskClient, seeded: Seeded) -> None:
    html = text(as_role(client, "reporter").get(
        web(seeded.project.id, f"/candidates/{seeded.runs['low']}")
    ))
    assert "<h1>low-lr" in html
    assert '<th scope="row">lr</th><td class="mr-value">0.001</td>' in html
    assert '<th scope="row">acc</th><td class="mr-num">0.4</td><td class="mr-num">2</td>' in html
    assert '<th scope="row">team</th><td class="mr-value">risk</td>' in html
    assert "mlflow.runName" in html  # system tags are listed apart
    assert f'/experiments/{seeded.iid}">fraud</a>' in html


def test_candidate_metric_history_charts_have_real_points(
    client: FlaskClient, seeded: Seeded
) -> None:
    html = text(as_role(client, "reporter").get(
        web(seeded.project.id, f"/candidates/{seeded.runs['low']}")
    ))
    figures = re.findall(r'<figure class="mr-card mr-figure" data-metric="([^"]+)">', html)
    assert figures == ["acc", "loss"]
    acc = html.split('data-metric="acc"', 1)[1].split("</svg>", 1)[0]
    path = re.search(r'<path d="([^"]+)"[^>]*data-points="(\d+)"', acc)
    assert path is not None
    assert path.group(2) == "3"
    coords = re.findall(r"[ML](-?[\d.]+) (-?[\d.]+)", path.group(1))
    assert len(coords) == 3
    xs = [float(x) for x, _ in coords]
    ys = [float(y) for _, y in coords]
    assert xs == sorted(xs)
    assert len(set(xs)) == 3
    assert ys[0] > ys[1] > ys[2]  # rising accuracy is drawn upwards (SVG y grows down)
    assert "acc: 0.3 at step 1" in acc


def test_candidate_artifacts_browser_and_download(client: FlaskClient, seeded: Seeded) -> None:
    as_role(client, "reporter")
    base = web(seeded.project.id, f"/candidates/{seeded.runs['mid']}")
    html = text(client.get(base))
    artifacts = html.split('id="mr-artifacts-heading"', 1)[1].split("</section>", 1)[0]
    assert 'class="mr-folder" href="' in artifacts
    assert ">model/</a>" in artifacts
    assert f'href="{base}/artifacts/notes.txt" download>notes.txt</a>' in artifacts
    folder = text(client.get(base, query_string={"path": "model"}))
    listing = folder.split('id="mr-artifacts-heading"', 1)[1].split("</section>", 1)[0]
    assert f'href="{base}/artifacts/model/MLmodel" download>MLmodel</a>' in listing
    assert '<span aria-current="page">model</span>' in listing
    download = client.get(f"{base}/artifacts/model/MLmodel")
    assert download.status_code == 200
    assert download.data == b"flavors: {}\n"
    assert download.headers["Content-Disposition"] == "attachment; filename=MLmodel"
    assert download.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "status"),
    [("missing.txt", 404), ("model", 404), ("..%2F..%2Fsecret", 400), ("%2e%2e/x", 400)],
)
def test_artifact_download_errors(
    client: FlaskClient, seeded: Seeded, path: str, status: int
) -> None:
    as_role(client, "reporter")
    url = web(seeded.project.id, f"/candidates/{seeded.runs['mid']}/artifacts/{path}")
    assert client.get(url).status_code == status


def test_artifact_browser_rejects_traversal(client: FlaskClient, seeded: Seeded) -> None:
    as_role(client, "reporter")
    url = web(seeded.project.id, f"/candidates/{seeded.runs['mid']}")
    assert client.get(url, query_string={"path": "../.."}).status_code == 400


def test_unknown_candidate_is_404(client: FlaskClient, seeded: Seeded) -> None:
    as_role(client, "reporter")
    assert client.get(web(seeded.project.id, "/candidates/" + "0" * 32)).status_code == 404


def test_promote_form_only_for_registry_writers(client: FlaskClient, seeded: Seeded) -> None:
    url = web(seeded.project.id, f"/candidates/{seeded.runs['mid']}")
    reporter = text(as_role(client, "reporter").get(url))
    assert "Promote to model version" not in reporter
    assert "<form" not in reporter.split('<div class="mr">', 1)[1].replace(
        '<form method="get"', ""
    )
    client.post("/logout")
    developer = text(as_role(client, "developer").get(url))
    form = developer.split('id="mr-promote-heading"', 1)[1].split("</form>", 1)[0]
    assert '<label for="mr-model-name">Model</label>' in form
    assert '<label for="mr-semver">Version</label>' in form
    assert 'name="mr_csrf_token"' in form


def _versions(app: Flask, project_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        rows = app.extensions["sqlalchemy"].session.execute(
            select(RegisteredModel.name, ModelVersion.semver)
            .join(ModelVersion, ModelVersion.model_id == RegisteredModel.id)
            .where(RegisteredModel.project_id == project_id)
            .order_by(ModelVersion.id)
        )
        return [tuple(row) for row in rows]


def _model_count(app: Flask, project_id: int) -> int:
    with app.app_context():
        return int(
            app.extensions["sqlalchemy"].session.scalar(
                select(func.count())
                .select_from(RegisteredModel)
                .where(RegisteredModel.project_id == project_id)
            )
            or 0
        )


def test_promote_creates_the_version_and_shows_it(
    app: Flask, client: FlaskClient, seeded: Seeded
) -> None:
    as_role(client, "developer")
    url = web(seeded.project.id, f"/candidates/{seeded.runs['mid']}")
    token = csrf_of(text(client.get(url)))
    response = client.post(
        f"{url}/promote",
        data={
            "mr_csrf_token": token,
            "model_name": "fraud",
            "semver": "1.2.0",
            "description": "First *good* one",
        },
    )
    assert response.status_code == 303, text(response)
    assert re.search(r"/models/\d+/versions/1\.2\.0$", response.headers["Location"])
    assert _versions(app, seeded.project.id) == [("fraud", "1.2.0")]
    page = text(client.get(response.headers["Location"]))
    assert "Promoted to fraud 1.2.0" in page
    assert "<em>good</em>" in page
    candidate = text(client.get(url))
    assert "fraud 1.2.0</a>" in candidate.split("Model versions", 1)[1].split("</dd>", 1)[0]


@pytest.mark.parametrize(
    ("semver", "message"),
    [
        ("v1.0.0", "a &#39;v&#39; prefix is not allowed"),
        ("1.0", "Invalid semantic version"),
        ("01.0.0", "Invalid semantic version"),
        (SCRIPT, "Invalid semantic version"),
    ],
)
def test_promote_with_a_bad_semver_shows_the_message(
    app: Flask, client: FlaskClient, seeded: Seeded, semver: str, message: str
) -> None:
    as_role(client, "developer")
    url = web(seeded.project.id, f"/candidates/{seeded.runs['mid']}")
    token = csrf_of(text(client.get(url)))
    response = client.post(
        f"{url}/promote", data={"mr_csrf_token": token, "model_name": "brand-new", "semver": semver}
    )
    assert response.status_code == 400
    html = text(response)
    error = html.split('id="mr-promote-error"', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert SCRIPT not in html
    assert f'value="{semver}"'.replace("<", "&lt;").replace(">", "&gt;") in html
    assert _versions(app, seeded.project.id) == []
    assert _model_count(app, seeded.project.id) == 0  # no partial write


def test_promote_duplicate_version_is_refused_without_partial_write(
    app: Flask, client: FlaskClient, seeded: Seeded
) -> None:
    as_role(client, "developer")
    url = web(seeded.project.id, f"/candidates/{seeded.runs['mid']}")
    token = csrf_of(text(client.get(url)))
    data = {"mr_csrf_token": token, "model_name": "fraud", "semver": "1.0.0"}
    assert client.post(f"{url}/promote", data=data).status_code == 303
    other = web(seeded.project.id, f"/candidates/{seeded.runs['low']}")
    response = client.post(f"{other}/promote", data=data)
    assert response.status_code == 400
    assert "mr-promote-error" in text(response)
    assert _versions(app, seeded.project.id) == [("fraud", "1.0.0")]


def test_promote_needs_a_model_name(client: FlaskClient, seeded: Seeded) -> None:
    as_role(client, "developer")
    url = web(seeded.project.id, f"/candidates/{seeded.runs['mid']}")
    token = csrf_of(text(client.get(url)))
    response = client.post(f"{url}/promote", data={"mr_csrf_token": token, "model_name": " "})
    assert response.status_code == 400
    assert "Enter the name of the model" in text(response)


def test_forged_promote_by_a_reporter_is_403(
    app: Flask, client: FlaskClient, seeded: Seeded
) -> None:
    as_role(client, "developer")
    url = web(seeded.project.id, f"/candidates/{seeded.runs['mid']}")
    token = csrf_of(text(client.get(url)))
    client.post("/logout")
    as_role(client, "reporter")
    response = client.post(
        f"{url}/promote", data={"mr_csrf_token": token, "model_name": "fraud", "semver": "1.0.0"}
    )
    assert response.status_code == 403
    assert _versions(app, seeded.project.id) == []


def test_promote_without_csrf_is_400(app: Flask, client: FlaskClient, seeded: Seeded) -> None:
    as_role(client, "developer")
    url = web(seeded.project.id, f"/candidates/{seeded.runs['mid']}")
    client.get(url)
    response = client.post(f"{url}/promote", data={"model_name": "fraud", "semver": "1.0.0"})
    assert response.status_code == 400
    assert _versions(app, seeded.project.id) == []


# --- compare ----------------------------------------------------------------------------------


def _compare(client: FlaskClient, seeded: Seeded, *keys: str, **args: str) -> t.Any:
    ids = ",".join(seeded.runs[k] for k in keys)
    return client.get(web(seeded.project.id, "/compare"), query_string={"ids": ids, **args})


def test_compare_highlights_differences(client: FlaskClient, seeded: Seeded) -> None:
    as_role(client, "reporter")
    html = text(_compare(client, seeded, "low", "mid"))
    assert "<h1>Compare 2 candidates</h1>" in html
    params = html.split('id="mr-cmp-params"', 1)[1].split("</section>", 1)[0]
    assert re.search(r'<tr class="mr-same">\s*<th scope="row">depth</th>', params)
    assert re.search(r'<tr class="mr-differs">\s*<th scope="row">lr ', params)
    cells = re.findall(r'<td class="mr-value">([^<]*)</td>', params.split(">lr ", 1)[1])[:2]
    assert cells == ["0.001", "0.01"]
    metrics = html.split('id="mr-cmp-metrics"', 1)[1].split("</section>", 1)[0]
    assert re.search(r'<tr class="mr-differs">\s*<th scope="row">acc ', metrics)
    assert "mr-only-diff" not in html.split("data-compare-body", 1)[0].rsplit("<div", 1)[1]


def test_compare_only_differences_link(client: FlaskClient, seeded: Seeded) -> None:
    as_role(client, "reporter")
    html = text(_compare(client, seeded, "low", "mid", only_diff="1"))
    assert 'class="mr-compare-body mr-only-diff" data-compare-body' in html
    assert "data-only-diff checked" in html


def test_compare_overlays_metric_histories(client: FlaskClient, seeded: Seeded) -> None:
    as_role(client, "reporter")
    html = text(_compare(client, seeded, "low", "mid", "high"))
    acc = html.split('data-metric="acc"', 1)[1].split("</svg>", 1)[0]
    series = re.findall(
        r'<g class="series" data-series="([^"]*)">\s*<path d="[^"]+"[^>]*'
        r'data-points="(\d+)"',
        acc,
    )
    assert series == [("low-lr", "3"), ("mid-lr", "3"), (f"high {ESCAPED}", "2")]
    assert SCRIPT not in html


@pytest.mark.parametrize("count", [0, 1, 11])
def test_compare_needs_two_to_ten(
    app: Flask, client: FlaskClient, seeded: Seeded, count: int
) -> None:
    ids = list(seeded.runs.values())
    while len(ids) < count:
        ids.append(make_candidate(app, seeded.project.id, seeded.iid, f"extra-{len(ids)}"))
    as_role(client, "reporter")
    response = client.get(
        web(seeded.project.id, "/compare"), query_string={"ids": ",".join(ids[:count])}
    )
    assert response.status_code == 400
    assert "between 2 and 10" in text(response)


def test_compare_unknown_or_foreign_candidate_is_404(
    app: Flask, client: FlaskClient, seeded: Seeded
) -> None:
    foreign_iid = make_experiment(app, seeded.project.other_id, "theirs")
    foreign = make_candidate(app, seeded.project.other_id, foreign_iid, "theirs")
    as_role(client, "reporter")
    response = client.get(
        web(seeded.project.id, "/compare"), query_string={"ids": f"{seeded.runs['low']},{foreign}"}
    )
    assert response.status_code == 404


# --- models -----------------------------------------------------------------------------------

DESCRIPTION = (
    "Detects **fraud** in _card_ payments.\n\n"
    f"- uses `xgboost` {SCRIPT}\n"
    "- see [the docs](https://example.com/docs?a=1&b=2)\n\n"
    '[click](javascript:alert(1)) [x](https://e.com" onmouseover="alert(1))'
)


@dataclass
class Registered:
    model_id: int
    by_semver: dict[str, str]


@pytest.fixture
def registered(app: Flask, seeded: Seeded) -> Registered:
    """Model ``fraud`` with versions promoted from candidates, out of precedence order."""
    order = ["1.0.0", "1.10.0", "1.2.0", "1.0.0-rc.1"]
    runs = [seeded.runs["low"], seeded.runs["mid"], seeded.runs["high"], seeded.runs["low"]]
    with project_ctx(app, seeded.project.id) as ctx:
        model = registry_service.create_model(ctx, "fraud", description=DESCRIPTION)
        for semver, run_id in zip(order, runs, strict=True):
            registry_service.promote_candidate(
                ctx, model, run_id, semver=semver, description=f"notes {SCRIPT}"
            )
        registry_service.set_alias(ctx, "fraud", "champion", "3")
        registry_service.set_alias(ctx, "fraud", "staging", "2")
        model_id = model.id
    return Registered(model_id, dict(zip(order, runs, strict=True)))


def test_models_list(client: FlaskClient, seeded: Seeded, registered: Registered) -> None:
    html = text(as_role(client, "reporter").get(web(seeded.project.id, "/models")))
    row = html.split(f'/models/{registered.model_id}">fraud</a>', 1)[1].split("</tr>", 1)[0]
    assert ">1.10.0</a>" in row  # latest by SemVer precedence, not by creation
    assert '<td class="mr-num">4</td>' in row
    assert f'/experiments/{seeded.iid}">fraud</a> <span class="mr-id">#{seeded.iid}</span>' in row


def test_model_page_versions_by_semver_precedence(
    client: FlaskClient, seeded: Seeded, registered: Registered
) -> None:
    html = text(
        as_role(client, "reporter").get(web(seeded.project.id, f"/models/{registered.model_id}"))
    )
    table = html.split('id="mr-versions-heading"', 1)[1].split("</table>", 1)[0]
    order = re.findall(r'<th scope="row"><a href="[^"]+/versions/([^"]+)">', table)
    assert order == ["1.10.0", "1.2.0", "1.0.0", "1.0.0-rc.1"]
    row_120 = table.split("/versions/1.2.0", 1)[1].split("</tr>", 1)[0]
    assert "@champion" in row_120
    assert "ready" in row_120
    row_110 = table.split("/versions/1.10.0", 1)[1].split("</tr>", 1)[0]
    assert "@staging" in row_110
    assert ">latest<" in row_110
    facts = html.split('class="mr-facts"', 1)[1].split("</dl>", 1)[0]
    assert "/versions/1.10.0" in facts
    assert f'/experiments/{seeded.iid}">fraud</a>' in facts


def test_model_description_is_safe_markdown(
    client: FlaskClient, seeded: Seeded, registered: Registered
) -> None:
    html = text(
        as_role(client, "reporter").get(web(seeded.project.id, f"/models/{registered.model_id}"))
    )
    body = html.split('<div class="mr-markdown">', 1)[1].split("</div>", 1)[0]
    assert "<p>Detects <strong>fraud</strong> in <em>card</em> payments.</p>" in body
    assert f"<li>uses <code>xgboost</code> {ESCAPED}</li>" in body
    assert (
        '<a href="https://example.com/docs?a=1&amp;b=2" rel="nofollow noopener">the docs</a>'
        in body
    )
    assert "javascript:" not in body.split("[click]", 1)[0]
    assert "[click](javascript:alert(1))" in body  # left as text
    assert "<script" not in body
    assert 'onmouseover="' not in body


def test_model_version_page(client: FlaskClient, seeded: Seeded, registered: Registered) -> None:
    html = text(
        as_role(client, "reporter").get(
            web(seeded.project.id, f"/models/{registered.model_id}/versions/1.2.0")
        )
    )
    assert '<h1>fraud <span class="mr-version">1.2.0</span>' in html
    facts = html.split('class="mr-facts"', 1)[1].split("</dl>", 1)[0]
    assert "<dt>MLflow version</dt><dd>3</dd>" in facts
    assert "@champion" in facts
    package = rf'<a href="/projects/{seeded.project.id}/packages/\d+">fraud 1.2.0</a>'
    assert re.search(package, facts)
    assert "mlflow.pyfunc.load_model(&#34;models:/fraud@1.2.0&#34;)" in html
    assert "mlflow.pyfunc.load_model(&#34;models:/fraud/3&#34;)" in html
    assert f"notes {ESCAPED}" in html
    assert SCRIPT not in html
    provenance = html.split('id="mr-provenance-heading"', 1)[1].split("</section>", 1)[0]
    assert f'/candidates/{seeded.runs["high"]}">high {ESCAPED}</a>' in provenance
    assert '<th scope="row">lr</th><td class="mr-value">0.1</td>' in provenance


def test_model_version_files_and_download(
    client: FlaskClient, seeded: Seeded, registered: Registered
) -> None:
    as_role(client, "reporter")
    base = web(seeded.project.id, f"/models/{registered.model_id}/versions/1.10.0")
    html = text(client.get(base))  # promoted from "mid", whose run has model/MLmodel
    files = html.split('id="mr-files-heading"', 1)[1].split("</section>", 1)[0]
    assert f'href="{base}/files/MLmodel" download>MLmodel</a>' in files
    download = client.get(f"{base}/files/MLmodel")
    assert download.status_code == 200
    assert download.data == b"flavors: {}\n"
    assert client.get(f"{base}/files/..%2Fx").status_code == 400
    assert client.get(f"{base}/files/nothing").status_code == 404


@pytest.mark.parametrize("path", ["/models/{mid}", "/models/{mid}/versions/1.2.0"])
def test_model_pages_by_role(
    client: FlaskClient, seeded: Seeded, registered: Registered, path: str
) -> None:
    url = web(seeded.project.id, path.format(mid=registered.model_id))
    assert as_role(client, "reporter").get(url).status_code == 200
    client.post("/logout")
    assert as_role(client, "outsider").get(url).status_code == 404


def test_unknown_model_or_version_is_404(
    client: FlaskClient, seeded: Seeded, registered: Registered
) -> None:
    as_role(client, "reporter")
    assert client.get(web(seeded.project.id, "/models/424242")).status_code == 404
    missing = web(seeded.project.id, f"/models/{registered.model_id}/versions/9.9.9")
    assert client.get(missing).status_code == 404
    foreign = web(seeded.project.other_id, f"/models/{registered.model_id}")
    client.post("/logout")
    as_role(client, "outsider")
    assert client.get(foreign).status_code == 404


def test_empty_states_show_how_to_start(client: FlaskClient, project: Project) -> None:
    as_role(client, "reporter")
    experiments = text(client.get(web(project.id, "/experiments")))
    assert "No experiments yet" in experiments
    assert f"/api/v4/projects/{project.id}/ml/mlflow" in experiments
    assert "No models yet" in text(client.get(web(project.id, "/models")))
