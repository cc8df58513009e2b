"""Read YAML safely and remember where every value came from, so problems can say FILE:LINE.

PyYAML's loaders throw positions away and quietly keep the last of two equal keys. Here the
document is composed with the SafeLoader (no object construction), then walked node by node:
each mapping, sequence and scalar records its 1-based line under its path, duplicate keys and
non-standard tags are refused, and aliases are refused too (bank files are reviewed text; a value
should be read where it is written, and a walk over aliases can blow up exponentially).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

#: A value's place in a document: mapping keys and sequence indexes from the root.
YamlPath = tuple[str | int, ...]

_STANDARD = "tag:yaml.org,2002:"
_ALLOWED_SCALAR_TAGS = frozenset(_STANDARD + name for name in ("str", "int", "float", "bool", "null", "timestamp"))
_MAP = _STANDARD + "map"
_SEQ = _STANDARD + "seq"


@dataclass(frozen=True)
class YamlIssue:
    """A problem found while reading the YAML itself (1-based line)."""

    line: int
    message: str


class YamlError(Exception):
    """The file could not be read as a bank document; `issues` says every reason found."""

    def __init__(self, issues: list[YamlIssue]) -> None:
        super().__init__("; ".join(f"line {i.line}: {i.message}" for i in issues))
        self.issues = issues


@dataclass(frozen=True)
class LineMap:
    """The line each path starts on. A path with no entry (a missing field) borrows its parent's."""

    lines: dict[YamlPath, int] = field(default_factory=dict)

    def line_of(self, path: YamlPath) -> int:
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1


@dataclass(frozen=True)
class LocatedDocument:
    """Plain Python data (dict, list, str, int, float, bool, None, date) and where each part is."""

    data: Any
    lines: LineMap


class _Loader(yaml.SafeLoader):
    """The safe loader, noting where each alias is used (a composed alias is just the anchored
    node again, so its own position would otherwise be lost)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_lines: list[int] = []

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(AliasEvent):
            event: AliasEvent = self.peek_event()  # type: ignore[no-untyped-call]
            self.alias_lines.append(event.start_mark.line + 1 if event.start_mark else 1)
        return super().compose_node(parent, index)


def _tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_STANDARD) if tag.startswith(_STANDARD) else tag


class _Walker:
    def __init__(self) -> None:
        self.lines: dict[YamlPath, int] = {}
        self.issues: list[YamlIssue] = []
        self.seen: set[int] = set()
        self.constructor = yaml.SafeLoader("")

    def fail(self, node: Node, message: str) -> None:
        self.issues.append(YamlIssue(node.start_mark.line + 1, message))

    def walk(self, node: Node, path: YamlPath, line: int | None = None) -> Any:
        self.lines[path] = line if line is not None else node.start_mark.line + 1
        if id(node) in self.seen:
            return None  # an alias, already reported where it is used
        self.seen.add(id(node))
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                self.fail(node, f"YAML tag {_tag(node.tag)!r} is not allowed; use plain lists")
                return None
            return [self.walk(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        if node.tag not in _ALLOWED_SCALAR_TAGS:
            self.fail(
                node,
                f"YAML tag {_tag(node.tag)!r} is not allowed; use plain text, numbers, true/false and dates",
            )
            return None
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError) as error:
            self.fail(node, f"cannot read {node.value!r}: {error}")
            return None

    def _mapping(self, node: MappingNode, path: YamlPath) -> dict[str, Any] | None:
        if node.tag != _MAP:
            self.fail(node, f"YAML tag {_tag(node.tag)!r} is not allowed; use plain mappings")
            return None
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _STANDARD + "merge":
                self.fail(key_node, "merge keys (<<) are not allowed in bank files; write the fields out")
                continue
            if not isinstance(key_node, ScalarNode):
                self.fail(key_node, "a key must be a plain name, not a list or mapping")
                continue
            if key_node.tag not in _ALLOWED_SCALAR_TAGS:
                self.fail(key_node, f"YAML tag {_tag(key_node.tag)!r} is not allowed")
                continue
            key = str(key_node.value)
            key_line = key_node.start_mark.line + 1
            if key in first_line:
                self.fail(
                    key_node,
                    f"duplicate key {key!r} (first at line {first_line[key]}); YAML would keep only the last",
                )
                continue
            first_line[key] = key_line
            # A field's line is the line of its key: that is where a reader looks for it.
            out[key] = self.walk(value_node, (*path, key), key_line)
        return out


def _compose(text: str) -> tuple[Node | None, list[int]]:
    """The document's node tree and the lines where aliases are used.

    libyaml's composer (when PyYAML has it) is about ten times faster, which keeps `bank validate` of a
    whole bank well under a second. It cannot say where an alias is used, and its error texts differ, so
    a document with an alias (a node met twice) or a syntax error is composed again in Python, whose
    answer is the one reported.
    """
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        loader = fast(text)
        try:
            root = loader.get_single_node()
        except yaml.YAMLError:
            root = None
            failed = True
        else:
            failed = False
        finally:
            loader.dispose()
        if not failed and not _has_repeated_node(root):
            return root, []
    slow = _Loader(text)
    try:
        return slow.get_single_node(), slow.alias_lines
    finally:
        slow.dispose()


def _has_repeated_node(root: Node | None) -> bool:
    seen: set[int] = set()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return True
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key, value in node.value:
                stack += (key, value)
        elif isinstance(node, SequenceNode):
            stack += node.value
    return False


def load_yaml(text: str) -> LocatedDocument:
    """Parse one YAML document from `text`; raise YamlError listing every problem found.

    An empty document is data None (the caller decides whether that is acceptable).
    """
    try:
        root, alias_lines = _compose(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = " ".join(part for part in (error.context, error.problem) if part)
        raise YamlError([YamlIssue(line, f"YAML syntax error: {what}")]) from None
    except yaml.YAMLError as error:
        raise YamlError([YamlIssue(1, f"YAML syntax error: {error}")]) from None
    if root is None:
        return LocatedDocument(None, LineMap({(): 1}))
    walker = _Walker()
    walker.issues += [
        YamlIssue(line, "aliases (*name) are not allowed in bank files; write the value out") for line in alias_lines
    ]
    data = walker.walk(root, ())
    if walker.issues:
        raise YamlError(sorted(walker.issues, key=lambda issue: issue.line))
    return LocatedDocument(data, LineMap(walker.lines))
