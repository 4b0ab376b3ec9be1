"""How the pages show times, numbers, sizes and search keys."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import typing as t

__all__ = [
    "fmt_duration",
    "fmt_metric",
    "fmt_size",
    "fmt_time",
    "iso_time",
    "order_key",
    "profile_items",
    "schema_columns",
]

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def fmt_time(ms: int | None) -> str:
    """Epoch milliseconds as ``YYYY-MM-DD HH:MM UTC`` (empty for ``None``)."""
    if ms is None:
        return ""
    moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def iso_time(ms: int) -> str:
    """Epoch milliseconds as an ISO 8601 UTC timestamp, for ``<time datetime>``."""
    moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_metric(value: float | None, is_nan: bool = False) -> str:
    """A metric value with up to 6 significant digits; ``NaN`` and infinities spelled out."""
    if value is None:
        return ""
    if is_nan or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def fmt_duration(start: int | None, end: int | None) -> str:
    """The time between two epoch-millisecond stamps, as ``1h 2m``, ``3m 4s`` or ``5.6s``."""
    if start is None or end is None or end < start:
        return ""
    seconds = (end - start) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m"


def fmt_size(size: int | None) -> str:
    """A byte count in B, KiB, MiB or GiB."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def order_key(key: str) -> str:
    """A key as the search language needs it in ``order_by``: backticked unless plain."""
    if _PLAIN_KEY.fullmatch(key):
        return key
    if "`" not in key:
        return f"`{key}`"
    return '"' + key.replace('"', '\\"') + '"'


def _json_object(text: str | None) -> dict[str, t.Any] | None:
    try:
        value = json.loads(text or "")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def schema_columns(schema: str | None) -> list[tuple[str, str]] | None:
    """A dataset's MLflow column schema as ``(column, type)`` pairs; ``None`` if it is not
    one (a tensor schema, or not JSON), so the page shows the text as it is."""
    columns = (_json_object(schema) or {}).get("mlflow_colspec")
    if not isinstance(columns, list) or not all(isinstance(c, dict) for c in columns):
        return None
    return [(str(c.get("name", "")), str(c.get("type", ""))) for c in columns]


def profile_items(profile: str | None) -> list[tuple[str, str]]:
    """A dataset profile (``{"num_rows": 150, ...}``) as ``(name, value)`` pairs."""
    return [(str(key), str(value)) for key, value in (_json_object(profile) or {}).items()]
