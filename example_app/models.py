"""The host's own tables: users, personal access tokens, projects, memberships and packages.

Every table name starts with ``host_`` so it never clashes with the registry's ``ml_`` tables,
which live in the same database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

__all__ = [
    "ROLES",
    "TOKEN_PREFIX",
    "VISIBILITIES",
    "Base",
    "Membership",
    "Package",
    "PersonalAccessToken",
    "Project",
    "User",
    "configure_sqlite",
    "db",
    "hash_token",
    "utcnow",
]

#: Membership roles, weakest first.
ROLES: tuple[str, ...] = ("guest", "reporter", "developer", "maintainer", "owner")
VISIBILITIES: tuple[str, ...] = ("private", "public")
#: Every personal access token starts with this, so a leaked one is easy to recognise.
TOKEN_PREFIX = "fmr_"
#: Package type of packages that hold registered model versions.
ML_MODEL_PACKAGE_TYPE = "ml_model"


class Base(DeclarativeBase):
    """Declarative base of the host's tables, with stable constraint names."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:  # db.Model is built at runtime; to a type checker it is Base
    RegisteredModel = Base
else:
    RegisteredModel = db.Model


def configure_sqlite(engine: Engine) -> None:
    """This host's SQLite settings: WAL so that readers never wait for a writer, foreign keys,
    and a 30 s busy timeout. The registry leaves a shared engine's settings to its host."""
    if engine.dialect.name != "sqlite":
        return
    memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        if not memory:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")


def utcnow() -> dt.datetime:
    """The current UTC time as a naive datetime (stored the same way in SQLite and PostgreSQL)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a plain token: the only form a token is stored in."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class User(RegisteredModel):
    __tablename__ = "host_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Also the MLflow ``user_id`` the registry records on runs and model versions.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    #: ``None`` for token-only accounts, which cannot sign in with a password.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    tokens: Mapped[list[PersonalAccessToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            return False
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.username!r}>"


class PersonalAccessToken(RegisteredModel):
    __tablename__ = "host_personal_access_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("host_users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(back_populates="tokens")

    @classmethod
    def issue(cls, user: User, name: str) -> tuple[PersonalAccessToken, str]:
        """Create a token row for ``user``; return it with the plain token (shown once)."""
        plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls(user=user, name=name, token_hash=hash_token(plain))
        db.session.add(token)
        return token, plain

    def __repr__(self) -> str:
        return f"<PersonalAccessToken {self.name!r} of user {self.user_id}>"


class Project(RegisteredModel):
    __tablename__ = "host_projects"
    __table_args__ = (CheckConstraint("visibility IN ('private', 'public')", name="visibility"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    visibility: Mapped[str] = mapped_column(String(16), default="private")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )
    packages: Mapped[list[Package]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )

    @property
    def is_public(self) -> bool:
        return self.visibility == "public"

    def __repr__(self) -> str:
        return f"<Project {self.id} {self.name!r}>"


class Membership(RegisteredModel):
    __tablename__ = "host_memberships"
    __table_args__ = (
        UniqueConstraint("project_id", "user_id"),
        CheckConstraint(
            "role IN ('guest', 'reporter', 'developer', 'maintainer', 'owner')", name="role"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("host_projects.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("host_users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))

    project: Mapped[Project] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(back_populates="memberships")

    def __repr__(self) -> str:
        return f"<Membership user={self.user_id} project={self.project_id} {self.role}>"


class Package(RegisteredModel):
    __tablename__ = "host_packages"
    __table_args__ = (UniqueConstraint("project_id", "name", "version", "package_type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("host_projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(255))
    package_type: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    project: Mapped[Project] = relationship(back_populates="packages")

    def __repr__(self) -> str:
        return f"<Package {self.name!r} {self.version!r} ({self.package_type})>"
