"""The pip requirements of a model version: its ``requirements.txt``, parsed as PEP 508.

MLflow writes ``requirements.txt`` next to ``MLmodel`` when it logs a model. The file is read
through the artifact store, at most :data:`MAX_BYTES` of it; each line is parsed with
:class:`packaging.requirements.Requirement`, and a line that is not a requirement (a pip option,
a path, a typo) is kept aside with the reason rather than failing the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement, Requirement

from flask_model_registry.errors import RegistryError
from flask_model_registry.models import ModelVersion

from . import artifacts, registry
from .context import ProjectContext

__all__ = ["FILE_NAME", "MAX_BYTES", "PipRequirement", "Requirements", "version_requirements"]

FILE_NAME = "requirements.txt"
#: Most bytes of the file read; the rest is left unread and said so.
MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class PipRequirement:
    """One parsed line: the distribution, its version specifier set and its markers."""

    line: str
    requirement: Requirement

    @property
    def name(self) -> str:
        return self.requirement.name

    @property
    def specifier(self) -> str:
        """The PEP 440 specifier set (``==1.5.0``, ``>=2,<3``), empty when any version goes."""
        return str(self.requirement.specifier)

    @property
    def extras(self) -> list[str]:
        return sorted(self.requirement.extras)

    @property
    def marker(self) -> str:
        return str(self.requirement.marker) if self.requirement.marker is not None else ""

    @property
    def url(self) -> str:
        return self.requirement.url or ""


@dataclass
class Requirements:
    """The requirements found in the file, and the lines that are not requirements."""

    parsed: list[PipRequirement] = field(default_factory=list)
    #: ``(line, why it is not a requirement)``
    unparsed: list[tuple[str, str]] = field(default_factory=list)
    truncated: bool = False


def _logical_lines(text: str) -> list[str]:
    """Lines without comments and blanks, backslash continuations joined (as pip reads them)."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = pending + raw
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        if line.lstrip().startswith("#"):
            continue
        line = line.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if line:
            lines.append(line)
    if pending.strip():
        lines.append(pending.strip())
    return lines


def parse_requirements(text: str) -> Requirements:
    """Parse the text of a ``requirements.txt``."""
    result = Requirements()
    for line in _logical_lines(text):
        if line.startswith("-"):
            result.unparsed.append((line, "a pip option, not a requirement"))
            continue
        try:
            result.parsed.append(PipRequirement(line, Requirement(line)))
        except InvalidRequirement as exc:
            result.unparsed.append((line, str(exc).splitlines()[0]))
    return result


def _read_head(ctx: ProjectContext, path: str) -> tuple[bytes, bool] | None:
    try:
        opened = artifacts.open_artifact(ctx, path)
    except RegistryError:
        return None
    with opened.stream as stream:
        data = stream.read(MAX_BYTES + 1)
    return data[:MAX_BYTES], len(data) > MAX_BYTES


def version_requirements(ctx: ProjectContext, version: ModelVersion) -> Requirements | None:
    """The version's parsed ``requirements.txt``; ``None`` when it has no such file."""
    uri = registry.files_uri(ctx, version)
    if uri is None:
        return None
    try:
        root = artifacts.store_path(ctx, uri)
    except RegistryError:
        return None
    head = _read_head(ctx, artifacts.escape(f"{root}/{FILE_NAME}"))
    if head is None:
        return None
    data, truncated = head
    if truncated:  # the last line may be cut in two; leave it out
        data = data[: data.rfind(b"\n") + 1]
    result = parse_requirements(data.decode("utf-8", errors="replace"))
    result.truncated = truncated
    return result
