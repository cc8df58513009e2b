"""Loading a standard's folder (spec.yaml + questions/*.yaml) with every problem as FILE:LINE.

All or nothing: load_standard returns a LoadedStandard only when every file is clean, otherwise
it raises BankValidationError listing every problem in every file, so a bank is never imported
half-checked and its writers fix everything in one pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..domain.standards import StandardSpec
from .questions import BankQuestion, read_question
from .schema import ID_PATTERN, Issue
from .spec import read_spec, spec_ksbs
from .yaml_lines import LineMap, LocatedDocument, YamlError, YamlPath, load_yaml

SPEC_FILE = "spec.yaml"
QUESTIONS_DIR = "questions"
QUESTION_SUFFIXES = (".yaml", ".yml")
# A bank file is a few kilobytes per question; anything near this is a mistake (or an attack), and
# parsing it first would take minutes. The TESTENGINE_BANK_MAX_FILE_BYTES setting overrides it.
DEFAULT_MAX_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Problem:
    file: str
    line: int  # 0: the whole file (it was never parsed, so no line applies)
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


class BankValidationError(Exception):
    """A standard's files are not fit to load; `problems` holds every reason, str() one per line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


@dataclass(frozen=True)
class LoadedStandard:
    spec: StandardSpec
    spec_raw: dict[str, Any]  # the spec document as plain data (what the database keeps)
    questions: tuple[BankQuestion, ...]
    folder: Path


def _dotted(path: YamlPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _spec_problem(file: str, lines: LineMap, issue: Issue) -> Problem:
    where = _dotted(issue.path)
    return Problem(file, lines.line_of(issue.path), f"{where}: {issue.message}" if where else issue.message)


def _too_large(path: Path, size: int, limit: int) -> Problem:
    return Problem(
        str(path),
        0,
        f"is {size:,} bytes, over the limit of {limit:,} bytes for one bank file "
        "(TESTENGINE_BANK_MAX_FILE_BYTES); split its questions over several files",
    )


def _read_yaml(path: Path, problems: list[Problem], max_bytes: int) -> LocatedDocument | None:
    """Parse one bank file; a file over `max_bytes` is refused before a byte of it is parsed."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            problems.append(_too_large(path, size, max_bytes))
            return None
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)  # never more, even if the file grew since the stat
        if len(raw) > max_bytes:
            problems.append(_too_large(path, len(raw), max_bytes))
            return None
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(Problem(str(path), 1, "is not UTF-8 text"))
        return None
    except OSError as error:
        problems.append(Problem(str(path), 1, f"cannot be read: {error.strerror or error}"))
        return None
    try:
        return load_yaml(text)
    except YamlError as error:
        problems.extend(Problem(str(path), issue.line, issue.message) for issue in error.issues)
        return None


def _outside(path: Path, root: Path) -> str | None:
    """Why `path` may not be read as part of the bank at `root` (resolved), or None when it may.

    A bank is reviewed content: a link could pull in a file nobody reviewed (or one the server
    should never show), so links are refused outright and nothing may resolve outside the folder.
    """
    if path.is_symlink():
        return (
            f"is a symbolic link (to {path.readlink()}); bank files must be real files inside the bank folder, "
            "so copy the file in instead"
        )
    if not path.resolve().is_relative_to(root):
        return "leads outside the bank folder; bank files must be real files inside it"
    return None


def parse_spec(data: object, file: str, lines: LineMap | None = None) -> StandardSpec:
    """The typed spec from spec data (a loaded spec.yaml, or the copy the database keeps).

    Raises BankValidationError with every problem; without `lines` they are all at line 1.
    """
    spec, issues = read_spec(data)
    if spec is None:
        line_map = lines or LineMap()
        raise BankValidationError([_spec_problem(file, line_map, issue) for issue in issues])
    return spec


@dataclass
class _Reading:
    """What reading the question files has found so far (ids are kept even for broken questions,
    so duplicates and enemies are checked across everything that was written)."""

    questions: list[BankQuestion]
    problems: list[Problem]
    first_seen: dict[str, str]
    enemy_refs: list[tuple[str, int, str, str]]  # file, line, question id, enemy id


def _question_label(raw: object, index: int) -> tuple[str | None, str]:
    qid = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(qid, str) and ID_PATTERN.match(qid):
        return qid, qid
    return None, f"question {index + 1}"


def _read_question_file(path: Path, ksbs: frozenset[str] | None, today: dt.date, reading: _Reading, max_bytes: int) -> None:
    doc = _read_yaml(path, reading.problems, max_bytes)
    if doc is None:
        return
    file = str(path)
    data = doc.data
    if not isinstance(data, dict) or "questions" not in data:
        reading.problems.append(
            Problem(
                file,
                doc.lines.line_of(()),
                "expected a mapping with 'questions:' and a list of questions",
            )
        )
        return
    for key in data:
        if key != "questions":
            reading.problems.append(
                Problem(
                    file,
                    doc.lines.line_of((key,)),
                    f"unknown field {key!r} (a question file has only 'questions')",
                )
            )
    items = data["questions"]
    if not isinstance(items, list):
        reading.problems.append(Problem(file, doc.lines.line_of(("questions",)), "'questions' should be a list of questions"))
        return
    for index, raw in enumerate(items):
        path_to: YamlPath = ("questions", index)
        line = doc.lines.line_of(path_to)
        qid, label = _question_label(raw, index)
        question, issues = read_question(raw, path_to, ksbs=ksbs, today=today, source=f"{file}:{line}")
        for issue in issues:
            where = _dotted(issue.path[2:])
            reading.problems.append(
                Problem(
                    file,
                    doc.lines.line_of(issue.path),
                    f"{label} {where}: {issue.message}" if where else f"{label}: {issue.message}",
                )
            )
        if qid is not None:
            id_line = doc.lines.line_of((*path_to, "id"))
            if qid in reading.first_seen:
                reading.problems.append(Problem(file, id_line, f"duplicate id {qid!r} (first at {reading.first_seen[qid]})"))
                continue
            reading.first_seen[qid] = f"{file}:{id_line}"
            enemies = raw.get("enemies") if isinstance(raw, dict) else None
            for i, enemy in enumerate(enemies if isinstance(enemies, list) else []):
                if isinstance(enemy, str):
                    reading.enemy_refs.append((file, doc.lines.line_of((*path_to, "enemies", i)), qid, enemy))
        if question is not None:
            reading.questions.append(question)


def _question_files(folder: Path, root: Path, problems: list[Problem]) -> list[Path]:
    directory = folder / QUESTIONS_DIR
    if not directory.exists() and not directory.is_symlink():
        return []
    refused = _outside(directory, root)
    if refused is not None:
        problems.append(Problem(str(directory), 0, refused))
        return []
    if not directory.is_dir():
        return []
    files = []
    for path in sorted(directory.iterdir()):
        if path.suffix not in QUESTION_SUFFIXES:
            continue
        refused = _outside(path, root)
        if refused is not None:
            problems.append(Problem(str(path), 0, refused))
        elif path.is_file():
            files.append(path)
    return files


def _read(folder: Path, today: dt.date, max_bytes: int) -> tuple[LoadedStandard | None, list[Problem]]:
    problems: list[Problem] = []
    root = folder.resolve()  # the folder itself may be reached through a link; nothing inside it may
    spec_path = folder / SPEC_FILE
    spec: StandardSpec | None = None
    ksbs: frozenset[str] | None = None
    doc: LocatedDocument | None = None
    refused = _outside(spec_path, root) if spec_path.is_symlink() else None
    if refused is not None:
        problems.append(Problem(str(spec_path), 0, refused))
    elif not spec_path.is_file():
        problems.append(Problem(str(spec_path), 1, "missing: every standard folder needs a spec.yaml"))
    else:
        doc = _read_yaml(spec_path, problems, max_bytes)
        if doc is not None:
            spec, issues = read_spec(doc.data)
            problems += [_spec_problem(str(spec_path), doc.lines, issue) for issue in issues]
            ksbs = spec_ksbs(doc.data)

    reading = _Reading(questions=[], problems=problems, first_seen={}, enemy_refs=[])
    for path in _question_files(folder, root, problems):
        _read_question_file(path, ksbs, today, reading, max_bytes)
    for file, line, qid, enemy in reading.enemy_refs:
        if enemy == qid:
            problems.append(Problem(file, line, f"{qid} enemies: names the question itself"))
        elif enemy not in reading.first_seen:
            problems.append(Problem(file, line, f"{qid} enemies: unknown question id {enemy!r}"))

    if spec is not None:
        problems += _method_problems(spec, reading.questions)

    # The spec first (its problems explain others), then each file top to bottom.
    problems.sort(key=lambda p: (p.file != str(spec_path), p.file, p.line))
    if problems or spec is None or doc is None:
        return None, problems
    questions = tuple(sorted(reading.questions, key=lambda q: q.id))
    return LoadedStandard(spec=spec, spec_raw=doc.data, questions=questions, folder=folder), []


def _method_problems(spec: StandardSpec, questions: list[BankQuestion]) -> list[Problem]:
    """A question that belongs to a method's bank must name a method of the spec that draws sets."""
    with_sets = [m.key for m in spec.methods if m.question_set is not None]
    out: list[Problem] = []
    for question in questions:
        method = question.content.get("method")
        if method is None or method in with_sets:
            continue
        file, _, line = question.source.rpartition(":")
        known = ", ".join(with_sets) or "none in this spec"
        out.append(
            Problem(
                file,
                int(line) if line.isdigit() else 0,
                f"{question.id} method: {method!r} is not a method with a question_set ({known})",
            )
        )
    return out


def load_standard(folder: Path, *, today: dt.date, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> LoadedStandard:
    """Load and check a standard's folder; raise BankValidationError with ALL problems found.

    `today` is passed in (never read from the clock) so a review date "in the future" means the
    same thing in a test, an import and a CI check. A file over `max_file_bytes` is refused unread.
    """
    loaded, problems = _read(folder, today, max_file_bytes)
    if loaded is None:
        raise BankValidationError(problems)
    return loaded


def validate_standard(folder: Path, *, today: dt.date, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> list[Problem]:
    """Every problem in a standard's folder, [] when it is clean (for `testengine bank validate`)."""
    return _read(folder, today, max_file_bytes)[1]
