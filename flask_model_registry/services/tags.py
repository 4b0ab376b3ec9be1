"""Tags of any entity: put one into a loaded collection, delete one with a statement."""

from __future__ import annotations

import typing as t

from sqlalchemy import delete
from sqlalchemy.orm import InstrumentedAttribute

from flask_model_registry.models import ExperimentTag, ModelVersionTag, RegisteredModelTag
from flask_model_registry.services.context import ProjectContext

TagT = t.TypeVar("TagT", ExperimentTag, RegisteredModelTag, ModelVersionTag)


def put_tag(tags: list[TagT], tag_type: type[TagT], key: str, value: str) -> None:
    """Overwrite the tag ``key`` among ``tags``, or add it."""
    existing = next((tag for tag in tags if tag.key == key), None)
    if existing is None:
        tags.append(tag_type(key=key, value=value))
    else:
        existing.value = value


def delete_tag(
    ctx: ProjectContext, owner: t.Any, owner_column: InstrumentedAttribute[int], key: str
) -> bool:
    """Delete the tag ``key`` of ``owner`` (``owner_column`` is the tag table's column naming
    the owner) and expire ``owner.tags``; whether ``owner`` had that tag."""
    tag_type: t.Any = owner_column.class_
    result = ctx.session.execute(
        delete(tag_type).where(owner_column == owner.id, tag_type.key == key)
    )
    ctx.session.expire(owner, ["tags"])
    return bool(getattr(result, "rowcount", 0))
