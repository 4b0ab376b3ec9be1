"""A small, safe Markdown subset for descriptions.

The text is HTML-escaped first; only then are a few constructs turned into tags: paragraphs,
``**strong**``, ``*emphasis*`` / ``_emphasis_``, ```code``` spans, fenced code blocks, bulleted
and numbered lists, and ``[links](https://...)`` whose target is ``http`` or ``https``. Lines
starting with ``#`` become bold paragraphs, so a description cannot disturb the page's
heading outline. Anything else stays literal text.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

__all__ = ["render_markdown"]

_FENCE = re.compile(r"^\s*```")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d{1,9}[.)]\s+(.*)$")
_HEADING = re.compile(r"^\s*#{1,6}\s+(.*?)\s*#*\s*$")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s()<>\"]+)\)")
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_EM_STAR = re.compile(r"(?<![*\w])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![*\w])")
_EM_UNDERSCORE = re.compile(r"(?<![\w])_(?=\S)(.+?)(?<=\S)_(?![\w])")
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")


def _inline(text: str) -> str:
    """Inline markup of one escaped block of text."""
    spans: list[str] = []

    def keep(html: str) -> str:
        spans.append(html)
        return f"\x00{len(spans) - 1}\x00"

    text = _CODE_SPAN.sub(lambda m: keep(f"<code>{m.group(1)}</code>"), text)
    text = _LINK.sub(
        lambda m: keep(f'<a href="{m.group(2)}" rel="nofollow noopener">{m.group(1)}</a>'), text
    )
    text = _STRONG.sub(r"<strong>\1</strong>", text)
    text = _EM_STAR.sub(r"<em>\1</em>", text)
    text = _EM_UNDERSCORE.sub(r"<em>\1</em>", text)
    # Links may hold code spans in their text, so placeholders are resolved until none is left.
    while _PLACEHOLDER.search(text):
        text = _PLACEHOLDER.sub(lambda m: spans[int(m.group(1))], text)
    return text


def _list_item(line: str) -> tuple[str, str] | None:
    match = _BULLET.match(line)
    if match:
        return "ul", match.group(1)
    match = _NUMBERED.match(line)
    if match:
        return "ol", match.group(1)
    return None


def _render_blocks(lines: list[str]) -> list[str]:
    out: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""

    def flush() -> None:
        nonlocal list_tag
        if paragraph:
            out.append("<p>" + _inline("\n".join(paragraph)) + "</p>")
            paragraph.clear()
        if items:
            body = "".join(f"<li>{_inline(item)}</li>" for item in items)
            out.append(f"<{list_tag}>{body}</{list_tag}>")
            items.clear()
            list_tag = ""

    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            flush()
            end = i + 1
            while end < len(lines) and not _FENCE.match(lines[end]):
                end += 1
            out.append("<pre><code>" + "\n".join(lines[i + 1 : end]) + "</code></pre>")
            i = end + 1
            continue
        item = _list_item(line)
        heading = _HEADING.match(line)
        if not line.strip():
            flush()
        elif item is not None and (not items or item[0] == list_tag) and not paragraph:
            list_tag = item[0]
            items.append(item[1])
        elif item is not None:
            flush()
            list_tag = item[0]
            items.append(item[1])
        elif heading is not None:
            flush()
            out.append(f'<p class="md-heading"><strong>{_inline(heading.group(1))}</strong></p>')
        elif items and line.startswith((" ", "\t")):
            items[-1] += " " + line.strip()
        else:
            if items:
                flush()
            paragraph.append(line)
        i += 1
    flush()
    return out


def render_markdown(text: str | None) -> Markup:
    """Escape ``text`` and render the supported Markdown subset as HTML."""
    if not text:
        return Markup("")
    escaped = str(escape(text.replace("\x00", ""))).replace("\r\n", "\n").replace("\r", "\n")
    return Markup("\n".join(_render_blocks(escaped.split("\n"))))
