"""Sphinx configuration of the flask-model-registry documentation."""

from __future__ import annotations

import os
import sys

# Document the checkout's package, not whatever copy is installed.
sys.path.insert(0, os.path.abspath(".."))

project = "flask-model-registry"
author = "flask-model-registry developers"
copyright = "flask-model-registry developers"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "examples"]

# Markdown headings get anchors, so links such as ``web.md#performance`` resolve.
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True}
autoclass_content = "class"

html_theme = "furo"
html_title = "flask-model-registry"
html_static_path: list[str] = []


def _no_protocol_signature(
    app: object,
    what: str,
    name: str,
    obj: object,
    options: object,
    signature: str | None,
    return_annotation: str | None,
) -> tuple[str, str | None] | None:
    """Protocols are never instantiated: show their ``__call__``, not ``(*args, **kwargs)``."""
    if what == "class" and getattr(obj, "_is_protocol", False):
        return "", return_annotation
    return None


def setup(app: object) -> None:
    app.connect("autodoc-process-signature", _no_protocol_signature)  # type: ignore[attr-defined]
