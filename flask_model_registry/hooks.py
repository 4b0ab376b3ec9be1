"""The host's callbacks: who is calling, what they may do, and which package a version is."""

from __future__ import annotations

import enum
import typing as t

from .errors import HookMissing

__all__ = [
    "HostHooks",
    "PackageResolver",
    "PackageResolverT",
    "PackageUrl",
    "PackageUrlT",
    "Permission",
    "ProjectAccess",
    "ProjectAccessT",
    "UserLoader",
    "UserLoaderT",
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

    ``permission`` is a :class:`Permission`, which is also its ``str`` value. A ``write_*``
    permission must imply its ``read_*`` counterpart.
    """

    def __call__(self, user: t.Any, project_id: int, permission: Permission) -> bool: ...


class PackageResolver(t.Protocol):
    """Find or create the host package for a model version, or forget it on delete.

    Called as ``resolver(project_id, name, semver)`` on create and must return the package id
    (an ``int`` or ``str``). Called as ``resolver(project_id, name, semver, deleted=True)`` when
    the version is deleted; the return value is then ignored.
    """

    def __call__(
        self, project_id: int, name: str, semver: str, *, deleted: bool = False
    ) -> t.Any: ...


class PackageUrl(t.Protocol):
    """Optional: the host URL of a package page, linked from the web pages, or ``None``."""

    def __call__(self, project_id: int, package_id: t.Any) -> str | None: ...


UserLoaderT = t.TypeVar("UserLoaderT", bound=UserLoader)
ProjectAccessT = t.TypeVar("ProjectAccessT", bound=ProjectAccess)
PackageResolverT = t.TypeVar("PackageResolverT", bound=PackageResolver)
PackageUrlT = t.TypeVar("PackageUrlT", bound=PackageUrl)


class HostHooks:
    """The host's registered callbacks, asked through methods that name what they answer.

    Each method raises :class:`~flask_model_registry.errors.HookMissing`, naming the decorator
    to use, when its hook is required and not registered.
    """

    def __init__(self) -> None:
        self.user_loader: UserLoader | None = None
        self.project_access: ProjectAccess | None = None
        self.package_resolver: PackageResolver | None = None
        self.package_page: PackageUrl | None = None

    def load_user(self) -> t.Any:
        """The calling user, or ``None`` when anonymous."""
        if self.user_loader is None:
            raise HookMissing(_missing("user_loader", "def load_user(): ..."))
        return self.user_loader()

    def allows(self, user: t.Any, project_id: int, permission: Permission) -> bool:
        """Whether ``user`` holds ``permission`` in ``project_id``."""
        if self.project_access is None:
            raise HookMissing(
                _missing("project_access", "def can(user, project_id, permission): ...")
            )
        return bool(self.project_access(user, project_id, permission))

    def resolve_package(self, project_id: int, name: str, semver: str) -> t.Any:
        """The id of the host package of a new model version, found or created."""
        return self._resolver()(project_id, name, semver)

    def forget_package(self, project_id: int, name: str, semver: str) -> None:
        """Tell the host that the model version ``name`` ``semver`` is gone."""
        self._resolver()(project_id, name, semver, deleted=True)

    def package_url(self, project_id: int, package_id: t.Any) -> str | None:
        """The host page of a package, when the host links them and the version has one."""
        if self.package_page is None or package_id is None:
            return None
        return self.package_page(project_id, package_id)

    def _resolver(self) -> PackageResolver:
        if self.package_resolver is None:
            raise HookMissing(
                _missing(
                    "package_resolver",
                    "def resolve(project_id, name, semver, *, deleted=False): ...",
                )
            )
        return self.package_resolver


def _missing(name: str, example: str) -> str:
    return (
        f"No {name} hook is registered on the ModelRegistry. Add one with"
        f" '@registry.{name}' on a function such as '{example}'."
    )
