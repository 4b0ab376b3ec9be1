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
    """What a route needs in a project; the host's ``project_access`` hook decides.

    A ``str`` enum: each member equals its value, so ``permission == "read_model_registry"``
    holds and a host may key its tables by the plain strings.
    """

    #: See experiments, runs, their data and artifacts, and logged models.
    READ_MODEL_EXPERIMENTS = "read_model_experiments"
    #: Create, change and delete experiments, runs and logged models; log data and artifacts.
    WRITE_MODEL_EXPERIMENTS = "write_model_experiments"
    #: See registered models, their versions, aliases and files.
    READ_MODEL_REGISTRY = "read_model_registry"
    #: Register, change and delete models and versions; promote runs to versions.
    WRITE_MODEL_REGISTRY = "write_model_registry"

    @property
    def is_write(self) -> bool:
        """Whether this is a ``write_*`` permission."""
        return self.value.startswith("write_")

    @property
    def read_counterpart(self) -> Permission:
        """The ``read_*`` permission of the same area (itself for a ``read_*`` permission)."""
        return Permission(self.value.replace("write_", "read_", 1))


class UserLoader(t.Protocol):
    """Return the calling user for the current request, or ``None`` when anonymous."""

    def __call__(self) -> t.Any:
        """Called with no argument inside the request; read its headers or session.

        :return: Any object standing for the user, handed back to ``project_access``, or
            ``None`` for an anonymous caller.
        """
        ...


class ProjectAccess(t.Protocol):
    """Return whether ``user`` (possibly ``None``) has ``permission`` in ``project_id``.

    ``permission`` is a :class:`Permission`, which is also its ``str`` value. A ``write_*``
    permission must imply its ``read_*`` counterpart.
    """

    def __call__(self, user: t.Any, project_id: int, permission: Permission) -> bool:
        """
        :param user: What the ``user_loader`` returned, ``None`` when anonymous.
        :param project_id: The host's project id from the URL; it may name no project, which
            the host then refuses.
        :param permission: What the request needs in the project.
        :return: Whether ``user`` holds ``permission`` in the project.
        """
        ...


class PackageResolver(t.Protocol):
    """Find or create the host package for a model version, or forget it on delete.

    Called as ``resolver(project_id, name, semver)`` on create and must return the package id
    (an ``int`` or ``str``). Called as ``resolver(project_id, name, semver, deleted=True)`` when
    the version is deleted; the return value is then ignored.
    """

    def __call__(
        self, project_id: int, name: str, semver: str, *, deleted: bool = False
    ) -> t.Any:
        """
        :param project_id: The project of the registered model.
        :param name: The registered model's name, which is the package's name.
        :param semver: The version's semantic version, which is the package's version.
        :param deleted: ``True`` when the version is being deleted.
        :return: The package id on create; ignored on delete.
        """
        ...


class PackageUrl(t.Protocol):
    """Optional: the host URL of a package page, linked from the web pages, or ``None``."""

    def __call__(self, project_id: int, package_id: t.Any) -> str | None:
        """
        :param project_id: The project of the package.
        :param package_id: The id the ``package_resolver`` returned for the version.
        :return: The URL of the host's page of the package, or ``None`` for no link.
        """
        ...


UserLoaderT = t.TypeVar("UserLoaderT", bound=UserLoader)
ProjectAccessT = t.TypeVar("ProjectAccessT", bound=ProjectAccess)
PackageResolverT = t.TypeVar("PackageResolverT", bound=PackageResolver)
PackageUrlT = t.TypeVar("PackageUrlT", bound=PackageUrl)


class HostHooks:
    """The host's registered callbacks, asked through methods that name what they answer.

    Each method raises :class:`~flask_model_registry.errors.HookMissing`, naming the decorator
    to use, when its hook is required and not registered. One ``HostHooks`` belongs to a
    :class:`~flask_model_registry.ModelRegistry` (its ``hooks``) and serves all its apps.
    """

    def __init__(self) -> None:
        #: Set by ``@registry.user_loader``.
        self.user_loader: UserLoader | None = None
        #: Set by ``@registry.project_access``.
        self.project_access: ProjectAccess | None = None
        #: Set by ``@registry.package_resolver``.
        self.package_resolver: PackageResolver | None = None
        #: Set by ``@registry.package_url``; optional.
        self.package_page: PackageUrl | None = None

    def load_user(self) -> t.Any:
        """The calling user, or ``None`` when anonymous."""
        if self.user_loader is None:
            raise HookMissing(_missing("user_loader", "def load_user(): ..."))
        return self.user_loader()

    def allows(self, user: t.Any, project_id: int, permission: Permission) -> bool:
        """Whether ``user`` holds ``permission`` in ``project_id``.

        :param user: The calling user from :meth:`load_user`, ``None`` when anonymous.
        :param project_id: The project the request addresses.
        :param permission: What the request needs there.
        """
        if self.project_access is None:
            raise HookMissing(
                _missing("project_access", "def can(user, project_id, permission): ...")
            )
        return bool(self.project_access(user, project_id, permission))

    def resolve_package(self, project_id: int, name: str, semver: str) -> t.Any:
        """The id of the host package of a new model version, found or created.

        :param project_id: The project of the registered model.
        :param name: The registered model's name.
        :param semver: The new version's semantic version.
        """
        return self._resolver()(project_id, name, semver)

    def forget_package(self, project_id: int, name: str, semver: str) -> None:
        """Tell the host that the model version ``name`` ``semver`` is gone.

        :param project_id: The project of the registered model.
        :param name: The registered model's name.
        :param semver: The deleted version's semantic version.
        """
        self._resolver()(project_id, name, semver, deleted=True)

    def package_url(self, project_id: int, package_id: t.Any) -> str | None:
        """The host page of a package, when the host links them and the version has one.

        :param project_id: The project of the package.
        :param package_id: The version's package id; ``None`` gives ``None``.
        """
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
