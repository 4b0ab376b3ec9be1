"""Everything specific to the database: the registry's declarative base and metadata
(:mod:`.base`), SQLite's engine settings and write lock (:mod:`.sqlite`) and the dialects'
bulk-insert paths (:mod:`.bulk`). Nothing here knows about HTTP or the registry's models."""

from __future__ import annotations

from .base import TABLE_PREFIX, Base, metadata, now_ms

__all__ = ["TABLE_PREFIX", "Base", "metadata", "now_ms"]
