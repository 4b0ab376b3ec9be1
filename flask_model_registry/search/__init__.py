"""MLflow search filters and orderings: lexer, parser and SQL compilation per entity."""

from __future__ import annotations

from . import compile
from .compile import *  # noqa: F403 - the compiler's public names, listed once in its __all__
from .parser import Comparison, OrderKey, parse_filter, parse_order_by

__all__ = ["Comparison", "OrderKey", "parse_filter", "parse_order_by"]
__all__ += compile.__all__
