"""Export to QTI 3.0 and Moodle XML, and the round trips: the whole shipped ST0663 bank comes back the same."""

from __future__ import annotations

import dataclasses
import shutil
import zipfile
from pathlib import Path

from testengine.banks import load_standard
from testengine.interop.export import exportable, moodle_xml, qti3_package
from tests.interop.helpers import REPO, TODAY, run

ST0663 = REPO / "question_banks" / "ST0663"


def _comparable(questions):
    return [dataclasses.replace(q, source="") for q in questions]


def test_qti3_round_trip_gives_the_same_questions_for_the_whole_bank(tmp_path: Path) -> None:
    bank = load_standard(ST0663, today=TODAY)
    knowledge_test = exportable(bank.questions)  # the assessor questions stay in the bank's own files
    package = tmp_path / "ST0663.zip"
    package.write_bytes(qti3_package("ST0663", bank.questions))
    result = run("qti", package, tmp_path / "back")
    assert result.errors == [] and result.of("refused") == [] and result.of("draft") == []
    assert len(result.of("converted")) == len(knowledge_test) == 200
    back = load_standard(tmp_path / "back", today=TODAY)
    assert _comparable(back.questions) == _comparable(knowledge_test)
    assert [q.fingerprint() for q in back.questions] == [q.fingerprint() for q in knowledge_test]


def test_moodle_xml_round_trip_gives_the_same_questions_for_the_whole_bank(tmp_path: Path) -> None:
    bank = load_standard(ST0663, today=TODAY)
    exported = tmp_path / "ST0663.xml"
    exported.write_text(moodle_xml("ST0663", bank.questions), encoding="utf-8")
    result = run("moodle-xml", exported, tmp_path / "back")
    assert result.errors == [] and result.of("refused") == [] and result.of("draft") == []
    back = load_standard(tmp_path / "back", today=TODAY)
    assert _comparable(back.questions) == _comparable(exportable(bank.questions))


def test_the_qti3_package_has_a_manifest_one_item_per_question_and_the_guide_as_a_rubric(tmp_path: Path) -> None:
    bank = load_standard(ST0663, today=TODAY)
    with zipfile.ZipFile(__import__("io").BytesIO(qti3_package("ST0663", bank.questions))) as archive:
        names = archive.namelist()
        manifest = archive.read("imsmanifest.xml").decode()
        short = next(q for q in bank.questions if q.type == "short_answer")
        item = archive.read(f"items/{short.id}.xml").decode()
    assert len(names) == 201 and "imsmanifest.xml" in names
    assert manifest.count('type="imsqti_item_xmlv3p0"') == 200
    assert f"<imsmd:keyword><imsmd:string>{short.ksb[0]}</imsmd:string></imsmd:keyword>" in manifest
    assert '<qti-rubric-block view="scorer" use="marking-guide">' in item
    assert "<qti-extended-text-interaction" in item


def test_cli_exports_each_format_and_the_exports_convert_back(app, st0663, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    for fmt, name, source in (("qti3", "bank.zip", "qti"), ("moodle-xml", "bank.xml", "moodle-xml")):
        result = runner.invoke(args=["bank", "export", "--standard", "ST0663", "--format", fmt, str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        assert (
            f"Wrote 200 questions to {tmp_path / name} ({fmt}); 32 assessor question(s) stay in the bank files" in result.output
        )
        back = runner.invoke(
            args=["bank", "convert", "--from", source, str(tmp_path / name), "--standard", "ST0663", "--out", str(tmp_path / fmt)]
        )
        assert back.exit_code == 0 and "Converted: 200" in back.output
        assert runner.invoke(args=["bank", "validate", str(tmp_path / fmt)]).exit_code == 0
        # Importing what came back, beside the assessor questions that stay in the bank's own file,
        # changes nothing: it is the same bank.
        shutil.copy(ST0663 / "questions" / "presentation.yaml", tmp_path / fmt / "questions" / "presentation.yaml")
        imported = runner.invoke(args=["bank", "import", str(tmp_path / fmt)])
        assert imported.exit_code == 0 and "no changes (232 questions unchanged)" in imported.output, imported.output
    assert runner.invoke(args=["bank", "export", "--standard", "ST0663", str(tmp_path / "yaml")]).exit_code == 0
    assert (tmp_path / "yaml" / "spec.yaml").is_file()


def test_cli_export_refuses_an_unknown_standard_and_a_folder_for_a_file(app, st0663, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["bank", "export", "--standard", "ST9999", "--format", "qti3", str(tmp_path / "x.zip")])
    assert unknown.exit_code == 2 and "No standard 'ST9999'" in unknown.output and not (tmp_path / "x.zip").exists()
    folder = runner.invoke(args=["bank", "export", "--standard", "ST0663", "--format", "moodle-xml", str(tmp_path)])
    assert folder.exit_code == 2 and "is a folder" in folder.output
