"""What a reviewer is shown of a proposed revision: each field labelled, and its words kept, removed or added."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from testengine.domain.revision_diff import FieldChange, Segment, labelled_texts, revision_changes, word_diff

MCQ = {
    "options": [
        {"text": "Gloves", "correct": False, "rationale": None},
        {"text": "Goggles", "correct": True, "rationale": "Eyes first."},
        {"text": "Apron", "correct": False},
        {"text": "Boots", "correct": False, "rationale": ""},
    ]
}


def test_an_mcq_is_labelled_in_reading_order_with_lettered_options_and_its_key() -> None:
    assert labelled_texts("Which protects the eyes?", MCQ) == {
        "Question wording (stem)": "Which protects the eyes?",
        "Option A": "Gloves",
        "Option B": "Goggles",
        "Option B: rationale": "Eyes first.",
        "Option C": "Apron",
        "Option D": "Boots",
        "Correct option": "B",
    }
    assert list(labelled_texts("Stem", MCQ)) == [
        "Question wording (stem)",
        "Option A",
        "Option B",
        "Option B: rationale",
        "Option C",
        "Option D",
        "Correct option",
    ]


def test_a_marking_guide_is_labelled_by_part_with_lists_one_line_each() -> None:
    guide = {
        "guide": {
            "indicative_content": ["First point.", "Second point."],
            "two_marks": "Both.",
            "acceptable_alternatives": [],
            "zero_marks": None,
        },
        "follow_ups": ["Why?"],
        "marks": 2,
    }
    assert labelled_texts("Explain.", guide) == {
        "Question wording (stem)": "Explain.",
        "Guide: Indicative content": "First point.\nSecond point.",
        "Guide: Two marks": "Both.",
        "Guide: Acceptable alternatives": "",
        "Follow ups": "Why?",
        "Marks": "2",
    }


def test_options_past_z_are_numbered_and_several_correct_ones_are_all_keyed() -> None:
    options = [{"text": f"o{i}", "correct": i in (0, 27)} for i in range(28)]
    texts = labelled_texts("Stem", {"choices": options})
    assert texts["Choice Z"] == "o25" and texts["Choice 27"] == "o26" and texts["Choice 28"] == "o27"
    assert texts["Correct choice"] == "A, 28"
    assert labelled_texts("Stem", {"options": [{"text": None}]})["Option A"] == ""


def test_a_word_diff_keeps_removes_and_adds_whole_words_with_their_spacing() -> None:
    assert word_diff("Wear the gloves.", "Wear the safety goggles.") == (
        Segment("same", "Wear the "),
        Segment("removed", "gloves"),
        Segment("added", "safety goggles"),
        Segment("same", "."),
    )
    assert word_diff("a b", "a b c") == (Segment("same", "a b"), Segment("added", " c"))
    assert word_diff("a b c", "a c") == (Segment("same", "a "), Segment("removed", "b "), Segment("same", "c"))
    assert word_diff("", "") == ()


@given(st.text(alphabet="ab .\n", max_size=30), st.text(alphabet="ab .\n", max_size=30))
def test_a_word_diff_rebuilds_both_versions(before: str, after: str) -> None:
    segments = word_diff(before, after)
    assert "".join(s.text for s in segments if s.op != "added") == before
    assert "".join(s.text for s in segments if s.op != "removed") == after
    assert all(s.text for s in segments)


def test_only_changed_fields_are_listed_in_reading_order_including_ones_added_or_dropped() -> None:
    after = {
        "options": [
            {"text": "Gloves", "correct": True},
            {"text": "Goggles", "correct": False},
            {"text": "Apron"},
            {"text": "Boots", "rationale": "Feet."},
        ]
    }
    changes = revision_changes("Which protects the eyes?", MCQ, "Which protects the eyes?", after)
    assert [c.label for c in changes] == ["Option B: rationale", "Correct option", "Option D: rationale"]
    assert changes[0] == FieldChange("Option B: rationale", (Segment("removed", "Eyes first."),))
    assert changes[1].segments == (Segment("removed", "B"), Segment("added", "A"))
    assert changes[2].segments == (Segment("added", "Feet."),)
    assert all(c.changed for c in changes)
    assert revision_changes("Same.", MCQ, "Same.", MCQ) == []
    assert not FieldChange("Stem", (Segment("same", "x"),)).changed


def test_a_long_text_with_one_word_added_shows_only_that_word() -> None:
    # Over 200 words, difflib would by default treat frequent words (and every space) as junk and
    # report the whole text as replaced; the reviewer must still see just the one added word.
    before = " ".join(f"w{i % 7}" for i in range(300))
    after = before.replace("w3 w4", "w3 new w4", 1)
    assert [s for s in word_diff(before, after) if s.op != "same"] == [Segment("added", " new")]


def test_a_list_of_plain_lines_is_one_text_even_when_a_line_mentions_text() -> None:
    assert (
        labelled_texts("Stem", {"follow_ups": ["Which text applies?", "The context."]})["Follow ups"]
        == "Which text applies?\nThe context."
    )
