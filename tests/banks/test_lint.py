"""The item linter: one small bank per rule (tests/banks/lint/<rule>), each with exactly one fault."""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from testengine.banks import load_standard
from testengine.banks.lint import (
    binomial_tail,
    key_is_strictly_longest,
    lint_loaded,
    lint_questions,
)
from testengine.banks.lint_text import near_duplicate_pairs, reading_grade
from testengine.domain.standards import QualitySettings

HERE = Path(__file__).parent
CORPUS = HERE / "lint"
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir())
TODAY = dt.date(2026, 12, 3)


def _assemble(case: Path, tmp_path: Path) -> Path:
    """A standard folder: the case's questions, and its own spec or the corpus's shared one."""
    folder = tmp_path / case.name
    folder.mkdir()
    spec = case / "spec.yaml" if (case / "spec.yaml").exists() else CORPUS / "spec.yaml"
    shutil.copy(spec, folder / "spec.yaml")
    shutil.copytree(case / "questions", folder / "questions")
    return folder


def _lint_case(name: str, tmp_path: Path):
    folder = _assemble(CORPUS / name, tmp_path)
    return folder, lint_loaded(load_standard(folder, today=TODAY))


def test_the_corpus_has_a_case_for_every_rule() -> None:
    assert {case.name for case in CASES} >= {
        "cueing", "key-longest", "key-longest-share", "near-duplicate", "near-identical-options",
        "all-none-of-the-above", "absolute-words", "key-repeats-stem", "negative-stem",
        "guide-example", "guide-one-part", "readability", "length-outlier",
    }  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda path: path.name)
def test_each_case_reports_its_fault_at_file_and_line(case: Path, tmp_path: Path) -> None:
    folder = _assemble(case, tmp_path)
    report = lint_loaded(load_standard(folder, today=TODAY))
    found = [f"{Path(f.file).relative_to(folder)}:{f.line}: {f.severity} {f.rule} {f.item}" for f in report.findings]
    expected = (case / "expected.txt").read_text(encoding="utf-8").split("\n")
    assert found == [line for line in expected if line]
    # The case's own rule is among them, and nothing else of a different rule is found (the
    # bank-wide share is made of per-item key-longest findings).
    rules = {f.rule for f in report.findings}
    assert case.name in rules
    assert rules <= {case.name, "key-longest"}


def test_key_longest_share_is_reported_with_its_binomial_p(tmp_path: Path) -> None:
    _folder, report = _lint_case("key-longest-share", tmp_path)
    assert (report.mcq_count, report.key_longest_count) == (6, 6)
    assert report.key_longest_share == 1.0
    assert report.key_longest_p == pytest.approx(0.25**6)
    bank = [f for f in report.findings if f.rule == "key-longest-share"]
    assert len(bank) == 1 and bank[0].severity == "error" and "6 of 6" in bank[0].message


def test_binomial_tail_matches_the_exact_sum() -> None:
    def exact(k: int, n: int, p: float) -> float:
        return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))

    for k, n in [(36, 80), (24, 80), (16, 28), (0, 5), (5, 5), (1, 1)]:
        assert binomial_tail(k, n, 0.25) == pytest.approx(exact(k, n, 0.25), rel=1e-9)
    assert binomial_tail(36, 80, 0.25) < 0.001  # the shipped ST0663 bank before revision
    assert binomial_tail(6, 5, 0.25) == 0.0


def test_a_small_share_that_chance_explains_is_only_a_warning(tmp_path: Path) -> None:
    # One MCQ of three with the longest key: 33% is over 30%, but p = 0.58 is no evidence of a cue.
    _folder, report = _lint_case("key-longest", tmp_path)
    assert report.key_longest_count == 1 and report.mcq_count == 4
    assert not [f for f in report.findings if f.rule == "key-longest-share"]


def test_the_named_near_duplicate_gives_a_pair_and_an_enemy_suggestion(tmp_path: Path) -> None:
    _folder, report = _lint_case("near-duplicate", tmp_path)
    (pair,) = report.undeclared_near_duplicates
    assert (pair.first, pair.second) == ("T-K1-MCQ-010", "T-K1-MCQ-011")
    assert pair.similarity >= 0.5
    assert pair.suggestion == "T-K1-MCQ-010: enemies: [T-K1-MCQ-011]"
    as_json = report.as_dict()
    assert as_json["undeclared_near_duplicates"][0]["second"] == "T-K1-MCQ-011"


def test_declaring_the_pair_enemies_or_retiring_one_clears_it(tmp_path: Path) -> None:
    folder = _assemble(CORPUS / "near-duplicate", tmp_path)
    loaded = load_standard(folder, today=TODAY)
    settings = loaded.spec.quality
    assert lint_questions(loaded.questions, settings).undeclared_near_duplicates
    declared = [replace(q, enemies=("T-K1-MCQ-011",)) if q.id == "T-K1-MCQ-010" else q for q in loaded.questions]
    assert not lint_questions(declared, settings).undeclared_near_duplicates
    retired = [replace(q, status="retired") if q.id == "T-K1-MCQ-011" else q for q in loaded.questions]
    assert not lint_questions(retired, settings).undeclared_near_duplicates


def test_the_threshold_is_the_spec_setting(tmp_path: Path) -> None:
    folder = _assemble(CORPUS / "near-duplicate", tmp_path)
    loaded = load_standard(folder, today=TODAY)
    assert loaded.spec.quality.near_duplicate_threshold == 0.5
    strict = replace(loaded.spec.quality, near_duplicate_threshold=0.95)
    assert not lint_questions(loaded.questions, strict).undeclared_near_duplicates


def test_quality_settings_default_when_the_spec_is_silent() -> None:
    loaded = load_standard(HERE / "valid_minimal", today=TODAY)
    assert loaded.spec.quality == QualitySettings()
    assert QualitySettings().low_discrimination == 0.20


def test_near_duplicate_pairs_are_exact_cosines() -> None:
    texts = ["alpha beta gamma", "alpha beta gamma", "delta epsilon", "alpha delta"]
    pairs = near_duplicate_pairs(texts, 0.99)
    assert [(i, j) for i, j, _s in pairs] == [(0, 1)]
    assert pairs[0][2] == pytest.approx(1.0)
    assert near_duplicate_pairs(["only one"], 0.1) == []
    # Nothing in common, nothing reported, whatever the threshold.
    assert near_duplicate_pairs(["alpha beta", "gamma delta"], 0.01) == []


def test_reading_grade_rises_with_long_words_and_sentences() -> None:
    easy = "The cat sat on the mat. It was warm."
    hard = (
        "Notwithstanding organisational considerations, institutional responsibilities "
        "predominantly characterise designated leadership accountabilities."
    )
    assert reading_grade(easy) < 3
    assert reading_grade(hard) > 12


def test_key_strictly_longest_ignores_ties(tmp_path: Path) -> None:
    loaded = load_standard(_assemble(CORPUS / "negative-stem", tmp_path), today=TODAY)
    tied = next(q for q in loaded.questions if q.id == "T-K1-MCQ-010")
    assert not key_is_strictly_longest(tied)  # key 23 characters, a distractor 23 too


def test_valid_minimal_bank_has_no_lint_errors() -> None:
    report = lint_loaded(load_standard(HERE / "valid_minimal", today=TODAY))
    assert report.errors == ()


def test_cli_lint_prints_json_and_exits_2_on_errors(app, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    folder = _assemble(CORPUS / "cueing", tmp_path)
    result = runner.invoke(args=["bank", "lint", str(folder), "--json"])
    assert result.exit_code == 2, result.output
    data = json.loads(result.stdout)
    assert {"key_longest_share", "undeclared_near_duplicates", "findings"} <= set(data)
    (finding,) = data["findings"]
    assert finding == {
        "file": str(folder / "questions" / "K1.yaml"),
        "line": 63,
        "rule": "cueing",
        "severity": "error",
        "item": "T-K1-MCQ-010",
        "message": finding["message"],
    }
    clean = _assemble(CORPUS / "readability", tmp_path)
    result = runner.invoke(args=["bank", "lint", str(clean)])
    assert result.exit_code == 0, result.output
    assert f"{clean / 'questions' / 'K1.yaml'}:35: warning [readability] T-K1-MCQ-010" in result.output


def test_cli_validate_blocks_on_lint_errors_not_warnings(app, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    broken = _assemble(CORPUS / "guide-one-part", tmp_path)
    result = runner.invoke(args=["bank", "validate", str(broken)])
    assert result.exit_code == 2
    assert f"{broken / 'questions' / 'K1.yaml'}:44: error [guide-one-part]" in result.output
    warned = _assemble(CORPUS / "all-none-of-the-above", tmp_path)
    result = runner.invoke(args=["bank", "validate", str(warned)])
    assert result.exit_code == 0, result.output
    assert "valid (1 item-writing warning(s))" in result.output


def test_projected_candidates_find_the_same_pairs_as_the_exact_join(monkeypatch) -> None:
    """Large banks take candidates from a random projection; on a real bank both agree."""
    from testengine.banks import lint_text
    from testengine.banks.lint import _item_text

    repo = HERE.parent.parent / "question_banks"
    questions = [
        *load_standard(repo / "ST0663", today=TODAY).questions,
        *load_standard(repo / "ST1380", today=TODAY).questions,
    ]
    texts = [_item_text(q) for q in questions]
    texts += [texts[5] + " today", texts[40].replace("the", "a")]  # two planted near-copies
    exact = near_duplicate_pairs(texts, 0.5)
    monkeypatch.setattr(lint_text, "EXACT_WORK", 0)
    projected = near_duplicate_pairs(texts, 0.5)
    assert [(i, j) for i, j, _s in projected] == [(i, j) for i, j, _s in exact]
    assert [s for _i, _j, s in projected] == pytest.approx([s for _i, _j, s in exact])
    assert {(5, len(texts) - 2), (40, len(texts) - 1)} <= {(i, j) for i, j, _s in exact}


def test_cli_import_refuses_lint_errors_and_accepts_warnings(app, tmp_path: Path) -> None:
    from sqlalchemy import func, select

    from testengine.extensions import db
    from testengine.models import Question

    runner = app.test_cli_runner()
    broken = _assemble(CORPUS / "near-identical-options", tmp_path)
    result = runner.invoke(args=["bank", "import", str(broken)])
    assert result.exit_code == 2
    assert "error [near-identical-options] T-K1-MCQ-010" in result.output
    assert "Nothing imported: 1 item-writing error(s)." in result.output
    assert db.session.scalar(select(func.count(Question.id))) == 0
    warned = _assemble(CORPUS / "negative-stem", tmp_path)
    result = runner.invoke(args=["bank", "import", str(warned)])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(Question.id))) == 3


def test_a_guide_missing_a_mark_is_an_error_even_from_a_source_the_loader_did_not_check(tmp_path: Path) -> None:
    """Bank files cannot leave a mark out (the loader refuses them first); a question built
    another way (a converter, the review pages) still gets the linter's error, naming the mark."""
    folder, report = _lint_case("guide-example", tmp_path)
    question = next(q for q in load_standard(folder, today=TODAY).questions if q.id == "T-K1-SA-001")
    guide = {**question.content["guide"], "one_mark": "  "}
    found = lint_questions([replace(question, content={**question.content, "guide": guide})], QualitySettings()).findings
    assert [(f.rule, f.severity, f.item) for f in found if f.rule == "guide-incomplete"] == [
        ("guide-incomplete", "error", "T-K1-SA-001")
    ]
    assert "1 mark" in next(f.message for f in found if f.rule == "guide-incomplete")
    assert not [f for f in report.findings if f.rule == "guide-incomplete"]
