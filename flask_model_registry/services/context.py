"""What every service call needs: the session, the project, the caller and the stores."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..artifacts import ArtifactStore
from ..config import Settings

__all__ = ["PackageHooks", "ProjectContext"]


class PackageHooks(t.Protocol):
    """The host's package records, as the registry sees them (``HostHooks`` in practice)."""

    def resolve_package(self, project_id: int, name: str, semver: str) -> t.Any:
        """The id of the host package of a new model version, found or created."""
        ...

    def forget_package(self, project_id: int, name: str, semver: str) -> None:
        """Tell the host that a model version is gone."""
        ...


@dataclass(frozen=True)
class ProjectContext:
    """The scope of one service call: everything it reads or writes is in ``project_id``."""

    session: Session
    project_id: int
    user_name: str | None
    artifacts: ArtifactStore
    settings: Settings
    packages: PackageHooks
