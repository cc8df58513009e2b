"""Loading and checking standards' folders: the tiny valid bank, the broken-file corpus, round trips,
and the real specs against the numbers in the assessment plans (DOMAIN.md)."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testengine.banks import (
    BankQuestion,
    BankValidationError,
    LoadedStandard,
    Problem,
    load_standard,
    parse_spec,
    validate_standard,
    write_standard,
)
from testengine.banks.spec import read_spec
from testengine.banks.yaml_lines import load_yaml
from testengine.domain.question_types import STEM, plain_text_problem
from testengine.domain.standards import Boundary, Condition, StandardSpec, TypeQuota

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
VALID = HERE / "valid_minimal"
BROKEN = HERE / "broken"
CASES = sorted(path for path in BROKEN.iterdir() if path.is_dir())
TODAY = date(2026, 11, 23)


def _by_id(loaded: LoadedStandard) -> dict[str, BankQuestion]:
    return {q.id: q for q in loaded.questions}


def _relative(problem: Problem, folder: Path) -> tuple[str, int, str]:
    return Path(problem.file).relative_to(folder).as_posix(), problem.line, problem.message


# --- the valid minimal standard ------------------------------------------------------------------


@pytest.fixture(scope="module")
def minimal() -> LoadedStandard:
    return load_standard(VALID, today=TODAY)


def test_valid_minimal_has_no_problems() -> None:
    assert validate_standard(VALID, today=TODAY) == []


def test_valid_minimal_loads_its_spec(minimal: LoadedStandard) -> None:
    spec = minimal.spec
    assert spec.code == "ST9001"
    assert spec.practice is True
    assert spec.knowledge_test is not None
    assert spec.knowledge_test.blueprint.quotas == {
        "mcq": TypeQuota(2, 1),
        "short_answer": TypeQuota(2, 2),
    }
    assert spec.knowledge_test.blueprint.total_marks == spec.knowledge_test.total_marks == 6
    assert spec.knowledge_test.blueprint.required_ksbs == ("K1", "K2")
    assert spec.method("observation").max_questions == 4
    assert spec.resit.grade_cap == "pass"
    assert spec.invigilation_ratio == 15
    assert minimal.spec_raw["standard"] == "ST9001"
    assert minimal.folder == VALID


def test_valid_minimal_loads_its_questions(minimal: LoadedStandard) -> None:
    questions = _by_id(minimal)
    assert [q.id for q in minimal.questions] == sorted(questions)
    assert len(questions) == 8
    assert {q.type for q in minimal.questions} == {"mcq", "short_answer"}

    mcq = questions["T-K1-MCQ-001"]
    assert (mcq.type, mcq.ksb, mcq.marks, mcq.status) == ("mcq", ("K1",), 1, "approved")
    assert mcq.source == f"{VALID / 'questions' / 'K1.yaml'}:3"
    assert [o["correct"] for o in mcq.content["options"]] == [False, True, False, False]
    assert mcq.content["options"][2] == {
        "text": "End the conversation",
        "correct": False,
        "rationale": None,
    }
    assert mcq.stem == "A learner asks you to keep a disclosure secret. What should you do first?"

    two_ksbs = questions["T-K1-MCQ-002"]
    assert two_ksbs.ksb == ("K1", "K2")
    assert two_ksbs.enemies == ("T-K1-SA-001",)
    assert (two_ksbs.last_reviewed, two_ksbs.reviewer, two_ksbs.next_due) == (
        date(2026, 10, 1),
        "Test panel",
        date(2027, 9, 30),
    )

    short = questions["T-K1-SA-001"]
    assert short.marks == 2
    assert short.stem == "Name two signs of neglect.\nExplain why each one matters."
    guide = short.content["guide"]
    assert guide["indicative_content"][0].startswith("Poor hygiene")
    assert guide["acceptable_alternatives"] == ["Hunger or weight loss."]
    assert questions["T-K1-SA-002"].marks == 2  # marks may be left out: the type fixes them
    assert questions["T-K1-SA-002"].content["guide"]["acceptable_alternatives"] == []
    assert questions["T-K2-MCQ-002"].status == "retired"


def test_fingerprints_are_stable(minimal: LoadedStandard) -> None:
    again = load_standard(VALID, today=TODAY)
    assert [q.fingerprint() for q in again.questions] == [q.fingerprint() for q in minimal.questions]
    assert len({q.fingerprint() for q in minimal.questions}) == len(minimal.questions)
    # The canonical form, spelled out: changing it would make every question in every imported
    # bank a new version on the next import.
    seen = {
        "type": "mcq",
        "ksb": ["K1"],
        "marks": 1,
        "stem": "A learner asks you to keep a disclosure secret. What should you do first?",
        "content": {
            "options": [
                {
                    "text": "Promise to keep it secret",
                    "correct": False,
                    "rationale": "A promise of secrecy may have to be broken.",
                },
                {
                    "text": "Explain the limits of confidentiality",
                    "correct": True,
                    "rationale": "Honest about what happens next.",
                },
                {"text": "End the conversation", "correct": False, "rationale": None},
                {"text": "Call the police and wait with them", "correct": False, "rationale": None},
            ]
        },
        "enemies": [],
    }
    canonical = json.dumps(seen, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert _by_id(minimal)["T-K1-MCQ-001"].fingerprint() == hashlib.sha256(canonical).hexdigest()


@pytest.mark.parametrize(
    "change",
    [
        {"last_reviewed": date(2026, 11, 20), "next_due": date(2027, 11, 20)},
        {"status": "retired"},
        {"author": "Someone else"},
        {"reviewer": "Another panel"},
        {"source": "elsewhere.yaml:1"},
    ],
    ids=["review dates", "status", "author", "reviewer", "source"],
)
def test_bookkeeping_leaves_the_fingerprint_alone(minimal: LoadedStandard, change: dict[str, object]) -> None:
    question = _by_id(minimal)["T-K1-MCQ-002"]
    assert replace(question, **change).fingerprint() == question.fingerprint()  # type: ignore[arg-type]


def test_what_a_candidate_or_marker_sees_changes_the_fingerprint(minimal: LoadedStandard) -> None:
    question = _by_id(minimal)["T-K1-MCQ-002"]
    options = [dict(o) for o in question.content["options"]]
    options[3]["text"] = "A message to colleagues by email"
    assert replace(question, stem=question.stem + " (choose one)").fingerprint() != question.fingerprint()
    assert replace(question, content={"options": options}).fingerprint() != question.fingerprint()
    assert replace(question, ksb=("K1",)).fingerprint() != question.fingerprint()
    assert replace(question, enemies=()).fingerprint() != question.fingerprint()


# --- the broken corpus ---------------------------------------------------------------------------


def test_the_corpus_covers_enough_cases() -> None:
    assert len(CASES) >= 20


def _made_at_run_time(case: Path, work: Path) -> Path:
    """A case with a runtime.txt, built in `work`: what git should not hold (a 1 MiB file, links).

    The case is copied to work/bank; its outside/ folder, if any, is moved beside the bank (so a
    link can lead out of it); then each line of runtime.txt is made: `large PATH BYTES` (a file
    of that size, sparse) or `link PATH TARGET` (a symbolic link).
    """
    bank = work / "bank"
    shutil.copytree(case, bank, ignore=shutil.ignore_patterns("runtime.txt", "expected.txt"))
    if (bank / "outside").exists():
        shutil.move(str(bank / "outside"), str(work / "outside"))
    for entry in (case / "runtime.txt").read_text(encoding="utf-8").splitlines():
        if not entry.strip() or entry.startswith("#"):
            continue
        kind, path, value = entry.split()
        if kind == "large":
            with (bank / path).open("wb") as handle:
                handle.write(b"questions:\n")
                handle.truncate(int(value))
        elif kind == "link":
            (bank / path).symlink_to(value)
        else:
            raise AssertionError(f"{case.name}/runtime.txt: unknown entry {entry!r}")
    return bank


@pytest.mark.parametrize("case", CASES, ids=lambda path: path.name)
def test_broken_case_reports_its_fault(case: Path, tmp_path: Path) -> None:
    file, line, fragment = (case / "expected.txt").read_text(encoding="utf-8").strip().split(":", 2)
    if (case / "runtime.txt").exists():
        case = _made_at_run_time(case, tmp_path)
    problems = validate_standard(case, today=TODAY)
    found = [_relative(p, case) for p in problems]
    assert any(f == file and n == int(line) and fragment.strip() in m for f, n, m in found), found
    # Each case holds exactly one fault, and one fault is one problem (no knock-on reports).
    assert len(found) == 1, found


def test_a_huge_bank_file_is_refused_at_once_without_being_read(tmp_path: Path) -> None:
    """50 MB used to take over a minute to refuse: parsed first. Now its size alone refuses it."""
    import time

    bank = tmp_path / "bank"
    shutil.copytree(VALID, bank)
    with (bank / "questions" / "K3.yaml").open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    started = time.perf_counter()
    problems = validate_standard(bank, today=TODAY)
    assert time.perf_counter() - started < 2
    assert [str(p) for p in problems] == [
        (
            f"{bank / 'questions' / 'K3.yaml'}: is 52,428,800 bytes, over the limit of 1,048,576 bytes for one bank file "
            "(TESTENGINE_BANK_MAX_FILE_BYTES); split its questions over several files"
        )
    ]
    # The limit is a parameter (the setting): raised, the same file is read and fails as YAML instead.
    assert validate_standard(bank, today=TODAY, max_file_bytes=1024) != problems
    small = validate_standard(VALID, today=TODAY, max_file_bytes=1024)
    assert small and all("over the limit of 1,024 bytes" in p.message for p in small)


def test_a_linked_spec_and_a_folder_reached_through_a_link(tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    shutil.copytree(VALID, bank)
    (bank / "spec.yaml").rename(tmp_path / "spec.yaml")
    (bank / "spec.yaml").symlink_to(tmp_path / "spec.yaml")
    [problem] = validate_standard(bank, today=TODAY)
    assert problem.file == str(bank / "spec.yaml") and "is a symbolic link" in problem.message
    # The bank folder itself may be reached through a link (a deployment's choice): that is fine.
    (tmp_path / "spec.yaml").rename(bank / "spec.yaml.real")
    (bank / "spec.yaml").unlink()
    (bank / "spec.yaml.real").rename(bank / "spec.yaml")
    (tmp_path / "current").symlink_to(bank)
    assert validate_standard(tmp_path / "current", today=TODAY) == []


def test_load_standard_raises_with_the_problems() -> None:
    case = BROKEN / "mcq-three-options"
    with pytest.raises(BankValidationError) as raised:
        load_standard(case, today=TODAY)
    problems = raised.value.problems
    assert problems == tuple(validate_standard(case, today=TODAY))
    assert str(raised.value) == "\n".join(str(p) for p in problems)
    assert str(problems[0]).startswith(f"{case / 'questions' / 'K1.yaml'}:10: ")


THREE_FAULTS = """questions:
  - id: T-K3-MCQ-001
    type: mcq
    ksb: [K1]
    status: approved
    author: Test writer
    review: {last_reviewed: 2026-10-01, reviewer: Test panel, next_due: 2027-10-01}
    stem: Which of these is <i>not</i> a sign of neglect?
    options:
      - text: Clean, weather-suitable clothes
        correct: true
      - text: Missed appointments
      - text: Hunger

  - id: T-K3-SA-001
    type: short_answer
    ksb: [K1]
    status: approved
    author: Test writer
    review: {last_reviewed: 2026-10-01, reviewer: Test panel, next_due: 2028-01-01}
    stem: Name two signs of neglect and explain why each matters.
    guide:
      indicative_content: [Poor hygiene.]
      two_marks: Two signs explained.
      one_mark: One sign explained.
      zero_marks: No relevant sign.
"""


def test_a_file_with_three_faults_reports_all_three(tmp_path: Path) -> None:
    folder = tmp_path / "standard"
    shutil.copytree(VALID, folder)
    (folder / "questions" / "K3.yaml").write_text(THREE_FAULTS, encoding="utf-8")
    found = [_relative(p, folder) for p in validate_standard(folder, today=TODAY)]
    assert [(f, n) for f, n, _ in found] == [
        ("questions/K3.yaml", 8),
        ("questions/K3.yaml", 9),
        ("questions/K3.yaml", 20),
    ]
    assert "contains markup" in found[0][2]
    assert "exactly 4 options, not 3" in found[1][2]
    assert "more than 12 months" in found[2][2]


def test_problems_are_collected_across_files(tmp_path: Path) -> None:
    folder = tmp_path / "standard"
    shutil.copytree(VALID, folder)
    spec = folder / "spec.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("ratio: 15", "ratio: 0"), encoding="utf-8")
    (folder / "questions" / "K3.yaml").write_text(THREE_FAULTS, encoding="utf-8")
    k2 = folder / "questions" / "K2.yaml"
    k2.write_text(k2.read_text(encoding="utf-8").replace("status: retired", "status: gone"), encoding="utf-8")
    files = sorted({_relative(p, folder)[0] for p in validate_standard(folder, today=TODAY)})
    assert files == ["questions/K2.yaml", "questions/K3.yaml", "spec.yaml"]


def test_a_folder_without_a_spec_is_refused(tmp_path: Path) -> None:
    problems = validate_standard(tmp_path, today=TODAY)
    assert [_relative(p, tmp_path)[:2] for p in problems] == [("spec.yaml", 1)]


def test_review_dates_depend_on_the_today_given() -> None:
    # valid_minimal's latest review is 2026-11-01: the day before, it is in the future.
    k2 = VALID / "questions" / "K2.yaml"
    reviewed = [n for n, line in enumerate(k2.read_text(encoding="utf-8").splitlines(), 1) if "2026-11-01" in line]
    problems = validate_standard(VALID, today=date(2026, 10, 31))
    assert [(p.file, p.line) for p in problems] == [(str(k2), n) for n in reviewed]
    assert len(problems) == 3
    assert all("is in the future" in p.message for p in problems)
    assert validate_standard(VALID, today=date(2026, 11, 1)) == []


# --- writing and reading back --------------------------------------------------------------------


def _assert_same_bank(before: LoadedStandard, after: LoadedStandard) -> None:
    assert [q.id for q in after.questions] == [q.id for q in before.questions]
    for old, new in zip(before.questions, after.questions, strict=True):
        assert new.fingerprint() == old.fingerprint(), old.id
        assert replace(new, source="") == replace(old, source=""), old.id
    assert after.spec == before.spec
    assert after.spec_raw == before.spec_raw


def test_write_then_load_round_trips(minimal: LoadedStandard, tmp_path: Path) -> None:
    write_standard(tmp_path, minimal.spec_raw, minimal.questions)
    assert sorted(p.name for p in (tmp_path / "questions").iterdir()) == ["K1.yaml", "K2.yaml"]
    _assert_same_bank(minimal, load_standard(tmp_path, today=TODAY))
    text = (tmp_path / "questions" / "K1.yaml").read_text(encoding="utf-8")
    assert text.index("T-K1-MCQ-001") < text.index("T-K1-MCQ-002") < text.index("T-K1-SA-001")
    keys = [line.split(":")[0].strip() for line in text.splitlines()[2:12]]
    assert keys == [
        "- id",
        "type",
        "ksb",
        "marks",
        "status",
        "author",
        "review",
        "stem",
        "options",
        "- text",
    ]


def test_write_replaces_stale_question_files(minimal: LoadedStandard, tmp_path: Path) -> None:
    write_standard(tmp_path, minimal.spec_raw, minimal.questions)
    (tmp_path / "questions" / "K9.yaml").write_text("questions: []\n", encoding="utf-8")
    kept = [q for q in minimal.questions if q.ksb[0] == "K2"]
    write_standard(tmp_path, minimal.spec_raw, kept)
    assert sorted(p.name for p in (tmp_path / "questions").iterdir()) == ["K2.yaml"]
    assert [q.id for q in load_standard(tmp_path, today=TODAY).questions] == [q.id for q in kept]


def test_the_real_bank_round_trips(tmp_path: Path) -> None:
    folder = REPO / "question_banks" / "ST0663"
    assert validate_standard(folder, today=TODAY) == []  # the shipped bank must validate
    loaded = load_standard(folder, today=TODAY)
    write_standard(tmp_path, loaded.spec_raw, loaded.questions)
    _assert_same_bank(loaded, load_standard(tmp_path, today=TODAY))


_TEXT = st.text(
    alphabet=st.sampled_from(list("abcXYZ019 .,;:?!'\"#%*-[]{}|>@`~/\\=+()\n\t") + ["é", "£", "—", "’", "&", "<"]),
    min_size=STEM.min_chars,
    max_size=200,
).filter(lambda text: plain_text_problem(text, STEM) is None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stem=_TEXT, option=_TEXT)
def test_any_acceptable_text_survives_a_round_trip(minimal: LoadedStandard, stem: str, option: str) -> None:
    question = _by_id(minimal)["T-K1-MCQ-001"]
    options = [dict(o) for o in question.content["options"]]
    options[0]["text"] = option[:300]
    edited = replace(question, stem=stem, content={"options": options})
    with tempfile.TemporaryDirectory() as folder:
        write_standard(Path(folder), minimal.spec_raw, [edited])
        (back,) = load_standard(Path(folder), today=TODAY).questions
    assert back.stem == stem
    assert back.content == edited.content
    assert back.fingerprint() == edited.fingerprint()


# --- the real specs ------------------------------------------------------------------------------


def _real_spec(code: str) -> StandardSpec:
    """A real standard's spec.yaml on its own, so the check holds while question files are mid-edit."""
    path = REPO / "question_banks" / code / "spec.yaml"
    doc = load_yaml(path.read_text(encoding="utf-8"))
    return parse_spec(doc.data, str(path), doc.lines)


def test_st0663_spec_matches_the_assessment_plan() -> None:
    spec = _real_spec("ST0663")
    assert spec.code == "ST0663"
    assert spec.level == 4
    assert [m.key for m in spec.methods] == ["presentation", "observation", "knowledge_test"]
    assert spec.method("observation").max_questions == 6
    kt = spec.knowledge_test
    assert kt is not None
    assert kt.method == "knowledge_test"
    assert kt.duration_minutes == 120
    assert kt.closed_book is True
    assert kt.blueprint.quotas == {
        "mcq": TypeQuota(count=14, marks=1),
        "short_answer": TypeQuota(count=26, marks=2),
    }
    assert kt.blueprint.question_count == 40
    assert kt.blueprint.total_marks == kt.total_marks == 14 * 1 + 26 * 2 == 66
    assert kt.blueprint.required_ksbs == (
        "K3",
        "K9",
        "K10",
        "K11",
        "K14",
        "K15",
        "K16",
        "K17",
        "K19",
        "S8",
    )
    assert kt.boundaries == (
        Boundary("fail", 0, 45),
        Boundary("pass", 46, 52),
        Boundary("distinction", 53, 66),
    )
    assert {"B6", "B7"} <= set(spec.ksbs)
    assert spec.overall.grades == ("fail", "pass", "distinction")
    assert [r.grade for r in spec.overall.rules] == ["fail", "distinction", "pass"]
    assert spec.overall.rules[0].when == Condition(any="fail")
    assert spec.overall.rules[1].when == Condition(at_least={"distinction": 2})
    assert spec.overall.rules[2].when is None
    assert (spec.resit.grade_cap, spec.resit.window, spec.resit.window_months) == (
        None,
        "epa_period",
        None,
    )
    assert spec.resit.failed_methods_only is True
    assert spec.invigilation_ratio == 20


def test_st1379_spec_matches_the_epa_specification() -> None:
    spec = _real_spec("ST1379")
    assert spec.code == "ST1379"
    assert spec.knowledge_test is None
    # The KSBs of the two grading-criteria tables: 16 knowledge, 14 skills, 5 behaviours.
    assert len([k for k in spec.ksbs if k.startswith("K")]) == 16
    assert len([k for k in spec.ksbs if k.startswith("S")]) == 14
    assert len([k for k in spec.ksbs if k.startswith("B")]) == 5
    assert [(m.key, m.min_questions, m.duration_minutes) for m in spec.methods] == [
        ("observation", 5, 30),
        ("professional_discussion", 8, 60),
    ]
    sets = {m.key: m.question_set for m in spec.methods}
    assert sets["observation"] is not None and sets["observation"].questions >= 5
    assert sets["professional_discussion"] is not None
    assert sets["professional_discussion"].questions >= 8
    assert spec.overall.grades == ("fail", "pass", "merit", "distinction")
    assert [r.grade for r in spec.overall.rules] == ["fail", "distinction", "merit", "pass"]
    assert spec.overall.rules[2].when == Condition(at_least={"distinction": 1})
    assert (spec.resit.grade_cap, spec.resit.window, spec.resit.window_months) == (
        "pass",
        "months_from_outcome",
        6,
    )
    assert spec.invigilation_ratio == 20


def test_st1379_loads_cleanly_with_assessor_questions_only() -> None:
    folder = REPO / "question_banks" / "ST1379"
    assert validate_standard(folder, today=TODAY) == []
    loaded = load_standard(folder, today=TODAY)
    assert {q.type for q in loaded.questions} == {"assessor_question"}
    assert {q.content["method"] for q in loaded.questions} == {"observation", "professional_discussion"}
    assert all(q.marks == 0 and q.content["pass_shows"] and q.content["distinction_shows"] for q in loaded.questions)
    assert loaded.spec == _real_spec("ST1379")


def test_an_assessor_question_must_name_a_method_that_draws_sets(tmp_path: Path) -> None:
    loaded = load_standard(REPO / "question_banks" / "ST0663", today=TODAY)
    write_standard(tmp_path, loaded.spec_raw, loaded.questions)
    path = tmp_path / "questions" / "K1.yaml"
    text = path.read_text(encoding="utf-8")
    assert "method: presentation" in text
    path.write_text(text.replace("method: presentation", "method: knowledge_test", 1), encoding="utf-8")
    problems = validate_standard(tmp_path, today=TODAY)
    assert len(problems) == 1
    assert problems[0].file == str(path) and problems[0].line > 1
    assert "'knowledge_test' is not a method with a question_set (presentation)" in problems[0].message


def test_a_knowledge_test_cannot_ask_for_assessor_questions() -> None:
    raw = load_yaml((REPO / "question_banks" / "ST0663" / "spec.yaml").read_text(encoding="utf-8")).data
    data = json.loads(json.dumps(raw))
    data["knowledge_test"]["questions"]["assessor_question"] = {"count": 1, "marks": 1}
    spec, issues = read_spec(data)
    assert spec is None
    assert any(
        i.path == ("knowledge_test", "questions", "assessor_question") and "never go on a paper" in i.message for i in issues
    )


def test_a_question_set_must_fit_the_method() -> None:
    raw = load_yaml((REPO / "question_banks" / "ST0663" / "spec.yaml").read_text(encoding="utf-8")).data
    data = json.loads(json.dumps(raw))
    data["methods"][0]["question_set"] = {"questions": 7, "pre_picked": 8, "ksbs": ["K1", "Z9", "K1"]}
    spec, issues = read_spec(data)
    assert spec is None
    base = ("methods", 0, "question_set")
    found = {(i.path, i.message) for i in issues}
    assert ((*base, "questions"), "is 7, above max_questions (6)") in found
    assert ((*base, "pre_picked"), "is 8, more than the set's 7 questions") in found
    assert ((*base, "ksbs", 1), "KSB 'Z9' is not in the spec's ksbs") in found
    assert ((*base, "ksbs", 2), "KSB 'K1' is listed twice") in found


@pytest.mark.parametrize("code", ["ST0663", "ST1379"])
def test_parse_spec_reads_the_stored_copy(code: str) -> None:
    """The database keeps the spec as JSON; parsing that copy gives the same StandardSpec."""
    path = REPO / "question_banks" / code / "spec.yaml"
    stored = json.loads(json.dumps(load_yaml(path.read_text(encoding="utf-8")).data))
    assert parse_spec(stored, f"{code}/spec.yaml") == _real_spec(code)


def test_parse_spec_reports_problems_without_lines(minimal: LoadedStandard) -> None:
    data = {**minimal.spec_raw, "invigilation": {"ratio": 0}}
    with pytest.raises(BankValidationError) as raised:
        parse_spec(data, "ST9001/spec.yaml")
    assert [str(p) for p in raised.value.problems] == ["ST9001/spec.yaml:1: invigilation.ratio: should be at least 1, not 0"]
