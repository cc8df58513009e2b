"""What a proposed revision changes, word by word, for the reviewer who approves or rejects it.

Both versions are flattened into labelled texts (the stem, each option and its rationale, the key,
each part of a marking guide), and each pair is compared at the level of words with difflib. The
page shows insertions and deletions with <ins> and <del> and says "added"/"removed" in words, so the
change never rests on colour alone.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Op = Literal["same", "added", "removed"]
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass(frozen=True)
class Segment:
    op: Op
    text: str


@dataclass(frozen=True)
class FieldChange:
    label: str
    segments: tuple[Segment, ...]

    @property
    def changed(self) -> bool:
        return any(segment.op != "same" for segment in self.segments)


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def labelled_texts(stem: str, content: Mapping[str, Any]) -> dict[str, str]:
    """A version as {label: text}, in reading order: the stem, then the content fields.

    Lists of options (mappings with `text`) are lettered; their `correct` flags become one
    "Correct option" entry (the key); lists of strings are one text, a line each.
    """
    out: dict[str, str] = {"Question wording (stem)": stem}
    for key, value in content.items():
        _flatten(out, _label(key), value)
    return out


def _flatten(out: dict[str, str], label: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten(out, f"{label}: {_label(key)}", inner)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        if value and all(isinstance(item, Mapping) and "text" in item for item in value):
            singular = label.removesuffix("s")
            keys: list[str] = []
            for i, item in enumerate(value):
                letter = string.ascii_uppercase[i] if i < 26 else str(i + 1)
                out[f"{singular} {letter}"] = str(item.get("text") or "")
                if item.get("rationale"):
                    out[f"{singular} {letter}: rationale"] = str(item["rationale"])
                if item.get("correct"):
                    keys.append(letter)
            out[f"Correct {singular.lower()}"] = ", ".join(keys)
        else:
            out[label] = "\n".join(str(item) for item in value)
    elif value is not None:
        out[label] = str(value)


def word_diff(before: str, after: str) -> tuple[Segment, ...]:
    """Words (and the spaces and punctuation between them) kept, removed and added, in order."""
    old, new = _TOKEN.findall(before), _TOKEN.findall(after)
    segments: list[Segment] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            segments.append(Segment("same", "".join(old[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            segments.append(Segment("removed", "".join(old[i1:i2])))
        if tag in ("insert", "replace"):
            segments.append(Segment("added", "".join(new[j1:j2])))
    return tuple(segments)


def revision_changes(
    before_stem: str, before_content: Mapping[str, Any], after_stem: str, after_content: Mapping[str, Any]
) -> list[FieldChange]:
    """Every field that differs between two versions, with its word-level diff (unchanged fields left out)."""
    before = labelled_texts(before_stem, before_content)
    after = labelled_texts(after_stem, after_content)
    labels = list(dict.fromkeys([*before, *after]))
    changes = [FieldChange(label, word_diff(before.get(label, ""), after.get(label, ""))) for label in labels]
    return [change for change in changes if change.changed]
