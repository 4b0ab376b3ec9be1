"""The host's callbacks: who is calling, what they may do, and which package a version is."""

from __future__ import annotations

import enum
import typing as t

__all__ = [
    "PackageResolver",
    "Permission",
    "ProjectAccess",
    "UserLoader",
]


class Permission(str, enum.Enum):
    """What a route needs in a project; the host's ``project_access`` hook decides."""

    READ_MODEL_EXPERIMENTS = "read_model_experiments"
    WRITE_MODEL_EXPERIMENTS = "write_model_experiments"
    READ_MODEL_REGISTRY = "read_model_registry"
    WRITE_MODEL_REGISTRY = "write_model_registry"

    @property
    def is_write(self) -> bool:
        return self.value.startswith("write_")

    @property
    def read_counterpart(self) -> Permission:
        return Permission(self.value.replace("write_", "read_", 1))


class UserLoader(t.Protocol):
    """Return the calling user for the current request, or ``None`` when anonymous."""

    def __call__(self) -> t.Any: ...


class ProjectAccess(t.Protocol):
    """Return whether ``user`` (possibly ``None``) has ``permission`` in ``project_id``.

    A ``write_*`` permission must imply its ``read_*`` counterpart.
    """

    def __call__(self, user: t.Any, project_id: int, permission: str) -> bool: ...


class PackageResolver(t.Protocol):
    """Find or create the host package for a model version, or forget it on delete.

    Called as ``resolver(project_id, name, semver)`` on create and must return the package id
    (an ``int`` or ``str``). Called as ``resolver(project_id, name, semver, deleted=True)`` when
    the version is deleted; the return value is then ignored.
    """

    def __call__(
        self, project_id: int, name: str, semver: str, *, deleted: bool = False
    ) -> t.Any: ...


#: Optional fourth hook: the host URL of a package page, for the web pages.
PackageUrl = t.Callable[[int, t.Any], "str | None"]
