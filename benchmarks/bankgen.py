"""A 10,000-question ST0663 bank written as a real standard folder (spec.yaml + questions/*.yaml).

The shape is the one the draw benchmark uses (benchmarks.draw_papers.make_bank: 3,500 MCQ and
6,500 short answers over the ten knowledge-test KSBs, 30% on a second KSB, 2% in enemy pairs);
here every question also gets text, four options with one key, or a marking guide, so the
folder passes `testengine bank validate` and is imported with `testengine bank import`.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import yaml

from benchmarks.draw_papers import make_bank
from benchmarks.lint_bank import _vocabulary
from testengine.banks import BankQuestion, write_standard
from testengine.domain.grading import add_months

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "question_banks" / "ST0663" / "spec.yaml"


def bank_questions(today: dt.date, seed: int = 10_000) -> list[BankQuestion]:
    """The questions, reviewed a month ago and due again in eleven months (so all are drawable)."""
    rnd = random.Random(seed)
    vocabulary = _vocabulary()
    reviewed = today - dt.timedelta(days=30)
    due = add_months(reviewed, 11)
    out = []
    for item in make_bank():
        # Fresh date objects per question: YAML would write shared objects as aliases (*name),
        # which bank files refuse.
        reviewed_on = dt.date(reviewed.year, reviewed.month, reviewed.day)
        due_on = dt.date(due.year, due.month, due.day)
        topic = item.ksb[0]
        # Distinct wording per question (words of the shipped bank), so the item linter that
        # `bank import` runs finds no near-duplicates in a bank written from one template.
        # Long enough that no two random scenarios come near the linter's threshold (at 12-24 words a
        # few pairs of 10,000 reached it, and the import refused the bank).
        scenario = " ".join(rnd.choices(vocabulary, k=rnd.randint(24, 36)))
        stem = f"Benchmark question about {topic}: {scenario}. Which response is best?"
        if item.type == "mcq":
            key = rnd.randrange(4)
            content = {
                "options": [
                    {
                        "text": f"Option {n + 1}",
                        "correct": n == key,
                        "rationale": None,
                    }
                    for n in range(4)
                ]
            }
        else:
            content = {
                "guide": {
                    "indicative_content": [f"A first point about {topic}", f"A second point about {topic}"],
                    "two_marks": "Both points, each explained",
                    "one_mark": "One point explained, or both named without explanation",
                    "zero_marks": "Neither point; a single point named alone, with no explanation, earns 0",
                    "acceptable_alternatives": [],
                }
            }
        out.append(
            BankQuestion(
                id=item.id,
                type=item.type,
                ksb=item.ksb,
                marks=item.marks,
                status="approved",
                author="Benchmark item writers",
                last_reviewed=reviewed_on,
                reviewer="Benchmark review panel",
                next_due=due_on,
                enemies=tuple(sorted(item.enemies)),
                stem=stem,
                content=content,
                source="generated",
            )
        )
    return out


def write_bank(folder: Path, today: dt.date) -> int:
    """Write the folder; returns the number of questions."""
    spec = yaml.safe_load(SPEC.read_text())
    questions = bank_questions(today)
    write_standard(folder, spec, questions)
    return len(questions)
