"""GIFT (Moodle's plain-text question format) read into SourceItems.

GIFT: questions separated by blank lines; `//` comment lines; `$CATEGORY: path`; an optional
`::title::`; an optional `[html]`, `[moodle]`, `[plain]` or `[markdown]` marker; the stem; and the
answers in braces. `=` marks a right answer, `~` a wrong one, `%50%` (or `%-50%`) a weight,
`#` the answer's feedback, `####` general feedback, `->` a matching pair, `{T}`/`{F}` true/false,
`{#...}` a number, `{}` an essay. `\\~ \\= \\# \\{ \\} \\:` are the characters themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial

from .model import SourceItem, SourceOption
from .safe_io import SourceError

_SPECIAL = "~=#{}:"
_FORMAT = re.compile(r"^\[(html|moodle|plain|markdown)\]", re.IGNORECASE)
_WEIGHT = re.compile(r"^%(-?\d+(?:\.\d+)?)%")
_FORMATS = {"html": "html", "moodle": "moodle_auto_format", "plain": "plain_text", "markdown": "markdown"}


@dataclass(frozen=True)
class _Char:
    char: str
    escaped: bool


def _scan(text: str) -> list[_Char]:
    """Characters with GIFT's backslash escapes resolved; `\\n` is a new line."""
    out: list[_Char] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            following = text[i + 1]
            if following in _SPECIAL or following == "\\":
                out.append(_Char(following, True))
            elif following == "n":
                out.append(_Char("\n", True))
            else:
                out.append(_Char("\\", True))
                out.append(_Char(following, False))
            i += 2
            continue
        out.append(_Char(char, False))
        i += 1
    return out


def _plain(chars: list[_Char]) -> str:
    return "".join(c.char for c in chars)


def _split(chars: list[_Char], marks: str) -> list[tuple[str, list[_Char]]]:
    """Split at unescaped characters in `marks`: [(mark, chars after it), ...] (first mark is '')."""
    parts: list[tuple[str, list[_Char]]] = [("", [])]
    for c in chars:
        if not c.escaped and c.char in marks:
            parts.append((c.char, []))
        else:
            parts[-1][1].append(c)
    return parts


def _find(chars: list[_Char], char: str, start: int = 0) -> int:
    for i in range(start, len(chars)):
        if chars[i].char == char and not chars[i].escaped:
            return i
    return -1


def _blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, text) for each blank-line-separated block, comments removed."""
    blocks: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("//"):
            continue
        if not stripped:
            if current:
                blocks.append((start, "\n".join(current)))
                current = []
            continue
        if not current:
            start = number
        current.append(line)
    if current:
        blocks.append((start, "\n".join(current)))
    return blocks


def _answers(body: list[_Char], fmt: str) -> tuple[str, tuple[SourceOption, ...], str, str]:
    """Classify an answer block: (kind, options, general feedback, detail)."""
    general = ""
    text = _plain(body)
    # #### general feedback (four unescaped hashes)
    for i in range(len(body) - 3):
        if all(body[i + k].char == "#" and not body[i + k].escaped for k in range(4)):
            general = _plain(body[i + 4 :]).strip()
            body = body[:i]
            text = _plain(body)
            break
    stripped = text.strip()
    if not stripped:
        return "short_answer_essay", (), general, ""
    if body and not body[0].escaped and stripped.startswith("#"):
        return "numerical", (), general, ""
    if re.fullmatch(r"(T|F|TRUE|FALSE)(\s*#.*)?", stripped, re.DOTALL):
        return "truefalse", (), general, ""
    parts = [(mark, chars) for mark, chars in _split(body, "=~") if mark]
    if not parts:
        raise ValueError("the answers in braces start with neither = nor ~")
    options: list[SourceOption] = []
    for mark, chars in parts:
        pieces = _split(chars, "#")
        answer = _plain(pieces[0][1]).strip()
        feedback = "".join(_plain(p[1]) if i == 0 else "#" + _plain(p[1]) for i, p in enumerate(pieces[1:])).strip()
        weight = _WEIGHT.match(answer)
        if weight:
            fraction = float(weight.group(1)) / 100
            answer = answer[weight.end() :].strip()
        else:
            fraction = 1.0 if mark == "=" else 0.0
        if mark == "=" and "->" in answer:
            return "matching", (), general, ""
        if not answer:
            raise ValueError("an answer is empty")
        options.append(SourceOption(answer, fmt, fraction, feedback, fmt))
    if all(mark == "=" for mark, _ in parts):
        return "short_answer", tuple(options), general, ""
    return "choice", tuple(options), general, ""


def read_gift(text: str, file: str) -> tuple[list[SourceItem], list[SourceError]]:
    """Every question in a GIFT file; a malformed one is an error at its FILE:LINE, the rest go on."""
    items: list[SourceItem] = []
    errors: list[SourceError] = []
    category: str | None = None
    for line, block in _blocks(text):
        where = f"{file}:{line}"
        if block.lstrip().startswith("$CATEGORY:"):
            category = block.split(":", 1)[1].strip()
            continue
        try:
            items.append(_question(block, where, category))
        except ValueError as error:
            errors.append(SourceError(where, str(error)))
    return items, errors


def _question(block: str, where: str, category: str | None) -> SourceItem:
    chars = _scan(block.strip())
    title = None
    if len(chars) > 1 and _plain(chars[:2]) == "::" and not chars[0].escaped and not chars[1].escaped:
        end = next(
            (
                i
                for i in range(2, len(chars) - 1)
                if _plain(chars[i : i + 2]) == "::" and not chars[i].escaped and not chars[i + 1].escaped
            ),
            -1,
        )
        if end < 0:
            raise ValueError("the title starts with :: but never ends with ::")
        title = _plain(chars[2:end]).strip()
        chars = chars[end + 2 :]
    while chars and chars[0].char.isspace():
        chars = chars[1:]
    fmt = "moodle_auto_format"
    marker = _FORMAT.match(_plain(chars))
    if marker:
        fmt = _FORMATS[marker.group(1).lower()]
        chars = chars[marker.end() :]
    opening = _find(chars, "{")
    if opening < 0:
        raise ValueError("no answers: a GIFT question needs its answers in { }")
    closing = _find(chars, "}", opening + 1)
    if closing < 0:
        raise ValueError("the answers open with { but never close with }")
    if _find(chars, "{", opening + 1) not in (-1,) and _find(chars, "{", opening + 1) < closing:
        raise ValueError("a { inside the answers: write \\{ for the character")
    stem = _plain(chars[:opening]).strip()
    after = _plain(chars[closing + 1 :]).strip()
    try:
        kind, options, general, detail = _answers(chars[opening + 1 : closing], fmt)
    except ValueError as error:
        raise ValueError(str(error)) from None
    feedback = ((general, fmt),) if general else ()
    make = partial(SourceItem, source=where, title=title, source_id=title, stem=stem or after, stem_format=fmt, category=category)
    if after and stem:
        return make(kind="cloze", feedback=feedback, detail="missing-word format: text continues after the answers")
    if kind == "short_answer_essay":
        return make(kind="short_answer", feedback=feedback)
    if kind == "short_answer":
        extra = tuple((o.feedback, fmt) for o in options if o.feedback)
        return make(kind="short_answer", model_answers=tuple(o.text for o in options), feedback=feedback + extra)
    if kind == "choice":
        keys = [o for o in options if o.fraction > 0]
        single = len(keys) == 1 and not any(0 < o.fraction < 1 for o in options)
        return make(kind="mcq" if single else "multi_answer", options=options, feedback=feedback)
    return make(kind=kind, detail=detail, feedback=feedback)
