"""Who may do what in a project: one role table and the function the registry asks."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, select

from flask_model_registry import Permission

from .auth import Caller
from .models import ROLES, Membership, Project, User, db

__all__ = ["REQUIRED_ROLE", "can_view_project", "project_access", "role_in", "visible_projects"]

#: The weakest role that holds each registry permission. Reading needs reporter, writing
#: developer; a guest sees nothing of the ML data of a private project.
REQUIRED_ROLE: dict[str, str] = {
    Permission.READ_MODEL_EXPERIMENTS: "reporter",
    Permission.READ_MODEL_REGISTRY: "reporter",
    Permission.WRITE_MODEL_EXPERIMENTS: "developer",
    Permission.WRITE_MODEL_REGISTRY: "developer",
}

_RANK = {role: rank for rank, role in enumerate(ROLES)}

#: A signed-in user, or the caller an API token names.
AnyUser = User | Caller

#: Built once: the registry asks for every request it serves.
_VISIBILITY_AND_ROLE = (
    select(Project.visibility, Membership.role)
    .outerjoin(
        Membership,
        and_(Membership.project_id == Project.id, Membership.user_id == bindparam("user_id")),
    )
    .where(Project.id == bindparam("project_id"))
)


def role_in(user: AnyUser | None, project_id: int) -> str | None:
    """The role of ``user`` in the project, or ``None`` for anonymous callers and non-members."""
    if user is None:
        return None
    return db.session.execute(
        select(Membership.role).where(
            Membership.project_id == project_id, Membership.user_id == user.id
        )
    ).scalar_one_or_none()


def project_access(user: AnyUser | None, project_id: int, permission: str) -> bool:
    """Whether ``user`` (``None`` when anonymous) holds ``permission`` in ``project_id``.

    The registry passes a :class:`~flask_model_registry.Permission`, which is a ``str``.

    Members hold a permission when their role is at least the one :data:`REQUIRED_ROLE`
    names. Everyone, even anonymous callers, may read a public project; writing always
    needs a developer or higher. Unknown projects and unknown permissions are refused.
    """
    required = REQUIRED_ROLE.get(permission)
    if required is None:
        return False
    found = _visibility_and_role(user, project_id)
    if found is None:
        return False
    visibility, role = found
    if visibility == "public" and permission.startswith("read_"):
        return True
    return role is not None and _RANK[role] >= _RANK[required]


def _visibility_and_role(user: AnyUser | None, project_id: int) -> tuple[str, str | None] | None:
    """The project's visibility and the user's role in it, in one query; ``None`` if no project."""
    user_id = user.id if user is not None else None
    row = db.session.execute(
        _VISIBILITY_AND_ROLE, {"project_id": project_id, "user_id": user_id}
    ).first()
    return None if row is None else (row.visibility, row.role)


def can_view_project(user: User | None, project: Project) -> bool:
    """Whether the host's project pages show ``project`` to ``user`` (reporter+ or public)."""
    return project_access(user, project.id, Permission.READ_MODEL_REGISTRY)


def visible_projects(user: User | None) -> list[Project]:
    """Projects listed on the home page: the user's own, or the public ones when anonymous."""
    if user is None:
        query = select(Project).where(Project.visibility == "public")
    else:
        query = (
            select(Project)
            .join(Membership, Membership.project_id == Project.id)
            .where(Membership.user_id == user.id)
        )
    return list(db.session.execute(query.order_by(Project.name, Project.id)).scalars())
