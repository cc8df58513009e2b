"""`bank convert`: read a source (file, folder or package) and write bank question files.

Each source file becomes one question file, DIR/questions/<format>-<name>.yaml, with a comment
above each question saying where it came from and what was dropped. The report lists every item
as converted, draft or refused, and every input that could not be read as an error at FILE:LINE:
nothing is left out silently.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..banks.spec import spec_ksbs
from ..banks.writer import question_file_text
from ..banks.yaml_lines import YamlError, load_yaml
from .model import Entry, SourceItem, Target, map_item
from .safe_io import Limits, SourceError, read_limited

FORMATS = ("gift", "moodle-xml", "qti")
LABELS = {"gift": "GIFT", "moodle-xml": "Moodle XML", "qti": "QTI"}
DEFAULT_LIMITS = Limits()
SUFFIXES = {"gift": (".gift", ".txt"), "moodle-xml": (".xml",), "qti": (".zip", ".xml")}


@dataclass
class Conversion:
    entries: list[Entry] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    def of(self, outcome: str) -> list[Entry]:
        return [entry for entry in self.entries if entry.outcome == outcome]

    def as_dict(self) -> dict[str, Any]:
        return {
            "converted": [e.as_dict() for e in self.of("converted")],
            "drafts": [e.as_dict() for e in self.of("draft")],
            "refused": [e.as_dict() for e in self.of("refused")],
            "errors": [{"source": e.where, "reason": e.message} for e in self.errors],
            "written": [str(p) for p in self.written],
        }

    def as_text(self) -> str:
        lines = []
        for title, outcome in (("Converted", "converted"), ("Drafts", "draft"), ("Refused", "refused")):
            entries = self.of(outcome)
            lines.append(f"{title}: {len(entries)}")
            lines += [f"  {e.source}  {e.item}" + (f": {e.reason}" if e.reason else "") for e in entries]
        lines.append(f"Errors: {len(self.errors)}")
        lines += [f"  {e.where}: {e.message}" for e in self.errors]
        lines += [f"Wrote {p}" for p in self.written]
        return "\n".join(lines)


def decode_text(data: bytes, where: str, encoding: str | None) -> str:
    """Text of a non-XML file: its byte-order mark (UTF-8, UTF-16) wins, else `encoding`, else UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        data, encoding = data[3:], "utf-8"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise SourceError(f"{where}:1", "starts with a UTF-16 byte-order mark but is not UTF-16") from None
    try:
        return data.decode(encoding or "utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SourceError(
            f"{where}:{line}", f"is not {encoding or 'UTF-8'} text; say its encoding with --encoding (for example iso-8859-1)"
        ) from None
    except LookupError:
        raise SourceError(where, f"unknown encoding {encoding!r}") from None


Reader = Callable[[Path, Limits, str | None], tuple[list[SourceItem], list[SourceError]]]


def _gift(path: Path, limits: Limits, encoding: str | None) -> tuple[list[SourceItem], list[SourceError]]:
    from .gift import read_gift

    return read_gift(decode_text(read_limited(path, limits), str(path), encoding), str(path))


def _moodle(path: Path, limits: Limits, encoding: str | None) -> tuple[list[SourceItem], list[SourceError]]:
    from .moodle_xml import read_moodle_xml

    return read_moodle_xml(read_limited(path, limits), str(path))


def _qti(path: Path, limits: Limits, encoding: str | None) -> tuple[list[SourceItem], list[SourceError]]:
    from .qti import read_qti

    return read_qti(path, limits)


READERS: dict[str, Reader] = {"gift": _gift, "moodle-xml": _moodle, "qti": _qti}


def _sources(fmt: str, source: Path) -> Iterator[Path]:
    if fmt == "qti" and source.is_dir() and (source / "imsmanifest.xml").is_file():
        yield source
    elif source.is_dir():
        for path in sorted(source.iterdir()):
            if path.is_file() and not path.is_symlink() and path.suffix.lower() in SUFFIXES[fmt]:
                yield path
    else:
        yield source


def target_for(spec_path: Path, fmt: str, today: dt.date) -> Target:
    """The standard the questions are for, from its spec.yaml."""
    try:
        data = load_yaml(spec_path.read_text(encoding="utf-8-sig")).data
    except (OSError, UnicodeDecodeError, YamlError) as error:
        raise SourceError(str(spec_path), f"cannot be read as the standard's spec: {error}") from None
    ksbs = spec_ksbs(data)
    code = data.get("standard") if isinstance(data, dict) else None
    if ksbs is None or not isinstance(code, str):
        raise SourceError(str(spec_path), "is not a standard's spec (no 'standard' code or 'ksbs')")
    return Target(standard=code, ksbs=ksbs, format_label=LABELS[fmt], today=today)


def convert(
    fmt: str,
    source: Path,
    *,
    spec_path: Path,
    out: Path,
    today: dt.date,
    limits: Limits = DEFAULT_LIMITS,
    encoding: str | None = None,
) -> Conversion:
    """Convert `source` into question files under `out`/questions, copying the spec in if `out` has none."""
    target = target_for(spec_path, fmt, today)
    result = Conversion()
    taken: set[str] = set()
    for path in _sources(fmt, source):
        try:
            items, errors = READERS[fmt](path, limits, encoding)
        except SourceError as error:
            result.errors.append(error)
            continue
        result.errors += errors
        entries = [map_item(item, target, taken) for item in items]
        result.entries += entries
        written = [(e.comments, e.question) for e in entries if e.question is not None]
        if written:
            name = path.stem if path.is_file() else path.name
            file = out / "questions" / f"{fmt}-{name}.yaml"
            if file in result.written:  # notes.gift and notes.txt in one folder: keep both
                file = out / "questions" / f"{fmt}-{path.name.replace('.', '-')}.yaml"
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(question_file_text(written), encoding="utf-8")
            result.written.append(file)
    if result.written and not (out / "spec.yaml").exists():
        shutil.copyfile(spec_path, out / "spec.yaml")
    return result
