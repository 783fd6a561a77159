"""The research log (`fixtures/research/`): the entries behind the statuses recorded after June 2018.

Each entry is a short Markdown file. Pages show it with a deliberately small
renderer: the text is escaped first, then headings, list items, bold text and
links to http(s) addresses are marked up; nothing else in the file can reach
the page as markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^\s)]+)\)")
_AUTOLINK = re.compile(r"&lt;(https?://[^\s&]+)&gt;")
_BARE_URL = re.compile(r"(?<![\"=>])(https?://[^\s<&\"]+[^\s<&\".,;:)])")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Entry:
    name: str
    title: str
    html: SafeString


def folder() -> Path:
    return Path(settings.FIXTURES_DIR) / "research"


def _inline(text: str) -> str:
    text = escape(text)
    text = _LINK.sub(r'<a href="\2" rel="noopener external">\1</a>', text)
    text = _AUTOLINK.sub(r'<a href="\1" rel="noopener external">\1</a>', text)
    text = _BARE_URL.sub(r'<a href="\1" rel="noopener external">\1</a>', text)
    text = _BOLD.sub(r"<strong>\1</strong>", text)
    return _CODE.sub(r"<code>\1</code>", text)


def render(markdown: str) -> SafeString:
    """Return the entry as HTML: headings, paragraphs, lists, bold, code and links; everything else escaped."""
    html: list[str] = []
    paragraph: list[str] = []
    in_list = False

    def flush() -> None:
        nonlocal in_list
        if paragraph:
            html.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()

    for raw in markdown.splitlines():
        line = raw.rstrip()
        heading = re.match(r"^(#{1,4})\s+(.*)$", line)
        item = re.match(r"^\s*[-*]\s+(.*)$", line)
        if heading or not line or item:
            flush()
        if in_list and not item and not (line.startswith("  ") and line.strip()):
            html.append("</ul>")
            in_list = False
        if heading:
            level = min(len(heading.group(1)) + 1, 4)  # the page's own h1 comes first
            html.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif item:
            if not in_list:
                html.append("<ul>")
                in_list = True
            html.append(f"<li>{_inline(item.group(1))}</li>")
        elif in_list and line.strip():
            html[-1] = html[-1][: -len("</li>")] + " " + _inline(line.strip()) + "</li>"
        elif line.startswith("|"):
            html.append(f'<p class="research-row">{_inline(line)}</p>')
        elif line:
            paragraph.append(line.strip())
    flush()
    if in_list:
        html.append("</ul>")
    return mark_safe("\n".join(html))  # noqa: S308 - every piece was escaped by _inline


def entry(name: str) -> Entry | None:
    """Return the research entry of this name (e.g. `bm18-1`, or `README` for the method), or None."""
    if name != "README" and not NAME.match(name):
        return None
    path = folder() / f"{name}.md"
    if not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("# ")), None)
    title = lines[first][2:].strip() if first is not None else name
    # The page shows the entry's title as its own heading: the body starts after it.
    body = lines[first + 1 :] if first is not None else lines
    return Entry(name=name, title=title, html=render("\n".join(body)))


def entries() -> list[Entry]:
    """Return every item's entry, by name (the method is `entry("README")`)."""
    names = sorted(p.stem for p in folder().glob("*.md") if p.stem != "README")
    return [e for e in (entry(name) for name in names) if e is not None]
