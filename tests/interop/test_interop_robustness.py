"""Damaged input never crashes a conversion: it is an error at its place and the rest goes on.
And the converters stay free of the web and the database, like the bank loader."""

from __future__ import annotations

import ast
import zipfile
from pathlib import Path

import pytest

from tests.interop.helpers import REPO, run

INTEROP = REPO / "testengine" / "interop"


def test_a_corrupt_entry_is_an_error_and_the_other_items_convert(tmp_path: Path) -> None:
    item = (REPO / "tests/interop/fixtures/qti/package/items/choice3.xml").read_bytes()
    package = tmp_path / "bank.zip"
    manifest = (
        "<manifest><resources>"
        '<resource identifier="a" type="imsqti_item_xmlv3p0" href="a.xml"><metadata><imsmd:lom xmlns:imsmd="http://ltsc.ieee.org/xsd/LOM">'
        "<imsmd:general><imsmd:keyword><imsmd:string>K17</imsmd:string></imsmd:keyword></imsmd:general></imsmd:lom></metadata></resource>"
        '<resource identifier="b" type="imsqti_item_xmlv3p0" href="b.xml"/>'
        "</resources></manifest>"
    )
    with zipfile.ZipFile(package, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("imsmanifest.xml", manifest)
        archive.writestr("a.xml", item)
        archive.writestr("b.xml", item)
    data = bytearray(package.read_bytes())
    second = data.rfind(b"<qti-item-body>")  # inside b.xml, the last entry written
    data[second : second + 5] = b"XXXXX"  # the stored bytes no longer match the entry's CRC
    package.write_bytes(bytes(data))
    result = run("qti", package, tmp_path / "out")
    assert [e.where for e in result.errors] == [f"{package}!b.xml"]
    assert "cannot be unpacked" in result.errors[0].message
    assert [e.outcome for e in result.entries] == ["converted"]


def test_a_mapping_that_is_not_a_number_is_an_error_at_the_item(tmp_path: Path) -> None:
    item = tmp_path / "item.xml"
    item.write_text(
        '<?xml version="1.0"?>\n<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="x">\n'
        '<responseDeclaration identifier="RESPONSE" cardinality="single" baseType="string">'
        '<mapping><mapEntry mapKey="a" mappedValue="lots"/></mapping></responseDeclaration>\n'
        '<itemBody><p>Name one safeguarding law that applies.</p><textEntryInteraction responseIdentifier="RESPONSE"/></itemBody>\n'
        "</assessmentItem>\n",
        encoding="utf-8",
    )
    result = run("qti", item, tmp_path / "out")
    assert [e.where for e in result.errors] == [f"{item}:2"] and "not a number" in result.errors[0].message


def test_a_utf8_byte_order_mark_then_bad_bytes_is_an_error_at_its_line(tmp_path: Path) -> None:
    gift = tmp_path / "bad.gift"
    gift.write_bytes(b"\xef\xbb\xbf// fine\n::A:: Which is right here? {=a ~b ~c ~d}\n\xff\n")
    result = run("gift", gift, tmp_path / "out")
    assert [(e.where, e.message.split(";")[0]) for e in result.errors] == [(f"{gift}:3", "is not utf-8 text")]


@pytest.mark.parametrize("path", sorted(INTEROP.glob("*.py")), ids=lambda p: p.name)
def test_the_converters_import_neither_the_web_nor_the_database(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    names += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module and node.level == 0]
    names += [
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.level > 0
        and node.module.split(".")[0] in {"models", "services", "extensions"}
    ]
    bad = [n for n in names if n.split(".")[0] in {"flask", "sqlalchemy", "werkzeug", "models", "services", "extensions"}]
    assert bad == []


def test_two_sources_with_the_same_name_write_two_files(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for suffix in ("gift", "txt"):
        (folder / f"notes.{suffix}").write_text(
            f"::{suffix}:: Explain one thing about the {suffix} file here.{{}}\n", encoding="utf-8"
        )
    result = run("gift", folder, tmp_path / "out")
    assert sorted(p.name for p in result.written) == ["gift-notes-txt.yaml", "gift-notes.yaml"]
    assert len(result.entries) == 2
