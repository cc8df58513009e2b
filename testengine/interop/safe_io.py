"""Reading untrusted files safely: XML without DTDs or entities, archives within size limits.

Banks arrive from other tools and from people we do not know, so every byte is treated as
hostile: an XML document may not declare a DTD or an entity (no XXE, no billion laughs), a file
is refused over a size limit before it is parsed, a zip is refused when it would unpack to too
much in total or compresses suspiciously well (a zip bomb), and no name inside a package may
point outside it.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element, TreeBuilder

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser, ParseError

MAX_FILE_BYTES = 8 * 1024 * 1024  # one source file (a Moodle export of a large bank is a few MB)
MAX_ARCHIVE_BYTES = 64 * 1024 * 1024  # a package as stored
MAX_UNPACKED_BYTES = 128 * 1024 * 1024  # everything a package unpacks to
MAX_ENTRIES = 10_000
MAX_RATIO = 100  # uncompressed / compressed; text compresses ~5-10x, bombs ~1000x


@dataclass(frozen=True)
class Limits:
    file_bytes: int = MAX_FILE_BYTES
    archive_bytes: int = MAX_ARCHIVE_BYTES
    unpacked_bytes: int = MAX_UNPACKED_BYTES
    entries: int = MAX_ENTRIES
    ratio: int = MAX_RATIO


class SourceError(Exception):
    """Input that cannot be read: `where` is FILE:LINE or a package path."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")


def read_limited(path: Path, limits: Limits) -> bytes:
    """A file's bytes, refused unread when over the size limit."""
    try:
        size = path.stat().st_size
        if size > limits.file_bytes:
            raise SourceError(str(path), f"is {size:,} bytes, over the limit of {limits.file_bytes:,}")
        with path.open("rb") as handle:
            data = handle.read(limits.file_bytes + 1)
    except OSError as error:
        raise SourceError(str(path), f"cannot be read: {error.strerror or error}") from None
    if len(data) > limits.file_bytes:
        raise SourceError(str(path), f"is over the limit of {limits.file_bytes:,} bytes")
    return data


# --- XML -----------------------------------------------------------------------------------------


class LocatedTree:
    """A parsed XML document and the line each element starts on."""

    def __init__(self, root: Element, lines: dict[int, int]) -> None:
        self.root = root
        self._lines = lines

    def line(self, element: Element) -> int:
        return self._lines.get(id(element), 1)


class _LineBuilder(TreeBuilder):
    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[int, int] = {}
        self.parser: DefusedXMLParser | None = None
        self.keep: list[Element] = []  # ids are only unique while the elements live

    def start(self, tag: str, attrs: dict[str, str]) -> Element:  # type: ignore[override]
        element = super().start(tag, attrs)
        if self.parser is not None:
            self.lines[id(element)] = self.parser.parser.CurrentLineNumber
        self.keep.append(element)
        return element


def parse_xml(data: bytes, where: str) -> LocatedTree:
    """Parse XML with no DTD, no entity declarations and no external references.

    The declared encoding is honoured (UTF-8, UTF-16 with its byte-order mark, ISO-8859-1);
    anything refused or malformed raises SourceError naming `where`:LINE.
    """
    builder = _LineBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    builder.parser = parser
    try:
        parser.feed(data)
        root = parser.close()
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as error:
        line = getattr(error, "line", None) or parser.parser.CurrentLineNumber
        raise SourceError(
            f"{where}:{line}", "declares a DTD or entities, which are refused (they can read local files or expand without end)"
        ) from None
    except ParseError as error:
        line = error.position[0] if getattr(error, "position", None) else 1
        reason = re.sub(r": line \d+, column \d+$", "", str(error))
        raise SourceError(f"{where}:{line}", f"is not well-formed XML: {reason}") from None
    except (LookupError, ValueError) as error:
        raise SourceError(f"{where}:1", f"cannot be read: {error}") from None
    return LocatedTree(root, builder.lines)


def local(tag: str) -> str:
    """An element's name without its namespace: {http://...}choiceInteraction -> choiceInteraction."""
    return tag.rsplit("}", 1)[-1]


# --- archives ------------------------------------------------------------------------------------


def safe_member(name: str) -> str | None:
    """A package path normalised, or None when it would leave the package (absolute, .., drive)."""
    if not name or "\\" in name or name.startswith("/") or ":" in name.split("/", 1)[0]:
        return None
    normal = posixpath.normpath(name)
    if normal == "." or normal.startswith("../") or normal == "..":
        return None
    return normal


class Package:
    """A zip package checked before anything in it is read.

    Refused whole when it is too large, has too many entries, would unpack to more than the
    limit, compresses better than any honest text does, or names a path outside itself.
    """

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path = path
        self.limits = limits
        try:
            size = path.stat().st_size
        except OSError as error:
            raise SourceError(str(path), f"cannot be read: {error.strerror or error}") from None
        if size > limits.archive_bytes:
            raise SourceError(str(path), f"is {size:,} bytes, over the package limit of {limits.archive_bytes:,}")
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as error:
            raise SourceError(str(path), f"is not a zip package: {error}") from None
        infos = self._zip.infolist()
        if len(infos) > limits.entries:
            raise SourceError(str(path), f"has {len(infos):,} entries, over the limit of {limits.entries:,}")
        total = 0
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = safe_member(info.filename)
            if name is None:
                raise SourceError(f"{path}!{info.filename}", "points outside the package; refused")
            if info.flag_bits & 0x1:
                raise SourceError(f"{path}!{info.filename}", "is encrypted; refused")
            total += info.file_size
            if info.file_size > limits.file_bytes:
                raise SourceError(
                    f"{path}!{info.filename}",
                    f"unpacks to {info.file_size:,} bytes, over the limit of {limits.file_bytes:,} for one file",
                )
            if info.file_size > 1024 * 1024 and info.file_size > limits.ratio * max(info.compress_size, 1):
                raise SourceError(
                    f"{path}!{info.filename}",
                    f"compresses {info.file_size // max(info.compress_size, 1):,} to 1, over the limit of "
                    f"{limits.ratio} to 1 (a zip bomb); refused",
                )
            if not info.is_dir():
                self._members[name] = info
        if total > limits.unpacked_bytes:
            raise SourceError(
                str(path), f"unpacks to {total:,} bytes, over the limit of {limits.unpacked_bytes:,} (a zip bomb); refused"
            )

    def names(self) -> list[str]:
        return sorted(self._members)

    def has(self, name: str) -> bool:
        return name in self._members

    def read(self, name: str) -> bytes:
        """One entry's bytes; never more than its declared size (a lying header cannot inflate it)."""
        info = self._members[name]
        try:
            with self._zip.open(info) as handle:
                data = handle.read(min(info.file_size, self.limits.file_bytes) + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
            raise SourceError(f"{self.path}!{name}", f"cannot be unpacked: {error}") from None
        if len(data) > info.file_size or len(data) > self.limits.file_bytes:
            raise SourceError(f"{self.path}!{name}", "unpacks to more than it declares; refused")
        return data

    def close(self) -> None:
        self._zip.close()
