"""The registry's own metadata and declarative base, separate from the host's models."""

from __future__ import annotations

import time

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

__all__ = ["TABLE_PREFIX", "Base", "metadata", "now_ms"]

#: Every table of the registry starts with this prefix.
TABLE_PREFIX = "ml_"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    """Declarative base of the registry's tables."""

    metadata = metadata


def now_ms() -> int:
    """Current time in epoch milliseconds, MLflow's timestamp unit."""
    return int(time.time() * 1000)
