"""Writing a standard back to files (export): spec.yaml and questions/<first KSB>.yaml.

The files are written so that load_standard reads back the same questions (same fingerprints,
same review record) and a reviewer can read and diff them: keys in documented order, short
lists and the review record on one line, multi-line text as literal blocks.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .loader import QUESTION_SUFFIXES, QUESTIONS_DIR, SPEC_FILE
from .questions import BankQuestion


class _Flow(list[Any]):
    """A list written on one line: [K3, K17]."""


class _FlowMap(dict[str, Any]):
    """A mapping written on one line: {last_reviewed: ..., reviewer: ..., next_due: ...}."""


class _BankDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        # A date shared by two fields is written twice, never as an &anchor a reviewer must chase.
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key, as the hand-written files do.
        super().increase_indent(flow, False)


_FOLD_AFTER = 80  # longer single-line text is written folded (>-), like the hand-written stems


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # The emitter falls back to a quoted style whenever a block style could not hold the text.
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if len(value) > _FOLD_AFTER:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=">")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _represent_flow(dumper: yaml.SafeDumper, value: _Flow) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)


def _represent_flow_map(dumper: yaml.SafeDumper, value: _FlowMap) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=True)


_BankDumper.add_representer(str, _represent_str)
_BankDumper.add_representer(_Flow, _represent_flow)
_BankDumper.add_representer(_FlowMap, _represent_flow_map)

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def _dump(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=_BankDumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )


_SMALL_MAPPING = 3


def _styled(value: Any) -> Any:
    """Spec data with lists of plain values and small plain mappings marked to go on one line."""
    if isinstance(value, Mapping):
        items = {str(k): _styled(v) for k, v in value.items()}
        plain = all(not isinstance(v, list | dict) for v in items.values())
        return _FlowMap(items) if plain and 0 < len(items) <= _SMALL_MAPPING else items
    if isinstance(value, list):
        items_list = [_styled(v) for v in value]
        return _Flow(items_list) if all(not isinstance(v, list | dict) for v in items_list) else items_list
    return value


def _file_form(question: BankQuestion) -> dict[str, Any]:
    data = question.to_file_dict()
    data["ksb"] = _Flow(data["ksb"])
    data["review"] = _FlowMap(data["review"])
    if "enemies" in data:
        data["enemies"] = _Flow(data["enemies"])
    return data


def _file_name(question: BankQuestion) -> str:
    first = question.ksb[0] if question.ksb else "unassigned"
    return _UNSAFE_NAME.sub("_", first) + ".yaml"


def _write_atomic(path: Path, text: str) -> None:
    """Write beside the target and rename, so a failed export never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_standard(folder: Path, spec_raw: Mapping[str, Any], questions: Sequence[BankQuestion]) -> None:
    """Export a standard: spec.yaml plus one questions file per first KSB, questions in id order.

    The questions/ folder ends up holding exactly this bank: question files from an earlier
    export that are not rewritten are removed, because a stale file would load as duplicates.
    """
    folder.mkdir(parents=True, exist_ok=True)
    spec_data = {key: _styled(value) for key, value in spec_raw.items()}
    _write_atomic(folder / SPEC_FILE, _dump(spec_data))

    titles = spec_raw.get("ksbs") if isinstance(spec_raw.get("ksbs"), Mapping) else {}
    groups: dict[str, list[BankQuestion]] = defaultdict(list)
    for question in questions:
        groups[_file_name(question)].append(question)
    directory = folder / QUESTIONS_DIR
    for name, group in sorted(groups.items()):
        ordered = sorted(group, key=lambda q: q.id)
        ksb = ordered[0].ksb[0] if ordered[0].ksb else ""
        title = titles.get(ksb) if isinstance(titles, Mapping) else None
        header = f"# {ksb} {title}\n" if isinstance(title, str) and "\n" not in title else ""
        body = _dump({"questions": [_file_form(q) for q in ordered]})
        spaced = body.replace("\n  - id:", "\n\n  - id:").replace("questions:\n\n", "questions:\n", 1)
        _write_atomic(directory / name, header + spaced)
    if directory.is_dir():
        for path in directory.iterdir():
            if path.is_file() and path.suffix in QUESTION_SUFFIXES and path.name not in groups:
                path.unlink()


def question_file_text(entries: Sequence[tuple[Sequence[str], Mapping[str, Any]]]) -> str:
    """A question file from (comment lines, question mapping) pairs, written as export writes them.

    Comments go above their question (a converted question's source, what was dropped); the
    mappings are in bank-file form (BankQuestion.to_file_dict order).
    """
    blocks: list[str] = []
    for comments, question in entries:
        data = dict(question)
        data["ksb"] = _Flow(data.get("ksb") or [])
        data["review"] = _FlowMap(data["review"])
        if "enemies" in data:
            data["enemies"] = _Flow(data["enemies"])
        body = _dump([data])
        lines = "".join(f"  # {line}\n" for comment in comments for line in comment.splitlines())
        blocks.append(lines + "".join(f"  {line}\n" if line else "\n" for line in body.splitlines()))
    return "questions:\n" + "\n".join(blocks) if blocks else "questions: []\n"
