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

# Markdown: headings get anchors (``web.md#performance``), ``:::`` fences take directives.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True}
autoclass_content = "class"

html_theme = "furo"
html_title = "flask-model-registry"
html_static_path: list[str] = []
