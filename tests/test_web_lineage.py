"""What a reviewer reads before a deploy: charts only for metrics with a history, a candidate's
logged models and datasets, and a version's chain back to its run, its data and its pip
requirements. Data goes through the domain services as the MLflow API would write it."""

from __future__ import annotations

import io
import json
import re
import typing as t
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_model_registry.errors import NotFound
from flask_model_registry.services import artifacts as artifact_service
from flask_model_registry.services import logged_models as logged_model_service
from flask_model_registry.services import registry as registry_service
from flask_model_registry.services import runs as run_service
from flask_model_registry.services.requirements import MAX_BYTES, parse_requirements
from flask_model_registry.services.runs import DatasetInputData, MetricPoint
from tests.conftest import Project
from tests.test_web_factories import (
    BASE_TIME,
    login,
    make_candidate,
    make_experiment,
    project_ctx,
    web,
)

SCRIPT = "<script>alert(1)</script>"
SCHEMA = json.dumps({"mlflow_colspec": [
    {"type": "double", "name": "sepal length (cm)", "required": True},
    {"type": "long", "name": "target", "required": True},
]})
REQUIREMENTS = (
    "mlflow==3.1.0\n"
    "# a comment line\n"
    "scikit-learn==1.5.0  # pinned by autolog\n"
    "numpy>=1.24,<3\n"
    "pywin32==306; sys_platform == 'win32'\n"
    "requests[socks]\n"
    "--index-url https://pypi.example.com/simple\n"
    "not a requirement!!\n"
)


def text(response: t.Any) -> str:
    return t.cast(str, response.get_data(as_text=True))


def section(html: str, heading_id: str) -> str:
    return html.split(f'id="{heading_id}"', 1)[1].split("</section>", 1)[0]


def _dataset(name: str, context: str, rows: int) -> DatasetInputData:
    return DatasetInputData(
        name=name, digest=f"{rows:08x}", source_type="http",
        source=json.dumps({"url": f"https://data.example.com/{name}.csv"}), schema=SCHEMA,
        profile=json.dumps({"num_rows": rows, "num_elements": rows * 2}),
        tags=[("mlflow.data.context", context)],
    )


def log_datasets(app: Flask, project_id: int, run_id: str, count: int) -> None:
    """``train`` (training), ``eval`` (evaluation) and further ``extra-<n>`` datasets."""
    named = [("train", "training"), ("eval", "evaluation")]
    named += [(f"extra-{i}", "training") for i in range(count - 2)]
    with project_ctx(app, project_id) as ctx:
        run_service.log_inputs(ctx, run_id, datasets=[
            _dataset(name, context, 100 + i) for i, (name, context) in enumerate(named[:count])
        ])


def log_model(
    app: Flask, project_id: int, experiment_iid: int, run_id: str, name: str,
    files: dict[str, bytes],
) -> str:
    """A READY logged model of the run, with a param, a metric and ``files``; its id."""
    with project_ctx(app, project_id) as ctx:
        model = logged_model_service.create_logged_model(
            ctx, str(experiment_iid), name=name, model_type="sklearn", source_run_id=run_id,
            params=[("alpha", "0.5")],
        )
        model_id = model.model_id
        run_service.log_batch(ctx, run_id, metrics=[
            MetricPoint("rmse", 0.9, BASE_TIME, 0, model_id=model_id, dataset_name="eval"),
            MetricPoint("rmse", 0.25, BASE_TIME + 1, 1, model_id=model_id, dataset_name="eval"),
        ])
        root = artifact_service.store_path(ctx, model.artifact_uri)
        for path, data in files.items():
            ctx.artifacts.write(f"{root}/{path}", io.BytesIO(data))
        logged_model_service.finalize_logged_model(ctx, model_id, "LOGGED_MODEL_READY")
    return model_id


def register(app: Flask, project_id: int, name: str, model_id: str, run_id: str) -> tuple[
    int, str
]:
    """Register the logged model as a version of ``name``; (model pk, semver)."""
    with project_ctx(app, project_id) as ctx:
        try:
            registry_service.get_model(ctx, name)
        except NotFound:
            registry_service.create_model(ctx, name)
        version = registry_service.create_version(
            ctx, name, f"models:/{model_id}", run_id=run_id, model_id=model_id
        )
        return version.model_id, version.semver


@dataclass
class Autologged:
    """A run as sklearn autolog leaves it: single-point metrics, a history, a logged model
    with its files, two datasets and a registered version."""

    project: Project
    iid: int
    run_id: str
    model_id: str
    registered_id: int
    semver: str


MODEL_FILES = {
    "MLmodel": b"flavors:\n  sklearn: {}\n",
    "model.pkl": b"\x80\x04pickle",
    "requirements.txt": REQUIREMENTS.encode(),
    "metadata/conda.yaml": b"name: env\n",
}


@pytest.fixture
def autologged(app: Flask, project: Project) -> Autologged:
    iid = make_experiment(app, project.id, "iris")
    run_id = make_candidate(
        app, project.id, iid, "autolog",
        params={"n_estimators": "100"},
        metrics={"training_score": [0.97], "training_f1_score": [0.96], "loss": [0.9, 0.5, 0.3]},
    )
    model_id = log_model(app, project.id, iid, run_id, "model", MODEL_FILES)
    log_datasets(app, project.id, run_id, 2)
    registered_id, semver = register(app, project.id, "iris-classifier", model_id, run_id)
    return Autologged(project, iid, run_id, model_id, registered_id, semver)


def _get(client: FlaskClient, project: Project, path: str) -> str:
    login(client, "alpha-reporter")
    response = client.get(web(project.id, path))
    assert response.status_code == 200, text(response)
    return text(response)


# --- charts -----------------------------------------------------------------------------------


def test_single_point_metrics_are_in_the_table_not_charts(
    client: FlaskClient, autologged: Autologged
) -> None:
    html = _get(client, autologged.project, f"/candidates/{autologged.run_id}")
    figures = re.findall(r'<figure class="mr-card mr-figure" data-metric="([^"]+)">', html)
    assert figures == ["loss", "rmse"]  # rmse: two points logged against the model
    assert html.count("<svg") == 2
    metrics = section(html, "mr-metrics-heading")
    assert '<th scope="row">training_score</th><td class="mr-num">0.97</td>' in metrics
    assert '<th scope="row">training_f1_score</th><td class="mr-num">0.96</td>' in metrics
    assert '<th scope="row">loss</th><td class="mr-num">0.3</td>' in metrics


def test_compare_overlays_only_metrics_with_a_history(
    app: Flask, client: FlaskClient, autologged: Autologged
) -> None:
    project = autologged.project
    other = make_candidate(app, project.id, autologged.iid, "second",
                           metrics={"training_score": [0.91], "loss": [0.8, 0.6]})
    single = make_candidate(app, project.id, autologged.iid, "third",
                            metrics={"training_score": [0.5], "loss": [0.4]})
    html = _get(client, project, f"/compare?ids={autologged.run_id},{other}")
    figures = re.findall(r'<figure class="mr-card mr-figure" data-metric="([^"]+)">', html)
    assert figures == ["loss", "rmse"]
    assert '<th scope="row">training_score <span class="mr-diff-mark"' in html  # in the table
    html = _get(client, project, f"/compare?ids={autologged.run_id},{single}")
    assert re.findall(r'<figure[^>]+data-metric="([^"]+)">', html) == ["loss", "rmse"]
    html = _get(client, project, f"/compare?ids={single},{other}")
    assert re.findall(r'<figure[^>]+data-metric="([^"]+)">', html) == ["loss"]


# --- candidate: logged models and datasets ----------------------------------------------------


def test_candidate_lists_its_logged_models(client: FlaskClient, autologged: Autologged) -> None:
    html = _get(client, autologged.project, f"/candidates/{autologged.run_id}")
    models = section(html, "mr-logged-models-heading")
    assert '<span class="mr-count">1</span>' in models
    card = models.split(f'data-model-id="{autologged.model_id}"', 1)[1]
    assert re.search(r'<h3 id="mr-lm-1">model <span class="mr-badge mr-status-ready">ready</span>',
                     card)
    assert f"<code>{autologged.model_id}</code>" in card
    assert f"<code>models:/{autologged.model_id}</code>" in card
    assert "<dd>sklearn</dd>" in card
    version_url = web(autologged.project.id,
                      f"/models/{autologged.registered_id}/versions/{autologged.semver}")
    assert f'href="{version_url}">iris-classifier {autologged.semver}</a>' in card
    paths = re.findall(
        r'<th scope="row" class="mr-value"><a class="mr-file" href="[^"]+" download>([^<]+)</a>',
        card)
    assert sorted(paths) == sorted(MODEL_FILES)
    assert '<th scope="row">alpha</th><td class="mr-value">0.5</td>' in card
    # the latest point of the model's metric, with the dataset it was measured on
    assert '<th scope="row">rmse</th><td class="mr-num">0.25</td><td>eval</td>' in card


def test_candidate_without_logged_models_or_datasets(
    app: Flask, client: FlaskClient, project: Project
) -> None:
    iid = make_experiment(app, project.id, "bare")
    run_id = make_candidate(app, project.id, iid, "bare")
    html = _get(client, project, f"/candidates/{run_id}")
    assert "No logged models" in section(html, "mr-logged-models-heading")
    assert "No datasets logged" in section(html, "mr-datasets-heading")


def test_a_deleted_or_foreign_logged_model_is_not_listed(
    app: Flask, client: FlaskClient, autologged: Autologged
) -> None:
    with project_ctx(app, autologged.project.id) as ctx:
        logged_model_service.delete_logged_model(ctx, autologged.model_id)
    html = _get(client, autologged.project, f"/candidates/{autologged.run_id}")
    assert autologged.model_id not in section(html, "mr-logged-models-heading")


def test_candidate_lists_its_datasets_with_their_context(
    client: FlaskClient, autologged: Autologged
) -> None:
    html = _get(client, autologged.project, f"/candidates/{autologged.run_id}")
    datasets = section(html, "mr-datasets-heading")
    rows = re.findall(r'<tr data-dataset="([^"]+)">', datasets)
    assert rows == ["eval", "train"]
    train = datasets.split('data-dataset="train"', 1)[1].split("</tr>", 1)[0]
    assert '<span class="mr-badge mr-context">training</span>' in train
    assert "<code>00000064</code>" in train
    assert "http" in train
    assert "https://data.example.com/train.csv" in train
    assert "2 columns" in train
    assert "<code>sepal length (cm)</code>" in train
    assert "num_rows: 100" in train
    evaluation = datasets.split('data-dataset="eval"', 1)[1].split("</tr>", 1)[0]
    assert '<span class="mr-badge mr-context">evaluation</span>' in evaluation


def test_dataset_text_is_escaped_and_odd_schemas_are_shown_as_text(
    app: Flask, client: FlaskClient, project: Project
) -> None:
    iid = make_experiment(app, project.id, "odd")
    run_id = make_candidate(app, project.id, iid, "odd")
    with project_ctx(app, project.id) as ctx:
        run_service.log_inputs(ctx, run_id, datasets=[DatasetInputData(
            name=f"data {SCRIPT}", digest="abc", source_type="code", source=SCRIPT,
            schema='{"mlflow_tensorspec": {"features": "[]"}}', profile="not json",
            tags=[("mlflow.data.context", SCRIPT)],
        )])
    html = _get(client, project, f"/candidates/{run_id}")
    datasets = section(html, "mr-datasets-heading")
    assert SCRIPT not in html
    assert "&lt;script&gt;" in datasets
    assert "<summary>Schema</summary>" in datasets
    assert "mlflow_tensorspec" in datasets


# --- model version: the chain and the requirements --------------------------------------------


def _version_page(client: FlaskClient, autologged: Autologged) -> str:
    return _get(client, autologged.project,
                f"/models/{autologged.registered_id}/versions/{autologged.semver}")


def test_version_page_shows_run_datasets_params_and_metrics(
    client: FlaskClient, autologged: Autologged
) -> None:
    provenance = section(_version_page(client, autologged), "mr-provenance-heading")
    candidate_url = web(autologged.project.id, f"/candidates/{autologged.run_id}")
    assert f'<a href="{candidate_url}">autolog</a>' in provenance
    assert f"<code>{autologged.model_id}</code>" in provenance
    assert re.findall(r'<tr data-dataset="([^"]+)">', provenance) == ["eval", "train"]
    assert '<span class="mr-badge mr-context">training</span>' in provenance
    assert '<th scope="row">n_estimators</th><td class="mr-value">100</td>' in provenance
    assert '<th scope="row">training_score</th><td class="mr-num">0.97</td>' in provenance


def test_version_page_lists_pip_requirements(client: FlaskClient, autologged: Autologged) -> None:
    html = _version_page(client, autologged)
    requirements = section(html, "mr-requirements-heading")
    table = requirements.split("</table>", 1)[0]
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td><code>([^<]*)</code></td>', table)
    assert rows == [
        ("mlflow", "==3.1.0"),
        ("scikit-learn", "==1.5.0"),
        ("numpy", "&lt;3,&gt;=1.24"),
        ("pywin32", "==306"),
        ("requests", "any"),
    ]
    assert "<td>socks</td>" in table
    assert "<code>sys_platform == &#34;win32&#34;</code>" in table
    unparsed = requirements.split("</table>", 1)[1]
    assert "<code>--index-url https://pypi.example.com/simple</code>" in unparsed
    assert "<code>not a requirement!!</code>" in unparsed
    assert "a comment line" not in requirements


def test_version_without_requirements_says_so(
    app: Flask, client: FlaskClient, project: Project
) -> None:
    iid = make_experiment(app, project.id, "plain")
    run_id = make_candidate(app, project.id, iid, "plain")
    model_id = log_model(app, project.id, iid, run_id, "model", {"MLmodel": b"flavors: {}\n"})
    registered_id, semver = register(app, project.id, "plain", model_id, run_id)
    html = _get(client, project, f"/models/{registered_id}/versions/{semver}")
    assert "No <code>requirements.txt</code> stored" in section(html, "mr-requirements-heading")
    assert "No datasets logged with the candidate" in section(html, "mr-provenance-heading")


def test_a_huge_requirements_file_is_read_only_in_part(
    app: Flask, client: FlaskClient, project: Project
) -> None:
    iid = make_experiment(app, project.id, "huge")
    run_id = make_candidate(app, project.id, iid, "huge")
    lines = b"".join(b"package-%d==1.0\n" % i for i in range(MAX_BYTES // 10))
    model_id = log_model(app, project.id, iid, run_id, "model", {"requirements.txt": lines})
    registered_id, semver = register(app, project.id, "huge", model_id, run_id)
    html = _get(client, project, f"/models/{registered_id}/versions/{semver}")
    requirements = section(html, "mr-requirements-heading")
    assert "only its beginning is read" in requirements
    assert ">package-0</th>" in requirements
    assert "Lines that are not requirements" not in requirements  # no line cut in two


def test_parse_requirements_joins_continuations_and_keeps_urls() -> None:
    parsed = parse_requirements(
        "pkg @ https://example.com/pkg-1.0.tar.gz\n"
        "numpy \\\n  >=1.0\n"
        "\n"
        "-r other.txt\n"
    )
    assert [(r.name, r.specifier, r.url) for r in parsed.parsed] == [
        ("pkg", "", "https://example.com/pkg-1.0.tar.gz"),
        ("numpy", ">=1.0", ""),
    ]
    assert parsed.unparsed == [("-r other.txt", "a pip option, not a requirement")]
