"""Practice rules: when answers still count, and feedback and progress by KSB."""

from __future__ import annotations

import datetime as dt

from testengine.domain.practice import Marked, accepts_answers, by_ksb, deadline, progress

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_an_untimed_paper_always_accepts_and_a_timed_one_until_its_grace_ends() -> None:
    assert deadline(START, None) is None and accepts_answers(None, START + dt.timedelta(days=30), 60)
    ends = deadline(START, 40)
    assert ends == START + dt.timedelta(minutes=40)
    assert accepts_answers(ends, ends + dt.timedelta(seconds=60), 60)
    assert not accepts_answers(ends, ends + dt.timedelta(seconds=61), 60)


def test_feedback_counts_marked_questions_per_ksb_and_short_answers_to_check() -> None:
    paper = [
        Marked(("K2",), 1, 1),
        Marked(("K10",), 1, 0),
        Marked(("K2", "K10"), 1, 1),
        Marked(("K2",), 2, None),
    ]
    rows = by_ksb(paper)
    assert [(f.ksb, f.awarded, f.available, f.to_self_check, f.percent) for f in rows] == [
        ("K2", 2, 2, 1, 100),
        ("K10", 1, 2, 0, 50),
    ]


def test_progress_lists_each_ksb_paper_by_paper() -> None:
    first = [Marked(("K1",), 1, 0), Marked(("K2",), 1, 1)]
    second = [Marked(("K1",), 1, 1), Marked(("K3",), 2, None)]
    assert progress([first, second]) == {"K1": [0, 100], "K2": [100, None]}
