"""HTML (and the other text formats other tools use) reduced to the bank's plain text.

The bank holds plain text only (docs/bank-format.md). What cannot survive the trip (images,
media, scripts, tables' layout, links' addresses, formatting) is dropped and named, so the
conversion report says exactly what a reviewer must look at.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_BLOCK = frozenset(
    [
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "table",
        "tr",
        "section",
        "article",
        "header",
        "footer",
        "dl",
        "dt",
        "dd",
    ]
)
_FORMATTING = frozenset(
    ["b", "strong", "i", "em", "u", "s", "sub", "sup", "span", "font", "small", "big", "code", "tt", "mark", "abbr", "cite", "q"]
)
_SKIPPED = frozenset(["script", "style", "object", "embed", "iframe", "audio", "video", "svg", "math", "head", "title"])
_VOID_DROPPED = frozenset(["img", "input", "hr", "area", "source", "track", "param", "embed"])
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


class _Reducer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.dropped: list[str] = []
        self._skip = 0

    def _note(self, what: str) -> None:
        if what not in self.dropped:
            self.dropped.append(what)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in _SKIPPED:
            self._skip += 1
            self._note(f"<{tag}> content")
            return
        if tag in _VOID_DROPPED:
            described = values.get("alt") or values.get("src") or ""
            self._note(f"<{tag}{' ' + described if described else ''}>")
            if tag == "hr":
                self.parts.append("\n")
            return
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK:
            self.parts.append("\n\n" if tag in {"p", "div", "table", "ul", "ol"} else "\n")
            if tag in {"table"}:
                self._note("table layout")
        elif tag == "a":
            if values.get("href"):
                self._note(f"link address {values['href']}")
        elif tag in _FORMATTING:
            self._note(f"formatting <{tag}>")
        else:
            self._note(f"<{tag}> markup")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._note(f"<{tag}> content")
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n\n" if tag in {"p", "div", "table", "ul", "ol"} else "\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(_SPACES.sub(" ", data.replace("\n", " ")))

    def handle_comment(self, data: str) -> None:
        self._note("HTML comment")


def tidy(text: str) -> str:
    """Spaces collapsed within lines, lines trimmed, at most one blank line, none at the ends."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out = "\n".join(lines)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip("\n").strip()


def html_to_text(source: str) -> tuple[str, list[str]]:
    """Plain text of an HTML fragment and what was dropped to get it."""
    reducer = _Reducer()
    reducer.feed(source)
    reducer.close()
    return tidy("".join(reducer.parts)), reducer.dropped


def text_to_html(text: str) -> str:
    """Plain bank text as HTML that html_to_text turns back into the same text."""
    paragraphs = text.split("\n\n")
    return "".join(f"<p>{html.escape(p, quote=False).replace(chr(10), '<br/>')}</p>" for p in paragraphs)


def to_text(source: str, text_format: str) -> tuple[str, list[str]]:
    """Text in one of Moodle's and GIFT's formats (html, plain_text, moodle_auto_format, markdown)."""
    if text_format == "html":
        return html_to_text(source)
    if text_format == "markdown":
        return tidy(source), (["markdown formatting (kept as written)"] if re.search(r"[*_`#\[]", source) else [])
    return tidy(source), []
