"""What every service call needs: the session, the project, the caller and the stores."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..artifacts import ArtifactStore
from ..config import Settings

__all__ = ["PackageHooks", "ProjectContext"]


class PackageHooks(t.Protocol):
    """The host's package records, as the registry sees them."""

    def _resolve_package(self, project_id: int, name: str, semver: str) -> t.Any: ...

    def _forget_package(self, project_id: int, name: str, semver: str) -> None: ...


@dataclass(frozen=True)
class ProjectContext:
    """The scope of one service call: everything it reads or writes is in ``project_id``."""

    session: Session
    project_id: int
    user_name: str | None
    artifacts: ArtifactStore
    settings: Settings
    packages: PackageHooks
