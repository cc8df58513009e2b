"""Moodle XML (Moodle's question bank export) read into SourceItems.

`<quiz>` holds `<question type="...">` elements; a `type="category"` question sets the category
of those after it. multichoice (single), shortanswer and essay map; every other type is refused
with its reason. This project's own Moodle export (moodle_export) adds tags that carry the
question's KSBs and review record, read back here so a round trip gives the same questions.
"""

from __future__ import annotations

import datetime as dt
import re
from xml.etree.ElementTree import Element

from .model import Native, SourceItem, SourceOption
from .safe_io import LocatedTree, SourceError, parse_xml
from .text import html_to_text

# Moodle's type names and the refusal kinds of model.REFUSED_KINDS they belong to.
_REFUSED_TYPES = {
    "truefalse": "truefalse",
    "matching": "matching",
    "randomsamatch": "random",
    "numerical": "numerical",
    "calculated": "calculated",
    "calculatedsimple": "calculated",
    "calculatedmulti": "calculated",
    "cloze": "cloze",
    "multianswer": "cloze",
    "gapselect": "cloze",
    "ddwtos": "drag_and_drop",
    "ddimageortext": "drag_and_drop",
    "ddmarker": "drag_and_drop",
    "ordering": "ordering",
    "description": "description",
    "random": "random",
}
NATIVE_TAG = "bank:"  # our export's tags: bank:status=approved, bank:author=..., bank:enemy=...
_GUIDE_HEADINGS = {
    "Indicative content": "indicative_content",
    "Two marks": "two_marks",
    "One mark": "one_mark",
    "Zero marks": "zero_marks",
    "Acceptable alternatives": "acceptable_alternatives",
}


def _text_of(element: Element | None) -> tuple[str, str]:
    """(text, format) of a Moodle text holder: <questiontext format="html"><text>...</text>."""
    if element is None:
        return "", "plain_text"
    inner = element.find("text")
    raw = inner.text if inner is not None and inner.text is not None else ""
    return raw, element.get("format", "html" if element.tag != "name" else "plain_text")


def _plain(element: Element | None) -> str:
    raw, fmt = _text_of(element)
    return (html_to_text(raw)[0] if fmt == "html" else raw).strip()


def read_guide(html: str) -> dict[str, object] | None:
    """A marking guide written by moodle_export (headings then lists or paragraphs), else None."""
    sections = re.split(r"<h4>(.*?)</h4>", html)
    if len(sections) < 3 or sections[0].strip():
        return None
    guide: dict[str, object] = {"acceptable_alternatives": []}
    for heading, body in zip(sections[1::2], sections[2::2]):
        key = _GUIDE_HEADINGS.get(heading.strip())
        if key is None:
            return None
        if key in {"indicative_content", "acceptable_alternatives"}:
            guide[key] = [html_to_text(item)[0] for item in re.findall(r"<li>(.*?)</li>", body, re.DOTALL)]
        else:
            guide[key] = html_to_text(body)[0]
    return guide if all(k in guide for k in ("indicative_content", "two_marks", "one_mark", "zero_marks")) else None


def _native(tags: list[str], guide: dict[str, object] | None) -> Native | None:
    values: dict[str, list[str]] = {}
    for tag in tags:
        if tag.startswith(NATIVE_TAG) and "=" in tag:
            key, value = tag[len(NATIVE_TAG) :].split("=", 1)
            values.setdefault(key, []).append(value)
    if not values:
        return None

    def one(key: str) -> str | None:
        return values.get(key, [None])[0]

    def day(key: str) -> dt.date | None:
        value = one(key)
        try:
            return dt.date.fromisoformat(value) if value else None
        except ValueError:
            return None

    return Native(
        id=one("id"),
        ksb=tuple(values.get("ksb", [])),
        status=one("status"),
        author=one("author"),
        last_reviewed=day("last_reviewed"),
        reviewer=one("reviewer"),
        next_due=day("next_due"),
        enemies=tuple(values.get("enemy", [])),
        guide=guide,
    )


def _question(element: Element, where: str, category: str | None) -> SourceItem:
    qtype = element.get("type", "")
    title = _plain(element.find("name")) or None
    idnumber = (element.findtext("idnumber") or "").strip() or None
    stem, stem_format = _text_of(element.find("questiontext"))
    tags = [(tag.findtext("text") or "").strip() for tag in element.findall("tags/tag")]
    native_tags = [t for t in tags if t.startswith(NATIVE_TAG)]
    plain_tags = tuple(t for t in tags if t and not t.startswith(NATIVE_TAG))
    feedback: list[tuple[str, str]] = []
    general = _text_of(element.find("generalfeedback"))
    if general[0].strip():
        feedback.append(general)
    grade = element.findtext("defaultgrade")
    try:
        marks = float(grade) if grade else None
    except ValueError:
        raise ValueError(f"defaultgrade {grade!r} is not a number") from None
    common = {
        "source": where,
        "title": title,
        "source_id": idnumber,
        "stem": stem,
        "stem_format": stem_format,
        "tags": plain_tags,
        "category": category,
        "source_marks": marks,
    }
    if qtype in _REFUSED_TYPES:
        return SourceItem(kind=_REFUSED_TYPES[qtype], feedback=tuple(feedback), **common)  # type: ignore[arg-type]
    if qtype == "multichoice":
        options = []
        for answer in element.findall("answer"):
            raw, fmt = _text_of(answer)
            fraction_text = answer.get("fraction", "0")
            try:
                fraction = float(fraction_text) / 100
            except ValueError:
                raise ValueError(f"answer fraction {fraction_text!r} is not a number") from None
            fb, fb_format = _text_of(answer.find("feedback"))
            options.append(SourceOption(raw, fmt, fraction, fb, fb_format))
        single = (element.findtext("single") or "true").strip().lower() in {"true", "1"}
        kind = "mcq" if single else "multi_answer"
        return SourceItem(
            kind=kind, options=tuple(options), feedback=tuple(feedback), native=_native(native_tags, None), **common
        )  # type: ignore[arg-type]
    if qtype == "shortanswer":
        answers = []
        for answer in element.findall("answer"):
            raw, fmt = _text_of(answer)
            if float(answer.get("fraction", "0") or 0) > 0:
                answers.append(html_to_text(raw)[0] if fmt == "html" else raw.strip())
            fb = _text_of(answer.find("feedback"))
            if fb[0].strip():
                feedback.append(fb)
        return SourceItem(
            kind="short_answer",
            model_answers=tuple(answers),
            feedback=tuple(feedback),
            native=_native(native_tags, None),
            **common,
        )  # type: ignore[arg-type]
    if qtype == "essay":
        grader, grader_format = _text_of(element.find("graderinfo"))
        guide = read_guide(grader) if native_tags and grader_format == "html" else None
        if grader.strip() and guide is None:
            feedback.append((grader, grader_format))
        template, template_format = _text_of(element.find("responsetemplate"))
        if template.strip():
            feedback.append((template, template_format))
        return SourceItem(kind="short_answer", feedback=tuple(feedback), native=_native(native_tags, guide), **common)  # type: ignore[arg-type]
    return SourceItem(kind=qtype or "untyped", **common)  # type: ignore[arg-type]


def read_moodle_xml(data: bytes, file: str) -> tuple[list[SourceItem], list[SourceError]]:
    """Every question in a Moodle XML file; a broken one is an error at its line, the rest go on."""
    tree: LocatedTree = parse_xml(data, file)
    if tree.root.tag != "quiz":
        raise SourceError(f"{file}:{tree.line(tree.root)}", f"is not Moodle XML: the root is <{tree.root.tag}>, not <quiz>")
    items: list[SourceItem] = []
    errors: list[SourceError] = []
    category: str | None = None
    for element in tree.root:
        where = f"{file}:{tree.line(element)}"
        if element.tag != "question":
            errors.append(SourceError(where, f"unexpected <{element.tag}> in <quiz>: only <question> elements are read"))
            continue
        if element.get("type") == "category":
            category = (element.findtext("category/text") or "").strip() or None
            continue
        try:
            items.append(_question(element, where, category))
        except ValueError as error:
            errors.append(SourceError(where, str(error)))
    return items, errors
