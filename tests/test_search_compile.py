"""Search filters and orderings compiled to SQL and run against real tables.

Runs on an in-memory SQLite database, and on PostgreSQL in a throw-away schema when
``MODEL_REGISTRY_TEST_POSTGRES_URL`` is set. The data set is built once per backend and only read.
"""

from __future__ import annotations

import json
import os
import typing as t
import uuid

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session

from flask_model_registry.database import Base
from flask_model_registry.errors import InvalidParameter
from flask_model_registry.models import (
    Dataset,
    Experiment,
    ExperimentTag,
    LoggedModel,
    LoggedModelMetric,
    LoggedModelParam,
    LoggedModelTag,
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
    Run,
    RunDatasetInput,
    RunLatestMetric,
    RunParam,
    RunTag,
)
from flask_model_registry.search import (
    experiment_filter_clauses,
    experiment_order_by,
    logged_model_filter_clauses,
    logged_model_order_by,
    model_version_filter_clauses,
    model_version_order_by,
    registered_model_filter_clauses,
    registered_model_order_by,
    run_filter_clauses,
    run_order_by,
)

POSTGRES_URL = os.environ.get("MODEL_REGISTRY_TEST_POSTGRES_URL")
PROMPT = "mlflow.prompt.is_prompt"


def _backends() -> list[t.Any]:
    params: list[t.Any] = [pytest.param("sqlite", id="sqlite")]
    if POSTGRES_URL:
        params.append(pytest.param("postgres", id="postgres", marks=pytest.mark.postgres))
    return params


@pytest.fixture(scope="module", params=_backends())
def engine(request: pytest.FixtureRequest) -> t.Iterator[Engine]:
    """An engine on a database holding the fixture data, dropped afterwards."""
    if request.param == "sqlite":
        eng = create_engine("sqlite://")
        Base.metadata.create_all(eng)
        with Session(eng) as session:
            _populate(session)
        yield eng
        eng.dispose()
        return
    assert POSTGRES_URL is not None
    schema = f"search_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        Base.metadata.create_all(eng)
        with Session(eng) as session:
            _populate(session)
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def session(engine: Engine) -> t.Iterator[Session]:
    with Session(engine) as s:
        yield s


# data ----------------------------------------------------------------------------------------


def _populate(s: Session) -> None:
    e1 = Experiment(
        project_id=1,
        iid=1,
        name="Default",
        artifact_location="a/1",
        creation_time=10,
        last_update_time=50,
    )
    e2 = Experiment(
        project_id=1,
        iid=2,
        name="vision-exp",
        artifact_location="a/2",
        creation_time=20,
        last_update_time=40,
    )
    e3 = Experiment(
        project_id=1,
        iid=3,
        name="nlp",
        artifact_location="a/3",
        creation_time=20,
        last_update_time=30,
    )
    s.add_all([e1, e2, e3])
    s.flush()
    s.add_all(
        [
            ExperimentTag(experiment_id=e1.id, key="owner", value="alice"),
            ExperimentTag(experiment_id=e2.id, key="owner", value="Bob"),
        ]
    )

    def run(
        run_id: str, start: int, name: str, status: str, user: str | None, end: int | None
    ) -> Run:
        c = Run(
            run_id=run_id,
            project_id=1,
            experiment_id=e1.id,
            name=name,
            status=status,
            start_time=start,
            end_time=end,
            user_id=user,
            artifact_uri=f"s3://b/{run_id}",
        )
        s.add(c)
        s.flush()
        return c

    r1 = run("r1", 100, "alpha", "FINISHED", "alice", 200)
    r2 = run("r2", 200, "beta", "RUNNING", None, None)
    r3 = run("r3", 300, "gamma", "FAILED", "bob", 400)
    r4 = run("r4", 200, "delta", "FINISHED", "carol", 350)

    def metric(c: Run, key: str, value: float) -> None:
        nan = value != value
        s.add(
            RunLatestMetric(
                candidate_id=c.id,
                key=key,
                value=0.0 if nan else value,
                is_nan=nan,
                step=0,
                timestamp=1,
            )
        )

    metric(r1, "acc", 0.9)
    metric(r1, "loss", 0.1)
    metric(r2, "acc", float("nan"))
    metric(r2, "loss", 0.5)
    metric(r3, "acc", 0.5)
    for c, key, value in [
        (r1, "lr", "0.01"),
        (r1, "model", "CNN"),
        (r2, "lr", "0.1"),
        (r3, "model", "cnn"),
        (r4, "lr", "0.01"),
        (r4, "note", "100%_done"),
        (r4, "glob", "a*b?[c]"),
        (r3, "glob", "aXXbYc"),
        (r2, "note", "1000 done"),
    ]:
        s.add(RunParam(candidate_id=c.id, key=key, value=value))
    for c, key, value in [
        (r1, "team", "Vision"),
        (r2, "team", "vision"),
        (r4, "team", "NLP"),
        (r1, "rank", "b"),
        (r2, "rank", "c"),
        (r4, "rank", "a"),
    ]:
        s.add(RunTag(candidate_id=c.id, key=key, value=value))
    train = Dataset(
        experiment_id=e1.id, name="train_ds", digest="d1", source_type="local", source="{}"
    )
    evald = Dataset(
        experiment_id=e1.id, name="eval_ds", digest="d2", source_type="local", source="{}"
    )
    s.add_all([train, evald])
    s.flush()

    def context(value: str) -> str:
        return json.dumps(
            [{"key": "other", "value": "x"}, {"key": "mlflow.data.context", "value": value}]
        )

    s.add_all(
        [
            RunDatasetInput(
                candidate_id=r1.id, dataset_id=train.id, tags=context("training")
            ),
            RunDatasetInput(candidate_id=r3.id, dataset_id=evald.id, tags=context("eval")),
            RunDatasetInput(candidate_id=r2.id, dataset_id=evald.id, tags="[]"),
        ]
    )

    m1 = RegisteredModel(
        project_id=1, name="Classifier", creation_timestamp=1, last_updated_timestamp=30
    )
    m2 = RegisteredModel(
        project_id=1, name="prompt-a", creation_timestamp=2, last_updated_timestamp=20
    )
    m3 = RegisteredModel(
        project_id=1, name="regressor", creation_timestamp=3, last_updated_timestamp=10
    )
    m4 = RegisteredModel(
        project_id=1, name="classifier-v2", creation_timestamp=4, last_updated_timestamp=40
    )
    s.add_all([m1, m2, m3, m4])
    s.flush()
    s.add_all(
        [
            RegisteredModelTag(model_id=m2.id, key=PROMPT, value="true"),
            RegisteredModelTag(model_id=m3.id, key=PROMPT, value="false"),
            RegisteredModelTag(model_id=m3.id, key="team", value="ML"),
            RegisteredModelTag(model_id=m4.id, key="team", value="ml"),
        ]
    )

    def version(
        m: RegisteredModel, seq: int, run_id: str, source: str, created: int, updated: int
    ) -> ModelVersion:
        v = ModelVersion(
            model_id=m.id,
            project_id=1,
            sequence=seq,
            semver=f"{seq}.0.0",
            semver_major=seq,
            semver_minor=0,
            semver_patch=0,
            source=source,
            run_id=run_id,
            creation_timestamp=created,
            last_updated_timestamp=updated,
        )
        s.add(v)
        s.flush()
        return v

    version(m1, 1, "r1", "s3://b/m1/1", 1, 5)
    v12 = version(m1, 2, "r2", "s3://b/m1/2", 2, 6)
    version(m4, 1, "r1", "file:///x", 3, 4)
    p1 = version(m2, 1, "r3", "s3://b/p/1", 4, 7)
    s.add_all(
        [
            ModelVersionTag(version_id=v12.id, key="stage", value="prod"),
            ModelVersionTag(version_id=p1.id, key=PROMPT, value="true"),
        ]
    )

    def logged(model_id: str, name: str, model_type: str | None, created: int) -> LoggedModel:
        lm = LoggedModel(
            model_id=model_id,
            project_id=1,
            experiment_id=e1.id,
            name=name,
            model_type=model_type,
            status="LOGGED_MODEL_READY",
            source_run_id="r1",
            artifact_uri=f"a/{model_id}",
            creation_timestamp_ms=created,
            last_updated_timestamp_ms=created,
        )
        s.add(lm)
        s.flush()
        return lm

    lm1 = logged("m-1", "model-a", "sklearn", 100)
    lm2 = logged("m-2", "model-b", None, 200)
    lm3 = logged("m-3", "Model-C", "torch", 150)

    def lm_metric(
        lm: LoggedModel, value: float, ts: int, dataset: str | None, digest: str | None = None
    ) -> None:
        nan = value != value
        s.add(
            LoggedModelMetric(
                logged_model_id=lm.id,
                key="acc",
                value=0.0 if nan else value,
                is_nan=nan,
                step=0,
                timestamp=ts,
                dataset_name=dataset,
                dataset_digest=digest,
            )
        )

    lm_metric(lm1, 0.8, 1, "train", "d1")
    lm_metric(lm1, 0.9, 2, "eval", "d2")
    lm_metric(lm2, float("nan"), 1, "eval", "d2")
    lm_metric(lm3, 0.1, 1, None)
    s.add_all(
        [
            LoggedModelParam(logged_model_id=lm1.id, key="p", value="1"),
            LoggedModelTag(logged_model_id=lm1.id, key="t", value="x"),
            LoggedModelTag(logged_model_id=lm2.id, key="t", value="Y"),
        ]
    )
    s.commit()


# helpers -------------------------------------------------------------------------------------


def runs(
    s: Session, filter_string: str | None = None, order_by: list[str] | None = None
) -> list[str]:
    stmt = (
        select(Run.run_id)
        .where(*run_filter_clauses(filter_string))
        .order_by(*run_order_by(order_by))
    )
    return list(s.scalars(stmt))


def experiments(
    s: Session, filter_string: str | None = None, order_by: list[str] | None = None
) -> list[int]:
    stmt = (
        select(Experiment.iid)
        .where(*experiment_filter_clauses(filter_string))
        .order_by(*experiment_order_by(order_by))
    )
    return list(s.scalars(stmt))


def models(
    s: Session, filter_string: str | None = None, order_by: list[str] | None = None
) -> list[str]:
    stmt = (
        select(RegisteredModel.name)
        .where(*registered_model_filter_clauses(filter_string))
        .order_by(*registered_model_order_by(order_by))
    )
    return list(s.scalars(stmt))


def versions(
    s: Session, filter_string: str | None = None, order_by: list[str] | None = None
) -> list[str]:
    stmt = (
        select(RegisteredModel.name, ModelVersion.sequence)
        .join(RegisteredModel)
        .where(*model_version_filter_clauses(filter_string))
        .order_by(*model_version_order_by(order_by))
    )
    return [f"{name}/{seq}" for name, seq in s.execute(stmt)]


def logged_models(
    s: Session,
    filter_string: str | None = None,
    order_by: list[dict[str, t.Any]] | None = None,
    datasets: list[dict[str, t.Any]] | None = None,
) -> list[str]:
    stmt = (
        select(LoggedModel.model_id)
        .where(*logged_model_filter_clauses(filter_string, datasets))
        .order_by(*logged_model_order_by(order_by))
    )
    return list(s.scalars(stmt))


def invalid(fn: t.Callable[..., object], *args: t.Any) -> str:
    with pytest.raises(InvalidParameter) as excinfo:
        fn(*args)
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    return excinfo.value.message


# runs: filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.acc > 0.6", ["r1"]),
        ("metrics.acc < 1", ["r3", "r1"]),
        ("metrics.acc = 0", []),
        ("metrics.acc != 0.9", ["r3", "r2"]),
        ("metrics.acc >= 0.5 AND metrics.loss <= 0.1", ["r1"]),
        ("metric.loss > 0", ["r2", "r1"]),
        ("metrics.missing != 1", []),
        ("metrics.acc > -1e3", ["r3", "r1"]),
    ],
)
def test_run_metric_filters(session: Session, filter_string: str, expected: list[str]) -> None:
    assert runs(session, filter_string) == expected


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("params.lr = '0.01'", ["r4", "r1"]),
        ("params.lr != '0.01'", ["r2"]),
        ("params.model LIKE 'c%'", ["r3"]),
        ("params.model ILIKE 'c%'", ["r3", "r1"]),
        ("params.model LIKE 'C_N'", ["r1"]),
        ("params.model = 'cnn'", ["r3"]),
        ("params.lr IS NULL", ["r3"]),
        ("params.lr IS NOT NULL", ["r2", "r4", "r1"]),
        ("parameters.lr = '0.1' AND params.note LIKE '1000%'", ["r2"]),
        ("params.note LIKE '100%'", ["r2", "r4"]),
        (r"params.note LIKE '100\%%'", ["r4"]),
        (r"params.note LIKE '100\%\_done'", ["r4"]),
        ("params.glob LIKE 'a*b?[c]'", ["r4"]),
        ("params.glob ILIKE 'A*B?[C]'", ["r4"]),
        ("params.glob LIKE 'a%c%'", ["r3", "r4"]),
    ],
)
def test_run_param_filters(session: Session, filter_string: str, expected: list[str]) -> None:
    assert runs(session, filter_string) == expected


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("tags.team = 'vision'", ["r2"]),
        ("tags.team = 'Vision'", ["r1"]),
        ("tags.team LIKE 'v%'", ["r2"]),
        ("tags.team ILIKE 'VISION'", ["r2", "r1"]),
        ("tags.team != 'NLP'", ["r2", "r1"]),
        ("tags.team IS NULL", ["r3"]),
        ("tag.`team` IS NOT NULL AND tags.rank > 'a'", None),
    ],
)
def test_run_tag_filters(session: Session, filter_string: str, expected: list[str] | None) -> None:
    if expected is None:
        assert "Invalid comparator '>' for tag 'rank'" in invalid(run_filter_clauses, filter_string)
    else:
        assert runs(session, filter_string) == expected


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("status = 'FINISHED'", ["r4", "r1"]),
        ("attributes.status != 'FINISHED'", ["r3", "r2"]),
        ("run_id IN ('r1', 'r3')", ["r3", "r1"]),
        ("attr.run_id NOT IN ('r1', 'r3')", ["r2", "r4"]),
        ("run_name = 'beta'", ["r2"]),
        ("run.run_name LIKE 'G%'", []),
        ("`run name` ILIKE 'G%'", ["r3"]),
        ("start_time >= 200", ["r3", "r2", "r4"]),
        ("created < 200", ["r1"]),
        ("start_time > 199.5", ["r3", "r2", "r4"]),
        ("start_time < 200.5", ["r2", "r4", "r1"]),
        ("end_time > 300", ["r3", "r4"]),
        ("user_id != 'alice'", ["r3", "r4"]),
        ("artifact_uri LIKE 's3://b/r_'", ["r3", "r2", "r4", "r1"]),
    ],
)
def test_run_attribute_filters(session: Session, filter_string: str, expected: list[str]) -> None:
    assert runs(session, filter_string) == expected


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("datasets.name = 'train_ds'", ["r1"]),
        ("dataset.digest LIKE 'd%'", ["r3", "r2", "r1"]),
        ("datasets.name NOT IN ('train_ds')", ["r3", "r2"]),
        ("datasets.context = 'eval'", ["r3"]),
        ("datasets.context IN ('training', 'eval')", ["r3", "r1"]),
        ("datasets.context ILIKE 'TRAIN%'", ["r1"]),
    ],
)
def test_run_dataset_filters(session: Session, filter_string: str, expected: list[str]) -> None:
    assert runs(session, filter_string) == expected


def test_run_filter_combines_entities(session: Session) -> None:
    assert runs(
        session,
        "metrics.acc > 0 AND params.model ILIKE 'cnn' AND tags.team IS NULL "
        "AND datasets.context = 'eval' AND status = 'FAILED'",
    ) == ["r3"]


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("metrics.acc = '1'", "Expected numeric value type for metric. Found '1' at position 14"),
        ("params.lr = 0.1", "Expected a quoted string value for parameter"),
        ("tags.t = 1", "Expected a quoted string value for tag"),
        ("metrics.acc LIKE 1", "Invalid comparator 'LIKE' for metric 'acc'"),
        ("metrics.acc IS NULL", "only supported for tags and params"),
        ("metrics.acc <> 1", "Invalid comparator '<>'"),
        ("params.lr > '1'", "Invalid comparator '>' for parameter 'lr'"),
        ("params.lr IN ('1')", "Invalid comparator 'IN' for parameter 'lr'"),
        ("status IN ('RUNNING')", "Only ['run_id'] attributes support comparison with a list"),
        ("status > 'A'", "Invalid comparator '>' for attribute 'status'"),
        ("status = 1", "Expected a quoted string value for attributes"),
        ("start_time > '1'", "Expected numeric value type for numeric attribute: start_time"),
        ("start_time LIKE 1", "Invalid comparator 'LIKE' for numeric attribute"),
        ("end_time IS NULL", "only supported for tags and params"),
        ("lifecycle_stage = 'active'", "Invalid attribute key 'lifecycle_stage'"),
        ("experiment_id = '1'", "Invalid attribute key 'experiment_id'"),
        ("Run_name = 'x'", "Invalid attribute key 'Run_name'"),
        ("datasets.source = 'x'", "Invalid dataset key 'source'"),
        ("datasets.name > 'x'", "Invalid comparator '>' for dataset 'name'"),
        ("metrics.a > 1 OR metrics.b > 1", "unsupported 'OR' at position 14"),
    ],
)
def test_run_filter_errors(filter_string: str, message: str) -> None:
    text_ = invalid(run_filter_clauses, filter_string)
    assert text_.startswith(f"Invalid filter '{filter_string}': ")
    assert message in text_


# runs: ordering ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (None, ["r3", "r2", "r4", "r1"]),
        ([], ["r3", "r2", "r4", "r1"]),
        (["metrics.acc DESC"], ["r1", "r3", "r2", "r4"]),
        (["metrics.acc"], ["r3", "r1", "r2", "r4"]),
        (["metrics.acc ASC"], ["r3", "r1", "r2", "r4"]),
        (["metrics.loss DESC"], ["r2", "r1", "r3", "r4"]),
        (["params.lr"], ["r4", "r1", "r2", "r3"]),
        (["params.lr DESC"], ["r2", "r4", "r1", "r3"]),
        (["tags.rank"], ["r4", "r1", "r2", "r3"]),
        (["tags.rank DESC"], ["r2", "r1", "r4", "r3"]),
        (["end_time"], ["r1", "r4", "r3", "r2"]),
        (["end_time DESC"], ["r3", "r4", "r1", "r2"]),
        (["user_id DESC"], ["r4", "r3", "r1", "r2"]),
        (["created"], ["r1", "r2", "r4", "r3"]),
        (["start_time DESC"], ["r3", "r2", "r4", "r1"]),
        (["run_name"], ["r1", "r2", "r4", "r3"]),
        (["attributes.status", "metrics.acc DESC"], ["r3", "r1", "r4", "r2"]),
        (["run_id DESC"], ["r4", "r3", "r2", "r1"]),
    ],
)
def test_run_order_by(session: Session, order_by: list[str] | None, expected: list[str]) -> None:
    assert runs(session, None, order_by) == expected


def test_run_order_by_with_filter(session: Session) -> None:
    assert runs(session, "params.lr IS NOT NULL", ["metrics.acc DESC"]) == ["r1", "r2", "r4"]


@pytest.mark.parametrize(
    ("order_by", "message"),
    [
        (["metrics.acc", "metric.acc DESC"], "duplicate fields"),
        (["created", "start_time DESC"], "duplicate fields"),
        (["datasets.name"], "Invalid order_by entity type 'dataset'"),
        (["lifecycle_stage"], "Invalid attribute key 'lifecycle_stage'"),
        (["run name"], "unexpected 'name'"),
        (["metrics.acc sideways"], "unexpected 'sideways' at position 12"),
    ],
)
def test_run_order_by_errors(order_by: list[str], message: str) -> None:
    assert message in invalid(run_order_by, order_by)


# experiments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'nlp'", [3]),
        ("name LIKE 'v%'", [2]),
        ("name LIKE 'default'", []),
        ("attribute.name ILIKE 'default'", [1]),
        ("experiment_id IN ('1', '3')", [3, 1]),
        ("experiment_id NOT IN ('1')", [2, 3]),
        ("experiment_id = '2'", [2]),
        ("experiment_id != '2'", [3, 1]),
        ("creation_time > 10", [2, 3]),
        ("last_update_time <= 40", [2, 3]),
        ("tags.owner IS NULL", [3]),
        ("tag.owner IS NOT NULL", [2, 1]),
        ("tags.owner ILIKE 'b%'", [2]),
        ("tags.owner LIKE 'b%'", []),
        ("tags.owner != 'alice'", [2]),
        ("tags.owner = 'alice' AND name = 'Default'", [1]),
    ],
)
def test_experiment_filters(session: Session, filter_string: str, expected: list[int]) -> None:
    assert experiments(session, filter_string) == expected


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (None, [2, 3, 1]),
        (["name"], [1, 3, 2]),
        (["last_update_time"], [3, 2, 1]),
        (["creation_time"], [1, 3, 2]),
        (["creation_time", "experiment_id ASC"], [1, 2, 3]),
        (["experiment_id DESC"], [3, 2, 1]),
    ],
)
def test_experiment_order_by(
    session: Session, order_by: list[str] | None, expected: list[int]
) -> None:
    assert experiments(session, None, order_by) == expected


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("params.x = 'a'", "Invalid entity type 'params'"),
        ("attributes.name = 'a'", "Invalid entity type 'attributes'"),
        ("experiment_id = 'x'", "Invalid experiment ID 'x'. Experiment ID must be a valid integer"),
        ("experiment_id = 1", "Expected a quoted string value for attributes"),
        ("experiment_id LIKE '1'", "Invalid comparator 'LIKE' for experiment_id"),
        ("name IN ('a')", "Only ['experiment_id'] attributes support comparison with a list"),
        ("creation_time > 10.5", "Invalid value for numeric attribute 'creation_time'"),
        ("creation_time > '10'", "Invalid value for numeric attribute 'creation_time'"),
        ("creation_time LIKE '1'", "Invalid comparator 'LIKE'"),
        ("name IS NULL", "only supported for tags"),
        ("lifecycle_stage = 'active'", "Invalid attribute key 'lifecycle_stage'"),
        ("tags.owner IN ('a')", "Invalid comparator 'IN' for tag 'owner'"),
    ],
)
def test_experiment_filter_errors(filter_string: str, message: str) -> None:
    assert message in invalid(experiment_filter_clauses, filter_string)


@pytest.mark.parametrize(
    ("order_by", "message"),
    [
        (["tags.owner"], "Invalid order_by entity: tag"),
        (["params.x"], "Invalid entity type 'params'"),
        (["artifact_location"], "Invalid attribute key 'artifact_location'"),
    ],
)
def test_experiment_order_by_errors(order_by: list[str], message: str) -> None:
    assert message in invalid(experiment_order_by, order_by)


# registered models ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        (None, ["Classifier", "classifier-v2", "regressor"]),
        (f"tags.`{PROMPT}` != 'true'", ["Classifier", "classifier-v2", "regressor"]),
        (f"tags.`{PROMPT}` = 'false'", ["Classifier", "classifier-v2", "regressor"]),
        (f"tags.`{PROMPT}` = 'true'", ["prompt-a"]),
        (f"tags.`{PROMPT}` != 'false'", ["prompt-a"]),
        (f"name LIKE 'prompt%' AND tags.`{PROMPT}` != 'true'", []),
        ("name LIKE 'c%'", ["classifier-v2"]),
        ("name ILIKE 'c%'", ["Classifier", "classifier-v2"]),
        ("name = 'classifier'", []),
        ("name IN ('Classifier', 'prompt-a')", ["Classifier"]),
        ("name NOT IN ('Classifier')", ["classifier-v2", "regressor"]),
        ("tags.team = 'ML'", ["regressor"]),
        ("tag.team != 'ML'", ["classifier-v2"]),
        ("tags.team ILIKE 'ml' AND name != 'regressor'", ["classifier-v2"]),
    ],
)
def test_registered_model_filters(
    session: Session, filter_string: str | None, expected: list[str]
) -> None:
    assert models(session, filter_string) == expected


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (["timestamp DESC"], ["classifier-v2", "Classifier", "regressor"]),
        (["last_updated_timestamp"], ["regressor", "Classifier", "classifier-v2"]),
        (["name DESC"], ["regressor", "classifier-v2", "Classifier"]),
    ],
)
def test_registered_model_order_by(
    session: Session, order_by: list[str], expected: list[str]
) -> None:
    assert models(session, None, order_by) == expected


@pytest.mark.parametrize(
    ("fn", "arg", "message"),
    [
        (
            registered_model_filter_clauses,
            "creation_timestamp > 0",
            "Invalid attribute key 'creation_timestamp'",
        ),
        (registered_model_filter_clauses, "metrics.x > 0", "Invalid entity type 'metrics'"),
        (registered_model_filter_clauses, "tags.x IS NULL", "Invalid comparator 'IS NULL'"),
        (registered_model_filter_clauses, "name > 'a'", "Invalid comparator '>'"),
        (registered_model_filter_clauses, "tags.x = 1", "Expected a quoted string value for tag"),
        (
            registered_model_order_by,
            ["creation_timestamp"],
            "Invalid order by key 'creation_timestamp'",
        ),
        (
            registered_model_order_by,
            ["timestamp", "last_updated_timestamp DESC"],
            "duplicate fields",
        ),
        (registered_model_order_by, ["tags.x"], "Invalid order by key 'x'"),
    ],
)
def test_registered_model_errors(fn: t.Callable[..., object], arg: t.Any, message: str) -> None:
    assert message in invalid(fn, arg)


# model versions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_string", "order_by", "expected"),
    [
        (None, None, ["Classifier/2", "Classifier/1", "classifier-v2/1"]),
        (None, ["name"], ["Classifier/2", "Classifier/1", "classifier-v2/1"]),
        (
            None,
            ["version_number", "name DESC"],
            ["classifier-v2/1", "Classifier/1", "Classifier/2"],
        ),
        (None, ["creation_timestamp DESC"], ["classifier-v2/1", "Classifier/2", "Classifier/1"]),
        ("name = 'Classifier'", ["version_number ASC"], ["Classifier/1", "Classifier/2"]),
        ("name IN ('classifier-v2', 'prompt-a')", None, ["classifier-v2/1"]),
        ("version_number > 1", None, ["Classifier/2"]),
        ("version_number = '1'", ["name"], ["Classifier/1", "classifier-v2/1"]),
        ("run_id IN ('r1')", ["name"], ["Classifier/1", "classifier-v2/1"]),
        ("run_id != 'r1'", None, ["Classifier/2"]),
        ("source_path LIKE 's3://%'", None, ["Classifier/2", "Classifier/1"]),
        ("tags.stage = 'prod'", None, ["Classifier/2"]),
        (f"tags.`{PROMPT}` = 'true'", None, ["prompt-a/1"]),
        (
            f"tags.`{PROMPT}` != 'true' AND name ILIKE 'c%'",
            ["name", "version_number"],
            ["Classifier/1", "Classifier/2", "classifier-v2/1"],
        ),
    ],
)
def test_model_versions(
    session: Session, filter_string: str | None, order_by: list[str] | None, expected: list[str]
) -> None:
    assert versions(session, filter_string, order_by) == expected


@pytest.mark.parametrize(
    ("fn", "arg", "message"),
    [
        (
            model_version_filter_clauses,
            "version_number = 1.5",
            "Invalid value for numeric attribute 'version_number'",
        ),
        (
            model_version_filter_clauses,
            "version_number = 'x'",
            "Invalid value for numeric attribute 'version_number'",
        ),
        (model_version_filter_clauses, "version_number LIKE '1'", "Invalid comparator 'LIKE'"),
        (model_version_filter_clauses, "version_number IN ('1')", "support comparison with a list"),
        (model_version_filter_clauses, "source_path IN ('x')", "support comparison with a list"),
        (model_version_filter_clauses, "run_id = 1", "support comparison with numeric values"),
        (
            model_version_filter_clauses,
            "current_stage = 'None'",
            "Invalid attribute key 'current_stage'",
        ),
        (model_version_filter_clauses, "params.x = 'a'", "Invalid entity type 'params'"),
        (model_version_order_by, ["run_id"], "Invalid order by key 'run_id'"),
        (model_version_order_by, ["name", "name DESC"], "duplicate fields"),
    ],
)
def test_model_version_errors(fn: t.Callable[..., object], arg: t.Any, message: str) -> None:
    assert message in invalid(fn, arg)


# logged models -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_string", "datasets", "expected"),
    [
        (None, None, ["m-2", "m-3", "m-1"]),
        ("metrics.acc > 0.85", None, ["m-1"]),
        ("metrics.acc > 0.85", [{"dataset_name": "train"}], []),
        ("metrics.acc < 0.85", [{"dataset_name": "train"}], ["m-1"]),
        ("metrics.acc < 0.85", [{"dataset_name": "train", "dataset_digest": "zz"}], []),
        ("metrics.acc < 0.85", None, ["m-3", "m-1"]),
        ("metrics.acc = 0", None, []),
        ("metrics.acc != 0.5", None, ["m-2", "m-3", "m-1"]),
        (None, [{"dataset_name": "eval"}], ["m-2", "m-1"]),
        (
            None,
            [{"dataset_name": "eval", "dataset_digest": "d2"}, {"dataset_name": "x"}],
            ["m-2", "m-1"],
        ),
        ("params.p = 1", None, ["m-1"]),
        ("params.p = '1'", None, ["m-1"]),
        ("tags.t IN ('x', 'y')", None, ["m-1"]),
        ("tags.t ILIKE 'y'", None, ["m-2"]),
        ("name LIKE 'model-%'", None, ["m-2", "m-1"]),
        ("attributes.name ILIKE 'model-%'", None, ["m-2", "m-3", "m-1"]),
        ("model_type = 'torch'", None, ["m-3"]),
        ("creation_timestamp >= 150", None, ["m-2", "m-3"]),
        ("creation_time < 150", None, ["m-1"]),
        ("status = 'LOGGED_MODEL_READY' AND source_run_id = 'r1'", None, ["m-2", "m-3", "m-1"]),
        ("model_id NOT IN ('m-1', 'm-2')", None, ["m-3"]),
    ],
)
def test_logged_model_filters(
    session: Session,
    filter_string: str | None,
    datasets: list[dict[str, t.Any]] | None,
    expected: list[str],
) -> None:
    assert logged_models(session, filter_string, None, datasets) == expected


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ([{"field_name": "metrics.acc", "ascending": False}], ["m-1", "m-3", "m-2"]),
        ([{"field_name": "metrics.acc", "ascending": True}], ["m-3", "m-1", "m-2"]),
        ([{"field_name": "metrics.acc", "dataset_name": "train"}], ["m-1", "m-2", "m-3"]),
        (
            [
                {
                    "field_name": "metrics.acc",
                    "ascending": False,
                    "dataset_name": "eval",
                    "dataset_digest": "d2",
                }
            ],
            ["m-1", "m-2", "m-3"],
        ),
        ([{"field_name": "model_type"}], ["m-1", "m-3", "m-2"]),
        ([{"field_name": "model_type", "ascending": False}], ["m-3", "m-1", "m-2"]),
        ([{"field_name": "creation_time", "ascending": True}], ["m-1", "m-3", "m-2"]),
        ([{"field_name": "last_updated_timestamp"}], ["m-1", "m-3", "m-2"]),
        ([{"field_name": "model_id", "ascending": False}], ["m-3", "m-2", "m-1"]),
    ],
)
def test_logged_model_order_by(
    session: Session, order_by: list[dict[str, t.Any]], expected: list[str]
) -> None:
    assert logged_models(session, None, order_by) == expected


@pytest.mark.parametrize(
    ("fn", "args", "message"),
    [
        (
            logged_model_filter_clauses,
            ("attribute.name = 'x'",),
            "Invalid entity type: 'attribute'",
        ),
        (logged_model_filter_clauses, ("datasets.name = 'x'",), "Invalid entity type: 'datasets'"),
        (logged_model_filter_clauses, ("metrics.acc = 'x'",), "Expected numeric value type"),
        (logged_model_filter_clauses, ("metrics.acc LIKE 'x'",), "Invalid comparator 'LIKE'"),
        (logged_model_filter_clauses, ("params.p IS NULL",), "Invalid comparison operator"),
        (logged_model_filter_clauses, ("creation_time > 'x'",), "Expected numeric value type"),
        (logged_model_filter_clauses, ("artifact_uri = 'x'",), "Invalid attribute key"),
        (
            logged_model_filter_clauses,
            (None, [{"dataset_digest": "d"}]),
            "`dataset_name` in the `datasets` clause must be specified",
        ),
        (logged_model_order_by, ([{"field_name": "params.p"}],), "Invalid order by field name"),
        (logged_model_order_by, ([{"field_name": "bogus"}],), "Invalid order by field name"),
        (logged_model_order_by, ([{"ascending": True}],), "`field_name`"),
        (
            logged_model_order_by,
            ([{"field_name": "name", "ascending": "yes"}],),
            "must be a boolean",
        ),
        (
            logged_model_order_by,
            ([{"field_name": "metrics.acc", "dataset_digest": "d"}],),
            "`dataset_digest` can only be specified",
        ),
        (logged_model_order_by, (["name"],), "must be a list of dictionaries"),
    ],
)
def test_logged_model_errors(
    fn: t.Callable[..., object], args: tuple[t.Any, ...], message: str
) -> None:
    assert message in invalid(fn, *args)


def test_cached_statements_rebind_values(session: Session) -> None:
    """The custom LIKE and JSON constructs are cached by shape; values must still change."""
    assert runs(session, "datasets.context = 'eval'") == ["r3"]
    assert runs(session, "datasets.context = 'training'") == ["r1"]
    assert runs(session, "params.glob LIKE 'a*b?[c]'") == ["r4"]
    assert runs(session, "params.glob LIKE 'aXX%'") == ["r3"]
