"""QTI 2.1 and 3.0 in: each interaction mapped or refused, packages and their manifests, encodings,
broken and hostile input (XXE, zip bombs, paths that leave the package)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from testengine.interop import Limits
from tests.interop.helpers import FIXTURES, run, written

QTI = FIXTURES / "qti"
PACKAGE = QTI / "package"


def _zip(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target


def _by_file(result):
    return {entry.source.split("!")[1].split(":")[0]: entry for entry in result.entries}


def test_each_interaction_is_converted_drafted_or_refused(tmp_path: Path) -> None:
    result = run("qti", _zip(PACKAGE, tmp_path / "bank.zip"), tmp_path / "out")
    entries = _by_file(result)
    assert {name: entry.outcome for name, entry in entries.items()} == {
        "items/choice.xml": "converted",
        "items/choice3.xml": "converted",
        "items/extended.xml": "draft",
        "items/extended3.xml": "draft",
        "items/textentry.xml": "draft",
        "items/multiple.xml": "refused",
        "items/order.xml": "refused",
        "items/match.xml": "refused",
        "items/gapmatch.xml": "refused",
        "items/inline.xml": "refused",
        "items/hotspot.xml": "refused",
        "items/customrp.xml": "refused",
    }
    assert entries["items/order.xml"].reason == "ordering: the bank has no ordering question type (orderInteraction)"
    assert entries["items/hotspot.xml"].reason.endswith("(hotspotInteraction)")
    assert entries["items/customrp.xml"].reason.startswith("no correct response declared")
    assert "exactly one key" in entries["items/multiple.xml"].reason


def test_a_manifest_listing_a_missing_file_is_reported_and_the_rest_converted(tmp_path: Path) -> None:
    package = _zip(PACKAGE, tmp_path / "bank.zip")
    result = run("qti", package, tmp_path / "out")
    assert [(e.where, e.message) for e in result.errors] == [
        (f"{package}!imsmanifest.xml:17", "lists items/missing.xml, which is not in the package")
    ]
    assert len(result.entries) == 12
    # An unpacked package (a folder with its manifest) reads the same.
    folder = run("qti", PACKAGE, tmp_path / "folder")
    assert [e.outcome for e in folder.entries] == [e.outcome for e in result.entries]


def test_choice_key_feedback_and_keywords_are_carried(tmp_path: Path) -> None:
    result = run("qti", PACKAGE, tmp_path)
    questions = written(tmp_path)
    choice = questions[_by_file(result)["items/choice.xml"].item]
    assert choice["ksb"] == ["K17"]  # from the manifest's LOM keyword
    assert choice["stem"] == "Who should a practitioner tell first about a safeguarding concern?\n\nChoose one."
    assert choice["options"][1] == {
        "text": "The designated safeguarding lead",
        "correct": True,
        "rationale": "The policy names them.",
    }
    entry = _by_file(result)["items/choice.xml"]
    assert (
        "general feedback (a multiple-choice question keeps a rationale per option): Safeguarding policies name a lead."
        in entry.reason
    )
    qti3 = questions[_by_file(result)["items/choice3.xml"].item]
    assert [o.get("correct", False) for o in qti3["options"]] == [False, False, True, False]
    assert qti3["stem"] == "Which record is made after a learner discloses harm?"


def test_extended_and_text_entry_become_drafts_with_what_the_source_gives(tmp_path: Path) -> None:
    result = run("qti", PACKAGE, tmp_path)
    questions = written(tmp_path)
    essay = questions[_by_file(result)["items/extended.xml"].item]
    assert essay["status"] == "draft" and essay["type"] == "short_answer"
    assert essay["guide"]["indicative_content"] == ["Look for: a named lead, a written record, follow-up."]
    entry = questions[_by_file(result)["items/textentry.xml"].item]
    assert entry["stem"] == "Which law sets out adult safeguarding duties for local authorities in England? _____"
    assert entry["guide"]["indicative_content"] == ["Care Act 2014", "The Care Act"]
    essay3 = questions[_by_file(result)["items/extended3.xml"].item]
    assert essay3["stem"] == "Explain two things you do after a learner discloses harm."
    assert essay3["guide"]["indicative_content"] == ["A full answer names the lead and the record."]
    assert _by_file(result)["items/extended3.xml"].reason.count("dropped") == 0


def test_loose_items_in_utf16_and_latin1(tmp_path: Path) -> None:
    for name in ("utf16", "latin1"):
        result = run("qti", QTI / "loose" / f"{name}.xml", tmp_path / name)
        assert result.errors == [] and [e.outcome for e in result.entries] == ["draft"]  # no KSB
        (question,) = written(tmp_path / name).values()
        assert question["stem"] == "Which adjustment helps Zoë, who uses a screen reader? It costs £0."


def test_a_broken_item_is_reported_at_its_line(tmp_path: Path) -> None:
    result = run("qti", QTI / "loose" / "broken.xml", tmp_path)
    assert [(e.where, e.message) for e in result.errors] == [
        (f"{QTI / 'loose' / 'broken.xml'}:5", "is not well-formed XML: mismatched tag")
    ]


def test_entity_expansion_is_refused(tmp_path: Path) -> None:
    result = run("qti", QTI / "loose" / "xxe.xml", tmp_path)
    assert [e.where for e in result.errors] == [f"{QTI / 'loose' / 'xxe.xml'}:2"]
    assert "refused" in result.errors[0].message and result.entries == []


def test_an_xxe_manifest_inside_a_package_is_refused(tmp_path: Path) -> None:
    package = tmp_path / "xxe.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr(
            "imsmanifest.xml",
            '<?xml version="1.0"?>\n<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<manifest>&x;</manifest>\n',
        )
    result = run("qti", package, tmp_path / "out")
    assert [e.where for e in result.errors] == [f"{package}!imsmanifest.xml:2"]


def test_a_zip_bomb_is_refused_by_ratio_and_by_total_size(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("imsmanifest.xml", "<manifest/>")
        archive.writestr("items/zeros.xml", b"\0" * (4 * 1024 * 1024))
    result = run("qti", bomb, tmp_path / "out")
    (error,) = result.errors
    assert error.where == f"{bomb}!items/zeros.xml" and "(a zip bomb); refused" in error.message
    assert result.entries == []

    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w", zipfile.ZIP_STORED) as archive:
        for i in range(5):
            archive.writestr(f"items/{i}.xml", b"x" * 1000)
    limited = run("qti", many, tmp_path / "out2", limits=Limits(unpacked_bytes=4000))
    assert "unpacks to 5,000 bytes, over the limit of 4,000 (a zip bomb); refused" in limited.errors[0].message


def test_no_path_in_a_package_leaves_it(tmp_path: Path) -> None:
    for name in ("../evil.xml", "/etc/passwd", "items/../../evil.xml"):
        package = tmp_path / "escape.zip"
        with zipfile.ZipFile(package, "w") as archive:
            archive.writestr("imsmanifest.xml", "<manifest/>")
            archive.writestr(name, "<x/>")
        result = run("qti", package, tmp_path / "out")
        assert result.errors[0].message == "points outside the package; refused", name
    # A manifest naming a path outside the package is refused too, and nothing is read from there.
    package = tmp_path / "href.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr(
            "imsmanifest.xml",
            '<manifest><resources><resource identifier="r" type="imsqti_item_xmlv2p1" href="../../etc/passwd"/></resources></manifest>',
        )
    result = run("qti", package, tmp_path / "out3")
    assert result.errors[0].message == "item path '../../etc/passwd' is missing or points outside the package"
    assert not (tmp_path / "out3").exists()
