"""The registry's tables. Every row belongs to one project, directly or through its parent.

Timestamps are epoch milliseconds (MLflow's unit).

One word per concept: the code says *run* (:class:`Run`, :class:`RunParam`, :class:`RunTag`, ...)
where the pages and the table names keep the product's words: a *candidate* is a run
(``ml_candidates``, ``candidate_id``), its *metadata* are the run's tags. A registered model is a
:class:`RegisteredModel` (``ml_models``), never ``Model``, which reads as ``db.Model``; its
versions are :class:`ModelVersion`, as in MLflow.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .database import TABLE_PREFIX, Base

__all__ = [
    "Dataset",
    "Experiment",
    "ExperimentTag",
    "LoggedModel",
    "LoggedModelMetric",
    "LoggedModelParam",
    "LoggedModelTag",
    "ModelVersion",
    "ModelVersionTag",
    "RegisteredModel",
    "RegisteredModelAlias",
    "RegisteredModelTag",
    "Run",
    "RunDatasetInput",
    "RunLatestMetric",
    "RunMetric",
    "RunModelIO",
    "RunParam",
    "RunTag",
]

#: Surrogate keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
PK = BigInteger().with_variant(Integer, "sqlite")

ACTIVE = "active"
DELETED = "deleted"


def _t(name: str) -> str:
    return TABLE_PREFIX + name


class KeyValue:
    """Columns of a parent's params or tags: ``key``, after the parent's id in the primary key
    (mixin columns follow the class's own), and a text ``value``."""

    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Experiment(Base):
    """An MLflow experiment; ``iid`` is its per-project number, MLflow's ``experiment_id``."""

    __tablename__ = _t("experiments")
    __table_args__ = (
        UniqueConstraint("project_id", "iid"),
        UniqueConstraint("project_id", "name"),
    )

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    project_id: Mapped[int] = mapped_column(BigInteger, index=True)
    iid: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(500))
    artifact_location: Mapped[str] = mapped_column(String(1000))
    lifecycle_stage: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    model_id: Mapped[int | None] = mapped_column(
        ForeignKey(_t("models.id"), ondelete="SET NULL"), unique=True
    )
    user_id: Mapped[str | None] = mapped_column(String(255))
    creation_time: Mapped[int] = mapped_column(BigInteger)
    last_update_time: Mapped[int] = mapped_column(BigInteger)

    tags: Mapped[list[ExperimentTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="ExperimentTag.key"
    )
    model: Mapped[RegisteredModel | None] = relationship(back_populates="default_experiment")


class ExperimentTag(KeyValue, Base):
    __tablename__ = _t("experiment_tags")

    experiment_id: Mapped[int] = mapped_column(
        ForeignKey(_t("experiments.id"), ondelete="CASCADE"), primary_key=True
    )


class Run(Base):
    """An MLflow run of an experiment."""

    __tablename__ = _t("candidates")
    __table_args__ = (
        Index("ix_ml_candidates_experiment_start", "experiment_id", "start_time"),
        Index("ix_ml_candidates_project_run", "project_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(32), unique=True)
    project_id: Mapped[int] = mapped_column(BigInteger)
    experiment_id: Mapped[int] = mapped_column(
        ForeignKey(_t("experiments.id"), ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(250))
    status: Mapped[str] = mapped_column(String(16), default="RUNNING")
    start_time: Mapped[int] = mapped_column(BigInteger)
    end_time: Mapped[int | None] = mapped_column(BigInteger)
    lifecycle_stage: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    deleted_time: Mapped[int | None] = mapped_column(BigInteger)
    user_id: Mapped[str | None] = mapped_column(String(255))
    artifact_uri: Mapped[str] = mapped_column(String(1000))

    experiment: Mapped[Experiment] = relationship()
    params: Mapped[list[RunParam]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="RunParam.key"
    )
    latest_metrics: Mapped[list[RunLatestMetric]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="RunLatestMetric.key"
    )
    tags: Mapped[list[RunTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="RunTag.key"
    )


class RunParam(KeyValue, Base):
    __tablename__ = _t("candidate_params")

    candidate_id: Mapped[int] = mapped_column(
        ForeignKey(_t("candidates.id"), ondelete="CASCADE"), primary_key=True
    )


class RunMetric(Base):
    """One metric point; the key makes re-sent identical points idempotent."""

    __tablename__ = _t("candidate_metrics")

    candidate_id: Mapped[int] = mapped_column(
        ForeignKey(_t("candidates.id"), ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # NaN is stored as 0.0 with is_nan set: SQLite turns NaN into NULL.
    value: Mapped[float] = mapped_column(Double, primary_key=True)
    is_nan: Mapped[bool] = mapped_column(Boolean, primary_key=True, default=False)
    model_id: Mapped[str | None] = mapped_column(String(64))
    dataset_name: Mapped[str | None] = mapped_column(String(500))
    dataset_digest: Mapped[str | None] = mapped_column(String(36))


class RunLatestMetric(Base):
    """The latest point per key (highest step, then timestamp, then value), for runs and search."""

    __tablename__ = _t("candidate_latest_metrics")
    __table_args__ = (Index("ix_ml_candidate_latest_metrics_key_value", "key", "value"),)

    candidate_id: Mapped[int] = mapped_column(
        ForeignKey(_t("candidates.id"), ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[float] = mapped_column(Double)
    is_nan: Mapped[bool] = mapped_column(Boolean, default=False)
    step: Mapped[int] = mapped_column(BigInteger)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    model_id: Mapped[str | None] = mapped_column(String(64))
    dataset_name: Mapped[str | None] = mapped_column(String(500))
    dataset_digest: Mapped[str | None] = mapped_column(String(36))


class RunTag(KeyValue, Base):
    """A run tag."""

    __tablename__ = _t("candidate_metadata")

    candidate_id: Mapped[int] = mapped_column(
        ForeignKey(_t("candidates.id"), ondelete="CASCADE"), primary_key=True
    )


class Dataset(Base):
    __tablename__ = _t("datasets")
    __table_args__ = (UniqueConstraint("experiment_id", "name", "digest"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(
        ForeignKey(_t("experiments.id"), ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(500))
    digest: Mapped[str] = mapped_column(String(36))
    source_type: Mapped[str] = mapped_column(String(36))
    source: Mapped[str] = mapped_column(Text)
    schema: Mapped[str | None] = mapped_column(Text)
    profile: Mapped[str | None] = mapped_column(Text)


class RunDatasetInput(Base):
    """A dataset a run used; ``tags`` holds the input tags as a JSON list of {key, value}."""

    __tablename__ = _t("candidate_dataset_inputs")

    candidate_id: Mapped[int] = mapped_column(
        ForeignKey(_t("candidates.id"), ondelete="CASCADE"), primary_key=True
    )
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey(_t("datasets.id"), ondelete="CASCADE"), primary_key=True
    )
    tags: Mapped[str] = mapped_column(Text, default="[]")

    dataset: Mapped[Dataset] = relationship()


class RunModelIO(Base):
    """A logged model a run read (``input``) or produced (``output``, with its step)."""

    __tablename__ = _t("candidate_model_io")

    candidate_id: Mapped[int] = mapped_column(
        ForeignKey(_t("candidates.id"), ondelete="CASCADE"), primary_key=True
    )
    logged_model_id: Mapped[int] = mapped_column(
        ForeignKey(_t("logged_models.id"), ondelete="CASCADE"), primary_key=True
    )
    direction: Mapped[str] = mapped_column(String(8), primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger, default=0)

    logged_model: Mapped[LoggedModel] = relationship()


class LoggedModel(Base):
    """An MLflow 3 logged model; ``model_id`` is its public ``m-<hex>`` id."""

    __tablename__ = _t("logged_models")

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    model_id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[int] = mapped_column(BigInteger, index=True)
    experiment_id: Mapped[int] = mapped_column(
        ForeignKey(_t("experiments.id"), ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(500))
    model_type: Mapped[str | None] = mapped_column(String(500))
    source_run_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), default="LOGGED_MODEL_PENDING")
    status_message: Mapped[str | None] = mapped_column(Text)
    creator_id: Mapped[str | None] = mapped_column(String(255))
    artifact_uri: Mapped[str] = mapped_column(String(1000))
    lifecycle_stage: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    creation_timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    last_updated_timestamp_ms: Mapped[int] = mapped_column(BigInteger)

    experiment: Mapped[Experiment] = relationship()
    params: Mapped[list[LoggedModelParam]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="LoggedModelParam.key"
    )
    tags: Mapped[list[LoggedModelTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="LoggedModelTag.key"
    )
    metrics: Mapped[list[LoggedModelMetric]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


class LoggedModelParam(KeyValue, Base):
    __tablename__ = _t("logged_model_params")

    logged_model_id: Mapped[int] = mapped_column(
        ForeignKey(_t("logged_models.id"), ondelete="CASCADE"), primary_key=True
    )


class LoggedModelTag(KeyValue, Base):
    __tablename__ = _t("logged_model_tags")

    logged_model_id: Mapped[int] = mapped_column(
        ForeignKey(_t("logged_models.id"), ondelete="CASCADE"), primary_key=True
    )


class LoggedModelMetric(Base):
    """A metric point logged against a logged model (``model_id`` on a run metric)."""

    __tablename__ = _t("logged_model_metrics")

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    logged_model_id: Mapped[int] = mapped_column(
        ForeignKey(_t("logged_models.id"), ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(250))
    value: Mapped[float] = mapped_column(Double)
    is_nan: Mapped[bool] = mapped_column(Boolean, default=False)
    step: Mapped[int] = mapped_column(BigInteger)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[str | None] = mapped_column(String(32))
    dataset_name: Mapped[str | None] = mapped_column(String(500))
    dataset_digest: Mapped[str | None] = mapped_column(String(36))


class RegisteredModel(Base):
    """A registered model; ``version_counter`` hands out MLflow's integer version numbers."""

    __tablename__ = _t("models")
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    project_id: Mapped[int] = mapped_column(BigInteger, index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[str | None] = mapped_column(String(255))
    version_counter: Mapped[int] = mapped_column(Integer, default=0)
    creation_timestamp: Mapped[int] = mapped_column(BigInteger)
    last_updated_timestamp: Mapped[int] = mapped_column(BigInteger)

    default_experiment: Mapped[Experiment | None] = relationship(back_populates="model")
    tags: Mapped[list[RegisteredModelTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="RegisteredModelTag.key"
    )
    aliases: Mapped[list[RegisteredModelAlias]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="RegisteredModelAlias.alias"
    )
    versions: Mapped[list[ModelVersion]] = relationship(
        back_populates="model", cascade="all, delete-orphan", passive_deletes=True
    )


class RegisteredModelTag(KeyValue, Base):
    __tablename__ = _t("model_tags")

    model_id: Mapped[int] = mapped_column(
        ForeignKey(_t("models.id"), ondelete="CASCADE"), primary_key=True
    )
    # Indexed on its own for searches that look for a tag across models (prompts, tags.x).
    key: Mapped[str] = mapped_column(String(250), primary_key=True, index=True)


class ModelVersion(Base):
    """A version of a model: MLflow's integer ``sequence`` and the registry's ``semver``."""

    __tablename__ = _t("model_versions")
    __table_args__ = (
        UniqueConstraint("model_id", "sequence"),
        UniqueConstraint("model_id", "semver"),
    )

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey(_t("models.id"), ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(BigInteger, index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    semver: Mapped[str] = mapped_column(String(255))
    semver_major: Mapped[int] = mapped_column(BigInteger)
    semver_minor: Mapped[int] = mapped_column(BigInteger)
    semver_patch: Mapped[int] = mapped_column(BigInteger)
    semver_prerelease: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), default="READY")
    status_message: Mapped[str | None] = mapped_column(Text)
    current_stage: Mapped[str] = mapped_column(String(20), default="None")
    source: Mapped[str] = mapped_column(Text)
    storage_location: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(32))
    run_link: Mapped[str | None] = mapped_column(Text)
    candidate_id: Mapped[int | None] = mapped_column(
        ForeignKey(_t("candidates.id"), ondelete="SET NULL"), index=True
    )
    logged_model_id: Mapped[int | None] = mapped_column(
        ForeignKey(_t("logged_models.id"), ondelete="SET NULL"), index=True
    )
    package_id: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    creation_timestamp: Mapped[int] = mapped_column(BigInteger)
    last_updated_timestamp: Mapped[int] = mapped_column(BigInteger)

    model: Mapped[RegisteredModel] = relationship(back_populates="versions")
    run: Mapped[Run | None] = relationship()
    logged_model: Mapped[LoggedModel | None] = relationship()
    tags: Mapped[list[ModelVersionTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="ModelVersionTag.key"
    )


class ModelVersionTag(KeyValue, Base):
    __tablename__ = _t("model_version_tags")

    version_id: Mapped[int] = mapped_column(
        ForeignKey(_t("model_versions.id"), ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True, index=True)


class RegisteredModelAlias(Base):
    """A named pointer (``champion``) to one version of a model."""

    __tablename__ = _t("model_aliases")

    model_id: Mapped[int] = mapped_column(
        ForeignKey(_t("models.id"), ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(255), primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey(_t("model_versions.id"), ondelete="CASCADE"), index=True
    )

    version: Mapped[ModelVersion] = relationship()
