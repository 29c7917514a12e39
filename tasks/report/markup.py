"""The little Markdown our own texts use (remediation, check descriptions): code spans and emphasis, pure.

Everything else is text: the input is escaped first, so no HTML, link or image from a runbook or a
finding gets through; only `code`, **strong** and *emphasis* (or _emphasis_) become markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from markupsafe import Markup, escape

_CODE = re.compile(r"`([^`\n]+)`")
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_EM = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])|(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])")


def _segments(text: str) -> list[tuple[bool, str]]:
    """(is_code, text) pieces: emphasis never applies inside a code span."""
    out, at = [], 0
    for match in _CODE.finditer(text):
        if match.start() > at:
            out.append((False, text[at : match.start()]))
        out.append((True, match.group(1)))
        at = match.end()
    if at < len(text):
        out.append((False, text[at:]))
    return out


def inline_html(value: object) -> Markup:
    """Escaped text with code spans and emphasis as HTML elements."""
    text = "" if value is None else str(value)
    parts = []
    for is_code, piece in _segments(text):
        safe = str(escape(piece))
        if is_code:
            parts.append(f"<code>{safe}</code>")
            continue
        safe = _STRONG.sub(r"<strong>\1</strong>", safe)
        safe = _EM.sub(lambda m: f"<em>{m.group(1) or m.group(2)}</em>", safe)
        parts.append(safe)
    return Markup("".join(parts))


def inline_markdown(value: object, escape_md: Callable[[object], str]) -> str:
    """Markdown that keeps our code spans and **strong** text and escapes everything else with escape_md."""
    text = "" if value is None else str(value)
    parts = []
    for is_code, piece in _segments(text):
        if is_code:
            # A code span shows its text literally; only a table cell's pipe still needs its escape.
            parts.append("`" + piece.replace("|", "\\|") + "`")
            continue
        escaped = escape_md(piece)
        parts.append(re.sub(r"\\\*\\\*(?=\S)(.+?)(?<=\S)\\\*\\\*", r"**\1**", escaped))
    return "".join(parts)
