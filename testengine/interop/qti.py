"""QTI 2.1 and 3.0 items (loose, in a folder, or in a content package) read into SourceItems.

QTI 3.0's kebab-case names (qti-choice-interaction, max-choices) are read as their QTI 2.1
equivalents (choiceInteraction, maxChoices), so one reader serves both. A choiceInteraction with
one choice to make, an extendedTextInteraction and a textEntryInteraction map; other
interactions are refused by name. The key comes from responseDeclaration/correctResponse (or,
failing that, a mapping with one positive entry), whichever standard response-processing template
the item names. A package's manifest is read first: items it lists that are missing are reported
by package path, and what is present is converted.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from xml.etree.ElementTree import Element, tostring

from .model import Native, SourceItem, SourceOption
from .safe_io import (
    Limits,
    LocatedTree,
    Package,
    SourceError,
    local,
    parse_xml,
    read_limited,
    safe_member,
)
from .text import html_to_text

BANK_NS = "urn:testengine:bank:1"  # the block this project's export writes into a resource's metadata
MANIFEST = "imsmanifest.xml"
TEMPLATES = frozenset(
    f"{base}/{name}"
    for base in (
        "http://www.imsglobal.org/question/qti_v2p1/rptemplates",
        "http://www.imsglobal.org/question/qti_v2p2/rptemplates",
        "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates",
        "http://purl.imsglobal.org/spec/qti/v3p0/rptemplates",
    )
    for name in (
        "match_correct",
        "map_response",
        "map_response_point",
        "match_correct.xml",
        "map_response.xml",
        "map_response_point.xml",
    )
)
_INTERACTION_KINDS = {
    "orderInteraction": "ordering",
    "graphicOrderInteraction": "ordering",
    "matchInteraction": "matching",
    "associateInteraction": "matching",
    "graphicAssociateInteraction": "matching",
    "gapMatchInteraction": "drag_and_drop",
    "graphicGapMatchInteraction": "drag_and_drop",
    "positionObjectInteraction": "drag_and_drop",
    "inlineChoiceInteraction": "cloze",
    "sliderInteraction": "numerical",
}
_SUPPORTED = frozenset({"choiceInteraction", "extendedTextInteraction", "textEntryInteraction"})
_GUIDE_CLASSES = {
    "indicative-content": "indicative_content",
    "two-marks": "two_marks",
    "one-mark": "one_mark",
    "zero-marks": "zero_marks",
    "acceptable-alternatives": "acceptable_alternatives",
}


def _camel(name: str) -> str:
    if name.startswith("qti-"):
        head, *rest = name[4:].split("-")
        return head + "".join(part.capitalize() for part in rest)
    if "-" in name:
        head, *rest = name.split("-")
        return head + "".join(part.capitalize() for part in rest)
    return name


def normalise(element: Element) -> None:
    """Rewrite a tree in place to QTI 2.1 local names: no namespaces, camelCase elements and attributes."""
    for node in element.iter():
        tag = local(node.tag) if isinstance(node.tag, str) else node.tag
        node.tag = _camel(tag) if tag.startswith("qti-") else tag
        if node.tag == "contentBody":  # QTI 3.0 wraps rubric content in it; it is a plain block
            node.tag = "div"
        if node.attrib:
            node.attrib = {
                (_camel(local(k)) if not k.startswith("{http://www.w3.org/XML") else local(k)): v for k, v in node.attrib.items()
            }


def _inner_html(element: Element) -> str:
    return (element.text or "") + "".join(tostring(child, encoding="unicode") for child in element)


def _remove(parent: Element, child: Element, replacement: str = "") -> None:
    """Take `child` out of `parent`, keeping its tail text (and putting `replacement` in its place)."""
    children = list(parent)
    index = children.index(child)
    text = replacement + (child.tail or "")
    if index == 0:
        parent.text = (parent.text or "") + text
    else:
        previous = children[index - 1]
        previous.tail = (previous.tail or "") + text
    parent.remove(child)


def _parents(root: Element) -> dict[int, Element]:
    return {id(child): parent for parent in root.iter() for child in parent}


def _texts(element: Element) -> str:
    return html_to_text(_inner_html(element))[0]


def _guide(rubric: Element) -> dict[str, object] | None:
    found: dict[str, object] = {"acceptable_alternatives": []}
    for div in rubric.iter("div"):
        key = _GUIDE_CLASSES.get(div.get("class", ""))
        if key is None:
            continue
        for heading in div.findall("h4"):
            div.remove(heading)
        if key in {"indicative_content", "acceptable_alternatives"}:
            found[key] = [_texts(li) for li in div.iter("li")]
        else:
            found[key] = _texts(div)
    required = ("indicative_content", "two_marks", "one_mark", "zero_marks")
    return found if all(key in found for key in required) else None


def _declarations(item: Element) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for decl in item.findall("responseDeclaration"):
        correct = [(v.text or "").strip() for v in decl.findall("correctResponse/value")]
        mapping = {
            entry.get("mapKey", ""): float(entry.get("mappedValue", "0") or 0) for entry in decl.findall("mapping/mapEntry")
        }
        out[decl.get("identifier", "")] = {
            "cardinality": decl.get("cardinality", "single"),
            "correct": correct,
            "mapping": mapping,
        }
    return out


def read_item(data: bytes, where: str, native: Native | None = None, tags: tuple[str, ...] = ()) -> SourceItem:
    """One QTI 2.1 or 3.0 item file."""
    tree: LocatedTree = parse_xml(data, where)
    root = tree.root
    line = tree.line(root)
    normalise(root)
    source = f"{where}:{line}"
    if root.tag != "assessmentItem":
        raise SourceError(source, f"is not a QTI item: the root is <{root.tag}>, not an assessment item")
    identifier = root.get("identifier") or None
    title = root.get("title") or None
    body = root.find("itemBody")
    if body is None:
        raise SourceError(source, "has no item body")
    try:
        declarations = _declarations(root)
    except ValueError as error:
        raise SourceError(source, f"a response declaration's mapped value is not a number ({error})") from None
    notes: list[str] = []
    processing = root.find("responseProcessing")
    if processing is not None:
        template = processing.get("template")
        if template and template not in TEMPLATES:
            notes.append(
                f"response processing template {template} is not a standard one: the key is read from the response declaration"
            )
        elif not template and len(processing):
            notes.append("custom response processing dropped: the key is read from the response declaration")
    feedback: list[tuple[str, str]] = [(_inner_html(fb), "html") for fb in root.findall("modalFeedback")]

    body = copy.deepcopy(body)
    parents = _parents(body)
    guide = None
    for rubric in [r for r in body.iter("rubricBlock")]:
        if "scorer" in (rubric.get("view") or "") or "tutor" in (rubric.get("view") or ""):
            guide = _guide(copy.deepcopy(rubric))
            if guide is None:
                feedback.append((_inner_html(rubric), "html"))
        _remove(parents[id(rubric)], rubric)
    interactions = [e for e in body.iter() if isinstance(e.tag, str) and e.tag.endswith("Interaction")]
    common = {"source": source, "title": title, "source_id": identifier, "tags": tags, "notes": tuple(notes)}
    if not interactions:
        return SourceItem(kind="no_interaction", stem=_inner_html(body), stem_format="html", **common)  # type: ignore[arg-type]
    if len(interactions) > 1:
        names = ", ".join(sorted({e.tag for e in interactions}))
        return SourceItem(kind="composite", detail=names, stem=_inner_html(body), stem_format="html", **common)  # type: ignore[arg-type]
    (interaction,) = interactions
    name = interaction.tag
    if name not in _SUPPORTED:
        return SourceItem(  # type: ignore[arg-type]
            kind=_INTERACTION_KINDS.get(name, "other"), detail=name, stem=_inner_html(body), stem_format="html", **common
        )
    declaration = declarations.get(
        interaction.get("responseIdentifier", ""), {"cardinality": "single", "correct": [], "mapping": {}}
    )
    prompt = interaction.find("prompt")
    prompt_html = _inner_html(prompt) if prompt is not None else ""
    if name == "choiceInteraction":
        choices = interaction.findall("simpleChoice")
        options = []
        correct = list(declaration["correct"])  # type: ignore[call-overload]
        mapping: dict[str, float] = declaration["mapping"]  # type: ignore[assignment]
        if not correct and mapping:
            positive = [key for key, value in mapping.items() if value > 0]
            correct = positive
        for choice in choices:
            choice = copy.deepcopy(choice)
            choice_feedback = ""
            for inline in [f for f in choice.iter("feedbackInline")]:
                choice_feedback += _inner_html(inline)
                _remove(_parents(choice)[id(inline)], inline)
            fraction = 1.0 if choice.get("identifier") in correct else 0.0
            options.append(SourceOption(_inner_html(choice), "html", fraction, choice_feedback, "html"))
        _remove(parents[id(interaction)], interaction, prompt_html)
        stem = _inner_html(body)
        max_choices = interaction.get("maxChoices", "1")
        if declaration["cardinality"] != "single" or max_choices not in {"1"}:
            return SourceItem(kind="multi_answer", stem=stem, stem_format="html", options=tuple(options), **common)  # type: ignore[arg-type]
        if not correct:
            return SourceItem(kind="no_key", stem=stem, stem_format="html", **common)  # type: ignore[arg-type]
        return SourceItem(  # type: ignore[arg-type]
            kind="mcq", stem=stem, stem_format="html", options=tuple(options), feedback=tuple(feedback), native=native, **common
        )
    answers = [value for value in declaration["correct"] if value]  # type: ignore[attr-defined]
    answers += [key for key, value in declaration["mapping"].items() if value > 0 and key not in answers]  # type: ignore[attr-defined]
    if name == "textEntryInteraction":
        _remove(parents[id(interaction)], interaction, "_____")
    else:
        _remove(parents[id(interaction)], interaction, prompt_html)
    if guide is not None:
        native = Native(**{**(native.__dict__ if native else {}), "guide": guide})
    return SourceItem(
        kind="short_answer",
        stem=_inner_html(body),
        stem_format="html",
        model_answers=tuple(answers),
        feedback=tuple(feedback),
        native=native,
        **common,  # type: ignore[arg-type]
    )


# --- packages ------------------------------------------------------------------------------------


class _Folder:
    """An unpacked package: the same reads as Package, nothing outside the folder, no links."""

    def __init__(self, root: Path, limits: Limits) -> None:
        self.path = root
        self.root = root.resolve()
        self.limits = limits

    def has(self, name: str) -> bool:
        target = self.root / name
        return target.is_file() and not target.is_symlink() and target.resolve().is_relative_to(self.root)

    def read(self, name: str) -> bytes:
        return read_limited(self.root / name, self.limits)

    def close(self) -> None:
        pass


def _native(resource: Element) -> tuple[Native | None, tuple[str, ...]]:
    tags = tuple(
        (string.text or "").strip()
        for keyword in resource.iter()
        if local(keyword.tag) == "keyword"
        for string in keyword
        if local(string.tag) == "string" and (string.text or "").strip()
    )
    block = next((e for e in resource.iter() if e.tag == f"{{{BANK_NS}}}question"), None)
    if block is None:
        return None, tags

    def one(name: str) -> str | None:
        found = block.find(f"{{{BANK_NS}}}{name}")
        return (found.text or "").strip() if found is not None else None

    def day(name: str) -> dt.date | None:
        value = one(name)
        try:
            return dt.date.fromisoformat(value) if value else None
        except ValueError:
            return None

    native = Native(
        id=one("id"),
        ksb=tuple((e.text or "").strip() for e in block.findall(f"{{{BANK_NS}}}ksb")),
        status=one("status"),
        author=one("author"),
        last_reviewed=day("last-reviewed"),
        reviewer=one("reviewer"),
        next_due=day("next-due"),
        enemies=tuple((e.text or "").strip() for e in block.findall(f"{{{BANK_NS}}}enemy")),
    )
    return native, tags


def _read_package(package: Package | _Folder, label: str) -> tuple[list[SourceItem], list[SourceError]]:
    items: list[SourceItem] = []
    errors: list[SourceError] = []
    if not package.has(MANIFEST):
        raise SourceError(label, f"has no {MANIFEST}: a QTI content package lists its items there")
    tree = parse_xml(package.read(MANIFEST), f"{label}!{MANIFEST}")
    for resource in tree.root.iter():
        if local(resource.tag) != "resource" or "imsqti_item" not in (resource.get("type") or ""):
            continue
        where = f"{label}!{MANIFEST}:{tree.line(resource)}"
        href = resource.get("href") or next((f.get("href") for f in resource if local(f.tag) == "file" and f.get("href")), None)
        name = safe_member(href or "")
        if name is None:
            errors.append(SourceError(where, f"item path {href!r} is missing or points outside the package"))
            continue
        if not package.has(name):
            errors.append(SourceError(where, f"lists {name}, which is not in the package"))
            continue
        native, tags = _native(resource)
        try:
            items.append(read_item(package.read(name), f"{label}!{name}", native, tags))
        except SourceError as error:
            errors.append(error)
    return items, errors


def read_qti(path: Path, limits: Limits) -> tuple[list[SourceItem], list[SourceError]]:
    """A package (zip), an unpacked package (folder with a manifest), or one item file."""
    if path.is_dir():
        return _read_package(_Folder(path, limits), str(path))
    if path.suffix.lower() == ".zip":
        package = Package(path, limits)
        try:
            return _read_package(package, str(path))
        finally:
            package.close()
    try:
        return [read_item(read_limited(path, limits), str(path))], []
    except SourceError as error:
        return [], [error]
